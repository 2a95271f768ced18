//! The invariant checker: reads both tables whole (an audit, never on a request path) and
//! reports every broken promise: stock not conserved, negative counters, `reserved` not matching
//! the ACTIVE reservations, a reservation whose state disagrees with its order, orders stuck past
//! their thresholds, payments that do not match what was paid for.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};
use orders_shared::adapters::dynamo::{decode_stored, StoredItem};
use orders_shared::domain::stock::ShardStock;
use orders_shared::domain::{Order, OrderId, OrderStatus, Product, Reservation, ReservationStatus, Sku};

mod rules;
pub use rules::{judge, judge_events};

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("reading table {table}: {message}")]
    Read { table: String, message: String },
    #[error("an item of {table} cannot be decoded: {message}")]
    Decode { table: String, message: String },
}

/// How long work may legitimately wait before it counts as stuck.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// An order in PENDING_RESERVING_STOCK for longer than this is stuck.
    pub reserving: Duration,
    /// An order still awaiting payment this long after its deadline was missed by the sweeper.
    pub overdue: Duration,
    /// A paid order not gone to fulfilment this long after its payment is stuck; `None` where
    /// nothing runs the outbox and the fulfilment queue (tests that drive them by hand).
    pub awaiting_fulfilment: Option<Duration>,
}

impl Default for Thresholds {
    fn default() -> Self {
        // The sweeper re-drives after 2 minutes and runs every minute: allow a few runs.
        Self {
            reserving: Duration::minutes(5),
            overdue: Duration::minutes(3),
            awaiting_fulfilment: Some(Duration::minutes(5)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("{product}: on_hand {on_hand} != available {available} + reserved {reserved}")]
    StockNotConserved {
        product: Sku,
        on_hand: i64,
        available: i64,
        reserved: i64,
    },
    #[error("{product}: negative counter (available {available}, reserved {reserved})")]
    NegativeCounter { product: Sku, available: i64, reserved: i64 },
    #[error("{product}: reserved {reserved} but ACTIVE reservations hold {held_by_reservations}")]
    ReservedMismatch {
        product: Sku,
        reserved: i64,
        held_by_reservations: i64,
    },
    #[error("{product}, shard {shard}: {detail}")]
    ShardBroken { product: Sku, shard: u8, detail: String },
    #[error("reservation of order {order}, which does not exist")]
    ReservationWithoutOrder { order: OrderId },
    #[error("order {order} is {order_status} but its reservation is {reservation:?}")]
    ReservationStateMismatch {
        order: OrderId,
        order_status: OrderStatus,
        reservation: Option<ReservationStatus>,
    },
    #[error("order {order}: reservation lines differ from the order lines")]
    ReservationLinesMismatch { order: OrderId },
    #[error("order {order} stuck in PENDING_RESERVING_STOCK since {since}")]
    StuckReserving { order: OrderId, since: DateTime<Utc> },
    #[error("order {order} still awaits payment, which was due at {due}")]
    Overdue { order: OrderId, due: DateTime<Utc> },
    #[error("order {order}: {detail}")]
    PaymentMismatch { order: OrderId, detail: String },
    #[error("order {order} is {status} but its seller parts do not cover its lines once each")]
    PartsMismatch { order: OrderId, status: OrderStatus },
    #[error("order {order} was paid at {since} and has not gone to fulfilment")]
    StuckPaid { order: OrderId, since: DateTime<Utc> },
    #[error("order {order}: {detail}")]
    MoneyBack { order: OrderId, detail: String },
    #[error("order {order}: {detail}")]
    EventMismatch { order: OrderId, detail: String },
    #[error("payment {reference} of {amount} names order {order}, which this shop does not have: pay it back")]
    UnmatchedPayment { order: OrderId, reference: String, amount: String },
}

#[derive(Debug, Default, Clone)]
pub struct Report {
    pub products: usize,
    pub orders: usize,
    pub reservations: usize,
    pub orders_by_status: BTreeMap<String, usize>,
    /// Units sold per product: the lines of orders that were paid.
    pub sold: BTreeMap<Sku, i64>,
    pub violations: Vec<Violation>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "checked {} products, {} orders, {} reservations",
            self.products, self.orders, self.reservations
        )?;
        let statuses: Vec<String> = self.orders_by_status.iter().map(|(status, n)| format!("{status} {n}")).collect();
        writeln!(f, "orders by status: {}", statuses.join(", "))?;
        if self.violations.is_empty() {
            return writeln!(f, "all invariants hold");
        }
        writeln!(f, "{} violations:", self.violations.len())?;
        for violation in &self.violations {
            writeln!(f, "  - {violation}")?;
        }
        Ok(())
    }
}

async fn scan(client: &Client, table: &str) -> Result<Vec<StoredItem>, CheckError> {
    let read_failure = |err| CheckError::Read {
        table: table.to_owned(),
        message: aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string(),
    };
    let mut pages = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send();
    let mut items = Vec::new();
    while let Some(item) = pages.try_next().await.map_err(read_failure)? {
        items.push(decode_stored(item).map_err(|err| CheckError::Decode {
            table: table.to_owned(),
            message: err.to_string(),
        })?);
    }
    Ok(items)
}

pub async fn check(
    client: &Client,
    orders_table: &str,
    inventory_table: &str,
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> Result<Report, CheckError> {
    let mut products: Vec<Product> = Vec::new();
    let mut shards: HashMap<Sku, Vec<ShardStock>> = HashMap::new();
    let mut reservations: HashMap<OrderId, Reservation> = HashMap::new();
    for item in scan(client, inventory_table).await? {
        match item {
            StoredItem::Product(product) => products.push(product),
            StoredItem::StockShard(shard) => shards.entry(shard.product_id.clone()).or_default().push(shard.stock()),
            StoredItem::Reservation(reservation) => {
                reservations.insert(reservation.order_id, reservation);
            }
            _ => {}
        }
    }
    for product in &mut products {
        if let Some(more) = shards.remove(&product.product_id) {
            product.add_up_shards(more);
        }
    }
    let mut orders = Vec::new();
    let mut unmatched = Vec::new();
    for item in scan(client, orders_table).await? {
        match item {
            StoredItem::Order(order) => orders.push(*order),
            StoredItem::UnmatchedPayment(order, payment) => unmatched.push(Violation::UnmatchedPayment {
                order,
                reference: payment.reference.to_string(),
                amount: payment.amount.to_string(),
            }),
            _ => {}
        }
    }
    let mut report = judge(&products, &reservations, &orders, thresholds, now);
    report.violations.extend(unmatched);
    // The two tables are read one after the other, so an order that changed with its
    // reservation in one transaction between the two scans (an expiry, a payment) looks torn.
    // Such a pair is read again in one snapshot; only what that snapshot shows is reported.
    let mut confirmed = Vec::with_capacity(report.violations.len());
    for violation in std::mem::take(&mut report.violations) {
        match violation {
            Violation::ReservationStateMismatch { order, .. } | Violation::ReservationLinesMismatch { order } => {
                let pair = read_pair(client, orders_table, inventory_table, order).await?;
                confirmed.extend(
                    judge(&[], &pair.1, &pair.0, thresholds, now)
                        .violations
                        .into_iter()
                        .filter(|again| {
                            matches!(
                                again,
                                Violation::ReservationStateMismatch { .. } | Violation::ReservationLinesMismatch { .. }
                            )
                        }),
                );
            }
            other => confirmed.push(other),
        }
    }
    report.violations = confirmed;
    Ok(report)
}

/// An order and its reservation as one `TransactGetItems` sees them: a snapshot that no
/// transaction writing both can tear.
async fn read_pair(
    client: &Client,
    orders_table: &str,
    inventory_table: &str,
    order: OrderId,
) -> Result<(Vec<Order>, HashMap<OrderId, Reservation>), CheckError> {
    use aws_sdk_dynamodb::types::{Get, TransactGetItem};
    use orders_shared::adapters::dynamo::keys::order_key;
    use orders_shared::adapters::dynamo::reservation_key;
    let get = |table: &str, key| {
        Get::builder()
            .table_name(table)
            .set_key(Some(key))
            .build()
            .map(|get| TransactGetItem::builder().get(get).build())
            .map_err(|err| CheckError::Read {
                table: table.to_owned(),
                message: err.to_string(),
            })
    };
    let output = client
        .transact_get_items()
        .transact_items(get(orders_table, order_key(order))?)
        .transact_items(get(inventory_table, reservation_key(order))?)
        .send()
        .await
        .map_err(|err| CheckError::Read {
            table: orders_table.to_owned(),
            message: aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string(),
        })?;
    let (mut orders, mut reservations) = (Vec::new(), HashMap::new());
    for item in output.responses().iter().filter_map(|response| response.item.clone()) {
        match decode_stored(item).map_err(|err| CheckError::Decode {
            table: orders_table.to_owned(),
            message: err.to_string(),
        })? {
            StoredItem::Order(order) => orders.push(*order),
            StoredItem::Reservation(reservation) => {
                reservations.insert(reservation.order_id, reservation);
            }
            _ => {}
        }
    }
    Ok((orders, reservations))
}

/// Every order of the orders table, read strongly consistent.
pub async fn stored_orders(client: &Client, orders_table: &str) -> Result<Vec<Order>, CheckError> {
    Ok(scan(client, orders_table)
        .await?
        .into_iter()
        .filter_map(|item| match item {
            StoredItem::Order(order) => Some(*order),
            _ => None,
        })
        .collect())
}
