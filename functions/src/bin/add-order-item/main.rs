//! `POST /api/v1/orders/{orderId}/items`: more units on an order that awaits payment.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::AddOrderItem).await
}
