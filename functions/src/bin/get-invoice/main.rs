//! `GET /api/v1/orders/{orderId}/invoice`: the invoice as JSON, or as a printable page.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::GetInvoice).await
}
