//! The payment provider.

use crate::domain::order::{PaymentMethod, ProviderRefundStatus};
use crate::domain::Money;
use crate::domain::OrderId;
use crate::domain::PaymentReference;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{BoxError, StoreError};

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

    /// Where the intent stands at the provider: the sweeper settles an order whose webhook never
    /// came from it.
    async fn retrieve_intent(&self, payment: &PaymentReference) -> Result<IntentState, ProviderError>;

    /// The order of this deployment the payment is for, as the provider keeps it (disputes name
    /// only the payment); `None` for a payment of another deployment or none of ours.
    async fn payment_order(&self, payment: &PaymentReference) -> Result<Option<OrderId>, ProviderError>;

    /// Cancels the intent, so that no card can pay it any more. When it took the money, or is
    /// taking it, it cannot be cancelled: that is answered instead.
    async fn cancel_intent(&self, payment: &PaymentReference) -> Result<IntentState, ProviderError>;

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

/// Where an intent stands at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentState {
    /// Waiting for a card (none yet, or one was declined).
    Open,
    /// A card was confirmed and the money is on its way: neither taken nor cancellable yet.
    Processing,
    /// The money was taken: `received` in `currency`.
    Succeeded { received: Money, currency: String },
    /// Cancelled: it will never take money.
    Cancelled,
}

/// Which of the provider's events were applied, so that each applies once however often the
/// provider delivers it.
#[async_trait]
pub trait ProviderEventLog: Send + Sync {
    async fn event_applied(&self, event_id: &str) -> Result<bool, StoreError>;
    /// Records the event as applied, for longer than the provider retries it.
    async fn record_event(&self, event_id: &str, kind: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
}

/// One event of the provider's, its signature checked and its body read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReport {
    /// The provider's id of the event: a redelivery carries the same.
    pub event_id: String,
    /// The provider's name for what happened (`payment_intent.succeeded`).
    pub kind: String,
    pub event: ProviderEvent,
}

/// What the provider reports, in the service's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderEvent {
    /// The provider took `received` in `currency` for the order.
    PaymentSucceeded {
        order: OrderId,
        payment: PaymentReference,
        received: Money,
        currency: String,
    },
    /// The payment was declined or failed: the provider's code and message.
    PaymentFailed {
        order: OrderId,
        payment: PaymentReference,
        reason: String,
    },
    /// The payment was cancelled at the provider.
    PaymentCancelled { order: OrderId, payment: PaymentReference },
    /// A refund's own progress: `key` is what the service asked for it with
    /// (`<order id>:<refund id>`), `reference` the provider's id of it.
    RefundUpdated {
        key: String,
        reference: String,
        status: ProviderRefundStatus,
        reason: String,
    },
    /// The customer disputed the payment with their bank.
    Disputed {
        payment: PaymentReference,
        dispute: String,
        amount: Money,
        reason: String,
    },
    /// An event this service does not act on (another type, or a payment not of this shop).
    Ignored,
}

impl ProviderEvent {
    /// The order the event is about, when it names one.
    pub fn order(&self) -> Option<OrderId> {
        match self {
            Self::PaymentSucceeded { order, .. } | Self::PaymentFailed { order, .. } | Self::PaymentCancelled { order, .. } => Some(*order),
            Self::RefundUpdated { key, .. } => key.split(':').next().and_then(|id| OrderId::parse(id).ok()),
            Self::Disputed { .. } | Self::Ignored => None,
        }
    }
}
