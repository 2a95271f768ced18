//! Personal data: an admin erases a customer's on request, the sweeper erases closed orders' at
//! the end of the retention period, and the financial record stays either way.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use orders_local::RunningService;
use orders_shared::ports::ManualClock;
use orders_tests::sweep;
use orders_tests::{deliver, drain, eventually, service, subscribe, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PERSONAL: [&str; 4] = ["customer_name", "customer_email", "shipping_address", "customer_note"];

/// Places an order of mugs with an address and a note; answers its id and total.
async fn placed_with_address(customer: &Api) -> (String, String) {
    let body = json!({
        "items": [{"product_id": "mug", "quantity": 1}],
        "shipping_address": {"contact_name": "Alice Smith", "line1": "1 Main St", "city": "Berlin",
                             "postal_code": "10115", "country": "DE", "phone": "+4915112345678"},
        "note": "ring twice",
    });
    let reply = customer.send(Method::POST, "/api/v1/orders", Some(body), &[]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    (
        reply.body["id"].as_str().unwrap().to_owned(),
        reply.body["total"].as_str().unwrap().to_owned(),
    )
}

fn holds_personal_data(order: &Value) -> bool {
    PERSONAL.iter().any(|field| !order[field].is_null())
}

fn erasure_path(user: &str) -> String {
    format!("/api/v1/customers/{user}/erasure")
}

/// The stored order item, as the table holds it.
async fn stored_item(service: &RunningService, id: &str) -> std::collections::HashMap<String, AttributeValue> {
    service
        .clients
        .dynamodb
        .get_item()
        .table_name(&service.deployment.tables["OrdersTable"])
        .key("pk", AttributeValue::S(format!("ORDER#{id}")))
        .key("sk", AttributeValue::S("ORDER".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the order is stored")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_erases_a_customers_personal_data_and_the_financial_record_stays() {
    let service = service(Setup::default()).await;
    let events = subscribe(&service).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "5.00", 100).await;
    let alice = Api::customer(&service, "alice");
    let (delivered, total) = placed_with_address(&alice).await;
    deliver(&service, &delivered, &total).await;
    let invoice_path = format!("/api/v1/orders/{delivered}/invoice");
    let invoice = eventually(Duration::from_secs(30), || {
        let (alice, path) = (&alice, &invoice_path);
        async move {
            let reply = alice.get(path).await;
            (reply.status == StatusCode::OK).then_some(reply.body)
        }
    })
    .await;
    let (open, _) = placed_with_address(&alice).await;
    let cart = alice
        .send(
            Method::POST,
            "/api/v1/cart/items",
            Some(json!({"product_id": "mug", "quantity": 2})),
            &[],
        )
        .await;
    assert_eq!(cart.status, StatusCode::OK, "{cart:?}");
    let (bob_order, _) = placed_with_address(&Api::customer(&service, "bob")).await;
    let before = alice.order(&delivered).await.body;
    assert!(holds_personal_data(&before), "{before}");

    let refused = alice.send(Method::POST, &erasure_path("alice"), None, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "customers cannot erase: {refused:?}");

    let erased = admin.send(Method::POST, &erasure_path("alice"), None, &[]).await;
    assert_eq!(erased.status, StatusCode::OK, "{erased:?}");
    assert_eq!(erased.body["erased_orders"], 1, "{erased:?}");
    assert_eq!(
        erased.body["deferred_orders"],
        json!([open]),
        "the unpaid order may still ship: {erased:?}"
    );
    assert_eq!(
        (erased.body["cart_removed"].clone(), erased.body["complete"].clone()),
        (json!(true), json!(true))
    );

    let after = alice.order(&delivered).await.body;
    for field in PERSONAL {
        assert!(after[field].is_null(), "{field} is erased: {after}");
    }
    assert!(after["personal_data_erased_at"].is_string(), "{after}");
    for kept in ["items", "subtotal", "tax", "total", "payment", "status", "order_number", "user_id"] {
        assert_eq!(after[kept], before[kept], "{kept} is part of the financial record");
    }
    let last = after["status_history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["note"], "PERSONAL_DATA_ERASED: on request", "{last}");
    assert_eq!(last["actor"], "admin:shop-admin");
    let kept = alice.get(&invoice_path).await;
    assert_eq!(
        (kept.status, &kept.body),
        (StatusCode::OK, &invoice),
        "the invoice is kept as issued"
    );

    assert!(holds_personal_data(&alice.order(&open).await.body), "kept while it may still ship");
    assert!(
        holds_personal_data(&admin.order(&bob_order).await.body),
        "another customer's data is untouched"
    );
    let cart = alice.get("/api/v1/cart").await;
    assert_eq!(cart.body["items"], json!([]), "{cart:?}");

    // The open order is erased in the same write that closes it.
    let cancelled = alice.cancel(&open).await;
    assert_eq!(cancelled.body["status"], "CANCELLED", "{cancelled:?}");
    let closed = alice.order(&open).await.body;
    assert!(!holds_personal_data(&closed), "{closed}");
    assert!(closed.get("erasure_requested").is_none(), "{closed}");

    let again = admin.send(Method::POST, &erasure_path("alice"), None, &[]).await;
    assert_eq!(
        (again.status, again.body["erased_orders"].clone()),
        (StatusCode::OK, json!(0)),
        "{again:?}"
    );
    assert_eq!(again.body["deferred_orders"], json!([]));

    // Each erased order tells the bus once, without any of the data it erased.
    let mut erasures: Vec<Value> = Vec::new();
    let started = std::time::Instant::now();
    while erasures.len() < 2 && started.elapsed() < Duration::from_secs(60) {
        let received = drain(&service, &events).await;
        erasures.extend(received.into_iter().filter(|event| event["detail-type"] == "PersonalDataErased"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    erasures.extend(
        drain(&service, &events)
            .await
            .into_iter()
            .filter(|event| event["detail-type"] == "PersonalDataErased"),
    );
    let mut erased_ids: Vec<&str> = erasures.iter().map(|event| event["detail"]["order_id"].as_str().unwrap()).collect();
    erased_ids.sort_unstable();
    let mut expected = vec![delivered.as_str(), open.as_str()];
    expected.sort_unstable();
    assert_eq!(erased_ids, expected);
    for event in &erasures {
        let text = event.to_string();
        assert!(!text.contains("Alice Smith") && !text.contains("alice@example.com"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_orders_lose_personal_data_when_the_retention_period_ends_and_open_ones_keep_it() {
    let clock = ManualClock::new(chrono::Utc::now());
    let mut setup = Setup {
        clock: Some(Arc::new(clock.clone())),
        poll_queues: false,
        ..Setup::default()
    };
    setup.environment.push(("PERSONAL_DATA_RETENTION_DAYS".into(), "30".into()));
    let service = service(setup).await;
    Api::admin(&service).put_product("mug", "5.00", 100).await;
    let alice = Api::customer(&service, "alice");
    let (cancelled, _) = placed_with_address(&alice).await;
    alice.cancel(&cancelled).await;
    let (delivered, total) = placed_with_address(&alice).await;
    deliver(&service, &delivered, &total).await;
    let (shipping, total) = placed_with_address(&alice).await;
    Api::payments(&service).confirm(&shipping, &format!("pay-{shipping}"), &total).await;
    assert!(stored_item(&service, &cancelled).await.contains_key("personal_data_shard"));
    assert!(!stored_item(&service, &shipping).await.contains_key("personal_data_shard"));

    let erased = |report: &orders_shared::service::sweeper::SweepReport| report.personal_data_erased;
    assert_eq!(erased(&sweep(&service.app).await.unwrap()), 0, "just closed");
    clock.advance(chrono::Duration::days(29));
    assert_eq!(erased(&sweep(&service.app).await.unwrap()), 0, "within the retention period");
    clock.advance(chrono::Duration::days(2));
    assert_eq!(erased(&sweep(&service.app).await.unwrap()), 2);
    assert_eq!(erased(&sweep(&service.app).await.unwrap()), 0, "erased once");

    for id in [&cancelled, &delivered] {
        let order = alice.order(id).await.body;
        assert!(!holds_personal_data(&order), "{order}");
        let note = order["status_history"].as_array().unwrap().last().unwrap()["note"].clone();
        assert_eq!(note, "PERSONAL_DATA_ERASED: retention period ended");
        assert!(
            !stored_item(&service, id).await.contains_key("personal_data_shard"),
            "out of the index"
        );
    }
    let paid = alice.order(&shipping).await.body;
    assert!(holds_personal_data(&paid), "a paid order still has to be delivered: {paid}");
}
