//! `GET /api/v1/orders`: the caller's orders (any user's for admins), filtered and paged.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ListOrders).await
}
