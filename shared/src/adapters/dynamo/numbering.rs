//! Order number counters, per day and shard.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{key, Entity, COUNTER_SK, ORDER_NUMBER_COUNTER_PREFIX};
use super::DynamoStore;
use crate::adapters::classify;
use crate::ports::{NumberBlocks, StoreError};

#[async_trait::async_trait]
impl NumberBlocks for DynamoStore {
    async fn claim_number_block(&self, day: chrono::NaiveDate, shard: u32) -> Result<u64, StoreError> {
        // Counters of past days are of no use once the day is over: TTL removes them.
        let expires = day.and_hms_opt(0, 0, 0).map_or(0, |start| start.and_utc().timestamp()) + 3 * 86_400;
        let output = self
            .client
            .update_item()
            .table_name(&self.orders_table)
            .set_key(Some(key(
                format!("{ORDER_NUMBER_COUNTER_PREFIX}{}#{shard}", day.format("%Y%m%d")),
                COUNTER_SK,
            )))
            .update_expression("ADD blocks :one SET #ttl = :ttl, entity = :entity")
            .expression_attribute_values(":entity", Entity::Counter.attribute())
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":ttl", AttributeValue::N(expires.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        output
            .attributes
            .and_then(|item| item.get("blocks").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()))
            .ok_or_else(|| StoreError::Permanent("the order number counter answered no count".into()))
    }
}
