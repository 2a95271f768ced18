//! Warm latency of each endpoint, one request at a time, beside the raw floor of its storage calls.

use orders_shared::adapters::dynamo::keys;
use orders_shared::domain::OrderId;

use serde_json::{json, Value};

use crate::target::Target;

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
