//! An order's line (a product's units at a snapshotted price) and why one could not be held.

use serde::{Deserialize, Serialize};

use super::ids::{ItemId, SellerId, Sku};
use super::money::Money;
use super::quantity::Quantity;
use super::stock::ShardTake;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub item_id: ItemId,
    pub product_id: Sku,
    pub name: String,
    pub seller_id: SellerId,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub subtotal: Money,
    /// The product's price version `unit_price` was read at: the reservation holds only if the
    /// price is still that one.
    #[serde(default)]
    pub price_version: u64,
    /// Which shards of a sharded product the line's units are held from (empty: all from the
    /// product's own item).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stock_takes: Vec<ShardTake>,
}

impl OrderLine {
    /// Where the line's units are held: its takes, or all of it from the product's own item.
    pub fn takes(&self) -> Vec<ShardTake> {
        super::stock::takes_or_whole(&self.stock_takes, self.quantity)
    }
}

/// Why one line of an order could not be reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineProblemCode {
    OutOfStock,
    UnknownProduct,
    /// Priced again (its price changed while it waited to be reserved), the line or the order
    /// would pass the bound every amount is held to.
    AmountTooLarge,
    /// The product's seller does not trade (the seller registry says `active: false`).
    SellerInactive,
    /// A checkout's locked price is no longer the product's price: the customer did not accept
    /// paying today's (the queue reserves such an order only at the prices they were shown).
    PriceChanged,
}

impl LineProblemCode {
    /// The code as the API and the timeline spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutOfStock => "OUT_OF_STOCK",
            Self::UnknownProduct => "UNKNOWN_PRODUCT",
            Self::AmountTooLarge => "AMOUNT_TOO_LARGE",
            Self::SellerInactive => "SELLER_INACTIVE",
            Self::PriceChanged => "PRICE_CHANGED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineProblem {
    pub product_id: Sku,
    pub code: LineProblemCode,
    pub requested: Quantity,
    /// Units that were available when the reservation failed, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
}
