//! Products, their stock and its movements, reservations and sellers.

use crate::domain::seller::Seller;
use crate::domain::seller::SellerUpdate;
use crate::domain::Actor;
use crate::domain::IdempotencyKey;
use crate::domain::OrderId;
use crate::domain::Product;
use crate::domain::ProductUpdate;
use crate::domain::Reservation;
use crate::domain::SellerId;
use crate::domain::Sku;
use crate::domain::StockAdjustment;
use crate::domain::StockMovement;
use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// What one rebalancing step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardRebalance {
    /// Available units moved into emptier shards.
    pub units_moved: i64,
    /// Drained shard items removed.
    pub shards_removed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PutProductError {
    /// `on_hand` may not drop below the units held by active reservations.
    #[error("on_hand {on_hand} is below the {reserved} units reserved")]
    BelowReserved { on_hand: i64, reserved: i64 },
    /// `If-Match` named a version the product has moved past (a sale, a hold, another edit).
    #[error("the product is at version {current}, not the one the update was based on")]
    Stale { current: u64 },
    /// `If-Match` named a version of a product that does not exist.
    #[error("no such product to match")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum AdjustError {
    #[error("no such product")]
    NotFound,
    /// Taking units out may not take more than are available (held units are not the admin's).
    #[error("only {available} units are available")]
    NotAvailable { available: i64 },
    /// `on_hand` may not pass `Product::MAX_ON_HAND`.
    #[error("on_hand would pass {max}", max = Product::MAX_ON_HAND)]
    TooMuch,
    /// The idempotency key was used for another adjustment.
    #[error("the idempotency key was used for another adjustment")]
    KeyReused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A page of a product's stock movements, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementPage {
    pub movements: Vec<StockMovement>,
    /// Where the next page starts; opaque to clients.
    pub next: Option<String>,
}

/// A page of the catalogue, by product id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPage {
    pub products: Vec<Product>,
    /// The last product of a full page: the next page starts after it.
    pub next: Option<Sku>,
}

/// How current a read of products must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Every write acknowledged before the read: what an admin edits from.
    Strong,
    /// A change of the last second may be missing, for half the read units on any replica:
    /// what the public catalogue shows under a sale's read load.
    Eventual,
}

/// Products and their stock: prices, counters, shards.
#[async_trait]
pub trait Catalogue: Send + Sync {
    /// Products by id, every product or one seller's, `limit` at a time after `after`: read
    /// through an index of the catalogue (never a scan), then the products themselves as `read`
    /// says.
    async fn list_products(
        &self,
        seller: Option<&SellerId>,
        limit: u16,
        after: Option<&Sku>,
        read: Consistency,
    ) -> Result<ProductPage, StoreError>;

    /// The products that exist among `ids`, in one round trip (two when one is sharded: its
    /// counters are the sums of its shards, and `shards` lists each).
    async fn get_products(&self, ids: &[Sku]) -> Result<HashMap<Sku, Product>, StoreError>;

    /// The same, read eventually consistently: half the read units and any replica of the
    /// partition, so a hot product's reads reach twice as far, but a change of the last second
    /// may be missing. For a placement's first look only, whose every hold is conditioned on the
    /// price version and the stock it takes; what it would refuse it confirms with `get_products`.
    async fn products_for_sale(&self, ids: &[Sku]) -> Result<HashMap<Sku, Product>, StoreError>;

    /// The sharded products, which the sweeper rebalances.
    async fn sharded_products(&self) -> Result<Vec<Sku>, StoreError>;

    /// One rebalancing step of a sharded product (see `domain::stock::rebalance`).
    async fn rebalance_stock(&self, product: &Sku, actor: &Actor, now: DateTime<Utc>) -> Result<ShardRebalance, StoreError>;

    /// Creates or updates a product, keeping `on_hand = available + reserved`; with `if_match`,
    /// only if the product is still at that version. The price version moves only when the
    /// price changes.
    async fn put_product(
        &self,
        update: &ProductUpdate,
        if_match: Option<u64>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Product, PutProductError>;

    /// Moves `on_hand` and `available` by the adjustment's delta, in one conditional write. With
    /// an idempotency key, a repeat of the same adjustment changes nothing (`true`: replayed).
    async fn adjust_stock(
        &self,
        adjustment: &StockAdjustment,
        idempotency_key: Option<&IdempotencyKey>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Product, bool), AdjustError>;
}

/// Each product's stock movements, as the stream of its counters shows them.
#[async_trait]
pub trait MovementLog: Send + Sync {
    /// Records a movement once: `sequence` (the stream record's) makes a replay change nothing.
    async fn record_movement(&self, movement: &StockMovement, sequence: &str) -> Result<(), StoreError>;

    /// A product's movements, newest first, from `after` (a page's `next`).
    async fn movements(&self, product: &Sku, limit: u16, after: Option<&str>) -> Result<MovementPage, StoreError>;
}

/// Reservations of stock, read by the sweeper and the checker.
#[async_trait]
pub trait ReservationStore: Send + Sync {
    /// ACTIVE reservations, soonest deadline first per index partition; only those due by
    /// `expiring_by` when given. At most `limit`. Read from an index: eventually consistent.
    async fn active_reservations(&self, expiring_by: Option<DateTime<Utc>>, limit: usize) -> Result<Vec<Reservation>, StoreError>;

    /// The reservations of these orders as they stand (strongly consistent), those that exist.
    async fn get_reservations(&self, orders: &[OrderId]) -> Result<Vec<Reservation>, StoreError>;
}

/// The sellers of the marketplace.
#[async_trait]
pub trait SellerStore: Send + Sync {
    /// Registers a seller or replaces what an admin set of them, in one write.
    /// `actor` is who registered or changed it (for the audit trail).
    async fn put_seller(&self, update: &SellerUpdate, actor: &Actor, now: DateTime<Utc>) -> Result<Seller, StoreError>;

    /// Every registered seller, by id, `limit` at a time after `after`: through an index, never a
    /// scan. Answers the page and the last seller of a full page.
    async fn list_sellers(&self, limit: u16, after: Option<&SellerId>) -> Result<(Vec<Seller>, Option<SellerId>), StoreError>;

    /// The registered sellers among `ids`, in one round trip.
    async fn get_sellers(&self, ids: &[SellerId]) -> Result<HashMap<SellerId, Seller>, StoreError>;

    /// Replaces the seller's bound users and takes or lets go of the seller's claim on one user,
    /// in one transaction: if the seller is still at the version `seller` was read at, and no
    /// other seller holds the claim.
    async fn set_seller_users(
        &self,
        seller: &Seller,
        users: Vec<crate::domain::seller::SellerUser>,
        claim: UserClaim<'_>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<UsersWritten, StoreError>;
}

/// What a change of a seller's users does to the seller's claim on one user of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaim<'a> {
    /// The seller claims the user (by the pool's id): refused while another seller holds them.
    Take(&'a str),
    /// The seller lets the user go: the claim goes, unless another seller holds it.
    Release(&'a str),
}

/// How a change of a seller's users went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsersWritten {
    /// Written: the seller as it now stands.
    Written(Seller),
    /// The seller changed since it was read (or is gone): read it again.
    SellerChanged,
    /// Another seller holds the user.
    ClaimedByAnother,
}

/// A product's name words as the search index should hold them after a change of its name or
/// seller: all of `words`, none of `gone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameWords {
    pub product_id: Sku,
    pub seller_id: SellerId,
    pub words: Vec<String>,
    pub gone: Vec<String>,
}

/// Products whose name has a word beginning with a prefix, by word then product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordPage {
    /// Each entry's word and product: a product is listed once for each of its words the
    /// prefix begins.
    pub entries: Vec<(String, Sku)>,
    /// Where the next page starts (the last entry's `<word>#<product>`), after a full page.
    pub next: Option<String>,
}

/// The catalogue's search index: each word of each product's name, kept by the inventory
/// table's stream, read by prefix (never a scan).
#[async_trait]
pub trait CatalogueSearch: Send + Sync {
    /// Writes the words a name has and removes those it no longer has; writing again is harmless.
    async fn index_words(&self, change: &NameWords) -> Result<(), StoreError>;

    /// Up to `limit` entries whose word begins with `prefix`, after the entry `after`, optionally
    /// one seller's only.
    async fn find_by_word(&self, prefix: &str, seller: Option<&SellerId>, limit: u16, after: Option<&str>) -> Result<WordPage, StoreError>;
}
