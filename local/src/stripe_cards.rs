//! What Stripe.js does in the customer's browser, done against localstripe: create the card's
//! payment method, attach it to the payment intent and confirm it. localstripe's own Stripe.js
//! stand-in cannot confirm a card payment; the local test-card page and the tests use this.
//! localstripe then sends its signed `payment_intent.*` webhook a second later.

use serde_json::Value;

/// The secret key the local stack gives the functions (localstripe takes any `sk_` key).
pub const LOCAL_SECRET_KEY: &str = "sk_test_orders_local";

/// Test cards as localstripe knows them.
pub const CARD_PAYS: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000341";

/// How the confirmation went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardOutcome {
    /// The intent's status after confirming (`succeeded`, `requires_payment_method`, ...).
    pub status: String,
    /// Why the card was declined (`card_declined`), when it was.
    pub decline: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("localstripe could not be reached: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("localstripe refused {step}: {status} {body}")]
    Refused { step: &'static str, status: u16, body: String },
}

/// Pays `intent` with the card `number` at the Stripe API `base`.
pub async fn pay_with_card(base: &str, intent: &str, number: &str) -> Result<CardOutcome, CardError> {
    let http = reqwest::Client::new();
    let base = base.trim_end_matches('/');
    let send = |step: &'static str, path: String, form: Vec<(&'static str, String)>| {
        let request = http.post(format!("{base}{path}")).bearer_auth(LOCAL_SECRET_KEY).form(&form);
        async move {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let body: Value = response.json().await?;
            Ok::<_, CardError>((step, status, body))
        }
    };
    let refused = |(step, status, body): (&'static str, u16, Value)| CardError::Refused {
        step,
        status,
        body: body.to_string(),
    };
    let card = vec![
        ("type", "card".to_owned()),
        ("card[number]", number.to_owned()),
        ("card[exp_month]", "12".to_owned()),
        ("card[exp_year]", "2034".to_owned()),
        ("card[cvc]", "123".to_owned()),
    ];
    let created = send("the card", "/v1/payment_methods".to_owned(), card).await?;
    let Some(method) = created.2["id"].as_str().map(str::to_owned) else {
        return Err(refused(created));
    };
    let attached = send(
        "the payment method",
        format!("/v1/payment_intents/{intent}"),
        vec![("payment_method", method)],
    )
    .await?;
    if attached.1 != 200 {
        return Err(refused(attached));
    }
    let (_, status, body) = send("the confirmation", format!("/v1/payment_intents/{intent}/confirm"), Vec::new()).await?;
    if status == 200 {
        return Ok(CardOutcome {
            status: body["status"].as_str().unwrap_or_default().to_owned(),
            decline: None,
        });
    }
    match body["error"]["code"].as_str() {
        Some(code) if status == 402 => Ok(CardOutcome {
            status: "requires_payment_method".to_owned(),
            decline: Some(code.to_owned()),
        }),
        _ => Err(refused(("the confirmation", status, body))),
    }
}

/// A `payment_intent.*` event as Stripe sends it, about `shop`'s order `order` paid (or not)
/// on the intent `payment` of `amount` (a decimal of `currency`): for tests and load runs that
/// report a payment without a card. `None` for an amount that is not one of the currency.
pub fn intent_event(kind: &str, shop: &str, order: &str, payment: &str, amount: &str, currency: &str) -> Option<Value> {
    let units = orders_shared::domain::Money::parse(amount).ok()?.in_minor_units_of(currency)?;
    let succeeded = kind == "payment_intent.succeeded";
    Some(serde_json::json!({
        "id": format!("evt_{}", uuid::Uuid::new_v4().simple()),
        "object": "event",
        "api_version": orders_shared::adapters::stripe::STRIPE_VERSION,
        "created": chrono::Utc::now().timestamp(),
        "livemode": false,
        "type": kind,
        "data": {"object": {
            "id": payment,
            "object": "payment_intent",
            "amount": units,
            "amount_received": if succeeded { units } else { 0 },
            "currency": currency.to_ascii_lowercase(),
            "status": if succeeded { "succeeded" } else { "requires_payment_method" },
            "metadata": {"order_id": order, "shop": shop},
            "last_payment_error": if kind == "payment_intent.payment_failed" {
                serde_json::json!({"code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."})
            } else {
                Value::Null
            },
        }},
    }))
}
