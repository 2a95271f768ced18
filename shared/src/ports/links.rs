//! Orders listed under their sellers and products, and found by their customer's email or
//! name, through an index.

use crate::domain::listing::CustomerField;
use crate::domain::Order;
use crate::domain::Page;
use crate::domain::SellerId;
use crate::domain::Sku;

use async_trait::async_trait;

use super::StoreError;

/// What an index of orders groups them by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderLink {
    /// The orders holding a part of this seller (from the write that makes the parts).
    Seller(SellerId),
    /// The orders with a line of this product.
    Product(Sku),
}

/// Orders listed under their sellers and products.
#[async_trait]
pub trait OrderLinks: Send + Sync {
    /// Lists the order under each of its products (off the request path: the analytics step
    /// does it as the order is placed and paid). Writing it again changes nothing.
    async fn link_products(&self, order: &Order) -> Result<(), StoreError>;

    /// The orders that hold a part of a seller, or a line of a product, newest first, a page at
    /// a time (through an index, never a scan).
    async fn list_linked_orders(
        &self,
        link: &OrderLink,
        limit: u16,
        after: Option<&crate::domain::Cursor>,
    ) -> Result<Page<Order>, StoreError>;

    /// The orders whose customer's email (or name) begins with `prefix` (as `search_text` gives
    /// it, at least `SEARCH_PREFIX_CHARS` long), each customer's newest first, `limit` at a time
    /// after `after` (a page's next, opaque): through an index, never a scan.
    async fn search_customers(
        &self,
        field: CustomerField,
        prefix: &str,
        limit: u16,
        after: Option<&str>,
    ) -> Result<(Vec<Order>, Option<String>), StoreError>;
}
