//! The audit trail: one item per change an admin made, under `AUDIT#<subject>#<id>`, sorted
//! by time, written once per stream record.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::audit_partition;
use super::records::{to_item, AuditRecord};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
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
        let partition = audit_partition(subject, id);
        let start = after.map(|sk| {
            HashMap::from([
                ("pk".to_owned(), AttributeValue::S(partition.clone())),
                ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.inventory_table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .scan_index_forward(false)
            .limit(i32::from(limit))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let entries = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let record: AuditRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
                Ok(record.entry)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = output
            .last_evaluated_key
            .and_then(|key| key.get("sk").and_then(|v| v.as_s().ok()).cloned());
        Ok(AuditPage { entries, next })
    }
}
