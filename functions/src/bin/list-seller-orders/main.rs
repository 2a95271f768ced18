//! `GET /api/v1/sellers/{sellerId}/orders`: the orders holding a seller's parts (that seller, admins).

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ListSellerOrders).await
}
