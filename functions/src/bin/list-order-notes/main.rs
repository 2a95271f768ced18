//! `GET /api/v1/orders/{orderId}/notes`: an order's staff notes, newest first.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ListOrderNotes).await
}
