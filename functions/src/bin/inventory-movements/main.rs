//! `GET /api/v1/inventory/{productId}/movements`: a product's stock movements, newest first.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::InventoryMovements).await
}
