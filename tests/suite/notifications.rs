//! Notifications: customers and sellers hear about each step of an order through SES (moto's,
//! read back through its data API), each message once however often its event is delivered.

use std::time::Duration;

use orders_local::RunningService;
use orders_shared::adapters::faults::{FaultPlan, FaultPoint};
use orders_shared::handlers::QueueFunction;
use orders_tests::{drain, emulators, eventually, service, subscribe, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Every message moto's SES has sent to `address`: (subject, HTML body).
async fn inbox(address: &str) -> Vec<(String, String)> {
    // moto serialises every service's state for this; another test changing it at that moment
    // makes moto fail the request, so it is asked again.
    let mut data = Value::Null;
    for _ in 0..10 {
        let reply = reqwest::get(format!("{}/moto-api/data.json", emulators().moto.endpoint()))
            .await
            .unwrap();
        if let Ok(read) = reply.json::<Value>().await {
            data = read;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|message| {
            message["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|to| to.iter().any(|to| to == address))
        })
        .map(|message| {
            (
                message["subject"].as_str().unwrap_or_default().to_owned(),
                message["body"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn register_seller(admin: &Api, seller: &str, email: &str) {
    let body = json!({"name": seller, "email": email, "commission_rate": "0.15"});
    let reply = admin.send(Method::PUT, &format!("/api/v1/sellers/{seller}"), Some(body), &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

/// Waits until `address` has received exactly the messages whose subjects start as `expected`.
async fn wait_for(address: &str, expected: &[&str]) -> Vec<(String, String)> {
    eventually(Duration::from_secs(20), || async {
        let received = inbox(address).await;
        let all_there = expected
            .iter()
            .all(|want| received.iter().any(|(subject, _)| subject.starts_with(want)));
        all_there.then_some(received)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_and_sellers_hear_of_each_step_once_even_when_events_come_twice() {
    let service: RunningService = service(Setup::default()).await;
    let subscriber = subscribe(&service).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let (one, two) = (format!("one-{tag}@sellers.example"), format!("two-{tag}@sellers.example"));
    let admin = Api::admin(&service);
    register_seller(&admin, "seller-1", &one).await;
    register_seller(&admin, "seller-2", &two).await;
    admin.put_product("mug", "8.00", 10).await;
    let plate = json!({"name": "Plate", "seller_id": "seller-2", "price": "4.00", "on_hand": 10});
    admin.send(Method::PUT, "/api/v1/inventory/plate", Some(plate), &[]).await;

    let customer = format!("cust-{tag}");
    let address = format!("{customer}@example.com");
    let alice = Api::customer(&service, &customer);
    let (id, total) = alice.reserved_order(&[("mug", 1), ("plate", 2)]).await;
    let order = alice.order(&id).await.body;
    assert_eq!(
        order["customer_email"],
        address.as_str(),
        "the address comes from the verified token"
    );
    assert_eq!(order["customer_name"], customer.as_str());
    assert_eq!(Api::payments(&service).confirm(&id, "pay-1", &total).await.status, StatusCode::OK);

    // Paid: the outbox and the fulfilment queue take the order to PROCESSING on their own.
    let to_ship = wait_for(&one, &["New order"]).await;
    assert!(
        to_ship[0].1.contains("1 x Product mug") && to_ship[0].1.contains("Hello seller-1,"),
        "{to_ship:?}"
    );
    let theirs = wait_for(&two, &["New order"]).await;
    assert!(
        theirs[0].1.contains("2 x Plate") && !theirs[0].1.contains("Product mug"),
        "each seller hears of their own items: {theirs:?}"
    );

    let shipped = json!({"seller_id": "seller-1", "status": "SHIPPED", "carrier": "DHL", "tracking_number": "JD0146"});
    assert_eq!(Api::seller(&service, "seller-1").report(&id, shipped).await.status, StatusCode::OK);
    let received = eventually(Duration::from_secs(20), || async {
        let now = inbox(&address).await;
        (now.len() >= 3).then_some(now)
    })
    .await;
    assert!(
        received
            .iter()
            .any(|(subject, body)| subject.ends_with("shipped") && body.contains("DHL") && body.contains("JD0146")),
        "the shipping message carries the tracking number: {received:?}"
    );

    // Every event of the order delivered again, as the bus delivered it: nobody hears twice.
    let before = (inbox(&address).await, inbox(&one).await, inbox(&two).await);
    let published = drain(&service, &subscriber).await;
    assert!(published.len() >= 5, "{published:?}");
    let records: Vec<Value> = published
        .iter()
        .enumerate()
        .map(|(n, event)| json!({"messageId": format!("again-{n}"), "body": event.to_string()}))
        .collect();
    let again = QueueFunction::SendNotifications
        .handle(&service.app, serde_json::from_value(json!({ "Records": records })).unwrap())
        .await;
    assert!(again.batch_item_failures.is_empty());
    let after = (inbox(&address).await, inbox(&one).await, inbox(&two).await);
    assert_eq!(after, before, "nothing was sent again");
    let mut subjects: Vec<&str> = after.0.iter().map(|(subject, _)| subject.as_str()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), after.0.len(), "one message per event: {subjects:?}");
    assert_eq!(subjects.len(), 3, "placed, paid, shipped: {subjects:?}");
    let number = alice.order(&id).await.body["order_number"].as_str().unwrap().to_owned();
    assert!(
        subjects.iter().all(|subject| subject.contains(&number)),
        "each message names the order by its number: {subjects:?}"
    );
    assert_eq!((after.1.len(), after.2.len()), (1, 1), "each seller heard once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_whose_accepted_order_the_queue_refuses_is_told_why() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, true)).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 1).await;
    let customer = format!("cust-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let alice = Api::customer(&service, &customer);
    plan.fail_next("TransactWriteItems", FaultPoint::Before, 4);
    let accepted = alice.place(&[("mug", 3)], None).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    let id = accepted.body["id"].as_str().unwrap().to_owned();

    let told = wait_for(&format!("{customer}@example.com"), &["Order"]).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].0.ends_with("could not be placed"), "{told:?}");
    assert!(told[0].1.contains("mug (not enough in stock)"), "{told:?}");
    assert_eq!(alice.order(&id).await.body["status"], "INVALID");
}
