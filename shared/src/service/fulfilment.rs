//! Fulfilment: a paid order is split into one part per seller (the fulfilment saga step, from
//! the `OrderPaid` event), and each seller reports shipping and delivery of their part. Like
//! every action, each reads the order, decides in the domain, and writes conditioned on the
//! status and version it read; a replayed step or report changes nothing.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::domain::order::{PartOutcome, PartUpdate, ShippingRefusal, StatusChangePlan, StatusChangeRefusal};
use crate::domain::{Actor, Order, OrderId, OrderStatus, SellerId};
use crate::ports::SellerStore;
use crate::ports::StockChange;
use crate::service::actions::{cancel_order, load, until_written, write, Access, ActionError, CancelReason};
use crate::service::{App, OrderChanges};

/// The component named in the timeline for the fulfilment step.
pub const FULFILMENT: &str = "fulfilment";

#[derive(Debug, thiserror::Error)]
pub enum ShippingError {
    #[error(transparent)]
    Refused(#[from] ShippingRefusal),
    #[error(transparent)]
    Action(#[from] ActionError),
}

/// What fulfilment works with: the order changes, and the commission each part is charged.
#[derive(Clone, Copy)]
pub struct Fulfilment<'a> {
    pub changes: OrderChanges<'a>,
    pub commission: Commission<'a>,
}

/// The marketplace's commission: the registry holds sellers' own rates; the rest pay the default.
#[derive(Clone, Copy)]
pub struct Commission<'a> {
    pub sellers: &'a dyn SellerStore,
    pub default_rate: Decimal,
}

impl App {
    pub fn commission(&self) -> Commission<'_> {
        Commission {
            sellers: &*self.sellers,
            default_rate: self.commission_rate,
        }
    }

    pub fn fulfilment(&self) -> Fulfilment<'_> {
        Fulfilment {
            changes: self.order_changes(),
            commission: self.commission(),
        }
    }
}

/// Splits a paid order into seller parts: PAID -> PROCESSING. `false` when there is nothing to
/// do (already under way, or not paid), so a redelivered step changes nothing.
pub async fn start_fulfilment(fulfilment: Fulfilment<'_>, id: OrderId) -> Result<bool, ActionError> {
    let (_, started) = start_fulfilment_as(fulfilment, id, &Actor::system(FULFILMENT), None, None).await?;
    Ok(started)
}

/// The marketplace's commission rate per seller: the seller's own where an admin set one, the
/// configured rate otherwise.
pub(crate) struct CommissionRates {
    own: HashMap<SellerId, Decimal>,
    default: Decimal,
}

impl Commission<'_> {
    /// The rates of the sellers of `order`, in one read of the registry.
    pub(crate) async fn rates_for(&self, order: &Order) -> Result<CommissionRates, ActionError> {
        let ids: Vec<SellerId> = order.items.iter().map(|line| line.seller_id.clone()).collect();
        let sellers = self.sellers.get_sellers(&ids).await?;
        Ok(CommissionRates {
            own: sellers
                .into_iter()
                .filter_map(|(id, seller)| Some((id, seller.commission_rate?)))
                .collect(),
            default: self.default_rate,
        })
    }
}

impl CommissionRates {
    pub(crate) fn rate(&self, seller: &SellerId) -> Decimal {
        self.own.get(seller).copied().unwrap_or(self.default)
    }
}

/// PAID -> PROCESSING; answers the order as it stands and whether this call moved it. `read` is
/// the order as the caller just read it, so the first round need not read it again.
async fn start_fulfilment_as(
    fulfilment: Fulfilment<'_>,
    id: OrderId,
    actor: &Actor,
    note: Option<&str>,
    read: Option<Order>,
) -> Result<(Order, bool), ActionError> {
    let changes = fulfilment.changes;
    let mut read = read;
    until_written(move || {
        let fresh = read.take();
        async move {
            let mut order = match fresh {
                Some(order) => order,
                None => load(changes.orders, id, Access::Anyone).await?,
            };
            if order.status != OrderStatus::Paid {
                return Ok(Some((order, false)));
            }
            let rates = fulfilment.commission.rates_for(&order).await?;
            order
                .start_fulfilment(actor, note, |seller| rates.rate(seller), changes.clock.now())
                .map_err(|err| ActionError::Inconsistent(err.to_string()))?;
            Ok(write(changes, &mut order, OrderStatus::Paid, StockChange::None)
                .await?
                .then((order, true)))
        }
    })
    .await
}

/// A seller's (or an admin's) report on one seller's part.
pub async fn update_shipping(
    changes: OrderChanges<'_>,
    id: OrderId,
    seller: &SellerId,
    update: PartUpdate,
    actor: &Actor,
) -> Result<Order, ShippingError> {
    let update = &update;
    until_written(move || async move {
        let mut order = load(changes.orders, id, Access::Anyone).await?;
        let expected = order.status;
        let PartOutcome::Changed { restock } = order.update_part(seller, update.clone(), actor, changes.clock.now())? else {
            return Ok(Some(order));
        };
        let units = order.stock_of(&restock);
        Ok(write(changes, &mut order, expected, StockChange::restock(&units))
            .await?
            .then(order))
    })
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Refused(#[from] StatusChangeRefusal),
    #[error(transparent)]
    Action(#[from] ActionError),
}

/// An admin moves an order to `target` along the lifecycle, by the path that status takes.
pub async fn set_status(
    fulfilment: Fulfilment<'_>,
    id: OrderId,
    target: OrderStatus,
    note: Option<String>,
    actor: &Actor,
) -> Result<Order, StatusError> {
    let note = &note;
    let changes = fulfilment.changes;
    until_written(move || async move {
        let mut order = load(changes.orders, id, Access::Anyone).await?;
        let expected = order.status;
        match order.status_change(target)? {
            StatusChangePlan::Unchanged => Ok(Some(order)),
            StatusChangePlan::Cancel => {
                let (order, _) = cancel_order(changes, id, Access::Anyone, actor, CancelReason::Requested(note.clone())).await?;
                Ok(Some(order))
            }
            StatusChangePlan::StartFulfilment => {
                let (order, _) = start_fulfilment_as(fulfilment, id, actor, note.as_deref(), Some(order)).await?;
                Ok(Some(order))
            }
            StatusChangePlan::DeliverAll => {
                order
                    .deliver_all_parts(actor, note.clone(), changes.clock.now())
                    .map_err(|err| ActionError::Inconsistent(err.to_string()))?;
                Ok(write(changes, &mut order, expected, StockChange::None).await?.then(order))
            }
        }
    })
    .await
}
