//! The cart: edits conditioned on the cart's version (two tabs editing one cart never lose an
//! update), and checkout through the same placement as `POST /orders`, charging the prices the
//! lines were added at; the cart is emptied of what was bought only once the order holds its
//! stock.

use std::collections::HashMap;

use crate::domain::cart::{Cart, CartRefusal, CartView};
use crate::domain::contact::Contact;
use crate::domain::request::OrderDetails;
use crate::domain::{IdempotencyKey, PlaceOrder, Product, Quantity, SellerId, Sku, UserId};
use crate::ports::{CartStore, StoreError};
use crate::service::placement::{place_order, PlaceError, Placed, Placement, Placing};
use crate::service::App;

/// What the cart works with: the carts, and placement for checkout (whose catalogue, sellers
/// and prices also price the cart's view).
#[derive(Clone, Copy)]
pub struct Shopping<'a> {
    pub carts: &'a dyn CartStore,
    pub placing: Placing<'a>,
}

impl App {
    pub fn shopping(&self) -> Shopping<'_> {
        Shopping {
            carts: &*self.carts,
            placing: self.placing(),
        }
    }
}

/// Tries of an edit that other edits of the same cart keep beating (a few tabs at once), with
/// a jittered pause between them.
const EDIT_ATTEMPTS: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error(transparent)]
    Refused(#[from] CartRefusal),
    #[error("the cart kept changing under the request")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One edit of a cart.
#[derive(Debug, Clone)]
pub enum CartEdit {
    Add(Sku, Quantity),
    /// `None` removes the line.
    Set(Sku, Option<Quantity>),
    Remove(Sku),
    Clear,
}

impl CartEdit {
    fn product(&self) -> Option<&Sku> {
        match self {
            Self::Add(sku, _) | Self::Set(sku, Some(_)) => Some(sku),
            Self::Set(_, None) | Self::Remove(_) | Self::Clear => None,
        }
    }
}

async fn read_cart(shopping: Shopping<'_>, user: &UserId) -> Result<Cart, StoreError> {
    Ok(shopping
        .carts
        .get_cart(user)
        .await?
        .unwrap_or_else(|| Cart::empty(user.clone(), shopping.placing.changes.clock.now())))
}

/// The cart with today's prices and stock.
pub async fn view(shopping: Shopping<'_>, user: &UserId) -> Result<CartView, StoreError> {
    let cart = read_cart(shopping, user).await?;
    view_of(shopping.placing, &cart).await
}

async fn view_of(placing: Placing<'_>, cart: &Cart) -> Result<CartView, StoreError> {
    let products = products_of(placing, cart, None).await?;
    view_with(placing, cart, &products).await
}

/// The products of the cart's lines and of `also`, in one read.
async fn products_of(placing: Placing<'_>, cart: &Cart, also: Option<&Sku>) -> Result<HashMap<Sku, Product>, StoreError> {
    let mut skus: Vec<Sku> = cart.lines.iter().map(|line| line.product_id.clone()).collect();
    skus.extend(also.cloned());
    skus.sort();
    skus.dedup();
    if skus.is_empty() {
        return Ok(HashMap::new());
    }
    placing.catalogue.get_products(&skus).await
}

async fn view_with(placing: Placing<'_>, cart: &Cart, products: &HashMap<Sku, Product>) -> Result<CartView, StoreError> {
    let sellers: Vec<SellerId> = products.values().map(|product| product.seller_id.clone()).collect();
    let fees = placing.sellers.shipping_fees(&sellers).await?;
    Ok(CartView::of(cart, products, placing.pricing, &fees))
}

/// Applies an edit, again on a fresh read while another edit of the cart wins. Each round reads
/// the cart, then every product the edit needs and the answer shows in one read, and writes.
pub async fn edit(shopping: Shopping<'_>, user: &UserId, edit: CartEdit) -> Result<CartView, CartError> {
    let changes = shopping.placing.changes;
    let edit = &edit;
    changes
        .contention_retry
        .rounds(EDIT_ATTEMPTS, move || async move {
            let mut cart = read_cart(shopping, user).await?;
            // An emptied cart shows no product.
            let products = match edit {
                CartEdit::Clear => HashMap::new(),
                _ => products_of(shopping.placing, &cart, edit.product()).await?,
            };
            let product = edit.product().and_then(|sku| products.get(sku));
            let before = cart.clone();
            let now = changes.clock.now();
            match edit {
                CartEdit::Add(sku, quantity) => cart.add(product, sku, *quantity, now)?,
                CartEdit::Set(sku, quantity) => cart.set_quantity(product, sku, *quantity, now)?,
                CartEdit::Remove(sku) => cart.remove(sku, now),
                CartEdit::Clear => cart.lines.clear(),
            }
            // Removing what is not there writes nothing.
            if cart.lines == before.lines || shopping.carts.put_cart(&mut cart).await? {
                return Ok(Some(view_with(shopping.placing, &cart, &products).await?));
            }
            Ok::<_, CartError>(None)
        })
        .await?
        .ok_or(CartError::Contended)
}

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("the cart is empty")]
    Empty,
    #[error(transparent)]
    Place(#[from] PlaceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Places the cart as an order. Lines are charged the price they were added at unless the
/// customer accepts today's (`accept_price_changes`); the cart loses what was bought only when
/// the order holds its stock (201), so a refused, waiting or repeated checkout keeps it.
pub async fn checkout(
    shopping: Shopping<'_>,
    user: &UserId,
    customer: Contact,
    details: OrderDetails,
    accept_price_changes: bool,
    key: Option<&IdempotencyKey>,
) -> Result<Placement, CheckoutError> {
    let changes = shopping.placing.changes;
    let cart = read_cart(shopping, user).await?;
    if cart.lines.is_empty() {
        // A retried checkout whose first try emptied the cart answers with that order.
        if let Some(key) = key {
            if let Some(record) = changes.orders.find_idempotency(user, key, changes.clock.now()).await? {
                if let Some(order) = changes.orders.get_order(record.order_id).await? {
                    return Ok(Placement {
                        placed: Placed::of(order),
                        replayed: true,
                    });
                }
            }
        }
        return Err(CheckoutError::Empty);
    }
    let locked = (!accept_price_changes).then(|| cart.locked_prices());
    let bought = cart.wanted();
    let request = PlaceOrder::checkout(bought.clone(), details, locked).for_customer(customer);
    let placement = place_order(shopping.placing, user, &request, key).await?;
    if matches!(placement.placed, Placed::Reserved(_)) && !placement.replayed {
        let bought = &bought;
        changes
            .contention_retry
            .rounds(EDIT_ATTEMPTS, move || async move {
                let mut cart = read_cart(shopping, user).await?;
                cart.without(bought, changes.clock.now());
                Ok::<_, StoreError>(shopping.carts.put_cart(&mut cart).await?.then_some(()))
            })
            .await?;
    }
    Ok(placement)
}
