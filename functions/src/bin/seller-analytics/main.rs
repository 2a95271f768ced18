//! `GET /api/v1/orders/analytics/sellers/{sellerId}`: a seller's own figures (that seller, admins).

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::SellerAnalytics).await
}
