//! Editing an order that awaits payment: the order, its reservation and the stock it holds
//! change in one transaction, conditioned on the order's version, so an edit racing another
//! edit or a payment is either whole or refused, and a payment of the old total after an edit
//! is refused for its amount.

use crate::domain::cart::PriceChange;
use crate::domain::order::{EditRefusal, LineEdit};
use crate::domain::PricingPolicy;
use crate::domain::{Actor, ItemId, LineProblem, Order, OrderId, OrderStatus, Quantity, Reservation, Sku};
use crate::ports::{Catalogue, Rejection, StockChange, WriteError};
use crate::service::actions::{load, until_written, Access, ActionError};
use crate::service::sellers::SellerLookup;
use crate::service::{App, OrderChanges};

/// What editing an order works with: the order changes, and what pricing a new line needs.
#[derive(Clone, Copy)]
pub struct OrderEditing<'a> {
    pub changes: OrderChanges<'a>,
    pub catalogue: &'a dyn Catalogue,
    pub sellers: SellerLookup<'a>,
    pub pricing: &'a PricingPolicy,
    /// The hold's deadline when an order somehow has none.
    pub payment_timeout: chrono::Duration,
}

impl App {
    pub fn order_editing(&self) -> OrderEditing<'_> {
        OrderEditing {
            changes: self.order_changes(),
            catalogue: &*self.catalogue,
            sellers: self.seller_lookup(),
            pricing: &self.pricing,
            payment_timeout: self.payment_timeout,
        }
    }
}

/// What a customer asks to change.
#[derive(Debug, Clone)]
pub enum EditRequest {
    Add { product_id: Sku, quantity: Quantity },
    Set { item_id: ItemId, quantity: Quantity },
    Remove { item_id: ItemId },
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Refused(#[from] EditRefusal),
    #[error("no product {0}")]
    UnknownProduct(Sku),
    #[error("not enough stock for the edit")]
    OutOfStock(Vec<LineProblem>),
    #[error("the price of a product changed since its line was priced")]
    PriceChanged(Vec<PriceChange>),
    #[error(transparent)]
    Action(#[from] ActionError),
}

pub async fn edit_order(
    editing: OrderEditing<'_>,
    id: OrderId,
    access: Access<'_>,
    request: EditRequest,
    actor: &Actor,
) -> Result<Order, EditError> {
    let OrderEditing { changes, pricing, .. } = editing;
    let product = match &request {
        EditRequest::Add { product_id, .. } => Some(
            editing
                .catalogue
                .get_products(std::slice::from_ref(product_id))
                .await
                .map_err(ActionError::from)?
                .remove(product_id)
                .ok_or_else(|| EditError::UnknownProduct(product_id.clone()))?,
        ),
        _ => None,
    };
    let shipping_fee = match &product {
        Some(product) => {
            let seller = std::slice::from_ref(&product.seller_id);
            let fees = editing.sellers.shipping_fees(seller).await.map_err(ActionError::from)?;
            pricing.shipping_fee_of(&product.seller_id, &fees)
        }
        None => pricing.shipping_fee,
    };
    let (request, product) = (&request, &product);
    until_written(move || async move {
        let mut order = load(changes.orders, id, access).await?;
        let edit = match (request, product) {
            (EditRequest::Add { quantity, .. }, Some(product)) => LineEdit::Add {
                product: Box::new(product.clone()),
                quantity: *quantity,
                shipping_fee,
            },
            (EditRequest::Set { item_id, quantity }, _) => LineEdit::SetQuantity {
                item_id: item_id.clone(),
                quantity: *quantity,
            },
            (EditRequest::Remove { item_id }, _) => LineEdit::Remove { item_id: item_id.clone() },
            (EditRequest::Add { product_id, .. }, None) => return Err(EditError::UnknownProduct(product_id.clone())),
        };
        if order.changes_nothing(&edit) {
            return Ok(Some(order));
        }
        let now = changes.clock.now();
        let deltas = order.edit_lines(edit, pricing, actor, now)?;
        let due = order.payment_due_at.unwrap_or(now + editing.payment_timeout);
        let reservation = Reservation::for_order(&order, due, now);
        let (reservation, deltas) = (&reservation, deltas.as_slice());
        let written = changes
            .contention_retry
            .run(WriteError::is_contended, || {
                let mut attempt = order.clone();
                async move {
                    changes
                        .orders
                        .update_order(&mut attempt, OrderStatus::PendingPayment, StockChange::Adjust(reservation, deltas))
                        .await
                        .map(|()| attempt)
                }
            })
            .await;
        match written {
            Ok(stored) => Ok(Some(stored)),
            Err(WriteError::Rejected(Rejection::OrderChanged)) => Ok(None),
            Err(WriteError::Rejected(Rejection::OutOfStock(problems))) => Err(EditError::OutOfStock(problems)),
            Err(WriteError::Rejected(Rejection::PriceChanged(products))) => {
                // Tell the customer what each line would now cost, as a refused edit does.
                let now_priced = editing.catalogue.get_products(&products).await.map_err(ActionError::from)?;
                let changes = order
                    .items
                    .iter()
                    .filter_map(|line| {
                        let product = now_priced.get(&line.product_id)?;
                        (product.price != line.unit_price).then(|| PriceChange {
                            product_id: line.product_id.clone(),
                            old_price: line.unit_price,
                            new_price: product.price,
                        })
                    })
                    .collect();
                Err(EditError::PriceChanged(changes))
            }
            Err(WriteError::Rejected(other)) => Err(ActionError::Inconsistent(format!("{other:?}")).into()),
            Err(WriteError::Store(err)) => Err(ActionError::from(err).into()),
        }
    })
    .await
}
