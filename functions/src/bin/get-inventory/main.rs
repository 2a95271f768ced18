//! `GET /api/v1/inventory/{productId}` (admin): a product with on_hand, available and reserved.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::GetInventory).await
}
