//! Money back: a paid order cancelled before it ships, admins' refunds, returns after delivery
//! and failed deliveries, through the API and the refund step, and never more than was paid.

use std::sync::Arc;
use std::time::Duration;

use orders_shared::adapters::faults::{FaultPlan, FaultPoint};
use orders_shared::domain::OrderId;
use orders_shared::handlers::QueueFunction;
use orders_shared::ports::ManualClock;
use orders_shared::service::refunds::{settle_refunds, SettleError};
use orders_tests::sweep;
use orders_tests::{
    assert_events_match, assert_invariants, cents, counters, delivered_order, eventually, pay_by_card, service, stripe_refunds, subscribe,
    timeline, Api, Reply, Setup, StripeRefund,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn stock(admin: &Api, products: &[(&str, &str, &str)]) {
    for (sku, seller, price) in products {
        let body = json!({"name": sku, "seller_id": seller, "price": price, "on_hand": 10});
        let reply = admin.send(Method::PUT, &format!("/api/v1/inventory/{sku}"), Some(body), &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }
}

async fn refund(admin: &Api, id: &str, key: &str, body: Value) -> Reply {
    admin
        .send(
            Method::POST,
            &format!("/api/v1/orders/{id}/refund"),
            Some(body),
            &[("idempotency-key", key)],
        )
        .await
}

/// A paid order of `lines`: its id and total.
async fn paid_order(service: &orders_local::RunningService, customer: &Api, lines: &[(&str, u32)]) -> (String, String) {
    let (id, total) = customer.reserved_order(lines).await;
    pay_by_card(service, &id, &total).await;
    (id, total)
}

/// What Stripe paid back on the order's payment.
async fn paid_back(service: &orders_local::RunningService, customer: &Api, id: &str) -> Vec<StripeRefund> {
    stripe_refunds(service, &customer.order(id).await.body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_cancelled_before_it_ships_gets_its_stock_back_and_its_payment_refunded_once() {
    let service = service(Setup::default()).await;
    let subscriber = subscribe(&service).await;
    let admin = Api::admin(&service);
    stock(&admin, &[("mug", "seller-1", "8.00"), ("plate", "seller-2", "4.50")]).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = paid_order(&service, &alice, &[("mug", 2), ("plate", 1)]).await;
    assert_eq!(counters(&admin.product("mug").await), (8, 8, 0), "sold units left on_hand");

    let cancelled = alice.cancel(&id).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
    let order = &cancelled.body;
    assert_eq!(
        (order["status"].as_str(), order["payment_status"].as_str()),
        (Some("CANCELLED"), Some("REFUNDED"))
    );
    assert_eq!(order["refunded_total"], total.as_str());
    let refunds = order["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (refunds[0]["refund_id"].as_str(), refunds[0]["amount"].as_str()),
        (Some("cancellation"), Some(total.as_str()))
    );
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0), "every sold unit is back");
    assert_eq!(counters(&admin.product("plate").await), (10, 10, 0));

    let again = alice.cancel(&id).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        (timeline(&again.body), again.body["refunds"].as_array().map(Vec::len)),
        (timeline(order), Some(1)),
        "a repeat changes nothing (the refund step may meanwhile have completed the refund)"
    );
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0), "nothing restocked twice");

    // The outbox publishes OrderRefunded; the refund queue's consumer has the provider pay it.
    let settled = eventually(Duration::from_secs(20), || async {
        let order = alice.order(&id).await.body;
        (order["refunds"][0]["status"] == "COMPLETED").then_some(order)
    })
    .await;
    assert!(settled["refunds"][0]["provider_reference"].is_string());
    let paid_back = paid_back(&service, &alice, &id).await;
    assert_eq!(paid_back.len(), 1, "{paid_back:?}");
    assert_eq!(paid_back[0].amount, cents(&total));
    assert_eq!(settled["refunds"][0]["provider_reference"], paid_back[0].id.as_str());
    assert_invariants(&service).await;
    assert_events_match(&service, &subscriber).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipped_order_cannot_be_cancelled_and_a_processing_one_can() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    stock(&admin, &[("mug", "seller-1", "8.00")]).await;
    let alice = Api::customer(&service, "alice");
    let status = |id: &str| format!("/api/v1/orders/{id}/status");
    let (shipped, _) = paid_order(&service, &alice, &[("mug", 1)]).await;
    admin
        .send(Method::PUT, &status(&shipped), Some(json!({"status": "PROCESSING"})), &[])
        .await;
    let report = json!({"seller_id": "seller-1", "status": "SHIPPED", "carrier": "DHL", "tracking_number": "T"});
    Api::seller(&service, "seller-1").report(&shipped, report).await;
    let refused = alice.cancel(&shipped).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::CONFLICT, "ORDER_NOT_CANCELLABLE"));

    let (processing, _) = paid_order(&service, &alice, &[("mug", 3)]).await;
    admin
        .send(Method::PUT, &status(&processing), Some(json!({"status": "PROCESSING"})), &[])
        .await;
    let cancelled = admin
        .send(
            Method::PUT,
            &status(&processing),
            Some(json!({"status": "CANCELLED", "note": "out of business"})),
            &[],
        )
        .await;
    assert_eq!(cancelled.body["status"], "CANCELLED", "{cancelled:?}");
    assert_eq!(cancelled.body["payment_status"], "REFUNDED");
    assert_eq!(
        counters(&admin.product("mug").await),
        (9, 9, 0),
        "the processing order's 3 are back, the shipped one's 1 is not"
    );
    let failed = Api::payments(&service)
        .send(Method::POST, &format!("/api/v1/orders/{shipped}/payment-failed"), None, &[])
        .await;
    assert_eq!(
        failed.status,
        StatusCode::CONFLICT,
        "a failed payment never cancels a paid order: {failed:?}"
    );
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refund_step_crashing_before_or_after_the_provider_pays_back_exactly_once() {
    let faults = FaultPlan::default();
    let service = service(Setup {
        poll_queues: false,
        faults: Some(faults.clone()),
        ..Setup::default()
    })
    .await;
    let admin = Api::admin(&service);
    stock(&admin, &[("mug", "seller-1", "8.00")]).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = paid_order(&service, &alice, &[("mug", 2)]).await;
    assert_eq!(alice.cancel(&id).await.body["refunds"][0]["status"], "PENDING");
    let order_id = OrderId::parse(&id).unwrap();

    faults.fail_next("refund.before_provider", FaultPoint::Crash, 1);
    assert!(matches!(
        settle_refunds(service.app.refund_step(), order_id).await,
        Err(SettleError::Crashed(_))
    ));
    assert!(paid_back(&service, &alice, &id).await.is_empty(), "it died before asking");
    faults.fail_next("refund.after_provider", FaultPoint::Crash, 1);
    assert!(matches!(
        settle_refunds(service.app.refund_step(), order_id).await,
        Err(SettleError::Crashed(_))
    ));
    assert_eq!(
        paid_back(&service, &alice, &id).await.len(),
        1,
        "Stripe paid, the order does not know yet"
    );
    assert_eq!(alice.order(&id).await.body["refunds"][0]["status"], "PENDING");

    // The step comes back (SQS redelivers it): the provider answers the same refund, paying nothing more.
    assert_eq!(settle_refunds(service.app.refund_step(), order_id).await.unwrap(), 1);
    assert_eq!(
        settle_refunds(service.app.refund_step(), order_id).await.unwrap(),
        0,
        "a duplicate changes nothing"
    );
    let event =
        json!({"Records": [{"messageId": "m-1", "body": json!({"detail-type": "OrderRefunded", "detail": {"order_id": id}}).to_string()}]});
    for _ in 0..2 {
        let response = QueueFunction::SettleRefunds
            .handle(&service.app, serde_json::from_value(event.clone()).unwrap())
            .await;
        assert!(response.batch_item_failures.is_empty());
    }
    let order = alice.order(&id).await.body;
    let paid_back = stripe_refunds(&service, &order).await;
    assert_eq!(paid_back.len(), 1, "{paid_back:?}");
    assert_eq!(paid_back[0].amount, cents(&total));
    assert_eq!(order["refunds"][0]["status"], "COMPLETED");
    assert_eq!(order["refunds"][0]["provider_reference"], paid_back[0].id.as_str());
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_five_concurrent_refunds_only_the_three_that_fit_the_payment_succeed() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    stock(&admin, &[("mug", "seller-1", "10.00")]).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = paid_order(&service, &alice, &[("mug", 1)]).await;
    assert_eq!(total, "10.00");

    let attempts = (0..5).map(|n| {
        let admin = Api::admin(&service);
        let id = id.clone();
        async move { refund(&admin, &id, &format!("refund-{n}"), json!({"amount": "3.00", "reason": "goodwill"})).await }
    });
    let replies = futures::future::join_all(attempts).await;
    let created = replies.iter().filter(|reply| reply.status == StatusCode::CREATED).count();
    let refused: Vec<&Reply> = replies.iter().filter(|reply| reply.status == StatusCode::CONFLICT).collect();
    assert_eq!((created, refused.len()), (3, 2), "{replies:?}");
    for reply in refused {
        assert_eq!(reply.code(), "REFUND_EXCEEDS_PAYMENT");
        assert_eq!(reply.body["refundable"], "1.00");
    }
    let order = alice.order(&id).await.body;
    assert_eq!(order["refunded_total"], "9.00");
    assert_eq!(order["payment_status"], "PARTIALLY_REFUNDED");
    assert_eq!(order["refunds"].as_array().unwrap().len(), 3);

    // A retry with its key finds its refund; the key with another refund is refused.
    let first = replies.iter().find(|reply| reply.status == StatusCode::CREATED).unwrap();
    let key = ["refund-0", "refund-1", "refund-2", "refund-3", "refund-4"]
        .into_iter()
        .find(|key| orders_shared::domain::order::requested_refund_id(key).as_str() == first.body["refund"]["refund_id"])
        .unwrap();
    let replay = refund(&admin, &id, key, json!({"amount": "3.00", "reason": "goodwill"})).await;
    assert_eq!((replay.status, &replay.body["refund"]), (StatusCode::OK, &first.body["refund"]));
    assert_eq!(replay.body["order"]["version"], order["version"], "a replay writes nothing");
    let reused = refund(&admin, &id, key, json!({"amount": "1.00", "reason": "goodwill"})).await;
    assert_eq!(
        (reused.status, reused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED")
    );

    let rest = refund(&admin, &id, "refund-rest", json!({"amount": "1.00", "reason": "the rest"})).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{rest:?}");
    assert_eq!(rest.body["order"]["payment_status"], "REFUNDED");
    let more = refund(&admin, &id, "refund-more", json!({"amount": "0.01", "reason": "too much"})).await;
    assert_eq!(
        (more.status, more.body["refundable"].as_str()),
        (StatusCode::CONFLICT, Some("0.00"))
    );
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_by_lines_is_worth_their_price_and_tax_and_may_put_them_back_in_stock() {
    let service = service(Setup {
        environment: vec![
            ("ORDERS_TAX_RATE".into(), "0.10".into()),
            ("ORDERS_SHIPPING_FEE".into(), "5.00".into()),
        ],
        poll_queues: false,
        ..Setup::default()
    })
    .await;
    let admin = Api::admin(&service);
    stock(&admin, &[("mug", "seller-1", "8.00"), ("plate", "seller-1", "2.00")]).await;
    let alice = Api::customer(&service, "alice");
    let (unpaid, _) = alice.reserved_order(&[("mug", 1)]).await;
    let (id, total) = paid_order(&service, &alice, &[("mug", 2), ("plate", 3)]).await;
    assert_eq!(total, "29.20", "22.00 + 2.20 tax + 5.00 shipping");

    let not_paid = refund(&admin, &unpaid, "k0", json!({"amount": "1.00", "reason": "x"})).await;
    assert_eq!((not_paid.status, not_paid.code()), (StatusCode::CONFLICT, "ORDER_NOT_PAID"));
    let no_key = admin
        .send(
            Method::POST,
            &format!("/api/v1/orders/{id}/refund"),
            Some(json!({"amount": "1.00", "reason": "x"})),
            &[],
        )
        .await;
    assert_eq!(
        (no_key.status, no_key.code()),
        (StatusCode::BAD_REQUEST, "IDEMPOTENCY_KEY_REQUIRED")
    );
    for (body, code) in [
        (
            json!({"amount": "1.00", "lines": [{"item_id": "item-1", "quantity": 1}], "reason": "x"}),
            "AMOUNT_OR_LINES",
        ),
        (json!({"amount": "1.00", "reason": "x", "restock": true}), "RESTOCK_NEEDS_LINES"),
        (json!({"amount": "0", "reason": "x"}), "INVALID_MONEY"),
        (
            json!({"lines": [{"item_id": "item-1", "quantity": 1}, {"item_id": "item-1", "quantity": 1}], "reason": "x"}),
            "DUPLICATE_ITEM",
        ),
        (json!({"lines": [{"item_id": "item-1", "quantity": 1}]}), "MISSING_FIELD"),
    ] {
        let reply = refund(&admin, &id, "k-bad", body.clone()).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {reply:?}");
        assert!(reply.body.to_string().contains(code), "{body}: {reply:?}");
    }

    let plates = refund(
        &admin,
        &id,
        "k1",
        json!({"lines": [{"item_id": "item-2", "quantity": 2}], "reason": "chipped", "restock": true}),
    )
    .await;
    assert_eq!(plates.status, StatusCode::CREATED, "{plates:?}");
    assert_eq!(plates.body["refund"]["amount"], "4.40", "2 x 2.00 and their 10% tax");
    assert_eq!(plates.body["refund"]["restocked"], json!([{"item_id": "item-2", "quantity": 2}]));
    assert_eq!(counters(&admin.product("plate").await), (9, 9, 0), "7 left after the sale, 2 back");
    let too_many = refund(
        &admin,
        &id,
        "k2",
        json!({"lines": [{"item_id": "item-2", "quantity": 2}], "reason": "chipped"}),
    )
    .await;
    assert_eq!((too_many.status, too_many.code()), (StatusCode::CONFLICT, "REFUND_EXCEEDS_LINE"));
    assert_eq!(too_many.body["refundable_units"], 1);
    let unknown = refund(
        &admin,
        &id,
        "k3",
        json!({"lines": [{"item_id": "item-9", "quantity": 1}], "reason": "x"}),
    )
    .await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::UNPROCESSABLE_ENTITY, "UNKNOWN_ITEM"));
    let mugs = refund(
        &admin,
        &id,
        "k4",
        json!({"lines": [{"item_id": "item-1", "quantity": 1}], "reason": "kept by the customer"}),
    )
    .await;
    assert_eq!(mugs.body["refund"]["amount"], "8.80");
    assert_eq!(
        counters(&admin.product("mug").await),
        (8, 7, 1),
        "not restocked unless asked (one held by the unpaid order)"
    );
    assert_eq!(mugs.body["order"]["refunded_total"], "13.20");
    let part = refund(&admin, &id, "k5", json!({"amount": "1.00", "reason": "goodwill"})).await;
    assert_eq!(part.status, StatusCode::CREATED, "{part:?}");

    // The refund step pays each back at Stripe once, by lines or by amount, however often it runs.
    let order_id = OrderId::parse(&id).unwrap();
    assert_eq!(settle_refunds(service.app.refund_step(), order_id).await.unwrap(), 3);
    assert_eq!(settle_refunds(service.app.refund_step(), order_id).await.unwrap(), 0);
    let order = alice.order(&id).await.body;
    let mut paid_back: Vec<(i64, String)> = stripe_refunds(&service, &order)
        .await
        .into_iter()
        .map(|refund| (refund.amount, refund.key))
        .collect();
    paid_back.sort();
    let key = |reply: &Reply| format!("{id}:{}", reply.body["refund"]["refund_id"].as_str().unwrap());
    assert_eq!(
        paid_back,
        [(100, key(&part)), (440, key(&plates)), (880, key(&mugs))],
        "each refund once, for its amount"
    );
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_inside_the_window_is_restocked_and_refunded_on_approval_and_one_outside_is_refused() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let service = service(Setup {
        clock: Some(clock.clone()),
        poll_queues: false,
        ..Setup::default()
    })
    .await;
    let admin = Api::admin(&service);
    stock(&admin, &[("mug", "seller-1", "8.00"), ("plate", "seller-1", "3.00")]).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = delivered_order(&service, &alice, &[("mug", 2), ("plate", 1)]).await;
    let returns = format!("/api/v1/orders/{id}/returns");
    let ask = |lines: Value| json!({"lines": lines, "reason": "too small"});
    let ask_return = |api: &Api, lines: Value| {
        let (api, path) = (api.clone(), returns.clone());
        async move { api.send(Method::POST, &path, Some(ask(lines)), &[]).await }
    };

    let bob = Api::customer(&service, "bob");
    let theirs = ask_return(&bob, json!([{"item_id": "item-1", "quantity": 1}])).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "only the customer's own order");
    let beyond = ask_return(&alice, json!([{"item_id": "item-1", "quantity": 3}])).await;
    assert_eq!((beyond.status, beyond.code()), (StatusCode::CONFLICT, "RETURN_EXCEEDS_DELIVERED"));
    assert_eq!(beyond.body["returnable_units"], 2);

    clock.advance(chrono::Duration::days(29));
    let asked = ask_return(&alice, json!([{"item_id": "item-1", "quantity": 1}])).await;
    assert_eq!(asked.status, StatusCode::CREATED, "{asked:?}");
    assert_eq!(asked.body["order"]["status"], "RETURN_REQUESTED");
    let return_id = asked.body["return"]["return_id"].as_str().unwrap().to_owned();
    let again = ask_return(&alice, json!([{"item_id": "item-1", "quantity": 1}])).await;
    assert_eq!(
        (again.status, &again.body["return"]["return_id"]),
        (StatusCode::OK, &asked.body["return"]["return_id"])
    );
    let other = ask_return(&alice, json!([{"item_id": "item-2", "quantity": 1}])).await;
    assert_eq!((other.status, other.code()), (StatusCode::CONFLICT, "RETURN_ALREADY_OPEN"));

    let approve = format!("{returns}/{return_id}/approve");
    assert_eq!(alice.send(Method::POST, &approve, None, &[]).await.status, StatusCode::FORBIDDEN);
    let approved = admin.send(Method::POST, &approve, Some(json!({"note": "received"})), &[]).await;
    assert_eq!(approved.status, StatusCode::OK, "{approved:?}");
    let order = &approved.body;
    assert_eq!(
        (order["status"].as_str(), order["payment_status"].as_str()),
        (Some("RETURNED"), Some("PARTIALLY_REFUNDED"))
    );
    assert_eq!(order["refunds"][0]["amount"], "8.00");
    assert_eq!(order["returns"][0]["status"], "APPROVED");
    assert_eq!(
        counters(&admin.product("mug").await),
        (9, 9, 0),
        "the returned mug is back on the shelf"
    );
    let twice = admin.send(Method::POST, &approve, None, &[]).await;
    assert_eq!(twice.body["version"], order["version"], "approving again changes nothing");
    assert_eq!(counters(&admin.product("mug").await), (9, 9, 0));

    // A partial return leaves the other lines returnable; a rejection puts the order back.
    let plate = ask_return(&alice, json!([{"item_id": "item-2", "quantity": 1}])).await;
    assert_eq!(plate.status, StatusCode::CREATED, "{plate:?}");
    let second = plate.body["return"]["return_id"].as_str().unwrap().to_owned();
    let reject = format!("{returns}/{second}/reject");
    let no_note = admin.send(Method::POST, &reject, None, &[]).await;
    assert_eq!(no_note.status, StatusCode::UNPROCESSABLE_ENTITY, "a rejection says why");
    let rejected = admin.send(Method::POST, &reject, Some(json!({"note": "used"})), &[]).await;
    assert_eq!(rejected.body["status"], "RETURNED", "{rejected:?}");
    assert_eq!(rejected.body["returns"][1]["status"], "REJECTED");
    let late_approval = admin.send(Method::POST, &format!("{returns}/{second}/approve"), None, &[]).await;
    assert_eq!(
        (late_approval.status, late_approval.code()),
        (StatusCode::CONFLICT, "RETURN_ALREADY_DECIDED")
    );
    assert_eq!(
        timeline(&rejected.body)[timeline(&rejected.body).len() - 4..],
        ["RETURN_REQUESTED", "RETURNED", "RETURN_REQUESTED", "RETURNED"].map(String::from)
    );

    clock.advance(chrono::Duration::days(2));
    let late = ask_return(&alice, json!([{"item_id": "item-1", "quantity": 1}])).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "RETURN_WINDOW_CLOSED"));
    let (undelivered, _) = paid_order(&service, &alice, &[("mug", 1)]).await;
    let early = alice
        .send(
            Method::POST,
            &format!("/api/v1/orders/{undelivered}/returns"),
            Some(ask(json!([{"item_id": "item-1", "quantity": 1}]))),
            &[],
        )
        .await;
    assert_eq!((early.status, early.code()), (StatusCode::CONFLICT, "ORDER_NOT_DELIVERED"));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_fails_delivery_is_restocked_and_refunded_once_and_the_order_says_so() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    stock(&admin, &[("mug", "seller-1", "8.00"), ("plate", "seller-2", "4.00")]).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = paid_order(&service, &alice, &[("mug", 1), ("plate", 2)]).await;
    let status = format!("/api/v1/orders/{id}/status");
    admin.send(Method::PUT, &status, Some(json!({"status": "PROCESSING"})), &[]).await;
    let (one, two) = (Api::seller(&service, "seller-1"), Api::seller(&service, "seller-2"));
    let shipped = |seller: &str| json!({"seller_id": seller, "status": "SHIPPED", "carrier": "DHL", "tracking_number": "T"});
    let failed = json!({"seller_id": "seller-2", "status": "DELIVERY_FAILED", "reason": "address unknown"});
    let early = two.report(&id, failed.clone()).await;
    assert_eq!(
        (early.status, early.code()),
        (StatusCode::CONFLICT, "INVALID_TRANSITION"),
        "not shipped yet"
    );
    one.report(&id, shipped("seller-1")).await;
    two.report(&id, shipped("seller-2")).await;

    let reported = two.report(&id, failed.clone()).await;
    assert_eq!(reported.status, StatusCode::OK, "{reported:?}");
    let order = &reported.body;
    assert_eq!(order["status"], "SHIPPED", "seller-1's part is still on its way");
    assert_eq!(order["seller_parts"][1]["status"], "DELIVERY_FAILED");
    assert_eq!(order["refunds"][0]["amount"], "8.00");
    assert_eq!(order["refunds"][0]["restocked"], json!([{"item_id": "item-2", "quantity": 2}]));
    let notes: Vec<&str> = order["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|change| change["note"].as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|note| note.starts_with("DELIVERY_FAILED seller-2: address unknown")),
        "{notes:?}"
    );
    assert_eq!(counters(&admin.product("plate").await), (10, 10, 0));
    let again = two.report(&id, failed).await;
    assert_eq!(again.body["version"], order["version"], "a repeated report refunds nothing more");
    assert_eq!(counters(&admin.product("plate").await), (10, 10, 0));

    let delivered = one.report(&id, json!({"seller_id": "seller-1", "status": "DELIVERED"})).await;
    assert_eq!(delivered.body["status"], "DELIVERED", "{delivered:?}");
    assert_eq!(delivered.body["payment_status"], "PARTIALLY_REFUNDED");
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restocked_units_leave_the_part_to_ship_with_their_payout_and_once_shipped_come_back_only_by_a_return() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    stock(&admin, &[("mug", "seller-1", "10.00"), ("plate", "seller-2", "5.00")]).await;
    let alice = Api::customer(&service, "alice");

    // Restocked while PAID, before the parts exist: the part is made without that unit.
    let (early, _) = paid_order(&service, &alice, &[("mug", 3)]).await;
    let one = json!({"lines": [{"item_id": "item-1", "quantity": 1}], "reason": "damaged in store", "restock": true});
    assert_eq!(refund(&admin, &early, "e1", one.clone()).await.status, StatusCode::CREATED);
    let status = format!("/api/v1/orders/{early}/status");
    let processing = admin
        .send(Method::PUT, &status, Some(json!({"status": "PROCESSING"})), &[])
        .await
        .body;
    assert_eq!(
        processing["seller_parts"][0]["items"],
        json!([{"item_id": "item-1", "quantity": 2}]),
        "{processing}"
    );
    assert_eq!(processing["seller_parts"][0]["subtotal"], "20.00");

    // Restocked while the part waits to ship: the part gives the unit up, and its payout.
    let (id, _) = paid_order(&service, &alice, &[("mug", 3), ("plate", 2)]).await;
    let status = format!("/api/v1/orders/{id}/status");
    let before = admin
        .send(Method::PUT, &status, Some(json!({"status": "PROCESSING"})), &[])
        .await
        .body;
    let part = |order: &Value, seller: &str| {
        order["seller_parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|part| part["seller_id"] == seller)
            .cloned()
    };
    let mugs_before = part(&before, "seller-1").unwrap();
    let refunded = refund(&admin, &id, "r1", one.clone()).await;
    assert_eq!(refunded.status, StatusCode::CREATED, "{refunded:?}");
    let mugs = part(&refunded.body["order"], "seller-1").unwrap();
    assert_eq!(mugs["items"], json!([{"item_id": "item-1", "quantity": 2}]));
    assert_eq!(mugs["subtotal"], "20.00");
    let amount = |value: &Value| value.as_str().unwrap().parse::<f64>().unwrap();
    assert!(amount(&mugs["payout"]) < amount(&mugs_before["payout"]), "{mugs} {mugs_before}");
    assert_eq!(
        amount(&mugs["payout"]) + amount(&mugs["commission"]),
        20.0,
        "the payout and commission are of what ships"
    );

    // Seller 1 ships: a restock of their units is refused (a return brings them back).
    let shipped = json!({"seller_id": "seller-1", "status": "SHIPPED", "carrier": "DHL", "tracking_number": "T1"});
    assert_eq!(Api::seller(&service, "seller-1").report(&id, shipped).await.status, StatusCode::OK);
    let after_shipping = refund(
        &admin,
        &id,
        "r2",
        json!({"lines": [{"item_id": "item-1", "quantity": 1}], "reason": "x", "restock": true}),
    )
    .await;
    assert_eq!(
        (after_shipping.status, after_shipping.code()),
        (StatusCode::CONFLICT, "ALREADY_SHIPPED"),
        "{after_shipping:?}"
    );
    // Every plate restocked before seller 2 ships: their part goes, and the order has shipped.
    let plates = json!({"lines": [{"item_id": "item-2", "quantity": 2}], "reason": "out of plates", "restock": true});
    let emptied = refund(&admin, &id, "r3", plates).await;
    assert_eq!(emptied.status, StatusCode::CREATED, "{emptied:?}");
    assert!(part(&emptied.body["order"], "seller-2").is_none());
    assert_eq!(emptied.body["order"]["status"], "SHIPPED");
    assert_eq!(counters(&admin.product("plate").await), (10, 10, 0), "the plates never left");
    assert_eq!(
        counters(&admin.product("mug").await),
        (6, 6, 0),
        "two mugs of each order left; one of each came back"
    );
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_whose_message_died_is_redriven_by_the_sweeper_once_overdue_and_paid_once() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let service = service(Setup {
        clock: Some(clock.clone()),
        ..Setup::driven_by_hand()
    })
    .await;
    let admin = Api::admin(&service);
    stock(&admin, &[("mug", "seller-1", "10.00")]).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = paid_order(&service, &alice, &[("mug", 2)]).await;
    // Recorded, but its OrderRefunded message never reaches the refund step (nothing polls here).
    let body = json!({"lines": [{"item_id": "item-1", "quantity": 1}], "reason": "scratched"});
    assert_eq!(refund(&admin, &id, "lost", body).await.status, StatusCode::CREATED);

    let sweep_now = || async { sweep(&service.app).await.unwrap() };
    assert_eq!(sweep_now().await.refunds_redriven, 0, "its own message may still be on its way");
    clock.advance(chrono::Duration::minutes(16));
    assert_eq!(sweep_now().await.refunds_redriven, 1);
    let step = service.poller(QueueFunction::SettleRefunds).expect("the refund step has a queue");
    assert_eq!(step.poll_once().await.unwrap(), 1);
    let order = alice.order(&id).await.body;
    assert_eq!(order["refunds"][0]["status"], "COMPLETED", "{order}");
    assert_eq!(sweep_now().await.refunds_redriven, 0, "paid: out of the index");
    assert_eq!(stripe_refunds(&service, &order).await.len(), 1);
}
