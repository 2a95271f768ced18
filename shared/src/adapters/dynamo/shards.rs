//! Sharded stock in DynamoDB: shard 0 is the product's own item, shards 1.. are items of their
//! own partition (`PRODUCT#<sku>#<n>`). Reads add the shards up. An admin's `PUT` that keeps the
//! layout moves `on_hand` on shard 0 with a commutative `ADD` (so it succeeds however many holds
//! land meanwhile); one that changes the layout rewrites every shard in one transaction
//! conditioned on the versions it read. The sweeper's rebalancing is in `rebalance`.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::catalogue::optional_text;
use super::keys::{product_key, shard_key, sharded_registry_key, Entity, Item, CATALOGUE_PARTITION};
use super::records::StockShardRecord;
use super::{encode_failure, DynamoStore, Read};
use crate::adapters::classify;
use crate::domain::listing::timestamp_key;
use crate::domain::stock::{self, ShardStock, StockShards};
use crate::domain::{Actor, ImageUrl, MovementKind, Product, ProductUpdate, Sku};
use crate::ports::{PutProductError, StoreError};

/// What an edit in place came to.
enum InPlace {
    Written,
    /// Shard 0 no longer had the units a decrease takes: read again.
    LostRace,
    NotApplicable,
}

/// Tries of a sharded write that lost to a concurrent one.
const SHARDED_ATTEMPTS: usize = 4;

impl DynamoStore {
    /// Adds up the shards of the sharded products among `products` (one more BatchGetItem, only
    /// when one is sharded) and lists each shard's counters.
    pub(super) async fn sum_shards(&self, products: &mut HashMap<Sku, Product>, read: Read) -> Result<(), StoreError> {
        let records = self.shard_records(products, read).await?;
        add_up(products, &records);
        Ok(())
    }

    /// The shard items (1..) of the sharded products among `products`, in one BatchGetItem.
    async fn shard_records(&self, products: &HashMap<Sku, Product>, read: Read) -> Result<Vec<StockShardRecord>, StoreError> {
        let keys: Vec<Item> = products
            .values()
            .filter(|product| product.is_sharded())
            .flat_map(|product| (1..product.shard_item_count()).map(|n| shard_key(&product.product_id, n)))
            .collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.batch_get(&self.inventory_table, keys, read)
            .await?
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(encode_failure))
            .collect()
    }

    pub(super) async fn read_product(&self, sku: &Sku) -> Result<Option<Product>, StoreError> {
        use crate::ports::Catalogue;
        Ok(self.get_products(std::slice::from_ref(sku)).await?.remove(sku))
    }

    /// `PUT` of a product that is or becomes sharded: every shard is rewritten in one
    /// transaction conditioned on the versions read, so a hold in between makes it read again.
    pub(super) async fn put_sharded(
        &self,
        update: &ProductUpdate,
        if_match: Option<u64>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Product, PutProductError> {
        let sku = &update.product_id;
        for _ in 0..SHARDED_ATTEMPTS {
            // The counters and the versions that condition their rewrite come from one read, so
            // a hold landing after it fails the write instead of being overwritten.
            let mut read = self.head_items(std::slice::from_ref(sku), Read::Strong).await?;
            let records = self.shard_records(&read, Read::Strong).await?;
            let versions: HashMap<u8, u64> = records.iter().map(|record| (record.shard, record.version)).collect();
            add_up(&mut read, &records);
            let current = read.remove(sku);
            match (if_match, &current) {
                (Some(_), None) => return Err(PutProductError::NotFound),
                (Some(expected), Some(product)) if product.version != expected => {
                    return Err(PutProductError::Stale { current: product.version })
                }
                _ => {}
            }
            let shards_now = current.as_ref().map(shards_of).unwrap_or_default();
            let active = update
                .stock_shards
                .or(current.as_ref().map(|product| product.stock_shards))
                .unwrap_or_default();
            let Some(layout) = stock::spread(update.on_hand, &shards_now, active) else {
                return Err(PutProductError::BelowReserved {
                    on_hand: update.on_hand,
                    reserved: shards_now.iter().map(|shard| shard.reserved).sum(),
                });
            };
            let items = u8::try_from(layout.len()).unwrap_or(StockShards::MAX);
            let price_version = match &current {
                None => 1,
                Some(product) if product.price != update.price => product.price_version + 1,
                Some(product) => product.price_version,
            };
            if let (Some(product), None) = (&current, if_match) {
                let adjusted = self.adjust_in_place(update, product, &shards_now, active, price_version, actor, now);
                match adjusted.await? {
                    InPlace::Written => {
                        return self
                            .read_product(sku)
                            .await?
                            .ok_or_else(|| StoreError::Permanent("a product just written cannot be read".into()).into())
                    }
                    InPlace::LostRace => continue,
                    InPlace::NotApplicable => {}
                }
            }
            let mut writes = vec![self.write_head(update, current.as_ref(), &layout[0], active, items, price_version, actor, now)?];
            for shard in layout.iter().skip(1) {
                writes.push(self.write_shard(sku, shard, versions.get(&shard.shard).copied(), price_version, actor, now)?);
            }
            for gone in shards_now.iter().filter(|shard| usize::from(shard.shard) >= layout.len()) {
                writes.push(self.drop_shard(sku, gone.shard, versions.get(&gone.shard).copied())?);
            }
            writes.push(self.registry_entry(sku, items > 1)?);
            match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
                Ok(_) => {
                    return self
                        .read_product(sku)
                        .await?
                        .ok_or_else(|| StoreError::Permanent("a product just written cannot be read".into()).into())
                }
                Err(err) if lost_a_race(&err) => continue,
                Err(err) => return Err(classify(err).into()),
            }
        }
        Err(StoreError::Contended("the product's shards kept changing under the update".into()).into())
    }

    /// An edit that keeps the shard layout, written so that holds landing meanwhile cannot
    /// refuse it: the catalogue fields set, `on_hand` and `available` moved on shard 0 by the
    /// difference (`ADD`, conditioned only on shard 0 still having the units a decrease takes),
    /// and a new price version on every shard. `NotApplicable` for another layout, or a decrease
    /// shard 0 cannot take: the caller rewrites every shard instead.
    #[allow(clippy::too_many_arguments)]
    async fn adjust_in_place(
        &self,
        update: &ProductUpdate,
        current: &Product,
        shards_now: &[ShardStock],
        active: StockShards,
        price_version: u64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<InPlace, StoreError> {
        let delta = update.on_hand - current.on_hand;
        let head_available = shards_now.first().map_or(0, |shard| shard.available);
        if active != current.stock_shards || head_available + delta.min(0) < 0 {
            return Ok(InPlace::NotApplicable);
        }
        let head = Update::builder()
            .table_name(&self.inventory_table)
            .set_key(Some(product_key(&update.product_id)))
            .update_expression(
                "SET #name = :name, seller_id = :seller, catalogue = :catalogue, catalogue_seller = :seller, price = :price, description = :description, image_url = :image_url, price_version = :price_version, updated_at = :now, \
                 movement_kind = :kind, movement_by = :actor REMOVE movement_ref ADD on_hand :delta, available :delta, version :one",
            )
            .condition_expression("attribute_exists(pk) AND shard_items = :items AND available >= :take")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", AttributeValue::S(update.name.clone()))
            .expression_attribute_values(":seller", AttributeValue::S(update.seller_id.to_string()))
            .expression_attribute_values(":description", optional_text(update.description.as_deref()))
            .expression_attribute_values(":image_url", optional_text(update.image_url.as_ref().map(ImageUrl::as_str)))
            .expression_attribute_values(":catalogue", AttributeValue::S(CATALOGUE_PARTITION.to_owned()))
            .expression_attribute_values(":price", AttributeValue::S(update.price.to_string()))
            .expression_attribute_values(":price_version", number(price_version))
            .expression_attribute_values(":delta", number(delta))
            .expression_attribute_values(":take", number(-delta.min(0)))
            .expression_attribute_values(":items", number(current.shard_item_count()))
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":now", AttributeValue::S(timestamp_key(now)))
            .expression_attribute_values(":kind", AttributeValue::S(MovementKind::Set.as_str().to_owned()))
            .expression_attribute_values(":actor", AttributeValue::S(actor.as_str().to_owned()))
            .build()
            .map_err(encode_failure)?;
        let mut writes = vec![TransactWriteItem::builder().update(head).build()];
        // Holds from a shard are conditioned on its price version: a new price reaches all.
        if price_version != current.price_version {
            for shard in 1..current.shard_item_count() {
                let priced = Update::builder()
                    .table_name(&self.inventory_table)
                    .set_key(Some(shard_key(&update.product_id, shard)))
                    .update_expression("SET price_version = :price_version, updated_at = :now")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":price_version", number(price_version))
                    .expression_attribute_values(":now", AttributeValue::S(timestamp_key(now)))
                    .build()
                    .map_err(encode_failure)?;
                writes.push(TransactWriteItem::builder().update(priced).build());
            }
        }
        match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => Ok(InPlace::Written),
            Err(err) if lost_a_race(&err) => Ok(InPlace::LostRace),
            Err(err) => Err(classify(err)),
        }
    }

    /// The product's own item (shard 0 and the catalogue fields), conditioned on the version read.
    #[allow(clippy::too_many_arguments)]
    fn write_head(
        &self,
        update: &ProductUpdate,
        current: Option<&Product>,
        first: &ShardStock,
        active: StockShards,
        items: u8,
        price_version: u64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let write = rewrite(first, current.map(|product| product.version), price_version, actor, now)
            .table_name(&self.inventory_table)
            .set_key(Some(product_key(&update.product_id)))
            .update_expression(
                "SET product_id = :sku, #name = :name, seller_id = :seller, catalogue = :catalogue, catalogue_seller = :seller, price = :price, description = :description, image_url = :image_url, on_hand = :on_hand, \
                 available = :available, reserved = :reserved, stock_shards = :shards, shard_items = :items, \
                 created_at = if_not_exists(created_at, :now), updated_at = :now, \
                 version = if_not_exists(version, :zero) + :one, price_version = :price_version, \
                 movement_kind = :kind, movement_by = :actor, entity = :entity REMOVE movement_ref",
            )
            .expression_attribute_values(":entity", Entity::Product.attribute())
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":sku", AttributeValue::S(update.product_id.to_string()))
            .expression_attribute_values(":name", AttributeValue::S(update.name.clone()))
            .expression_attribute_values(":seller", AttributeValue::S(update.seller_id.to_string()))
            .expression_attribute_values(":description", optional_text(update.description.as_deref()))
            .expression_attribute_values(":image_url", optional_text(update.image_url.as_ref().map(ImageUrl::as_str)))
            .expression_attribute_values(":catalogue", AttributeValue::S(CATALOGUE_PARTITION.to_owned()))
            .expression_attribute_values(":price", AttributeValue::S(update.price.to_string()))
            .expression_attribute_values(":shards", number(active.get()))
            .expression_attribute_values(":items", number(items))
            .build()
            .map_err(encode_failure)?;
        Ok(TransactWriteItem::builder().update(write).build())
    }

    /// One shard item (1..) as laid out, conditioned on its version read (or on not existing).
    fn write_shard(
        &self,
        sku: &Sku,
        shard: &ShardStock,
        version: Option<u64>,
        price_version: u64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<TransactWriteItem, StoreError> {
        let write = rewrite(shard, version, price_version, actor, now)
            .table_name(&self.inventory_table)
            .set_key(Some(shard_key(sku, shard.shard)))
            .update_expression(
                "SET product_id = :sku, #shard = :shard, on_hand = :on_hand, available = :available, reserved = :reserved, \
                 price_version = :price_version, updated_at = :now, version = if_not_exists(version, :zero) + :one, \
                 movement_kind = :kind, movement_by = :actor, entity = :entity REMOVE movement_ref",
            )
            .expression_attribute_values(":entity", Entity::StockShard.attribute())
            .expression_attribute_values(":sku", AttributeValue::S(sku.to_string()))
            .expression_attribute_names("#shard", "shard")
            .expression_attribute_values(":shard", number(shard.shard))
            .build()
            .map_err(encode_failure)?;
        Ok(TransactWriteItem::builder().update(write).build())
    }

    /// Removes a shard item that no order holds from: as read (its free units were laid out
    /// elsewhere in the same transaction), or, without a version, only once it is empty.
    pub(super) fn drop_shard(&self, sku: &Sku, shard: u8, version: Option<u64>) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder()
            .table_name(&self.inventory_table)
            .set_key(Some(shard_key(sku, shard)))
            .expression_attribute_values(":zero", number(0));
        delete = match version {
            Some(version) => delete
                .condition_expression("reserved = :zero AND version = :expected")
                .expression_attribute_values(":expected", number(version)),
            None => delete.condition_expression("reserved = :zero AND available = :zero"),
        };
        Ok(TransactWriteItem::builder().delete(delete.build().map_err(encode_failure)?).build())
    }

    /// Lists the product among the sharded ones the sweeper rebalances, or takes it off.
    pub(super) fn registry_entry(&self, sku: &Sku, sharded: bool) -> Result<TransactWriteItem, StoreError> {
        let expression = if sharded {
            "SET entity = :entity ADD skus :sku"
        } else {
            "SET entity = :entity DELETE skus :sku"
        };
        let update = Update::builder()
            .table_name(&self.inventory_table)
            .set_key(Some(sharded_registry_key()))
            .update_expression(expression)
            .expression_attribute_values(":sku", AttributeValue::Ss(vec![sku.to_string()]))
            .expression_attribute_values(":entity", Entity::ShardedRegistry.attribute())
            .build()
            .map_err(encode_failure)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// Makes each sharded product among `products` the sum of its own item and its shard records.
fn add_up(products: &mut HashMap<Sku, Product>, records: &[StockShardRecord]) {
    for (sku, product) in products.iter_mut().filter(|(_, product)| product.is_sharded()) {
        let own = records.iter().filter(|record| &record.product_id == sku);
        product.add_up_shards(own.map(StockShardRecord::stock));
    }
}

/// Each shard's counters; an unsharded product is its own one shard.
pub(super) fn shards_of(product: &Product) -> Vec<ShardStock> {
    if product.shards.is_empty() {
        vec![ShardStock {
            shard: 0,
            on_hand: product.on_hand,
            available: product.available,
            reserved: product.reserved,
        }]
    } else {
        product.shards.clone()
    }
}

/// A transaction cancelled because an item changed since it was read (or by a conflict).
pub(super) fn lost_a_race(err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled.cancellation_reasons().iter().any(|reason| {
            reason
                .code()
                .is_some_and(|code| code == "ConditionalCheckFailed" || code == "TransactionConflict")
        }),
        _ => false,
    }
}

/// An admin's rewrite of one shard's counters, conditioned on the version read (or, for a
/// shard not there yet, on its absence): the values every shard write binds.
fn rewrite(
    shard: &ShardStock,
    version: Option<u64>,
    price_version: u64,
    actor: &Actor,
    now: DateTime<Utc>,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    let write = match version {
        Some(version) => Update::builder()
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", number(version)),
        None => Update::builder().condition_expression("attribute_not_exists(pk)"),
    };
    write
        .expression_attribute_values(":on_hand", number(shard.on_hand))
        .expression_attribute_values(":available", number(shard.available))
        .expression_attribute_values(":reserved", number(shard.reserved))
        .expression_attribute_values(":price_version", number(price_version))
        .expression_attribute_values(":zero", number(0))
        .expression_attribute_values(":one", number(1))
        .expression_attribute_values(":now", AttributeValue::S(timestamp_key(now)))
        .expression_attribute_values(":kind", AttributeValue::S(MovementKind::Set.as_str().to_owned()))
        .expression_attribute_values(":actor", AttributeValue::S(actor.as_str().to_owned()))
}

pub(super) fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
