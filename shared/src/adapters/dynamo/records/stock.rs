//! Stock as stored: products, their shard items, reservations, sellers, movements and
//! adjustment keys.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::*;
use crate::adapters::dynamo::keys::*;
use crate::domain::audit::AuditEntry;
use crate::domain::listing::timestamp_key;
use crate::domain::stock::ShardStock;
use crate::domain::{Actor, IdempotencyKey, MovementKind, Product, Reservation, ReservationStatus, Sku, StockAdjustment, StockMovement};
use crate::ports::IdempotencyRecord;

#[derive(Debug, Serialize, Deserialize)]
pub struct ProductRecord {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub product: Product,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What the last change of the counters was (every write that moves them says), so that
    /// the stream of the table can tell the movement history what happened.
    #[serde(default)]
    pub movement_kind: Option<MovementKind>,
    /// The order it was for, or the admin's reason.
    #[serde(default)]
    pub movement_ref: Option<String>,
    #[serde(default)]
    pub movement_by: Option<Actor>,
}

/// A seller, under `SELLER#<id>`.
#[derive(Debug, Serialize, Deserialize)]
pub struct SellerRecord {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub seller: crate::domain::seller::Seller,
}

impl Record for MovementRecord {
    const ENTITY: Entity = Entity::Movement;
}

/// One change of a product's stock, kept under `MOVEMENTS#<sku>`, newest last by sort key.
#[derive(Debug, Serialize, Deserialize)]
pub struct MovementRecord {
    pub pk: String,
    /// `<timestamp>#<stream sequence number>`: in time order, and once per stream record.
    pub sk: String,
    #[serde(flatten)]
    pub movement: StockMovement,
}

impl MovementRecord {
    pub fn new(movement: &StockMovement, sequence: &str) -> Self {
        Self {
            pk: movements_partition(&movement.product_id),
            sk: format!("{}#{sequence}", timestamp_key(movement.at)),
            movement: movement.clone(),
        }
    }
}

impl Record for AuditRecord {
    const ENTITY: Entity = Entity::Audit;
}

/// One change an admin made to a product or a seller, under `AUDIT#<subject>#<id>`.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditRecord {
    pub pk: String,
    /// `<timestamp>#<stream sequence number>`: in time order, and once per stream record.
    pub sk: String,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

impl AuditRecord {
    pub fn new(entry: &AuditEntry, source: &str) -> Self {
        Self {
            pk: audit_partition(entry.subject, &entry.id),
            sk: format!("{}#{source}", timestamp_key(entry.at)),
            entry: entry.clone(),
        }
    }
}

impl Record for AdjustmentKeyRecord {
    const ENTITY: Entity = Entity::AdjustmentKey;
}

/// An admin's idempotency key for a stock adjustment, kept 24 hours.
#[derive(Debug, Serialize, Deserialize)]
pub struct AdjustmentKeyRecord {
    pub pk: String,
    pub sk: String,
    /// The adjustment the key was first used with: `<delta>|<reason>`.
    pub fingerprint: String,
    pub ttl: i64,
}

impl AdjustmentKeyRecord {
    pub fn new(adjustment: &StockAdjustment, key: &IdempotencyKey, now: DateTime<Utc>) -> Self {
        let item = Self::key(&adjustment.product_id, key);
        Self {
            pk: string(&item, "pk"),
            sk: string(&item, "sk"),
            fingerprint: Self::fingerprint(adjustment),
            ttl: (now + Duration::hours(IdempotencyRecord::LIFETIME_HOURS)).timestamp(),
        }
    }

    pub fn key(product: &Sku, key: &IdempotencyKey) -> Item {
        self::key(format!("{}{product}#{}", prefix::ADJUSTMENT, key.as_str()), ADJUSTMENT_SK)
    }

    pub fn fingerprint(adjustment: &StockAdjustment) -> String {
        format!("{}|{}", adjustment.delta, adjustment.reason)
    }
}

/// One shard item of a sharded product (shard 1 and up; shard 0 is the product's own item):
/// `PRODUCT#<sku>#<n>`, a partition of its own, so that holds spread over partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockShardRecord {
    pub product_id: Sku,
    pub shard: u8,
    pub on_hand: i64,
    pub available: i64,
    pub reserved: i64,
    #[serde(default)]
    pub version: u64,
}

impl StockShardRecord {
    pub fn stock(&self) -> ShardStock {
        ShardStock {
            shard: self.shard,
            on_hand: self.on_hand,
            available: self.available,
            reserved: self.reserved,
        }
    }
}

/// Whether a product item as stored (an old image, a cancellation reason's item) is sharded.
pub fn stored_as_sharded(item: &Item) -> bool {
    let above_one = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| n > 1)
    };
    above_one("shard_items") || above_one("stock_shards")
}

impl Record for ReservationRecord {
    const ENTITY: Entity = Entity::Reservation;
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReservationRecord {
    pub pk: String,
    pub sk: String,
    /// Present only while ACTIVE: the sweeper's index of reservations by deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_shard: Option<String>,
    pub expires_key: String,
    pub ttl: i64,
    #[serde(flatten)]
    pub reservation: Reservation,
}

impl ReservationRecord {
    pub fn new(reservation: &Reservation) -> Self {
        let key = reservation_key(reservation.order_id);
        let active = reservation.status == ReservationStatus::Active;
        let ttl = if active {
            reservation.expires_at + Duration::hours(ACTIVE_BACKSTOP_HOURS)
        } else {
            reservation.updated_at + Duration::days(SETTLED_RETENTION_DAYS)
        };
        Self {
            pk: string(&key, "pk"),
            sk: RESERVATION_SK.to_owned(),
            expiry_shard: active.then(|| Sharded::Active.of(reservation.order_id)),
            expires_key: format!("{}#{}", timestamp_key(reservation.expires_at), reservation.order_id),
            ttl: ttl.timestamp(),
            reservation: reservation.clone(),
        }
    }
}

/// One word of a product's name in the search index: `WORDS#<first char>` / `<word>#<product>`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProductWordRecord {
    pub pk: String,
    pub sk: String,
    pub word: String,
    pub product_id: Sku,
    pub seller_id: crate::domain::SellerId,
}

impl Record for ProductWordRecord {
    const ENTITY: Entity = Entity::ProductWord;
}

impl ProductWordRecord {
    pub fn new(word: &str, product: &Sku, seller: &crate::domain::SellerId) -> Self {
        Self {
            pk: word_partition(word),
            sk: word_sort_key(word, product),
            word: word.to_owned(),
            product_id: product.clone(),
            seller_id: seller.clone(),
        }
    }
}

/// Which seller a user of the pool acts for: one claim per user, taken in the same transaction
/// that lists them on the seller, so two sellers can never both list one user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserSellerRecord {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub seller_id: crate::domain::SellerId,
}

impl Record for UserSellerRecord {
    const ENTITY: Entity = Entity::UserSeller;
}

impl UserSellerRecord {
    pub fn new(user_id: &str, seller: &crate::domain::SellerId) -> Self {
        Self {
            pk: format!("{}{user_id}", prefix::USER_SELLER),
            sk: SELLER_SK.to_owned(),
            user_id: user_id.to_owned(),
            seller_id: seller.clone(),
        }
    }
}
