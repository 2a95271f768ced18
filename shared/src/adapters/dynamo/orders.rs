//! The orders port: reading and writing orders, each write one conditional transaction that
//! carries the order's stock side with it.

use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use futures::future::try_join_all;

use super::keys::{index, order_id_of, order_key, reservation_key, shard_key, LATE_PAYMENT_SK_PREFIX, ORDER_SK};
use super::owed::TimeIndex;
use super::records::{
    decode_order, to_attribute, to_item, IdempotencyItem, LatePaymentRecord, OrderLinkRecord, OrderRecord, ReservationRecord, Sharded,
    UnmatchedPaymentRecord, SETTLED_RETENTION_DAYS,
};
use super::transaction::{Role, Transaction, MAX_TRANSACTION_ITEMS};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::numbering::OrderNumber;
use crate::domain::order::{Payment, RefundDue};
use crate::domain::stock::{self, ShardTake};
use crate::domain::PaymentReference;
use crate::domain::{
    IdempotencyKey, ListQuery, MovementKind, Order, OrderId, OrderStatus, Page, Quantity, Reservation, ReservationStatus, Sku, UserId,
};
use crate::ports::{IdempotencyRecord, OrderStore, RefundOwed, Rejection, Settlement, StockChange, StoreError, WriteError};

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
        let mut order: Option<Order> = None;
        let mut late = Vec::new();
        while let Some(item) = items.try_next().await.map_err(classify)? {
            match item.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some(ORDER_SK) => order = Some(decode_order(item)?),
                Some(sk) if sk.starts_with(LATE_PAYMENT_SK_PREFIX) => {
                    let record: LatePaymentRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
                    late.push(record.due);
                }
                _ => {}
            }
        }
        let Some(mut order) = order else { return Ok(None) };
        // Orders stored before late payments were records of their own keep them inside: each
        // becomes a record now, before any write of the order (which keeps none inside).
        for inside in std::mem::take(&mut order.refunds_due) {
            if !late.iter().any(|due| due.payment.reference == inside.payment.reference) {
                self.put_once(&self.orders_table, to_item(&LatePaymentRecord::new(&order, &inside))?)
                    .await?;
                late.push(inside);
            }
        }
        for due in late {
            order.add_refund_due(due);
        }
        Ok(Some(order))
    }

    async fn record_late_payment(&self, order: &Order, payment: &Payment) -> Result<bool, StoreError> {
        let record = LatePaymentRecord::new(order, &RefundDue::new(payment.clone()));
        self.put_once(&self.orders_table, to_item(&record)?).await
    }

    async fn record_unmatched_payment(&self, order: OrderId, payment: &Payment) -> Result<bool, StoreError> {
        self.put_once(&self.orders_table, to_item(&UnmatchedPaymentRecord::new(order, payment))?)
            .await
    }

    async fn complete_late_refund(
        &self,
        order: OrderId,
        payment: &PaymentReference,
        provider_reference: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.mark_late_refund_paid(order, payment, provider_reference, now).await
    }

    async fn refunds_owed(&self, limit: usize) -> Result<Vec<RefundOwed>, StoreError> {
        let pages = try_join_all(Sharded::RefundsDue.all().map(|shard| self.refunds_owed_page(shard, limit))).await?;
        let mut owed: Vec<RefundOwed> = pages.into_iter().flatten().collect();
        owed.sort_by_key(|owed| owed.since);
        owed.truncate(limit);
        Ok(owed)
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

    async fn find_order_by_number(&self, number: &OrderNumber) -> Result<Option<OrderId>, StoreError> {
        // Invoices issued before they kept the number apart are in this index too: only the
        // order's own item answers.
        let output = self
            .client
            .query()
            .table_name(&self.orders_table)
            .index_name(index::BY_NUMBER)
            .key_condition_expression("order_number = :number")
            .expression_attribute_values(":number", AttributeValue::S(number.to_string()))
            .send()
            .await
            .map_err(classify)?;
        Ok(output.items().iter().find_map(|item| {
            let (pk, sk) = (item.get("pk")?.as_s().ok()?, item.get("sk")?.as_s().ok()?);
            (sk == ORDER_SK).then(|| order_id_of(pk)).flatten()
        }))
    }

    async fn orders_stuck_reserving(&self, created_before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError> {
        self.oldest_in(TimeIndex::RESERVING, created_before, limit).await
    }

    async fn closed_orders_holding_personal_data(&self, closed_before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError> {
        self.oldest_in(TimeIndex::PERSONAL_DATA, closed_before, limit).await
    }

    async fn payments_unanswered(&self, started_before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError> {
        self.oldest_in(TimeIndex::OPEN_PAYMENTS, started_before, limit).await
    }
}

impl DynamoStore {
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
