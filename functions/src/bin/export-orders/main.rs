//! `GET /api/v1/orders/export`: the matching orders as CSV, a bounded number of pages per call (admin).

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ExportOrders).await
}
