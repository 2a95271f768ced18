//! Every minute: expires unpaid orders, re-drives stuck ones, checks stock counters.

use orders_shared::handlers::ScheduleFunction;
use orders_shared::lambda::{serve_schedule, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    serve_schedule(ScheduleFunction::Sweeper).await
}
