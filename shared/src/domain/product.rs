use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::actor::Actor;
use super::ids::{OrderId, SellerId, Sku};
use super::money::Money;
use super::stock::{ShardStock, StockShards};

/// A product's picture: an absolute `https` URL, served from wherever the shop keeps images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImageUrl(String);

impl ImageUrl {
    pub const MAX_CHARS: usize = 2048;

    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let rest = text.strip_prefix("https://").ok_or("must be an https:// URL")?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || text.chars().count() > Self::MAX_CHARS {
            return Err("must be an https:// URL with a host, at most 2048 characters");
        }
        // Printable ASCII (anything else percent-encoded), and nothing that could end an
        // attribute or a CSS url() where a page shows it.
        if !text
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '\\' | '(' | ')' | '[' | ']'))
        {
            return Err("must be printable ASCII (percent-encode the rest), without quotes, brackets or backslashes");
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A catalogue entry with its stock counters: `on_hand = available + reserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub product_id: Sku,
    pub name: String,
    pub seller_id: SellerId,
    pub price: Money,
    /// A few sentences for the product page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
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
    /// How many items the available stock is spread over; holds take from these.
    #[serde(default)]
    pub stock_shards: StockShards,
    /// Shard items that exist: `stock_shards`, or more while shards past it drain their holds.
    #[serde(default, skip_serializing)]
    pub shard_items: u8,
    /// Each shard's counters, when there is more than one item; the counters above are sums.
    #[serde(default, skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardStock>,
}

/// What an admin sets on a product; the stock counters follow from `on_hand`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductUpdate {
    pub product_id: Sku,
    pub name: String,
    pub seller_id: SellerId,
    pub price: Money,
    pub description: Option<String>,
    pub image_url: Option<ImageUrl>,
    pub on_hand: i64,
    /// Absent: as the product has it (1 for a new product).
    pub stock_shards: Option<StockShards>,
}

impl Product {
    pub const MAX_ON_HAND: i64 = 1_000_000_000;
    pub const MAX_NAME_CHARS: usize = 200;
    pub const MAX_DESCRIPTION_CHARS: usize = 1000;

    /// A product of seller-1 with 10 units, for the domain's tests.
    #[cfg(test)]
    pub(crate) fn example(sku: &str, price: &str) -> Self {
        Self {
            product_id: Sku::parse(sku).unwrap(),
            name: format!("Product {sku}"),
            seller_id: SellerId::parse("seller-1").unwrap(),
            price: Money::parse(price).unwrap(),
            description: None,
            image_url: None,
            on_hand: 10,
            available: 10,
            reserved: 0,
            version: 1,
            price_version: 1,
            last_hold_at: None,
            stock_shards: StockShards::ONE,
            shard_items: 1,
            shards: Vec::new(),
        }
    }

    /// Whether the stock lives in more than one item (also while a reduction drains).
    pub fn is_sharded(&self) -> bool {
        self.stock_shards.get() > 1 || self.shard_items > 1
    }

    /// How many shard items to read: at least the active ones.
    pub fn shard_item_count(&self) -> u8 {
        self.shard_items.max(self.stock_shards.get())
    }

    /// The product as read from its own item (shard 0) and its other shard items: the counters
    /// become their sums, and `shards` lists each.
    pub fn add_up_shards(&mut self, more: impl IntoIterator<Item = ShardStock>) {
        let mut shards = vec![ShardStock {
            shard: 0,
            on_hand: self.on_hand,
            available: self.available,
            reserved: self.reserved,
        }];
        shards.extend(more);
        shards.sort_by_key(|shard| shard.shard);
        self.on_hand = shards.iter().map(|shard| shard.on_hand).sum();
        self.available = shards.iter().map(|shard| shard.available).sum();
        self.reserved = shards.iter().map(|shard| shard.reserved).sum();
        self.shards = shards;
    }
}

/// What moved a product's stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MovementKind {
    /// An admin set the product, `on_hand` included (`PUT`).
    Set,
    /// An admin moved `on_hand` by a delta, with a reason (restock, damage, count).
    Adjustment,
    /// Units held for an order awaiting payment.
    Hold,
    /// Held units sold: they leave `on_hand`.
    Sale,
    /// Held units given back (cancellation, expiry).
    Release,
    /// Sold units back in stock (a paid order cancelled, a return, a failed delivery).
    Restock,
    /// Available units moved between the shards of a sharded product (the sum is unchanged).
    Rebalance,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Set => "SET",
            Self::Adjustment => "ADJUSTMENT",
            Self::Hold => "HOLD",
            Self::Sale => "SALE",
            Self::Release => "RELEASE",
            Self::Restock => "RESTOCK",
            Self::Rebalance => "REBALANCE",
        }
    }
}

/// One change of a product's stock counters, as its history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMovement {
    pub product_id: Sku,
    pub kind: MovementKind,
    pub delta_on_hand: i64,
    pub delta_available: i64,
    pub delta_reserved: i64,
    /// The counters after the change.
    pub on_hand: i64,
    pub available: i64,
    pub reserved: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The shard of a sharded product that moved; the counters above are that shard's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u8>,
    pub at: DateTime<Utc>,
}

/// A relative change of `on_hand` (and so of `available`) by an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockAdjustment {
    pub product_id: Sku,
    /// Units in (positive) or out (negative); never zero.
    pub delta: i64,
    pub reason: String,
}

impl StockAdjustment {
    pub const MAX_REASON_CHARS: usize = 200;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_url_is_an_absolute_https_url_that_cannot_break_out_of_markup() {
        assert!(ImageUrl::parse("https://cdn.example.com/mug.jpg?w=400").is_ok());
        assert!(ImageUrl::parse("http://cdn.example.com/mug.jpg").is_err());
        assert!(ImageUrl::parse("https:///mug.jpg").is_err());
        assert!(ImageUrl::parse("javascript:alert(1)").is_err());
        assert!(ImageUrl::parse("https://x.example/a\"onerror=\"x").is_err());
        assert!(ImageUrl::parse("https://x.example/a b.jpg").is_err());
        assert!(ImageUrl::parse(&format!("https://x.example/{}", "a".repeat(2048))).is_err());
    }
}
