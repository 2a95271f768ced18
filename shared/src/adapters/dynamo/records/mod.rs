//! How domain values are laid out as DynamoDB items: keys, index attributes, `ttl`.

mod images;
mod office;
mod orders;
mod stock;

pub use images::*;
pub use office::*;
pub use orders::*;
pub use stock::*;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use super::keys::*;
use super::{encode_failure, LIST_SHARDS};
use crate::domain::{Order, OrderId, OrderStatus};
use crate::ports::StoreError;

/// Index partition keys spread over `LIST_SHARDS` partitions (`<name>#<n>`), so that a flash
/// sale's writes do not all land on one index partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharded {
    /// Every order, for the all-orders listing (`list_shard`).
    AllOrders,
    /// Orders waiting in PENDING_RESERVING_STOCK (`reserving_shard`).
    Reserving,
    /// ACTIVE reservations by deadline (`expiry_shard`).
    Active,
    /// Every order in one status, for listings filtered by status (`status_shard`).
    Status(OrderStatus),
    /// Orders and late payments owing a refund the provider has not paid (`refund_due_shard`).
    RefundsDue,
    /// Closed orders still holding the customer's personal data (`personal_data_shard`).
    PersonalData,
    /// Unpaid orders whose payment attempt is open (`open_payment_shard`).
    OpenPayments,
}

impl Sharded {
    fn name(self) -> &'static str {
        match self {
            Self::AllOrders => "ORDERS",
            Self::Reserving => "RESERVING",
            Self::Active => "ACTIVE",
            Self::Status(status) => status.as_str(),
            Self::RefundsDue => "REFUNDS_DUE",
            Self::PersonalData => "PERSONAL_DATA",
            Self::OpenPayments => "OPEN_PAYMENTS",
        }
    }

    /// The partition an order's item lands in, from the random tail of its id.
    pub fn of(self, id: OrderId) -> String {
        let tail = id.to_string().chars().last().and_then(|c| c.to_digit(16)).unwrap_or(0);
        format!("{}#{}", self.name(), tail % u32::from(LIST_SHARDS))
    }

    /// Every partition of the index.
    pub fn all(self) -> impl Iterator<Item = String> {
        (0..LIST_SHARDS).map(move |shard| format!("{}#{shard}", self.name()))
    }
}

/// How long a settled reservation is kept before TTL removes it.
pub const SETTLED_RETENTION_DAYS: i64 = 30;
/// An active reservation's TTL: far past its deadline, a backstop should the sweeper stop.
pub const ACTIVE_BACKSTOP_HOURS: i64 = 24;

pub(super) fn decode_order(item: Item) -> Result<Order, StoreError> {
    let record: OrderRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
    Ok(record.order)
}

/// The item a record is stored as, saying what it is in its `entity` attribute.
pub(super) fn to_item<T: Record>(value: &T) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(encode_failure)?;
    item.insert(ENTITY.to_owned(), T::ENTITY.attribute());
    Ok(item)
}

pub(super) fn to_attribute<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(encode_failure)
}

fn string(item: &Item, name: &str) -> String {
    item.get(name).and_then(|value| value.as_s().ok()).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_shards_spread_over_every_partition() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.insert(Sharded::AllOrders.of(OrderId::new()));
        }
        assert_eq!(seen.len(), usize::from(LIST_SHARDS));
    }
}
