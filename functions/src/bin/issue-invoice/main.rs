//! Invoice queue (OrderDelivered events): a delivered order's invoice, issued once.

use orders_shared::handlers::QueueFunction;
use orders_shared::lambda::{serve_queue, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_queue(QueueFunction::IssueInvoice).await
}
