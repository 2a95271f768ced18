//! The orders table's other records: invoices, batches, carts, notification claims, applied
//! provider events and staff notes.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::adapters::dynamo::keys::*;
use crate::domain::batch::{Batch, BatchResult};
use crate::domain::invoice::Invoice;
use crate::domain::listing::timestamp_key;
use crate::domain::note::OrderNote;
use crate::domain::numbering::OrderNumber;
use crate::domain::{IdempotencyKey, OrderId, UserId};
use crate::ports::IdempotencyRecord;

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
    /// The order's number, kept out of the `order_number` attribute: the index of orders by
    /// number holds orders only (invoices written before this keep theirs there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_order: Option<OrderNumber>,
}

impl InvoiceRecord {
    pub fn new(invoice: &Invoice) -> Self {
        let mut invoice = invoice.clone();
        let number_of_order = invoice.order_number.take();
        Self {
            pk: invoice_partition(invoice.order_id),
            sk: INVOICE_SK.to_owned(),
            invoice,
            number_of_order,
        }
    }

    pub fn into_invoice(self) -> Invoice {
        let mut invoice = self.invoice;
        invoice.order_number = invoice.order_number.or(self.number_of_order);
        invoice
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

impl Record for ProviderEventRecord {
    const ENTITY: Entity = Entity::ProviderEvent;
}

/// A payment provider's event that was applied: `PROVIDER_EVENT#<event id>`. Kept a week by
/// TTL, longer than the three days Stripe retries an event for.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProviderEventRecord {
    pub pk: String,
    pub sk: String,
    /// The event's type, for whoever reads the table.
    pub kind: String,
    pub applied_at: DateTime<Utc>,
    pub ttl: i64,
}

impl ProviderEventRecord {
    pub const RETENTION_DAYS: i64 = 7;

    pub fn key(event_id: &str) -> Item {
        key(format!("{}{event_id}", prefix::PROVIDER_EVENT), PROVIDER_EVENT_SK)
    }

    pub fn new(event_id: &str, kind: &str, now: DateTime<Utc>) -> Self {
        Self {
            pk: format!("{}{event_id}", prefix::PROVIDER_EVENT),
            sk: PROVIDER_EVENT_SK.to_owned(),
            kind: kind.to_owned(),
            applied_at: now,
            ttl: (now + chrono::Duration::days(Self::RETENTION_DAYS)).timestamp(),
        }
    }
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

impl Record for NoteRecord {
    const ENTITY: Entity = Entity::OrderNote;
}

/// A staff note: `NOTES#<order id>` / `<timestamp>#<note id>`, in time order.
#[derive(Debug, Serialize, Deserialize)]
pub struct NoteRecord {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub note: OrderNote,
}

impl NoteRecord {
    pub fn partition(order: OrderId) -> String {
        format!("{}{order}", prefix::NOTES)
    }

    pub fn new(note: &OrderNote) -> Self {
        Self {
            pk: Self::partition(note.order_id),
            sk: format!("{}#{}", timestamp_key(note.at), note.note_id),
            note: note.clone(),
        }
    }
}
