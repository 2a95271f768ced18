//! The orders port: reading and writing orders, each write one conditional transaction that
//! carries the order's stock side with it.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use futures::future::try_join_all;

use super::records::{
    cart_pk, decode_order, invoice_partition, key, order_id_of, order_key, prefix, reservation_key, shard_key, to_attribute, to_item,
    BatchKeyRecord, BatchRecord, BatchResultRecord, CartRecord, IdempotencyItem, InvoiceRecord, LatePaymentRecord, NotificationRecord,
    OrderLinkRecord, OrderRecord, ReservationRecord, Sharded, BATCH_RESULT_SK_PREFIX, BATCH_SK, BY_NUMBER_INDEX, BY_PRODUCT_INDEX,
    BY_SELLER_INDEX, CART_SK, INVOICE_COUNTER_PK, INVOICE_SK, LATE_PAYMENT_SK_PREFIX, ORDER_NUMBER_COUNTER_PREFIX, ORDER_SK,
    SETTLED_RETENTION_DAYS,
};
use super::transaction::{Role, Transaction, MAX_TRANSACTION_ITEMS};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::batch::{Batch, BatchResult};
use crate::domain::cart::Cart;
use crate::domain::invoice::Invoice;
use crate::domain::listing::sort_position;
use crate::domain::numbering::OrderNumber;
use crate::domain::order::Payment;
use crate::domain::stock::{self, ShardTake};
use crate::domain::{
    Cursor, IdempotencyKey, ListQuery, MovementKind, Order, OrderId, OrderStatus, Page, Quantity, Reservation, ReservationStatus, Sku,
    Sort, SortField, UserId,
};
use crate::ports::{
    BatchCreated, IdempotencyRecord, InvoiceWrite, NotificationClaim, OrderLink, OrderStore, Rejection, Settlement, StockChange,
    StoreError, WriteError,
};

#[async_trait::async_trait]
impl OrderStore for DynamoStore {
    /// One strongly consistent Query of the order's partition: the order and the payments
    /// owed back that are kept beside it.
    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let key = order_key(id);
        let mut items = self
            .client
            .query()
            .table_name(&self.orders_table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", key.get("pk").cloned().unwrap_or(AttributeValue::Null(true)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut order = None;
        let mut late = Vec::new();
        while let Some(item) = items.try_next().await.map_err(classify)? {
            match item.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some(ORDER_SK) => order = Some(decode_order(item)?),
                Some(sk) if sk.starts_with(LATE_PAYMENT_SK_PREFIX) => {
                    let record: LatePaymentRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
                    late.push(record.payment);
                }
                _ => {}
            }
        }
        Ok(order.map(|mut order| {
            for mut payment in late {
                payment.kept_apart = true;
                order.add_refund_due(payment);
            }
            order
        }))
    }

    async fn claim_notification(
        &self,
        event_id: &str,
        recipient: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<NotificationClaim, StoreError> {
        let claimed = self
            .client
            .put_item()
            .table_name(&self.orders_table)
            .set_item(Some(to_item(&NotificationRecord::claim(event_id, recipient, now))?))
            .condition_expression("attribute_not_exists(pk) OR (#state = :sending AND claimed_at_ms < :stale)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", AttributeValue::S(NotificationRecord::SENDING.to_owned()))
            .expression_attribute_values(":stale", AttributeValue::N(stale_before.timestamp_millis().to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(NotificationClaim::Claimed),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let sending = failed
                        .item()
                        .and_then(|item| item.get("state"))
                        .and_then(|state| state.as_s().ok())
                        .is_some_and(|state| state == NotificationRecord::SENDING);
                    Ok(if sending {
                        NotificationClaim::InFlight
                    } else {
                        NotificationClaim::Done
                    })
                }
                _ => Err(classify(err)),
            },
        }
    }

    async fn settle_notification(&self, event_id: &str, recipient: &str, outcome: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.orders_table)
            .set_key(Some(key(format!("{}{event_id}", prefix::NOTIFICATION), recipient)))
            .update_expression("SET #state = :outcome, settled_at = :now")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":outcome", AttributeValue::S(outcome.to_owned()))
            .expression_attribute_values(":now", to_attribute(&now)?)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn get_cart(&self, user: &UserId) -> Result<Option<Cart>, StoreError> {
        let record: Option<CartRecord> = self.read_order_table(key(cart_pk(user), CART_SK)).await?;
        Ok(record.map(|record| record.cart))
    }

    async fn put_cart(&self, cart: &mut Cart) -> Result<bool, StoreError> {
        let read_at = cart.version;
        let (condition, version) = match read_at {
            0 => ("attribute_not_exists(pk)", None),
            _ => ("version = :version", Some(AttributeValue::N(read_at.to_string()))),
        };
        let written = if cart.lines.is_empty() {
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.orders_table)
                .set_key(Some(key(cart_pk(&cart.user_id), CART_SK)))
                .condition_expression(condition)
                .set_expression_attribute_values(version.map(|v| [(":version".to_owned(), v)].into()))
                .send()
                .await;
            match deleted {
                Ok(_) => true,
                Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => false,
                Err(err) => return Err(classify(err)),
            }
        } else {
            let mut stored = cart.clone();
            stored.version = read_at + 1;
            let put = self
                .client
                .put_item()
                .table_name(&self.orders_table)
                .set_item(Some(to_item(&CartRecord::new(&stored))?))
                .condition_expression(condition)
                .set_expression_attribute_values(version.map(|v| [(":version".to_owned(), v)].into()))
                .send()
                .await;
            match put {
                Ok(_) => true,
                Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => false,
                Err(err) => return Err(classify(err)),
            }
        };
        if written {
            cart.version = if cart.lines.is_empty() { 0 } else { read_at + 1 };
        }
        Ok(written)
    }

    async fn record_late_payment(&self, order: OrderId, payment: &Payment) -> Result<bool, StoreError> {
        self.put_once(&self.orders_table, to_item(&LatePaymentRecord::new(order, payment))?)
            .await
    }

    async fn list_orders(&self, query: &ListQuery) -> Result<Page<Order>, StoreError> {
        super::listing::list(self, query).await
    }

    async fn find_idempotency(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let stored: Option<IdempotencyItem> = self.read_order_table(IdempotencyItem::lookup_key(user, key)).await?;
        let Some(stored) = stored else { return Ok(None) };
        // TTL deletes lazily: an expired record is as good as gone.
        Ok(stored.is_live(now).then_some(stored.record))
    }

    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyRecord>,
        reservation: Option<&Reservation>,
    ) -> Result<(), WriteError> {
        let mut tx = Transaction::default();
        tx.create(Role::Order, &self.orders_table, to_item(&OrderRecord::new(order))?, None)?;
        if let Some(record) = idempotency {
            // A key past its lifetime may be taken over even before TTL has deleted it.
            let now = AttributeValue::N(record.created_at.timestamp().to_string());
            tx.create(
                Role::Idempotency,
                &self.orders_table,
                to_item(&IdempotencyItem::new(record))?,
                Some((IdempotencyItem::TAKEOVER_CONDITION, now)),
            )?;
        }
        if let Some(reservation) = reservation {
            self.change_stock(&mut tx, order, StockChange::Hold(reservation), order.updated_at)?;
        }
        self.commit(tx, order, Rejection::OrderExists).await
    }

    async fn update_order(&self, order: &mut Order, expected: OrderStatus, stock: StockChange<'_>) -> Result<(), WriteError> {
        let mut tx = Transaction::default();
        let mut stored = order.clone();
        stored.version = order.version + 1;
        let put = Put::builder()
            .table_name(&self.orders_table)
            .set_item(Some(to_item(&OrderRecord::new(&stored))?))
            .condition_expression("#status = :expected AND version = :version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":expected", AttributeValue::S(expected.as_str().to_owned()))
            .expression_attribute_values(":version", AttributeValue::N(order.version.to_string()))
            .build()
            .map_err(encode_failure)?;
        tx.push(Role::Order, TransactWriteItem::builder().put(put).build());
        self.change_stock(&mut tx, order, stock, order.updated_at)?;
        // The write that makes the seller parts lists the order for each seller: in the same
        // transaction when it fits, else right after it (the links only ever say the same).
        let links: Vec<OrderLinkRecord> = if order.status == OrderStatus::Processing && expected != OrderStatus::Processing {
            order
                .seller_parts
                .iter()
                .map(|part| OrderLinkRecord::seller(order, &part.seller_id))
                .collect()
        } else {
            Vec::new()
        };
        let in_transaction = tx.len() + links.len() <= MAX_TRANSACTION_ITEMS;
        if in_transaction {
            for link in &links {
                let put = Put::builder()
                    .table_name(&self.orders_table)
                    .set_item(Some(to_item(link)?))
                    .build()
                    .map_err(encode_failure)?;
                tx.push(Role::SellerLink, TransactWriteItem::builder().put(put).build());
            }
        }
        self.commit(tx, order, Rejection::OrderChanged).await?;
        order.version = stored.version;
        if !in_transaction {
            self.put_links(&links).await?;
        }
        Ok(())
    }

    async fn create_batch(&self, batch: &Batch, key: Option<(&IdempotencyKey, &str)>) -> Result<BatchCreated, StoreError> {
        let mut items = vec![TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.orders_table)
                    .set_item(Some(to_item(&BatchRecord::new(batch))?))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(encode_failure)?,
            )
            .build()];
        if let Some((key, fingerprint)) = key {
            let record = BatchKeyRecord::new(&batch.requested_by, key, &batch.batch_id, fingerprint, batch.created_at);
            let marker = Put::builder()
                .table_name(&self.orders_table)
                .set_item(Some(to_item(&record)?))
                .condition_expression("attribute_not_exists(pk) OR #ttl <= :now")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", AttributeValue::N(batch.created_at.timestamp().to_string()))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(encode_failure)?;
            items.push(TransactWriteItem::builder().put(marker).build());
        }
        let err = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => return Ok(BatchCreated::New),
            Err(err) => err,
        };
        let existing = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                .cancellation_reasons()
                .get(1)
                .filter(|reason| reason.code() == Some("ConditionalCheckFailed"))
                .and_then(|reason| reason.item())
                .and_then(|old| serde_dynamo::from_item::<_, BatchKeyRecord>(old.clone()).ok()),
            _ => None,
        };
        match (existing, key) {
            (Some(record), Some((_, fingerprint))) => Ok(BatchCreated::Existing {
                same_request: record.fingerprint == fingerprint,
                batch_id: record.batch_id,
            }),
            _ => Err(classify(err)),
        }
    }

    async fn get_batch(&self, batch_id: &str) -> Result<Option<(Batch, Vec<BatchResult>)>, StoreError> {
        let mut items = self
            .client
            .query()
            .table_name(&self.orders_table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("{}{batch_id}", prefix::BATCH)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut batch = None;
        let mut results = Vec::new();
        while let Some(item) = items.try_next().await.map_err(classify)? {
            match item.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some(BATCH_SK) => batch = Some(serde_dynamo::from_item::<_, BatchRecord>(item).map_err(encode_failure)?.batch),
                Some(sk) if sk.starts_with(BATCH_RESULT_SK_PREFIX) => {
                    results.push(
                        serde_dynamo::from_item::<_, BatchResultRecord>(item)
                            .map_err(encode_failure)?
                            .result,
                    );
                }
                _ => {}
            }
        }
        Ok(batch.map(|batch| (batch, results)))
    }

    async fn record_batch_result(&self, batch_id: &str, result: &BatchResult) -> Result<(), StoreError> {
        // Recorded by an earlier delivery of the same item: the first result stays.
        self.put_once(&self.orders_table, to_item(&BatchResultRecord::new(batch_id, result))?)
            .await
            .map(|_| ())
    }

    async fn last_invoice_number(&self) -> Result<u64, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.orders_table)
            .set_key(Some(key(INVOICE_COUNTER_PK.to_owned(), "COUNTER")))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .item
            .and_then(|item| item.get("last_number").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()))
            .unwrap_or(0))
    }

    async fn claim_number_block(&self, day: chrono::NaiveDate, shard: u32) -> Result<u64, StoreError> {
        // Counters of past days are of no use once the day is over: TTL removes them.
        let expires = day.and_hms_opt(0, 0, 0).map_or(0, |start| start.and_utc().timestamp()) + 3 * 86_400;
        let output = self
            .client
            .update_item()
            .table_name(&self.orders_table)
            .set_key(Some(key(
                format!("{ORDER_NUMBER_COUNTER_PREFIX}{}#{shard}", day.format("%Y%m%d")),
                "COUNTER",
            )))
            .update_expression("ADD blocks :one SET #ttl = :ttl")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":ttl", AttributeValue::N(expires.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        output
            .attributes
            .and_then(|item| item.get("blocks").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()))
            .ok_or_else(|| StoreError::Permanent("the order number counter answered no count".into()))
    }

    async fn link_products(&self, order: &Order) -> Result<(), StoreError> {
        let mut products: Vec<&Sku> = order.items.iter().map(|line| &line.product_id).collect();
        products.sort();
        products.dedup();
        let links: Vec<OrderLinkRecord> = products.into_iter().map(|sku| OrderLinkRecord::product(order, sku)).collect();
        self.put_links(&links).await
    }

    async fn list_linked_orders(&self, link: &OrderLink, limit: u16, after: Option<&Cursor>) -> Result<Page<Order>, StoreError> {
        let (index, attribute, value) = match link {
            OrderLink::Seller(seller) => (BY_SELLER_INDEX, "seller_key", seller.to_string()),
            OrderLink::Product(sku) => (BY_PRODUCT_INDEX, "product_key", sku.to_string()),
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.orders_table)
            .index_name(index)
            .scan_index_forward(false)
            .limit(i32::from(limit) + 1)
            .expression_attribute_names("#link", attribute)
            .expression_attribute_values(":link", AttributeValue::S(value));
        query = match after {
            Some(cursor) => query
                .key_condition_expression("#link = :link AND created_key < :after")
                .expression_attribute_values(":after", AttributeValue::S(cursor.position.clone())),
            None => query.key_condition_expression("#link = :link"),
        };
        let output = query.send().await.map_err(classify)?;
        let mut ids: Vec<OrderId> = output
            .items()
            .iter()
            .filter_map(|item| item.get("pk").and_then(|v| v.as_s().ok()))
            .filter_map(|pk| order_id_of(pk))
            .collect();
        let more = ids.len() > usize::from(limit);
        ids.truncate(usize::from(limit));
        let keys = ids.iter().map(|id| order_key(*id)).collect();
        let mut orders = self
            .consistent_batch_get(&self.orders_table, keys)
            .await?
            .into_iter()
            .map(decode_order)
            .collect::<Result<Vec<_>, _>>()?;
        orders.sort_by_key(|order| std::cmp::Reverse(sort_position(order, SortField::CreatedAt)));
        let next = match (more, orders.last()) {
            (true, Some(last)) => Some(Cursor::after(last, Sort::DEFAULT)),
            _ => None,
        };
        Ok(Page { items: orders, next })
    }

    async fn find_order_by_number(&self, number: &OrderNumber) -> Result<Option<OrderId>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.orders_table)
            .index_name(BY_NUMBER_INDEX)
            .key_condition_expression("order_number = :number")
            .expression_attribute_values(":number", AttributeValue::S(number.to_string()))
            .limit(1)
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .items()
            .first()
            .and_then(|item| item.get("pk").and_then(|v| v.as_s().ok()))
            .and_then(|pk| pk.strip_prefix(super::records::prefix::ORDER))
            .and_then(|id| OrderId::parse(id).ok()))
    }

    async fn create_invoice(&self, invoice: &Invoice, last: u64) -> Result<InvoiceWrite, StoreError> {
        let counter = Update::builder()
            .table_name(&self.orders_table)
            .set_key(Some(key(INVOICE_COUNTER_PK.to_owned(), "COUNTER")))
            .update_expression("SET last_number = :next")
            .condition_expression(if last == 0 {
                "attribute_not_exists(pk)"
            } else {
                "last_number = :last"
            })
            .set_expression_attribute_values(Some(if last == 0 {
                std::collections::HashMap::from([(":next".to_owned(), AttributeValue::N(invoice.sequence.to_string()))])
            } else {
                std::collections::HashMap::from([
                    (":next".to_owned(), AttributeValue::N(invoice.sequence.to_string())),
                    (":last".to_owned(), AttributeValue::N(last.to_string())),
                ])
            }))
            .build()
            .map_err(encode_failure)?;
        let put = Put::builder()
            .table_name(&self.orders_table)
            .set_item(Some(to_item(&InvoiceRecord::new(invoice))?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(encode_failure)?;
        let items = vec![
            TransactWriteItem::builder().update(counter).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        let err = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => return Ok(InvoiceWrite::Issued),
            Err(err) => err,
        };
        let failed = |index: usize| match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                cancelled.cancellation_reasons().get(index).and_then(|reason| reason.code()) == Some("ConditionalCheckFailed")
            }
            _ => false,
        };
        if failed(1) {
            return Ok(InvoiceWrite::AlreadyIssued);
        }
        if failed(0) {
            return Ok(InvoiceWrite::NumberTaken);
        }
        Err(classify(err))
    }

    async fn get_invoice(&self, order: OrderId) -> Result<Option<Invoice>, StoreError> {
        let record: Option<InvoiceRecord> = self.read_order_table(key(invoice_partition(order), INVOICE_SK)).await?;
        Ok(record.map(|record| record.invoice))
    }

    async fn orders_stuck_reserving(&self, created_before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError> {
        let before = crate::domain::listing::timestamp_key(created_before);
        let pages = try_join_all(Sharded::Reserving.all().map(|shard| self.stuck_page(shard, &before, limit))).await?;
        Ok(pages.into_iter().flatten().take(limit).collect())
    }
}

impl DynamoStore {
    /// Writes index links (each only ever says the same, so writing one again changes nothing).
    async fn put_links(&self, links: &[OrderLinkRecord]) -> Result<(), StoreError> {
        for link in links {
            self.client
                .put_item()
                .table_name(&self.orders_table)
                .set_item(Some(to_item(link)?))
                .send()
                .await
                .map_err(classify)?;
        }
        Ok(())
    }

    /// Adds the stock side of an order update: the reservation record, and one conditional
    /// counter update per line. A hold is also conditioned on the price version each line was
    /// priced at, so the price read is the price charged.
    fn change_stock(&self, tx: &mut Transaction, order: &Order, change: StockChange<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
        let holds = matches!(change, StockChange::Hold(_));
        let (lines, counters, condition): (Vec<(&Sku, Vec<ShardTake>)>, &str, &str) = match change {
            StockChange::None => return Ok(()),
            StockChange::Hold(reservation) => {
                tx.create(
                    Role::Reservation,
                    &self.inventory_table,
                    to_item(&ReservationRecord::new(reservation))?,
                    None,
                )?;
                (reserved_lines(reservation), HOLD, "attribute_exists(pk) AND available >= :qty")
            }
            StockChange::Settle(settlement) => {
                let (status, counters, condition) = match settlement {
                    Settlement::Convert => (ReservationStatus::Converted, SELL, "reserved >= :qty AND on_hand >= :qty"),
                    Settlement::Release => (ReservationStatus::Released, RELEASE, "reserved >= :qty"),
                };
                let retention = now + chrono::Duration::days(SETTLED_RETENTION_DAYS);
                let update = Update::builder()
                    .table_name(&self.inventory_table)
                    .set_key(Some(reservation_key(order.id)))
                    .update_expression("SET #status = :settled, updated_at = :now, #ttl = :ttl REMOVE expiry_shard")
                    .condition_expression("#status = :active")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(":settled", to_attribute(&status)?)
                    .expression_attribute_values(":active", to_attribute(&ReservationStatus::Active)?)
                    .expression_attribute_values(":now", to_attribute(&now)?)
                    .expression_attribute_values(":ttl", AttributeValue::N(retention.timestamp().to_string()))
                    .build()
                    .map_err(encode_failure)?;
                tx.push(Role::Settlement, TransactWriteItem::builder().update(update).build());
                (
                    order.items.iter().map(|line| (&line.product_id, line.takes())).collect(),
                    counters,
                    condition,
                )
            }
            StockChange::ReleaseDeleted(reservation) => {
                let mut released = reservation.clone();
                released.status = ReservationStatus::Released;
                released.updated_at = now;
                tx.create(
                    Role::Reservation,
                    &self.inventory_table,
                    to_item(&ReservationRecord::new(&released))?,
                    None,
                )?;
                (reserved_lines(reservation), RELEASE, "reserved >= :qty")
            }
            // Sold units come back to the product's own item; the sweeper evens the shards out.
            StockChange::Restock(units) => (
                units
                    .iter()
                    .map(|(sku, quantity)| (sku, stock::takes_or_whole(&[], *quantity)))
                    .collect(),
                RESTOCK,
                "attribute_exists(pk)",
            ),
            StockChange::Adjust(reservation, deltas) => {
                let put = Put::builder()
                    .table_name(&self.inventory_table)
                    .set_item(Some(to_item(&ReservationRecord::new(reservation))?))
                    .condition_expression("#status = :active")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":active", to_attribute(&ReservationStatus::Active)?)
                    .build()
                    .map_err(encode_failure)?;
                tx.push(Role::Settlement, TransactWriteItem::builder().put(put).build());
                for delta in deltas {
                    let Ok(quantity) = Quantity::new(u32::try_from(delta.delta.unsigned_abs()).unwrap_or(u32::MAX)) else {
                        continue;
                    };
                    // Which line it is, so a refused hold names it.
                    let index = order
                        .items
                        .iter()
                        .position(|line| line.product_id == delta.product_id)
                        .unwrap_or(usize::MAX);
                    for take in stock::takes_or_whole(&delta.takes, quantity) {
                        let target = (&delta.product_id, take);
                        let update = if delta.delta > 0 {
                            let condition = "attribute_exists(pk) AND available >= :qty";
                            self.stock_update(order, target, HOLD, condition, Some(delta.price_version), now)?
                        } else {
                            self.stock_update(order, target, RELEASE, "reserved >= :qty", None, now)?
                        };
                        tx.push(Role::Stock(index), update);
                    }
                }
                return Ok(());
            }
        };
        for (index, (sku, takes)) in lines.into_iter().enumerate() {
            let priced_at = holds.then(|| {
                order
                    .items
                    .iter()
                    .find(|line| &line.product_id == sku)
                    .map_or(0, |line| line.price_version)
            });
            for take in takes {
                let update = self.stock_update(order, (sku, take), counters, condition, priced_at, now)?;
                tx.push(Role::Stock(index), update);
            }
        }
        Ok(())
    }

    /// One shard's counter update in an order's transaction; a hold is also conditioned on the
    /// price version the line was priced at (`priced_at`, 0 for lines priced before versions).
    fn stock_update(
        &self,
        order: &Order,
        (sku, take): (&Sku, ShardTake),
        counters: &str,
        condition: &str,
        priced_at: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder();
        let mut condition = condition.to_owned();
        match priced_at {
            None => {}
            // Priced before products had a price version.
            Some(0) => condition.push_str(" AND attribute_not_exists(price_version)"),
            Some(version) => {
                condition.push_str(" AND price_version = :priced_at");
                update = update.expression_attribute_values(":priced_at", AttributeValue::N(version.to_string()));
            }
        }
        let kind = match counters {
            HOLD => MovementKind::Hold,
            SELL => MovementKind::Sale,
            RESTOCK => MovementKind::Restock,
            _ => MovementKind::Release,
        };
        let update = update
            .table_name(&self.inventory_table)
            .set_key(Some(shard_key(sku, take.shard)))
            .update_expression(counters)
            .condition_expression(condition)
            .expression_attribute_values(":kind", AttributeValue::S(kind.as_str().to_owned()))
            .expression_attribute_values(":order", AttributeValue::S(order.id.to_string()))
            .expression_attribute_values(":qty", AttributeValue::N(take.quantity.to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":now", AttributeValue::S(crate::domain::listing::timestamp_key(now)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(encode_failure)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// One partition of the sparse index of orders waiting to be reserved, up to `limit` ids.
    async fn stuck_page(&self, shard: String, before: &str, limit: usize) -> Result<Vec<OrderId>, StoreError> {
        let mut items = self
            .client
            .query()
            .table_name(&self.orders_table)
            .index_name(super::index::BY_RESERVING)
            .key_condition_expression("reserving_shard = :shard AND created_key < :before")
            .expression_attribute_values(":shard", AttributeValue::S(shard))
            .expression_attribute_values(":before", AttributeValue::S(before.to_owned()))
            .into_paginator()
            .items()
            .send();
        let mut ids = Vec::new();
        while ids.len() < limit {
            let Some(item) = items.try_next().await.map_err(classify)? else {
                break;
            };
            // The index projects keys only: the id is in the table key.
            if let Some(id) = item.get("pk").and_then(|v| v.as_s().ok()).and_then(|pk| order_id_of(pk)) {
                ids.push(id);
            }
        }
        Ok(ids)
    }
}

/// Counter updates per line: hold for an order, sell on payment, give back on release.
/// Each also labels the change for the stock movement history (`movement_*`).
const HOLD: &str = "SET available = available - :qty, reserved = reserved + :qty, updated_at = :now, last_hold_at = :now, \
                    movement_kind = :kind, movement_ref = :order REMOVE movement_by ADD version :one";
const SELL: &str = "SET on_hand = on_hand - :qty, reserved = reserved - :qty, updated_at = :now, \
                    movement_kind = :kind, movement_ref = :order REMOVE movement_by ADD version :one";
const RELEASE: &str = "SET available = available + :qty, reserved = reserved - :qty, updated_at = :now, \
                       movement_kind = :kind, movement_ref = :order REMOVE movement_by ADD version :one";

const RESTOCK: &str = "SET on_hand = on_hand + :qty, available = available + :qty, updated_at = :now, \
                       movement_kind = :kind, movement_ref = :order REMOVE movement_by ADD version :one";

fn reserved_lines(reservation: &Reservation) -> Vec<(&Sku, Vec<ShardTake>)> {
    reservation.lines.iter().map(|line| (&line.product_id, line.takes())).collect()
}
