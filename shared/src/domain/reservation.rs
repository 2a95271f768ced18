use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{OrderId, Sku, UserId};
use super::order::Order;
use super::quantity::Quantity;
use super::stock::ShardTake;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    /// Stock is held for the order.
    Active,
    /// Paid: the held units left `on_hand` as a sale.
    Converted,
    /// Given back to `available` (cancelled or expired).
    Released,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedLine {
    pub product_id: Sku,
    pub quantity: Quantity,
    /// Which shards the units are held from (empty: the product's own item).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stock_takes: Vec<ShardTake>,
}

impl ReservedLine {
    pub fn takes(&self) -> Vec<ShardTake> {
        super::stock::takes_or_whole(&self.stock_takes, self.quantity)
    }
}

/// The stock one order holds: one record for the whole order, converted or released exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub lines: Vec<ReservedLine>,
    pub status: ReservationStatus,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Reservation {
    /// Holds every line of `order` until `expires_at`.
    pub fn for_order(order: &Order, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        Self {
            order_id: order.id,
            user_id: order.user_id.clone(),
            lines: order
                .items
                .iter()
                .map(|line| ReservedLine {
                    product_id: line.product_id.clone(),
                    quantity: line.quantity,
                    stock_takes: line.stock_takes.clone(),
                })
                .collect(),
            status: ReservationStatus::Active,
            expires_at,
            created_at: now,
            updated_at: now,
        }
    }
}
