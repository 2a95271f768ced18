//! Reservation under contention on one product, two ways, side by side against DynamoDB Local:
//! our conditional decrement (one transaction, `available >= :qty`), and the usual fix for the
//! oversell race, a read-then-write optimistic version lock (read the product, then write
//! conditioned on its version, re-reading on conflict). Both write the same three items.

use orders_shared::adapters::dynamo::keys;
use orders_shared::domain::{OrderId, Sku, UserId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use futures::future::join_all;
use serde_json::{json, Value};

use crate::stats::percentile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    ConditionalDecrement,
    VersionLock,
}

impl Strategy {
    fn name(self) -> &'static str {
        match self {
            Self::ConditionalDecrement => "conditional_decrement",
            Self::VersionLock => "version_lock",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Run {
    pub strategy: Strategy,
    pub sold: u64,
    pub requests: u64,
    pub elapsed: Duration,
    pub success_latencies_us: Vec<u64>,
}

impl Run {
    fn orders_per_s(&self) -> f64 {
        self.sold as f64 / self.elapsed.as_secs_f64()
    }

    fn requests_per_order(&self) -> f64 {
        self.requests as f64 / self.sold.max(1) as f64
    }

    fn p95_ms(&self) -> f64 {
        let mut sorted = self.success_latencies_us.clone();
        sorted.sort_unstable();
        percentile(&sorted, 95.0)
    }
}

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The order and reservation puts both strategies write with the stock update.
fn puts(table: &str, id: &str, sku: &str) -> Vec<TransactWriteItem> {
    ["BENCH_ORDER", "BENCH_RESERVATION"]
        .iter()
        .filter_map(|kind| {
            let mut item = keys::key(format!("{kind}#{id}"), kind);
            item.insert("product_id".into(), s(sku));
            item.insert("quantity".into(), n(1));
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .ok()?;
            Some(TransactWriteItem::builder().put(put).build())
        })
        .collect()
}

fn cancelled_by_condition(err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>) -> bool {
    matches!(
        err.as_service_error(),
        Some(TransactWriteItemsError::TransactionCanceledException(_))
    )
}

/// One customer's purchase: `Some(requests)` when it bought a unit, `None` when sold out.
async fn buy(client: &Client, table: &str, sku: &str, strategy: Strategy, requests: &AtomicU64) -> Result<bool, String> {
    let id = uuid_like();
    loop {
        match strategy {
            Strategy::ConditionalDecrement => {
                let update = Update::builder()
                    .table_name(table)
                    .set_key(Some(keys::key(format!("BENCH_PRODUCT#{sku}"), keys::PRODUCT_SK)))
                    .update_expression("SET available = available - :one, reserved = reserved + :one")
                    .condition_expression("available >= :one")
                    .expression_attribute_values(":one", n(1))
                    .build()
                    .map_err(|e| e.to_string())?;
                let mut items = puts(table, &id, sku);
                items.push(TransactWriteItem::builder().update(update).build());
                requests.fetch_add(1, Ordering::Relaxed);
                return match client.transact_write_items().set_transact_items(Some(items)).send().await {
                    Ok(_) => Ok(true),
                    Err(err) if cancelled_by_condition(&err) => Ok(false),
                    Err(err) => Err(aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string()),
                };
            }
            Strategy::VersionLock => {
                requests.fetch_add(1, Ordering::Relaxed);
                let read = client
                    .get_item()
                    .table_name(table)
                    .set_key(Some(keys::key(format!("BENCH_PRODUCT#{sku}"), keys::PRODUCT_SK)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
                let item = read.item.unwrap_or_default();
                let number = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse::<i64>().ok())
                        .unwrap_or(0)
                };
                if number("available") < 1 {
                    return Ok(false);
                }
                let update = Update::builder()
                    .table_name(table)
                    .set_key(Some(keys::key(format!("BENCH_PRODUCT#{sku}"), keys::PRODUCT_SK)))
                    .update_expression("SET available = available - :one, reserved = reserved + :one, version = version + :one")
                    .condition_expression("version = :version")
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":version", n(number("version")))
                    .build()
                    .map_err(|e| e.to_string())?;
                let mut items = puts(table, &id, sku);
                items.push(TransactWriteItem::builder().update(update).build());
                requests.fetch_add(1, Ordering::Relaxed);
                match client.transact_write_items().set_transact_items(Some(items)).send().await {
                    Ok(_) => return Ok(true),
                    // Someone else wrote first: read again and retry.
                    Err(err) if cancelled_by_condition(&err) => continue,
                    Err(err) => return Err(aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string()),
                }
            }
        }
    }
}

fn uuid_like() -> String {
    format!("{:032x}", rand::random::<u128>())
}

async fn run_once(client: &Client, table: &str, strategy: Strategy, round: usize, stock: i64, customers: usize) -> Result<Run, String> {
    let sku = format!("{}-{round}", strategy.name());
    let mut product = keys::key(format!("BENCH_PRODUCT#{sku}"), keys::PRODUCT_SK);
    product.insert("available".into(), n(stock));
    product.insert("reserved".into(), n(0));
    product.insert("version".into(), n(0));
    client
        .put_item()
        .table_name(table)
        .set_item(Some(product))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let requests = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let outcomes = join_all((0..customers).map(|_| {
        let (requests, sku) = (Arc::clone(&requests), sku.clone());
        async move {
            let began = Instant::now();
            buy(client, table, &sku, strategy, &requests)
                .await
                .map(|bought| bought.then(|| began.elapsed()))
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let mut latencies = Vec::new();
    for outcome in outcomes {
        if let Some(latency) = outcome? {
            latencies.push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        }
    }
    Ok(Run {
        strategy,
        sold: latencies.len() as u64,
        requests: requests.load(Ordering::Relaxed),
        elapsed,
        success_latencies_us: latencies,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Alternates the two strategies `rounds` times (so drift in the machine hits both alike) and
/// reports medians and ratios. Every round must sell exactly the stock.
pub async fn compare(client: &Client, table: &str, rounds: usize, stock: i64, customers: usize) -> Result<Value, String> {
    let mut runs: Vec<Run> = Vec::new();
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [Strategy::ConditionalDecrement, Strategy::VersionLock]
        } else {
            [Strategy::VersionLock, Strategy::ConditionalDecrement]
        };
        for strategy in order {
            let run = run_once(client, table, strategy, round, stock, customers).await?;
            if run.sold != stock as u64 {
                return Err(format!("{} sold {} of {stock}", strategy.name(), run.sold));
            }
            println!(
                "round {round} {:<22} sold {:>4} in {:>7.0} ms: {:>7.1} orders/s, {:>5.2} requests/order, p95 {:>7.1} ms",
                strategy.name(),
                run.sold,
                run.elapsed.as_secs_f64() * 1000.0,
                run.orders_per_s(),
                run.requests_per_order(),
                run.p95_ms()
            );
            runs.push(run);
        }
    }
    let summary = |strategy: Strategy| {
        let mine: Vec<&Run> = runs.iter().filter(|r| r.strategy == strategy).collect();
        (
            median(mine.iter().map(|r| r.orders_per_s()).collect()),
            median(mine.iter().map(|r| r.requests_per_order()).collect()),
            median(mine.iter().map(|r| r.p95_ms()).collect()),
        )
    };
    let (c_rate, c_requests, c_p95) = summary(Strategy::ConditionalDecrement);
    let (v_rate, v_requests, v_p95) = summary(Strategy::VersionLock);
    Ok(json!({
        "rounds": rounds, "stock": stock, "customers": customers,
        "conditional_decrement": {"orders_per_s": c_rate, "requests_per_order": c_requests, "p95_ms": c_p95},
        "version_lock": {"orders_per_s": v_rate, "requests_per_order": v_requests, "p95_ms": v_p95},
        "ratios_conditional_over_version_lock": {
            "orders_per_s": c_rate / v_rate.max(1e-9),
            "requests_per_order": c_requests / v_requests.max(1e-9),
            "p95": c_p95 / v_p95.max(1e-9),
        },
    }))
}

/// What a keyed placement wrote, read back to be copied under keys of its own by the floor: the
/// order, its idempotency record and its reservation.
pub struct FloorItems {
    order: HashMap<String, AttributeValue>,
    idempotency: HashMap<String, AttributeValue>,
    reservation: HashMap<String, AttributeValue>,
}

impl FloorItems {
    /// Reads the items of the order `id`, placed with the idempotency key `key`.
    pub async fn of(client: &Client, orders_table: &str, inventory_table: &str, id: &str, key: &str) -> Result<Self, String> {
        let order_id = OrderId::parse(id).map_err(|e| e.to_string())?;
        let read = |table: &str, item_key: HashMap<String, AttributeValue>| {
            let request = client.get_item().table_name(table).set_key(Some(item_key)).consistent_read(true);
            async move {
                request
                    .send()
                    .await
                    .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?
                    .item
                    .ok_or_else(|| "an item of the placement is missing".to_owned())
            }
        };
        let order = read(orders_table, keys::order_key(order_id)).await?;
        let user = order
            .get("user_id")
            .and_then(|user| user.as_s().ok())
            .and_then(|user| UserId::parse(user).ok())
            .ok_or("the order names no user")?;
        Ok(Self {
            idempotency: read(orders_table, keys::idempotency_key(&user, key)).await?,
            reservation: read(inventory_table, keys::reservation_key(order_id)).await?,
            order,
        })
    }
}

/// The floor under a placement: what DynamoDB alone takes for the calls a keyed placement makes,
/// with nothing of ours around them. Each sample is one eventually consistent BatchGetItem of the
/// product (a placement's first look), then one TransactWriteItems that creates copies of a real
/// placement's order, idempotency record and reservation (the same sizes and index entries),
/// and updates the product conditioned on its stock (touching no counter, so the stock stays as
/// it was). The copies say they are no order of ours, and the reservation's index entry lies in
/// a partition no reader asks for, so the outbox, the checker and the sweeper leave them alone.
/// Answers each sample's microseconds.
pub async fn placement_floor(
    client: &Client,
    orders_table: &str,
    inventory_table: &str,
    sku: &str,
    items: &FloorItems,
) -> Result<u64, String> {
    let id = uuid_like();
    let started = Instant::now();
    let product = keys::product_key(&Sku::parse(sku).map_err(|e| e.to_string())?);
    let read = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
        .keys(product.clone())
        .consistent_read(false)
        .build()
        .map_err(|e| e.to_string())?;
    client
        .batch_get_item()
        .request_items(inventory_table, read)
        .send()
        .await
        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    let copy = |item: &HashMap<String, AttributeValue>, pk: &str, sk: &str| {
        let mut copy = item.clone();
        copy.extend(keys::key(format!("{pk}#{id}"), sk));
        copy.insert(keys::ENTITY.to_owned(), s("BENCH_FLOOR"));
        copy
    };
    let mut reservation = copy(&items.reservation, "FLOOR_RESERVATION", keys::RESERVATION_SK);
    if reservation.contains_key("expiry_shard") {
        reservation.insert("expiry_shard".into(), s("BENCH_FLOOR"));
    }
    let create = |table: &str, item| {
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map(|put| TransactWriteItem::builder().put(put).build())
            .map_err(|e| e.to_string())
    };
    let touch = Update::builder()
        .table_name(inventory_table)
        .set_key(Some(product))
        .update_expression("SET floor_touched = :id")
        .condition_expression("available >= :one")
        .expression_attribute_values(":id", s(id.clone()))
        .expression_attribute_values(":one", n(1))
        .build()
        .map_err(|e| e.to_string())?;
    client
        .transact_write_items()
        .transact_items(create(orders_table, copy(&items.order, "FLOOR_ORDER", keys::ORDER_SK))?)
        .transact_items(create(
            orders_table,
            copy(&items.idempotency, "FLOOR_IDEMPOTENCY", keys::IDEMPOTENCY_SK),
        )?)
        .transact_items(create(inventory_table, reservation)?)
        .transact_items(TransactWriteItem::builder().update(touch).build())
        .send()
        .await
        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    Ok(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX))
}
