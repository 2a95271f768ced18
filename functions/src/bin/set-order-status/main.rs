//! `PUT /api/v1/orders/{orderId}/status`: an admin moves an order along its lifecycle.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::SetOrderStatus).await
}
