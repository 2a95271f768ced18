//! Starting a payment: the provider is asked for an intent (online, wallet) that its webhook
//! later settles, or the order is accepted for cash on delivery (its reservation becomes a sale
//! and it goes to fulfilment unpaid). Asking again answers what the first request started.

use crate::domain::order::{PaymentIntent, PaymentMethod, StartDecision, StartRefusal};
use crate::domain::Money;
use crate::domain::{Actor, Order, OrderId, OrderStatus};
use crate::ports::{IntentRequest, PaymentProvider, ProviderError, StockChange};
use crate::service::actions::{load, sell, until_written, write, Access, ActionError};
use crate::service::fulfilment::Commission;
use crate::service::{App, OrderChanges};

/// What starting a payment works with.
#[derive(Clone, Copy)]
pub struct PaymentStart<'a> {
    pub changes: OrderChanges<'a>,
    pub provider: &'a dyn PaymentProvider,
    /// Charged to cash-on-delivery orders at acceptance, as to paid ones.
    pub commission: Commission<'a>,
    /// The largest order total accepted for cash on delivery.
    pub cod_max_total: Money,
}

impl App {
    pub fn payment_start(&self) -> PaymentStart<'_> {
        PaymentStart {
            changes: self.order_changes(),
            provider: &*self.payments,
            commission: self.commission(),
            cod_max_total: self.cod_max_total,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Refused(#[from] StartRefusal),
    #[error("the payment provider could not start the payment")]
    Provider(#[source] ProviderError),
    #[error(transparent)]
    Action(#[from] ActionError),
}

/// The order as the request left it, and whether this request started the payment (`true`)
/// or found it started (`false`).
#[derive(Debug)]
pub struct Started {
    pub order: Order,
    pub new: bool,
}

impl Started {
    /// The provider's intent, for online and wallet payments.
    pub fn intent(&self) -> Option<&PaymentIntent> {
        self.order.payment_intent.as_ref()
    }
}

pub async fn start_payment(
    start: PaymentStart<'_>,
    id: OrderId,
    access: Access<'_>,
    method: PaymentMethod,
    actor: &Actor,
) -> Result<Started, StartError> {
    let changes = start.changes;
    until_written(move || async move {
        let mut order = load(changes.orders, id, access).await?;
        let now = changes.clock.now();
        let written = match order.judge_payment_start(method, start.cod_max_total)? {
            StartDecision::Existing(_) | StartDecision::CashOnDeliveryAccepted => return Ok(Some(Started { order, new: false })),
            StartDecision::CreateIntent => {
                let amount = order.totals.total;
                // The amount is in the key: an intent is only ever for the total it was asked for.
                let key = format!("{}:{method}:{amount}", order.id);
                let intent = start
                    .provider
                    .create_intent(IntentRequest {
                        order: order.id,
                        order_number: order.order_number.as_ref().map(|number| number.as_str()),
                        method,
                        amount,
                        currency: &order.currency,
                        idempotency_key: &key,
                    })
                    .await
                    .map_err(StartError::Provider)?;
                let intent = PaymentIntent {
                    payment_id: intent.payment_id,
                    method,
                    amount,
                    currency: order.currency.clone(),
                    redirect_url: intent.redirect_url,
                    client_secret: intent.client_secret,
                    created_at: now,
                };
                order.start_payment(intent, actor, now);
                write(changes, &mut order, OrderStatus::PendingPayment, StockChange::None).await?
            }
            StartDecision::CashOnDelivery => {
                let rates = start.commission.rates_for(&order).await?;
                order
                    .accept_cash_on_delivery(actor, |seller| rates.rate(seller), now)
                    .map_err(|err| ActionError::Inconsistent(err.to_string()))?;
                sell(changes, &mut order).await?
            }
        };
        Ok(written.then(Started { order, new: true }))
    })
    .await
}
