//! `PATCH /api/v1/orders/{orderId}/shipping`: a seller's part shipped or delivered.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ShipOrder).await
}
