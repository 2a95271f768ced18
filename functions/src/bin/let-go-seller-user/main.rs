//! `DELETE /api/v1/sellers/{sellerId}/users/{email}`: a user no longer acts for a seller (admin).

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::LetGoSellerUser).await
}
