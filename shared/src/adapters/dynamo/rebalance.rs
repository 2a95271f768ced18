//! The sweeper's side of sharded stock: listing the sharded products, and evening out their
//! shards with commutative `ADD`s (so a hold in between is never undone), removing the drained.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::keys::{product_key, shard_key, sharded_registry_key};
use super::shards::{lost_a_race, number, shards_of};
use super::{encode_failure, DynamoStore};
use crate::adapters::classify;
use crate::domain::listing::timestamp_key;
use crate::domain::stock;
use crate::domain::{Actor, MovementKind, Sku};
use crate::ports::{ShardRebalance, StoreError};

impl DynamoStore {
    /// Moves available units into or out of a shard (`ADD`, so holds in between are kept); a
    /// move out is conditioned on the shard still holding that many.
    fn rebalance_move(&self, sku: &Sku, shard: u8, delta: i64, actor: &Actor, now: DateTime<Utc>) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.inventory_table)
            .set_key(Some(shard_key(sku, shard)))
            .update_expression(
                "SET updated_at = :now, movement_kind = :kind, movement_by = :actor REMOVE movement_ref \
                 ADD on_hand :delta, available :delta, version :one",
            )
            .expression_attribute_values(":delta", number(delta))
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":now", AttributeValue::S(timestamp_key(now)))
            .expression_attribute_values(":kind", AttributeValue::S(MovementKind::Rebalance.as_str().to_owned()))
            .expression_attribute_values(":actor", AttributeValue::S(actor.as_str().to_owned()));
        let update = if delta < 0 {
            update
                .condition_expression("attribute_exists(pk) AND available >= :take")
                .expression_attribute_values(":take", number(-delta))
        } else {
            update.condition_expression("attribute_exists(pk)")
        };
        Ok(TransactWriteItem::builder().update(update.build().map_err(encode_failure)?).build())
    }

    /// The products the sweeper rebalances.
    pub(super) async fn registered_sharded(&self) -> Result<Vec<Sku>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.inventory_table)
            .set_key(Some(sharded_registry_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let skus = output
            .item
            .and_then(|mut item| item.remove("skus"))
            .and_then(|skus| skus.as_ss().ok().cloned())
            .unwrap_or_default();
        Ok(skus.iter().filter_map(|sku| Sku::parse(sku).ok()).collect())
    }

    /// One rebalancing step of a sharded product: even out the active shards and empty the
    /// draining ones; once a draining shard holds nothing, remove it.
    pub(super) async fn rebalance(&self, sku: &Sku, actor: &Actor, now: DateTime<Utc>) -> Result<ShardRebalance, StoreError> {
        let Some(product) = self.read_product(sku).await? else {
            let off = self.registry_entry(sku, false)?;
            self.client
                .transact_write_items()
                .transact_items(off)
                .send()
                .await
                .map_err(classify)?;
            return Ok(ShardRebalance::default());
        };
        let shards = shards_of(&product);
        let moves = stock::rebalance(&shards, product.stock_shards);
        if !moves.is_empty() {
            let writes = moves
                .iter()
                .map(|(shard, delta)| self.rebalance_move(sku, *shard, *delta, actor, now))
                .collect::<Result<Vec<_>, _>>()?;
            let moved = self.commit_or_next_sweep(writes).await?;
            return Ok(ShardRebalance {
                units_moved: if moved {
                    moves.iter().filter(|(_, delta)| *delta > 0).map(|(_, delta)| *delta).sum()
                } else {
                    0
                },
                shards_removed: 0,
            });
        }
        let active = product.stock_shards.get();
        let drained: Vec<u8> = shards
            .iter()
            .filter(|shard| shard.shard >= active && shard.on_hand == 0 && shard.reserved == 0)
            .map(|shard| shard.shard)
            .collect();
        let kept = shards
            .iter()
            .filter(|shard| !drained.contains(&shard.shard))
            .map(|shard| shard.shard.saturating_add(1))
            .max()
            .unwrap_or(1)
            .max(active);
        if drained.is_empty() {
            return Ok(ShardRebalance::default());
        }
        let mut writes = drained
            .iter()
            .map(|shard| self.drop_shard(sku, *shard, None))
            .collect::<Result<Vec<_>, _>>()?;
        let head = Update::builder()
            .table_name(&self.inventory_table)
            .set_key(Some(product_key(sku)))
            .update_expression("SET shard_items = :kept")
            .condition_expression("stock_shards = :active")
            .expression_attribute_values(":kept", number(kept))
            .expression_attribute_values(":active", number(active))
            .build()
            .map_err(encode_failure)?;
        writes.push(TransactWriteItem::builder().update(head).build());
        if kept <= 1 {
            writes.push(self.registry_entry(sku, false)?);
        }
        let removed = self.commit_or_next_sweep(writes).await?;
        Ok(ShardRebalance {
            units_moved: 0,
            shards_removed: if removed { drained.len() } else { 0 },
        })
    }

    /// Commits one rebalancing transaction; `false` when a hold or an admin changed a shard
    /// since it was read, which leaves the step to the next sweep.
    async fn commit_or_next_sweep(&self, writes: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        match self.client.transact_write_items().set_transact_items(Some(writes)).send().await {
            Ok(_) => Ok(true),
            Err(err) if lost_a_race(&err) => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }
}
