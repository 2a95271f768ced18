//! `GET /api/v1/orders/batch-process/{batchId}`: a batch's counts and a result per order.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::BatchStatus).await
}
