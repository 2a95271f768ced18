//! A stand-in for the payment provider: it keeps a ledger of the payments it was asked to take
//! and the refunds it was asked for, one per idempotency key, as a real provider does. Locally
//! and in tests it is the provider (the local runner's payment simulator completes its
//! payments by sending the signed webhook); in a deployment it is the place a real one's
//! client goes (the `PaymentProvider` port).

use std::sync::Mutex;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::domain::order::PaymentMethod;
use crate::domain::{Money, OrderId, PaymentReference};
use crate::ports::{IntentRequest, PaymentProvider, ProviderError, ProviderIntent};

/// Where the simulator's checkout pages are served (by the local runner).
pub const SIMULATOR_PATH: &str = "/simulator/payments";

/// One payment the provider was asked to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedPayment {
    pub order_id: OrderId,
    pub method: PaymentMethod,
    pub amount: Money,
    pub currency: String,
    pub intent: ProviderIntent,
}

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
    payments: Mutex<Vec<SimulatedPayment>>,
    /// Prefixed to checkout links (`http://127.0.0.1:3000`); empty: links relative to the API.
    checkout_base: String,
}

impl SimulatedProvider {
    /// A provider whose checkout links start at `checkout_base`.
    pub fn with_checkout_base(checkout_base: &str) -> Self {
        Self {
            checkout_base: checkout_base.trim_end_matches('/').to_owned(),
            ..Self::default()
        }
    }

    /// The payment with this id, as the provider was asked to take it.
    pub fn payment(&self, payment_id: &str) -> Option<SimulatedPayment> {
        let payments = self.payments.lock().ok()?;
        payments
            .iter()
            .find(|payment| payment.intent.payment_id.as_str() == payment_id)
            .cloned()
    }

    /// Every refund made so far, in order.
    pub fn refunds(&self) -> Vec<ProviderRefund> {
        self.ledger.lock().map(|ledger| ledger.clone()).unwrap_or_default()
    }
}

/// A digest of the key, so every instance (and a retry after a crash) names the same intent.
fn derived(key: &str, purpose: &str, chars: usize) -> String {
    let digest = Sha256::digest(format!("{purpose}:{key}").as_bytes());
    hex::encode(digest).chars().take(chars).collect()
}

#[async_trait]
impl PaymentProvider for SimulatedProvider {
    async fn create_intent(&self, request: IntentRequest<'_>) -> Result<ProviderIntent, ProviderError> {
        let IntentRequest {
            order,
            method,
            amount,
            currency,
            idempotency_key,
            ..
        } = request;
        let payment_id = PaymentReference::parse(&format!("pi_sim_{}", derived(idempotency_key, "payment", 24)))
            .map_err(|err| ProviderError::Refused(err.to_string()))?;
        let mut payments = self
            .payments
            .lock()
            .map_err(|_| ProviderError::Unavailable("the simulated provider's ledger is poisoned".into()))?;
        if let Some(made) = payments.iter().find(|made| made.intent.payment_id == payment_id) {
            return Ok(made.intent.clone());
        }
        let intent = match method {
            PaymentMethod::Wallet => ProviderIntent {
                client_secret: Some(format!("{payment_id}_secret_{}", derived(idempotency_key, "secret", 16))),
                redirect_url: None,
                payment_id,
            },
            PaymentMethod::Online | PaymentMethod::Cod => ProviderIntent {
                redirect_url: Some(format!("{}{SIMULATOR_PATH}/{payment_id}", self.checkout_base)),
                client_secret: None,
                payment_id,
            },
        };
        payments.push(SimulatedPayment {
            order_id: order,
            method,
            amount,
            currency: currency.to_owned(),
            intent: intent.clone(),
        });
        Ok(intent)
    }

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
