//! The catalogue port: products and their stock counters, and ACTIVE reservations by deadline.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

use super::keys::{index, product_key, shard_key, Entity, Item, CATALOGUE_PARTITION};
use super::records::{stored_as_sharded, to_item, AdjustmentKeyRecord, ProductRecord};
use super::shards::shards_of;
use super::{encode_failure, DynamoStore, Read};
use crate::adapters::classify;
use crate::domain::listing::timestamp_key;
use crate::domain::stock::{self, StockShards};
use crate::domain::Quantity;
use crate::domain::{Actor, IdempotencyKey, ImageUrl, MovementKind, Product, ProductUpdate, SellerId, Sku, StockAdjustment};
use crate::ports::{AdjustError, Catalogue, Consistency, ProductPage, PutProductError, ShardRebalance, StoreError};

#[async_trait::async_trait]
impl Catalogue for DynamoStore {
    async fn list_products(
        &self,
        seller: Option<&SellerId>,
        limit: u16,
        after: Option<&Sku>,
        read: Consistency,
    ) -> Result<ProductPage, StoreError> {
        let partition = match seller {
            Some(seller) => IndexPartition {
                index: index::BY_SELLER_CATALOGUE,
                attribute: "catalogue_seller",
                value: seller.to_string(),
                sorted_by: "product_id",
            },
            None => IndexPartition {
                index: index::BY_CATALOGUE,
                attribute: "catalogue",
                value: CATALOGUE_PARTITION.to_owned(),
                sorted_by: "product_id",
            },
        };
        let start = after.map(|sku| (product_key(sku), sku.to_string()));
        let (ids, more) = self.index_page(&partition, limit, start).await?;
        let ids: Vec<Sku> = ids.iter().filter_map(|id| Sku::parse(id).ok()).collect();
        // The index is eventually consistent: a product deleted since is skipped.
        let read = match read {
            Consistency::Strong => Read::Strong,
            Consistency::Eventual => Read::Eventual,
        };
        let mut found = self.products(&ids, read).await?;
        let products = ids.iter().filter_map(|id| found.remove(id)).collect();
        Ok(ProductPage {
            products,
            next: more.then(|| ids.last().cloned()).flatten(),
        })
    }

    async fn get_products(&self, ids: &[Sku]) -> Result<HashMap<Sku, Product>, StoreError> {
        self.products(ids, Read::Strong).await
    }

    async fn products_for_sale(&self, ids: &[Sku]) -> Result<HashMap<Sku, Product>, StoreError> {
        self.products(ids, Read::Eventual).await
    }

    async fn sharded_products(&self) -> Result<Vec<Sku>, StoreError> {
        self.registered_sharded().await
    }

    async fn rebalance_stock(&self, product: &Sku, actor: &Actor, now: DateTime<Utc>) -> Result<ShardRebalance, StoreError> {
        self.rebalance(product, actor, now).await
    }

    async fn put_product(
        &self,
        update: &ProductUpdate,
        if_match: Option<u64>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Product, PutProductError> {
        // The price version moves only when the price does: try as if it did not change; when
        // the stored price differs, write again with the version bumped. Two attempts suffice
        // unless another admin keeps changing the price in between.
        if update.stock_shards.is_some_and(|shards| shards.get() > 1) {
            return self.put_sharded(update, if_match, actor, now).await;
        }
        let mut price_changed = false;
        for _ in 0..PUT_ATTEMPTS {
            match self.write_product(update, if_match, price_changed, actor, now).await? {
                Ok(product) => return Ok(product),
                Err(old) => {
                    let number = |name: &str| old.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok());
                    if stored_as_sharded(&old) {
                        return self.put_sharded(update, if_match, actor, now).await;
                    }
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

    async fn adjust_stock(
        &self,
        adjustment: &StockAdjustment,
        idempotency_key: Option<&IdempotencyKey>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Product, bool), AdjustError> {
        let delta = adjustment.delta;
        // Out of the product's own item first; a sharded product that lacks the units there
        // takes them from several shards, planned from a read of all of them.
        let mut takes: Vec<(u8, i64)> = vec![(0, delta)];
        for _ in 0..PUT_ATTEMPTS {
            let mut items = takes
                .iter()
                .map(|(shard, units)| self.adjustment_update(adjustment, *shard, *units, actor, now))
                .collect::<Result<Vec<_>, _>>()?;
            let marker_at = items.len();
            if let Some(key) = idempotency_key {
                let marker = Put::builder()
                    .table_name(&self.inventory_table)
                    .set_item(Some(to_item(&AdjustmentKeyRecord::new(adjustment, key, now))?))
                    .condition_expression("attribute_not_exists(pk) OR #ttl <= :now")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .build()
                    .map_err(encode_failure)?;
                items.push(TransactWriteItem::builder().put(marker).build());
            }
            let written = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
            let err = match written {
                Ok(_) => return self.adjusted(&adjustment.product_id, false).await,
                Err(err) => err,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() else {
                return Err(classify(err).into());
            };
            let reasons = cancelled.cancellation_reasons();
            let failed = |index: usize| reasons.get(index).and_then(|reason| reason.code()) == Some("ConditionalCheckFailed");
            if failed(marker_at) {
                // The key was used before: the same adjustment is a replay, another one is refused.
                let stored = reasons.get(marker_at).and_then(|reason| reason.item()).cloned().unwrap_or_default();
                let fingerprint = stored.get("fingerprint").and_then(|v| v.as_s().ok());
                if fingerprint != Some(&AdjustmentKeyRecord::fingerprint(adjustment)) {
                    return Err(AdjustError::KeyReused);
                }
                return self.adjusted(&adjustment.product_id, true).await;
            }
            if let Some(refused) = (0..marker_at).find(|index| failed(*index)) {
                let old = reasons
                    .get(refused)
                    .and_then(|reason| reason.item())
                    .filter(|item| !item.is_empty());
                let number = |name: &str| {
                    old.and_then(|item| item.get(name))
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse::<i64>().ok())
                };
                let shard = takes.get(refused).map_or(0, |(shard, _)| *shard);
                if old.is_none() && shard == 0 {
                    return Err(AdjustError::NotFound);
                }
                let sharded = shard > 0 || old.is_some_and(stored_as_sharded);
                if delta > 0 {
                    return Err(AdjustError::TooMuch);
                }
                if !sharded {
                    return Err(AdjustError::NotAvailable {
                        available: number("available").unwrap_or(0),
                    });
                }
                let product = self
                    .get_products(std::slice::from_ref(&adjustment.product_id))
                    .await?
                    .remove(&adjustment.product_id)
                    .ok_or(AdjustError::NotFound)?;
                let wanted = Quantity::new(u32::try_from(-delta).unwrap_or(u32::MAX)).map_err(|_| AdjustError::NotAvailable {
                    available: product.available,
                })?;
                // Draining shards count too: units leave the product, not a shard.
                let all = StockShards::new(StockShards::MAX).unwrap_or_default();
                let plan = stock::plan_takes(wanted, &shards_of(&product), all, 0).ok_or(AdjustError::NotAvailable {
                    available: product.available,
                })?;
                takes = plan.iter().map(|take| (take.shard, -i64::from(take.quantity.get()))).collect();
                continue;
            }
            if reasons
                .iter()
                .any(|reason| reason.code().is_some_and(|code| code == "TransactionConflict"))
            {
                return Err(StoreError::Contended(Box::new(err)).into());
            }
            return Err(classify(err).into());
        }
        Err(StoreError::Contended("the product's shards kept changing under the adjustment".into()).into())
    }
}

/// The condition of a one-item write of a product's stock: the product is not sharded.
const UNSHARDED: &str = "(attribute_not_exists(shard_items) OR shard_items <= :one) \
                         AND (attribute_not_exists(stock_shards) OR stock_shards <= :one)";

/// An optional text attribute: NULL when absent, so one `SET` clears what an edit left out.
pub(super) fn optional_text(text: Option<&str>) -> AttributeValue {
    text.map_or(AttributeValue::Null(true), |text| AttributeValue::S(text.to_owned()))
}

/// Tries of a product update racing other price changes.
const PUT_ATTEMPTS: usize = 3;

/// Keys one BatchGetItem may ask for.
const BATCH_GET_KEYS: usize = 100;

impl DynamoStore {
    /// The products among `ids`, their counters summed over their shards.
    async fn products(&self, ids: &[Sku], read: Read) -> Result<HashMap<Sku, Product>, StoreError> {
        let mut products = self.head_items(ids, read).await?;
        self.sum_shards(&mut products, read).await?;
        Ok(products)
    }

    /// Each product's own item: the catalogue fields, and the counters of shard 0 only for a
    /// sharded product (`sum_shards` adds the others).
    pub(super) async fn head_items(&self, ids: &[Sku], read: Read) -> Result<HashMap<Sku, Product>, StoreError> {
        let keys: Vec<Item> = ids.iter().map(product_key).collect();
        let mut products = HashMap::with_capacity(ids.len());
        for item in self.batch_get(&self.inventory_table, keys, read).await? {
            let record: ProductRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
            products.insert(record.product.product_id.clone(), record.product);
        }
        Ok(products)
    }

    /// One item's part of a stock adjustment: taking out no more than it has available,
    /// putting in no more than the ceiling allows.
    fn adjustment_update(
        &self,
        adjustment: &StockAdjustment,
        shard: u8,
        delta: i64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let (condition, bound) = if delta < 0 {
            ("attribute_exists(pk) AND available >= :bound", -delta)
        } else {
            ("attribute_exists(pk) AND on_hand <= :bound", Product::MAX_ON_HAND - delta)
        };
        let update = Update::builder()
            .table_name(&self.inventory_table)
            .set_key(Some(shard_key(&adjustment.product_id, shard)))
            .update_expression(
                "SET on_hand = on_hand + :delta, available = available + :delta, updated_at = :now, \
                 movement_kind = :kind, movement_ref = :reason, movement_by = :actor ADD version :one",
            )
            .condition_expression(condition)
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
            .expression_attribute_values(":bound", AttributeValue::N(bound.to_string()))
            .expression_attribute_values(":now", AttributeValue::S(timestamp_key(now)))
            .expression_attribute_values(":kind", AttributeValue::S(MovementKind::Adjustment.as_str().to_owned()))
            .expression_attribute_values(":reason", AttributeValue::S(adjustment.reason.clone()))
            .expression_attribute_values(":actor", AttributeValue::S(actor.as_str().to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(encode_failure)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The product after an adjustment (or its replay).
    async fn adjusted(&self, sku: &Sku, replayed: bool) -> Result<(Product, bool), AdjustError> {
        let product = self.get_products(std::slice::from_ref(sku)).await?;
        product
            .into_values()
            .next()
            .map(|product| (product, replayed))
            .ok_or(AdjustError::NotFound)
    }

    /// Reads of these items of `table`, in rounds of at most 100 keys. Keys that BatchGetItem
    /// leaves unprocessed under load (in a successful answer, which the SDK does not retry) are
    /// asked for again, backing off as the retry policy says.
    pub(super) async fn batch_get(&self, table: &str, keys: Vec<Item>, read: Read) -> Result<Vec<Item>, StoreError> {
        let found = std::sync::Mutex::new(Vec::with_capacity(keys.len()));
        let found_ref = &found;
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            let unprocessed = self
                .unprocessed_retry
                .drain(chunk.to_vec(), |pending| async move {
                    let request = KeysAndAttributes::builder()
                        .set_keys(Some(pending))
                        .consistent_read(read == Read::Strong)
                        .build()
                        .map_err(encode_failure)?;
                    let output = self
                        .client
                        .batch_get_item()
                        .request_items(table, request)
                        .send()
                        .await
                        .map_err(classify)?;
                    let items = output.responses.and_then(|mut tables| tables.remove(table)).unwrap_or_default();
                    found_ref
                        .lock()
                        .map_err(|_| StoreError::Permanent("a batch read's results are poisoned".into()))?
                        .extend(items);
                    Ok::<_, StoreError>(
                        output
                            .unprocessed_keys
                            .and_then(|mut tables| tables.remove(table))
                            .map(|left| left.keys)
                            .unwrap_or_default(),
                    )
                })
                .await?;
            if !unprocessed.is_empty() {
                return Err(StoreError::Transient("some keys stayed unprocessed by BatchGetItem".into()));
            }
        }
        found
            .into_inner()
            .map_err(|_| StoreError::Permanent("a batch read's results are poisoned".into()))
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
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Result<Product, Item>, StoreError> {
        // A sharded product is written by `put_sharded`: this one-item write refuses it.
        let (price_version, mut condition) = if price_changed {
            (
                "price_version = if_not_exists(price_version, :zero) + :one",
                format!("attribute_exists(pk) AND price <> :price AND reserved <= :on_hand AND {UNSHARDED}"),
            )
        } else {
            (
                "price_version = if_not_exists(price_version, :one)",
                format!("(attribute_not_exists(pk) OR (price = :price AND reserved <= :on_hand AND {UNSHARDED}))"),
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
                "SET product_id = :sku, #name = :name, seller_id = :seller, catalogue = :catalogue, catalogue_seller = :seller, price = :price, \
                 description = :description, image_url = :image_url, on_hand = :on_hand, \
                 available = :on_hand - if_not_exists(reserved, :zero), reserved = if_not_exists(reserved, :zero), \
                 created_at = if_not_exists(created_at, :now), updated_at = :now, \
                 version = if_not_exists(version, :zero) + :one, {price_version}, \
                 movement_kind = :kind, movement_by = :actor, entity = :entity REMOVE movement_ref"
            ))
            .expression_attribute_values(":entity", Entity::Product.attribute())
            .condition_expression(condition)
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":sku", AttributeValue::S(update.product_id.to_string()))
            .expression_attribute_values(":name", AttributeValue::S(update.name.clone()))
            .expression_attribute_values(":seller", AttributeValue::S(update.seller_id.to_string()))
            .expression_attribute_values(":description", optional_text(update.description.as_deref()))
            .expression_attribute_values(":image_url", optional_text(update.image_url.as_ref().map(ImageUrl::as_str)))
            .expression_attribute_values(":catalogue", AttributeValue::S(CATALOGUE_PARTITION.to_owned()))
            .expression_attribute_values(":price", AttributeValue::S(update.price.to_string()))
            .expression_attribute_values(":on_hand", AttributeValue::N(update.on_hand.to_string()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":now", AttributeValue::S(timestamp_key(now)))
            .expression_attribute_values(":kind", AttributeValue::S(MovementKind::Set.as_str().to_owned()))
            .expression_attribute_values(":actor", AttributeValue::S(actor.as_str().to_owned()))
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
}

/// One partition of a keys-only index of the inventory table: the items whose `attribute` is
/// `value`, in `sorted_by` order.
pub(super) struct IndexPartition {
    pub index: &'static str,
    pub attribute: &'static str,
    pub value: String,
    pub sorted_by: &'static str,
}

impl DynamoStore {
    /// The `sorted_by` values of up to `limit` items of an index partition, after `start` (the
    /// last item's table key and sort value), and whether more may follow.
    pub(super) async fn index_page(
        &self,
        partition: &IndexPartition,
        limit: u16,
        start: Option<(Item, String)>,
    ) -> Result<(Vec<String>, bool), StoreError> {
        // An index page starts after the index's keys and the table's keys of the last item.
        let start = start.map(|(mut key, sorted)| {
            key.insert(partition.attribute.to_owned(), AttributeValue::S(partition.value.clone()));
            key.insert(partition.sorted_by.to_owned(), AttributeValue::S(sorted));
            key
        });
        let output = self
            .client
            .query()
            .table_name(&self.inventory_table)
            .index_name(partition.index)
            .key_condition_expression("#partition = :partition")
            .expression_attribute_names("#partition", partition.attribute)
            .expression_attribute_values(":partition", AttributeValue::S(partition.value.clone()))
            .limit(i32::from(limit))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let values = output
            .items()
            .iter()
            .filter_map(|item| item.get(partition.sorted_by).and_then(|value| value.as_s().ok()).cloned())
            .collect();
        Ok((values, output.last_evaluated_key().is_some()))
    }
}
