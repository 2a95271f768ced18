//! The payment provider of a function that has none: one that never calls Stripe is given no
//! key (and no permission to read one), and answers any call with why.

use async_trait::async_trait;

use crate::domain::{Money, OrderId, PaymentReference};
use crate::ports::{IntentRequest, IntentState, PaymentProvider, ProviderError, ProviderIntent};

#[derive(Debug, Clone)]
pub struct NoProvider {
    pub reason: String,
}

impl NoProvider {
    fn refuse(&self) -> ProviderError {
        ProviderError::Unavailable(self.reason.clone().into())
    }
}

#[async_trait]
impl PaymentProvider for NoProvider {
    async fn create_intent(&self, _request: IntentRequest<'_>) -> Result<ProviderIntent, ProviderError> {
        Err(self.refuse())
    }

    async fn retrieve_intent(&self, _payment: &PaymentReference) -> Result<IntentState, ProviderError> {
        Err(self.refuse())
    }

    async fn payment_order(&self, _payment: &PaymentReference) -> Result<Option<OrderId>, ProviderError> {
        Err(self.refuse())
    }

    async fn cancel_intent(&self, _payment: &PaymentReference) -> Result<IntentState, ProviderError> {
        Err(self.refuse())
    }

    async fn refund(&self, _payment: &PaymentReference, _key: &str, _amount: Money, _currency: &str) -> Result<String, ProviderError> {
        Err(self.refuse())
    }
}
