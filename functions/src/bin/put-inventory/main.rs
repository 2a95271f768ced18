//! `PUT /api/v1/inventory/{productId}` (admin): creates or updates a product and its stock.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::PutInventory).await
}
