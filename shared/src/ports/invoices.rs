//! Invoices.

use crate::domain::invoice::Invoice;
use crate::domain::OrderId;

use async_trait::async_trait;

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceWrite {
    Issued,
    /// The order has its invoice already.
    AlreadyIssued,
    /// Another invoice took the number meanwhile: read the counter again.
    NumberTaken,
}

/// Invoices, numbered without gaps.
#[async_trait]
pub trait InvoiceStore: Send + Sync {
    /// The last invoice number issued (0 before the first).
    async fn last_invoice_number(&self) -> Result<u64, StoreError>;

    /// Writes the invoice and moves the counter from `last` to its number, in one transaction:
    /// a number is used only by the invoice written with it, so numbers have no gaps.
    async fn create_invoice(&self, invoice: &Invoice, last: u64) -> Result<InvoiceWrite, StoreError>;

    async fn get_invoice(&self, order: OrderId) -> Result<Option<Invoice>, StoreError>;
}
