//! The scenarios of many customers: a flash sale, chaos, and a steady mix.

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
                            let paid = target.pay(&id, &total).await;
                            // Money for an order that can no longer be paid is answered 200 too
                            // (Stripe must not retry it): it is kept for a refund, not paid.
                            if paid.status == 200 && paid.body["outcome"] == "paid" {
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

pub(crate) async fn wait_for_reservation(target: &Target, token: &str, id: &str) -> Reply {
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
