//! The audit trail: one item per change an admin made, under `AUDIT#<subject>#<id>`, sorted
//! by time, written once per stream record.

use super::keys::audit_partition;
use super::records::{to_item, AuditRecord};
use super::DynamoStore;
use crate::domain::audit::{AuditEntry, AuditSubject};
use crate::ports::{AuditLog, AuditPage, StoreError};

#[async_trait::async_trait]
impl AuditLog for DynamoStore {
    async fn record_audit(&self, entry: &AuditEntry, source: &str) -> Result<(), StoreError> {
        // Recorded before: the same stream record, delivered again.
        self.put_once(&self.inventory_table, to_item(&AuditRecord::new(entry, source))?)
            .await
            .map(|_| ())
    }

    async fn audit_trail(&self, subject: AuditSubject, id: &str, limit: u16, after: Option<&str>) -> Result<AuditPage, StoreError> {
        let (records, next) = self
            .log_page::<AuditRecord>(&self.inventory_table, audit_partition(subject, id), limit, after)
            .await?;
        let entries = records.into_iter().map(|record| record.entry).collect();
        Ok(AuditPage { entries, next })
    }
}
