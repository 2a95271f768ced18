//! `POST /api/v1/customers/{userId}/erasure`: an admin erases a customer's personal data.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::EraseCustomer).await
}
