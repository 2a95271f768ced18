//! `POST /api/v1/orders/{orderId}/returns/{returnId}/approve`: an admin approves a return.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ApproveReturn).await
}
