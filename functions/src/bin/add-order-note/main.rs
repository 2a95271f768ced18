//! `POST /api/v1/orders/{orderId}/notes`: a staff note on an order.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::AddOrderNote).await
}
