//! Analytics queue: each domain event counted once into its day's sales figures.

use orders_shared::handlers::QueueFunction;
use orders_shared::lambda::{serve_queue, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_queue(QueueFunction::UpdateAnalytics).await
}
