//! Orders table stream: every status change becomes a domain event on the event bus (the outbox).

use orders_shared::handlers::StreamFunction;
use orders_shared::lambda::{serve_stream, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_stream(StreamFunction::PublishEvents).await
}
