//! `POST /api/v1/orders/batch-process`: an admin processes up to 500 orders at once.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::StartBatch).await
}
