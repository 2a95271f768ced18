//! A stand-in for the payment provider: it keeps a ledger of the refunds it was asked for, one
//! per idempotency key, as a real provider does. Locally and in tests it is the provider; in
//! a deployment it is the place a real one's client goes (the `PaymentProvider` port).

use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::{Money, PaymentReference};
use crate::ports::{PaymentProvider, ProviderError};

/// One refund the provider made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRefund {
    pub reference: String,
    pub payment: PaymentReference,
    pub idempotency_key: String,
    pub amount: Money,
    pub currency: String,
}

#[derive(Debug, Default)]
pub struct SimulatedProvider {
    ledger: Mutex<Vec<ProviderRefund>>,
}

impl SimulatedProvider {
    /// Every refund made so far, in order.
    pub fn refunds(&self) -> Vec<ProviderRefund> {
        self.ledger.lock().map(|ledger| ledger.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl PaymentProvider for SimulatedProvider {
    async fn refund(
        &self,
        payment: &PaymentReference,
        idempotency_key: &str,
        amount: Money,
        currency: &str,
    ) -> Result<String, ProviderError> {
        let mut ledger = self
            .ledger
            .lock()
            .map_err(|_| ProviderError::Unavailable("the simulated provider's ledger is poisoned".into()))?;
        if let Some(made) = ledger.iter().find(|made| made.idempotency_key == idempotency_key) {
            return Ok(made.reference.clone());
        }
        let reference = format!("re_sim_{}", ledger.len() + 1);
        ledger.push(ProviderRefund {
            reference: reference.clone(),
            payment: payment.clone(),
            idempotency_key: idempotency_key.to_owned(),
            amount,
            currency: currency.to_owned(),
        });
        Ok(reference)
    }
}
