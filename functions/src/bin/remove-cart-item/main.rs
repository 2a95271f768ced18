//! `DELETE /api/v1/cart/items/{productId}`: removes a cart line.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::RemoveCartItem).await
}
