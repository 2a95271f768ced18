//! Inventory table stream: every change of a product's stock counters joins its movement history.

use orders_shared::handlers::StreamFunction;
use orders_shared::lambda::{serve_stream, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_stream(StreamFunction::StockMovements).await
}
