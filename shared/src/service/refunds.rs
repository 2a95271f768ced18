//! Money back: an admin's refund, a customer's return and its decision, and the refund step
//! that has the provider pay back what the order records as owed. Each change is decided in the
//! domain and written conditioned on the version it read, with the units it gives back to
//! stock in the same transaction; the provider is asked afterwards, once per refund id, by the
//! refund step (`OrderRefunded` events on the refund queue), so a crash between the two only
//! delays the money.

use chrono::{DateTime, Utc};

use crate::domain::order::{PartItem, PaymentMethod};
use crate::domain::order::{Recorded, RefundRefusal, RefundRequest, ReturnRefusal};
use crate::domain::{Actor, Order, OrderId, RefundId, ReturnId};
use crate::ports::{PaymentProvider, ProviderError, StockChange};
use crate::service::actions::{load, until_written, write, Access, ActionError};
use crate::service::{App, OrderChanges};

/// The component named for the refund step.
pub const REFUNDS: &str = "refunds";

/// What the refund step works with: the order changes, and the provider that pays back.
#[derive(Clone, Copy)]
pub struct RefundStep<'a> {
    pub changes: OrderChanges<'a>,
    pub provider: &'a dyn PaymentProvider,
}

impl App {
    pub fn refund_step(&self) -> RefundStep<'_> {
        RefundStep {
            changes: self.order_changes(),
            provider: &*self.payments,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MoneyBackError {
    #[error(transparent)]
    Refund(#[from] RefundRefusal),
    #[error(transparent)]
    Return(#[from] ReturnRefusal),
    #[error(transparent)]
    Action(#[from] ActionError),
}

/// What a change did: nothing, or something to write with these units back in stock.
enum Change<T> {
    Unchanged(T),
    Write { restock: Vec<PartItem>, answer: T },
}

/// Reads the order, lets `decide` change it, and writes it conditioned on the status and
/// version it read, restocking in the same transaction; decides again while others win.
async fn change_order<T>(
    changes: OrderChanges<'_>,
    id: OrderId,
    access: Access<'_>,
    decide: impl Fn(&mut Order, DateTime<Utc>) -> Result<Change<T>, MoneyBackError>,
) -> Result<(Order, T), MoneyBackError> {
    let decide = &decide;
    until_written(move || async move {
        let mut order = load(changes.orders, id, access).await?;
        let expected = order.status;
        let (restock, answer) = match decide(&mut order, changes.clock.now())? {
            Change::Unchanged(answer) => return Ok(Some((order, answer))),
            Change::Write { restock, answer } => (restock, answer),
        };
        let units = order.stock_of(&restock);
        Ok(write(changes, &mut order, expected, StockChange::restock(&units))
            .await?
            .then((order, answer)))
    })
    .await
}

/// An admin's refund, recorded once per id (a replay finds it).
pub async fn refund_order(
    changes: OrderChanges<'_>,
    id: OrderId,
    refund_id: RefundId,
    request: RefundRequest,
    actor: &Actor,
) -> Result<(Order, Recorded), MoneyBackError> {
    change_order(changes, id, Access::Anyone, |order, now| {
        match order.refund(refund_id.clone(), request.clone(), actor, now)? {
            Recorded::Replayed => Ok(Change::Unchanged(Recorded::Replayed)),
            Recorded::New => Ok(Change::Write {
                restock: order.refunds.last().map(|refund| refund.restocked.clone()).unwrap_or_default(),
                answer: Recorded::New,
            }),
        }
    })
    .await
}

/// A customer asks to return delivered units of their own order.
pub async fn request_return(
    changes: OrderChanges<'_>,
    return_window: chrono::Duration,
    id: OrderId,
    access: Access<'_>,
    lines: Vec<PartItem>,
    reason: String,
    actor: &Actor,
) -> Result<(Order, ReturnId, Recorded), MoneyBackError> {
    let (order, (return_id, recorded)) = change_order(changes, id, access, |order, now| {
        let (return_id, recorded) = order.request_return(lines.clone(), reason.clone(), return_window, actor, now)?;
        Ok(match recorded {
            Recorded::Replayed => Change::Unchanged((return_id, recorded)),
            Recorded::New => Change::Write {
                restock: Vec::new(),
                answer: (return_id, recorded),
            },
        })
    })
    .await?;
    Ok((order, return_id, recorded))
}

/// An admin approves a return: its units back in stock, their value refunded, RETURNED.
pub async fn approve_return(
    changes: OrderChanges<'_>,
    id: OrderId,
    return_id: &ReturnId,
    note: Option<String>,
    actor: &Actor,
) -> Result<Order, MoneyBackError> {
    let (order, ()) = change_order(changes, id, Access::Anyone, |order, now| {
        Ok(match order.approve_return(return_id, note.clone(), actor, now)? {
            Some(restock) => Change::Write { restock, answer: () },
            None => Change::Unchanged(()),
        })
    })
    .await?;
    Ok(order)
}

/// An admin rejects a return: the order goes back to where it was.
pub async fn reject_return(
    changes: OrderChanges<'_>,
    id: OrderId,
    return_id: &ReturnId,
    note: String,
    actor: &Actor,
) -> Result<Order, MoneyBackError> {
    let (order, ()) = change_order(changes, id, Access::Anyone, |order, now| {
        Ok(if order.reject_return(return_id, note.clone(), actor, now)? {
            Change::Write {
                restock: Vec::new(),
                answer: (),
            }
        } else {
            Change::Unchanged(())
        })
    })
    .await?;
    Ok(order)
}

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Action(#[from] ActionError),
    #[error("injected crash at {0}")]
    Crashed(&'static str),
}

/// The refund step: has the provider pay back every refund the order still owes (and every
/// payment that arrived after it could no longer be paid), then records each as completed. The
/// provider is asked with the refund's own key, so a step repeated after a crash (before or
/// after the provider answered) pays nothing twice. Answers how many refunds it completed.
pub async fn settle_refunds(step: RefundStep<'_>, id: OrderId) -> Result<usize, SettleError> {
    let RefundStep { changes, provider } = step;
    let order = load(changes.orders, id, Access::Anyone).await?;
    let mut completed = 0;
    for due in order.late_payments_owed() {
        let payment = &due.payment;
        let reference = provider
            .refund(&payment.reference, &due.provider_key(id), payment.amount, &order.currency)
            .await?;
        if changes
            .orders
            .complete_late_refund(id, &payment.reference, &reference, changes.clock.now())
            .await
            .map_err(ActionError::from)?
        {
            tracing::info!(payment = %payment.reference, amount = %payment.amount, "late payment refunded");
            completed += 1;
        }
    }
    let Some(payment) = order.payment.clone() else {
        return Ok(completed);
    };
    let owed: Vec<_> = order
        .pending_refunds()
        .map(|refund| (refund.refund_id.clone(), refund.amount))
        .collect();
    for (refund_id, amount) in owed {
        if changes.crashes.crash_at("refund.before_provider") {
            return Err(SettleError::Crashed("refund.before_provider"));
        }
        let key = format!("{id}:{refund_id}");
        // Cash collected at the door goes back the way it came: the shop pays it, not Stripe.
        let reference = if order.payment_method == Some(PaymentMethod::Cod) {
            tracing::info!(%refund_id, %amount, "a cash-on-delivery refund: the shop pays it back in cash");
            format!("cash:{refund_id}")
        } else {
            provider.refund(&payment.reference, &key, amount, &order.currency).await?
        };
        if changes.crashes.crash_at("refund.after_provider") {
            return Err(SettleError::Crashed("refund.after_provider"));
        }
        let (_, done) = change_order(changes, id, Access::Anyone, |order, now| {
            Ok(if order.complete_refund(&refund_id, reference.clone(), now) {
                Change::Write {
                    restock: Vec::new(),
                    answer: true,
                }
            } else {
                Change::Unchanged(false)
            })
        })
        .await
        .map_err(|err| match err {
            MoneyBackError::Action(err) => err,
            other => ActionError::Inconsistent(other.to_string()),
        })?;
        completed += usize::from(done);
    }
    Ok(completed)
}
