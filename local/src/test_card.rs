//! The local stand-in for Stripe.js's card form (local only, never deployed). `GET
//! /test-card/{payment_id}` shows what is to be paid and a card number field with Stripe's test
//! cards; `POST` does what Stripe.js does in the customer's browser (`stripe_cards`): the
//! payment method, attached to the intent, confirmed at localstripe. localstripe then sends its
//! signed webhook to the API, as Stripe would. Card numbers never reach the API.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Response};
use orders_shared::domain::order::PaymentMethod;
use orders_shared::domain::{Money, OrderId, PaymentReference};
use orders_shared::ports::{IntentRequest, IntentState, PaymentProvider, ProviderError, ProviderIntent};
use serde_json::Value;

use crate::html::{escape, page};
use crate::stripe_cards::{pay_with_card, CARD_DECLINED, CARD_PAYS, LOCAL_SECRET_KEY};

/// Where the page is served.
pub const TEST_CARD_PATH: &str = "/test-card";

/// Stripe with a checkout link: what Stripe.js would show in the shop's own pages in AWS, the
/// test-card page shows here.
pub struct LocalCheckout {
    pub stripe: Arc<dyn PaymentProvider>,
    /// The runner's address (`http://127.0.0.1:3000`).
    pub base: String,
}

#[async_trait]
impl PaymentProvider for LocalCheckout {
    async fn create_intent(&self, request: IntentRequest<'_>) -> Result<ProviderIntent, ProviderError> {
        let mut intent = self.stripe.create_intent(request).await?;
        // A wallet completes in the customer's app with the client secret, not on a page.
        if request.method == PaymentMethod::Online {
            intent.redirect_url = Some(format!("{}{TEST_CARD_PATH}/{}", self.base, intent.payment_id));
        }
        Ok(intent)
    }

    async fn retrieve_intent(&self, payment: &PaymentReference) -> Result<IntentState, ProviderError> {
        self.stripe.retrieve_intent(payment).await
    }

    async fn payment_order(&self, payment: &PaymentReference) -> Result<Option<OrderId>, ProviderError> {
        self.stripe.payment_order(payment).await
    }

    async fn cancel_intent(&self, payment: &PaymentReference) -> Result<IntentState, ProviderError> {
        self.stripe.cancel_intent(payment).await
    }

    async fn refund(&self, payment: &PaymentReference, key: &str, amount: Money, currency: &str) -> Result<String, ProviderError> {
        self.stripe.refund(payment, key, amount, currency).await
    }
}

#[derive(Clone)]
pub struct TestCardPage {
    /// localstripe's address.
    pub stripe: String,
}

impl TestCardPage {
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route(&format!("{TEST_CARD_PATH}/{{payment_id}}"), axum::routing::get(show).post(pay))
            .with_state(Arc::new(self))
    }
}

/// Where the shop asked the customer to be sent back: a path of this site only.
#[derive(serde::Deserialize)]
struct Return {
    return_to: Option<String>,
}

impl Return {
    fn path(&self) -> Option<&str> {
        self.return_to
            .as_deref()
            .filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
    }
}

/// The intent as localstripe holds it.
async fn intent(stripe: &str, payment_id: &str) -> Option<Value> {
    let response = reqwest::Client::new()
        .get(format!("{stripe}/v1/payment_intents/{payment_id}"))
        .bearer_auth(LOCAL_SECRET_KEY)
        .send()
        .await
        .ok()?;
    response.status().is_success().then_some(())?;
    response.json().await.ok()
}

fn not_found() -> Response {
    (
        http::StatusCode::NOT_FOUND,
        page("No such payment", "<p>localstripe holds no such payment.</p>"),
    )
        .into_response()
}

async fn show(State(card_page): State<Arc<TestCardPage>>, Path(payment_id): Path<String>, Query(back): Query<Return>) -> Response {
    let Some(held) = intent(&card_page.stripe, &payment_id).await else {
        return not_found();
    };
    let id = escape(&payment_id);
    let currency = held["currency"].as_str().unwrap_or_default().to_ascii_uppercase();
    let amount = held["amount"]
        .as_u64()
        .and_then(|units| Money::from_minor_units_of(units, &currency))
        .map(|amount| amount.to_string())
        .unwrap_or_default();
    let back = back
        .path()
        .map(|path| format!(r#"<input type="hidden" name="return_to" value="{}">"#, escape(path)))
        .unwrap_or_default();
    page(
        "Test card payment",
        &format!(
            r#"<p>Local only: this stands in for the card form Stripe.js shows in AWS. It pays at localstripe, which then sends its signed webhook.</p>
<p>Payment <code>{id}</code>: <strong>{amount} {currency}</strong> (status {status}).</p>
<form method="post" action="{TEST_CARD_PATH}/{id}">
<label for="number">Card number</label>
<input id="number" name="number" inputmode="numeric" autocomplete="cc-number" value="{CARD_PAYS}" required pattern="[0-9]{{16}}">
{back}
<p><button type="submit">Pay {amount} {currency}</button></p>
</form>
<p>Test cards: <code>{CARD_PAYS}</code> pays; <code>{CARD_DECLINED}</code> is declined.</p>"#,
            status = escape(held["status"].as_str().unwrap_or_default()),
        ),
    )
}

#[derive(serde::Deserialize)]
struct Payment {
    number: String,
    return_to: Option<String>,
}

async fn pay(State(card_page): State<Arc<TestCardPage>>, Path(payment_id): Path<String>, Form(form): Form<Payment>) -> Response {
    let back = Return { return_to: form.return_to };
    if intent(&card_page.stripe, &payment_id).await.is_none() {
        return not_found();
    }
    match pay_with_card(&card_page.stripe, &payment_id, form.number.trim()).await {
        Ok(outcome) if outcome.decline.is_none() => match back.path() {
            // Back to the shop, whose page sees the order PAID once the webhook arrives.
            Some(path) => axum::response::Redirect::to(path).into_response(),
            None => page(
                "Paid",
                &format!(
                    "<p>Payment <code>{}</code>: {}. The webhook follows in a second.</p>",
                    escape(&payment_id),
                    escape(&outcome.status)
                ),
            ),
        },
        Ok(outcome) => (
            http::StatusCode::PAYMENT_REQUIRED,
            page(
                "Card declined",
                &format!(
                    r#"<p>The card was declined ({}). The order stays payable: start the payment again with another card.</p>{}"#,
                    escape(outcome.decline.as_deref().unwrap_or_default()),
                    back.path()
                        .map(|path| format!(r#"<p><a href="{}">Back to the shop</a></p>"#, escape(path)))
                        .unwrap_or_default()
                ),
            ),
        )
            .into_response(),
        Err(err) => (
            http::StatusCode::BAD_GATEWAY,
            page("localstripe failed", &format!("<p>{}</p>", escape(&err.to_string()))),
        )
            .into_response(),
    }
}
