//! Batch queue: one order of an admin's batch, carried out like a single status change.

use orders_shared::handlers::QueueFunction;
use orders_shared::lambda::{serve_queue, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_queue(QueueFunction::ProcessBatch).await
}
