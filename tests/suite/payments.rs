use std::time::Duration;

use orders_tests::sweep;
use orders_tests::{
    assert_invariants, at_stripe, cents, charged_intent, counters, eventually, service, sign_webhook, stripe_refunds, timeline, Api, Setup,
};
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

    // Stripe took the money anyway (a checkout left open in another tab): it is not the
    // order's, it is owed back. Stripe is answered 200, so that it does not retry.
    let late_payment = charged_intent(&service, &id, &total).await;
    let late = alice.pay(&id, &late_payment, &total).await;
    assert_eq!(
        (late.status, &late.body["outcome"]),
        (StatusCode::OK, &json!("refund_due")),
        "{late:?}"
    );
    let version = alice.order(&id).await.body["version"].clone();
    let again = alice.pay(&id, &late_payment, &total).await;
    assert_eq!(again.body["outcome"], "refund_due");
    let order = alice.order(&id).await.body;
    assert_eq!(order["status"], "CANCELLED");
    assert_eq!(order["refunds_due"].as_array().unwrap().len(), 1, "recorded once");
    assert_eq!(order["refunds_due"][0]["amount"], total.as_str());
    // Each provider payment is a record of its own: the order itself never grows.
    let mut late_payments = vec![late_payment];
    for _ in 0..5 {
        let payment = charged_intent(&service, &id, &total).await;
        assert_eq!(alice.pay(&id, &payment, &total).await.body["outcome"], "refund_due");
        late_payments.push(payment);
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
    for payment in &late_payments {
        let paid_back = stripe_refunds(&service, &json!({"payment": {"reference": payment}})).await;
        assert_eq!(paid_back.len(), 1, "each late payment paid back once: {paid_back:?}");
        assert_eq!(paid_back[0].amount, cents(&total));
        assert_eq!(paid_back[0].key, format!("{id}:late:{payment}"));
    }
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
    assert_eq!(alice.pay(&id, "pi_1", &total).await.body["outcome"], "paid");
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
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 2)]).await;
    let provider = Api::anonymous(&service);

    let event = provider.stripe_event("payment_intent.succeeded", &id, "pi_123", &total);
    let paid = provider.webhook(&event, None).await;
    assert_eq!((paid.status, &paid.body["outcome"]), (StatusCode::OK, &json!("paid")), "{paid:?}");
    assert_eq!(paid.body["order_status"], "PAID");
    assert!(paid.body.get("order").is_none(), "no personal data in Stripe's delivery log");
    let paid_order = alice.order(&id).await.body;
    let last = paid_order["status_history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "system:payment-provider");
    // Stripe delivers an event again until it is answered: once applied, it is known by its id.
    let replayed = provider.webhook(&event, None).await;
    assert_eq!((replayed.status, &replayed.body["outcome"]), (StatusCode::OK, &json!("duplicate")));
    // Another event about the same payment pays nothing more.
    let again = provider.pay(&id, "pi_123", &total).await;
    assert_eq!(again.body["outcome"], "paid");
    assert_eq!(
        timeline(&alice.order(&id).await.body),
        timeline(&paid_order),
        "nothing happened twice"
    );
    // A failure reported after the payment, as Stripe may deliver out of order, changes nothing.
    let failed_late = provider.stripe_event("payment_intent.payment_failed", &id, "pi_123", &total);
    assert_eq!(provider.webhook(&failed_late, None).await.body["outcome"], "unchanged");
    let order = alice.order(&id).await.body;
    assert_eq!((timeline(&order), &order["status"]), (timeline(&paid_order), &json!("PAID")));
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
    let event = provider.stripe_event("payment_intent.succeeded", &id, "pi_1", &total);
    let text = event.to_string();
    let now = chrono::Utc::now().timestamp();

    let mut tampered = event.clone();
    tampered["data"]["object"]["amount_received"] = json!(1);
    let cases = [
        (event.clone(), None::<String>, "no signature"),
        (event.clone(), Some(sign_webhook(&text, now - 301)), "five minutes old"),
        (event.clone(), Some(sign_webhook(&text, now + 301)), "from the future"),
        (event.clone(), Some("t=1,v1=zz".to_owned()), "malformed"),
        (
            event.clone(),
            Some(sign_webhook(&text, now).replace("v1=", "v0=")),
            "another scheme only",
        ),
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
async fn a_declined_card_leaves_the_order_payable_and_money_in_another_currency_or_amount_is_owed_back_not_taken() {
    let service = service(Setup::default()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 3)]).await;
    let provider = Api::anonymous(&service);
    let path = format!("/api/v1/orders/{id}/payment");
    let start = || alice.send(Method::POST, &path, Some(json!({"method": "online"})), &[]);
    let started = start().await;
    assert_eq!(started.status, StatusCode::CREATED, "{started:?}");
    let first = started.body["payment_id"].as_str().expect("an online payment has an id").to_owned();

    // Stripe events of types the service does not act on are answered 200 and ignored.
    let other = json!({"id": "evt_other", "object": "event", "type": "customer.created", "data": {"object": {"id": "cus_1"}}});
    assert_eq!(provider.webhook(&other, None).await.body["outcome"], "ignored");
    // Money in another currency, or not the total, does not pay the order: it is owed back.
    let mut euros = provider.stripe_event("payment_intent.succeeded", &id, &first, &total);
    euros["data"]["object"]["currency"] = json!("eur");
    let refused = provider.webhook(&euros, None).await;
    assert_eq!(
        (refused.status, &refused.body["outcome"]),
        (StatusCode::OK, &json!("refund_due")),
        "{refused:?}"
    );
    let short = provider.stripe_event("payment_intent.succeeded", &id, "pi_short", "23.99");
    assert_eq!(provider.webhook(&short, None).await.body["outcome"], "refund_due");
    let order = alice.order(&id).await.body;
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(order["refunds_due"].as_array().unwrap().len(), 2, "{order}");

    // A declined card closes the attempt, with Stripe's reason in the timeline; the order stays
    // payable with its stock held, and the next start is a new intent.
    let stranger = provider.stripe_event("payment_intent.payment_failed", &id, "pi_stranger", &total);
    assert_eq!(provider.webhook(&stranger, None).await.body["outcome"], "unchanged");
    let failure = provider.stripe_event("payment_intent.payment_failed", &id, &first, &total);
    let failed = provider.webhook(&failure, None).await;
    assert_eq!(
        (failed.status, &failed.body["outcome"]),
        (StatusCode::OK, &json!("attempt_closed")),
        "{failed:?}"
    );
    assert_eq!(failed.body["order_status"], "PENDING_PAYMENT");
    let note = alice.order(&id).await.body["status_history"].as_array().unwrap().last().unwrap()["note"].clone();
    assert_eq!(
        note,
        format!("PAYMENT_FAILED {first}: card_declined/generic_decline: Your card was declined.")
    );
    assert_eq!(provider.webhook(&failure, None).await.body["outcome"], "duplicate");
    assert_eq!(counters(&admin.product("mug").await), (10, 7, 3), "still held");
    let restarted = start().await;
    assert_eq!(restarted.status, StatusCode::CREATED, "{restarted:?}");
    let second = restarted.body["payment_id"].as_str().unwrap().to_owned();
    assert_ne!(second, first, "a new attempt is a new intent");
    assert_eq!(start().await.body["payment_id"], second.as_str(), "and asking again answers it");
    let paid = provider.pay(&id, &second, &total).await;
    assert_eq!(paid.body["order_status"], "PAID", "{paid:?}");
    assert_eq!(counters(&admin.product("mug").await), (7, 7, 0));
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
    let legacy = charged_intent(&service, &id, &total).await;
    // As orders stored before late payments were records of their own keep theirs.
    let inside = serde_dynamo::to_attribute_value(json!([{
        "reference": legacy, "amount": total, "received_at": chrono::Utc::now().to_rfc3339(),
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
    let paid_back = stripe_refunds(&service, &json!({"payment": {"reference": legacy}})).await;
    assert_eq!(paid_back.len(), 1, "{paid_back:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_reported_for_an_order_the_shop_does_not_have_is_kept_on_record_once() {
    let service = service(Setup::driven_by_hand()).await;
    let provider = Api::anonymous(&service);
    let unknown = "01a24a4e-0000-7000-8000-000000000001";
    for _ in 0..2 {
        let answer = provider.pay(unknown, "pi_stray", "12.00").await;
        assert_eq!(
            (answer.status, &answer.body["outcome"]),
            (StatusCode::OK, &json!("refund_due")),
            "{answer:?}"
        );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_a_declined_attempt_takes_after_cash_on_delivery_was_chosen_is_kept_to_be_paid_back() {
    let service = service(Setup::driven_by_hand()).await;
    Api::admin(&service).put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 1)]).await;
    let first = alice.start_online_payment(&id).await;
    let stripe = Api::anonymous(&service);
    let declined = stripe.stripe_event("payment_intent.payment_failed", &id, &first, &total);
    assert_eq!(stripe.webhook(&declined, None).await.body["outcome"], "attempt_closed");
    // Cash on delivery after the declined card: the declined attempt's intent is cancelled.
    let cod = alice
        .send(
            Method::POST,
            &format!("/api/v1/orders/{id}/payment"),
            Some(json!({"method": "cod"})),
            &[],
        )
        .await;
    assert_eq!(
        (cod.status, &cod.body["order_status"]),
        (StatusCode::CREATED, &json!("PROCESSING")),
        "{cod:?}"
    );
    let held = at_stripe(&service.stripe, &format!("/v1/payment_intents/{first}")).await;
    assert_eq!(held["status"], "canceled");
    // Had its checkout taken the money anyway, it is kept to be paid back, never lost.
    let taken = stripe.pay(&id, &first, &total).await;
    assert_eq!(taken.body["outcome"], "refund_due", "{taken:?}");
    let order = alice.order(&id).await.body;
    assert_eq!(
        (order["status"].as_str(), order["refunds_due"].as_array().map(Vec::len)),
        (Some("PROCESSING"), Some(1))
    );
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_cancelled_at_stripe_closes_its_attempt_and_the_order_stays_payable() {
    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 1)]).await;
    let first = alice.start_online_payment(&id).await;
    let stripe = Api::anonymous(&service);
    // Cancelled in Stripe's dashboard, say: signed as Stripe signs it.
    let cancelled = stripe.stripe_event("payment_intent.canceled", &id, &first, &total);
    let closed = stripe.webhook(&cancelled, None).await;
    assert_eq!(
        (&closed.body["outcome"], &closed.body["order_status"]),
        (&json!("attempt_closed"), &json!("PENDING_PAYMENT")),
        "{closed:?}"
    );
    let order = alice.order(&id).await.body;
    assert_eq!(
        order["status_history"].as_array().unwrap().last().unwrap()["note"],
        format!("PAYMENT_CANCELLED {first}")
    );
    assert_eq!(counters(&admin.product("mug").await), (10, 9, 1), "still held");
    let second = alice.start_online_payment(&id).await;
    assert_ne!(second, first, "the next attempt is a new intent");
    assert_eq!(stripe.pay(&id, &second, &total).await.body["order_status"], "PAID");
    assert_invariants(&service).await;
}
