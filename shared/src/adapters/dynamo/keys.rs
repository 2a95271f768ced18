//! Every key of the two tables, defined once: partition key prefixes, sort keys, the key of each
//! kind of item, the counters, and the index names. Each stored item also says what it is in
//! its `entity` attribute; items written before that attribute are told apart by their keys.
//! The adapters, the stream decoders, the checker and the load generator all build keys here.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::domain::audit::AuditSubject;
use crate::domain::{IdempotencyKey, OrderId, PaymentReference, SellerId, Sku, UserId};

pub type Item = HashMap<String, AttributeValue>;

pub const ORDER_SK: &str = "ORDER";
/// Sort key prefix of a payment owed back, stored beside its order: `PAYMENT#<reference>`.
pub const LATE_PAYMENT_SK_PREFIX: &str = "PAYMENT#";
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
pub const PRODUCT_SK: &str = "STOCK";
pub const RESERVATION_SK: &str = "RESERVATION";

pub const ADJUSTMENT_SK: &str = "ADJUSTMENT";

/// Partition key prefixes. Items written before the `entity` attribute are told apart by them.
pub mod prefix {
    /// The counters (invoice numbers, order number blocks).
    pub const COUNTER: &str = "COUNTER#";
    pub const ORDER: &str = "ORDER#";
    pub const IDEMPOTENCY: &str = "IDEMPOTENCY#";
    pub const PRODUCT: &str = "PRODUCT#";
    pub const RESERVATION: &str = "RESERVATION#";
    /// A product's stock movements.
    pub const MOVEMENTS: &str = "MOVEMENTS#";
    /// An admin's idempotency key for a stock adjustment.
    pub const ADJUSTMENT: &str = "ADJUSTMENT#";
    /// A batch of admin actions with its results.
    pub const BATCH: &str = "BATCH#";
    /// An admin's idempotency key for a batch.
    pub const BATCH_KEY: &str = "BATCHKEY#";
    /// An order's invoice.
    pub const INVOICE: &str = "INVOICE#";
    /// A seller of the marketplace.
    pub const SELLER: &str = "SELLER#";
    /// Which seller a user of the pool acts for, by the pool's id of the user: one seller each.
    pub const USER_SELLER: &str = "USERSELLER#";
    /// A customer's cart.
    pub const CART: &str = "CART#";
    /// A notification sent (or being sent) for one event to one recipient.
    pub const NOTIFICATION: &str = "NOTIFICATION#";
    /// A provider's payment for an order this shop does not have, by the provider's reference.
    pub const UNMATCHED_PAYMENT: &str = "UNMATCHED#";
    /// A product's or a seller's audit trail (`AUDIT#product#<sku>`).
    pub const AUDIT: &str = "AUDIT#";
    /// A payment provider's event that was applied, by the provider's event id.
    pub const PROVIDER_EVENT: &str = "PROVIDER_EVENT#";
    /// An order's staff notes, apart from the order's own item.
    pub const NOTES: &str = "NOTES#";
    /// The catalogue's search words beginning with one character (`WORDS#b`).
    pub const WORDS: &str = "WORDS#";
}

pub const PROVIDER_EVENT_SK: &str = "EVENT";

pub const UNMATCHED_PAYMENT_SK: &str = "PAYMENT";

pub const BATCH_SK: &str = "BATCH";

/// The one counter invoice numbers come from: the last number issued.
pub const INVOICE_COUNTER_PK: &str = "COUNTER#INVOICE";
/// `COUNTER#ORDER_NUMBER#<yyyymmdd>#<shard>`: the blocks of order numbers claimed that day.
pub const ORDER_NUMBER_COUNTER_PREFIX: &str = "COUNTER#ORDER_NUMBER#";
/// `ORDER#<id>` / `PART#<seller>`: the order holds a part of that seller.
pub const SELLER_LINK_SK_PREFIX: &str = "PART#";
/// `ORDER#<id>` / `PRODUCT#<sku>`: the order has a line of that product.
pub const PRODUCT_LINK_SK_PREFIX: &str = "PRODUCT#";

pub const INVOICE_SK: &str = "INVOICE";

pub fn invoice_partition(order: OrderId) -> String {
    format!("{}{order}", prefix::INVOICE)
}

/// Sort key prefix of one order's result in a batch: `RESULT#<index>`, zero-padded.
pub const BATCH_RESULT_SK_PREFIX: &str = "RESULT#";

pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

pub fn order_key(id: OrderId) -> Item {
    key(format!("{}{id}", prefix::ORDER), ORDER_SK)
}

/// The order an order item's partition key names.
/// A late payment's record, beside its order.
pub fn late_payment_key(order: OrderId, payment: &PaymentReference) -> Item {
    key(format!("{}{order}", prefix::ORDER), &format!("{LATE_PAYMENT_SK_PREFIX}{payment}"))
}

pub fn order_id_of(pk: &str) -> Option<OrderId> {
    pk.strip_prefix(prefix::ORDER).and_then(|id| OrderId::parse(id).ok())
}

pub fn idempotency_key(user: &UserId, idempotency_key: &str) -> Item {
    key(format!("{}{user}#{idempotency_key}", prefix::IDEMPOTENCY), IDEMPOTENCY_SK)
}

pub fn product_key(sku: &Sku) -> Item {
    key(format!("{}{sku}", prefix::PRODUCT), PRODUCT_SK)
}

pub const SELLER_SK: &str = "SELLER";

pub fn seller_key(seller: &SellerId) -> Item {
    key(format!("{}{seller}", prefix::SELLER), SELLER_SK)
}

/// The claim a seller holds on a user of the pool (by the pool's id of the user).
pub fn user_seller_key(user_id: &str) -> Item {
    key(format!("{}{user_id}", prefix::USER_SELLER), SELLER_SK)
}

pub fn reservation_key(order: OrderId) -> Item {
    key(format!("{}{order}", prefix::RESERVATION), RESERVATION_SK)
}

pub const CART_SK: &str = "CART";

pub fn cart_pk(user: &UserId) -> String {
    format!("{}{user}", prefix::CART)
}

pub fn audit_partition(subject: AuditSubject, id: &str) -> String {
    format!("{}{}#{id}", prefix::AUDIT, subject.as_str())
}

pub fn movements_partition(product: &Sku) -> String {
    format!("{}{product}", prefix::MOVEMENTS)
}

/// The item holding shard `shard` of a product's stock (0: the product's own item).
pub fn shard_key(sku: &Sku, shard: u8) -> Item {
    if shard == 0 {
        product_key(sku)
    } else {
        key(format!("{}{sku}#{shard}", prefix::PRODUCT), PRODUCT_SK)
    }
}

/// The registry of sharded products, which the sweeper rebalances.
pub fn sharded_registry_key() -> Item {
    key(SHARDED_REGISTRY_PK.to_owned(), SHARDED_REGISTRY_PK)
}

pub const SHARDED_REGISTRY_PK: &str = "STOCK_SHARDED";

/// The sort key of the counters (invoice numbers, order number blocks).
pub const COUNTER_SK: &str = "COUNTER";
/// The sort key of an admin's idempotency key for a batch.
pub const BATCH_KEY_SK: &str = "BATCHKEY";

pub fn batch_partition(batch_id: &str) -> String {
    format!("{}{batch_id}", prefix::BATCH)
}

pub fn batch_key_partition(user: &UserId, key: &IdempotencyKey) -> String {
    format!("{}{user}#{}", prefix::BATCH_KEY, key.as_str())
}

pub fn notification_partition(event_id: &str) -> String {
    format!("{}{event_id}", prefix::NOTIFICATION)
}

/// The names of the tables' global secondary indexes.
pub mod index {
    pub const BY_USER_CREATED: &str = "by_user_created";
    pub const BY_USER_TOTAL: &str = "by_user_total";
    pub const BY_SHARD_CREATED: &str = "by_shard_created";
    pub const BY_SHARD_TOTAL: &str = "by_shard_total";
    /// Orders table: orders by number, and orders linked to a seller or a product.
    pub const BY_NUMBER: &str = "by_number";
    pub const BY_SELLER_CREATED: &str = "by_seller_created";
    pub const BY_PRODUCT_CREATED: &str = "by_product_created";
    /// Orders table: every order by status (sharded), by creation time and by total.
    pub const BY_STATUS_CREATED: &str = "by_status_created";
    pub const BY_STATUS_TOTAL: &str = "by_status_total";
    /// Orders table: orders waiting in PENDING_RESERVING_STOCK, by creation time.
    pub const BY_RESERVING: &str = "by_reserving";
    pub const BY_REFUND_DUE: &str = "by_refund_due";
    /// Orders table: closed orders still holding personal data, by when they closed.
    pub const BY_PERSONAL_DATA: &str = "by_personal_data";
    /// Orders table: orders by their customer's email and name, lower case (keys only).
    pub const BY_CUSTOMER_EMAIL: &str = "by_customer_email";
    pub const BY_CUSTOMER_NAME: &str = "by_customer_name";
    /// Orders table: unpaid orders whose payment attempt is open, by when it started.
    pub const BY_OPEN_PAYMENT: &str = "by_open_payment";
    /// Inventory table: ACTIVE reservations, by deadline.
    pub const BY_EXPIRY: &str = "by_expiry";
    /// Inventory table: every product, and each seller's, by product id (keys only).
    pub const BY_CATALOGUE: &str = "by_catalogue";
    pub const BY_SELLER_CATALOGUE: &str = "by_seller_catalogue";
    /// Inventory table: every seller, by id (keys only).
    pub const BY_SELLER_LIST: &str = "by_seller_list";
}

/// Every seller item's `seller_list` attribute: the one partition of the sellers' index.
pub const SELLER_LIST_PARTITION: &str = "SELLERS";

/// A word of a product's name, in the partition of its first character, sorted by the word
/// then the product: `WORDS#b` / `blue#mug-1`. A search reads the words a prefix begins.
pub fn product_word_key(word: &str, sku: &Sku) -> Item {
    key(word_partition(word), &word_sort_key(word, sku))
}

pub fn word_sort_key(word: &str, sku: &Sku) -> String {
    format!("{word}#{sku}")
}

/// The partition of the search words that begin as `word` does.
pub fn word_partition(word: &str) -> String {
    let first: String = word.chars().take(1).collect();
    format!("{}{first}", prefix::WORDS)
}

/// Every product item's `catalogue` attribute: the one partition of the catalogue index. The
/// index holds only keys, so the stock and price writes of a sale never write to it.
pub const CATALOGUE_PARTITION: &str = "PRODUCTS";

/// What a stored item is: its `entity` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Order,
    LatePayment,
    Idempotency,
    OrderLink,
    Invoice,
    Batch,
    BatchKey,
    BatchResult,
    Cart,
    Notification,
    Counter,
    Product,
    StockShard,
    ShardedRegistry,
    Reservation,
    Seller,
    Movement,
    AdjustmentKey,
    UnmatchedPayment,
    Audit,
    ProviderEvent,
    OrderNote,
    ProductWord,
    UserSeller,
}

/// The attribute that holds an item's `Entity`.
pub const ENTITY: &str = "entity";

impl Entity {
    const ALL: [Self; 24] = [
        Self::Order,
        Self::LatePayment,
        Self::Idempotency,
        Self::OrderLink,
        Self::Invoice,
        Self::Batch,
        Self::BatchKey,
        Self::BatchResult,
        Self::Cart,
        Self::Notification,
        Self::Counter,
        Self::Product,
        Self::StockShard,
        Self::ShardedRegistry,
        Self::Reservation,
        Self::Seller,
        Self::Movement,
        Self::AdjustmentKey,
        Self::UnmatchedPayment,
        Self::Audit,
        Self::ProviderEvent,
        Self::OrderNote,
        Self::ProductWord,
        Self::UserSeller,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order => "ORDER",
            Self::LatePayment => "LATE_PAYMENT",
            Self::Idempotency => "IDEMPOTENCY",
            Self::OrderLink => "ORDER_LINK",
            Self::Invoice => "INVOICE",
            Self::Batch => "BATCH",
            Self::BatchKey => "BATCH_KEY",
            Self::BatchResult => "BATCH_RESULT",
            Self::Cart => "CART",
            Self::Notification => "NOTIFICATION",
            Self::Counter => "COUNTER",
            Self::Product => "PRODUCT",
            Self::StockShard => "STOCK_SHARD",
            Self::ShardedRegistry => "SHARDED_REGISTRY",
            Self::Reservation => "RESERVATION",
            Self::Seller => "SELLER",
            Self::Movement => "MOVEMENT",
            Self::AdjustmentKey => "ADJUSTMENT_KEY",
            Self::UnmatchedPayment => "UNMATCHED_PAYMENT",
            Self::Audit => "AUDIT",
            Self::ProviderEvent => "PROVIDER_EVENT",
            Self::OrderNote => "ORDER_NOTE",
            Self::ProductWord => "PRODUCT_WORD",
            Self::UserSeller => "USER_SELLER",
        }
    }

    /// What an item is, from its `entity` attribute; for an item written before it, from its
    /// keys (and whether it names a `shard`). `None` for an item of neither kind we read whole.
    pub fn of(entity: Option<&str>, pk: &str, sk: &str, has_shard: bool) -> Option<Self> {
        if let Some(entity) = entity {
            return Self::ALL.into_iter().find(|known| known.as_str() == entity);
        }
        if pk.starts_with(prefix::ORDER) {
            return match sk {
                ORDER_SK => Some(Self::Order),
                _ if sk.starts_with(LATE_PAYMENT_SK_PREFIX) => Some(Self::LatePayment),
                _ => Some(Self::OrderLink),
            };
        }
        if pk.starts_with(prefix::PRODUCT) {
            return Some(if has_shard { Self::StockShard } else { Self::Product });
        }
        if pk.starts_with(prefix::BATCH) {
            return Some(if sk == BATCH_SK { Self::Batch } else { Self::BatchResult });
        }
        if pk == SHARDED_REGISTRY_PK {
            return Some(Self::ShardedRegistry);
        }
        [
            (prefix::RESERVATION, Self::Reservation),
            (prefix::IDEMPOTENCY, Self::Idempotency),
            (prefix::SELLER, Self::Seller),
            (prefix::CART, Self::Cart),
            (prefix::INVOICE, Self::Invoice),
            (prefix::BATCH_KEY, Self::BatchKey),
            (prefix::NOTIFICATION, Self::Notification),
            (prefix::MOVEMENTS, Self::Movement),
            (prefix::ADJUSTMENT, Self::AdjustmentKey),
            (prefix::COUNTER, Self::Counter),
        ]
        .into_iter()
        .find(|(prefix, _)| pk.starts_with(prefix))
        .map(|(_, entity)| entity)
    }
}

impl Entity {
    /// The `entity` attribute's value, for writes that set it in an update expression.
    pub fn attribute(self) -> AttributeValue {
        AttributeValue::S(self.as_str().to_owned())
    }
}

/// A record of ours as it is stored: written with its `entity` attribute.
pub trait Record: Serialize {
    const ENTITY: Entity;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_says_what_it_is_and_one_written_before_the_attribute_is_known_by_its_keys() {
        assert_eq!(Entity::of(Some("ORDER_LINK"), "ORDER#1", "ORDER", false), Some(Entity::OrderLink));
        assert_eq!(Entity::of(Some("NOT_OURS"), "ORDER#1", ORDER_SK, false), None);
        let legacy = [
            ("ORDER#1", ORDER_SK, false, Entity::Order),
            ("ORDER#1", "PAYMENT#pi_1", false, Entity::LatePayment),
            ("ORDER#1", "PART#seller-1", false, Entity::OrderLink),
            ("PRODUCT#mug", PRODUCT_SK, false, Entity::Product),
            ("PRODUCT#mug#2", PRODUCT_SK, true, Entity::StockShard),
            ("RESERVATION#1", RESERVATION_SK, false, Entity::Reservation),
            ("BATCH#b1", BATCH_SK, false, Entity::Batch),
            ("BATCH#b1", "RESULT#000001", false, Entity::BatchResult),
            ("BATCHKEY#alice#k", BATCH_KEY_SK, false, Entity::BatchKey),
            (INVOICE_COUNTER_PK, COUNTER_SK, false, Entity::Counter),
            (SHARDED_REGISTRY_PK, SHARDED_REGISTRY_PK, false, Entity::ShardedRegistry),
        ];
        for (pk, sk, shard, entity) in legacy {
            assert_eq!(Entity::of(None, pk, sk, shard), Some(entity), "{pk} {sk}");
            assert_eq!(
                Entity::of(Some(entity.as_str()), pk, sk, shard),
                Some(entity),
                "{pk} {sk} with its attribute"
            );
        }
        assert_eq!(Entity::of(None, "SOMETHING#else", "X", false), None);
    }
}
