//! `POST /api/v1/cart/items`: adds units of a product to the customer's cart.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::AddCartItem).await
}
