//! Starting a payment: the provider is asked for an intent (online, wallet) that its webhook
//! later settles, or the order is accepted for cash on delivery (its reservation becomes a sale
//! and it goes to fulfilment unpaid). Asking again answers what the first request started.
//! And what the provider's webhook reports, applied once per event.

use crate::domain::order::{
    AttemptEnd, Dispute, PaymentIntent, PaymentMethod, ProviderRefundStatus, RefundDue, StartDecision, StartRefusal,
};
use crate::domain::{Actor, Order, OrderId, OrderStatus};
use crate::domain::{Money, Payment, PaymentReference, RefundId};
use crate::ports::{
    IntentRequest, IntentState, PaymentProvider, ProviderError, ProviderEvent, ProviderEventLog, ProviderReport, StockChange,
};
use crate::service::actions::{confirm_payment, load, sell, until_written, write, Access, ActionError};
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
        let decision = order.judge_payment_start(method, start.cod_max_total)?;
        if matches!(decision, StartDecision::CreateIntent | StartDecision::CashOnDelivery) {
            retire_closed_attempt(start.provider, &order).await?;
        }
        let written = match decision {
            StartDecision::Existing(_) | StartDecision::CashOnDeliveryAccepted => return Ok(Some(Started { order, new: false })),
            StartDecision::CreateIntent => {
                let amount = order.totals.total;
                let attempt = PaymentIntent::next_attempt(order.payment_intent.as_ref());
                // The amount and the attempt are in the key: an intent is only ever for the total
                // it was asked for, and a declined attempt's successor is a new intent.
                let key = format!("{}:{method}:{amount}:{attempt}", order.id);
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
                    attempt,
                    closed_at: None,
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

/// Before another attempt, the declined one's intent is cancelled at the provider, so that a
/// checkout left open on it can no longer take money as well. When it took the money after all
/// (or is taking it), no new attempt starts: its webhook pays the order.
async fn retire_closed_attempt(provider: &dyn PaymentProvider, order: &Order) -> Result<(), StartError> {
    let Some(closed) = order.payment_intent.as_ref().filter(|intent| intent.closed_at.is_some()) else {
        return Ok(());
    };
    match provider.cancel_intent(&closed.payment_id).await.map_err(StartError::Provider)? {
        IntentState::Open | IntentState::Cancelled => Ok(()),
        IntentState::Processing | IntentState::Succeeded { .. } => Err(ActionError::PaymentProcessing.into()),
    }
}

/// What applying the provider's events works with.
#[derive(Clone, Copy)]
pub struct ProviderReports<'a> {
    pub changes: OrderChanges<'a>,
    pub log: &'a dyn ProviderEventLog,
    /// The shop's currency: money in another is never taken as payment.
    pub currency: &'a str,
}

impl App {
    pub fn provider_reports(&self) -> ProviderReports<'_> {
        ProviderReports {
            changes: self.order_changes(),
            log: &*self.provider_events,
            currency: &self.pricing.currency,
        }
    }
}

/// What an event of the provider's did.
#[derive(Debug)]
pub enum Applied {
    /// The order is paid (by this event, or already by the same payment).
    Paid(Order),
    /// The money cannot pay the order (its amount or currency is not the order's, the order was
    /// paid otherwise or can no longer be paid, or the shop has no such order): it is kept on
    /// record and paid back.
    RefundDue { order: OrderId, reason: String },
    /// The attempt is closed; the order stays payable.
    AttemptClosed(Order),
    /// A refund's progress at the provider is recorded on the order.
    RefundProgress(Order),
    /// The payment's dispute is recorded on the order.
    Disputed(Order),
    /// Nothing to change (a failure reported after the payment, say).
    Unchanged,
    /// An event this service does not act on.
    Ignored,
    /// This event was applied before.
    Duplicate,
}

impl Applied {
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Paid(_) => "paid",
            Self::RefundDue { .. } => "refund_due",
            Self::AttemptClosed(_) => "attempt_closed",
            Self::RefundProgress(_) => "refund_progress",
            Self::Disputed(_) => "disputed",
            Self::Unchanged => "unchanged",
            Self::Ignored => "ignored",
            Self::Duplicate => "duplicate",
        }
    }
}

/// Applies one event of the provider's, once by its id: an event delivered again (Stripe retries
/// for three days) finds it applied. Every effect is idempotent too, so an event applied but not
/// yet recorded (a crash between) applies again to the same end; and arrival order does not
/// matter: a failure reported after the payment changes nothing.
pub async fn apply_report(reports: ProviderReports<'_>, report: &ProviderReport, actor: &Actor) -> Result<Applied, ActionError> {
    // Neither looked up nor recorded: another deployment's events on the same account would
    // cost a read each and fill the log.
    if report.event == ProviderEvent::Ignored {
        return Ok(Applied::Ignored);
    }
    if reports.log.event_applied(&report.event_id).await? {
        return Ok(Applied::Duplicate);
    }
    let applied = match &report.event {
        ProviderEvent::PaymentSucceeded {
            order,
            payment,
            received,
            currency,
        } => take_payment(reports, *order, payment, *received, currency, actor).await?,
        ProviderEvent::PaymentFailed { order, payment, reason } => {
            close_attempt(reports.changes, *order, payment, AttemptEnd::Failed(reason.clone()), actor).await?
        }
        ProviderEvent::PaymentCancelled { order, payment } => {
            close_attempt(reports.changes, *order, payment, AttemptEnd::Cancelled, actor).await?
        }
        ProviderEvent::RefundUpdated {
            key,
            reference,
            status,
            reason,
        } => record_refund_progress(reports.changes, key, reference, *status, reason, actor).await?,
        ProviderEvent::Disputed {
            payment,
            dispute,
            amount,
            reason,
        } => {
            let dispute = Dispute {
                dispute_id: dispute.clone(),
                amount: *amount,
                reason: reason.clone(),
                opened_at: reports.changes.clock.now(),
            };
            record_dispute(reports.changes, payment, dispute, actor).await?
        }
        ProviderEvent::Ignored => return Ok(Applied::Ignored),
    };
    reports
        .log
        .record_event(&report.event_id, &report.kind, reports.changes.clock.now())
        .await?;
    Ok(applied)
}

/// Settles an unpaid order whose payment started a while ago and whose webhook has not come (a
/// missed webhook is not a lost payment): what the provider holds decides. Money taken pays the
/// order (or is kept to be paid back); a cancelled intent closes the attempt; one still waiting
/// is left for its webhook, the next sweep, or its deadline.
pub async fn settle_unanswered(reports: ProviderReports<'_>, id: OrderId, actor: &Actor) -> Result<Applied, ActionError> {
    let Some(order) = reports.changes.orders.get_order(id).await? else {
        return Ok(Applied::Unchanged);
    };
    let Some(payment) = order.open_payment_attempt().cloned() else {
        return Ok(Applied::Unchanged);
    };
    match reports
        .changes
        .provider
        .retrieve_intent(&payment)
        .await
        .map_err(ActionError::Provider)?
    {
        IntentState::Succeeded { received, currency } => take_payment(reports, id, &payment, received, &currency, actor).await,
        IntentState::Cancelled => close_attempt(reports.changes, id, &payment, AttemptEnd::Cancelled, actor).await,
        IntentState::Open | IntentState::Processing => Ok(Applied::Unchanged),
    }
}

/// Money the provider took: it pays the order when it is the order's total in the shop's
/// currency; otherwise it is kept on record and paid back (never silently kept).
async fn take_payment(
    reports: ProviderReports<'_>,
    id: OrderId,
    reference: &PaymentReference,
    received: Money,
    currency: &str,
    actor: &Actor,
) -> Result<Applied, ActionError> {
    let changes = reports.changes;
    let refund_due = |reason: String| Applied::RefundDue { order: id, reason };
    if currency != reports.currency {
        let reason = format!("{received} {currency} received; the shop charges in {}", reports.currency);
        return keep_for_refund(changes, id, reference, received, reason).await;
    }
    match confirm_payment(changes, id, Access::Anyone, reference, received, actor).await {
        Ok(order) => Ok(Applied::Paid(order)),
        // Kept on record for the shop to pay back by `confirm_payment` itself.
        Err(ActionError::NotFound) => Ok(refund_due("no such order".to_owned())),
        // Every other refusal keeps the money for the refund step, once per payment: an order
        // that can no longer be paid, or one that goes on unpaid (cash on delivery chosen after a
        // declined card whose checkout then took the money).
        Err(ActionError::Payment(refusal)) => keep_for_refund(changes, id, reference, received, refusal.to_string()).await,
        Err(other) => Err(other),
    }
}

/// Keeps money that cannot pay the order on record, once per provider payment, for the refund
/// step to pay back; logged and counted, for it means a charge the customer did not mean.
async fn keep_for_refund(
    changes: OrderChanges<'_>,
    id: OrderId,
    reference: &PaymentReference,
    received: Money,
    reason: String,
) -> Result<Applied, ActionError> {
    let payment = Payment {
        reference: reference.clone(),
        amount: received,
        received_at: changes.clock.now(),
    };
    let Some(order) = changes.orders.get_order(id).await? else {
        changes.orders.record_unmatched_payment(id, &payment).await?;
        return Ok(Applied::RefundDue { order: id, reason });
    };
    if changes.orders.record_late_payment(&order, &payment).await? {
        tracing::error!(payment = %reference, %received, %reason, "payment that cannot pay its order; kept for a refund");
        crate::metrics::count("PaymentMismatches", 1, &[]);
    }
    Ok(Applied::RefundDue { order: id, reason })
}

/// A refund's own progress at the provider, on the order's refund it pays back. A FAILED
/// refund (the money did not reach the customer) is logged, counted and alarmed: the shop pays
/// that customer back another way. A late payment's refund is only logged.
async fn record_refund_progress(
    changes: OrderChanges<'_>,
    key: &str,
    reference: &str,
    status: ProviderRefundStatus,
    reason: &str,
    actor: &Actor,
) -> Result<Applied, ActionError> {
    let failed = status == ProviderRefundStatus::Failed;
    let refund = key
        .split_once(':')
        .filter(|(_, refund)| !refund.starts_with(RefundDue::KEY_INFIX))
        .and_then(|(order, refund)| Some((OrderId::parse(order).ok()?, RefundId::parse(refund).ok()?)));
    let Some((id, refund)) = refund else {
        // A late payment's refund, kept beside the order: logged and, failed, counted and
        // alarmed like any other.
        if failed {
            tracing::error!(%key, %reference, %reason, "a late payment's refund failed at the provider: the customer was not paid back");
            crate::metrics::count("RefundsFailed", 1, &[]);
        } else {
            tracing::info!(%key, %reference, ?status, "a late payment's refund moved on at the provider");
        }
        return Ok(Applied::Unchanged);
    };
    let changed = amend(changes, id, |order, now| {
        order.record_refund_progress(&refund, reference, status, reason, actor, now)
    })
    .await?;
    let Some(order) = changed else {
        return Ok(Applied::Unchanged);
    };
    if failed {
        tracing::error!(order_id = %id, %refund, %reference, %reason, "a refund failed at the provider: the customer was not paid back");
        crate::metrics::count("RefundsFailed", 1, &[]);
    }
    Ok(Applied::RefundProgress(order))
}

/// The customer disputed the payment with their bank: the order says so when it is its payment (`payment_status`
/// DISPUTED, an `OrderDisputed` event), counted and alarmed, for the shop has days to answer.
async fn record_dispute(
    changes: OrderChanges<'_>,
    payment: &PaymentReference,
    dispute: Dispute,
    actor: &Actor,
) -> Result<Applied, ActionError> {
    let id = match changes.provider.payment_order(payment).await {
        Ok(Some(id)) => id,
        // Another deployment's payment, or none Stripe knows: nothing of ours to mark.
        Ok(None) | Err(ProviderError::Refused(_)) => return Ok(Applied::Unchanged),
        Err(unavailable) => return Err(ActionError::Provider(unavailable)),
    };
    let disputed = amend(changes, id, |order, now| order.dispute(payment, dispute.clone(), actor, now)).await?;
    // Counted and alarmed even when it is not the order's own payment that is disputed (a second
    // charge kept to be paid back): the shop has days to answer either.
    let known = disputed.is_none() && dispute_recorded(changes, id, &dispute.dispute_id).await?;
    if !known {
        tracing::error!(order_id = %id, %payment, dispute = %dispute.dispute_id, reason = %dispute.reason, amount = %dispute.amount, "payment disputed");
        crate::metrics::count("PaymentsDisputed", 1, &[]);
    }
    Ok(disputed.map_or(Applied::Unchanged, Applied::Disputed))
}

/// Whether the order holds this dispute already (a second event about it).
async fn dispute_recorded(changes: OrderChanges<'_>, id: OrderId, dispute: &str) -> Result<bool, ActionError> {
    let order = changes.orders.get_order(id).await?;
    Ok(order.is_some_and(|order| order.disputes.iter().any(|known| known.dispute_id == dispute)))
}

/// The provider will not take the money on this intent: the order stays payable (another card
/// starts the next attempt) until its deadline.
async fn close_attempt(
    changes: OrderChanges<'_>,
    id: OrderId,
    payment: &PaymentReference,
    end: AttemptEnd,
    actor: &Actor,
) -> Result<Applied, ActionError> {
    let closed = amend(changes, id, |order, now| order.close_payment_attempt(payment, &end, actor, now)).await?;
    Ok(closed.map_or(Applied::Unchanged, Applied::AttemptClosed))
}

/// Reads the order, applies `change` (which says whether it changed anything) and writes it
/// conditioned on what was read, again on a lost race; `None` when there is no such order or
/// nothing changed.
async fn amend<F>(changes: OrderChanges<'_>, id: OrderId, change: F) -> Result<Option<Order>, ActionError>
where
    F: Fn(&mut Order, chrono::DateTime<chrono::Utc>) -> bool,
{
    let change = &change;
    until_written(move || async move {
        let mut order = match load(changes.orders, id, Access::Anyone).await {
            Err(ActionError::NotFound) => return Ok::<_, ActionError>(Some(None)),
            loaded => loaded?,
        };
        if !change(&mut order, changes.clock.now()) {
            return Ok(Some(None));
        }
        let expected = order.status;
        Ok(write(changes, &mut order, expected, StockChange::None).await?.then(Some(order)))
    })
    .await
}
