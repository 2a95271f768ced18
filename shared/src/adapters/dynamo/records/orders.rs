//! Orders as stored: the order item, payments owed back beside it, idempotency records, and
//! the links that list an order under its sellers and products.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::*;
use crate::adapters::dynamo::keys::*;
use crate::domain::listing::{search_partition, search_text, sort_position, timestamp_key, CustomerField};
use crate::domain::order::{Payment, RefundDue, RefundStatus};
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
    /// Present only while the order owes a refund the provider has not paid: the sweeper's
    /// index of refunds to re-drive, by when the oldest was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_due_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_due_at: Option<String>,
    /// Present only while a closed order still holds the customer's personal data: the
    /// sweeper's index of what the retention period erases, by when the order closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_data_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_data_closed: Option<String>,
    /// Present only while an unpaid order's payment attempt is open: the sweeper's index of
    /// payments to ask the provider about when its webhook is late, by when it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_payment_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_payment_since: Option<String>,
    /// Present while the order holds the customer's email (name): the admin's search by its
    /// beginning, in lower case, then by time. Gone with the personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_key: Option<String>,
    #[serde(flatten)]
    pub order: Order,
}

/// The search entry of one customer field: its index partition and its key there.
pub fn search_entry(field: CustomerField, text: Option<&str>, created_key: &str) -> (Option<String>, Option<String>) {
    let Some(text) = text.map(search_text) else {
        return (None, None);
    };
    match search_partition(field, &text) {
        Some(partition) => (Some(partition), Some(format!("{text}#{created_key}"))),
        None => (None, None),
    }
}

impl Record for LatePaymentRecord {
    const ENTITY: Entity = Entity::LatePayment;
}

/// A payment owed back for an order that could no longer be paid, beside the order (so that no
/// number of late payments grows the order), with what its refund's event needs.
#[derive(Debug, Serialize, Deserialize)]
pub struct LatePaymentRecord {
    pub pk: String,
    pub sk: String,
    pub order_id: OrderId,
    #[serde(flatten)]
    pub due: RefundDue,
    /// The order's customer, currency and status when the payment arrived (absent on records
    /// written before refunds were automatic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_status: Option<OrderStatus>,
    /// Present only while the refund is owed: the sweeper's index of refunds to drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_due_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_due_at: Option<String>,
}

impl LatePaymentRecord {
    pub fn new(order: &Order, due: &RefundDue) -> Self {
        let owed = due.refund_status == RefundStatus::Pending;
        Self {
            pk: format!("{}{}", prefix::ORDER, order.id),
            sk: format!("{LATE_PAYMENT_SK_PREFIX}{}", due.payment.reference),
            order_id: order.id,
            due: due.clone(),
            user_id: Some(order.user_id.clone()),
            currency: Some(order.currency.clone()),
            order_status: Some(order.status),
            refund_due_shard: owed.then(|| Sharded::RefundsDue.of(order.id)),
            refund_due_at: owed.then(|| timestamp_key(due.payment.received_at)),
        }
    }
}

impl Record for UnmatchedPaymentRecord {
    const ENTITY: Entity = Entity::UnmatchedPayment;
}

/// A payment the provider reported for an order this shop does not have: kept, once per
/// provider payment, for the shop to pay back (the checker lists it).
#[derive(Debug, Serialize, Deserialize)]
pub struct UnmatchedPaymentRecord {
    pub pk: String,
    pub sk: String,
    /// The order the provider named.
    pub order_id: OrderId,
    #[serde(flatten)]
    pub payment: Payment,
}

impl UnmatchedPaymentRecord {
    pub fn new(order: OrderId, payment: &Payment) -> Self {
        Self {
            pk: format!("{}{}", prefix::UNMATCHED_PAYMENT, payment.reference),
            sk: UNMATCHED_PAYMENT_SK.to_owned(),
            order_id: order,
            payment: payment.clone(),
        }
    }
}

impl OrderRecord {
    pub fn new(order: &Order) -> Self {
        let key = order_key(order.id);
        // Payments owed back are records of their own, beside the order item.
        let mut order = order.clone();
        order.refunds_due.clear();
        let oldest_owed = order.pending_refunds().map(|refund| refund.created_at).min();
        let closed_holding_personal_data = order.closed_at().filter(|_| order.holds_personal_data());
        let open_payment_since = order
            .open_payment_attempt()
            .and(order.payment_intent.as_ref())
            .map(|intent| intent.created_at);
        let created_key = sort_position(&order, SortField::CreatedAt);
        let (email_shard, email_key) = search_entry(
            CustomerField::Email,
            order.customer_email.as_ref().map(|email| email.as_str()),
            &created_key,
        );
        let (name_shard, name_key) = search_entry(CustomerField::Name, order.customer_name.as_deref(), &created_key);
        Self {
            email_shard,
            email_key,
            name_shard,
            name_key,
            open_payment_shard: open_payment_since.map(|_| Sharded::OpenPayments.of(order.id)),
            open_payment_since: open_payment_since.map(timestamp_key),
            personal_data_shard: closed_holding_personal_data.map(|_| Sharded::PersonalData.of(order.id)),
            personal_data_closed: closed_holding_personal_data.map(timestamp_key),
            refund_due_shard: oldest_owed.map(|_| Sharded::RefundsDue.of(order.id)),
            refund_due_at: oldest_owed.map(timestamp_key),
            pk: string(&key, "pk"),
            sk: ORDER_SK.to_owned(),
            list_shard: Sharded::AllOrders.of(order.id),
            reserving_shard: (order.status == OrderStatus::PendingReservingStock).then(|| Sharded::Reserving.of(order.id)),
            status_shard: Sharded::Status(order.status).of(order.id),
            created_key,
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
