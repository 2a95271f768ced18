//! SQS consumer of the ReserveStock saga step: finishes orders left in PENDING_RESERVING_STOCK.

use orders_shared::handlers::QueueFunction;
use orders_shared::lambda::{serve_queue, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_queue(QueueFunction::ReserveStock).await
}
