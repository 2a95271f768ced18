//! `GET /api/v1/audit/{subject}/{id}`: who changed a product or a seller, when, from what to what.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::GetAuditTrail).await
}
