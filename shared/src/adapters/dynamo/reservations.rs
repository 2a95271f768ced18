//! Reservations: read by order, and the ACTIVE ones by deadline through a sparse index.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use futures::future::try_join_all;

use super::keys::{reservation_key, Item};
use super::records::{ReservationRecord, Sharded};
use super::{encode_failure, DynamoStore, Read};
use crate::adapters::classify;
use crate::domain::listing::timestamp_key;
use crate::domain::{OrderId, Reservation};
use crate::ports::{ReservationStore, StoreError};

#[async_trait::async_trait]
impl ReservationStore for DynamoStore {
    async fn active_reservations(&self, expiring_by: Option<DateTime<Utc>>, limit: usize) -> Result<Vec<Reservation>, StoreError> {
        // '~' sorts after the `#order-id` suffix, so a deadline equal to `expiring_by` is due.
        let bound = expiring_by.map(|at| format!("{}~", timestamp_key(at)));
        let pages = try_join_all(Sharded::Active.all().map(|shard| self.active_page(shard, bound.as_deref(), limit))).await?;
        let mut due: Vec<Reservation> = pages.into_iter().flatten().collect();
        due.sort_by_key(|reservation| reservation.expires_at);
        due.truncate(limit);
        Ok(due)
    }

    async fn get_reservations(&self, orders: &[OrderId]) -> Result<Vec<Reservation>, StoreError> {
        let keys: Vec<Item> = orders.iter().map(|order| reservation_key(*order)).collect();
        let items = self.batch_get(&self.inventory_table, keys, Read::Strong).await?;
        items
            .into_iter()
            .map(|item| {
                let record: ReservationRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
                Ok(record.reservation)
            })
            .collect()
    }
}

impl DynamoStore {
    /// One index partition of ACTIVE reservations, soonest deadline first, up to `limit`.
    async fn active_page(&self, shard: String, due_by: Option<&str>, limit: usize) -> Result<Vec<Reservation>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.inventory_table)
            .index_name(super::keys::index::BY_EXPIRY)
            .expression_attribute_values(":shard", AttributeValue::S(shard));
        let query = match due_by {
            Some(bound) => query
                .key_condition_expression("expiry_shard = :shard AND expires_key <= :due")
                .expression_attribute_values(":due", AttributeValue::S(bound.to_owned())),
            None => query.key_condition_expression("expiry_shard = :shard"),
        };
        let mut items = query.into_paginator().items().send();
        let mut found = Vec::new();
        while found.len() < limit {
            let Some(item) = items.try_next().await.map_err(classify)? else {
                break;
            };
            let record: ReservationRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
            found.push(record.reservation);
        }
        Ok(found)
    }
}
