//! One pass over both tables that gives items written before an index existed the attributes
//! the index reads: an order the keys its record derives now (the customer search's, say), a
//! product its catalogue keys and its name's search words, a seller its listing key. Each write
//! only adds what is missing, conditioned on the item being unchanged since it was read, so the
//! pass runs beside live traffic and may run again (a second run adds nothing; it writes each
//! product's words again, the same). It scans: an operator's tool after an upgrade, never a
//! request's path.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{Entity, Item, CATALOGUE_PARTITION, ENTITY, SELLER_LIST_PARTITION};
use super::records::{to_item, OrderRecord, ProductRecord};
use super::{encode_failure, DynamoStore, Read};
use crate::adapters::classify;
use crate::domain::catalogue;
use crate::ports::{CatalogueSearch, NameWords, StoreError};

/// The attributes of an order item that only indexes read, all derived from the order.
const ORDER_INDEX_ATTRIBUTES: [&str; 15] = [
    "list_shard",
    "status_shard",
    "created_key",
    "total_key",
    "reserving_shard",
    "email_shard",
    "email_key",
    "name_shard",
    "name_key",
    "open_payment_shard",
    "open_payment_since",
    "personal_data_shard",
    "personal_data_closed",
    "refund_due_shard",
    "refund_due_at",
];

/// What a pass changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Backfilled {
    pub items_read: u64,
    pub orders: u64,
    pub products: u64,
    pub sellers: u64,
    /// Products whose name's words were written to the search index.
    pub product_words: u64,
    /// Items changed by someone else between the read and the write: their write set them.
    pub changed_meanwhile: u64,
}

impl DynamoStore {
    pub async fn backfill_indexes(&self) -> Result<Backfilled, StoreError> {
        let mut done = Backfilled::default();
        for table in [&self.orders_table, &self.inventory_table] {
            let mut pages = self.client.scan().table_name(table).into_paginator().items().send();
            while let Some(item) = pages.try_next().await.map_err(classify)? {
                done.items_read += 1;
                self.backfill_item(table, item, &mut done).await?;
            }
        }
        Ok(done)
    }

    async fn backfill_item(&self, table: &str, item: Item, done: &mut Backfilled) -> Result<(), StoreError> {
        let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).cloned().unwrap_or_default();
        let entity = Entity::of(
            item.get(ENTITY).and_then(|value| value.as_s().ok()).map(String::as_str),
            &text("pk"),
            &text("sk"),
            item.contains_key("shard"),
        );
        let missing: Vec<(String, AttributeValue)> = match entity {
            Some(Entity::Order) => {
                let record: OrderRecord = serde_dynamo::from_item(item.clone()).map_err(encode_failure)?;
                let derived = to_item(&OrderRecord::new(&record.order))?;
                ORDER_INDEX_ATTRIBUTES
                    .iter()
                    .filter(|name| !item.contains_key(**name))
                    .filter_map(|name| derived.get(*name).map(|value| ((*name).to_owned(), value.clone())))
                    .collect()
            }
            Some(Entity::Product) => {
                let record: ProductRecord = serde_dynamo::from_item(item.clone()).map_err(encode_failure)?;
                let product = record.product;
                // The words of the name as it is now, not as the scan saw it: a rename or a new
                // seller since must not be overwritten with the old ones.
                let sku = std::slice::from_ref(&product.product_id);
                if let Some(current) = self.head_items(sku, Read::Strong).await?.remove(&product.product_id) {
                    let words = NameWords {
                        words: catalogue::words(&current.name),
                        gone: Vec::new(),
                        product_id: current.product_id,
                        seller_id: current.seller_id,
                    };
                    self.index_words(&words).await?;
                    done.product_words += 1;
                }
                [
                    ("catalogue", AttributeValue::S(CATALOGUE_PARTITION.to_owned())),
                    ("catalogue_seller", AttributeValue::S(product.seller_id.to_string())),
                ]
                .into_iter()
                .filter(|(name, _)| !item.contains_key(*name))
                .map(|(name, value)| (name.to_owned(), value))
                .collect()
            }
            Some(Entity::Seller) if !item.contains_key("seller_list") => {
                vec![("seller_list".to_owned(), AttributeValue::S(SELLER_LIST_PARTITION.to_owned()))]
            }
            _ => Vec::new(),
        };
        if missing.is_empty() {
            return Ok(());
        }
        if !self.add_attributes(table, &item, &missing).await? {
            done.changed_meanwhile += 1;
            return Ok(());
        }
        match entity {
            Some(Entity::Order) => done.orders += 1,
            Some(Entity::Product) => done.products += 1,
            _ => done.sellers += 1,
        }
        Ok(())
    }

    /// Sets `missing` on the item, only while its `version` (or, without one, its `updated_at`) is
    /// what was read: `false` when it changed meanwhile.
    async fn add_attributes(&self, table: &str, item: &Item, missing: &[(String, AttributeValue)]) -> Result<bool, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(table)
            .key("pk", item.get("pk").cloned().unwrap_or(AttributeValue::Null(true)))
            .key("sk", item.get("sk").cloned().unwrap_or(AttributeValue::Null(true)));
        let mut sets = Vec::with_capacity(missing.len());
        for (n, (name, value)) in missing.iter().enumerate() {
            sets.push(format!("#a{n} = :a{n}"));
            request = request
                .expression_attribute_names(format!("#a{n}"), name)
                .expression_attribute_values(format!(":a{n}"), value.clone());
        }
        let (guard, current) = match (item.get("version"), item.get("updated_at")) {
            (Some(version), _) => ("version", version.clone()),
            (None, Some(updated)) => ("updated_at", updated.clone()),
            (None, None) => ("pk", item.get("pk").cloned().unwrap_or(AttributeValue::Null(true))),
        };
        let written = request
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("#guard = :guard")
            .expression_attribute_names("#guard", guard)
            .expression_attribute_values(":guard", current)
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(classify(err)),
            },
        }
    }
}
