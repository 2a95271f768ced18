//! `GET /api/v1/orders/{orderId}`: one order with its status history.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::GetOrder).await
}
