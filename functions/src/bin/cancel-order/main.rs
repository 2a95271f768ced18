//! `POST /api/v1/orders/{orderId}/cancel` and `DELETE /api/v1/orders/{orderId}`: cancel before payment, releasing the stock.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::CancelOrder).await
}
