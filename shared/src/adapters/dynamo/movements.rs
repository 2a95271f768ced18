//! Stock movements: one item per change of a product's counters, under `MOVEMENTS#<sku>`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::movements_partition;
use super::records::{to_item, MovementRecord};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::{Sku, StockMovement};
use crate::ports::{MovementLog, MovementPage, StoreError};

#[async_trait::async_trait]
impl MovementLog for DynamoStore {
    async fn record_movement(&self, movement: &StockMovement, sequence: &str) -> Result<(), StoreError> {
        // Recorded before: the same stream record, delivered again.
        self.put_once(&self.inventory_table, to_item(&MovementRecord::new(movement, sequence))?)
            .await
            .map(|_| ())
    }

    async fn movements(&self, product: &Sku, limit: u16, after: Option<&str>) -> Result<MovementPage, StoreError> {
        let (records, next) = self
            .log_page::<MovementRecord>(&self.inventory_table, movements_partition(product), limit, after)
            .await?;
        let movements = records.into_iter().map(|record| record.movement).collect();
        Ok(MovementPage { movements, next })
    }
}

impl DynamoStore {
    /// One page of a log kept newest last under one partition of `table` (stock movements and
    /// the audit trail in the inventory table, an order's notes in the orders table), read newest
    /// first; with the sort key the next page starts after.
    pub(super) async fn log_page<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        partition: String,
        limit: u16,
        after: Option<&str>,
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let start = after.map(|sk| {
            HashMap::from([
                ("pk".to_owned(), AttributeValue::S(partition.clone())),
                ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .scan_index_forward(false)
            .limit(i32::from(limit))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let records = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(encode_failure))
            .collect::<Result<Vec<T>, StoreError>>()?;
        let next = output
            .last_evaluated_key
            .and_then(|key| key.get("sk").and_then(|v| v.as_s().ok()).cloned());
        Ok((records, next))
    }
}
