//! The sales figures.

use crate::domain::SellerId;
use crate::domain::Sku;

use async_trait::async_trait;

use super::StoreError;

/// The analytics counters, maintained from the domain events.
#[async_trait]
pub trait Analytics: Send + Sync {
    /// Adds what one event contributes, on counter shard `shard`, once per `event_id`: `false`
    /// when the event was already counted (or adds nothing).
    async fn record_contribution(
        &self,
        event_id: &str,
        added: &crate::domain::analytics::Contribution,
        shard: u32,
    ) -> Result<bool, StoreError>;

    /// The shop's figures of each day, summed over the day's shards.
    async fn day_figures(
        &self,
        days: &[chrono::NaiveDate],
    ) -> Result<std::collections::BTreeMap<chrono::NaiveDate, crate::domain::analytics::DayFigures>, StoreError>;

    /// Every seller's figures of one day.
    async fn seller_figures(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<std::collections::BTreeMap<SellerId, crate::domain::analytics::SellerFigures>, StoreError>;

    /// A customer's figures over all their orders, and when they last placed one.
    async fn customer_figures(
        &self,
        user: &crate::domain::UserId,
    ) -> Result<(crate::domain::analytics::CustomerFigures, Option<chrono::DateTime<chrono::Utc>>), StoreError>;

    /// Every product's sales of one day.
    async fn product_figures(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<std::collections::BTreeMap<Sku, crate::domain::analytics::ProductFigures>, StoreError>;
}
