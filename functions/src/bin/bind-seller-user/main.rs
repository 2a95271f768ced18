//! `POST /api/v1/sellers/{sellerId}/users`: makes a user of the pool act for a seller (admin).

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::BindSellerUser).await
}
