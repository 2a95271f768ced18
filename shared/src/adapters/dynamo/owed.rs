//! The orders table's bookkeeping of work owed: the sweeper's sparse indexes (orders stuck in
//! PENDING_RESERVING_STOCK, refunds the provider has not paid, personal data past its retention,
//! payments the provider has not answered)
//! and late payments paid back.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use futures::future::try_join_all;

use super::keys::{late_payment_key, order_id_of, LATE_PAYMENT_SK_PREFIX};
use super::records::{to_attribute, Sharded};
use super::DynamoStore;
use crate::adapters::classify;
use crate::domain::order::RefundStatus;
use crate::domain::{OrderId, PaymentReference};
use crate::ports::{RefundOwed, StoreError};

/// A sparse index of orders by time: its name, partition attribute and sort attribute.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimeIndex {
    pub name: &'static str,
    pub sharded: Sharded,
    pub shard: &'static str,
    pub at: &'static str,
}

impl TimeIndex {
    /// Orders waiting in PENDING_RESERVING_STOCK, by creation time.
    pub const RESERVING: Self = Self {
        name: super::keys::index::BY_RESERVING,
        sharded: Sharded::Reserving,
        shard: "reserving_shard",
        at: "created_key",
    };
    /// Unpaid orders whose payment attempt is open, by when it started.
    pub const OPEN_PAYMENTS: Self = Self {
        name: super::keys::index::BY_OPEN_PAYMENT,
        sharded: Sharded::OpenPayments,
        shard: "open_payment_shard",
        at: "open_payment_since",
    };
    /// Closed orders still holding personal data, by when they closed.
    pub const PERSONAL_DATA: Self = Self {
        name: super::keys::index::BY_PERSONAL_DATA,
        sharded: Sharded::PersonalData,
        shard: "personal_data_shard",
        at: "personal_data_closed",
    };
}

impl DynamoStore {
    /// Records a late payment as paid back: out of the index of refunds owed. `false` when it
    /// was recorded before.
    pub(super) async fn mark_late_refund_paid(
        &self,
        order: OrderId,
        payment: &PaymentReference,
        provider_reference: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let completed = self
            .client
            .update_item()
            .table_name(&self.orders_table)
            .set_key(Some(late_payment_key(order, payment)))
            .update_expression(
                "SET refund_status = :done, refund_reference = :reference, refunded_at = :now REMOVE refund_due_shard, refund_due_at",
            )
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(refund_status) OR refund_status <> :done)")
            .expression_attribute_values(":done", to_attribute(&RefundStatus::Completed)?)
            .expression_attribute_values(":reference", AttributeValue::S(provider_reference.to_owned()))
            .expression_attribute_values(":now", to_attribute(&now)?)
            .send()
            .await;
        match completed {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    /// One partition of the sparse index of refunds owed, the longest owed first, up to `limit`.
    pub(super) async fn refunds_owed_page(&self, shard: String, limit: usize) -> Result<Vec<RefundOwed>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.orders_table)
            .index_name(super::keys::index::BY_REFUND_DUE)
            .key_condition_expression("refund_due_shard = :shard")
            .expression_attribute_values(":shard", AttributeValue::S(shard))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(classify)?;
        // The index projects keys only: the order is in the table key, the kind in its sort key.
        Ok(output
            .items()
            .iter()
            .filter_map(|item| {
                let order_id = order_id_of(item.get("pk")?.as_s().ok()?)?;
                let since = item.get("refund_due_at")?.as_s().ok()?.parse().ok()?;
                let late_payment = item.get("sk")?.as_s().ok()?.starts_with(LATE_PAYMENT_SK_PREFIX);
                Some(RefundOwed {
                    order_id,
                    since,
                    late_payment,
                })
            })
            .collect())
    }

    /// One partition of the sparse index of orders waiting to be reserved, up to `limit` ids.
    /// The orders of a sparse, keys-only index of orders by time up to `before` (excluded), the
    /// oldest of each partition first, up to `limit`.
    pub(super) async fn oldest_in(&self, index: TimeIndex, before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError> {
        let before = crate::domain::listing::timestamp_key(before);
        let pages = try_join_all(index.sharded.all().map(|shard| self.partition_before(index, shard, &before, limit))).await?;
        Ok(pages.into_iter().flatten().take(limit).collect())
    }

    async fn partition_before(&self, index: TimeIndex, shard: String, before: &str, limit: usize) -> Result<Vec<OrderId>, StoreError> {
        let mut items = self
            .client
            .query()
            .table_name(&self.orders_table)
            .index_name(index.name)
            .key_condition_expression("#shard = :shard AND #at < :before")
            .expression_attribute_names("#shard", index.shard)
            .expression_attribute_names("#at", index.at)
            .expression_attribute_values(":shard", AttributeValue::S(shard))
            .expression_attribute_values(":before", AttributeValue::S(before.to_owned()))
            .into_paginator()
            .items()
            .send();
        let mut ids = Vec::new();
        while ids.len() < limit {
            let Some(item) = items.try_next().await.map_err(classify)? else {
                break;
            };
            // The index projects keys only: the id is in the table key.
            if let Some(id) = item.get("pk").and_then(|v| v.as_s().ok()).and_then(|pk| order_id_of(pk)) {
                ids.push(id);
            }
        }
        Ok(ids)
    }
}
