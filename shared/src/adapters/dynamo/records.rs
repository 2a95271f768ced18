//! How domain values are laid out as DynamoDB items: keys, index attributes, `ttl`.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::keys::*;
use super::{encode_failure, LIST_SHARDS};
use crate::domain::batch::{Batch, BatchResult};
use crate::domain::invoice::Invoice;
use crate::domain::listing::{sort_position, timestamp_key};
use crate::domain::order::Payment;
use crate::domain::stock::ShardStock;
use crate::domain::{
    Actor, IdempotencyKey, MovementKind, Order, OrderId, OrderStatus, Product, Reservation, ReservationStatus, SellerId, Sku, SortField,
    StockAdjustment, StockMovement, UserId,
};
use crate::ports::{IdempotencyRecord, StoreError};

impl Record for OrderLinkRecord {
    const ENTITY: Entity = Entity::OrderLink;
}

/// One entry of an index of orders by something they hold (a seller's part, a product's line):
/// the order by its key, and the key the index groups it under.
#[derive(Debug, Serialize, Deserialize)]
pub struct OrderLinkRecord {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_key: Option<String>,
    pub created_key: String,
}

impl OrderLinkRecord {
    pub fn seller(order: &Order, seller: &SellerId) -> Self {
        Self {
            pk: format!("{}{}", prefix::ORDER, order.id),
            sk: format!("{SELLER_LINK_SK_PREFIX}{seller}"),
            seller_key: Some(seller.to_string()),
            product_key: None,
            created_key: sort_position(order, SortField::CreatedAt),
        }
    }

    pub fn product(order: &Order, product: &Sku) -> Self {
        Self {
            pk: format!("{}{}", prefix::ORDER, order.id),
            sk: format!("{PRODUCT_LINK_SK_PREFIX}{product}"),
            seller_key: None,
            product_key: Some(product.to_string()),
            created_key: sort_position(order, SortField::CreatedAt),
        }
    }
}

impl Record for InvoiceRecord {
    const ENTITY: Entity = Entity::Invoice;
}

/// An order's invoice, one per order.
#[derive(Debug, Serialize, Deserialize)]
pub struct InvoiceRecord {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub invoice: Invoice,
}

impl InvoiceRecord {
    pub fn new(invoice: &Invoice) -> Self {
        Self {
            pk: invoice_partition(invoice.order_id),
            sk: INVOICE_SK.to_owned(),
            invoice: invoice.clone(),
        }
    }
}

impl Record for BatchRecord {
    const ENTITY: Entity = Entity::Batch;
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BatchRecord {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub batch: Batch,
}

impl BatchRecord {
    pub fn new(batch: &Batch) -> Self {
        Self {
            pk: batch_partition(&batch.batch_id),
            sk: BATCH_SK.to_owned(),
            batch: batch.clone(),
        }
    }
}

impl Record for BatchResultRecord {
    const ENTITY: Entity = Entity::BatchResult;
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BatchResultRecord {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub result: BatchResult,
}

impl BatchResultRecord {
    pub fn new(batch_id: &str, result: &BatchResult) -> Self {
        Self {
            pk: batch_partition(batch_id),
            sk: format!("{BATCH_RESULT_SK_PREFIX}{:05}", result.index),
            result: result.clone(),
        }
    }
}

impl Record for BatchKeyRecord {
    const ENTITY: Entity = Entity::BatchKey;
}

/// An admin's idempotency key for a batch, kept 24 hours.
#[derive(Debug, Serialize, Deserialize)]
pub struct BatchKeyRecord {
    pub pk: String,
    pub sk: String,
    pub batch_id: String,
    pub fingerprint: String,
    pub ttl: i64,
}

impl BatchKeyRecord {
    pub fn new(user: &UserId, key: &IdempotencyKey, batch_id: &str, fingerprint: &str, now: DateTime<Utc>) -> Self {
        Self {
            pk: Self::partition(user, key),
            sk: BATCH_KEY_SK.to_owned(),
            batch_id: batch_id.to_owned(),
            fingerprint: fingerprint.to_owned(),
            ttl: (now + Duration::hours(IdempotencyRecord::LIFETIME_HOURS)).timestamp(),
        }
    }

    pub fn partition(user: &UserId, key: &IdempotencyKey) -> String {
        batch_key_partition(user, key)
    }
}

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
}

impl Sharded {
    fn name(self) -> &'static str {
        match self {
            Self::AllOrders => "ORDERS",
            Self::Reserving => "RESERVING",
            Self::Active => "ACTIVE",
            Self::Status(status) => status.as_str(),
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

impl Record for OrderRecord {
    const ENTITY: Entity = Entity::Order;
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OrderRecord {
    pub pk: String,
    pub sk: String,
    /// Index keys: by user, and by shard for the all-orders listing, each by time and by total.
    pub list_shard: String,
    pub created_key: String,
    pub total_key: String,
    /// Present only while the order waits in PENDING_RESERVING_STOCK: the sweeper's index of
    /// orders to re-drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserving_shard: Option<String>,
    /// `<STATUS>#<n>`: the all-orders listing filtered by status, by time and by total.
    #[serde(default)]
    pub status_shard: String,
    #[serde(flatten)]
    pub order: Order,
}

impl Record for LatePaymentRecord {
    const ENTITY: Entity = Entity::LatePayment;
}

/// A payment owed back for an order that could no longer be paid, beside the order.
#[derive(Debug, Serialize, Deserialize)]
pub struct LatePaymentRecord {
    pub pk: String,
    pub sk: String,
    pub order_id: OrderId,
    #[serde(flatten)]
    pub payment: Payment,
}

impl LatePaymentRecord {
    pub fn new(order: OrderId, payment: &Payment) -> Self {
        Self {
            pk: format!("{}{order}", prefix::ORDER),
            sk: format!("{LATE_PAYMENT_SK_PREFIX}{}", payment.reference),
            order_id: order,
            payment: payment.clone(),
        }
    }
}

impl OrderRecord {
    pub fn new(order: &Order) -> Self {
        let key = order_key(order.id);
        // Payments owed back that are records of their own stay out of the order item.
        let mut order = order.clone();
        order.refunds_due.retain(|due| !due.kept_apart);
        Self {
            pk: string(&key, "pk"),
            sk: ORDER_SK.to_owned(),
            list_shard: Sharded::AllOrders.of(order.id),
            reserving_shard: (order.status == OrderStatus::PendingReservingStock).then(|| Sharded::Reserving.of(order.id)),
            status_shard: Sharded::Status(order.status).of(order.id),
            created_key: sort_position(&order, SortField::CreatedAt),
            total_key: sort_position(&order, SortField::Total),
            order,
        }
    }
}

impl Record for IdempotencyItem {
    const ENTITY: Entity = Entity::Idempotency;
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IdempotencyItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub record: IdempotencyRecord,
    /// Epoch seconds after which DynamoDB TTL may delete the record.
    pub ttl: i64,
}

impl IdempotencyItem {
    pub fn new(record: &IdempotencyRecord) -> Self {
        let key = idempotency_key(&record.user_id, &record.key);
        Self {
            pk: string(&key, "pk"),
            sk: IDEMPOTENCY_SK.to_owned(),
            record: record.clone(),
            ttl: record.expires_at.timestamp(),
        }
    }

    pub fn lookup_key(user: &UserId, key: &IdempotencyKey) -> Item {
        idempotency_key(user, key.as_str())
    }

    /// Whether the key is still held at `now`. Decided on whole epoch seconds, as the write
    /// that takes over an expired key decides it (`ttl <= now`), so the two never disagree.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.ttl > now.timestamp()
    }

    /// The condition under which a new request may take the key over: it has expired.
    pub const TAKEOVER_CONDITION: &'static str = "#ttl <= :now";
}

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

impl Record for NotificationRecord {
    const ENTITY: Entity = Entity::Notification;
}

/// The sending of one notification: `NOTIFICATION#<event id>`, sorted by recipient.
#[derive(Debug, Serialize, Deserialize)]
pub struct NotificationRecord {
    pub pk: String,
    pub sk: String,
    /// SENDING while claimed, then SENT or REFUSED.
    pub state: String,
    /// When the claim was taken, in epoch milliseconds (compared against a lease).
    pub claimed_at_ms: i64,
    /// Garbage-collected by DynamoDB TTL a week on: redeliveries come within days at most.
    pub ttl: i64,
}

impl NotificationRecord {
    pub const SENDING: &'static str = "SENDING";
    pub const RETENTION_DAYS: i64 = 7;

    pub fn claim(event_id: &str, recipient: &str, now: DateTime<Utc>) -> Self {
        Self {
            pk: notification_partition(event_id),
            sk: recipient.to_owned(),
            state: Self::SENDING.to_owned(),
            claimed_at_ms: now.timestamp_millis(),
            ttl: (now + chrono::Duration::days(Self::RETENTION_DAYS)).timestamp(),
        }
    }
}

impl Record for CartRecord {
    const ENTITY: Entity = Entity::Cart;
}

/// A customer's cart, under `CART#<user>`; forgotten by TTL after `CART_IDLE_DAYS` idle.
#[derive(Debug, Serialize, Deserialize)]
pub struct CartRecord {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub cart: crate::domain::cart::Cart,
    pub ttl: i64,
}

impl CartRecord {
    pub fn new(cart: &crate::domain::cart::Cart) -> Self {
        Self {
            pk: cart_pk(&cart.user_id),
            sk: CART_SK.to_owned(),
            cart: cart.clone(),
            ttl: (cart.updated_at + chrono::Duration::days(crate::domain::cart::CART_IDLE_DAYS)).timestamp(),
        }
    }
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

/// The movement a stream record of the inventory table shows, if it is a product whose
/// counters changed.
pub fn movement_from_images(old: serde_dynamo::Item, new: serde_dynamo::Item) -> Result<Option<StockMovement>, UndecodableImage> {
    if !matches!(image_entity(&new), Some(Entity::Product | Entity::StockShard)) {
        return Ok(None);
    }
    let new: CounterImage = decode_image(new, "stock counter")?;
    let old: Option<CounterImage> = match old.is_empty() {
        true => None,
        false => Some(decode_image(old, "stock counter")?),
    };
    let before = old.as_ref();
    let delta = |field: fn(&CounterImage) -> i64| field(&new) - before.map_or(0, field);
    let (delta_on_hand, delta_available, delta_reserved) = (delta(|c| c.on_hand), delta(|c| c.available), delta(|c| c.reserved));
    if before.is_some() && delta_on_hand == 0 && delta_available == 0 && delta_reserved == 0 {
        return Ok(None);
    }
    let kind = new.movement_kind.unwrap_or(MovementKind::Set);
    let order_id = match kind {
        MovementKind::Hold | MovementKind::Sale | MovementKind::Release | MovementKind::Restock => {
            new.movement_ref.as_deref().and_then(|text| OrderId::parse(text).ok())
        }
        _ => None,
    };
    let reason = (kind == MovementKind::Adjustment).then(|| new.movement_ref.clone()).flatten();
    let sharded = new.shard > 0 || new.shard_items.unwrap_or(1) > 1;
    Ok(Some(StockMovement {
        product_id: new.product_id,
        kind,
        delta_on_hand,
        delta_available,
        delta_reserved,
        on_hand: new.on_hand,
        available: new.available,
        reserved: new.reserved,
        order_id,
        reason,
        actor: new.movement_by,
        shard: sharded.then_some(new.shard),
        at: new.updated_at,
    }))
}

/// The stock counters of a product item or of one of its shard items, as the stream shows them.
#[derive(Debug, Deserialize)]
struct CounterImage {
    product_id: Sku,
    #[serde(default)]
    shard: u8,
    #[serde(default)]
    shard_items: Option<u8>,
    on_hand: i64,
    available: i64,
    reserved: i64,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    movement_kind: Option<MovementKind>,
    #[serde(default)]
    movement_ref: Option<String>,
    #[serde(default)]
    movement_by: Option<Actor>,
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

/// Any item of either table, decoded by what its key says it is.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredItem {
    Order(Box<Order>),
    Product(Product),
    Reservation(Reservation),
    /// One shard item (1..) of a sharded product; shard 0 is the product's own item.
    StockShard(StockShardRecord),
    /// Idempotency records and anything else with no invariant of its own.
    Other,
}

/// Decodes an item read raw from either table (for audits that read whole tables).
pub fn decode_stored(item: Item) -> Result<StoredItem, serde_dynamo::Error> {
    let entity = item.get(ENTITY).and_then(|value| value.as_s().ok()).map(String::as_str);
    let entity = Entity::of(entity, &string(&item, "pk"), &string(&item, "sk"), item.contains_key("shard"));
    Ok(match entity {
        Some(Entity::Order) => {
            let record: OrderRecord = serde_dynamo::from_item(item)?;
            StoredItem::Order(Box::new(record.order))
        }
        Some(Entity::StockShard) => StoredItem::StockShard(serde_dynamo::from_item(item)?),
        Some(Entity::Product) => {
            let record: ProductRecord = serde_dynamo::from_item(item)?;
            StoredItem::Product(record.product)
        }
        Some(Entity::Reservation) => {
            let record: ReservationRecord = serde_dynamo::from_item(item)?;
            StoredItem::Reservation(record.reservation)
        }
        _ => StoredItem::Other,
    })
}

/// The order in a stream record's image, if the record is an order (not a payment owed back,
/// an idempotency record or anything else the orders table holds).
pub fn order_from_image(image: serde_dynamo::Item) -> Result<Option<Order>, UndecodableImage> {
    if image_entity(&image) != Some(Entity::Order) {
        return Ok(None);
    }
    let record: OrderRecord = decode_image(image, "order")?;
    Ok(Some(record.order))
}

/// The reservation in a stream record's old image, if the record is one.
pub fn reservation_from_image(image: serde_dynamo::Item) -> Result<Option<Reservation>, UndecodableImage> {
    if image_entity(&image) != Some(Entity::Reservation) {
        return Ok(None);
    }
    let record: ReservationRecord = decode_image(image, "reservation")?;
    Ok(Some(record.reservation))
}

/// A stream image whose keys name a record of ours, and that does not decode as one: its change
/// must not pass unseen (the stream retries it, then its failure destination keeps it).
#[derive(Debug, thiserror::Error)]
#[error("the {what} image in the stream does not decode")]
pub struct UndecodableImage {
    what: &'static str,
    #[source]
    source: serde_dynamo::Error,
}

fn decode_image<T: serde::de::DeserializeOwned>(image: serde_dynamo::Item, what: &'static str) -> Result<T, UndecodableImage> {
    serde_dynamo::from_item(image).map_err(|source| UndecodableImage { what, source })
}

/// What a stream image is (nothing, for the empty image of a record that has none).
fn image_entity(image: &serde_dynamo::Item) -> Option<Entity> {
    let entity = Some(image_key(image, ENTITY)).filter(|entity| !entity.is_empty());
    Entity::of(entity, image_key(image, "pk"), image_key(image, "sk"), image.contains_key("shard"))
}

/// A string key attribute of a stream image (empty when the image has none).
fn image_key<'a>(image: &'a serde_dynamo::Item, name: &str) -> &'a str {
    match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(text)) => text,
        _ => "",
    }
}

/// A stream record's keys as the logs show them (`pk=ORDER#..., sk=ORDER`): no personal data.
pub fn describe_keys(keys: &serde_dynamo::Item) -> String {
    let mut names: Vec<&String> = keys.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|name| format!("{name}={}", image_key(keys, name)))
        .collect::<Vec<_>>()
        .join(", ")
}

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
