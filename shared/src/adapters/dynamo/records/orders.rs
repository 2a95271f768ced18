//! Orders as stored: the order item, payments owed back beside it, idempotency records, and
//! the links that list an order under its sellers and products.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::*;
use crate::adapters::dynamo::keys::*;
use crate::domain::listing::sort_position;
use crate::domain::order::Payment;
use crate::domain::{IdempotencyKey, Order, OrderId, OrderStatus, SellerId, Sku, SortField, UserId};
use crate::ports::IdempotencyRecord;

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
