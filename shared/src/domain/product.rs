use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{SellerId, Sku};
use super::money::Money;

/// A catalogue entry with its stock counters: `on_hand = available + reserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub product_id: Sku,
    pub name: String,
    pub seller_id: SellerId,
    pub price: Money,
    pub on_hand: i64,
    pub available: i64,
    pub reserved: i64,
    /// Bumped by every change of the counters.
    #[serde(default)]
    pub version: u64,
    /// Bumped only when the price changes: a reservation is conditioned on the one it charges,
    /// so that holds, sales and releases (which move `version`) never fail a checkout.
    #[serde(default)]
    pub price_version: u64,
    /// When stock was last held for an order. The sweeper trusts its (eventually consistent)
    /// index of reservations for a product only once its last hold has had time to reach it.
    #[serde(default, skip_serializing)]
    pub last_hold_at: Option<DateTime<Utc>>,
}

/// What an admin sets on a product; the stock counters follow from `on_hand`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductUpdate {
    pub product_id: Sku,
    pub name: String,
    pub seller_id: SellerId,
    pub price: Money,
    pub on_hand: i64,
}

impl Product {
    pub const MAX_ON_HAND: i64 = 1_000_000_000;
    pub const MAX_NAME_CHARS: usize = 200;
}
