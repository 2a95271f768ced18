//! `GET /` and `GET /assets/{asset}`: the web pages for customers and admins (no token).

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::ServePages).await
}
