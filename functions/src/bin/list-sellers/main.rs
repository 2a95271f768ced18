//! `GET /api/v1/sellers`: every registered seller, by id.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ListSellers).await
}
