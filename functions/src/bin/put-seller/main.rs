//! `PUT /api/v1/sellers/{sellerId}`: an admin registers a seller or changes what is set of them.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::PutSeller).await
}
