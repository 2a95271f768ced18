//! `POST /api/v1/payments/webhook`: the payment provider's signed report of a payment.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::PaymentWebhook).await
}
