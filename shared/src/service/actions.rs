//! Paying and cancelling: each reads the order, decides in the domain, and writes conditioned on
//! the status and version it read, settling the reservation in the same transaction. When
//! another writer got there first, it reads again and decides again, so every race (confirm vs
//! cancel, confirm vs sweeper, cancel vs cancel, sweeper vs sweeper) has exactly one winner.

use crate::domain::order::{CancelDecision, NotCancellable, Payment, PaymentDecision, PaymentRefusal};
use crate::domain::{Actor, Money, Order, OrderId, OrderStatus, PaymentReference, Reservation};
use crate::ports::{IntentState, OrderStore, ProviderError, Rejection, Settlement, StockChange, StoreError, WriteError};
use crate::retry::RetryPolicy;
use crate::service::OrderChanges;

/// How many times an action re-reads an order that changed under it before giving up.
pub(crate) const CONTENDED_ATTEMPTS: u32 = 5;

pub use crate::domain::order::Access;

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("order not found")]
    NotFound,
    #[error(transparent)]
    NotCancellable(#[from] NotCancellable),
    #[error(transparent)]
    Payment(#[from] PaymentRefusal),
    #[error("the order kept changing under the request")]
    Contended,
    #[error("storage is briefly unavailable")]
    Unavailable(#[source] StoreError),
    #[error("storage failed")]
    Store(#[source] StoreError),
    #[error("the stored order and its stock disagree: {0}")]
    Inconsistent(String),
    /// A card was confirmed and the money is on its way: the order waits for it.
    #[error("the order's payment is being processed")]
    PaymentProcessing,
    /// The payment provider could not be asked to stop a started payment, so the order stays.
    #[error("the payment provider could not cancel the order's payment")]
    Provider(#[source] ProviderError),
}

impl From<StoreError> for ActionError {
    fn from(err: StoreError) -> Self {
        if err.is_transient() {
            Self::Unavailable(err)
        } else {
            Self::Store(err)
        }
    }
}

/// Why an order is cancelled: the note in its timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelReason {
    /// The customer or an admin asked, optionally saying why.
    Requested(Option<String>),
    /// The payments service or an admin reports the payment failed for good, optionally saying
    /// why. (A card the provider declines leaves the order payable: `payments::apply_report`.)
    PaymentFailed { reason: Option<String> },
    /// The payment deadline passed.
    PaymentTimeout,
}

impl CancelReason {
    fn note(&self) -> String {
        match self {
            Self::Requested(Some(reason)) => format!("CANCELLED_BY_REQUEST: {reason}"),
            Self::Requested(None) => "CANCELLED_BY_REQUEST".to_owned(),
            Self::PaymentFailed { reason: Some(reason) } => format!("PAYMENT_FAILED: {reason}"),
            Self::PaymentFailed { reason: None } => "PAYMENT_FAILED".to_owned(),
            Self::PaymentTimeout => "PAYMENT_TIMEOUT".to_owned(),
        }
    }
}

pub(crate) async fn load(orders: &dyn OrderStore, id: OrderId, access: Access<'_>) -> Result<Order, ActionError> {
    let order = orders.get_order(id).await?;
    order.filter(|order| access.allows(order)).ok_or(ActionError::NotFound)
}

/// Whether a conditional write went through or lost to another writer.
pub(crate) enum Written {
    Yes,
    LostRace,
}

impl Written {
    /// `value` once written; nothing when another writer got there first (read again).
    pub(crate) fn then<T>(self, value: T) -> Option<T> {
        match self {
            Self::Yes => Some(value),
            Self::LostRace => None,
        }
    }
}

/// Every change of an order: read it, decide, write conditioned on the version read. A round
/// answers `Some` when it is done (written, or nothing to write), `None` when its write lost to
/// another writer, so the next round reads again; after `CONTENDED_ATTEMPTS` lost rounds the
/// change is `Contended`.
pub(crate) async fn until_written<T, E, F, Fut>(round: F) -> Result<T, E>
where
    E: From<ActionError>,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, E>>,
{
    RetryPolicy::IMMEDIATE
        .rounds(CONTENDED_ATTEMPTS, round)
        .await?
        .ok_or_else(|| ActionError::Contended.into())
}

/// Writes the order; a transaction cancelled by a concurrent one is tried again as it stands.
pub(crate) async fn write(
    changes: OrderChanges<'_>,
    order: &mut Order,
    expected: OrderStatus,
    stock: StockChange<'_>,
) -> Result<Written, ActionError> {
    let written = changes
        .contention_retry
        .run(WriteError::is_contended, || {
            let mut attempt = order.clone();
            async move { changes.orders.update_order(&mut attempt, expected, stock).await.map(|()| attempt) }
        })
        .await;
    match written {
        Ok(stored) => {
            *order = stored;
            Ok(Written::Yes)
        }
        Err(WriteError::Rejected(Rejection::OrderChanged)) => Ok(Written::LostRace),
        Err(WriteError::Rejected(Rejection::ReservationNotActive)) => {
            crate::metrics::count("OrderInconsistent", 1, &[]);
            Err(ActionError::Inconsistent(format!(
                "order {} is {} but its reservation is not ACTIVE",
                order.id, order.status
            )))
        }
        Err(WriteError::Rejected(other)) => Err(ActionError::Inconsistent(format!("{other:?}"))),
        Err(WriteError::Store(err)) => Err(err.into()),
    }
}

/// Writes an order that leaves PENDING_PAYMENT with its reservation converted into sales (paid,
/// or accepted for cash on delivery).
pub(crate) async fn sell(changes: OrderChanges<'_>, order: &mut Order) -> Result<Written, ActionError> {
    write(
        changes,
        order,
        OrderStatus::PendingPayment,
        StockChange::Settle(Settlement::Convert),
    )
    .await
}

/// Applies a confirmed payment: PAID with the reservation converted into sales, exactly once.
pub async fn confirm_payment(
    changes: OrderChanges<'_>,
    id: OrderId,
    access: Access<'_>,
    reference: &PaymentReference,
    amount: Money,
    actor: &Actor,
) -> Result<Order, ActionError> {
    until_written(move || async move {
        let now = changes.clock.now();
        let payment = Payment {
            reference: reference.clone(),
            amount,
            received_at: now,
        };
        let mut order = match load(changes.orders, id, access).await {
            // Money for an order this shop does not have is kept on record, never just refused.
            Err(ActionError::NotFound) if matches!(access, Access::Anyone) => {
                if changes.orders.record_unmatched_payment(id, &payment).await? {
                    tracing::error!(payment = %reference, %amount, "payment for an order this shop does not have; kept on record");
                    crate::metrics::count("UnmatchedPayments", 1, &[]);
                }
                return Err(ActionError::NotFound);
            }
            loaded => loaded?,
        };
        let written = match order.judge_payment(reference, amount) {
            Ok(PaymentDecision::AlreadyApplied) => return Ok(Some(order)),
            Ok(PaymentDecision::Accept) => {
                order
                    .pay(payment, actor, now)
                    .map_err(|err| ActionError::Inconsistent(err.to_string()))?;
                sell(changes, &mut order).await?
            }
            Err(refusal @ PaymentRefusal::NotPayable { status, refund: true }) => {
                // Money arrived for an order that can no longer be paid: keep it on record, once
                // per provider payment; the sweeper has the refund step pay it back.
                if changes.orders.record_late_payment(&order, &payment).await? {
                    tracing::warn!(%status, "payment received for an order that cannot be paid; refund due");
                }
                return Err(refusal.into());
            }
            Err(refusal) => return Err(refusal.into()),
        };
        let paid = written.then(order);
        if paid.is_some() {
            crate::metrics::count("OrdersPaid", 1, &[]);
        }
        Ok(paid)
    })
    .await
}

/// Cancels an order and gives back its stock: held units are released; a paid order that has
/// not shipped gets its sold units back in stock and its payment refunded, in the same write
/// (the refund step then pays it back). Cancelling a cancelled order changes nothing (`false`).
/// A timeout cancels only an order still awaiting payment past its deadline, and a failed
/// payment never cancels a paid order.
pub async fn cancel_order(
    changes: OrderChanges<'_>,
    id: OrderId,
    access: Access<'_>,
    actor: &Actor,
    reason: CancelReason,
) -> Result<(Order, bool), ActionError> {
    let reason = &reason;
    until_written(move || async move {
        let mut order = load(changes.orders, id, access).await?;
        let now = changes.clock.now();
        let decision = order.judge_cancel()?;
        let expected = order.status;
        let inconsistent = |err: crate::domain::IllegalTransition| ActionError::Inconsistent(err.to_string());
        if decision == CancelDecision::AlreadyCancelled {
            return Ok(Some((order, false)));
        }
        if *reason == CancelReason::PaymentTimeout && !is_overdue(&order, now) {
            return Ok(Some((order, false)));
        }
        if let Some(payment) = order.open_payment_attempt().cloned() {
            if stop_payment(changes, &order, &payment, actor, Hold::Kept).await? == Stopped::Paid {
                // Paid at the last moment: read again and decide for a paid order.
                return Ok(None);
            }
        }
        let restock = match decision {
            CancelDecision::AlreadyCancelled => return Ok(Some((order, false))),
            CancelDecision::RestockAndRefund if matches!(reason, CancelReason::PaymentFailed { .. }) => {
                return Err(NotCancellable { status: order.status }.into());
            }
            CancelDecision::RestockAndRefund => {
                let units = order.cancel_paid(actor, reason.note(), now).map_err(inconsistent)?;
                Some(order.stock_of(&units))
            }
            CancelDecision::ReleaseStock | CancelDecision::NothingHeld => {
                order
                    .cancel(actor, reason.note(), matches!(reason, CancelReason::PaymentFailed { .. }), now)
                    .map_err(inconsistent)?;
                None
            }
        };
        let stock = match (&restock, decision) {
            (Some(units), _) => StockChange::Restock(units),
            (None, CancelDecision::ReleaseStock) => StockChange::Settle(Settlement::Release),
            (None, _) => StockChange::None,
        };
        let Written::Yes = write(changes, &mut order, expected, stock).await? else {
            return Ok(None);
        };
        // Expiries are counted by the sweeper (OrdersExpired).
        match reason {
            CancelReason::PaymentFailed { .. } => crate::metrics::count("PaymentsFailed", 1, &[]),
            CancelReason::Requested(_) => crate::metrics::count("OrdersCancelled", 1, &[]),
            CancelReason::PaymentTimeout => {}
        }
        Ok(Some((order, true)))
    })
    .await
}

#[derive(Debug, PartialEq, Eq)]
enum Stopped {
    /// No card can pay the order any more: cancel it.
    Stopped,
    /// The provider took the money for the order, which is now paid.
    Paid,
}

/// Whether the order still holds its stock when its payment is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Its reservation is ACTIVE: money the provider took can still pay it.
    Kept,
    /// TTL deleted its reservation: the units are gone back, so money taken cannot buy them.
    Gone,
}

/// No charged customer with a cancelled order: before an unpaid order whose payment started is
/// cancelled, its intent is cancelled at the provider. When the provider answers that it took
/// the money, the order is paid from that answer instead while it holds its stock (money that
/// cannot pay it is kept to be paid back); when the money is on its way, the order and its hold
/// wait for it.
async fn stop_payment(
    changes: OrderChanges<'_>,
    order: &Order,
    payment: &PaymentReference,
    actor: &Actor,
    hold: Hold,
) -> Result<Stopped, ActionError> {
    match changes.provider.cancel_intent(payment).await.map_err(ActionError::Provider)? {
        IntentState::Open | IntentState::Cancelled => Ok(Stopped::Stopped),
        IntentState::Processing => Err(ActionError::PaymentProcessing),
        IntentState::Succeeded { received, currency } => {
            if hold == Hold::Kept && currency == order.currency {
                match confirm_payment(changes, order.id, Access::Anyone, payment, received, actor).await {
                    Ok(_) => return Ok(Stopped::Paid),
                    Err(ActionError::Payment(PaymentRefusal::AmountMismatch { .. })) => {}
                    Err(other) => return Err(other),
                }
            }
            let taken = Payment {
                reference: payment.clone(),
                amount: received,
                received_at: changes.clock.now(),
            };
            if changes.orders.record_late_payment(order, &taken).await? {
                tracing::error!(%payment, %received, %currency, "a payment that cannot pay its order; kept for a refund");
                crate::metrics::count("PaymentMismatches", 1, &[]);
            }
            Ok(Stopped::Stopped)
        }
    }
}

fn is_overdue(order: &Order, now: chrono::DateTime<chrono::Utc>) -> bool {
    order.status == OrderStatus::PendingPayment && order.payment_due_at.is_some_and(|due| due <= now)
}

/// TTL deleted a reservation that was still ACTIVE: its order lapses (its intent cancelled at the
/// provider first) and its stock comes back, exactly once (a RELEASED record takes the
/// reservation's place, created only once).
pub async fn release_deleted_reservation(changes: OrderChanges<'_>, reservation: &Reservation, actor: &Actor) -> Result<bool, ActionError> {
    until_written(move || async move {
        let mut order = load(changes.orders, reservation.order_id, Access::Anyone).await?;
        if order.status != OrderStatus::PendingPayment {
            tracing::info!(status = %order.status, "reservation deleted by TTL after its order was settled; nothing to release");
            return Ok(Some(false));
        }
        // As the sweeper's expiry: no card may pay the order once it lapses. A payment still
        // processing leaves the record to be retried; money already taken is kept to be paid back.
        if let Some(payment) = order.open_payment_attempt().cloned() {
            stop_payment(changes, &order, &payment, actor, Hold::Gone).await?;
        }
        let now = changes.clock.now();
        order
            .cancel(actor, CancelReason::PaymentTimeout.note(), false, now)
            .map_err(|err| ActionError::Inconsistent(err.to_string()))?;
        let written = write(
            changes,
            &mut order,
            OrderStatus::PendingPayment,
            StockChange::ReleaseDeleted(reservation),
        )
        .await?;
        Ok(written.then(true))
    })
    .await
}
