//! The sweeper, on its EventBridge schedule.

use crate::app::App;
use crate::service::sweeper::{sweep, SweepReport};

pub async fn run_sweeper(app: &App) -> Result<SweepReport, crate::ports::StoreError> {
    sweep(app, app.stuck_after).await
}
