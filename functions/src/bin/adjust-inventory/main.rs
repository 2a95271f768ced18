//! `POST /api/v1/inventory/{productId}/adjustments`: an admin moves stock by a delta, with a reason.

use orders_shared::handlers::HttpFunction;
use orders_shared::lambda::{serve_http, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_http(HttpFunction::AdjustInventory).await
}
