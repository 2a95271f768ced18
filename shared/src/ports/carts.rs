//! Customers' carts.

use crate::domain::cart::Cart;
use crate::domain::UserId;

use async_trait::async_trait;

use super::StoreError;

/// Customers' carts.
#[async_trait]
pub trait CartStore: Send + Sync {
    /// The customer's cart, if they have one (strongly consistent).
    async fn get_cart(&self, user: &UserId) -> Result<Option<Cart>, StoreError>;

    /// Writes the cart if it is still at the version it was read at (a new cart: if there is
    /// none); `false` when another edit got there first. On success the cart's version is the
    /// stored one. An empty cart is deleted.
    async fn put_cart(&self, cart: &mut Cart) -> Result<bool, StoreError>;
}
