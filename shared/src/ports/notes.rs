//! Staff notes on orders.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::note::OrderNote;
use crate::domain::OrderId;

/// A page of an order's notes, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotePage {
    pub notes: Vec<OrderNote>,
    /// Where the next page starts; opaque to clients.
    pub next: Option<String>,
}

#[async_trait]
pub trait OrderNotes: Send + Sync {
    async fn add_note(&self, note: &OrderNote) -> Result<(), StoreError>;

    /// Deletes every note of an order (its personal data was erased); answers how many.
    async fn erase_notes(&self, order: OrderId) -> Result<usize, StoreError>;

    /// An order's notes, newest first, from `after` (a page's `next`).
    async fn notes(&self, order: OrderId, limit: u16, after: Option<&str>) -> Result<NotePage, StoreError>;
}
