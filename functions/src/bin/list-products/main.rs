//! `GET /api/v1/inventory`: the catalogue by product id, every product or one seller's.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ListProducts).await
}
