//! The payment provider.

use crate::domain::order::PaymentMethod;
use crate::domain::Money;
use crate::domain::OrderId;
use crate::domain::PaymentReference;

use async_trait::async_trait;

use super::BoxError;

/// A refund the payment provider would not make, or could not be asked for.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Unreachable, throttled or failing: the refund step is tried again; a customer starting a
    /// payment is asked to retry.
    #[error("the payment provider is unavailable")]
    Unavailable(#[source] BoxError),
    /// A decision that retrying will not change (the payment is unknown to it, say).
    #[error("the payment provider refused: {0}")]
    Refused(String),
}

/// What the provider answers when asked to take a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderIntent {
    pub payment_id: PaymentReference,
    /// Where the customer completes an online payment.
    pub redirect_url: Option<String>,
    /// What a wallet (in the customer's app) completes the payment with.
    pub client_secret: Option<String>,
}

/// A payment to ask the provider for.
#[derive(Debug, Clone, Copy)]
pub struct IntentRequest<'a> {
    pub order: OrderId,
    /// The number printed on the order, for the shop's own search at the provider.
    pub order_number: Option<&'a str>,
    pub method: PaymentMethod,
    pub amount: Money,
    pub currency: &'a str,
    pub idempotency_key: &'a str,
}

/// The payment provider: taking payments and paying back. Stripe (`adapters::stripe`) in every
/// deployment; another provider plugs in here.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Asks the provider to take a payment for an order; it reports the outcome later by its
    /// signed webhook. Once per `idempotency_key`: asking again answers the same intent.
    async fn create_intent(&self, request: IntentRequest<'_>) -> Result<ProviderIntent, ProviderError>;

    /// Pays `amount` back on `payment` and answers the provider's refund reference. Once per
    /// `idempotency_key`: asking again with it answers the first reference and pays nothing.
    async fn refund(
        &self,
        payment: &PaymentReference,
        idempotency_key: &str,
        amount: Money,
        currency: &str,
    ) -> Result<String, ProviderError>;
}
