//! Inventory stream consumer: releases a reservation that TTL deleted while still active.

use orders_shared::handlers::StreamFunction;
use orders_shared::lambda::{serve_stream, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_stream(StreamFunction::ReservationExpiry).await
}
