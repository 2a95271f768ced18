//! Transactions: the items of one `TransactWriteItems`, each with the role it plays, and the
//! translation of a cancelled transaction's reasons into the business answer they mean.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Put, TransactWriteItem};

use super::keys::Item;
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::{LineProblem, LineProblemCode, Order};
use crate::ports::{Rejection, StoreError, WriteError};

/// What each item of a transaction is, so a cancellation reason can be traced to its cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Order,
    Idempotency,
    Reservation,
    /// The order's ACTIVE reservation, settled (converted or released).
    Settlement,
    /// The stock hold for the order line at this index.
    Stock(usize),
    /// An entry of the sellers' index (unconditional: it only ever says the same).
    SellerLink,
}

/// Items one TransactWriteItems may hold.
pub(super) const MAX_TRANSACTION_ITEMS: usize = 100;

#[derive(Default)]
pub(super) struct Transaction {
    items: Vec<TransactWriteItem>,
    roles: Vec<Role>,
}

impl Transaction {
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn push(&mut self, role: Role, item: TransactWriteItem) {
        self.items.push(item);
        self.roles.push(role);
    }
    /// Adds a put that only creates: it fails if the key exists (unless `takeover` holds for it).
    pub(super) fn create(
        &mut self,
        role: Role,
        table: &str,
        item: Item,
        takeover: Option<(&str, AttributeValue)>,
    ) -> Result<(), StoreError> {
        let mut put = Put::builder().table_name(table).set_item(Some(item));
        put = match takeover {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some((condition, value)) => put
                .condition_expression(format!("attribute_not_exists(pk) OR {condition}"))
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", value),
        };
        self.push(role, TransactWriteItem::builder().put(put.build().map_err(encode_failure)?).build());
        Ok(())
    }
}

impl DynamoStore {
    /// Runs the transaction; `order_conflict` is what a failed condition on the order item means.
    pub(super) async fn commit(&self, tx: Transaction, order: &Order, order_conflict: Rejection) -> Result<(), WriteError> {
        let Transaction { items, roles } = tx;
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(err) => match explain_cancellation(&err, &roles, order, order_conflict) {
                Some(rejection) => Err(WriteError::Rejected(rejection)),
                None if cancelled_for_a_passing_reason(&err) => Err(StoreError::Contended(Box::new(err)).into()),
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
    if failed(Role::Settlement) {
        // The order is as expected, yet its reservation is not ACTIVE: stored state disagrees.
        return Some(Rejection::ReservationNotActive);
    }
    if failed(Role::Reservation) {
        // A reservation for this order already exists: another worker got here first.
        return Some(Rejection::OrderChanged);
    }
    let mut short = Vec::new();
    let mut repriced = Vec::new();
    for (role, reason) in roles.iter().zip(reasons) {
        let Role::Stock(index) = role else { continue };
        if reason.code() != Some("ConditionalCheckFailed") {
            continue;
        }
        let Some(line) = order.items.get(*index) else { continue };
        // A line held from several shards is reported once.
        if short.iter().any(|problem: &LineProblem| problem.product_id == line.product_id) || repriced.contains(&line.product_id) {
            continue;
        }
        let old = reason.item().filter(|item| !item.is_empty());
        let number = |name: &str| {
            old.and_then(|item| item.get(name))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
        };
        let available = number("available");
        let (code, requested) = (
            match old {
                None => LineProblemCode::UnknownProduct,
                Some(_) if available.is_some_and(|available| available < i64::from(line.quantity.get())) => LineProblemCode::OutOfStock,
                Some(_) if number("price_version").unwrap_or(0) != i64::try_from(line.price_version).unwrap_or(i64::MAX) => {
                    repriced.push(line.product_id.clone());
                    continue;
                }
                Some(_) => LineProblemCode::OutOfStock,
            },
            line.quantity,
        );
        short.push(LineProblem {
            product_id: line.product_id.clone(),
            code,
            requested,
            available,
        });
    }
    if !short.is_empty() {
        return Some(Rejection::OutOfStock(short));
    }
    (!repriced.is_empty()).then_some(Rejection::PriceChanged(repriced))
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

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use chrono::Utc;

    use super::*;
    use crate::domain::order::price_lines;
    use crate::domain::{Actor, Money, OrderId, PlaceOrder, PricingPolicy, Product, SellerId, Sku, UserId};

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
                    description: None,
                    image_url: None,
                    on_hand: 1,
                    available: 1,
                    reserved: 0,
                    version: 1,
                    price_version: 1,
                    last_hold_at: None,
                    stock_shards: Default::default(),
                    shard_items: 1,
                    shards: Vec::new(),
                };
                (product.product_id.clone(), product)
            })
            .collect();
        let (lines, _) = price_lines(&request, &catalogue).unwrap();
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
        .unwrap()
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
    fn a_settlement_whose_reservation_is_not_active_is_an_inconsistency_unless_the_order_changed() {
        let order = two_line_order();
        let roles = [Role::Order, Role::Settlement, Role::Stock(0), Role::Stock(1)];
        let settled_elsewhere = cancelled(&["None", "ConditionalCheckFailed", "None", "None"], 400);
        assert_eq!(
            explain_cancellation(&settled_elsewhere, &roles, &order, Rejection::OrderChanged),
            Some(Rejection::ReservationNotActive)
        );
        let lost_race = cancelled(&["ConditionalCheckFailed", "ConditionalCheckFailed", "None", "None"], 400);
        assert_eq!(
            explain_cancellation(&lost_race, &roles, &order, Rejection::OrderChanged),
            Some(Rejection::OrderChanged)
        );
    }

    #[test]
    fn a_line_whose_stock_suffices_but_whose_price_version_moved_is_a_price_change_not_out_of_stock() {
        let order = two_line_order();
        let old = |available: &str, price_version: &str| {
            std::collections::HashMap::from([
                ("available".to_owned(), AttributeValue::N(available.into())),
                ("price_version".to_owned(), AttributeValue::N(price_version.into())),
            ])
        };
        let reasons = |second: CancellationReason| {
            vec![
                CancellationReason::builder().code("None").build(),
                CancellationReason::builder().code("None").build(),
                CancellationReason::builder().code("None").build(),
                second,
            ]
        };
        let failed = |item| {
            CancellationReason::builder()
                .code("ConditionalCheckFailed")
                .set_item(Some(item))
                .build()
        };
        let err = |reasons: Vec<CancellationReason>| {
            let cancelled = TransactionCanceledException::builder()
                .set_cancellation_reasons(Some(reasons))
                .build();
            SdkError::service_error(TransactWriteItemsError::TransactionCanceledException(cancelled), response(400))
        };
        let repriced = err(reasons(failed(old("100", "2"))));
        assert_eq!(
            explain_cancellation(&repriced, &ROLES, &order, Rejection::OrderExists),
            Some(Rejection::PriceChanged(vec![Sku::parse("b").unwrap()]))
        );
        let short = err(reasons(failed(old("1", "2"))));
        assert!(matches!(
            explain_cancellation(&short, &ROLES, &order, Rejection::OrderExists),
            Some(Rejection::OutOfStock(_))
        ));
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
}
