//! `GET /api/v1/orders/analytics/trends`: growth, top products and rates (admin).

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::TrendsAnalytics).await
}
