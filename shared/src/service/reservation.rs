//! The reserve-stock saga step: finishes an order left in PENDING_RESERVING_STOCK.
//! Idempotent: an order in any other status is left alone, and the transaction that reserves
//! is conditioned on the status, so a duplicate message cannot reserve twice.

use crate::app::App;
use crate::domain::{Actor, OrderId, OrderStatus, Reservation};
use crate::ports::{Rejection, StockChange, StoreError, WriteError};
use crate::service::placement::RESERVER;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Stock reserved: the order awaits payment.
    Reserved,
    /// Not enough stock: the order is INVALID.
    Invalidated,
    /// Nothing to do: the order is settled already, or does not exist.
    AlreadySettled,
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("storage failed; the message will be delivered again")]
    Store(#[from] StoreError),
    #[error("the order moved to {0} unexpectedly")]
    Illegal(OrderStatus),
    #[error("crashed after the reserving write")]
    Crashed,
}

pub async fn finish_reservation(app: &App, id: OrderId) -> Result<StepOutcome, StepError> {
    let Some(order) = app.orders.get_order(id).await? else {
        tracing::warn!("reserve-stock step for an order that does not exist; dropping it");
        return Ok(StepOutcome::AlreadySettled);
    };
    if order.status != OrderStatus::PendingReservingStock {
        return Ok(StepOutcome::AlreadySettled);
    }
    let now = app.clock.now();
    let actor = Actor::system(RESERVER);
    let payment_due = now + app.payment_timeout;
    let mut reserved = order.clone();
    reserved
        .reserve(&actor, now, payment_due)
        .map_err(|err| StepError::Illegal(err.to))?;
    let reservation = Reservation::for_order(&reserved, payment_due, now);
    match app
        .orders
        .update_order(&mut reserved, OrderStatus::PendingReservingStock, StockChange::Hold(&reservation))
        .await
    {
        Ok(()) if app.crash_at("reserve_stock.after_commit") => Err(StepError::Crashed),
        Ok(()) => Ok(StepOutcome::Reserved),
        Err(WriteError::Rejected(Rejection::OutOfStock(problems))) => {
            let mut invalid = order;
            invalid
                .invalidate(problems, &actor, now)
                .map_err(|err| StepError::Illegal(err.to))?;
            match app
                .orders
                .update_order(&mut invalid, OrderStatus::PendingReservingStock, StockChange::None)
                .await
            {
                Ok(()) => Ok(StepOutcome::Invalidated),
                Err(WriteError::Rejected(_)) => Ok(StepOutcome::AlreadySettled),
                Err(WriteError::Store(err)) => Err(err.into()),
            }
        }
        Err(WriteError::Rejected(_)) => Ok(StepOutcome::AlreadySettled),
        Err(WriteError::Store(err)) => Err(err.into()),
    }
}
