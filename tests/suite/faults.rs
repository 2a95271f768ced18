//! Transient faults injected into the storage and queue calls end in PENDING_PAYMENT, through
//! the retry or the SQS step, and never in a double reservation.

use std::time::Duration;

use futures::future::join_all;
use orders_shared::adapters::faults::{FaultPlan, FaultPoint};
use orders_shared::domain::OrderId;
use orders_shared::handlers::QueueFunction;
use orders_tests::{assert_invariants, counters, eventually, service, timeline, Api, Setup};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_before_the_write_are_retried_inline() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, true)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    plan.fail_next("BatchGetItem", FaultPoint::Before, 2);
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 3);

    let placed = Api::customer(&service, "alice").place(&[("mug", 2)], None).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    assert_eq!(plan.injected(), 5);
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistently_throttled_call_is_tried_only_as_often_as_the_sdk_is_configured_to() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let placed = alice.place(&[("mug", 1)], None).await;
    let id = placed.body["id"].as_str().unwrap().to_owned();

    // A read: the SDK's four tries (STORAGE_ATTEMPTS in the test setup), then 503; nothing
    // retries on top of the SDK.
    plan.set_rate("Query", FaultPoint::Before, 1.0);
    let read = alice.order(&id).await;
    assert_eq!(read.status, StatusCode::SERVICE_UNAVAILABLE, "{read:?}");
    assert_eq!(read.headers["retry-after"], "1");
    assert_eq!(plan.injected(), 4);
    plan.clear();

    // A placement: four tries of the reserving transaction, then four of the write that would
    // park the order for the queue; then 503 with nothing written.
    plan.set_rate("TransactWriteItems", FaultPoint::Before, 1.0);
    let refused = alice.place(&[("mug", 1)], None).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{refused:?}");
    assert_eq!(plan.injected() - 4, 4 + 4);
    plan.clear();
    assert_eq!(counters(&admin.product("mug").await), (10, 9, 1));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_cancelled_by_a_conflict_is_tried_again_by_the_service() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    // The SDK does not retry a cancelled transaction; the placement's contention retry does.
    plan.fail_next("TransactWriteItems", FaultPoint::Conflict, 2);
    let placed = Api::customer(&service, "alice").place(&[("mug", 2)], Some("k")).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    assert_eq!(plan.injected(), 2);
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2));

    // Paying races a conflict too, and still pays once.
    plan.fail_next("TransactWriteItems", FaultPoint::Conflict, 1);
    let id = placed.body["id"].as_str().unwrap();
    let paid = admin.confirm(id, "p-1", placed.body["total"].as_str().unwrap()).await;
    assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
    assert_eq!(counters(&admin.product("mug").await), (8, 8, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_took_effect_but_lost_its_answer_is_not_applied_twice() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, true)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    plan.fail_next("TransactWriteItems", FaultPoint::After, 1);

    let alice = Api::customer(&service, "alice");
    let placed = alice.place(&[("mug", 2)], Some("once")).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{placed:?}");
    assert_eq!(placed.body["status"], "PENDING_PAYMENT");
    assert_eq!(plan.injected(), 1);
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2));
    assert_eq!(alice.get("/api/v1/orders").await.body["orders"].as_array().unwrap().len(), 1);
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_retries_run_out_the_queue_finishes_the_reservation() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    // Every try the SDK makes fails; the write that parks the order succeeds.
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);

    let alice = Api::customer(&service, "alice");
    let accepted = alice.place(&[("mug", 3)], None).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    assert_eq!(accepted.body["status"], "PENDING_RESERVING_STOCK");
    assert!(accepted.body["payment_due_at"].is_null());
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));

    let poller = service
        .poller(QueueFunction::ReserveStock)
        .expect("the template wires reserve-stock to a queue");
    // The first delivery hits a storage fault on every try and comes back; the second one reserves.
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
    assert_eq!(poller.poll_once().await.unwrap(), 1);
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));
    let delivered = eventually(Duration::from_secs(10), || async {
        (poller.poll_once().await.unwrap() > 0).then_some(())
    })
    .await;
    assert_eq!(delivered, ());

    let order = alice.order(accepted.body["id"].as_str().unwrap()).await;
    assert_eq!(order.body["status"], "PENDING_PAYMENT");
    let timeline = timeline(&order.body);
    assert_eq!(timeline, ["CREATED", "PENDING_RESERVING_STOCK", "PENDING_PAYMENT"]);
    assert_eq!(counters(&admin.product("mug").await), (10, 7, 3));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_saga_message_changes_nothing() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
    let accepted = Api::customer(&service, "alice").place(&[("mug", 4)], None).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    let order_id = OrderId::parse(accepted.body["id"].as_str().unwrap()).unwrap();
    // The same step, delivered twice more by hand: as SQS may.
    service.app.saga.request_reservation(order_id).await.unwrap();
    service.app.saga.request_reservation(order_id).await.unwrap();

    let poller = service.poller(QueueFunction::ReserveStock).unwrap();
    let mut handled = 0;
    while handled < 3 {
        handled += poller.poll_once().await.unwrap();
    }
    assert_eq!(counters(&admin.product("mug").await), (10, 6, 4));
    let order = admin.order(&order_id.to_string()).await;
    assert_eq!(order.body["status_history"].as_array().unwrap().len(), 3);
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_the_queue_finds_short_of_stock_becomes_invalid() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 2).await;
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
    let accepted = Api::customer(&service, "alice").place(&[("mug", 2)], None).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    // Meanwhile someone else takes the stock.
    assert_eq!(
        Api::customer(&service, "bob").place(&[("mug", 1)], None).await.status,
        StatusCode::CREATED
    );

    let poller = service.poller(QueueFunction::ReserveStock).unwrap();
    eventually(Duration::from_secs(10), || async {
        (poller.poll_once().await.unwrap() > 0).then_some(())
    })
    .await;
    let order = admin.order(accepted.body["id"].as_str().unwrap()).await;
    assert_eq!(order.body["status"], "INVALID");
    assert_eq!(order.body["problems"][0]["code"], "OUT_OF_STOCK");
    assert_eq!(counters(&admin.product("mug").await), (2, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_under_random_faults_sells_exactly_the_stock() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, true)).await;
    let admin = Api::admin(&service);
    admin.put_product("hot", "19.99", 10).await;
    for (op, point, rate) in [
        ("BatchGetItem", FaultPoint::Before, 0.1),
        ("TransactWriteItems", FaultPoint::Before, 0.3),
        ("TransactWriteItems", FaultPoint::After, 0.1),
        ("TransactWriteItems", FaultPoint::Conflict, 0.1),
    ] {
        plan.set_rate(op, point, rate);
    }
    let customers: Vec<Api> = (0..30).map(|n| Api::customer(&service, &format!("buyer-{n}"))).collect();

    let replies = join_all(
        customers
            .iter()
            .enumerate()
            .map(|(n, c)| async move { c.place(&[("hot", 1)], Some(&format!("k{n}"))).await }),
    )
    .await;
    assert!(
        replies.iter().all(|r| [
            StatusCode::CREATED,
            StatusCode::ACCEPTED,
            StatusCode::CONFLICT,
            StatusCode::SERVICE_UNAVAILABLE
        ]
        .contains(&r.status)),
        "{replies:?}"
    );
    // A client retries a 503 with its key, as the problem tells it to.
    for (n, reply) in replies.iter().enumerate() {
        let mut status = reply.status;
        for _ in 0..5 {
            if status != StatusCode::SERVICE_UNAVAILABLE {
                break;
            }
            status = customers[n].place(&[("hot", 1)], Some(&format!("k{n}"))).await.status;
        }
    }
    plan.clear();
    let statuses: Vec<String> = eventually(Duration::from_secs(30), || async {
        let orders = admin.get("/api/v1/orders?limit=100").await.body["orders"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let statuses: Vec<String> = orders
            .iter()
            .map(|o: &Value| o["status"].as_str().unwrap_or_default().to_owned())
            .collect();
        (statuses.len() == 30 && !statuses.iter().any(|s| s == "PENDING_RESERVING_STOCK")).then_some(statuses)
    })
    .await;
    assert_eq!(statuses.iter().filter(|s| *s == "PENDING_PAYMENT").count(), 10);
    assert_eq!(statuses.iter().filter(|s| *s == "INVALID").count(), 20);
    assert_eq!(counters(&admin.product("hot").await), (10, 0, 10));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_reserving_is_answered_by_the_clients_retry_with_the_same_order() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, true)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    plan.fail_next("placement.after_commit", FaultPoint::Crash, 1);

    let alice = Api::customer(&service, "alice");
    let crashed = alice.place(&[("mug", 2)], Some("retry-me")).await;
    assert_eq!(crashed.status, StatusCode::BAD_GATEWAY, "{crashed:?}");
    assert_eq!(crashed.body["message"], "Internal Server Error");
    let retried = alice.place(&[("mug", 2)], Some("retry-me")).await;
    assert_eq!(retried.status, StatusCode::CREATED);
    assert_eq!(retried.headers["idempotent-replayed"], "true");
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2));
    assert_eq!(alice.get("/api/v1/orders").await.body["orders"].as_array().unwrap().len(), 1);
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_reordered_deliveries_reserve_once() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
        let accepted = Api::customer(&service, &format!("c{n}")).place(&[("mug", 2)], None).await;
        assert_eq!(accepted.status, StatusCode::ACCEPTED);
        ids.push(accepted.body["id"].as_str().unwrap().to_owned());
    }
    // Every batch is delivered twice, the second time in reverse order, and the consumer
    // crashes after some of its writes.
    plan.set_rate("queue.duplicate", FaultPoint::Crash, 1.0);
    plan.fail_next("reserve_stock.after_commit", FaultPoint::Crash, 2);
    let poller = service.poller(QueueFunction::ReserveStock).unwrap();
    eventually(Duration::from_secs(15), || async {
        poller.poll_once().await.unwrap();
        let mut statuses = Vec::new();
        for id in &ids {
            statuses.push(admin.order(id).await.body["status"].as_str().unwrap_or_default().to_owned());
        }
        statuses.iter().all(|s| s == "PENDING_PAYMENT").then_some(())
    })
    .await;
    assert_eq!(counters(&admin.product("mug").await), (10, 4, 6));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_breaker_opens_after_outages_in_a_row_not_throttling_answers_at_once_and_closes_after_a_good_probe() {
    let plan = FaultPlan::default();
    let mut setup = Setup::with_faults(&plan, false);
    setup.environment = vec![
        ("STORAGE_ATTEMPTS".into(), "2".into()),
        ("BREAKER_FAILURES".into(), "3".into()),
        ("BREAKER_COOLDOWN_MS".into(), "400".into()),
    ];
    let service = service(setup).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 1)]).await;
    let read = |path: String| {
        let alice = alice.clone();
        async move { alice.get(&path).await }
    };
    let path = format!("/api/v1/orders/{id}");

    // Throttling shows storage up, only busy: however long it lasts, it does not open the
    // breaker, which would refuse every other request too.
    plan.set_rate("Query", FaultPoint::Before, 1.0);
    for _ in 0..5 {
        let throttled = read(path.clone()).await;
        assert_eq!(
            (throttled.status, throttled.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE")
        );
    }
    plan.clear();

    let before = plan.calls("Query");
    plan.set_rate("Query", FaultPoint::Down, 1.0);
    for _ in 0..3 {
        let failed = read(path.clone()).await;
        assert_eq!(
            (failed.status, failed.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE")
        );
    }
    let tried = plan.calls("Query");
    assert_eq!(tried - before, 6, "three requests, each through the SDK's two attempts");
    let refused = read(path.clone()).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "STORAGE_BREAKER_OPEN")
    );
    assert_eq!(refused.headers["retry-after"], "1");
    assert_eq!(plan.calls("Query"), tried, "an open breaker does not try storage");

    // Past the cooldown, a probe that fails opens it again; storage recovers, the next probe closes it.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(read(path.clone()).await.code(), "SERVICE_UNAVAILABLE", "the probe reached storage");
    assert_eq!(read(path.clone()).await.code(), "STORAGE_BREAKER_OPEN");
    plan.clear();
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(read(path.clone()).await.status, StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(read(path.clone()).await.status, StatusCode::OK, "closed again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placement_looks_at_its_product_with_half_a_strong_reads_units_and_confirms_a_refusal_with_a_strong_read() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 10).await;
    let alice = Api::customer(&service, "alice");
    // The first placement of an instance also claims a block of order numbers.
    alice.place(&[("mug", 1)], Some("warm-up")).await;

    // One read unit a second on each item: one strongly consistent read, or two eventually
    // consistent ones. Two placements within one second pass it only if each reads half a unit.
    plan.limit_item_reads(Some(1));
    let second = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let mut pairs = 0;
    loop {
        pairs += 1;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let started = second();
        let first = alice.place(&[("mug", 1)], Some(&format!("first-{pairs}"))).await;
        let next = alice.place(&[("mug", 1)], Some(&format!("next-{pairs}"))).await;
        assert_eq!((first.status, next.status), (StatusCode::CREATED, StatusCode::CREATED));
        if second() == started || pairs == 5 {
            break;
        }
    }
    assert_eq!(
        plan.throttled_by_read_ceiling(),
        0,
        "a placement's look at its product must be eventually consistent"
    );
    plan.limit_item_reads(None);

    // A refusal is decided on a strongly consistent read: the look, the confirming read, the
    // INVALID order's write.
    let refused = alice.place(&[("mug", 100)], Some("too-many")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{refused:?}");
    assert_eq!(refused.code(), "OUT_OF_STOCK", "{refused:?}");
    let timing = refused.headers["server-timing"].to_str().unwrap();
    assert!(timing.contains("desc=\"3 calls\""), "{timing}");
    assert_invariants(&service).await;
}
