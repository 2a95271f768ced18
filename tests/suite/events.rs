//! The outbox: every status change of an order becomes one domain event on the service's bus,
//! which a queue subscribed with a rule receives as AWS would deliver it: at least once, each
//! event identified by `event_id`, and ordered per order by `version`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use orders_local::RunningService;
use orders_shared::adapters::faults::{FaultPlan, FaultPoint};
use std::time::Duration;

use orders_shared::domain::OrderId;
use orders_shared::handlers::{QueueFunction, StreamFunction};
use orders_shared::ports::ManualClock;
use orders_shared::service::fulfilment::start_fulfilment;
use orders_shared::service::invoices::issue_invoice;
use orders_tests::sweep;
use orders_tests::{assert_invariants, counters, delivered_order, drain, eventually, service, subscribe, timeline, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Runs the outbox over the whole orders stream, from its start.
async fn publish(service: &RunningService) {
    let mut outbox = service.stream_poller(StreamFunction::PublishEvents).await.unwrap();
    while outbox.poll_once().await.unwrap() > 0 {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_change_reaches_a_subscriber_once_by_event_id_and_in_version_order_per_order() {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(Setup {
        clock: Some(Arc::new(clock.clone())),
        poll_queues: false,
        ..Setup::default()
    })
    .await;
    let subscriber = subscribe(&service).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 3).await;
    let alice = Api::customer(&service, "alice");
    let (paid, total) = alice.reserved_order(&[("mug", 1)]).await;
    assert_eq!(Api::payments(&service).confirm(&paid, "pay-1", &total).await.status, StatusCode::OK);
    let (cancelled, _) = alice.reserved_order(&[("mug", 1)]).await;
    alice.cancel(&cancelled).await;
    let (expired, _) = alice.reserved_order(&[("mug", 1)]).await;
    let invalid = alice.place(&[("mug", 5)], None).await.body["order_id"].as_str().unwrap().to_owned();
    clock.advance(service.app.payment_timeout + chrono::Duration::seconds(1));
    assert_eq!(sweep(&service.app).await.unwrap().expired, 1);

    // The stream is delivered twice over, as a retry would: the second time adds no new event.
    publish(&service).await;
    publish(&service).await;
    let received = drain(&service, &subscriber).await;
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    for event in &received {
        assert_eq!(event["source"], "orders");
        assert_eq!(event["detail-type"], event["detail"]["name"]);
        by_id.insert(event["detail"]["event_id"].as_str().unwrap().to_owned(), event["detail"].clone());
    }
    assert!(received.len() >= by_id.len());
    let mut per_order: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for detail in by_id.values() {
        per_order
            .entry(detail["order_id"].as_str().unwrap().to_owned())
            .or_default()
            .push((detail["version"].as_u64().unwrap(), detail["name"].as_str().unwrap().to_owned()));
    }
    for events in per_order.values_mut() {
        events.sort();
    }
    let names = |order: &str| per_order[order].iter().map(|(_, name)| name.as_str()).collect::<Vec<_>>();
    assert_eq!(names(&paid), ["OrderPlaced", "OrderPaid"]);
    assert_eq!(names(&cancelled), ["OrderPlaced", "OrderCancelled"]);
    assert_eq!(names(&expired), ["OrderPlaced", "ReservationExpired"]);
    assert_eq!(names(&invalid), ["OrderInvalid"]);
    assert_eq!(by_id.len(), 7, "one event per status change");

    let placed = by_id
        .values()
        .find(|d| d["order_id"] == paid.as_str() && d["name"] == "OrderPlaced")
        .unwrap();
    assert_eq!(placed["previous_status"], "PENDING_RESERVING_STOCK");
    assert_eq!(placed["status"], "PENDING_PAYMENT");
    assert_eq!(placed["user_id"], "alice");
    assert_eq!(placed["total"], total.as_str());
    assert_eq!(placed["seller_ids"], serde_json::json!(["seller-1"]));
    let expiry = by_id.values().find(|d| d["name"] == "ReservationExpired").unwrap();
    assert_eq!(expiry["note"], "PAYMENT_TIMEOUT");
    let ids: BTreeSet<&str> = by_id.keys().map(String::as_str).collect();
    assert!(ids.contains(format!("{paid}:2:OrderPaid").as_str()), "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_the_bus_refuses_are_published_again_and_none_is_lost() {
    let plan = FaultPlan::default();
    let service = service(Setup::with_faults(&plan, false)).await;
    let subscriber = subscribe(&service).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 3).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 1)]).await;
    assert_eq!(Api::payments(&service).confirm(&id, "pay-1", &total).await.status, StatusCode::OK);

    // The bus answers but takes none of the entries, twice: they are sent again.
    plan.fail_next("PutEvents", FaultPoint::Refused, 2);
    publish(&service).await;
    assert_eq!(plan.injected(), 2);
    let names: BTreeSet<String> = drain(&service, &subscriber)
        .await
        .iter()
        .map(|event| event["detail"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, BTreeSet::from(["OrderPlaced".to_owned(), "OrderPaid".to_owned()]));

    // A bus that keeps refusing: the stream record is reported, retried, and published later.
    let (second, _) = alice.reserved_order(&[("mug", 1)]).await;
    plan.set_rate("PutEvents", FaultPoint::Refused, 1.0);
    let mut outbox = service.stream_poller(StreamFunction::PublishEvents).await.unwrap();
    while outbox.poll_once().await.unwrap() > 0 && plan.injected() < 8 {}
    assert!(drain(&service, &subscriber)
        .await
        .iter()
        .all(|event| event["detail"]["order_id"] != second.as_str()));
    plan.clear();
    while outbox.poll_once().await.unwrap() > 0 {}
    let published = drain(&service, &subscriber).await;
    assert!(published
        .iter()
        .any(|event| event["detail"]["order_id"] == second.as_str() && event["detail"]["name"] == "OrderPlaced"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_seller_order_goes_from_paid_through_each_part_to_delivered_and_every_step_is_an_event() {
    let service = service(Setup::driven_by_hand()).await;
    let subscriber = subscribe(&service).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let plate = json!({"name": "Plate", "seller_id": "seller-2", "price": "4.00", "on_hand": 10});
    admin.send(Method::PUT, "/api/v1/inventory/plate", Some(plate), &[]).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 1), ("plate", 2)]).await;
    assert_eq!(Api::payments(&service).confirm(&id, "pay-1", &total).await.status, StatusCode::OK);

    // The outbox publishes OrderPaid; the bus's rule routes it to the fulfilment queue.
    publish(&service).await;
    let fulfilment = service
        .poller(QueueFunction::FulfilOrder)
        .expect("the template wires fulfil-order to a queue");
    eventually(Duration::from_secs(10), || async {
        (fulfilment.poll_once().await.unwrap() > 0).then_some(())
    })
    .await;
    let order = alice.order(&id).await.body;
    assert_eq!(order["status"], "PROCESSING");
    let parts = order["seller_parts"].as_array().unwrap().clone();
    assert_eq!(parts.len(), 2);
    assert_eq!(
        (parts[0]["seller_id"].as_str(), parts[0]["subtotal"].as_str()),
        (Some("seller-1"), Some("8.00"))
    );
    assert_eq!(
        (parts[1]["seller_id"].as_str(), parts[1]["subtotal"].as_str()),
        (Some("seller-2"), Some("8.00"))
    );
    assert_eq!(parts[1]["items"], json!([{"item_id": "item-2", "quantity": 2}]));
    assert_eq!(
        (
            parts[0]["commission_rate"].as_str(),
            parts[0]["commission"].as_str(),
            parts[0]["payout"].as_str()
        ),
        (Some("0.10"), Some("0.80"), Some("7.20")),
        "each part carries the marketplace's commission (COMMISSION_RATE, no seller rate set) and the payout"
    );
    // The same step delivered again changes nothing.
    assert!(!start_fulfilment(service.app.fulfilment(), OrderId::parse(&id).unwrap())
        .await
        .unwrap());
    assert_eq!(alice.order(&id).await.body["version"], order["version"]);

    let (one, two) = (Api::seller(&service, "seller-1"), Api::seller(&service, "seller-2"));
    let shipped = |seller_id: &str, tracking: &str| json!({"seller_id": seller_id, "status": "SHIPPED", "carrier": "DHL", "tracking_number": tracking});
    let delivered = |seller_id: &str| json!({"seller_id": seller_id, "status": "DELIVERED"});
    let theirs = two.report(&id, shipped("seller-1", "X")).await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN, "a seller cannot ship another seller's part");
    assert_eq!(alice.report(&id, delivered("seller-1")).await.status, StatusCode::FORBIDDEN);
    let early = two.report(&id, delivered("seller-2")).await;
    assert_eq!((early.status, early.code()), (StatusCode::CONFLICT, "INVALID_TRANSITION"));

    assert_eq!(one.report(&id, shipped("seller-1", "A1")).await.body["status"], "PARTIALLY_SHIPPED");
    assert_eq!(one.report(&id, delivered("seller-1")).await.body["status"], "PARTIALLY_SHIPPED");
    let both = two.report(&id, shipped("seller-2", "B2")).await.body;
    assert_eq!(both["status"], "SHIPPED");
    assert_eq!(both["seller_parts"][1]["tracking_number"], "B2");
    let done = admin.report(&id, delivered("seller-2")).await.body;
    assert_eq!(done["status"], "DELIVERED");
    let again = two.report(&id, delivered("seller-2")).await.body;
    assert_eq!(again["version"], done["version"], "a repeated report writes nothing");
    assert_eq!(
        timeline(&done)[3..],
        ["PAID", "PROCESSING", "PARTIALLY_SHIPPED", "SHIPPED", "DELIVERED"].map(String::from)
    );

    publish(&service).await;
    let mut names: Vec<(u64, String)> = drain(&service, &subscriber)
        .await
        .iter()
        .map(|event| {
            (
                event["detail"]["version"].as_u64().unwrap(),
                event["detail"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    names.sort();
    let names: Vec<&str> = names.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "OrderPlaced",
            "OrderPaid",
            "OrderProcessing",
            "OrderPartiallyShipped",
            "SellerPartShipped",
            "OrderShipped",
            "SellerPartShipped",
            "OrderDelivered"
        ]
    );
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_moves_an_order_only_along_its_lifecycle_and_stock_and_money_keep_to_their_own_paths() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let set = |order: &str, status: &str| {
        let admin = admin.clone();
        let path = format!("/api/v1/orders/{order}/status");
        let body = json!({"status": status, "note": "by hand"});
        async move { admin.send(Method::PUT, &path, Some(body), &[]).await }
    };

    let (unpaid, _) = alice.reserved_order(&[("mug", 3)]).await;
    let illegal = set(&unpaid, "DELIVERED").await;
    assert_eq!((illegal.status, illegal.code()), (StatusCode::CONFLICT, "INVALID_TRANSITION"));
    assert_eq!(illegal.body["order_status"], "PENDING_PAYMENT");
    let money = set(&unpaid, "PAID").await;
    assert_eq!(
        (money.status, money.code()),
        (StatusCode::CONFLICT, "STATUS_HAS_ITS_OWN_PATH"),
        "{money:?}"
    );
    assert!(money.body["use"].as_str().unwrap().contains("confirm"));
    let by_customer = alice
        .send(
            Method::PUT,
            &format!("/api/v1/orders/{unpaid}/status"),
            Some(json!({"status": "CANCELLED"})),
            &[],
        )
        .await;
    assert_eq!(by_customer.status, StatusCode::FORBIDDEN);
    let cancelled = set(&unpaid, "CANCELLED").await;
    assert_eq!(cancelled.body["status"], "CANCELLED", "{cancelled:?}");
    let last = cancelled.body["status_history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["actor"].as_str(), last["note"].as_str()),
        (Some("admin:shop-admin"), Some("CANCELLED_BY_REQUEST: by hand"))
    );
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0), "cancelling released the stock");
    assert_eq!(
        set(&unpaid, "CANCELLED").await.body["version"],
        cancelled.body["version"],
        "already there"
    );

    let (paid, total) = alice.reserved_order(&[("mug", 1)]).await;
    Api::payments(&service).confirm(&paid, "pay-1", &total).await;
    let moved = set(&paid, "PROCESSING").await;
    // One read of the order, one of its sellers' rates, one write: nothing read twice.
    let timing = moved.headers["server-timing"].to_str().unwrap();
    assert!(timing.contains("desc=\"3 calls\""), "{timing}");
    let processing = moved.body;
    assert_eq!(processing["status"], "PROCESSING");
    assert_eq!(processing["seller_parts"].as_array().unwrap().len(), 1);
    assert!(
        !start_fulfilment(service.app.fulfilment(), OrderId::parse(&paid).unwrap())
            .await
            .unwrap(),
        "the queued step then has nothing to do"
    );
    assert_eq!(set(&paid, "SHIPPED").await.code(), "STATUS_HAS_ITS_OWN_PATH");
    Api::seller(&service, "seller-1")
        .report(
            &paid,
            json!({"seller_id": "seller-1", "status": "SHIPPED", "carrier": "UPS", "tracking_number": "1Z"}),
        )
        .await;
    let delivered = set(&paid, "DELIVERED").await.body;
    assert_eq!(delivered["status"], "DELIVERED");
    assert_eq!(delivered["seller_parts"][0]["status"], "DELIVERED");
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_500_settles_with_a_result_per_order_and_a_replay_starts_nothing_new() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "2.00", 1000).await;
    let customers: Vec<Api> = (0..5).map(|n| Api::customer(&service, &format!("c{n}"))).collect();
    let mut orders = Vec::new();
    for wave in 0..20 {
        let placed = futures::future::join_all((0..25).map(|n| customers[(wave + n) % 5].reserved_order(&[("mug", 1)]))).await;
        orders.extend(placed.into_iter().map(|(id, _)| id));
    }
    orders.truncate(499);
    let mut items: Vec<Value> = orders
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let action = if n < 250 { "cancel" } else { "PROCESSING" };
            json!({"order_id": id, "action": action, "note": "end of day"})
        })
        .collect();
    items.push(json!({"order_id": OrderId::new().to_string(), "action": "cancel"}));
    let body = json!({ "items": items });

    let start = |body: Value| {
        let admin = admin.clone();
        async move {
            admin
                .send(
                    Method::POST,
                    "/api/v1/orders/batch-process",
                    Some(body),
                    &[("idempotency-key", "eod-1")],
                )
                .await
        }
    };
    let accepted = start(body.clone()).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{accepted:?}");
    let batch_id = accepted.body["batch_id"].as_str().unwrap().to_owned();
    let replayed = start(body.clone()).await;
    assert_eq!(replayed.body["batch_id"], batch_id.as_str());
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
    let mut other = body.clone();
    other["items"][0]["action"] = json!("PROCESSING");
    assert_eq!(start(other).await.code(), "IDEMPOTENCY_KEY_REUSED");

    // Liveness, not speed: the local runner consumes the queue one batch at a time (Lambda would
    // scale out), and on 2 busy cores 500 messages can take more than a minute.
    let settled = eventually(Duration::from_secs(180), || async {
        let status = admin.get(&format!("/api/v1/orders/batch-process/{batch_id}")).await.body;
        (status["pending"] == 0).then_some(status)
    })
    .await;
    assert_eq!(
        (settled["total"].as_u64(), settled["succeeded"].as_u64(), settled["failed"].as_u64()),
        (Some(500), Some(250), Some(250))
    );
    let results = settled["results"].as_array().unwrap();
    assert_eq!(results.len(), 500, "one result per order, once, whatever the redeliveries");
    assert!(results[..250].iter().all(|r| r["result"] == "succeeded"));
    assert!(results[250..499].iter().all(|r| r["result"] == "INVALID_TRANSITION"));
    assert_eq!(results[499]["result"], "ORDER_NOT_FOUND");
    assert_eq!(counters(&admin.product("mug").await), (1000, 750, 250), "500 placed, 250 cancelled");
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_fulfilment_message_is_retried_then_lands_in_the_dead_letter_queue() {
    let service = service(Setup::driven_by_hand()).await;
    let sqs = &service.clients.sqs;
    let queue = &service.deployment.queues["FulfilmentQueue"];
    sqs.send_message()
        .queue_url(&queue.url)
        .message_body("{not an event")
        .send()
        .await
        .unwrap();
    let fulfilment = service.poller(QueueFunction::FulfilOrder).unwrap();
    // Each delivery fails and the message comes back; after maxReceiveCount (5) SQS moves it.
    let dead_letters = &service.deployment.queues["FulfilmentDeadLetterQueue"];
    let moved = eventually(Duration::from_secs(30), || async {
        fulfilment.poll_once().await.unwrap();
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&dead_letters.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        let count = attributes
            .get(&QueueAttributeName::ApproximateNumberOfMessages)
            .cloned()
            .unwrap_or_default();
        (count == "1").then_some(())
    })
    .await;
    assert_eq!(moved, ());
    assert_eq!(fulfilment.poll_once().await.unwrap(), 0, "nothing is left to retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_delivered_order_gets_one_invoice_and_invoice_numbers_have_no_gaps() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 100).await;
    let alice = Api::customer(&service, "alice");
    let (first, _) = delivered_order(&service, &alice, &[("mug", 1)]).await;
    assert_eq!(
        alice.get(&format!("/api/v1/orders/{first}/invoice")).await.code(),
        "INVOICE_NOT_FOUND",
        "not issued yet"
    );

    // OrderDelivered reaches the invoice queue through the bus; delivered twice, issued once.
    publish(&service).await;
    publish(&service).await;
    let invoices = service.poller(QueueFunction::IssueInvoice).unwrap();
    eventually(Duration::from_secs(10), || async {
        (invoices.poll_once().await.unwrap() > 0).then_some(())
    })
    .await;
    while invoices.poll_once().await.unwrap() > 0 {}
    let invoice = alice.get(&format!("/api/v1/orders/{first}/invoice")).await;
    assert_eq!(invoice.status, StatusCode::OK, "{invoice:?}");
    assert_eq!(invoice.body["number"], "INV-00000001");
    assert_eq!(invoice.body["total"], "8.00");
    let seller_share = &invoice.body["sellers"][0];
    assert_eq!(
        (seller_share["commission"].as_str(), seller_share["payout"].as_str()),
        (Some("0.80"), Some("7.20"))
    );
    let page = alice
        .send(
            Method::GET,
            &format!("/api/v1/orders/{first}/invoice"),
            None,
            &[("accept", "text/html")],
        )
        .await;
    let html = page.body.as_str().unwrap_or_default();
    assert!(
        html.contains("Invoice INV-00000001") && html.contains("<td class=\"n\">8.00</td>"),
        "{page:?}"
    );
    assert_eq!(
        Api::customer(&service, "bob")
            .get(&format!("/api/v1/orders/{first}/invoice"))
            .await
            .code(),
        "INVOICE_NOT_FOUND"
    );

    // A seller's own rate, once an admin sets one, replaces the configured one on later invoices.
    let rate = json!({"name": "Seller One", "email": "one@sellers.example", "commission_rate": "0.125"});
    let registered = admin.send(Method::PUT, "/api/v1/sellers/seller-1", Some(rate), &[]).await;
    assert_eq!(registered.status, StatusCode::OK, "{registered:?}");

    // Ten invoices issued at once take the next ten numbers, each once.
    let mut delivered = Vec::new();
    for _ in 0..10 {
        delivered.push(delivered_order(&service, &alice, &[("mug", 1)]).await.0);
    }
    let ids: Vec<OrderId> = delivered.iter().map(|id| OrderId::parse(id).unwrap()).collect();
    let issued = futures::future::join_all(ids.iter().map(|id| issue_invoice(service.app.invoicing(), *id))).await;
    assert!(issued.iter().all(|outcome| matches!(outcome, Ok(true))), "{issued:?}");
    let mut numbers = Vec::new();
    for id in &delivered {
        numbers.push(
            alice.get(&format!("/api/v1/orders/{id}/invoice")).await.body["sequence"]
                .as_u64()
                .unwrap(),
        );
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (2..=11).collect::<Vec<u64>>());
    let later = alice.get(&format!("/api/v1/orders/{}/invoice", delivered[0])).await.body;
    let share = &later["sellers"][0];
    assert_eq!(
        (
            share["commission_rate"].as_str(),
            share["commission"].as_str(),
            share["payout"].as_str()
        ),
        (Some("0.125"), Some("1.00"), Some("7.00")),
        "{later}"
    );
    assert!(
        !issue_invoice(service.app.invoicing(), ids[0]).await.unwrap(),
        "an invoice is issued once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_order_is_found_by_its_number_even_when_an_invoice_carries_that_number() {
    let service = service(Setup::driven_by_hand()).await;
    Api::admin(&service).put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = delivered_order(&service, &alice, &[("mug", 1)]).await;
    let order_id = OrderId::parse(&id).unwrap();
    assert!(issue_invoice(service.app.invoicing(), order_id).await.unwrap());
    let number = alice.get(&format!("/api/v1/orders/{id}")).await.body["order_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let table = &service.deployment.tables["OrdersTable"];
    let dynamodb = &service.clients.dynamodb;
    let invoice_key = || {
        std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S(format!("INVOICE#{id}"))),
            ("sk".to_owned(), AttributeValue::S("INVOICE".to_owned())),
        ])
    };
    let stored = dynamodb
        .get_item()
        .table_name(table)
        .set_key(Some(invoice_key()))
        .send()
        .await
        .unwrap();
    let stored = stored.item.expect("the invoice is stored");
    assert!(
        !stored.contains_key("order_number"),
        "a new invoice stays out of the index of order numbers"
    );

    // An invoice issued before kept the number in the indexed attribute, as a deployed table holds.
    let mut old_style = stored.clone();
    old_style.remove("number_of_order");
    old_style.insert("order_number".to_owned(), AttributeValue::S(number.clone()));
    dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(old_style))
        .send()
        .await
        .unwrap();
    for who in [&alice, &Api::admin(&service)] {
        let found = who.get(&format!("/api/v1/orders/by-number/{number}")).await;
        assert_eq!(
            (found.status, found.body["id"].as_str()),
            (StatusCode::OK, Some(id.as_str())),
            "{found:?}"
        );
    }
    let invoice = alice.get(&format!("/api/v1/orders/{id}/invoice")).await;
    assert_eq!(invoice.body["order_number"], number.as_str(), "{invoice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_asked_for_before_the_invoice_step_runs_still_gets_the_order_its_invoice() {
    let service = service(Setup::default()).await;
    Api::admin(&service).put_product("mug", "6.00", 10).await;
    let customer = Api::customer(&service, "quinn");
    // The event pipeline waits while the order is delivered and its return asked for.
    service.pipeline.hold(true);
    let (id, _) = delivered_order(&service, &customer, &[("mug", 1)]).await;
    customer.return_first_line(&id, "chipped").await;
    service.pipeline.hold(false);
    let invoice = eventually(Duration::from_secs(30), || async {
        let invoice = customer.get(&format!("/api/v1/orders/{id}/invoice")).await;
        invoice.status.is_success().then_some(invoice.body)
    })
    .await;
    assert_eq!(invoice["total"], "6.00", "{invoice}");
}
