//! Everyone on one product under a per-item write ceiling, once per shard count.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::client::Reply;
use crate::scenarios::wait_for_reservation;
use crate::target::Target;

#[derive(Debug, Clone)]
pub struct HotSkuSettings {
    /// Customers per run (per shard with `per_shard`), each placing one unit; the stock is 90 %
    /// of them.
    pub customers: usize,
    pub concurrency: usize,
    /// Customers and concurrency scale with the shard count: each shard is offered the same load,
    /// so the runs show what the mechanism gives, not what one machine serves.
    pub per_shard: bool,
    /// One run per shard count, side by side.
    pub shards: Vec<u8>,
    /// The per-item write ceiling, in WCU per second.
    pub item_wcu: u32,
    /// The per-item read ceiling, in RCU per second, if any.
    pub item_rcu: Option<u32>,
}

impl HotSkuSettings {
    /// Customers and requests in flight of the run with `shards` shards.
    fn load(&self, shards: u8) -> (usize, usize) {
        let scale = if self.per_shard { usize::from(shards) } else { 1 };
        (self.customers * scale, self.concurrency * scale)
    }
}

/// Everyone on one product, under DynamoDB's per-item write ceiling (a fault mode of the storage
/// seam; DynamoDB Local has none), once per shard count: reservations per second, refusals,
/// throttled requests and oversold units for each, and each run's rate over the first one's.
pub async fn hot_sku(target: &Target, settings: &HotSkuSettings) -> Result<Value, String> {
    let local = target
        .local
        .as_ref()
        .ok_or("hot-sku imposes the per-item ceiling on the service in this process: run it without --url")?;
    local.plan.limit_item_writes(Some(settings.item_wcu));
    local.plan.limit_item_reads(settings.item_rcu);
    let admin = target.admin();
    let mut runs = Vec::new();
    let mut oversold_total = 0;
    let mut lost_total = 0;
    // Each run's customers have tokens of their own.
    let mut first_customer = 0;
    for &shards in &settings.shards {
        let (customers, concurrency) = settings.load(shards);
        let stock = (customers * 9 / 10) as i64;
        let customer = |n: usize| target.customer(first_customer + n);
        let sku = format!("hot-{shards}-shards");
        // After a throttled run the storage breaker may still be open (503 with Retry-After).
        let mut stocked = target.api.put_sharded_product(&admin, &sku, "19.99", stock, shards).await;
        for _ in 0..30 {
            if stocked.status != 503 {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            stocked = target.api.put_sharded_product(&admin, &sku, "19.99", stock, shards).await;
        }
        if stocked.status != 200 {
            return Err(format!("stocking {sku} failed: {stocked:?}"));
        }
        // Start on a fresh second of the ceiling's accounting.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let throttled_before = local.plan.throttled_by_item_ceiling();
        let read_throttled_before = local.plan.throttled_by_read_ceiling();
        let writes_before = local.plan.calls("TransactWriteItems");
        let started = Instant::now();
        let answers: Vec<(usize, Reply, Option<Duration>, Option<String>)> = stream::iter(0..customers)
            .map(|n| {
                let token = customer(n);
                let sku = sku.clone();
                async move {
                    let placed = target.api.place(&token, &[(sku, 1)], &format!("hot-{shards}-{n}")).await;
                    // 202: the reserve-stock step finishes it; the reservation counts when it does.
                    let status = match (placed.status, placed.id()) {
                        (201, _) => Some("PENDING_PAYMENT".to_owned()),
                        (202, Some(id)) => wait_for_reservation(target, &token, &id).await.body["status"]
                            .as_str()
                            .map(str::to_owned),
                        _ => None,
                    };
                    let reserved_at = (status.as_deref() == Some("PENDING_PAYMENT")).then(|| started.elapsed());
                    (n, placed, reserved_at, status)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let wall = started.elapsed();
        let throttled = local.plan.throttled_by_item_ceiling() - throttled_before;
        let read_throttled = local.plan.throttled_by_read_ceiling() - read_throttled_before;
        let transact_writes = local.plan.calls("TransactWriteItems") - writes_before;
        let reserved = answers.iter().filter(|(_, _, at, _)| at.is_some()).count();
        let last_reservation = answers.iter().filter_map(|(_, _, at, _)| *at).max().unwrap_or(wall);
        let at_once: Vec<Duration> = answers
            .iter()
            .filter(|(_, reply, _, _)| reply.status == 201)
            .filter_map(|(_, _, at, _)| *at)
            .collect();
        let last_at_once = at_once.iter().max().copied().unwrap_or(wall);
        let mut placement_answers: BTreeMap<u16, usize> = BTreeMap::new();
        for (_, reply, _, _) in &answers {
            *placement_answers.entry(reply.status).or_default() += 1;
        }
        let product = target.api.product(&admin, &sku).await.body;
        let counter = |name: &str| product[name].as_i64().unwrap_or(0);
        // Held or sold beyond the stock: a hold past `available`, or more held than is on hand.
        let oversold =
            (reserved as i64 - stock).max(0) + (-counter("available")).max(0) + (counter("reserved") - counter("on_hand")).max(0);
        // The customers walk away: every order the run reserved (or the queue reserves late) is
        // cancelled, so the next run starts on a quiet service with all the units back.
        let ids: Vec<(usize, String)> = answers
            .iter()
            .filter_map(|(n, reply, _, _)| reply.id().map(|id| (*n, id)))
            .collect();
        let finals: Vec<String> = stream::iter(ids)
            .map(|(n, id)| {
                let token = customer(n);
                async move {
                    wait_for_reservation(target, &token, &id).await;
                    // Cancelling writes the hot item too: throttled, it (and, while the storage
                    // breaker is open, anything) is 503 for a while.
                    let mut status = String::from("MISSING");
                    for _ in 0..60 {
                        let order = target.api.order(&token, &id).await;
                        if order.status == 503 {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                        status = order.body["status"].as_str().unwrap_or("MISSING").to_owned();
                        if status != "PENDING_PAYMENT" {
                            break;
                        }
                        if target.api.cancel(&token, &id).await.status == 503 {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                    status
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        let lost = finals
            .iter()
            .filter(|status| !matches!(status.as_str(), "CANCELLED" | "INVALID"))
            .count()
            + answers.iter().filter(|(_, reply, _, _)| reply.status >= 500).count();
        let after = target.api.product(&admin, &sku).await.body;
        oversold_total += oversold;
        lost_total += lost;
        let rate = reserved as f64 / last_reservation.as_secs_f64().max(0.001);
        let rate_at_once = at_once.len() as f64 / last_at_once.as_secs_f64().max(0.001);
        first_customer += customers;
        runs.push(json!({
            "stock_shards": shards,
            "customers": customers,
            "concurrency": concurrency,
            "stock": stock,
            "reserved": reserved,
            "sold_out": reserved as i64 == stock,
            "seconds_to_last_reservation": last_reservation.as_secs_f64(),
            "reservations_per_second": rate,
            "placement_answers": placement_answers,
            "throttled_requests": throttled,
            "read_throttled_requests": read_throttled,
            "transact_write_calls": transact_writes,
            "reserved_at_once_per_second": rate_at_once,
            "counters": {"on_hand": product["on_hand"], "available": product["available"], "reserved": product["reserved"]},
            "counters_after_cancelling": {"on_hand": after["on_hand"], "available": after["available"], "reserved": after["reserved"]},
            "oversold_units": oversold,
            "lost_orders": lost,
        }));
    }
    local.plan.limit_item_writes(None);
    local.plan.limit_item_reads(None);
    let first = runs.first().and_then(|run| run["reservations_per_second"].as_f64()).unwrap_or(1.0);
    let read_ceiling = settings
        .item_rcu
        .map(|rcu| format!(", per-item read ceiling {rcu} RCU/s"))
        .unwrap_or_default();
    println!(
        "hot-sku: one product, each customer placing 1 unit of a stock of 90 % of them, per-item ceiling {} WCU/s{read_ceiling}",
        settings.item_wcu
    );
    println!(
        "| stock_shards | customers (in flight) | reservations/s | ratio to {} shard(s) | reserved at once (201)/s | reserved (201 + 202 finished by the queue) | throttled writes | throttled reads | TransactWriteItems calls | oversold | lost |",
        settings.shards.first().copied().unwrap_or(1)
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for run in &runs {
        let rate = run["reservations_per_second"].as_f64().unwrap_or(0.0);
        println!(
            "| {} | {} ({}) | {:.1} | {:.2}x | {:.1} | {} | {} | {} | {} | {} | {} |",
            run["stock_shards"],
            run["customers"],
            run["concurrency"],
            rate,
            rate / first,
            run["reserved_at_once_per_second"].as_f64().unwrap_or(0.0),
            run["reserved"],
            run["throttled_requests"],
            run["read_throttled_requests"],
            run["transact_write_calls"],
            run["oversold_units"],
            run["lost_orders"]
        );
    }
    Ok(json!({
        "item_wcu": settings.item_wcu,
        "item_rcu": settings.item_rcu,
        "runs": runs,
        "ratios_to_first": runs.iter().map(|run| run["reservations_per_second"].as_f64().unwrap_or(0.0) / first).collect::<Vec<_>>(),
        "oversold_units": oversold_total,
        "lost_orders": lost_total,
    }))
}
