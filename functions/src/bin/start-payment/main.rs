//! `POST /api/v1/orders/{orderId}/payment`: start paying an order online, by wallet or cash on delivery.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::StartPayment).await
}
