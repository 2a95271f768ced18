//! Batches: the batch, its idempotency key and one result item per order.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};

use super::keys::{prefix, BATCH_RESULT_SK_PREFIX, BATCH_SK};
use super::records::{to_item, BatchKeyRecord, BatchRecord, BatchResultRecord};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::batch::{Batch, BatchResult};
use crate::domain::IdempotencyKey;
use crate::ports::{BatchCreated, BatchStore, StoreError};

#[async_trait::async_trait]
impl BatchStore for DynamoStore {
    async fn create_batch(&self, batch: &Batch, key: Option<(&IdempotencyKey, &str)>) -> Result<BatchCreated, StoreError> {
        let mut items = vec![TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.orders_table)
                    .set_item(Some(to_item(&BatchRecord::new(batch))?))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(encode_failure)?,
            )
            .build()];
        if let Some((key, fingerprint)) = key {
            let record = BatchKeyRecord::new(&batch.requested_by, key, &batch.batch_id, fingerprint, batch.created_at);
            let marker = Put::builder()
                .table_name(&self.orders_table)
                .set_item(Some(to_item(&record)?))
                .condition_expression("attribute_not_exists(pk) OR #ttl <= :now")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", AttributeValue::N(batch.created_at.timestamp().to_string()))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(encode_failure)?;
            items.push(TransactWriteItem::builder().put(marker).build());
        }
        let err = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => return Ok(BatchCreated::New),
            Err(err) => err,
        };
        let existing = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                .cancellation_reasons()
                .get(1)
                .filter(|reason| reason.code() == Some("ConditionalCheckFailed"))
                .and_then(|reason| reason.item())
                .and_then(|old| serde_dynamo::from_item::<_, BatchKeyRecord>(old.clone()).ok()),
            _ => None,
        };
        match (existing, key) {
            (Some(record), Some((_, fingerprint))) => Ok(BatchCreated::Existing {
                same_request: record.fingerprint == fingerprint,
                batch_id: record.batch_id,
            }),
            _ => Err(classify(err)),
        }
    }

    async fn get_batch(&self, batch_id: &str) -> Result<Option<(Batch, Vec<BatchResult>)>, StoreError> {
        let mut items = self
            .client
            .query()
            .table_name(&self.orders_table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("{}{batch_id}", prefix::BATCH)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut batch = None;
        let mut results = Vec::new();
        while let Some(item) = items.try_next().await.map_err(classify)? {
            match item.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some(BATCH_SK) => batch = Some(serde_dynamo::from_item::<_, BatchRecord>(item).map_err(encode_failure)?.batch),
                Some(sk) if sk.starts_with(BATCH_RESULT_SK_PREFIX) => {
                    results.push(
                        serde_dynamo::from_item::<_, BatchResultRecord>(item)
                            .map_err(encode_failure)?
                            .result,
                    );
                }
                _ => {}
            }
        }
        Ok(batch.map(|batch| (batch, results)))
    }

    async fn record_batch_result(&self, batch_id: &str, result: &BatchResult) -> Result<(), StoreError> {
        // Recorded by an earlier delivery of the same item: the first result stays.
        self.put_once(&self.orders_table, to_item(&BatchResultRecord::new(batch_id, result))?)
            .await
            .map(|_| ())
    }
}
