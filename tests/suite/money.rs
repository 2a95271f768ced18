//! One money bound at every edge where an amount is computed; amounts stored before the bound
//! was enforced still read, list, cancel and expire.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use orders_shared::adapters::dynamo::reservation_key;
use orders_shared::domain::order::price_lines;
use orders_shared::domain::{Actor, Money, Order, OrderId, PlaceOrder, Reservation, Sku, UserId};
use orders_shared::ports::ManualClock;
use orders_tests::sweep;
use orders_tests::{assert_invariants, counters, service, Api, Setup};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_whose_total_would_pass_the_bound_is_refused_and_nothing_is_stored() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    assert_eq!(admin.put_product("yacht", "600000000", 5).await.status, StatusCode::OK);
    let alice = Api::customer(&service, "alice");
    let refused = alice.place(&[("yacht", 2)], Some("k")).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "AMOUNT_TOO_LARGE"),
        "{refused:?}"
    );
    assert_eq!(refused.body["max_amount"], "1000000000.00");
    assert_eq!(alice.get("/api/v1/orders").await.body["orders"], json!([]));
    assert_eq!(counters(&admin.product("yacht").await), (5, 5, 0));
    // One is within the bound.
    assert_eq!(alice.place(&[("yacht", 1)], None).await.status, StatusCode::CREATED);
}

/// Stores an order for one `sku` whose amounts are `total`, as a release before the bound could.
async fn store_oversized_order(service: &orders_local::RunningService, user: &str, sku: &str, total: &str) -> OrderId {
    let app = &service.app;
    let request = PlaceOrder::from_json(&json!({"items": [{"product_id": sku, "quantity": 1}]})).unwrap();
    let catalogue = app.catalogue.get_products(&[Sku::parse(sku).unwrap()]).await.unwrap();
    let (lines, _) = price_lines(&request, &catalogue).unwrap();
    let user = UserId::parse(user).unwrap();
    let now = app.clock.now();
    let mut order = Order::new(OrderId::new(), user.clone(), lines, &app.pricing, &Actor::customer(&user), now).unwrap();
    let due = now + app.payment_timeout;
    order.reserve(&Actor::system("reserve-stock"), now, due, None).unwrap();
    let big = Money::from_stored(total).unwrap();
    order.items[0].unit_price = big;
    order.items[0].subtotal = big;
    order.totals.subtotal = big;
    order.totals.total = big;
    let reservation = Reservation::for_order(&order, due, now);
    app.orders.create_order(&order, None, Some(&reservation)).await.unwrap();
    order.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_order_stored_earlier_still_reads_lists_cancels_and_expires() {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(Setup {
        clock: Some(Arc::new(clock.clone())),
        ..Setup::default()
    })
    .await;
    let admin = Api::admin(&service);
    admin.put_product("yacht", "600000000", 5).await;
    let cancelled = store_oversized_order(&service, "alice", "yacht", "1200000000.00").await;
    let expiring = store_oversized_order(&service, "alice", "yacht", "1200000000.00").await;
    let alice = Api::customer(&service, "alice");

    let read = alice.order(&cancelled.to_string()).await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");
    assert_eq!(read.body["total"], "1200000000.00");
    let listed = admin.get("/api/v1/orders?sort=-total").await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    assert_eq!(listed.body["orders"].as_array().unwrap().len(), 2);
    let cancel = alice.cancel(&cancelled.to_string()).await;
    assert_eq!(
        (cancel.status, &cancel.body["status"]),
        (StatusCode::OK, &json!("CANCELLED")),
        "{cancel:?}"
    );

    clock.advance(service.app.payment_timeout + chrono::Duration::seconds(1));
    let report = sweep(&service.app).await.unwrap();
    assert_eq!((report.expired, report.failures), (1, 0));
    assert_eq!(alice.order(&expiring.to_string()).await.body["status"], "CANCELLED");
    assert_eq!(counters(&admin.product("yacht").await), (5, 5, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_awaiting_payment_whose_reservation_is_not_active_is_reported_not_retried_forever() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 1)]).await;
    // Break the stored state behind the service's back: the reservation says RELEASED.
    service
        .clients
        .dynamodb
        .update_item()
        .table_name(&service.deployment.tables["InventoryTable"])
        .set_key(Some(reservation_key(OrderId::parse(&id).unwrap())))
        .update_expression("SET #status = :released")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":released", AttributeValue::S("RELEASED".into()))
        .send()
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let paid = Api::payments(&service).confirm(&id, "pay-1", &total).await;
    assert_eq!((paid.status.as_u16(), paid.code()), (500, "ORDER_INCONSISTENT"), "{paid:?}");
    let cancel = alice.cancel(&id).await;
    assert_eq!((cancel.status.as_u16(), cancel.code()), (500, "ORDER_INCONSISTENT"), "{cancel:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered at once, not after retries"
    );
    assert_eq!(alice.order(&id).await.body["status"], "PENDING_PAYMENT", "nothing was half-written");
}
