//! `POST /api/v1/orders`: places an order, reserving every line's stock in one transaction.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::CreateOrder).await
}
