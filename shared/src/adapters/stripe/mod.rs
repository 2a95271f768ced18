//! Stripe, the payment provider of every deployment: a small typed client of the few calls the
//! service makes (a PaymentIntent per order, refunds on it), on Stripe's documented REST API at
//! a pinned version. A well-kept SDK crate would bring thousands of generated types to build for
//! four calls; these are the calls, their form fields and the errors that drive behaviour.

pub mod events;

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use crate::domain::order::PaymentMethod;
use crate::domain::{Money, OrderId, PaymentReference};
use crate::ports::{IntentRequest, IntentState, PaymentProvider, ProviderError, ProviderIntent};

use events::{Intent, StripeError};

/// The API version every request names, so an account's default version never changes what
/// the service's calls answer. Webhook payloads follow the endpoint's own version instead (set
/// when the endpoint is added; the README says which), and the events are read by the few
/// fields that every version since keeps.
pub const STRIPE_VERSION: &str = "2024-06-20";
/// Stripe's API; a local stack points `STRIPE_API_BASE` at localstripe instead.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// A call's whole budget. A request makes at most two Stripe calls (a refund looked up, then
/// made; a cancellation refused, then the intent read) besides its storage calls; with the
/// storage timeouts they fit a 10 s function (the refund step, a queue consumer, retries).
const CALL_TIMEOUT: Duration = Duration::from_secs(4);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The refunds a payment is searched through for one made before a crash.
const REFUND_PAGE: &str = "100";

/// A Stripe secret (`sk_...`) or restricted (`rk_...`) key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct StripeKey(String);

impl StripeKey {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let usable = (text.starts_with("sk_") || text.starts_with("rk_")) && text.len() > 8 && !text.contains(char::is_whitespace);
        usable.then(|| Self(text.to_owned()))
    }
}

impl std::fmt::Debug for StripeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StripeKey(..)")
    }
}

#[derive(Debug, Clone)]
pub struct StripeProvider {
    http: reqwest::Client,
    base: String,
    key: StripeKey,
    /// This deployment's name, in every intent's metadata (`events::read_event` says why).
    shop: String,
}

impl StripeProvider {
    /// A client of the API at `base` (`https://api.stripe.com`, or localstripe's address), for
    /// the deployment `shop`.
    pub fn new(base: &str, key: StripeKey, shop: &str) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|err| ProviderError::Unavailable(Box::new(err)))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key,
            shop: shop.to_owned(),
        })
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, ProviderError> {
        let response = request
            .bearer_auth(&self.key.0)
            .header("Stripe-Version", STRIPE_VERSION)
            .send()
            .await
            .map_err(|err| ProviderError::Unavailable(Box::new(err)))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|err| ProviderError::Unavailable(Box::new(err)))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|err| ProviderError::Unavailable(Box::new(err)));
        }
        let error = serde_json::from_slice::<ErrorBody>(&body)
            .map(|body| body.error)
            .unwrap_or_default();
        Err(classify(status.as_u16(), &error))
    }

    fn post(&self, path: &str, form: &[(&str, String)], idempotency_key: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header("Idempotency-Key", idempotency_key)
            .form(form)
    }

    async fn intent(&self, payment: &PaymentReference) -> Result<Intent, ProviderError> {
        self.call(self.http.get(format!("{}/v1/payment_intents/{payment}", self.base)))
            .await
    }

    /// The refund made on `payment` with `key` before (a crash between Stripe's answer and our
    /// write leaves one), found by the key kept in its metadata.
    async fn refund_made_with(&self, payment: &PaymentReference, key: &str) -> Result<Option<String>, ProviderError> {
        let request = self
            .http
            .get(format!("{}/v1/refunds", self.base))
            .query(&[("payment_intent", payment.as_str()), ("limit", REFUND_PAGE)]);
        let refunds: RefundList = self.call(request).await?;
        Ok(refunds
            .data
            .into_iter()
            .find(|refund| refund.metadata.refund_id.as_deref() == Some(key))
            .map(|refund| refund.id))
    }
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: StripeError,
}

/// Rate limits, Stripe's own failures and a lock held by a concurrent request pass; a card,
/// request or idempotency error is a decision that asking again does not change.
fn classify(status: u16, error: &StripeError) -> ProviderError {
    let described = format!("Stripe answered {status} {}", error.describe());
    // A key in use is a concurrent request with the same key (a double click): it settles.
    let transient = status == 429 || status >= 500 || matches!(error.code.as_deref(), Some("lock_timeout" | "idempotency_key_in_use"));
    if transient {
        ProviderError::Unavailable(described.into())
    } else {
        ProviderError::Refused(described)
    }
}

#[derive(Debug, Deserialize)]
struct CreatedIntent {
    id: String,
    #[serde(default)]
    client_secret: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RefundMetadata {
    #[serde(default)]
    refund_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Refund {
    id: String,
    #[serde(default)]
    metadata: RefundMetadata,
}

#[derive(Debug, Deserialize)]
struct RefundList {
    data: Vec<Refund>,
}

/// The amount as Stripe counts it, in the currency's minor units.
fn minor_units(amount: Money, currency: &str) -> Result<String, ProviderError> {
    amount
        .in_minor_units_of(currency)
        .map(|units| units.to_string())
        .ok_or_else(|| ProviderError::Refused(format!("{amount} is not a whole number of {currency} minor units")))
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    async fn create_intent(&self, request: IntentRequest<'_>) -> Result<ProviderIntent, ProviderError> {
        let mut form = vec![
            ("amount", minor_units(request.amount, request.currency)?),
            ("currency", request.currency.to_ascii_lowercase()),
            ("metadata[order_id]", request.order.to_string()),
            ("metadata[shop]", self.shop.clone()),
            // Cards, and through them the wallets (Apple Pay, Google Pay) Stripe.js offers.
            ("payment_method_types[]", "card".to_owned()),
        ];
        if let Some(number) = request.order_number {
            form.push(("metadata[order_number]", number.to_owned()));
        }
        if request.method == PaymentMethod::Wallet {
            form.push(("metadata[method]", PaymentMethod::Wallet.to_string()));
        }
        let created: CreatedIntent = self.call(self.post("/v1/payment_intents", &form, request.idempotency_key)).await?;
        let payment_id = PaymentReference::parse(&created.id).map_err(|err| ProviderError::Refused(err.to_string()))?;
        Ok(ProviderIntent {
            payment_id,
            redirect_url: None,
            client_secret: created.client_secret,
        })
    }

    async fn retrieve_intent(&self, payment: &PaymentReference) -> Result<IntentState, ProviderError> {
        self.intent(payment).await?.state()
    }

    async fn payment_order(&self, payment: &PaymentReference) -> Result<Option<OrderId>, ProviderError> {
        Ok(self.intent(payment).await?.order(&self.shop))
    }

    async fn cancel_intent(&self, payment: &PaymentReference) -> Result<IntentState, ProviderError> {
        // No idempotency key: cancelling is idempotent by itself, and Stripe would answer a
        // repeat with the first answer (a refusal while processing) for a day.
        let request = self.http.post(format!("{}/v1/payment_intents/{payment}/cancel", self.base));
        match self.call::<Intent>(request).await {
            Ok(intent) => intent.state(),
            // Stripe refuses to cancel an intent that succeeded or is processing (and localstripe
            // one already cancelled): what it holds is the answer.
            Err(ProviderError::Refused(refusal)) => match self.retrieve_intent(payment).await? {
                IntentState::Open => Err(ProviderError::Refused(refusal)),
                settled => Ok(settled),
            },
            Err(unavailable) => Err(unavailable),
        }
    }

    async fn refund(
        &self,
        payment: &PaymentReference,
        idempotency_key: &str,
        amount: Money,
        currency: &str,
    ) -> Result<String, ProviderError> {
        if let Some(made) = self.refund_made_with(payment, idempotency_key).await? {
            return Ok(made);
        }
        let form = [
            ("payment_intent", payment.as_str().to_owned()),
            ("amount", minor_units(amount, currency)?),
            ("metadata[refund_id]", idempotency_key.to_owned()),
            ("metadata[shop]", self.shop.clone()),
        ];
        let refund: Refund = self.call(self.post("/v1/refunds", &form, idempotency_key)).await?;
        Ok(refund.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_only_as_secret_or_restricted_keys_and_never_print() {
        assert!(StripeKey::parse("sk_test_4eC39HqLyjWDarjtT1zdp7dc").is_some());
        assert!(StripeKey::parse("rk_live_abcdefghij").is_some());
        for bad in ["", "pk_test_abcdefghij", "whsec_abcdefghij", "sk_", "sk_test abc def"] {
            assert!(StripeKey::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(format!("{:?}", StripeKey::parse("sk_test_secretvalue").unwrap()), "StripeKey(..)");
    }

    #[test]
    fn rate_limits_and_stripes_failures_pass_and_card_request_and_idempotency_errors_do_not() {
        let error = |kind: &str, code: &str| StripeError {
            kind: Some(kind.to_owned()),
            code: Some(code.to_owned()),
            decline_code: None,
            message: Some("m".to_owned()),
        };
        let transient = |err: ProviderError| matches!(err, ProviderError::Unavailable(_));
        assert!(transient(classify(429, &error("invalid_request_error", "rate_limit"))));
        assert!(transient(classify(500, &StripeError::default())));
        assert!(transient(classify(503, &StripeError::default())));
        assert!(transient(classify(409, &error("invalid_request_error", "lock_timeout"))));
        assert!(transient(classify(409, &error("idempotency_error", "idempotency_key_in_use"))));
        assert!(!transient(classify(402, &error("card_error", "card_declined"))));
        assert!(!transient(classify(400, &error("invalid_request_error", "parameter_missing"))));
        assert!(!transient(classify(400, &error("idempotency_error", "idempotency_key_reused"))));
        let refused = classify(402, &error("card_error", "card_declined")).to_string();
        assert!(refused.contains("card_error/card_declined"), "{refused}");
    }
}
