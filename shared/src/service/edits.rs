//! Editing an order that awaits payment: the order, its reservation and the stock it holds
//! change in one transaction, conditioned on the order's version, so an edit racing another
//! edit or a payment is either whole or refused, and a payment of the old total after an edit
//! is refused for its amount.

use crate::domain::order::{EditRefusal, LineEdit};
use crate::domain::{Actor, ItemId, LineProblem, Order, OrderId, OrderStatus, Quantity, Reservation, Sku};
use crate::ports::{Rejection, StockChange, WriteError};
use crate::service::actions::{load, until_written, Access, ActionError};
use crate::service::App;

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
    #[error("the price of {0:?} changed since the line was priced")]
    PriceChanged(Vec<Sku>),
    #[error(transparent)]
    Action(#[from] ActionError),
}

pub async fn edit_order(app: &App, id: OrderId, access: Access<'_>, request: EditRequest, actor: &Actor) -> Result<Order, EditError> {
    let product = match &request {
        EditRequest::Add { product_id, .. } => Some(
            app.catalogue
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
            let fees = app.seller_cache.shipping_fees(app, seller).await.map_err(ActionError::from)?;
            app.pricing.shipping_fee_of(&product.seller_id, &fees)
        }
        None => app.pricing.shipping_fee,
    };
    let (request, product) = (&request, &product);
    until_written(move || async move {
        let mut order = load(app, id, access).await?;
        let edit = match (request, product) {
            (EditRequest::Add { quantity, .. }, Some(product)) => LineEdit::Add {
                product: product.clone(),
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
        let now = app.clock.now();
        let deltas = order.edit_lines(edit, &app.pricing, actor, now)?;
        let due = order.payment_due_at.unwrap_or(now + app.payment_timeout);
        let reservation = Reservation::for_order(&order, due, now);
        let (reservation, deltas) = (&reservation, deltas.as_slice());
        let written = app
            .contention_retry
            .run(WriteError::is_contended, || {
                let mut attempt = order.clone();
                async move {
                    app.orders
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
            Err(WriteError::Rejected(Rejection::PriceChanged(products))) => Err(EditError::PriceChanged(products)),
            Err(WriteError::Rejected(other)) => Err(ActionError::Inconsistent(format!("{other:?}")).into()),
            Err(WriteError::Store(err)) => Err(ActionError::from(err).into()),
        }
    })
    .await
}
