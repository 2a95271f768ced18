//! The reserve-stock saga step: finishes an order left in PENDING_RESERVING_STOCK.
//! Idempotent: an order in any other status is left alone, and the transaction that reserves
//! is conditioned on the status, so a duplicate message cannot reserve twice.

use crate::domain::allocation;
use crate::domain::PricingPolicy;
use crate::domain::{Actor, LineProblem, Order, OrderId, OrderStatus, Reservation};
use crate::ports::{Catalogue, Rejection, StockChange, StoreError, WriteError};
use crate::service::placement::RESERVER;
use crate::service::{App, OrderChanges};

/// What the reserve-stock step works with.
#[derive(Clone, Copy)]
pub struct Reserving<'a> {
    pub changes: OrderChanges<'a>,
    /// Prices an order afresh when a price changed while it waited.
    pub catalogue: &'a dyn Catalogue,
    pub pricing: &'a PricingPolicy,
    pub payment_timeout: chrono::Duration,
}

impl App {
    pub fn reserving(&self) -> Reserving<'_> {
        Reserving {
            changes: self.order_changes(),
            catalogue: &*self.catalogue,
            pricing: &self.pricing,
            payment_timeout: self.payment_timeout,
        }
    }
}

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
    #[error("prices kept changing while the order was reserved; the message will be delivered again")]
    PricesKeptChanging,
}

/// Times the step prices an order afresh when a price changed under it, or plans a sharded
/// product's holds afresh when the shards chosen emptied under it.
const ATTEMPTS: usize = 4;

pub async fn finish_reservation(reserving: Reserving<'_>, id: OrderId) -> Result<StepOutcome, StepError> {
    let Reserving { changes, catalogue, .. } = reserving;
    let Some(mut order) = changes.orders.get_order(id).await? else {
        tracing::warn!("reserve-stock step for an order that does not exist; dropping it");
        return Ok(StepOutcome::AlreadySettled);
    };
    if order.status != OrderStatus::PendingReservingStock {
        return Ok(StepOutcome::AlreadySettled);
    }
    let actor = Actor::system(RESERVER);
    let mut repriced: Vec<String> = Vec::new();
    // The order was priced when it was placed; the hold is conditioned on those price versions.
    // A price that changed since is charged as it now is, and the timeline says so.
    for round in 1..=ATTEMPTS {
        let now = changes.clock.now();
        let payment_due = now + reserving.payment_timeout;
        let note = (!repriced.is_empty()).then(|| format!("REPRICED: {}", repriced.join(", ")));
        let mut reserved = order.clone();
        reserved
            .reserve(&actor, now, payment_due, note)
            .map_err(|err| StepError::Illegal(err.to))?;
        let reservation = Reservation::for_order(&reserved, payment_due, now);
        return match changes
            .orders
            .update_order(&mut reserved, OrderStatus::PendingReservingStock, StockChange::Hold(&reservation))
            .await
        {
            Ok(()) if changes.crashes.crash_at("reserve_stock.after_commit") => Err(StepError::Crashed),
            Ok(()) => Ok(StepOutcome::Reserved),
            Err(WriteError::Rejected(Rejection::PriceChanged(products))) => {
                tracing::info!(?products, "prices changed while the order waited; pricing it again");
                let skus: Vec<_> = order.items.iter().map(|line| line.product_id.clone()).collect();
                let catalogue = catalogue.get_products(&skus).await?;
                match order.reprice(&catalogue, reserving.pricing) {
                    Ok(changes) => {
                        repriced.extend(changes);
                        continue;
                    }
                    Err(problems) => invalidate(changes, order, problems, &actor).await,
                }
            }
            // The lines hold from the shards chosen when the order was placed (or from the
            // product's own item): after a refusal, plan a sharded product's holds afresh.
            Err(WriteError::Rejected(Rejection::OutOfStock(problems))) => {
                let skus: Vec<_> = order.items.iter().map(|line| line.product_id.clone()).collect();
                let catalogue = catalogue.get_products(&skus).await?;
                if !allocation::holds_from_shards(&order.items, &catalogue) {
                    return invalidate(changes, order, problems, &actor).await;
                }
                let short = allocation::assign_takes(&mut order.items, &catalogue, rand::random);
                if short.is_empty() && round < ATTEMPTS {
                    continue;
                }
                let problems = if short.is_empty() {
                    allocation::summed_problems(problems, &catalogue)
                } else {
                    short
                };
                invalidate(changes, order, problems, &actor).await
            }
            Err(WriteError::Rejected(_)) => Ok(StepOutcome::AlreadySettled),
            Err(WriteError::Store(err)) => Err(err.into()),
        };
    }
    Err(StepError::PricesKeptChanging)
}

/// The order cannot be reserved as it stands: INVALID, with a reason per line.
async fn invalidate(
    changes: OrderChanges<'_>,
    mut order: Order,
    problems: Vec<LineProblem>,
    actor: &Actor,
) -> Result<StepOutcome, StepError> {
    order
        .invalidate(problems, actor, changes.clock.now())
        .map_err(|err| StepError::Illegal(err.to))?;
    match changes
        .orders
        .update_order(&mut order, OrderStatus::PendingReservingStock, StockChange::None)
        .await
    {
        Ok(()) => Ok(StepOutcome::Invalidated),
        Err(WriteError::Rejected(_)) => Ok(StepOutcome::AlreadySettled),
        Err(WriteError::Store(err)) => Err(err.into()),
    }
}
