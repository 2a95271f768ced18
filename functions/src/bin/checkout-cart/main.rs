//! `POST /api/v1/cart/checkout`: places the cart as an order at the prices its lines were added at.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::CheckoutCart).await
}
