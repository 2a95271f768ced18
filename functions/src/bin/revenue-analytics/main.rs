//! `GET /api/v1/orders/analytics/revenue`: gross, refunded and net, by period and by seller (admin).

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::RevenueAnalytics).await
}
