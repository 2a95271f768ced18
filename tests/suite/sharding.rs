//! Sharded stock: a hot product's available units spread over several items, so that a rush's
//! holds land on different items. Every invariant holds over the sum and shard by shard, a
//! shard count changed on a live product loses nothing, and the sweeper evens the shards out.

use orders_local::RunningService;
use std::time::Duration;

use orders_shared::adapters::faults::{FaultPlan, FaultPoint};
use orders_shared::handlers::QueueFunction;
use orders_shared::service::sweeper::SweepReport;
use orders_tests::sweep;
use orders_tests::{assert_invariants, counters, eventually, service, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn put_sharded(admin: &Api, sku: &str, on_hand: i64, shards: u8) -> Value {
    let body = json!({"name": "Hot", "seller_id": "seller-1", "price": "2.00", "on_hand": on_hand, "stock_shards": shards});
    let reply = admin.send(Method::PUT, &format!("/api/v1/inventory/{sku}"), Some(body), &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body
}

/// Each shard's available units, by shard number.
fn shard_available(product: &Value) -> Vec<i64> {
    product["shards"]
        .as_array()
        .map(|shards| shards.iter().map(|shard| shard["available"].as_i64().unwrap()).collect())
        .unwrap_or_default()
}

/// The units a line holds, summed over its takes (all of it when it records none).
fn taken(line: &Value) -> i64 {
    match line["stock_takes"].as_array() {
        Some(takes) => takes.iter().map(|take| take["quantity"].as_i64().unwrap()).sum(),
        None => line["quantity"].as_i64().unwrap(),
    }
}

/// Edits the quantity of an order's first line.
async fn set_quantity(customer: &Api, id: &str, quantity: u32) -> orders_tests::Reply {
    let path = format!("/api/v1/orders/{id}/items/item-1");
    customer.send(Method::PUT, &path, Some(json!({ "quantity": quantity })), &[]).await
}

async fn sweep_now(service: &RunningService) -> SweepReport {
    let report = sweep(&service.app).await.expect("the sweep runs");
    assert_eq!((report.failures, report.drift.len()), (0, 0), "{report:?}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rush_on_a_product_of_four_shards_sells_exactly_its_stock_and_the_sweeper_evens_the_shards_out() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    let product = put_sharded(&admin, "hot", 40, 4).await;
    assert_eq!(product["stock_shards"], 4);
    assert_eq!(counters(&product), (40, 40, 0));
    assert_eq!(shard_available(&product), [10, 10, 10, 10]);

    // 25 customers at once ask for 2 each: exactly 20 are served, from whichever shards.
    let rush = (0..25).map(|n| {
        let customer = Api::customer(&service, &format!("rush-{n}"));
        async move { customer.place(&[("hot", 2)], None).await }
    });
    let replies = futures::future::join_all(rush).await;
    let reserved: Vec<&Value> = replies
        .iter()
        .filter(|reply| reply.status == StatusCode::CREATED)
        .map(|reply| &reply.body)
        .collect();
    let refused = replies.iter().filter(|reply| reply.status == StatusCode::CONFLICT).count();
    assert_eq!((reserved.len(), refused), (20, 5), "{replies:?}");
    assert!(replies
        .iter()
        .filter(|reply| reply.status == StatusCode::CONFLICT)
        .all(|reply| reply.code() == "OUT_OF_STOCK"));
    for order in &reserved {
        assert_eq!(taken(&order["items"][0]), 2, "{order}");
    }
    let product = admin.product("hot").await;
    assert_eq!(counters(&product), (40, 0, 40));
    assert_eq!(shard_available(&product), [0, 0, 0, 0]);
    assert_invariants(&service).await;

    // Six are cancelled (their units go back to the shards they came from), four are paid.
    let ids: Vec<String> = reserved.iter().map(|order| order["id"].as_str().unwrap().to_owned()).collect();
    for (n, id) in ids.iter().take(6).enumerate() {
        let owner = Api::customer(&service, reserved[n]["user_id"].as_str().unwrap());
        assert_eq!(owner.cancel(id).await.status, StatusCode::OK);
    }
    for (id, order) in ids.iter().zip(&reserved).skip(6).take(4) {
        let paid = Api::payments(&service)
            .confirm(id, &format!("pay-{id}"), order["total"].as_str().unwrap())
            .await;
        assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
    }
    assert_eq!(counters(&admin.product("hot").await), (32, 12, 20));
    assert_invariants(&service).await;

    // The sweeper evens the free units out: 12 over 4 shards is 3 each.
    sweep_now(&service).await;
    let product = admin.product("hot").await;
    assert_eq!(counters(&product), (32, 12, 20));
    assert_eq!(shard_available(&product), [3, 3, 3, 3]);
    assert_eq!(sweep_now(&service).await.rebalanced_units, 0, "even already");

    // No shard holds 7: the line takes from several, in the one transaction.
    let bob = Api::customer(&service, "bob");
    let big = bob.place(&[("hot", 7)], None).await;
    assert_eq!(big.status, StatusCode::CREATED, "{big:?}");
    let takes = big.body["items"][0]["stock_takes"].as_array().unwrap().clone();
    assert!(takes.len() >= 3, "{takes:?}");
    assert_eq!(taken(&big.body["items"][0]), 7);
    assert_eq!(counters(&admin.product("hot").await), (32, 5, 27));

    // More than all shards hold together is refused, with what they hold together.
    let greedy = bob.place(&[("hot", 6)], None).await;
    assert_eq!((greedy.status, greedy.code()), (StatusCode::CONFLICT, "OUT_OF_STOCK"), "{greedy:?}");
    assert_eq!(greedy.body["lines"][0]["available"], 5);

    // Taking units out takes them from several shards; more than all of them hold is refused.
    let adjust = |delta: i64| {
        admin.send(
            Method::POST,
            "/api/v1/inventory/hot/adjustments",
            Some(json!({"delta": delta, "reason": "damaged"})),
            &[],
        )
    };
    let out = adjust(-4).await;
    assert_eq!(out.status, StatusCode::OK, "{out:?}");
    assert_eq!(counters(&out.body), (28, 1, 27));
    let too_many = adjust(-2).await;
    assert_eq!((too_many.status, too_many.code()), (StatusCode::CONFLICT, "NOT_ENOUGH_AVAILABLE"));
    assert_eq!(too_many.body["available"], 1);
    assert_eq!(adjust(3).await.status, StatusCode::OK);
    assert_eq!(counters(&admin.product("hot").await), (31, 4, 27));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_shard_count_of_a_live_product_loses_nothing_held_or_free() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    put_sharded(&admin, "live", 12, 4).await;
    let alice = Api::customer(&service, "alice");
    // Every unit held, then one order's worth freed: the shards past 2 hold 6 units, at most 3
    // of them free, so at least one of them still holds units when the count goes down to 2.
    let mut held: Vec<(String, String)> = futures::future::join_all((0..4).map(|_| alice.reserved_order(&[("live", 3)]))).await;
    assert_eq!(counters(&admin.product("live").await), (12, 0, 12));
    let (freed, _) = held.pop().unwrap();
    assert_eq!(alice.cancel(&freed).await.status, StatusCode::OK);
    assert_eq!(counters(&admin.product("live").await), (12, 3, 9));

    // Down to 2 shards: the free units move to shards 0 and 1; shards past them keep their holds.
    let product = put_sharded(&admin, "live", 12, 2).await;
    assert_eq!(product["stock_shards"], 2);
    assert_eq!(counters(&product), (12, 3, 9));
    let shards = product["shards"].as_array().unwrap();
    // Shard items stay numbered 0..n: the last one kept is the last that holds anything.
    let draining: Vec<&Value> = shards.iter().filter(|shard| shard["shard"].as_u64().unwrap() >= 2).collect();
    assert!(
        draining
            .iter()
            .all(|shard| shard["available"] == 0 && shard["on_hand"] == shard["reserved"]),
        "{product}"
    );
    assert!(
        draining.last().is_some_and(|last| last["reserved"].as_i64().unwrap() > 0),
        "{product}"
    );
    assert_invariants(&service).await;

    // Holds on draining shards settle there: one paid, one cancelled, one edited down.
    let (paid, total) = &held[0];
    assert_eq!(
        Api::payments(&service).confirm(paid, "pay-live", total).await.status,
        StatusCode::OK
    );
    assert_eq!(alice.cancel(&held[1].0).await.status, StatusCode::OK);
    let edited = set_quantity(&alice, &held[2].0, 1).await;
    assert_eq!(edited.status, StatusCode::OK, "{edited:?}");
    assert_eq!(taken(&edited.body["items"][0]), 1);
    assert_eq!(counters(&admin.product("live").await), (9, 8, 1));
    assert_invariants(&service).await;

    // The sweeper empties the draining shards, then removes them.
    sweep_now(&service).await;
    sweep_now(&service).await;
    let product = admin.product("live").await;
    assert_eq!(counters(&product), (9, 8, 1));
    let free = shard_available(&product);
    assert_eq!(free.iter().skip(2).sum::<i64>(), 0, "{product}");
    assert_eq!(free.iter().take(2).sum::<i64>(), 8, "{product}");

    // Edited up again: the extra unit is held too, and the sums still hold.
    let more = set_quantity(&alice, &held[2].0, 4).await;
    assert_eq!(more.status, StatusCode::OK, "{more:?}");
    assert_eq!(taken(&more.body["items"][0]), 4);
    assert_eq!(counters(&admin.product("live").await), (9, 5, 4));

    // Back to one item: every free unit returns to the product's own item.
    // Nothing held any more: the sweeper moves the draining shards' units and removes them.
    assert_eq!(alice.cancel(&held[2].0).await.status, StatusCode::OK);
    sweep_now(&service).await;
    sweep_now(&service).await;
    let product = admin.product("live").await;
    assert_eq!(counters(&product), (9, 9, 0));
    assert_eq!(shard_available(&product).len(), 2, "{product}");
    let product = put_sharded(&admin, "live", 9, 1).await;
    assert_eq!(product["stock_shards"], 1);
    assert_eq!(counters(&product), (9, 9, 0));
    assert!(product.get("shards").is_none(), "{product}");
    let all = alice.place(&[("live", 9)], None).await;
    assert_eq!(all.status, StatusCode::CREATED, "{all:?}");
    assert!(all.body["items"][0].get("stock_takes").is_none());
    assert_eq!(counters(&admin.product("live").await), (9, 0, 9));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_the_queue_finishes_holds_from_shards_planned_again_or_becomes_invalid() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    put_sharded(&admin, "hot", 8, 4).await;
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
    let alice = Api::customer(&service, "alice");
    let accepted = alice.place(&[("hot", 2)], None).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    // Meanwhile the rush takes 6 of the 8, from whichever shards: alice's planned shard may be empty.
    let bob = Api::customer(&service, "bob");
    for _ in 0..3 {
        assert_eq!(bob.place(&[("hot", 2)], None).await.status, StatusCode::CREATED);
    }
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
    let carol = Api::customer(&service, "carol");
    let also_waiting = carol.place(&[("hot", 2)], None).await;
    assert_eq!(also_waiting.status, StatusCode::ACCEPTED, "{also_waiting:?}");

    // The step plans both afresh: whichever it takes first gets the last 2 units, from
    // whichever shards hold them; the other finds none left.
    let poller = service.poller(QueueFunction::ReserveStock).unwrap();
    let mut handled = 0;
    eventually(Duration::from_secs(20), || {
        let poller = &poller;
        async move {
            handled += poller.poll_once().await.unwrap();
            (handled >= 2).then_some(())
        }
    })
    .await;
    let mut outcomes = [
        alice.order(accepted.body["id"].as_str().unwrap()).await.body,
        carol.order(also_waiting.body["id"].as_str().unwrap()).await.body,
    ];
    outcomes.sort_by_key(|order| order["status"].as_str().unwrap().to_owned());
    let [invalid, reserved] = [&outcomes[0], &outcomes[1]];
    assert_eq!(
        (invalid["status"].as_str(), reserved["status"].as_str()),
        (Some("INVALID"), Some("PENDING_PAYMENT"))
    );
    assert_eq!(taken(&reserved["items"][0]), 2);
    assert_eq!(invalid["problems"][0]["code"], "OUT_OF_STOCK");
    assert_eq!(invalid["problems"][0]["available"], 0, "what all shards hold together");
    assert_eq!(counters(&admin.product("hot").await), (8, 0, 8));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_and_stock_edits_of_a_hot_product_succeed_while_customers_buy_it() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    put_sharded(&admin, "hot", 1_000, 4).await;
    let buying = std::sync::atomic::AtomicBool::new(true);
    let customers = futures::future::join_all((0..12).map(|n| {
        let (service, buying) = (&service, &buying);
        async move {
            let customer = Api::customer(service, &format!("buyer-{n}"));
            let mut placed = 0;
            // A bounded rush (the edits usually end first): enough to race every edit.
            for _ in 0..25 {
                if !buying.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let reply = customer.place(&[("hot", 1)], None).await;
                assert!([StatusCode::CREATED, StatusCode::CONFLICT].contains(&reply.status), "{reply:?}");
                placed += usize::from(reply.status == StatusCode::CREATED);
            }
            placed
        }
    }));
    let edits = async {
        let mut answers = Vec::new();
        // Prices and stock, up and down, as a shop changes them during a sale.
        for (price, on_hand) in [
            ("2.10", 1_000),
            ("2.10", 1_050),
            ("1.90", 1_050),
            ("1.90", 1_020),
            ("2.00", 1_100),
            ("2.05", 1_090),
        ] {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let body = json!({"name": "Hot", "seller_id": "seller-1", "price": price, "on_hand": on_hand, "stock_shards": 4});
            let reply = admin.send(Method::PUT, "/api/v1/inventory/hot", Some(body), &[]).await;
            answers.push((reply.status, reply.body["price"].clone(), reply.body["on_hand"].clone()));
        }
        buying.store(false, std::sync::atomic::Ordering::Relaxed);
        answers
    };
    let (sold, answers) = tokio::join!(customers, edits);
    for (status, price, on_hand) in &answers {
        assert_eq!(*status, StatusCode::OK, "{answers:?}");
        assert!(price.is_string() && on_hand.is_i64(), "{answers:?}");
    }
    let sold: usize = sold.into_iter().sum();
    assert!(sold > 0, "the rush bought while the edits went through");
    let product = admin.product("hot").await;
    assert_eq!(product["price"], "2.05");
    // Every unit the rush holds is still held, on top of the last stock the shop set.
    assert_eq!(counters(&product), (1_090, 1_090 - sold as i64, sold as i64), "{product}");
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_throttled_on_its_shard_moves_on_to_the_next_shard_instead_of_waiting_for_the_queue() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    // Enough for every pair tried, counted or not: 20 units a shard.
    put_sharded(&admin, "hot", 40, 2).await;
    let alice = Api::customer(&service, "alice");
    // The first placement of an instance also claims a block of order numbers.
    assert_eq!(alice.place(&[("hot", 1)], None).await.status, StatusCode::CREATED);

    // One hold a second per item (a hold is a transactional write: 2 units). Two placements in
    // the same second: when the second one's random shard is the first one's, it is throttled
    // there, and its retry takes the other shard at once.
    plan.limit_item_writes(Some(2));
    let second = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let mut pairs_in_one_second = 0;
    // Many tries: on a machine busy with the rest of the suite a pair often spans two seconds.
    for _ in 0..30 {
        // Read before the second starts, so that only the two placements must fit in it.
        let before = shard_available(&admin.product("hot").await);
        tokio::time::sleep(Duration::from_millis(
            1000 - u64::from(chrono::Utc::now().timestamp_subsec_millis()),
        ))
        .await;
        let started = second();
        let first = alice.place(&[("hot", 1)], None).await;
        let next = alice.place(&[("hot", 1)], None).await;
        if second() != started {
            continue;
        }
        pairs_in_one_second += 1;
        assert_eq!((first.status, next.status), (StatusCode::CREATED, StatusCode::CREATED), "{next:?}");
        let after = shard_available(&admin.product("hot").await);
        assert_eq!(
            before.iter().zip(&after).map(|(before, after)| before - after).collect::<Vec<_>>(),
            [1, 1],
            "one unit from each shard"
        );
        if pairs_in_one_second == 3 {
            break;
        }
    }
    assert!(
        pairs_in_one_second >= 1,
        "the machine is too slow to place two orders within a second"
    );
    plan.limit_item_writes(None);
    assert_invariants(&service).await;
}
