//! The Stripe adapter against localstripe, a stateful fake Stripe server: what it asks Stripe
//! for is what Stripe holds afterwards.

use orders_local::stripe_cards::{pay_with_card, CARD_DECLINED, CARD_PAYS, LOCAL_SECRET_KEY};
use orders_shared::adapters::stripe::{StripeKey, StripeProvider};
use orders_shared::domain::order::PaymentMethod;
use orders_shared::domain::{Money, OrderId, PaymentReference};
use orders_shared::ports::{IntentRequest, PaymentProvider, ProviderError};

use std::sync::Arc;
use std::time::Duration;

use orders_shared::ports::ManualClock;
use orders_tests::{
    assert_invariants, cents, counters, drain, emulators, eventually, pay_by_card, service, stripe_refunds, subscribe, sweep, timeline,
    Api, Setup,
};
use serde_json::Value;

fn provider_at(base: &str) -> StripeProvider {
    StripeProvider::new(base, StripeKey::parse(LOCAL_SECRET_KEY).unwrap(), "adapter-tests").unwrap()
}

fn provider() -> StripeProvider {
    provider_at(&emulators().stripe.endpoint())
}

/// What localstripe holds at `path`.
async fn at_stripe(path: &str) -> Value {
    orders_tests::at_stripe(&emulators().stripe.endpoint(), path).await
}

async fn intent_for(order: OrderId, amount: &str, currency: &str) -> PaymentReference {
    let key = format!("{order}:online:{amount}");
    let intent = provider()
        .create_intent(IntentRequest {
            order,
            order_number: Some("ORD-20261206-000042"),
            method: PaymentMethod::Online,
            amount: Money::parse(amount).unwrap(),
            currency,
            idempotency_key: &key,
        })
        .await
        .unwrap();
    assert!(intent
        .client_secret
        .is_some_and(|secret| secret.starts_with(intent.payment_id.as_str())));
    intent.payment_id
}

#[tokio::test]
async fn an_intent_asks_for_the_total_in_the_currencys_minor_units_with_the_order_in_its_metadata() {
    for (amount, currency, units) in [("19.99", "USD", 1999), ("1500", "JPY", 1500), ("12.34", "KWD", 12340)] {
        let order = OrderId::new();
        let id = intent_for(order, amount, currency).await;
        let held = at_stripe(&format!("/v1/payment_intents/{id}")).await;
        assert_eq!(held["amount"], units, "{held}");
        assert_eq!(held["currency"], currency.to_ascii_lowercase());
        assert_eq!(held["metadata"]["order_id"], order.to_string());
        assert_eq!(held["metadata"]["order_number"], "ORD-20261206-000042");
        assert_eq!(held["metadata"]["shop"], "adapter-tests");
        assert_eq!(held["status"], "requires_payment_method");
    }
    let fraction = provider()
        .create_intent(IntentRequest {
            order: OrderId::new(),
            order_number: None,
            method: PaymentMethod::Online,
            amount: Money::parse("10.50").unwrap(),
            currency: "JPY",
            idempotency_key: "fraction",
        })
        .await;
    assert!(matches!(fraction, Err(ProviderError::Refused(_))), "{fraction:?}");
}

#[tokio::test]
async fn a_refund_asked_again_with_its_key_pays_once_even_when_the_first_answer_was_lost() {
    let id = intent_for(OrderId::new(), "30.00", "USD").await;
    let paid = pay_with_card(&emulators().stripe.endpoint(), id.as_str(), CARD_PAYS).await.unwrap();
    assert_eq!(paid.status, "succeeded");
    let usd = |text: &str| Money::parse(text).unwrap();
    let first = provider().refund(&id, "order-1:refund-a", usd("5.00"), "USD").await.unwrap();
    // The same refund asked again (a retry after a crash that lost Stripe's answer) is found.
    let again = provider().refund(&id, "order-1:refund-a", usd("5.00"), "USD").await.unwrap();
    assert_eq!(first, again);
    let other = provider().refund(&id, "order-1:refund-b", usd("2.50"), "USD").await.unwrap();
    assert_ne!(first, other);
    let refunds = at_stripe(&format!("/v1/refunds?payment_intent={id}")).await;
    let mut made: Vec<(i64, String)> = refunds["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|refund| {
            (
                refund["amount"].as_i64().unwrap(),
                refund["metadata"]["refund_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    made.sort();
    assert_eq!(
        made,
        vec![(250, "order-1:refund-b".to_owned()), (500, "order-1:refund-a".to_owned())]
    );
}

#[tokio::test]
async fn a_declined_card_leaves_the_intent_payable_and_refunding_it_is_refused() {
    let id = intent_for(OrderId::new(), "8.00", "USD").await;
    let declined = pay_with_card(&emulators().stripe.endpoint(), id.as_str(), CARD_DECLINED)
        .await
        .unwrap();
    assert_eq!(declined.status, "requires_payment_method");
    assert_eq!(declined.decline.as_deref(), Some("card_declined"));
    let refund = provider().refund(&id, "never-paid", Money::parse("8.00").unwrap(), "USD").await;
    assert!(matches!(refund, Err(ProviderError::Refused(_))), "{refund:?}");
    let unknown = PaymentReference::parse("pi_unknown").unwrap();
    let refund = provider().refund(&unknown, "unknown", Money::parse("1.00").unwrap(), "USD").await;
    assert!(matches!(refund, Err(ProviderError::Refused(_))), "{refund:?}");
}

#[tokio::test]
async fn an_unreachable_stripe_is_unavailable_not_a_refusal() {
    let port = orders_local::emulators::free_port().unwrap();
    let gone = provider_at(&format!("http://127.0.0.1:{port}"));
    let refund = gone
        .refund(&PaymentReference::parse("pi_1").unwrap(), "k", Money::parse("1.00").unwrap(), "USD")
        .await;
    assert!(matches!(refund, Err(ProviderError::Unavailable(_))), "{refund:?}");
}

// End to end: the service, localstripe, and localstripe's own signed webhooks.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_then_another_card_pays_the_order_through_localstripes_own_webhooks() {
    let service = service(Setup::default()).await;
    Api::admin(&service).put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 2)]).await;
    let stripe = emulators().stripe.endpoint();

    let first = alice.start_online_payment(&id).await;
    let declined = pay_with_card(&stripe, &first, CARD_DECLINED).await.unwrap();
    assert_eq!(declined.decline.as_deref(), Some("card_declined"));
    // localstripe signs and sends payment_intent.payment_failed a second later.
    let failed = eventually(Duration::from_secs(15), || async {
        let order = alice.order(&id).await.body;
        order["payment_intent"]["closed_at"].is_string().then_some(order)
    })
    .await;
    assert_eq!(failed["status"], "PENDING_PAYMENT");
    let note = failed["status_history"].as_array().unwrap().last().unwrap()["note"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(note.starts_with(&format!("PAYMENT_FAILED {first}: card_declined")), "{note}");

    let second = alice.start_online_payment(&id).await;
    assert_ne!(second, first);
    assert_eq!(pay_with_card(&stripe, &second, CARD_PAYS).await.unwrap().status, "succeeded");
    let paid = eventually(Duration::from_secs(15), || async {
        let order = alice.order(&id).await.body;
        (order["status"] == "PAID").then_some(order)
    })
    .await;
    assert_eq!(paid["payment"]["reference"], second.as_str());
    assert_eq!(paid["payment"]["amount"], paid["total"]);
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_whose_card_was_charged_at_its_deadline_is_paid_not_expired_even_before_the_webhook() {
    let clock = ManualClock::new(chrono::Utc::now());
    // Queues and schedule by hand: the webhook is the only thing that could pay it, and the test
    // runs the sweeper before localstripe sends it.
    let service = service(Setup {
        clock: Some(Arc::new(clock.clone())),
        ..Setup::driven_by_hand()
    })
    .await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (charged, _) = alice.reserved_order(&[("mug", 2)]).await;
    let (abandoned, _) = alice.reserved_order(&[("mug", 1)]).await;
    let charged_payment = alice.start_online_payment(&charged).await;
    let abandoned_payment = alice.start_online_payment(&abandoned).await;
    let stripe = emulators().stripe.endpoint();
    assert_eq!(
        pay_with_card(&stripe, &charged_payment, CARD_PAYS).await.unwrap().status,
        "succeeded"
    );

    clock.advance(chrono::Duration::minutes(16));
    let report = sweep(&service.app).await.unwrap();
    assert_eq!(report.expired, 1, "{report:?}");
    let order = alice.order(&charged).await.body;
    assert_eq!(
        (order["status"].as_str(), order["payment"]["reference"].as_str()),
        (Some("PAID"), Some(charged_payment.as_str())),
        "settled from what Stripe holds: {order}"
    );
    assert_eq!(alice.order(&abandoned).await.body["status"], "CANCELLED");
    // No card can pay the expired order any more: its intent is cancelled at Stripe.
    assert_eq!(
        at_stripe(&format!("/v1/payment_intents/{abandoned_payment}")).await["status"],
        "canceled"
    );
    assert_eq!(counters(&admin.product("mug").await), (8, 8, 0), "two sold, one released");
    // The webhook that comes afterwards changes nothing.
    let late = Api::anonymous(&service)
        .pay(&charged, &charged_payment, order["total"].as_str().unwrap())
        .await;
    assert_eq!(late.body["outcome"], "paid");
    assert_eq!(timeline(&alice.order(&charged).await.body), timeline(&order));
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_cancelling_an_order_whose_payment_started_cancels_the_intent_at_stripe() {
    let service = service(Setup::default()).await;
    Api::admin(&service).put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, _) = alice.reserved_order(&[("mug", 1)]).await;
    let payment = alice.start_online_payment(&id).await;
    let cancelled = alice.cancel(&id).await;
    assert_eq!(cancelled.body["status"], "CANCELLED", "{cancelled:?}");
    assert_eq!(at_stripe(&format!("/v1/payment_intents/{payment}")).await["status"], "canceled");
    // A card confirmed on a stale checkout page can no longer pay it.
    assert!(pay_with_card(&emulators().stripe.endpoint(), &payment, CARD_PAYS).await.is_err());
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_whose_webhook_never_came_is_settled_by_the_sweeper_from_what_stripe_holds() {
    let clock = ManualClock::new(chrono::Utc::now());
    let service = service(Setup {
        clock: Some(Arc::new(clock.clone())),
        ..Setup::driven_by_hand()
    })
    .await;
    Api::admin(&service).put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (missed, _) = alice.reserved_order(&[("mug", 1)]).await;
    let (fresh, _) = alice.reserved_order(&[("mug", 1)]).await;
    let payment = alice.start_online_payment(&missed).await;
    assert_eq!(
        pay_with_card(&emulators().stripe.endpoint(), &payment, CARD_PAYS)
            .await
            .unwrap()
            .status,
        "succeeded"
    );
    // Six minutes on by the service's clock: localstripe's webhook, dated by the real one, is
    // refused as stale, as a webhook lost on the way would be.
    clock.advance(chrono::Duration::minutes(6));
    alice.start_online_payment(&fresh).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(alice.order(&missed).await.body["status"], "PENDING_PAYMENT");

    let report = sweep(&service.app).await.unwrap();
    assert_eq!((report.payments_settled, report.expired), (1, 0), "{report:?}");
    let order = alice.order(&missed).await.body;
    assert_eq!(
        (order["status"].as_str(), order["payment"]["reference"].as_str()),
        (Some("PAID"), Some(payment.as_str()))
    );
    assert_eq!(
        alice.order(&fresh).await.body["status"],
        "PENDING_PAYMENT",
        "asked only after a while"
    );
    assert_eq!(
        sweep(&service.app).await.unwrap().payments_settled,
        0,
        "once settled, out of the index"
    );
    assert_invariants(&service).await;
}

/// A Stripe event of `kind` about `object`, as Stripe sends it.
fn event_about(kind: &str, object: Value) -> Value {
    serde_json::json!({"id": format!("evt_{}", uuid::Uuid::new_v4().simple()), "object": "event", "type": kind, "data": {"object": object}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_stripe_reports_failed_is_on_the_order_and_a_dispute_marks_the_payment_disputed() {
    let service = service(Setup::default()).await;
    let subscriber = subscribe(&service).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (id, total) = alice.reserved_order(&[("mug", 2)]).await;
    let payment = pay_by_card(&service, &id, &total).await;
    assert_eq!(alice.cancel(&id).await.body["payment_status"], "REFUNDED");
    let refunded = eventually(Duration::from_secs(20), || async {
        let order = alice.order(&id).await.body;
        (order["refunds"][0]["status"] == "COMPLETED").then_some(order)
    })
    .await;
    let at_stripe = stripe_refunds(&service, &refunded).await;
    assert_eq!(at_stripe.len(), 1, "{at_stripe:?}");
    let stripe = Api::anonymous(&service);
    let refund = |status: &str| {
        event_about(
            "refund.updated",
            serde_json::json!({"id": at_stripe[0].id, "object": "refund", "amount": at_stripe[0].amount, "currency": "usd",
                               "status": status, "failure_reason": "expired_or_canceled_card", "payment_intent": payment,
                               "metadata": {"refund_id": at_stripe[0].key, "shop": service.config.shop_id}}),
        )
    };
    // The bank could not pay it back: the order says so, in its refund and its timeline.
    let failed = stripe.webhook(&refund("failed"), None).await;
    assert_eq!(failed.body["outcome"], "refund_progress", "{failed:?}");
    let order = &alice.order(&id).await.body;
    assert_eq!(order["refunds"][0]["provider_status"], "FAILED");
    let note = order["status_history"].as_array().unwrap().last().unwrap()["note"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        note.starts_with("REFUND_FAILED cancellation") && note.ends_with("expired_or_canceled_card"),
        "{note}"
    );
    // A pending report that comes late changes nothing.
    assert_eq!(stripe.webhook(&refund("pending"), None).await.body["outcome"], "unchanged");

    // The customer disputes the payment with their bank; Stripe names only the payment.
    let dispute = event_about(
        "charge.dispute.created",
        serde_json::json!({"id": "dp_1", "object": "dispute", "amount": cents(&total), "currency": "usd", "charge": "ch_1",
                           "payment_intent": payment, "reason": "fraudulent", "status": "needs_response"}),
    );
    let disputed = stripe.webhook(&dispute, None).await;
    assert_eq!(disputed.body["outcome"], "disputed", "{disputed:?}");
    assert_eq!(disputed.body["payment_status"], "DISPUTED");
    assert_eq!(alice.order(&id).await.body["disputes"][0]["reason"], "fraudulent");
    assert_eq!(stripe.webhook(&dispute, None).await.body["outcome"], "duplicate");
    let again = event_about("charge.dispute.created", dispute["data"]["object"].clone());
    assert_eq!(
        stripe.webhook(&again, None).await.body["outcome"],
        "unchanged",
        "one dispute, recorded once"
    );
    let events = eventually(Duration::from_secs(15), || async {
        let names: Vec<String> = drain(&service, &subscriber)
            .await
            .iter()
            .filter_map(|event| event["detail-type"].as_str().map(str::to_owned))
            .collect();
        names.contains(&"OrderDisputed".to_owned()).then_some(names)
    })
    .await;
    assert!(events.contains(&"OrderDisputed".to_owned()), "{events:?}");
    assert_invariants(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_ttl_deletes_while_its_payment_is_open_cancels_the_intent_at_stripe_and_money_already_taken_is_owed_back() {
    use orders_shared::adapters::dynamo::reservation_key;
    use orders_shared::handlers::StreamFunction;

    let service = service(Setup::driven_by_hand()).await;
    let admin = Api::admin(&service);
    admin.put_product("mug", "8.00", 10).await;
    let alice = Api::customer(&service, "alice");
    let (open, _) = alice.reserved_order(&[("mug", 1)]).await;
    let (charged, _) = alice.reserved_order(&[("mug", 2)]).await;
    let open_payment = alice.start_online_payment(&open).await;
    let charged_payment = alice.start_online_payment(&charged).await;
    let stripe = emulators().stripe.endpoint();
    assert_eq!(
        pay_with_card(&stripe, &charged_payment, CARD_PAYS).await.unwrap().status,
        "succeeded"
    );

    // DynamoDB Local never expires items: both holds go as TTL deletes them, a day after the
    // sweeper should have expired them.
    let table = &service.deployment.tables["InventoryTable"];
    for id in [&open, &charged] {
        service
            .clients
            .dynamodb
            .delete_item()
            .table_name(table)
            .set_key(Some(reservation_key(OrderId::parse(id).unwrap())))
            .send()
            .await
            .unwrap();
    }
    let mut poller = service.stream_poller(StreamFunction::ReservationExpiry).await.unwrap();
    let started = std::time::Instant::now();
    while [
        alice.order(&open).await.body["status"].clone(),
        alice.order(&charged).await.body["status"].clone(),
    ] != ["CANCELLED", "CANCELLED"]
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the stream consumer did not let the orders lapse"
        );
        poller.poll_once().await.unwrap();
    }

    // No card can pay the lapsed order any more.
    assert_eq!(
        at_stripe(&format!("/v1/payment_intents/{open_payment}")).await["status"],
        "canceled"
    );
    assert!(pay_with_card(&stripe, &open_payment, CARD_PAYS).await.is_err());
    // The money Stripe took for the other cannot buy units gone back to stock: it is owed back.
    let owed = alice.order(&charged).await.body["refunds_due"].clone();
    assert_eq!(owed.as_array().map(Vec::len), Some(1), "{owed}");
    assert_eq!(owed[0]["reference"], charged_payment.as_str(), "{owed}");
    assert_eq!(
        counters(&admin.product("mug").await),
        (10, 10, 0),
        "every held unit back, none sold"
    );
    assert_invariants(&service).await;
}
