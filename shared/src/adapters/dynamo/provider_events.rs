//! The log of applied payment-provider events, one item per event id.

use chrono::{DateTime, Utc};

use super::records::{to_item, ProviderEventRecord};
use super::DynamoStore;
use crate::ports::{ProviderEventLog, StoreError};

#[async_trait::async_trait]
impl ProviderEventLog for DynamoStore {
    async fn event_applied(&self, event_id: &str) -> Result<bool, StoreError> {
        let stored: Option<ProviderEventRecord> = self.read_order_table(ProviderEventRecord::key(event_id)).await?;
        Ok(stored.is_some())
    }

    async fn record_event(&self, event_id: &str, kind: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        // A second delivery applied alongside the first finds it recorded: nothing more to do.
        self.put_once(&self.orders_table, to_item(&ProviderEventRecord::new(event_id, kind, now))?)
            .await
            .map(|_| ())
    }
}
