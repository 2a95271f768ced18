//! DynamoDB adapter: the orders table (orders, idempotency records) and the inventory table
//! (products, reservations). Every create is an `attribute_not_exists` put; every change that
//! spans items is one `TransactWriteItems`.

mod analytics;
mod audit;
mod backfill;
mod batches;
mod carts;
mod catalogue;
mod invoices;
pub mod keys;
mod links;
mod listing;
mod movements;
mod notes;
mod notifications;
mod numbering;
mod orders;
mod owed;
mod provider_events;
mod rebalance;
mod records;
mod reservations;
mod search;
mod sellers;
mod shards;
mod transaction;

use aws_sdk_dynamodb::Client;

use crate::ports::StoreError;
use crate::retry::RetryPolicy;

pub use backfill::Backfilled;
pub use keys::{prefix, product_key, reservation_key, ORDER_NUMBER_COUNTER_PREFIX};
pub use records::{
    audit_from_images, decode_stored, describe_keys, is_late_payment_image, late_payment_from_image, movement_from_images,
    name_words_from_images, order_from_image, reservation_from_image, StoredItem, UndecodableImage,
};

/// Index partitions that spread the all-orders listing, so a flash sale's writes do not all
/// land on one index partition. Fixed: changing it would hide orders written under the old count.
pub const LIST_SHARDS: u8 = 4;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    orders_table: String,
    inventory_table: String,
    /// Backoff between rounds of keys a batch read left unprocessed (which the SDK does not retry).
    unprocessed_retry: RetryPolicy,
}

impl DynamoStore {
    pub fn new(
        client: Client,
        orders_table: impl Into<String>,
        inventory_table: impl Into<String>,
        unprocessed_retry: RetryPolicy,
    ) -> Self {
        Self {
            client,
            orders_table: orders_table.into(),
            inventory_table: inventory_table.into(),
            unprocessed_retry,
        }
    }
}

impl DynamoStore {
    /// One item of the orders table as it stands (strongly consistent), decoded, if it exists.
    async fn read_order_table<T: serde::de::DeserializeOwned>(&self, key: keys::Item) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.orders_table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::adapters::classify)?;
        output
            .item
            .map(|item| serde_dynamo::from_item(item).map_err(encode_failure))
            .transpose()
    }

    /// Creates an item that is written once: `false` when it exists already (a replay).
    async fn put_once(&self, table: &str, item: keys::Item) -> Result<bool, StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(err) => Err(crate::adapters::classify(err)),
        }
    }
}

/// How fresh a read must be. A strongly consistent read costs twice the read units of an
/// eventually consistent one and is served by the partition's leader only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Strong,
    /// May miss writes of the last second or so: for a look whose every use is conditioned.
    Eventual,
}

fn encode_failure(err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Permanent(Box::new(err))
}
