//! `GET /api/v1/products`: the public catalogue, for anyone.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ListCatalogue).await
}
