//! `POST /api/v1/orders/{orderId}/returns`: a customer asks to return delivered lines.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::RequestReturn).await
}
