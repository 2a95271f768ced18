//! `GET /api/v1/orders/user/{userId}`: one user's orders.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ListUserOrders).await
}
