//! Orders, the records written with them, and how a write of an order changes stock.

use crate::domain::numbering::OrderNumber;
use crate::domain::order::Payment;
use crate::domain::IdempotencyKey;
use crate::domain::ListQuery;
use crate::domain::Order;
use crate::domain::OrderId;
use crate::domain::OrderStatus;
use crate::domain::Page;
use crate::domain::PaymentReference;
use crate::domain::Reservation;
use crate::domain::Sku;
use crate::domain::UserId;
use chrono::Duration;
use serde::Deserialize;
use serde::Serialize;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{StoreError, WriteError};

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

/// Orders and the records that travel with them (idempotency keys, payments owed back).
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

    /// Keeps a payment that arrived for `order`, which can no longer be paid, to be refunded: one
    /// record per provider payment, beside the order (which does not grow). `false` when this
    /// payment was already on record.
    async fn record_late_payment(&self, order: &Order, payment: &Payment) -> Result<bool, StoreError>;

    /// Keeps a payment the provider reported for an order this shop does not have, once per
    /// provider payment; `false` when it was already on record.
    async fn record_unmatched_payment(&self, order: OrderId, payment: &Payment) -> Result<bool, StoreError>;

    /// Records that the provider paid a late payment back; `false` when it was recorded before.
    async fn complete_late_refund(
        &self,
        order: OrderId,
        payment: &PaymentReference,
        provider_reference: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Orders owing a refund the provider has not paid yet (a sparse index, never a scan), the
    /// longest owed first, at most `limit`.
    async fn refunds_owed(&self, limit: usize) -> Result<Vec<RefundOwed>, StoreError>;

    /// The order with this number, if there is one (through an index, never a scan).
    async fn find_order_by_number(&self, number: &OrderNumber) -> Result<Option<OrderId>, StoreError>;

    /// Orders waiting in PENDING_RESERVING_STOCK since before `created_before`, oldest first.
    async fn orders_stuck_reserving(&self, created_before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError>;

    /// Orders closed before `closed_before` that still hold the customer's personal data (the
    /// retention period's work), up to `limit`.
    async fn closed_orders_holding_personal_data(&self, closed_before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError>;

    /// Unpaid orders whose payment started before `started_before` and is still open (no
    /// answer from the provider yet), oldest first, up to `limit`.
    async fn payments_unanswered(&self, started_before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError>;
}

/// An order that owes a refund, and since when: an admin's or a return's refund (which the refund
/// step is normally already paying), or a late payment (which only the sweeper drives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOwed {
    pub order_id: OrderId,
    pub since: DateTime<Utc>,
    pub late_payment: bool,
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
