use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::records::{order_key, product_key, IdempotencyItem, Item, OrderRecord, ReservationRecord};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::{IdempotencyKey, LineProblem, LineProblemCode, ListQuery, Order, OrderId, OrderStatus, Page, Reservation, UserId};
use crate::ports::{IdempotencyRecord, OrderStore, Rejection, StoreError, WriteError};

/// What each item of a transaction is, so a cancellation reason can be traced to its cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Order,
    Idempotency,
    Reservation,
    /// The stock hold for the order line at this index.
    Stock(usize),
}

#[derive(Default)]
struct Transaction {
    items: Vec<TransactWriteItem>,
    roles: Vec<Role>,
}

impl Transaction {
    fn push(&mut self, role: Role, item: TransactWriteItem) {
        self.items.push(item);
        self.roles.push(role);
    }
}

#[async_trait::async_trait]
impl OrderStore for DynamoStore {
    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.orders_table)
            .set_key(Some(order_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item.map(decode_order).transpose()
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
        let output = self
            .client
            .get_item()
            .table_name(&self.orders_table)
            .set_key(Some(IdempotencyItem::lookup_key(user, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(item) = output.item else { return Ok(None) };
        let stored: IdempotencyItem = serde_dynamo::from_item(item).map_err(encode_failure)?;
        // TTL deletes lazily: an expired record is as good as gone.
        Ok((stored.record.expires_at > now).then_some(stored.record))
    }

    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyRecord>,
        reservation: Option<&Reservation>,
    ) -> Result<(), WriteError> {
        let mut tx = Transaction::default();
        tx.push(
            Role::Order,
            self.put_new(&self.orders_table, to_item(&OrderRecord::new(order))?, None)?,
        );
        if let Some(record) = idempotency {
            // A key past its lifetime may be taken over even before TTL has deleted it.
            let now = AttributeValue::N(record.created_at.timestamp().to_string());
            let put = self.put_new(
                &self.orders_table,
                to_item(&IdempotencyItem::new(record))?,
                Some(("#ttl < :now", now)),
            )?;
            tx.push(Role::Idempotency, put);
        }
        if let Some(reservation) = reservation {
            self.hold_stock(&mut tx, reservation, order.updated_at)?;
        }
        self.commit(tx, order, Rejection::OrderExists).await
    }

    async fn update_order(&self, order: &mut Order, expected: OrderStatus, reservation: Option<&Reservation>) -> Result<(), WriteError> {
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
        if let Some(reservation) = reservation {
            self.hold_stock(&mut tx, reservation, order.updated_at)?;
        }
        self.commit(tx, order, Rejection::OrderChanged).await?;
        order.version = stored.version;
        Ok(())
    }
}

impl DynamoStore {
    /// A put that only creates: it fails if the key exists (unless `takeover` holds for it).
    fn put_new(&self, table: &str, item: Item, takeover: Option<(&str, AttributeValue)>) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(table).set_item(Some(item));
        put = match takeover {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some((condition, value)) => put
                .condition_expression(format!("attribute_not_exists(pk) OR {condition}"))
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", value),
        };
        Ok(TransactWriteItem::builder().put(put.build().map_err(encode_failure)?).build())
    }

    /// Adds the reservation record and one conditional hold per line: each product must have
    /// the units available, or the whole transaction is cancelled.
    fn hold_stock(&self, tx: &mut Transaction, reservation: &Reservation, now: DateTime<Utc>) -> Result<(), StoreError> {
        let record = to_item(&ReservationRecord::new(reservation))?;
        tx.push(Role::Reservation, self.put_new(&self.inventory_table, record, None)?);
        for (index, line) in reservation.lines.iter().enumerate() {
            let update = Update::builder()
                .table_name(&self.inventory_table)
                .set_key(Some(product_key(&line.product_id)))
                .update_expression("SET available = available - :qty, reserved = reserved + :qty, updated_at = :now")
                .condition_expression("attribute_exists(pk) AND available >= :qty")
                .expression_attribute_values(":qty", AttributeValue::N(line.quantity.to_string()))
                .expression_attribute_values(":now", AttributeValue::S(crate::domain::listing::timestamp_key(now)))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(encode_failure)?;
            tx.push(Role::Stock(index), TransactWriteItem::builder().update(update).build());
        }
        Ok(())
    }

    /// Runs the transaction; `order_conflict` is what a failed condition on the order item means.
    async fn commit(&self, tx: Transaction, order: &Order, order_conflict: Rejection) -> Result<(), WriteError> {
        let Transaction { items, roles } = tx;
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(err) => match explain_cancellation(&err, &roles, order, order_conflict) {
                Some(rejection) => Err(WriteError::Rejected(rejection)),
                None => Err(classify(err).into()),
            },
        }
    }
}

/// Turns a cancelled transaction's reasons into the business answer, when there is one.
/// Conflicts and throttling come back as `None`, so the caller treats them as transient.
fn explain_cancellation(
    err: &SdkError<TransactWriteItemsError>,
    roles: &[Role],
    order: &Order,
    order_conflict: Rejection,
) -> Option<Rejection> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() else {
        return None;
    };
    let reasons: &[CancellationReason] = cancelled.cancellation_reasons();
    let failed = |role: Role| {
        roles
            .iter()
            .position(|r| *r == role)
            .and_then(|i| reasons.get(i))
            .and_then(|r| r.code())
            == Some("ConditionalCheckFailed")
    };
    if reasons
        .iter()
        .any(|reason| reason.code().is_some_and(|code| code != "None" && code != "ConditionalCheckFailed"))
    {
        return None;
    }
    if failed(Role::Order) {
        return Some(order_conflict);
    }
    if failed(Role::Idempotency) {
        return Some(Rejection::IdempotencyKeyTaken);
    }
    if failed(Role::Reservation) {
        // A reservation for this order already exists: another worker got here first.
        return Some(Rejection::OrderChanged);
    }
    let short: Vec<LineProblem> = roles
        .iter()
        .zip(reasons)
        .filter_map(|(role, reason)| match role {
            Role::Stock(index) if reason.code() == Some("ConditionalCheckFailed") => {
                let line = order.items.get(*index)?;
                let old = reason.item();
                let available = old
                    .and_then(|item| item.get("available"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok());
                let code = if old.is_some_and(|item| !item.is_empty()) {
                    LineProblemCode::OutOfStock
                } else {
                    LineProblemCode::UnknownProduct
                };
                Some(LineProblem {
                    product_id: line.product_id.clone(),
                    code,
                    requested: line.quantity,
                    available,
                })
            }
            _ => None,
        })
        .collect();
    (!short.is_empty()).then_some(Rejection::OutOfStock(short))
}

fn to_item<T: serde::Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(encode_failure)
}

pub(super) fn decode_order(item: Item) -> Result<Order, StoreError> {
    let record: OrderRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
    Ok(record.order)
}
