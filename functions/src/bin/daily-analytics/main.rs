//! `GET /api/v1/orders/analytics/daily`: orders and money per UTC day (admin).

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::DailyAnalytics).await
}
