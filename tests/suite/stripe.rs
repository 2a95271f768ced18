//! The Stripe adapter against localstripe, a stateful fake Stripe server: what it asks Stripe
//! for is what Stripe holds afterwards.

use orders_local::stripe_cards::{pay_with_card, CARD_DECLINED, CARD_PAYS, LOCAL_SECRET_KEY};
use orders_shared::adapters::stripe::{StripeKey, StripeProvider};
use orders_shared::domain::order::PaymentMethod;
use orders_shared::domain::{Money, OrderId, PaymentReference};
use orders_shared::ports::{IntentRequest, PaymentProvider, ProviderError};
use orders_tests::emulators;
use serde_json::Value;

fn provider_at(base: &str) -> StripeProvider {
    StripeProvider::new(base, StripeKey::parse(LOCAL_SECRET_KEY).unwrap()).unwrap()
}

fn provider() -> StripeProvider {
    provider_at(&emulators().stripe.endpoint())
}

/// What localstripe holds at `path`.
async fn at_stripe(path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", emulators().stripe.endpoint()))
        .bearer_auth(LOCAL_SECRET_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
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
