//! `POST /api/v1/orders/{orderId}/payment-failed`: a failed payment cancels the order and releases its stock.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::PaymentFailed).await
}
