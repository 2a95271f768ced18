//! `POST /api/v1/orders/{orderId}/confirm`: a confirmed payment turns the reservation into sales, exactly once.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ConfirmPayment).await
}
