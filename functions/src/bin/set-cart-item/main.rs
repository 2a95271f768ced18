//! `PUT /api/v1/cart/items/{productId}`: sets a cart line's quantity (0 removes it).

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::SetCartItem).await
}
