//! Starting a payment: the provider is asked for an intent (online, wallet) that its webhook
//! later settles, or the order is accepted for cash on delivery (its reservation becomes a sale
//! and it goes to fulfilment unpaid). Asking again answers what the first request started.

use crate::domain::order::{PaymentIntent, PaymentMethod, StartDecision, StartRefusal};
use crate::domain::{Actor, Order, OrderId, OrderStatus};
use crate::ports::{ProviderError, StockChange};
use crate::service::actions::{load, sell, until_written, write, Access, ActionError};
use crate::service::fulfilment::CommissionRates;
use crate::service::App;

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
    app: &App,
    id: OrderId,
    access: Access<'_>,
    method: PaymentMethod,
    actor: &Actor,
) -> Result<Started, StartError> {
    until_written(move || async move {
        let mut order = load(app, id, access).await?;
        let now = app.clock.now();
        let written = match order.judge_payment_start(method, app.cod_max_total)? {
            StartDecision::Existing(_) | StartDecision::CashOnDeliveryAccepted => return Ok(Some(Started { order, new: false })),
            StartDecision::CreateIntent => {
                let amount = order.totals.total;
                // The amount is in the key: an intent is only ever for the total it was asked for.
                let key = format!("{}:{method}:{amount}", order.id);
                let intent = app
                    .payments
                    .create_intent(order.id, method, amount, &order.currency, &key)
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
                write(app, &mut order, OrderStatus::PendingPayment, StockChange::None).await?
            }
            StartDecision::CashOnDelivery => {
                let rates = CommissionRates::of(app, &order).await?;
                order
                    .accept_cash_on_delivery(actor, |seller| rates.rate(seller), now)
                    .map_err(|err| ActionError::Inconsistent(err.to_string()))?;
                sell(app, &mut order).await?
            }
        };
        Ok(written.then(Started { order, new: true }))
    })
    .await
}
