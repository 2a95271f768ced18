//! The sweeper, on its EventBridge schedule.

use crate::service::sweeper::{sweep, SweepReport};
use crate::service::App;

pub async fn run_sweeper(app: &App) -> Result<SweepReport, crate::ports::StoreError> {
    sweep(app.sweeping()).await
}
