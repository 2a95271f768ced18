use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use futures::future::try_join_all;

use super::records::{
    order_key, product_key, reservation_key, shards, IdempotencyItem, Item, OrderRecord, ReservationRecord, SETTLED_RETENTION_DAYS,
};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::{
    IdempotencyKey, LineProblem, LineProblemCode, ListQuery, Order, OrderId, OrderStatus, Page, Quantity, Reservation, ReservationStatus,
    Sku, UserId,
};
use crate::ports::{IdempotencyRecord, OrderStore, Rejection, Settlement, StockChange, StoreError, WriteError};

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
        self.commit(tx, order, Rejection::OrderChanged).await?;
        order.version = stored.version;
        Ok(())
    }

    async fn orders_stuck_reserving(&self, created_before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError> {
        let before = crate::domain::listing::timestamp_key(created_before);
        let pages = try_join_all(shards("RESERVING").map(|shard| self.stuck_page(shard, &before, limit))).await?;
        Ok(pages.into_iter().flatten().take(limit).collect())
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

    /// Adds the stock side of an order update: the reservation record, and one conditional
    /// counter update per line.
    fn change_stock(&self, tx: &mut Transaction, order: &Order, change: StockChange<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
        let (lines, counters, condition): (Vec<(&Sku, Quantity)>, &str, &str) = match change {
            StockChange::None => return Ok(()),
            StockChange::Hold(reservation) => {
                tx.push(
                    Role::Reservation,
                    self.put_new(&self.inventory_table, to_item(&ReservationRecord::new(reservation))?, None)?,
                );
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
                tx.push(Role::Reservation, TransactWriteItem::builder().update(update).build());
                (
                    order.items.iter().map(|line| (&line.product_id, line.quantity)).collect(),
                    counters,
                    condition,
                )
            }
            StockChange::ReleaseDeleted(reservation) => {
                let mut released = reservation.clone();
                released.status = ReservationStatus::Released;
                released.updated_at = now;
                tx.push(
                    Role::Reservation,
                    self.put_new(&self.inventory_table, to_item(&ReservationRecord::new(&released))?, None)?,
                );
                (reserved_lines(reservation), RELEASE, "reserved >= :qty")
            }
        };
        for (index, (sku, quantity)) in lines.into_iter().enumerate() {
            let update = Update::builder()
                .table_name(&self.inventory_table)
                .set_key(Some(product_key(sku)))
                .update_expression(counters)
                .condition_expression(condition)
                .expression_attribute_values(":qty", AttributeValue::N(quantity.to_string()))
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":now", AttributeValue::S(crate::domain::listing::timestamp_key(now)))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(encode_failure)?;
            tx.push(Role::Stock(index), TransactWriteItem::builder().update(update).build());
        }
        Ok(())
    }

    async fn stuck_page(&self, shard: String, before: &str, limit: usize) -> Result<Vec<OrderId>, StoreError> {
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.orders_table)
                .index_name(super::index::BY_RESERVING)
                .key_condition_expression("reserving_shard = :shard AND created_key < :before")
                .expression_attribute_values(":shard", AttributeValue::S(shard.clone()))
                .expression_attribute_values(":before", AttributeValue::S(before.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in output.items.unwrap_or_default() {
                // The index projects keys only: the id is in the table key, `ORDER#<id>`.
                let id = item.get("pk").and_then(|v| v.as_s().ok()).and_then(|pk| pk.strip_prefix("ORDER#"));
                if let Some(id) = id.and_then(|text| OrderId::parse(text).ok()) {
                    ids.push(id);
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() || ids.len() >= limit {
                return Ok(ids);
            }
        }
    }

    /// Runs the transaction; `order_conflict` is what a failed condition on the order item means.
    async fn commit(&self, tx: Transaction, order: &Order, order_conflict: Rejection) -> Result<(), WriteError> {
        let Transaction { items, roles } = tx;
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(err) => match explain_cancellation(&err, &roles, order, order_conflict) {
                Some(rejection) => Err(WriteError::Rejected(rejection)),
                None if cancelled_for_a_passing_reason(&err) => Err(StoreError::Transient(Box::new(err)).into()),
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

/// Counter updates per line: hold for an order, sell on payment, give back on release.
const HOLD: &str = "SET available = available - :qty, reserved = reserved + :qty, updated_at = :now ADD version :one";
const SELL: &str = "SET on_hand = on_hand - :qty, reserved = reserved - :qty, updated_at = :now ADD version :one";
const RELEASE: &str = "SET available = available + :qty, reserved = reserved - :qty, updated_at = :now ADD version :one";

fn reserved_lines(reservation: &Reservation) -> Vec<(&Sku, Quantity)> {
    reservation.lines.iter().map(|line| (&line.product_id, line.quantity)).collect()
}

/// Reasons a transaction is cancelled that pass with time: retry the whole transaction.
const PASSING_REASONS: &[&str] = &["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"];

/// A cancelled transaction is transient when a reason says so (a conflict with another
/// transaction, throttling); `TransactionCanceledException` itself comes back as a 400.
fn cancelled_for_a_passing_reason(err: &SdkError<TransactWriteItemsError>) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .any(|reason| reason.code().is_some_and(|code| PASSING_REASONS.contains(&code))),
        _ => false,
    }
}

fn to_attribute<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(encode_failure)
}

fn to_item<T: serde::Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(encode_failure)
}

pub(super) fn decode_order(item: Item) -> Result<Order, StoreError> {
    let record: OrderRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
    Ok(record.order)
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use chrono::Utc;

    use super::*;
    use crate::domain::order::price_lines;
    use crate::domain::{Actor, Money, PlaceOrder, PricingPolicy, Product, SellerId, UserId};

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
    }

    fn cancelled(codes: &[&str], status: u16) -> SdkError<TransactWriteItemsError> {
        let reasons: Vec<CancellationReason> = codes.iter().map(|code| CancellationReason::builder().code(*code).build()).collect();
        let err = TransactionCanceledException::builder()
            .set_cancellation_reasons(Some(reasons))
            .build();
        SdkError::service_error(TransactWriteItemsError::TransactionCanceledException(err), response(status))
    }

    fn two_line_order() -> Order {
        let request =
            PlaceOrder::from_json(&serde_json::json!({"items": [{"product_id": "a", "quantity": 1}, {"product_id": "b", "quantity": 2}]}))
                .unwrap();
        let catalogue = ["a", "b"]
            .iter()
            .map(|sku| {
                let product = Product {
                    product_id: Sku::parse(sku).unwrap(),
                    name: sku.to_string(),
                    seller_id: SellerId::parse("s").unwrap(),
                    price: Money::parse("1").unwrap(),
                    on_hand: 1,
                    available: 1,
                    reserved: 0,
                    version: 1,
                };
                (product.product_id.clone(), product)
            })
            .collect();
        let (lines, _) = price_lines(&request, &catalogue);
        let pricing = PricingPolicy {
            currency: "USD".into(),
            tax_rate: Default::default(),
            shipping_fee: Money::ZERO,
        };
        Order::new(
            OrderId::new(),
            UserId::parse("u").unwrap(),
            lines,
            &pricing,
            &Actor::system("t"),
            Utc::now(),
        )
    }

    const ROLES: [Role; 4] = [Role::Order, Role::Reservation, Role::Stock(0), Role::Stock(1)];

    #[test]
    fn a_transaction_conflict_or_throttling_is_transient_not_a_business_answer() {
        let order = two_line_order();
        for codes in [
            ["None", "None", "TransactionConflict", "None"],
            ["None", "ThrottlingError", "None", "None"],
        ] {
            let err = cancelled(&codes, 400);
            assert_eq!(
                explain_cancellation(&err, &ROLES, &order, Rejection::OrderExists),
                None,
                "{codes:?}"
            );
        }
    }

    #[test]
    fn a_transaction_cancelled_by_a_conflict_is_retried_and_one_cancelled_by_validation_is_not() {
        assert!(cancelled_for_a_passing_reason(&cancelled(
            &["None", "TransactionConflict", "None", "None"],
            400
        )));
        assert!(cancelled_for_a_passing_reason(&cancelled(
            &["ProvisionedThroughputExceeded", "None", "None", "None"],
            400
        )));
        assert!(!cancelled_for_a_passing_reason(&cancelled(
            &["ValidationError", "None", "None", "None"],
            400
        )));
        assert!(!cancelled_for_a_passing_reason(&cancelled(
            &["None", "None", "ConditionalCheckFailed", "None"],
            400
        )));
    }

    #[test]
    fn a_failed_stock_condition_names_the_short_lines() {
        let order = two_line_order();
        let err = cancelled(&["None", "None", "None", "ConditionalCheckFailed"], 400);
        let Some(Rejection::OutOfStock(problems)) = explain_cancellation(&err, &ROLES, &order, Rejection::OrderExists) else {
            panic!("expected out of stock");
        };
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].product_id.as_str(), "b");
    }

    #[test]
    fn a_failed_order_condition_means_the_order_is_already_written_or_changed() {
        let order = two_line_order();
        let err = cancelled(&["ConditionalCheckFailed", "None", "None", "None"], 400);
        assert_eq!(
            explain_cancellation(&err, &ROLES, &order, Rejection::OrderExists),
            Some(Rejection::OrderExists)
        );
        assert_eq!(
            explain_cancellation(&err, &ROLES, &order, Rejection::OrderChanged),
            Some(Rejection::OrderChanged)
        );
    }

    #[test]
    fn throttling_server_errors_and_timeouts_classify_as_transient() {
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        use aws_smithy_types::error::ErrorMetadata;
        let service = |code: &str, status: u16| {
            let meta = ErrorMetadata::builder().code(code).build();
            SdkError::service_error(GetItemError::generic(meta), response(status))
        };
        assert!(classify(service("ThrottlingException", 400)).is_transient());
        assert!(classify(service("ProvisionedThroughputExceededException", 400)).is_transient());
        assert!(classify(service("InternalServerError", 500)).is_transient());
        assert!(classify(service("SomethingNew", 503)).is_transient());
        assert!(!classify(service("ValidationException", 400)).is_transient());
        let timeout: SdkError<GetItemError, HttpResponse> = SdkError::timeout_error("slow");
        assert!(classify(timeout).is_transient());
    }
}
