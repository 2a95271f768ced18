//! Refund queue (OrderRefunded events): the provider pays back each recorded refund, once.

use orders_shared::handlers::QueueFunction;
use orders_shared::lambda::{serve_queue, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_queue(QueueFunction::SettleRefunds).await
}
