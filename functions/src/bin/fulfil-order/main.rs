//! Fulfilment queue (OrderPaid events): a paid order is split into one part per seller.

use orders_shared::handlers::QueueFunction;
use orders_shared::lambda::{serve_queue, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_queue(QueueFunction::FulfilOrder).await
}
