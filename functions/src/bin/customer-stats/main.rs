//! `GET /api/v1/customers/{userId}/stats`: one customer's order count, spend, average order and last order.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::CustomerStats).await
}
