//! The catalogue port: products and their stock counters, and ACTIVE reservations by deadline.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use futures::future::try_join_all;

use super::records::{product_key, reservation_key, Item, ProductRecord, ReservationRecord, Sharded};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::listing::timestamp_key;
use crate::domain::{OrderId, Product, ProductUpdate, Reservation, Sku};
use crate::ports::{Catalogue, PutProductError, StoreError};

#[async_trait::async_trait]
impl Catalogue for DynamoStore {
    async fn get_products(&self, ids: &[Sku]) -> Result<HashMap<Sku, Product>, StoreError> {
        let keys: Vec<Item> = ids.iter().map(product_key).collect();
        let mut products = HashMap::with_capacity(ids.len());
        for item in self.consistent_batch_get(keys).await? {
            let record: ProductRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
            products.insert(record.product.product_id.clone(), record.product);
        }
        Ok(products)
    }

    async fn get_reservations(&self, orders: &[OrderId]) -> Result<Vec<Reservation>, StoreError> {
        let keys: Vec<Item> = orders.iter().map(|order| reservation_key(*order)).collect();
        let items = self.consistent_batch_get(keys).await?;
        items
            .into_iter()
            .map(|item| {
                let record: ReservationRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
                Ok(record.reservation)
            })
            .collect()
    }

    async fn put_product(&self, update: &ProductUpdate, if_match: Option<u64>, now: DateTime<Utc>) -> Result<Product, PutProductError> {
        // The price version moves only when the price does: try as if it did not change; when
        // the stored price differs, write again with the version bumped. Two attempts suffice
        // unless another admin keeps changing the price in between.
        let mut price_changed = false;
        for _ in 0..PUT_ATTEMPTS {
            match self.write_product(update, if_match, price_changed, now).await? {
                Ok(product) => return Ok(product),
                Err(old) => {
                    let number = |name: &str| old.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok());
                    let version = number("version").and_then(|v| u64::try_from(v).ok());
                    match if_match {
                        Some(_) if old.is_empty() => return Err(PutProductError::NotFound),
                        Some(expected) if version != Some(expected) => {
                            return Err(PutProductError::Stale {
                                current: version.unwrap_or_default(),
                            })
                        }
                        _ => {}
                    }
                    let reserved = number("reserved").unwrap_or_default();
                    if reserved > update.on_hand {
                        return Err(PutProductError::BelowReserved {
                            on_hand: update.on_hand,
                            reserved,
                        });
                    }
                    let stored_price = old.get("price").and_then(|v| v.as_s().ok());
                    price_changed = stored_price != Some(&update.price.to_string());
                }
            }
        }
        Err(StoreError::Contended("the price kept changing under the update".into()).into())
    }

    async fn active_reservations(&self, expiring_by: Option<DateTime<Utc>>, limit: usize) -> Result<Vec<Reservation>, StoreError> {
        // '~' sorts after the `#order-id` suffix, so a deadline equal to `expiring_by` is due.
        let bound = expiring_by.map(|at| format!("{}~", timestamp_key(at)));
        let pages = try_join_all(Sharded::Active.all().map(|shard| self.active_page(shard, bound.as_deref(), limit))).await?;
        let mut due: Vec<Reservation> = pages.into_iter().flatten().collect();
        due.sort_by_key(|reservation| reservation.expires_at);
        due.truncate(limit);
        Ok(due)
    }
}

/// Tries of a product update racing other price changes.
const PUT_ATTEMPTS: usize = 3;

/// Keys one BatchGetItem may ask for.
const BATCH_GET_KEYS: usize = 100;

impl DynamoStore {
    /// Strongly consistent reads of these inventory items, in rounds of at most 100 keys. Keys
    /// that BatchGetItem leaves unprocessed under load (in a successful answer, which the SDK
    /// does not retry) are asked for again, backing off as the retry policy says.
    async fn consistent_batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(encode_failure)?,
            );
            for round in 1..=self.unprocessed_retry.attempts {
                let Some(pending) = request.take() else { break };
                if round > 1 {
                    self.unprocessed_retry.back_off(round - 1).await;
                }
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.inventory_table, pending)
                    .send()
                    .await
                    .map_err(classify)?;
                found.extend(
                    output
                        .responses
                        .and_then(|mut tables| tables.remove(&self.inventory_table))
                        .unwrap_or_default(),
                );
                request = output.unprocessed_keys.and_then(|mut tables| tables.remove(&self.inventory_table));
            }
            if request.is_some() {
                return Err(StoreError::Transient("some keys stayed unprocessed by BatchGetItem".into()));
            }
        }
        Ok(found)
    }

    /// One conditional upsert of a product: a new one starts with nothing reserved; an existing
    /// one keeps its reservations, and `on_hand` may not drop below them. Written as if the price
    /// is unchanged, or (`price_changed`) as a change that bumps the price version. `Err` holds
    /// the stored item when a condition failed (empty when there is none).
    async fn write_product(
        &self,
        update: &ProductUpdate,
        if_match: Option<u64>,
        price_changed: bool,
        now: DateTime<Utc>,
    ) -> Result<Result<Product, Item>, StoreError> {
        let (price_version, mut condition) = if price_changed {
            (
                "price_version = if_not_exists(price_version, :zero) + :one",
                "attribute_exists(pk) AND price <> :price AND reserved <= :on_hand".to_owned(),
            )
        } else {
            (
                "price_version = if_not_exists(price_version, :one)",
                "(attribute_not_exists(pk) OR (price = :price AND reserved <= :on_hand))".to_owned(),
            )
        };
        let mut request = self.client.update_item();
        if let Some(expected) = if_match {
            condition = format!("attribute_exists(pk) AND version = :expected AND {condition}");
            request = request.expression_attribute_values(":expected", AttributeValue::N(expected.to_string()));
        }
        let result = request
            .table_name(&self.inventory_table)
            .set_key(Some(product_key(&update.product_id)))
            .update_expression(format!(
                "SET product_id = :sku, #name = :name, seller_id = :seller, price = :price, on_hand = :on_hand, \
                 available = :on_hand - if_not_exists(reserved, :zero), reserved = if_not_exists(reserved, :zero), \
                 created_at = if_not_exists(created_at, :now), updated_at = :now, \
                 version = if_not_exists(version, :zero) + :one, {price_version}"
            ))
            .condition_expression(condition)
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":sku", AttributeValue::S(update.product_id.to_string()))
            .expression_attribute_values(":name", AttributeValue::S(update.name.clone()))
            .expression_attribute_values(":seller", AttributeValue::S(update.seller_id.to_string()))
            .expression_attribute_values(":price", AttributeValue::S(update.price.to_string()))
            .expression_attribute_values(":on_hand", AttributeValue::N(update.on_hand.to_string()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":now", AttributeValue::S(timestamp_key(now)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let record: ProductRecord = serde_dynamo::from_item(output.attributes.unwrap_or_default()).map_err(encode_failure)?;
                Ok(Ok(record.product))
            }
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => Ok(Err(failed.item().cloned().unwrap_or_default())),
                _ => Err(classify(err)),
            },
        }
    }

    /// One index partition of ACTIVE reservations, soonest deadline first, up to `limit`.
    async fn active_page(&self, shard: String, due_by: Option<&str>, limit: usize) -> Result<Vec<Reservation>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.inventory_table)
            .index_name(super::index::BY_EXPIRY)
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
