//! Invoices: issued exactly once for a delivered order (from the `OrderDelivered` event), each
//! numbered from one counter that only moves with the invoice written in the same transaction.

use crate::domain::invoice::Invoice;
use crate::domain::{OrderId, OrderStatus};
use crate::ports::InvoiceWrite;
use crate::service::actions::{load, Access, ActionError};
use crate::service::fulfilment::CommissionRates;
use crate::service::App;

/// Tries at taking the next number while other invoices take it first: one counter serialises
/// every invoice, so contention is expected when many orders are delivered together.
const NUMBER_ATTEMPTS: u32 = 20;

/// Issues the order's invoice if it is delivered and has none; `false` when there was nothing
/// to do (a redelivered event, or an order not delivered).
pub async fn issue_invoice(app: &App, id: OrderId) -> Result<bool, ActionError> {
    let order = load(app, id, Access::Anyone).await?;
    if order.status != OrderStatus::Delivered {
        return Ok(false);
    }
    // For parts made before parts carried their rate.
    let rates = CommissionRates::of(app, &order).await?;
    let (order, rates) = (&order, &rates);
    app.contention_retry
        .rounds(NUMBER_ATTEMPTS, move || async move {
            let last = app.invoices.last_invoice_number().await?;
            let invoice = Invoice::for_order(order, last + 1, |seller| rates.rate(seller), app.clock.now());
            match app.invoices.create_invoice(&invoice, last).await? {
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
