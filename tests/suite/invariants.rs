//! A property test: random interleavings of placing, paying, cancelling, the clock moving, the
//! sweeper running (and rebalancing) and an admin changing a product's shard count, over a few
//! products (one unsharded, two sharded), keep the stock invariants after every step, over the
//! sums and shard by shard.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use orders_local::RunningService;
use orders_shared::domain::stock::StockShards;
use orders_shared::domain::{Actor, Money, OrderId, PaymentReference, PlaceOrder, ProductUpdate, SellerId, Sku, UserId};
use orders_shared::ports::{Clock, ManualClock};
use orders_shared::service::actions::{cancel_order, confirm_payment, Access, ActionError, CancelReason};
use orders_shared::service::placement::{place_order, PlaceError, Placed};
use orders_shared::service::sweeper::units_held;
use orders_tests::sweep;
use orders_tests::{service, Setup};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::json;

const PRODUCTS: [&str; 3] = ["p0", "p1", "p2"];
const STOCK: i64 = 6;

#[derive(Debug, Clone)]
enum Op {
    /// Quantities of p0, p1, p2 (0 leaves the product out).
    Place(u8, [u32; 3]),
    Confirm(usize),
    Cancel(usize),
    Advance(i64),
    Sweep,
    /// An admin sets p1's `stock_shards` (its `on_hand` unchanged).
    Reshard(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..4, [0u32..3, 0u32..3, 0u32..3]).prop_map(|(user, lines)| Op::Place(user, lines)),
        3 => any::<usize>().prop_map(Op::Confirm),
        2 => any::<usize>().prop_map(Op::Cancel),
        2 => (60i64..1200).prop_map(Op::Advance),
        2 => Just(Op::Sweep),
        1 => (1u8..5).prop_map(Op::Reshard),
    ]
}

struct Model {
    placed: Vec<OrderId>,
    /// Units each product sold to orders that were paid.
    sold: BTreeMap<String, i64>,
    paid: HashSet<OrderId>,
}

async fn apply(service: &RunningService, clock: &ManualClock, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let app = &service.app;
    let system = Actor::system("proptest");
    match op {
        Op::Place(user, quantities) => {
            let items: Vec<_> = PRODUCTS
                .iter()
                .zip(quantities)
                .filter(|(_, q)| **q > 0)
                .map(|(sku, q)| json!({"product_id": sku, "quantity": q}))
                .collect();
            if items.is_empty() {
                return Ok(());
            }
            let request = PlaceOrder::from_json(&json!({ "items": items })).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let user = UserId::parse(&format!("u{user}")).unwrap();
            match place_order(app.placing(), &user, &request, None).await {
                Ok(placement) => {
                    if let Placed::Reserved(order) = placement.placed {
                        model.placed.push(order.id);
                    }
                }
                Err(
                    err @ (PlaceError::Store(_)
                    | PlaceError::Unavailable(_)
                    | PlaceError::Inconsistent(_)
                    | PlaceError::KeyReused
                    | PlaceError::TooLarge(_)
                    | PlaceError::PricesKeptChanging
                    | PlaceError::PriceChanged(_)
                    | PlaceError::Crashed(_)),
                ) => return Err(TestCaseError::fail(format!("placing failed: {err}"))),
            }
        }
        Op::Confirm(pick) if !model.placed.is_empty() => {
            let id = model.placed[pick % model.placed.len()];
            let order = app
                .orders
                .get_order(id)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .unwrap();
            let reference = PaymentReference::parse(&format!("pay-{id}")).unwrap();
            match confirm_payment(app.order_changes(), id, Access::Anyone, &reference, order.totals.total, &system).await {
                Ok(_) if model.paid.insert(id) => {
                    for line in &order.items {
                        *model.sold.entry(line.product_id.to_string()).or_default() += i64::from(line.quantity.get());
                    }
                }
                Ok(_) | Err(ActionError::Payment(_)) => {}
                Err(err) => return Err(TestCaseError::fail(format!("confirm failed: {err}"))),
            }
        }
        Op::Cancel(pick) if !model.placed.is_empty() => {
            let id = model.placed[pick % model.placed.len()];
            match cancel_order(app.order_changes(), id, Access::Anyone, &system, CancelReason::Requested(None)).await {
                // A paid order cancelled before it ships puts its sold units back, once.
                Ok((order, true)) if order.payment.is_some() => {
                    for line in &order.items {
                        *model.sold.entry(line.product_id.to_string()).or_default() -= i64::from(line.quantity.get());
                    }
                }
                Ok(_) | Err(ActionError::NotCancellable(_)) => {}
                Err(err) => return Err(TestCaseError::fail(format!("cancel failed: {err}"))),
            }
        }
        Op::Advance(seconds) => clock.advance(chrono::Duration::seconds(*seconds)),
        Op::Sweep => {
            let report = sweep(app).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(report.drift.is_empty(), "the sweeper saw drift: {:?}", report.drift);
            prop_assert_eq!(report.failures, 0);
        }
        Op::Reshard(shards) => {
            let sku = Sku::parse(PRODUCTS[1]).unwrap();
            let update = ProductUpdate {
                stock_shards: Some(StockShards::new(*shards).unwrap()),
                ..product_update(PRODUCTS[1], STOCK - model.sold.get(PRODUCTS[1]).copied().unwrap_or(0))
            };
            let product = app
                .catalogue
                .put_product(&update, None, &system, clock.now())
                .await
                .map_err(|e| TestCaseError::fail(format!("resharding {sku}: {e}")))?;
            prop_assert_eq!(product.stock_shards.get(), *shards);
        }
        Op::Confirm(_) | Op::Cancel(_) => {}
    }
    Ok(())
}

async fn check(service: &RunningService, model: &Model, after: &Op) -> Result<(), TestCaseError> {
    let app = &service.app;
    let skus: Vec<Sku> = PRODUCTS.iter().map(|p| Sku::parse(p).unwrap()).collect();
    let products = app
        .catalogue
        .get_products(&skus)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let active = app
        .reservations
        .active_reservations(None, usize::MAX)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let held = units_held(&active);
    for sku in &skus {
        let p = &products[sku];
        let sold = model.sold.get(sku.as_str()).copied().unwrap_or(0);
        prop_assert_eq!(p.on_hand, p.available + p.reserved, "{} after {:?}", sku, after);
        prop_assert!(p.available >= 0 && p.reserved >= 0, "{} negative after {:?}", sku, after);
        prop_assert_eq!(
            p.reserved,
            held.get(sku).copied().unwrap_or(0),
            "{} reserved vs reservations after {:?}",
            sku,
            after
        );
        prop_assert_eq!(p.on_hand, STOCK - sold, "{} sold units after {:?}", sku, after);
        for shard in &p.shards {
            prop_assert_eq!(
                shard.on_hand,
                shard.available + shard.reserved,
                "{} shard {} after {:?}",
                sku,
                shard.shard,
                after
            );
            prop_assert!(
                shard.available >= 0 && shard.reserved >= 0,
                "{} shard {} negative after {:?}",
                sku,
                shard.shard,
                after
            );
            let held_here: i64 = active
                .iter()
                .flat_map(|r| r.lines.iter().filter(|line| &line.product_id == sku))
                .flat_map(|line| line.takes())
                .filter(|take| take.shard == shard.shard)
                .map(|take| i64::from(take.quantity.get()))
                .sum();
            prop_assert_eq!(
                shard.reserved,
                held_here,
                "{} shard {} reserved vs takes after {:?}",
                sku,
                shard.shard,
                after
            );
        }
    }
    Ok(())
}

fn product_update(sku: &str, on_hand: i64) -> ProductUpdate {
    ProductUpdate {
        product_id: Sku::parse(sku).unwrap(),
        name: sku.to_owned(),
        seller_id: SellerId::parse("s").unwrap(),
        price: Money::parse("1.50").unwrap(),
        description: None,
        image_url: None,
        on_hand,
        stock_shards: None,
    }
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(Setup {
        clock: Some(Arc::new(clock.clone())),
        poll_queues: false,
        ..Setup::default()
    })
    .await;
    // p0 is one item; p1 starts on 3 shards, p2 on 2.
    for (sku, shards) in PRODUCTS.iter().zip([1u8, 3, 2]) {
        let update = ProductUpdate {
            stock_shards: Some(StockShards::new(shards).unwrap()),
            ..product_update(sku, STOCK)
        };
        service
            .app
            .catalogue
            .put_product(&update, None, &orders_shared::domain::Actor::system("test"), clock.now())
            .await
            .map_err(|e| TestCaseError::fail(orders_shared::error_chain(&e)))?;
    }
    let mut model = Model {
        placed: Vec::new(),
        sold: BTreeMap::new(),
        paid: HashSet::new(),
    };
    for op in &ops {
        apply(&service, &clock, &mut model, op).await?;
        check(&service, &model, op).await?;
    }
    Ok(())
}

#[test]
fn stock_is_conserved_under_random_interleavings() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = ProptestConfig {
        cases: 16,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in prop::collection::vec(op(), 1..30))| {
        runtime.block_on(run(ops))?;
    });
}
