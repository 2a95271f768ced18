//! Notifications queue: customers and sellers are told what happened, once per event and recipient.

use orders_shared::handlers::QueueFunction;
use orders_shared::lambda::{serve_queue, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_queue(QueueFunction::SendNotifications).await
}
