//! Payment deadlines, the sweeper and TTL, on a clock the tests move by hand; and the races
//! between confirming, cancelling and sweeping, each settled by conditions with one winner.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use orders_local::RunningService;
use orders_shared::adapters::dynamo::{product_key, reservation_key};
use orders_shared::adapters::faults::{FaultPlan, FaultPoint};
use orders_shared::domain::{OrderId, Sku};
use orders_shared::handlers::{QueueFunction, StreamFunction};
use orders_shared::ports::{ManualClock, ReservationStore, StoreError};
use orders_shared::service::sweeper::{reconcile, StockCheck, SweepReport};
use orders_tests::sweep;
use orders_tests::{assert_invariants, counters, eventually, service, timeline, Api, Setup};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn clocked(clock: &ManualClock) -> Setup {
    Setup {
        clock: Some(Arc::new(clock.clone())),
        poll_queues: false,
        ..Setup::default()
    }
}

/// A service on a hand-moved clock with this fault plan, stocked with `on_hand` mugs.
async fn clocked_with_faults(clock: &ManualClock, plan: &FaultPlan, on_hand: i64) -> (RunningService, Api) {
    let service = service(Setup {
        faults: Some(plan.clone()),
        ..clocked(clock)
    })
    .await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", on_hand).await;
    (service, admin)
}

async fn sweep_now(service: &RunningService) -> SweepReport {
    sweep(&service.app).await.expect("the sweep runs")
}

fn past_deadline() -> chrono::Duration {
    chrono::Duration::seconds(901)
}

fn cancellations(order: &Value) -> usize {
    timeline(order).iter().filter(|status| *status == "CANCELLED").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_past_its_deadline_is_cancelled_and_its_stock_returns_after_one_sweep() {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(clocked(&clock)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 3)]).await;
    let order = alice.order(&id).await.body;
    let placed = chrono::DateTime::parse_from_rfc3339(order["created_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(order["payment_due_at"].as_str().unwrap()).unwrap();
    assert_eq!(due - placed, chrono::Duration::seconds(900));

    clock.advance(chrono::Duration::seconds(899));
    assert_eq!(sweep_now(&service).await.expired, 0, "not yet due");
    assert_eq!(counters(&admin.product("mug").await), (10, 7, 3));

    clock.advance(chrono::Duration::seconds(2));
    let report = sweep_now(&service).await;
    assert_eq!((report.expired, report.checked_products, report.drift.len()), (1, 1, 0));
    let order = alice.order(&id).await.body;
    assert_eq!(order["status"], "CANCELLED");
    let last = order["status_history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["actor"].as_str(), last["note"].as_str()),
        (Some("system:sweeper"), Some("PAYMENT_TIMEOUT"))
    );
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));
    assert_eq!(sweep_now(&service).await.expired, 0, "released once");
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_racing_the_sweeper_has_exactly_one_winner() {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(clocked(&clock)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 100).await;
    let alice = Api::customer(&service, "alice");
    let (mut paid, mut expired) = (0, 0);
    for round in 0..8 {
        let (id, total) = alice.reserved_order(&[("mug", 1)]).await;
        clock.advance(past_deadline());
        let reference = format!("pay-{round}");
        let payments = Api::payments(&service);
        let (confirm, report) = tokio::join!(payments.confirm(&id, &reference, &total), sweep_now(&service));
        match (confirm.status, report.expired) {
            (StatusCode::OK, 0) => paid += 1,
            (StatusCode::CONFLICT, 1) => {
                assert_eq!(confirm.code(), "ORDER_NOT_PAYABLE");
                assert_eq!(alice.order(&id).await.body["refunds_due"].as_array().map(Vec::len), Some(1));
                expired += 1;
            }
            other => panic!("both or neither won: {other:?} {confirm:?}"),
        }
    }
    assert_eq!(paid + expired, 8);
    assert_eq!(counters(&admin.product("mug").await), (100 - paid, 100 - paid, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_racing_a_cancel_ends_cancelled_with_the_stock_whole_and_any_payment_refunded() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 100).await;
    let alice = Api::customer(&service, "alice");
    for round in 0..8 {
        let (id, total) = alice.reserved_order(&[("mug", 2)]).await;
        let reference = format!("pay-{round}");
        let payments = Api::payments(&service);
        let (confirm, cancel) = tokio::join!(payments.confirm(&id, &reference, &total), alice.cancel(&id));
        let order = alice.order(&id).await.body;
        // The cancel either wins (the payment is refused, the hold released) or comes second and
        // cancels the paid order (its sold units back, its payment refunded): stock ends whole.
        assert_eq!(
            (order["status"].as_str(), cancel.status),
            (Some("CANCELLED"), StatusCode::OK),
            "{order}"
        );
        match order["payment_status"].as_str() {
            Some("REFUNDED") => {
                assert_eq!(confirm.status, StatusCode::OK);
                assert_eq!(order["refunded_total"], total.as_str());
            }
            _ => assert_eq!(confirm.code(), "ORDER_NOT_PAYABLE"),
        }
    }
    assert_eq!(counters(&admin.product("mug").await), (100, 100, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cancels_release_the_stock_once() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 6)]).await;
    let replies = join_all((0..8).map(|_| alice.cancel(&id))).await;
    assert!(replies.iter().all(|r| r.status == StatusCode::OK), "{replies:?}");
    assert_eq!(cancellations(&alice.order(&id).await.body), 1);
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_sweeps_expire_each_order_once() {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(clocked(&clock)).await;
    let admin = Api::admin(&service);
    admin.put_product("a", "1.00", 50).await;
    admin.put_product("b", "2.00", 50).await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let customer = Api::customer(&service, &format!("c{n}"));
        ids.push(customer.reserved_order(&[("a", 1), ("b", 2)]).await.0);
    }
    clock.advance(past_deadline());
    let (first, second) = tokio::join!(sweep_now(&service), sweep_now(&service));
    assert_eq!(first.expired + second.expired, 20);
    assert_eq!(first.failures + second.failures, 0);
    for id in &ids {
        assert_eq!(cancellations(&admin.order(id).await.body), 1);
    }
    assert_eq!(counters(&admin.product("a").await), (50, 50, 0));
    assert_eq!(counters(&admin.product("b").await), (50, 50, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_stuck_in_reserving_is_redriven_by_the_sweeper() {
    let clock = ManualClock::new(chrono::Utc::now());
    let plan = FaultPlan::default();
    let (service, admin) = clocked_with_faults(&clock, &plan, 10).await;
    // The reservation and the hand-over to the queue both fail: the order is stored, and stuck.
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
    plan.fail_next("SendMessage", FaultPoint::Before, 4);
    let accepted = Api::customer(&service, "alice").place(&[("mug", 2)], None).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    let poller = service.poller(QueueFunction::ReserveStock).unwrap();
    assert_eq!(poller.poll_once().await.unwrap(), 0, "nothing was queued");

    assert_eq!(sweep_now(&service).await.redriven, 0, "not stuck long enough yet");
    clock.advance(chrono::Duration::seconds(121));
    assert_eq!(sweep_now(&service).await.redriven, 1);
    eventually(Duration::from_secs(10), || async {
        (poller.poll_once().await.unwrap() > 0).then_some(())
    })
    .await;
    assert_eq!(
        admin.order(accepted.body["id"].as_str().unwrap()).await.body["status"],
        "PENDING_PAYMENT"
    );
    assert_eq!(sweep_now(&service).await.redriven, 0);
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_deleted_by_ttl_is_released_once_even_when_its_record_is_replayed() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 4)]).await;
    let order_id = OrderId::parse(&id).unwrap();
    let table = &service.deployment.tables["InventoryTable"];
    let dynamodb = &service.clients.dynamodb;
    let stored = dynamodb
        .get_item()
        .table_name(table)
        .set_key(Some(reservation_key(order_id)))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    // DynamoDB Local never expires items: delete it as TTL would.
    dynamodb
        .delete_item()
        .table_name(table)
        .set_key(Some(reservation_key(order_id)))
        .send()
        .await
        .unwrap();

    let mut poller = service.stream_poller(StreamFunction::ReservationExpiry).await.unwrap();
    let started = std::time::Instant::now();
    while alice.order(&id).await.body["status"] != "CANCELLED" {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the stream consumer did not release the reservation"
        );
        poller.poll_once().await.unwrap();
    }
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));

    // The same stream record, delivered twice more.
    let old_image: serde_dynamo::Item = stored.into();
    let record = json!({"Records": [{
        "eventID": "1", "eventName": "REMOVE", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {"ApproximateCreationDateTime": 0, "Keys": {}, "OldImage": old_image, "SequenceNumber": "1", "SizeBytes": 1, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    }]});
    for _ in 0..2 {
        let event: StreamEvent = serde_json::from_value(record.clone()).unwrap();
        assert!(StreamFunction::ReservationExpiry
            .handle(&service.app, event)
            .await
            .batch_item_failures
            .is_empty());
    }
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));
    assert_eq!(cancellations(&alice.order(&id).await.body), 1);
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_reports_counters_that_drifted_from_the_reservations() {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(clocked(&clock)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    admin.put_product("tea", "1.00", 10).await;
    let alice = Api::customer(&service, "alice");
    alice.reserved_order(&[("mug", 1), ("tea", 1)]).await;
    // A bug (simulated): one unit counted as reserved that no reservation holds.
    let table = &service.deployment.tables["InventoryTable"];
    service
        .clients
        .dynamodb
        .update_item()
        .table_name(table)
        .set_key(Some(product_key(&Sku::parse("mug").unwrap())))
        .update_expression("SET reserved = reserved + :one, on_hand = on_hand + :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    clock.advance(past_deadline());
    let report = sweep_now(&service).await;
    assert_eq!(report.expired, 1);
    assert_eq!(report.drift.len(), 1);
    assert_eq!(report.drift[0].product_id.as_str(), "mug");
    assert_eq!((report.drift[0].reserved, report.drift[0].reserved_by_reservations), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_record_that_keeps_failing_is_given_up_after_the_retry_limit_and_described_on_the_failure_queue() {
    let plan = FaultPlan::default();
    let service = service(Setup {
        faults: Some(plan.clone()),
        poll_queues: false,
        environment: vec![("STORAGE_ATTEMPTS".into(), "1".into())],
        ..Setup::default()
    })
    .await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 1)]).await;
    let order_id = OrderId::parse(&id).unwrap();
    // TTL deletes the reservation, and every release the consumer tries is throttled.
    service
        .clients
        .dynamodb
        .delete_item()
        .table_name(&service.deployment.tables["InventoryTable"])
        .set_key(Some(reservation_key(order_id)))
        .send()
        .await
        .unwrap();
    plan.set_rate("TransactWriteItems", FaultPoint::Before, 1.0);

    let mut poller = service.stream_poller(StreamFunction::ReservationExpiry).await.unwrap();
    let consumer = service.template.streams.iter().find(|s| s.binary == "reservation-expiry").unwrap();
    let retries = consumer.max_retries.expect("the template limits retries");
    let mut deliveries = 0;
    let started = std::time::Instant::now();
    while plan.injected() < u64::from(retries) + 1 {
        assert!(started.elapsed() < Duration::from_secs(20), "the record was not retried");
        deliveries += usize::from(poller.poll_once().await.unwrap() > 0);
    }
    assert_eq!(
        deliveries,
        usize::try_from(retries).unwrap() + 1,
        "the first try and {retries} retries"
    );
    assert_eq!(poller.poll_once().await.unwrap(), 0, "given up: the shard has moved on");

    let failure_queue = &service.deployment.queues[consumer.on_failure.as_deref().unwrap()];
    let received = service
        .clients
        .sqs
        .receive_message()
        .queue_url(&failure_queue.url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1, "one description of the given-up batch");
    let described: serde_json::Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(described["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(described["DDBStreamBatchInfo"]["batchSize"], 1);
    plan.clear();
    assert_eq!(
        alice.order(&id).await.body["status"],
        "PENDING_PAYMENT",
        "left for an operator, not lost"
    );
}

/// The real catalogue, but its index of ACTIVE reservations lags: it still lists reservations
/// that were settled (`stale`) and does not list yet one just made (`unlisted`).
struct LaggingIndex {
    inner: Arc<dyn ReservationStore>,
    stale: Vec<orders_shared::domain::Reservation>,
    unlisted: Option<OrderId>,
}

#[async_trait::async_trait]
impl ReservationStore for LaggingIndex {
    async fn active_reservations(
        &self,
        expiring_by: Option<chrono::DateTime<chrono::Utc>>,
        limit: usize,
    ) -> Result<Vec<orders_shared::domain::Reservation>, StoreError> {
        let mut listed = self.inner.active_reservations(expiring_by, limit).await?;
        listed.retain(|r| Some(r.order_id) != self.unlisted);
        listed.extend(self.stale.iter().cloned());
        Ok(listed)
    }
    async fn get_reservations(&self, orders: &[OrderId]) -> Result<Vec<orders_shared::domain::Reservation>, StoreError> {
        self.inner.get_reservations(orders).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_reported_only_when_strongly_consistent_reads_confirm_it() {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(clocked(&clock)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (paid, total) = alice.reserved_order(&[("mug", 2)]).await;
    let paid_reservation = service
        .app
        .reservations
        .get_reservations(&[OrderId::parse(&paid).unwrap()])
        .await
        .unwrap();
    assert_eq!(Api::payments(&service).confirm(&paid, "p", &total).await.status, StatusCode::OK);
    let (held, _) = alice.reserved_order(&[("mug", 1)]).await;
    let held = OrderId::parse(&held).unwrap();
    let products = std::collections::BTreeSet::from([Sku::parse("mug").unwrap()]);

    // The index still lists the converted reservation as ACTIVE, and does not list the new one yet.
    let lagging_index = LaggingIndex {
        inner: Arc::clone(&service.app.reservations),
        stale: paid_reservation,
        unlisted: Some(held),
    };
    let real = StockCheck {
        catalogue: &*service.app.catalogue,
        reservations: &*service.app.reservations,
        clock: &*service.app.clock,
    };
    let lagging = StockCheck {
        reservations: &lagging_index,
        ..real
    };
    assert_eq!(reconcile(lagging, &products).await.unwrap(), vec![], "index lag is not drift");

    // Long after the last hold, a reservation the index still does not list is really missing.
    clock.advance(chrono::Duration::minutes(5));
    let drift = reconcile(lagging, &products).await.unwrap();
    assert_eq!(drift.len(), 1);
    assert_eq!((drift[0].reserved, drift[0].reserved_by_reservations), (1, 0));
    // The real index agrees with the counters.
    assert_eq!(reconcile(real, &products).await.unwrap(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_orders_are_redriven_in_batches() {
    let clock = ManualClock::new(chrono::Utc::now());
    let plan = FaultPlan::default();
    let (service, admin) = clocked_with_faults(&clock, &plan, 100).await;
    let alice = Api::customer(&service, "alice");
    for _ in 0..12 {
        plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
        plan.fail_next("SendMessage", FaultPoint::Before, 4);
        assert_eq!(alice.place(&[("mug", 1)], None).await.status, StatusCode::ACCEPTED);
    }
    clock.advance(chrono::Duration::seconds(121));
    let report = sweep_now(&service).await;
    assert_eq!((report.redriven, report.failures), (12, 0));
    let poller = service.poller(QueueFunction::ReserveStock).unwrap();
    let mut delivered = 0;
    while delivered < 12 {
        delivered += eventually(Duration::from_secs(10), || async {
            Some(poller.poll_once().await.unwrap()).filter(|n| *n > 0)
        })
        .await;
    }
    assert_eq!(counters(&admin.product("mug").await), (100, 88, 12));
    assert_invariants(&service).await;
}
