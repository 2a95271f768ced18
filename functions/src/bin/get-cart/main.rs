//! `GET /api/v1/cart`: the customer's cart with today's prices and stock.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::GetCart).await
}
