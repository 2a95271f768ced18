use std::time::Duration;

use orders_tests::sweep;
use orders_tests::{assert_invariants, counters, eventually, service, sign_webhook, timeline, Api, Setup};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_three_of_five_reserved_orders_sells_three_and_keeps_two_reservations() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let mut orders = Vec::new();
    for n in 0..5 {
        let customer = Api::customer(&service, &format!("c{n}"));
        let (id, total) = customer.reserved_order(&[("mug", 1)]).await;
        orders.push((customer, id, total));
    }
    assert_eq!(counters(&admin.product("mug").await), (10, 5, 5));

    let payments = Api::payments(&service);
    for (_, id, total) in &orders[..3] {
        let paid = payments.confirm(id, &format!("pay-{id}"), total).await;
        assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
        assert_eq!(paid.body["status"], "PAID");
        assert_eq!(paid.body["payment_status"], "PAID");
        assert_eq!(paid.body["payment"]["reference"], format!("pay-{id}"));
        assert_eq!(timeline(&paid.body).last().map(String::as_str), Some("PAID"));
    }
    // Sold units left on_hand; the two unpaid orders still hold theirs.
    assert_eq!(counters(&admin.product("mug").await), (7, 5, 2));
    let pending = admin.get("/api/v1/orders?status=PENDING_PAYMENT").await;
    assert_eq!(pending.body["orders"].as_array().unwrap().len(), 2);
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_confirmation_changes_nothing_and_other_payments_are_refused() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 2)]).await;
    let payments = Api::payments(&service);

    let short = payments.confirm(&id, "pay-1", "15.99").await;
    assert_eq!((short.status, short.code()), (StatusCode::UNPROCESSABLE_ENTITY, "AMOUNT_MISMATCH"));
    assert_eq!(short.body["expected_amount"], "16.00");
    let paid = payments.confirm(&id, "pay-1", &total).await;
    let again = payments.confirm(&id, "pay-1", &total).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["version"], paid.body["version"], "the repeat wrote nothing");
    let other = payments.confirm(&id, "pay-2", &total).await;
    assert_eq!((other.status, other.code()), (StatusCode::CONFLICT, "ALREADY_PAID"));
    assert_eq!(counters(&admin.product("mug").await), (8, 8, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_for_a_cancelled_order_is_refused_and_kept_for_a_refund() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 3)]).await;
    assert_eq!(alice.cancel(&id).await.status, StatusCode::OK);

    let late = alice.pay(&id, "pay-late", &total).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "ORDER_NOT_PAYABLE"));
    assert_eq!(late.body["refund_due"], true);
    let version = alice.order(&id).await.body["version"].clone();
    let again = alice.pay(&id, "pay-late", &total).await;
    assert_eq!(again.code(), "ORDER_NOT_PAYABLE");
    let order = alice.order(&id).await.body;
    assert_eq!(order["status"], "CANCELLED");
    assert_eq!(order["refunds_due"].as_array().unwrap().len(), 1, "recorded once");
    assert_eq!(order["refunds_due"][0]["amount"], total.as_str());
    // Each provider payment is a record of its own: the order itself never grows.
    for n in 0..5 {
        assert_eq!(alice.pay(&id, &format!("pay-more-{n}"), &total).await.code(), "ORDER_NOT_PAYABLE");
    }
    let order = alice.order(&id).await.body;
    assert_eq!(order["refunds_due"].as_array().unwrap().len(), 6);
    assert_eq!(order["version"], version, "late payments never rewrite the order");
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));

    // The sweeper hands them to the refund step, which pays each back once, however often asked.
    for _ in 0..2 {
        let report = sweep(&service.app).await.unwrap();
        assert!(report.refunds_redriven <= 1, "{report:?}");
    }
    let refunded = eventually(Duration::from_secs(30), || async {
        let order = alice.order(&id).await.body;
        let dues = order["refunds_due"].as_array().unwrap().clone();
        dues.iter().all(|due| due["refund_status"] == "COMPLETED").then_some(dues)
    })
    .await;
    assert!(refunded
        .iter()
        .all(|due| due["refund_reference"].is_string() && due["refunded_at"].is_string()));
    let paid_back: Vec<_> = service
        .provider
        .refunds()
        .into_iter()
        .filter(|refund| refund.idempotency_key.starts_with(&format!("{id}:late:")))
        .collect();
    assert_eq!(paid_back.len(), 6, "each late payment paid back once: {paid_back:?}");
    assert!(paid_back.iter().all(|refund| refund.amount.to_string() == total));
    assert_eq!(sweep(&service.app).await.unwrap().refunds_redriven, 0, "nothing is owed any more");
    assert_eq!(
        alice.order(&id).await.body["version"],
        version,
        "still the order itself is not rewritten"
    );

    // Each refund is an event: counted apart from revenue, and told to the customer.
    let day = chrono::Utc::now().format("%Y-%m-%d");
    let expected = format!("{:.2}", 6.0 * total.parse::<f64>().unwrap());
    let counted = eventually(Duration::from_secs(30), || async {
        let report = admin.get(&format!("/api/v1/orders/analytics/daily?from={day}&to={day}")).await.body;
        (report["days"][0]["late_refunds"] == expected.as_str()).then_some(report)
    })
    .await;
    assert_eq!(counted["days"][0]["refunds"], "0.00", "{counted}");
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payment_cancels_the_order_and_releases_its_stock() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 4)]).await;
    let path = format!("/api/v1/orders/{id}/payment-failed");
    let by_customer = alice.send(Method::POST, &path, None, &[]).await;
    assert_eq!((by_customer.status, by_customer.code()), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let failed = Api::payments(&service).send(Method::POST, &path, None, &[]).await;
    assert_eq!(failed.status, StatusCode::OK, "{failed:?}");
    assert_eq!(failed.body["status"], "CANCELLED");
    assert_eq!(failed.body["payment_status"], "FAILED");
    assert_eq!(
        failed.body["status_history"].as_array().unwrap().last().unwrap()["note"],
        "PAYMENT_FAILED"
    );
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_twice_releases_once_and_adds_one_history_entry() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 4)]).await;
    let body = json!({"reason": "found it cheaper"});
    let first = alice
        .send(Method::POST, &format!("/api/v1/orders/{id}/cancel"), Some(body), &[])
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let last = first.body["status_history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "customer:alice");
    assert_eq!(last["note"], "CANCELLED_BY_REQUEST: found it cheaper");
    let second = alice.send(Method::DELETE, &format!("/api/v1/orders/{id}"), None, &[]).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(timeline(&second.body), timeline(&first.body));
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_is_cancelled_with_its_money_back_and_strangers_cannot_touch_an_order() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let bob = Api::customer(&service, "bob");
    let (id, total) = alice.reserved_order(&[("mug", 1)]).await;
    assert_eq!(bob.confirm(&id, "pay-x", &total).await.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.cancel(&id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(alice.pay(&id, "pay-1", &total).await.status, StatusCode::OK);
    assert_eq!(counters(&admin.product("mug").await), (9, 9, 0));
    assert_eq!(bob.cancel(&id).await.status, StatusCode::NOT_FOUND, "not even once paid");
    let cancelled = alice.cancel(&id).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{cancelled:?}");
    assert_eq!(cancelled.body["payment_status"], "REFUNDED");
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));
    let by_admin = admin.cancel(&id).await;
    assert_eq!(
        (by_admin.status, &by_admin.body["version"]),
        (StatusCode::OK, &cancelled.body["version"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payment_and_cancellation_bodies_are_refused() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 1)]).await;
    let payments = Api::payments(&service);
    let confirm = format!("/api/v1/orders/{id}/confirm");
    for body in [
        json!({"payment_reference": "p1"}),
        json!({"payment_reference": "p1", "amount": 8.0}),
        json!({"payment_reference": "p1", "amount": "8.001"}),
        json!({"payment_reference": "has space", "amount": "8.00"}),
        json!({"payment_reference": "p1", "amount": "8.00", "currency": "EUR"}),
    ] {
        let reply = payments.send(Method::POST, &confirm, Some(body.clone()), &[]).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED"),
            "{body}"
        );
    }
    let garbage = payments.send(Method::POST, &confirm, Some(json!("{")), &[]).await;
    assert_eq!(garbage.code(), "MALFORMED_JSON");
    let cancel = format!("/api/v1/orders/{id}/cancel");
    let long = alice
        .send(Method::POST, &cancel, Some(json!({"reason": "x".repeat(501)})), &[])
        .await;
    assert_eq!(long.code(), "VALIDATION_FAILED");
    let bad_id = alice.send(Method::POST, "/api/v1/orders/nope/cancel", None, &[]).await;
    assert_eq!(bad_id.code(), "INVALID_PATH_PARAMETER");
    assert_eq!(alice.order(&id).await.body["status"], "PENDING_PAYMENT");
    assert_eq!(counters(&admin.product("mug").await), (10, 9, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_cannot_mark_their_own_order_paid() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 2)]).await;

    let forged = alice.confirm(&id, "i-say-i-paid", &total).await;
    assert_eq!((forged.status, forged.code()), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{forged:?}");
    assert_eq!(alice.order(&id).await.body["status"], "PENDING_PAYMENT");
    assert_eq!(counters(&admin.product("mug").await), (10, 8, 2), "nothing was sold");

    // Admins and the payments service may confirm.
    let paid = admin.confirm(&id, "pay-1", &total).await;
    assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
    assert_eq!(
        paid.body["status_history"].as_array().unwrap().last().unwrap()["actor"],
        "admin:shop-admin"
    );
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_providers_signed_webhook_pays_once_and_a_replay_changes_nothing() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 2)]).await;
    let provider = Api::anonymous(&service);

    let paid = provider.pay(&id, "pi_123", &total).await;
    assert_eq!(paid.status, StatusCode::OK, "{paid:?}");
    assert_eq!(paid.body["status"], "PAID");
    let last = paid.body["status_history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "system:payment-provider");
    let replayed = provider.pay(&id, "pi_123", &total).await;
    assert_eq!(replayed.status, StatusCode::OK);
    assert_eq!(replayed.body["version"], paid.body["version"], "a replayed event writes nothing");
    assert_eq!(counters(&admin.product("mug").await), (8, 8, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_with_a_bad_or_stale_signature_is_refused_with_no_effect() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 1)]).await;
    let provider = Api::anonymous(&service);
    let event = json!({"type": "payment.succeeded", "order_id": id, "payment_reference": "pi_1", "amount": total, "currency": "USD"});
    let text = event.to_string();
    let now = chrono::Utc::now().timestamp();

    let tampered = json!({"type": "payment.succeeded", "order_id": id, "payment_reference": "pi_1", "amount": "0.01", "currency": "USD"});
    let cases = [
        (event.clone(), None::<String>, "no signature"),
        (event.clone(), Some(sign_webhook(&text, now - 301)), "five minutes old"),
        (event.clone(), Some(sign_webhook(&text, now + 301)), "from the future"),
        (event.clone(), Some("t=1,v1=zz".to_owned()), "malformed"),
        (tampered, Some(sign_webhook(&text, now)), "another body"),
    ];
    for (body, signature, case) in cases {
        let reply = match &signature {
            Some(signature) => provider.webhook(&body, Some(signature)).await,
            None => {
                provider
                    .send(Method::POST, "/api/v1/payments/webhook", Some(body.clone()), &[])
                    .await
            }
        };
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE"),
            "{case}: {reply:?}"
        );
    }
    assert_eq!(alice.order(&id).await.body["status"], "PENDING_PAYMENT");
    assert_eq!(counters(&admin.product("mug").await), (10, 9, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payment_reported_by_the_provider_cancels_and_releases_and_a_wrong_currency_is_refused() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 3)]).await;
    let provider = Api::anonymous(&service);

    let euros = json!({"type": "payment.succeeded", "order_id": id, "payment_reference": "pi_1", "amount": total, "currency": "EUR"});
    let refused = provider.webhook(&euros, None).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "CURRENCY_MISMATCH")
    );
    let unknown = json!({"type": "payment.refunded", "order_id": id, "payment_reference": "pi_1", "amount": total, "currency": "USD"});
    assert_eq!(provider.webhook(&unknown, None).await.code(), "VALIDATION_FAILED");

    // Only the failure of the order's current attempt cancels it.
    let stranger = json!({"type": "payment.failed", "order_id": id, "payment_reference": "pi_1", "amount": total, "currency": "USD"});
    let ignored = provider.webhook(&stranger, None).await;
    assert_eq!(
        (ignored.status, ignored.code()),
        (StatusCode::CONFLICT, "PAYMENT_NOT_CURRENT"),
        "{ignored:?}"
    );
    assert_eq!(alice.order(&id).await.body["status"], "PENDING_PAYMENT");
    let started = alice
        .send(
            Method::POST,
            &format!("/api/v1/orders/{id}/payment"),
            Some(json!({"method": "online"})),
            &[],
        )
        .await;
    let attempt = started.body["payment_id"].as_str().expect("an online payment has an id").to_owned();
    let earlier = json!({"type": "payment.failed", "order_id": id, "payment_reference": "pi_earlier", "amount": total, "currency": "USD"});
    assert_eq!(provider.webhook(&earlier, None).await.code(), "PAYMENT_NOT_CURRENT");

    let failure = json!({"type": "payment.failed", "order_id": id, "payment_reference": attempt, "amount": total, "currency": "USD", "livemode": false});
    let failed = provider.webhook(&failure, None).await;
    assert_eq!(failed.status, StatusCode::OK, "{failed:?}");
    assert_eq!(failed.body["status"], "CANCELLED");
    assert_eq!(failed.body["payment_status"], "FAILED");
    let again = provider.webhook(&failure, None).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["version"], failed.body["version"]);
    assert_eq!(counters(&admin.product("mug").await), (10, 10, 0));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_payment_kept_inside_an_order_stored_earlier_becomes_a_record_and_is_paid_back() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 1)]).await;
    assert_eq!(alice.cancel(&id).await.status, StatusCode::OK);
    // As orders stored before late payments were records of their own keep theirs.
    let inside = serde_dynamo::to_attribute_value(json!([{
        "reference": "pay-legacy", "amount": total, "received_at": chrono::Utc::now().to_rfc3339(),
    }]))
    .unwrap();
    service
        .clients
        .dynamodb
        .update_item()
        .table_name(&service.deployment.tables["OrdersTable"])
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("ORDER#{id}")))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("ORDER".into()))
        .update_expression("SET refunds_due = :inside")
        .expression_attribute_values(":inside", inside)
        .send()
        .await
        .unwrap();

    let order = alice.order(&id).await.body;
    assert_eq!(order["refunds_due"][0]["refund_status"], "PENDING", "{order}");
    sweep(&service.app).await.unwrap();
    let refunded = eventually(Duration::from_secs(30), || async {
        let order = alice.order(&id).await.body;
        (order["refunds_due"][0]["refund_status"] == "COMPLETED").then_some(order)
    })
    .await;
    assert_eq!(refunded["refunds_due"].as_array().unwrap().len(), 1, "once: {refunded}");
    let paid_back = service
        .provider
        .refunds()
        .into_iter()
        .filter(|refund| refund.payment.as_str() == "pay-legacy")
        .count();
    assert_eq!(paid_back, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_reported_for_an_order_the_shop_does_not_have_is_kept_on_record_once() {
    let service = service(Setup::driven_by_hand()).await;
    let provider = Api::anonymous(&service);
    let unknown = "01a24a4e-0000-7000-8000-000000000001";
    let event =
        json!({"type": "payment.succeeded", "order_id": unknown, "payment_reference": "pi_stray", "amount": "12.00", "currency": "USD"});
    for _ in 0..2 {
        let answer = provider.webhook(&event, None).await;
        assert_eq!((answer.status, answer.code()), (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND"));
    }
    let tables = &service.deployment.tables;
    let report = orders_local::check::check(
        &service.clients.dynamodb,
        &tables["OrdersTable"],
        &tables["InventoryTable"],
        orders_local::check::Thresholds::default(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let kept: Vec<String> = report.violations.iter().map(ToString::to_string).collect();
    assert_eq!(kept.len(), 1, "once: {kept:?}");
    assert!(
        kept[0].contains("pi_stray") && kept[0].contains("12.00") && kept[0].contains(unknown),
        "{kept:?}"
    );
}
