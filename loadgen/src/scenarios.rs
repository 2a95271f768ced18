//! The scenarios: a flash sale, a hot product, a steady mix, warm latency, and chaos.

use orders_shared::adapters::dynamo::keys;
use orders_shared::domain::OrderId;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use orders_shared::adapters::faults::FaultPoint;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::client::Reply;
use crate::target::Target;

#[derive(Debug, Clone)]
pub struct SaleSettings {
    pub customers: usize,
    pub products: usize,
    pub stock: i64,
    pub concurrency: usize,
    /// Shares of the reserved orders that are paid and cancelled; the rest are abandoned.
    pub pay: f64,
    pub cancel: f64,
    /// How long to wait for expiry and retries to settle everything.
    pub settle: Duration,
    pub seed: u64,
}

/// Thousands of customers race for a few products with small stock, then pay some orders,
/// cancel a few and abandon the rest, which the sweeper expires.
pub async fn sale(target: &Target, settings: &SaleSettings, label: &str) -> Result<Value, String> {
    let admin = target.admin();
    let skus: Vec<String> = (0..settings.products).map(|i| format!("{label}-{i}")).collect();
    for sku in &skus {
        let reply = target.api.put_product(&admin, sku, "19.99", settings.stock).await;
        if reply.status != 200 {
            return Err(format!("stocking {sku} failed: {reply:?}"));
        }
    }
    // Each customer orders, then (if stock was reserved) pays, cancels or walks away at once.
    let mut rng = rand::rngs::StdRng::seed_from_u64(settings.seed);
    let rolls: Vec<f64> = (0..settings.customers).map(|_| rng.random::<f64>()).collect();
    let (pay, cancel) = (settings.pay, settings.cancel);
    let journeys: Vec<(usize, Reply, &'static str)> = stream::iter(0..settings.customers)
        .map(|n| {
            let token = target.customer(n);
            let sku = skus[n % skus.len()].clone();
            let roll = rolls[n];
            async move {
                let placed = target.api.place(&token, &[(sku, 1)], &format!("{label}-{n}")).await;
                let decision = match (placed.status, placed.id()) {
                    (201 | 202, Some(id)) => {
                        // An order accepted with 202 may still be reserving: wait for the queue first.
                        let order = wait_for_reservation(target, &token, &id).await;
                        if order.body["status"] != "PENDING_PAYMENT" {
                            "not-reserved"
                        } else if roll < pay {
                            let total = order.body["total"].as_str().unwrap_or_default().to_owned();
                            if target.pay(&id, &total).await.status == 200 {
                                "paid"
                            } else {
                                "pay-refused"
                            }
                        } else if roll < pay + cancel {
                            target.api.cancel(&token, &id).await;
                            "cancelled"
                        } else {
                            "abandoned"
                        }
                    }
                    _ => "refused",
                };
                (n, placed, decision)
            }
        })
        .buffer_unordered(settings.concurrency)
        .collect()
        .await;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    let mut decisions: BTreeMap<&str, usize> = BTreeMap::new();
    let mut known: Vec<(usize, String)> = Vec::new();
    for (n, placed, decision) in &journeys {
        *by_status.entry(placed.status).or_default() += 1;
        *decisions.entry(decision).or_default() += 1;
        if let Some(id) = placed.id() {
            known.push((*n, id));
        }
    }

    if let Some(local) = &target.local {
        // Chaos ends here: the system must now settle on its own.
        local.plan.clear();
    }
    let settled = settle(target, &admin, settings.settle).await;
    let finals: Vec<(usize, Reply)> = stream::iter(known)
        .map(|(n, id)| {
            let token = target.customer(n);
            async move { (n, target.api.order(&token, &id).await) }
        })
        .buffer_unordered(settings.concurrency)
        .collect()
        .await;
    let mut final_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut lost = 0;
    let mut sold: HashMap<String, i64> = HashMap::new();
    for (_, reply) in &finals {
        let status = reply.body["status"].as_str().unwrap_or("MISSING").to_owned();
        // A paid order moves on to fulfilment by itself (PROCESSING and later): sold all the same.
        let sold_status = matches!(
            status.as_str(),
            "PAID" | "PROCESSING" | "PARTIALLY_SHIPPED" | "SHIPPED" | "DELIVERED"
        );
        if !sold_status && !matches!(status.as_str(), "CANCELLED" | "INVALID") {
            lost += 1;
        }
        if sold_status {
            for line in reply.body["items"].as_array().into_iter().flatten() {
                *sold.entry(line["product_id"].as_str().unwrap_or_default().to_owned()).or_default() +=
                    line["quantity"].as_i64().unwrap_or(0);
            }
        }
        *final_status.entry(status).or_default() += 1;
    }
    let oversold: i64 = skus
        .iter()
        .map(|sku| (sold.get(sku).copied().unwrap_or(0) - settings.stock).max(0))
        .sum();
    let mut counters = BTreeMap::new();
    for sku in &skus {
        let product = target.api.product(&admin, sku).await.body;
        counters.insert(
            sku.clone(),
            json!({"on_hand": product["on_hand"], "available": product["available"], "reserved": product["reserved"]}),
        );
    }
    Ok(json!({
        "customers": settings.customers,
        "products": settings.products,
        "stock_per_product": settings.stock,
        "placement_answers": by_status,
        "decisions": decisions,
        "settled": settled,
        "final_status": final_status,
        "units_sold": sold.values().sum::<i64>(),
        "oversold_units": oversold,
        "lost_orders": lost,
        "product_counters": counters,
    }))
}

async fn wait_for_reservation(target: &Target, token: &str, id: &str) -> Reply {
    let started = Instant::now();
    loop {
        let order = target.api.order(token, id).await;
        // Past the queue's 60 s visibility timeout: a step that failed once is tried again.
        let waiting = order.status == 503 || order.body["status"] == "PENDING_RESERVING_STOCK";
        if !waiting || started.elapsed() > Duration::from_secs(150) {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until no order is waiting for stock or payment; whether that happened in time.
async fn settle(target: &Target, admin: &str, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        let mut waiting = false;
        for status in ["PENDING_RESERVING_STOCK", "PENDING_PAYMENT"] {
            let page = target.api.list(admin, &format!("status={status}&limit=1")).await;
            waiting |= page.body["orders"].as_array().is_some_and(|orders| !orders.is_empty());
        }
        if !waiting {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

#[derive(Debug, Clone)]
pub struct HotSkuSettings {
    /// Customers per run, each placing one unit; the stock is 90 % of them.
    pub customers: usize,
    pub concurrency: usize,
    /// One run per shard count, side by side.
    pub shards: Vec<u8>,
    /// The per-item write ceiling, in WCU per second.
    pub item_wcu: u32,
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
    let admin = target.admin();
    let stock = (settings.customers * 9 / 10) as i64;
    let mut runs = Vec::new();
    let mut oversold_total = 0;
    let mut lost_total = 0;
    for (round, &shards) in settings.shards.iter().enumerate() {
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
        let writes_before = local.plan.calls("TransactWriteItems");
        let started = Instant::now();
        let answers: Vec<(usize, Reply, Option<Duration>, Option<String>)> = stream::iter(0..settings.customers)
            .map(|n| {
                let token = target.customer(round * settings.customers + n);
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
            .buffer_unordered(settings.concurrency)
            .collect()
            .await;
        let wall = started.elapsed();
        let throttled = local.plan.throttled_by_item_ceiling() - throttled_before;
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
                let token = target.customer(round * settings.customers + n);
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
        runs.push(json!({
            "stock_shards": shards,
            "customers": settings.customers,
            "stock": stock,
            "reserved": reserved,
            "sold_out": reserved as i64 == stock,
            "seconds_to_last_reservation": last_reservation.as_secs_f64(),
            "reservations_per_second": rate,
            "placement_answers": placement_answers,
            "throttled_requests": throttled,
            "transact_write_calls": transact_writes,
            "reserved_at_once_per_second": rate_at_once,
            "counters": {"on_hand": product["on_hand"], "available": product["available"], "reserved": product["reserved"]},
            "counters_after_cancelling": {"on_hand": after["on_hand"], "available": after["available"], "reserved": after["reserved"]},
            "oversold_units": oversold,
            "lost_orders": lost,
        }));
    }
    local.plan.limit_item_writes(None);
    let first = runs.first().and_then(|run| run["reservations_per_second"].as_f64()).unwrap_or(1.0);
    println!(
        "hot-sku: one product, {} customers x 1 unit for {} units, per-item ceiling {} WCU/s",
        settings.customers, stock, settings.item_wcu
    );
    println!(
        "| stock_shards | reservations/s | ratio to {} shard(s) | reserved at once (201)/s | reserved (201 + 202 finished by the queue) | throttled requests | TransactWriteItems calls | oversold | lost |",
        settings.shards.first().copied().unwrap_or(1)
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for run in &runs {
        let rate = run["reservations_per_second"].as_f64().unwrap_or(0.0);
        println!(
            "| {} | {:.0} | {:.2}x | {:.0} | {} | {} | {} | {} | {} |",
            run["stock_shards"],
            rate,
            rate / first,
            run["reserved_at_once_per_second"].as_f64().unwrap_or(0.0),
            run["reserved"],
            run["throttled_requests"],
            run["transact_write_calls"],
            run["oversold_units"],
            run["lost_orders"]
        );
    }
    Ok(json!({
        "item_wcu": settings.item_wcu,
        "runs": runs,
        "ratios_to_first": runs.iter().map(|run| run["reservations_per_second"].as_f64().unwrap_or(0.0) / first).collect::<Vec<_>>(),
        "oversold_units": oversold_total,
        "lost_orders": lost_total,
    }))
}

/// The sale with storage and queue faults on, and crashes at named points, then everything off.
pub async fn chaos(target: &Target, settings: &SaleSettings) -> Result<Value, String> {
    let local = target
        .local
        .as_ref()
        .ok_or("chaos injects faults into the service in this process: run it without --url")?;
    for (op, point, rate) in [
        ("BatchGetItem", FaultPoint::Before, 0.05),
        ("GetItem", FaultPoint::Before, 0.05),
        ("Query", FaultPoint::Before, 0.05),
        ("TransactWriteItems", FaultPoint::Before, 0.2),
        ("TransactWriteItems", FaultPoint::After, 0.05),
        ("TransactWriteItems", FaultPoint::Conflict, 0.1),
        ("SendMessage", FaultPoint::Before, 0.2),
        ("placement.after_commit", FaultPoint::Crash, 0.05),
        ("placement.before_enqueue", FaultPoint::Crash, 0.2),
        ("reserve_stock.after_commit", FaultPoint::Crash, 0.2),
        ("queue.duplicate", FaultPoint::Crash, 0.3),
    ] {
        local.plan.set_rate(op, point, rate);
    }
    let mut summary = sale(target, settings, "chaos").await?;
    summary["faults_injected"] = json!(local.plan.injected());
    Ok(summary)
}

#[derive(Debug, Clone)]
pub struct SteadySettings {
    pub users: usize,
    pub duration: Duration,
    pub seed: u64,
}

/// A realistic mix for a fixed time: browse (list, read), place, pay, cancel.
pub async fn steady(target: &Target, settings: &SteadySettings) -> Result<Value, String> {
    let admin = target.admin();
    let skus: Vec<String> = (0..20).map(|i| format!("steady-{i}")).collect();
    for (i, sku) in skus.iter().enumerate() {
        target
            .api
            .put_product(&admin, sku, &format!("{}.{:02}", 3 + i, (i * 7) % 100), 1_000_000)
            .await;
    }
    let deadline = Instant::now() + settings.duration;
    let done: Vec<usize> = stream::iter(0..settings.users)
        .map(|user| {
            let token = target.customer(user);
            let skus = &skus;
            async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(settings.seed + user as u64);
                let mut pending: Vec<(String, String)> = Vec::new();
                let mut mine: Vec<String> = Vec::new();
                let mut operations = 0;
                while Instant::now() < deadline {
                    operations += 1;
                    let roll: f64 = rng.random();
                    if roll < 0.30 {
                        let count = rng.random_range(1..=3);
                        let mut lines: Vec<(String, u32)> = Vec::new();
                        for _ in 0..count {
                            let sku = skus[rng.random_range(0..skus.len())].clone();
                            if !lines.iter().any(|(s, _)| *s == sku) {
                                lines.push((sku, rng.random_range(1..=3)));
                            }
                        }
                        let reply = target.api.place(&token, &lines, &format!("steady-{user}-{operations}")).await;
                        if let (Some(id), 201) = (reply.id(), reply.status) {
                            pending.push((id.clone(), reply.body["total"].as_str().unwrap_or_default().to_owned()));
                            mine.push(id);
                        }
                    } else if roll < 0.45 && !pending.is_empty() {
                        let (id, total) = pending.swap_remove(rng.random_range(0..pending.len()));
                        target.pay(&id, &total).await;
                    } else if roll < 0.50 && !pending.is_empty() {
                        let (id, _) = pending.swap_remove(rng.random_range(0..pending.len()));
                        target.api.cancel(&token, &id).await;
                    } else if roll < 0.75 && !mine.is_empty() {
                        target.api.order(&token, &mine[rng.random_range(0..mine.len())]).await;
                    } else {
                        target.api.list(&token, "limit=20").await;
                    }
                }
                operations
            }
        })
        .buffer_unordered(settings.users)
        .collect()
        .await;
    Ok(json!({ "users": settings.users, "seconds": settings.duration.as_secs(), "operations": done.iter().sum::<usize>() }))
}

/// Warm latency, one request at a time: place, read and list, each `samples` times, after ten
/// unrecorded calls of each.
pub async fn latency(target: &Target, samples: usize) -> Result<Value, String> {
    let admin = target.admin();
    target.api.put_product(&admin, "latency-1", "4.20", 10_000_000).await;
    let token = target.customer(0);
    let warm = target.api.unrecorded();
    let line = [("latency-1".to_owned(), 1)];
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.extend(warm.place(&token, &line, &format!("warm-{n}")).await.id());
        warm.list(&token, "limit=20").await;
    }
    for id in &ids {
        warm.order(&token, id).await;
    }
    // Side by side, one after the other: a keyed placement through the service, then the same
    // DynamoDB calls made directly (the floor), so drift in the machine hits both alike.
    let floor_against = target.local.as_ref().map(|local| {
        let tables = &local.service.deployment.tables;
        (
            local.service.clients.dynamodb.clone(),
            tables["OrdersTable"].clone(),
            tables["InventoryTable"].clone(),
        )
    });
    let order_item = match (&floor_against, ids.first()) {
        (Some((client, orders, _)), Some(id)) => client
            .get_item()
            .table_name(orders)
            .set_key(Some(keys::order_key(OrderId::parse(id).map_err(|e| e.to_string())?)))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .item
            .unwrap_or_default(),
        _ => Default::default(),
    };
    let mut placements_us = Vec::new();
    let mut floor_us = Vec::new();
    for n in 0..samples {
        let started = std::time::Instant::now();
        ids.extend(target.api.place(&token, &line, &format!("latency-{n}")).await.id());
        placements_us.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        if let Some((client, orders, inventory)) = &floor_against {
            floor_us.push(crate::bench::placement_floor(client, orders, inventory, "latency-1", &order_item).await?);
        }
    }
    for id in ids.iter().cycle().take(samples) {
        target.api.order(&token, id).await;
    }
    for _ in 0..samples {
        target.api.list(&token, "limit=20").await;
    }
    placements_us.sort_unstable();
    floor_us.sort_unstable();
    let placement_p50 = crate::stats::percentile(&placements_us, 50.0);
    let floor_p50 = crate::stats::percentile(&floor_us, 50.0);
    let floor = (!floor_us.is_empty()).then(|| {
        println!(
            "keyed placement p50 {placement_p50:.3} ms (client-side) vs the raw floor of its DynamoDB calls p50 {floor_p50:.3} ms: ratio {:.2}",
            placement_p50 / floor_p50.max(1e-9)
        );
        json!({
            "placement_p50_ms": placement_p50,
            "floor_p50_ms": floor_p50,
            "floor_p95_ms": crate::stats::percentile(&floor_us, 95.0),
            "ratio_p50": placement_p50 / floor_p50.max(1e-9),
        })
    });
    Ok(json!({ "samples_per_endpoint": samples, "unrecorded_warm_up_per_endpoint": 10, "placement_floor": floor }))
}
