//! Invoices: issued exactly once for a delivered order (from the `OrderDelivered` event), each
//! numbered from one counter that only moves with the invoice written in the same transaction.

use crate::domain::invoice::Invoice;
use crate::domain::OrderId;
use crate::ports::InvoiceStore;
use crate::ports::InvoiceWrite;
use crate::service::actions::{load, Access, ActionError};
use crate::service::fulfilment::Commission;
use crate::service::{App, OrderChanges};

/// Tries at taking the next number while other invoices take it first: one counter serialises
/// every invoice, so contention is expected when many orders are delivered together.
const NUMBER_ATTEMPTS: u32 = 20;

/// What issuing an invoice works with.
#[derive(Clone, Copy)]
pub struct Invoicing<'a> {
    pub changes: OrderChanges<'a>,
    pub invoices: &'a dyn InvoiceStore,
    pub commission: Commission<'a>,
}

impl App {
    pub fn invoicing(&self) -> Invoicing<'_> {
        Invoicing {
            changes: self.order_changes(),
            invoices: &*self.invoices,
            commission: self.commission(),
        }
    }
}

/// Issues the order's invoice if it is delivered and has none; `false` when there was nothing
/// to do (a redelivered event, or an order not delivered).
pub async fn issue_invoice(invoicing: Invoicing<'_>, id: OrderId) -> Result<bool, ActionError> {
    let Invoicing {
        changes,
        invoices,
        commission,
    } = invoicing;
    let order = load(changes.orders, id, Access::Anyone).await?;
    // Delivered, even if a return was asked for before this step ran: the sale happened and
    // its invoice is owed (a return's refund is a record of its own).
    if order.delivered_at().is_none() {
        return Ok(false);
    }
    // For parts made before parts carried their rate.
    let rates = commission.rates_for(&order).await?;
    let (order, rates) = (&order, &rates);
    changes
        .contention_retry
        .rounds(NUMBER_ATTEMPTS, move || async move {
            let last = invoices.last_invoice_number().await?;
            let invoice = Invoice::for_order(order, last + 1, |seller| rates.rate(seller), changes.clock.now());
            match invoices.create_invoice(&invoice, last).await? {
                InvoiceWrite::Issued => {
                    tracing::info!(number = %invoice.number, "invoice issued");
                    Ok(Some(true))
                }
                InvoiceWrite::AlreadyIssued => Ok(Some(false)),
                // Another invoice took this number: take the next one, after a jittered pause.
                InvoiceWrite::NumberTaken => Ok::<_, ActionError>(None),
            }
        })
        .await?
        .ok_or(ActionError::Contended)
}
