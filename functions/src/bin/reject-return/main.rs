//! `POST /api/v1/orders/{orderId}/returns/{returnId}/reject`: an admin rejects a return.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::RejectReturn).await
}
