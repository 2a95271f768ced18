//! `PUT /api/v1/orders/{orderId}/items/{itemId}`: a line's new quantity, while the order awaits payment.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::SetOrderItem).await
}
