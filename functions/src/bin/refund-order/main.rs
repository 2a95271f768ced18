//! `POST /api/v1/orders/{orderId}/refund`: an admin refunds part or all of a paid order.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::RefundOrder).await
}
