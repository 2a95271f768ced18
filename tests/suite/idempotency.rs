use std::sync::Arc;

use futures::future::join_all;
use orders_shared::adapters::faults::FaultPlan;
use orders_shared::ports::ManualClock;
use orders_tests::{assert_invariants, counters, service, Api, Setup};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_request_with_its_key_returns_the_same_order_once() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");

    let first = alice.place(&[("mug", 2)], Some("checkout-7")).await;
    let again = alice.place(&[("mug", 2)], Some("checkout-7")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_with_a_different_body_is_refused() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");

    alice.place(&[("mug", 2)], Some("k")).await;
    let changed = alice.place(&[("mug", 3)], Some("k")).await;
    assert_eq!(changed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(changed.code(), "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_belong_to_their_user() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice").place(&[("mug", 1)], Some("same")).await;
    let bob = Api::customer(&service, "bob").place(&[("mug", 1)], Some("same")).await;
    assert_eq!(bob.status, StatusCode::CREATED);
    assert_ne!(alice.body["id"], bob.body["id"]);
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_create_one_order_and_one_reservation() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 100).await;
    let alice = Api::customer(&service, "alice");

    let replies = join_all((0..10).map(|_| alice.place(&[("mug", 3)], Some("double-click")))).await;
    assert!(replies.iter().all(|r| r.status == StatusCode::CREATED), "{replies:?}");
    let first = &replies[0].body["id"];
    assert!(replies.iter().all(|r| &r.body["id"] == first));
    assert_eq!(counters(&admin.product("mug").await), (100, 97, 3));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_refusal_is_the_same_refusal() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("rare", "5.00", 1).await;
    let alice = Api::customer(&service, "alice");
    let first = alice.place(&[("rare", 2)], Some("k1")).await;
    let again = alice.place(&[("rare", 2)], Some("k1")).await;
    assert_eq!(first.status, StatusCode::CONFLICT);
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["order_id"], first.body["order_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_lines_in_another_order_are_a_replay_not_a_different_request() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    admin.put_product("tea", "3.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let first = alice.place(&[("mug", 1), ("tea", 2)], Some("k")).await;
    let reordered = alice.place(&[("tea", 2), ("mug", 1)], Some("k")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(reordered.status, StatusCode::CREATED, "{reordered:?}");
    assert_eq!(reordered.body["id"], first.body["id"]);
    assert_eq!(reordered.headers["idempotent-replayed"], "true");
    assert_eq!(counters(&admin.product("tea").await), (10, 8, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_free_again_the_moment_it_expires_even_within_its_last_second() {
    // Placed at .600 of a second; 24 hours and 0.1 s later the key has expired, within the
    // same whole second as its `ttl`: the lookup and the write must agree that it is free.
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-24T10:00:00.600Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = ManualClock::new(start);
    let service = service(Setup {
        clock: Some(Arc::new(clock.clone())),
        ..Setup::default()
    })
    .await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let first = alice.place(&[("mug", 1)], Some("daily")).await;
    assert_eq!(first.status, StatusCode::CREATED);

    clock.advance(chrono::Duration::hours(24) + chrono::Duration::milliseconds(100));
    let next_day = alice.place(&[("mug", 1)], Some("daily")).await;
    assert_eq!(next_day.status, StatusCode::CREATED, "{next_day:?}");
    assert_ne!(next_day.body["id"], first.body["id"], "an expired key starts a new order");
    assert!(next_day.headers.get("idempotent-replayed").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyed_placement_costs_one_batch_read_and_one_transaction_and_only_a_replay_reads_the_key() {
    // A plan with no faults: the fault client only counts what each path sends. No stream or
    // queue consumer runs, so none of their calls (the movements the holds cause) is counted.
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let ops = ["GetItem", "BatchGetItem", "TransactWriteItems", "Query", "PutItem"];
    let snapshot = || ops.map(|op| plan.calls(op));
    let delta = |before: [u64; 5], after: [u64; 5]| -> Vec<u64> { after.iter().zip(before).map(|(a, b)| a - b).collect() };

    // A first placement warms the instance's read of the sellers' shipping fees.
    assert_eq!(alice.place(&[("mug", 1)], None).await.status, StatusCode::CREATED);

    let before = snapshot();
    let placed = alice.place(&[("mug", 2)], Some("once")).await;
    assert_eq!(placed.status, StatusCode::CREATED);
    assert_eq!(
        delta(before, snapshot()),
        [0, 1, 1, 0, 0],
        "GetItem, BatchGetItem, TransactWriteItems, Query, PutItem"
    );

    let before = snapshot();
    let replayed = alice.place(&[("mug", 2)], Some("once")).await;
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    // The replay loses on the key in the transaction, then reads the key's record and the order.
    assert_eq!(delta(before, snapshot()), [1, 1, 1, 1, 0]);
    assert_eq!(counters(&admin.product("mug").await), (10, 7, 3), "held once");
}
