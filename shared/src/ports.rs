//! What the handlers need from the outside world, as traits. Adapters implement them for
//! DynamoDB and SQS; tests drive the clock through `ManualClock` (faults are injected below the
//! SDK, see `adapters::faults`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::batch::{Batch, BatchResult};
use crate::domain::cart::Cart;
use crate::domain::events::DomainEvent;
use crate::domain::invoice::Invoice;
use crate::domain::numbering::OrderNumber;
use crate::domain::order::Payment;
use crate::domain::order::PaymentMethod;
use crate::domain::seller::{Seller, SellerUpdate};
use crate::domain::{
    Actor, IdempotencyKey, LineProblem, ListQuery, Money, Order, OrderId, OrderStatus, Page, PaymentReference, Product, ProductUpdate,
    Reservation, SellerId, Sku, StockAdjustment, StockMovement, UserId,
};

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage call that failed for a reason other than a business condition.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, a 5xx or a timeout that outlasted the SDK's own retries: the caller does not
    /// retry again, it answers 503 or hands the work to a queue.
    #[error("transient storage failure")]
    Transient(#[source] BoxError),
    /// A transaction cancelled by a concurrent one (or throttled as a whole). The SDK does not
    /// retry these: the caller retries the whole transaction with its `RetryPolicy`.
    #[error("the transaction was cancelled by a concurrent one")]
    Contended(#[source] BoxError),
    #[error("storage failure")]
    Permanent(#[source] BoxError),
}

impl StoreError {
    /// Passes with time (503 territory), whether or not it is worth retrying here.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Contended(_))
    }

    /// Worth retrying the whole call now: the SDK has not already done so.
    pub fn is_contended(&self) -> bool {
        matches!(self, Self::Contended(_))
    }
}

/// Why a conditional write of an order was refused: the business outcome, not a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// These lines did not have enough available stock; nothing was written.
    OutOfStock(Vec<LineProblem>),
    /// The price of these products changed since the order was priced; nothing was written.
    PriceChanged(Vec<Sku>),
    /// An order with this id already exists: our own earlier write, replayed.
    OrderExists,
    /// Another request already holds this idempotency key.
    IdempotencyKeyTaken,
    /// The order is no longer in the status (or version) the write expected.
    OrderChanged,
    /// The order is as expected but its reservation is not ACTIVE: the stored state disagrees
    /// with itself, and retrying cannot help.
    ReservationNotActive,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("write rejected: {0:?}")]
    Rejected(Rejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WriteError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store(err) if err.is_transient())
    }

    pub fn is_contended(&self) -> bool {
        matches!(self, Self::Store(err) if err.is_contended())
    }
}

/// A client's idempotency key, remembered for 24 hours with the order it created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub user_id: UserId,
    pub key: String,
    /// Digest of the request body the key was first used with.
    pub fingerprint: String,
    pub order_id: OrderId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl IdempotencyRecord {
    pub const LIFETIME_HOURS: i64 = 24;

    pub fn new(user_id: UserId, key: &IdempotencyKey, fingerprint: String, order_id: OrderId, now: DateTime<Utc>) -> Self {
        Self {
            user_id,
            key: key.as_str().to_owned(),
            fingerprint,
            order_id,
            created_at: now,
            expires_at: now + Duration::hours(Self::LIFETIME_HOURS),
        }
    }
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError>;

    /// One page of orders: one Query per index partition, never a scan.
    async fn list_orders(&self, query: &ListQuery) -> Result<Page<Order>, StoreError>;

    /// The live (unexpired) record for this user's key, if any.
    async fn find_idempotency(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Writes a new order with its idempotency record and, when given, its reservation and the
    /// stock it holds: all of it or none of it.
    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyRecord>,
        reservation: Option<&Reservation>,
    ) -> Result<(), WriteError>;

    /// Replaces an order that is still in `expected` status at `order.version`, changing its
    /// stock in the same transaction. On success `order.version` is the new stored version.
    async fn update_order(&self, order: &mut Order, expected: OrderStatus, stock: StockChange<'_>) -> Result<(), WriteError>;

    /// Keeps a payment that arrived for an order that can no longer be paid, to be refunded: one
    /// record per provider payment, beside the order (which does not grow). `false` when this
    /// payment was already on record.
    async fn record_late_payment(&self, order: OrderId, payment: &Payment) -> Result<bool, StoreError>;

    /// Stores a new batch, or (with an idempotency key already used) finds the batch the key
    /// started: `Existing` with its id and whether the request was the same.
    async fn create_batch(&self, batch: &Batch, key: Option<(&IdempotencyKey, &str)>) -> Result<BatchCreated, StoreError>;

    /// A batch with the results recorded so far.
    async fn get_batch(&self, batch_id: &str) -> Result<Option<(Batch, Vec<BatchResult>)>, StoreError>;

    /// Records one order's result in a batch; the first result recorded stays.
    async fn record_batch_result(&self, batch_id: &str, result: &BatchResult) -> Result<(), StoreError>;

    /// Claims the next block of order numbers of `day` from counter `shard`: answers how many
    /// blocks that counter has handed out, this one included (1 for its first).
    async fn claim_number_block(&self, day: chrono::NaiveDate, shard: u32) -> Result<u64, StoreError>;

    /// Lists the order under each of its products (off the request path: the analytics step
    /// does it as the order is placed and paid). Writing it again changes nothing.
    async fn link_products(&self, order: &Order) -> Result<(), StoreError>;

    /// The orders that hold a part of a seller, or a line of a product, newest first, a page at
    /// a time (through an index, never a scan).
    async fn list_linked_orders(
        &self,
        link: &OrderLink,
        limit: u16,
        after: Option<&crate::domain::Cursor>,
    ) -> Result<Page<Order>, StoreError>;

    /// The order with this number, if there is one (through an index, never a scan).
    async fn find_order_by_number(&self, number: &OrderNumber) -> Result<Option<OrderId>, StoreError>;

    /// The last invoice number issued (0 before the first).
    async fn last_invoice_number(&self) -> Result<u64, StoreError>;

    /// Writes the invoice and moves the counter from `last` to its number, in one transaction:
    /// a number is used only by the invoice written with it, so numbers have no gaps.
    async fn create_invoice(&self, invoice: &Invoice, last: u64) -> Result<InvoiceWrite, StoreError>;

    async fn get_invoice(&self, order: OrderId) -> Result<Option<Invoice>, StoreError>;

    /// Claims the sending of one notification (an event's message to one recipient), so that a
    /// redelivered event sends nothing twice. A claim left SENDING by a crash may be taken over
    /// once it is older than `stale_before`.
    async fn claim_notification(
        &self,
        event_id: &str,
        recipient: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<NotificationClaim, StoreError>;

    /// Records a claimed notification as sent (or refused for good), with the mail service's id.
    async fn settle_notification(&self, event_id: &str, recipient: &str, outcome: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// The customer's cart, if they have one (strongly consistent).
    async fn get_cart(&self, user: &UserId) -> Result<Option<Cart>, StoreError>;

    /// Writes the cart if it is still at the version it was read at (a new cart: if there is
    /// none); `false` when another edit got there first. On success the cart's version is the
    /// stored one. An empty cart is deleted.
    async fn put_cart(&self, cart: &mut Cart) -> Result<bool, StoreError>;

    /// Orders waiting in PENDING_RESERVING_STOCK since before `created_before`, oldest first.
    async fn orders_stuck_reserving(&self, created_before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationClaim {
    /// Ours to send.
    Claimed,
    /// Sent (or refused for good) already.
    Done,
    /// Another delivery is sending it now: try again later.
    InFlight,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceWrite {
    Issued,
    /// The order has its invoice already.
    AlreadyIssued,
    /// Another invoice took the number meanwhile: read the counter again.
    NumberTaken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchCreated {
    New,
    Existing { batch_id: String, same_request: bool },
}

/// A refund the payment provider would not make, or could not be asked for.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Unreachable, throttled or failing: the refund step is tried again; a customer starting a
    /// payment is asked to retry.
    #[error("the payment provider is unavailable")]
    Unavailable(#[source] BoxError),
    /// A decision that retrying will not change (the payment is unknown to it, say).
    #[error("the payment provider refused: {0}")]
    Refused(String),
}

/// What an index of orders groups them by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderLink {
    /// The orders holding a part of this seller (from the write that makes the parts).
    Seller(SellerId),
    /// The orders with a line of this product.
    Product(Sku),
}

/// The analytics counters, maintained from the domain events.
#[async_trait]
pub trait Analytics: Send + Sync {
    /// Adds what one event contributes, on counter shard `shard`, once per `event_id`: `false`
    /// when the event was already counted (or adds nothing).
    async fn record_contribution(
        &self,
        event_id: &str,
        added: &crate::domain::analytics::Contribution,
        shard: u32,
    ) -> Result<bool, StoreError>;

    /// The shop's figures of each day, summed over the day's shards.
    async fn day_figures(
        &self,
        days: &[chrono::NaiveDate],
    ) -> Result<std::collections::BTreeMap<chrono::NaiveDate, crate::domain::analytics::DayFigures>, StoreError>;

    /// Every seller's figures of one day.
    async fn seller_figures(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<std::collections::BTreeMap<SellerId, crate::domain::analytics::SellerFigures>, StoreError>;

    /// Every product's sales of one day.
    async fn product_figures(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<std::collections::BTreeMap<Sku, crate::domain::analytics::ProductFigures>, StoreError>;
}

/// What the provider answers when asked to take a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderIntent {
    pub payment_id: PaymentReference,
    /// Where the customer completes an online payment.
    pub redirect_url: Option<String>,
    /// What a wallet (in the customer's app) completes the payment with.
    pub client_secret: Option<String>,
}

/// The payment provider: taking payments and paying back. This is where a real provider
/// (Stripe, Adyen, ...) plugs in; `adapters::provider::SimulatedProvider` stands in for it here.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Asks the provider to take `amount` for `order` by `method`; it reports the outcome later
    /// by its signed webhook. Once per `idempotency_key`: asking again answers the same intent.
    async fn create_intent(
        &self,
        order: OrderId,
        method: PaymentMethod,
        amount: Money,
        currency: &str,
        idempotency_key: &str,
    ) -> Result<ProviderIntent, ProviderError>;

    /// Pays `amount` back on `payment` and answers the provider's refund reference. Once per
    /// `idempotency_key`: asking again with it answers the first reference and pays nothing.
    async fn refund(
        &self,
        payment: &PaymentReference,
        idempotency_key: &str,
        amount: Money,
        currency: &str,
    ) -> Result<String, ProviderError>;
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Throttled, failing or unreachable: sent again later.
    #[error("the mail service is unavailable")]
    Unavailable(#[source] BoxError),
    /// A message the mail service will never take (a rejected address, say).
    #[error("the mail service refused the message: {0}")]
    Refused(String),
}

/// Sends messages to customers and sellers: SES in AWS and locally (moto).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one message and answers the mail service's message id.
    async fn send(&self, message: &crate::domain::notification::Notification) -> Result<String, NotifyError>;
}

/// How an order update changes stock, in the same transaction.
#[derive(Debug, Clone, Copy)]
pub enum StockChange<'a> {
    None,
    /// Write this new reservation and hold its units (`available` down, `reserved` up), each
    /// line conditioned on enough being available.
    Hold(&'a Reservation),
    /// Settle the order's ACTIVE reservation, exactly once (conditioned on it being ACTIVE).
    Settle(Settlement),
    /// TTL deleted this still-ACTIVE reservation: give its units back and leave a RELEASED
    /// record in its place (created only once).
    ReleaseDeleted(&'a Reservation),
    /// Sold units come back (a paid order cancelled, a return approved, a delivery failed):
    /// `on_hand` and `available` go up, one update per product. Once, because the order write
    /// beside it is conditioned on the version that had not restocked them yet.
    Restock(&'a [(Sku, crate::domain::Quantity)]),
    /// An unpaid order's lines changed: its ACTIVE reservation takes the new lines, and each
    /// product's held units move by its delta (a hold conditioned like a placement's, or a
    /// give-back).
    Adjust(&'a Reservation, &'a [crate::domain::order::StockDelta]),
}

impl<'a> StockChange<'a> {
    /// Sold units back in stock, if there are any.
    pub fn restock(units: &'a [(Sku, crate::domain::Quantity)]) -> Self {
        if units.is_empty() {
            Self::None
        } else {
            Self::Restock(units)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Paid: the units leave `on_hand` and `reserved` as a sale.
    Convert,
    /// Cancelled or expired: the units go back to `available`.
    Release,
}

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

#[async_trait]
pub trait Catalogue: Send + Sync {
    /// The products that exist among `ids`, in one round trip (two when one is sharded: its
    /// counters are the sums of its shards, and `shards` lists each).
    async fn get_products(&self, ids: &[Sku]) -> Result<HashMap<Sku, Product>, StoreError>;

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

    /// Records a movement once: `sequence` (the stream record's) makes a replay change nothing.
    async fn record_movement(&self, movement: &StockMovement, sequence: &str) -> Result<(), StoreError>;

    /// A product's movements, newest first, from `after` (a page's `next`).
    async fn movements(&self, product: &Sku, limit: u16, after: Option<&str>) -> Result<MovementPage, StoreError>;

    /// ACTIVE reservations, soonest deadline first per index partition; only those due by
    /// `expiring_by` when given. At most `limit`. Read from an index: eventually consistent.
    async fn active_reservations(&self, expiring_by: Option<DateTime<Utc>>, limit: usize) -> Result<Vec<Reservation>, StoreError>;

    /// The reservations of these orders as they stand (strongly consistent), those that exist.
    async fn get_reservations(&self, orders: &[OrderId]) -> Result<Vec<Reservation>, StoreError>;

    /// Registers a seller or replaces what an admin set of them, in one write.
    async fn put_seller(&self, update: &SellerUpdate, now: DateTime<Utc>) -> Result<Seller, StoreError>;

    /// The registered sellers among `ids`, in one round trip.
    async fn get_sellers(&self, ids: &[SellerId]) -> Result<HashMap<SellerId, Seller>, StoreError>;
}

#[derive(Debug, thiserror::Error)]
#[error("could not enqueue the saga step")]
pub struct QueueError(#[source] pub BoxError);

/// The saga steps that travel over SQS.
#[async_trait]
pub trait SagaQueue: Send + Sync {
    /// Asks the reserve-stock consumer to finish reserving an order's stock.
    async fn request_reservation(&self, order: OrderId) -> Result<(), QueueError>;

    /// The same for many orders, ten to a call; answers the orders whose request failed.
    async fn request_reservations(&self, orders: &[OrderId]) -> Result<Vec<OrderId>, QueueError>;

    /// Asks the batch consumer to carry out these items of a batch (by their index in it); answers
    /// the indexes whose request failed.
    async fn request_batch_items(&self, batch: &Batch, indexes: &[usize]) -> Result<Vec<usize>, QueueError>;
}

#[derive(Debug, thiserror::Error)]
#[error("could not publish to the event bus")]
pub struct EventBusError(#[source] pub BoxError);

/// The bus domain events go to.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes the events; answers the positions of those the bus did not take (to retry).
    async fn publish(&self, events: &[DomainEvent]) -> Result<Vec<usize>, EventBusError>;
}

/// Named places where a chaos run makes the function "die" (`placement.after_commit`, ...): the
/// seam through which tests crash a use case between its writes.
pub trait CrashPoints: Send + Sync {
    fn crash(&self, point: &str) -> bool;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// Wall-clock time at microsecond precision, the precision every stored timestamp has.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        truncate_to_micros(Utc::now())
    }
}

fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::microseconds(1)).unwrap_or(at)
}

/// A clock tests move by hand.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(truncate_to_micros(start))))
    }

    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|now| *now).unwrap_or_else(|poisoned| *poisoned.into_inner())
    }
}
