//! Items read back whole: stream images (the outbox, TTL expiry, stock movements) and raw
//! items of an audit, each decoded by what it says it is.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::*;
use crate::adapters::dynamo::keys::*;
use crate::domain::audit::{field_changes, AuditEntry, AuditSubject};
use crate::domain::catalogue;
use crate::domain::events::LatePayment;
use crate::domain::{Actor, MovementKind, Order, OrderId, Product, Reservation, SellerId, Sku, StockMovement};
use crate::ports::NameWords;

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

/// Any item of either table, decoded by what its key says it is.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredItem {
    Order(Box<Order>),
    Product(Product),
    Reservation(Reservation),
    /// One shard item (1..) of a sharded product; shard 0 is the product's own item.
    StockShard(StockShardRecord),
    /// A provider's payment for an order this shop does not have: the order it named, and the
    /// payment.
    UnmatchedPayment(OrderId, crate::domain::order::Payment),
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
        Some(Entity::UnmatchedPayment) => {
            let record: UnmatchedPaymentRecord = serde_dynamo::from_item(item)?;
            StoredItem::UnmatchedPayment(record.order_id, record.payment)
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

/// What the catalogue's search index must learn from a stream record of the inventory table: a
/// product's words when it is new, its name or seller changed, or an admin wrote it again (so a
/// `PUT` of a product written before the index reaches it). Holds, sales and releases make none.
pub fn name_words_from_images(old: &serde_dynamo::Item, new: &serde_dynamo::Item) -> Option<NameWords> {
    if image_entity(new)? != Entity::Product {
        return None;
    }
    let text = |image: &serde_dynamo::Item, name: &str| match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(text)) => Some(text.clone()),
        _ => None,
    };
    let (name, seller) = (text(new, "name")?, text(new, "seller_id")?);
    let (old_name, old_seller) = (text(old, "name"), text(old, "seller_id"));
    let rewritten = text(new, "movement_kind").as_deref() == Some(MovementKind::Set.as_str());
    if old_name.as_deref() == Some(name.as_str()) && old_seller.as_deref() == Some(seller.as_str()) && !rewritten {
        return None;
    }
    let words = catalogue::words(&name);
    let gone = old_name
        .map(|old_name| catalogue::words(&old_name))
        .unwrap_or_default()
        .into_iter()
        .filter(|word| !words.contains(word))
        .collect();
    Some(NameWords {
        product_id: Sku::parse(&text(new, "product_id")?).ok()?,
        seller_id: SellerId::parse(&seller).ok()?,
        words,
        gone,
    })
}

/// The audit entry a stream record of the inventory table makes, if an admin changed an audited
/// field: a product's name, seller, price or shard count, its stock set or adjusted (shard by
/// shard), or a seller's registration or bound users. Holds, sales, releases and rebalancing make none.
pub fn audit_from_images(old: &serde_dynamo::Item, new: &serde_dynamo::Item) -> Option<AuditEntry> {
    let entity = image_entity(new)?;
    let text = |image: &serde_dynamo::Item, name: &str| -> Option<String> {
        match image.get(name)? {
            serde_dynamo::AttributeValue::S(text) | serde_dynamo::AttributeValue::N(text) => Some(text.clone()),
            serde_dynamo::AttributeValue::Bool(flag) => Some(flag.to_string()),
            // A seller's bound users, by the emails they sign in with.
            serde_dynamo::AttributeValue::L(users) => Some(
                users
                    .iter()
                    .filter_map(|user| match user {
                        serde_dynamo::AttributeValue::M(fields) => match fields.get("email") {
                            Some(serde_dynamo::AttributeValue::S(email)) => Some(email.as_str()),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            _ => None,
        }
    };
    let (subject, id, shard, actor, fields) = match entity {
        Entity::Product | Entity::StockShard => {
            let kind = text(new, "movement_kind");
            let stock_set = [MovementKind::Set, MovementKind::Adjustment]
                .map(|kind| Some(kind.as_str().to_owned()))
                .contains(&kind);
            let mut fields = Vec::new();
            if entity == Entity::Product {
                fields.extend(["name", "seller_id", "price", "stock_shards", "description", "image_url"]);
            }
            if stock_set {
                fields.push("on_hand");
            }
            let shard = match entity {
                Entity::StockShard => text(new, "shard").and_then(|shard| shard.parse().ok()),
                _ => None,
            };
            (
                AuditSubject::Product,
                text(new, "product_id")?,
                shard,
                text(new, "movement_by"),
                fields,
            )
        }
        Entity::Seller => (
            AuditSubject::Seller,
            text(new, "seller_id")?,
            None,
            text(new, "updated_by"),
            vec!["name", "email", "active", "commission_rate", "shipping_fee", "users"],
        ),
        _ => return None,
    };
    let values = |image: &serde_dynamo::Item| -> BTreeMap<String, String> {
        fields
            .iter()
            .filter_map(|field| Some(((*field).to_owned(), text(image, field)?)))
            .collect()
    };
    let changes = field_changes(&values(old), &values(new));
    if changes.is_empty() {
        return None;
    }
    Some(AuditEntry {
        subject,
        id,
        shard,
        actor: Actor::stored(&actor?),
        at: text(new, "updated_at")?.parse().ok()?,
        changes,
    })
}

/// Whether a stream image is a late payment's record.
pub fn is_late_payment_image(image: &serde_dynamo::Item) -> bool {
    image_entity(image) == Some(Entity::LatePayment)
}

/// A late payment's record as a stream image shows it, if the image is one.
pub fn late_payment_from_image(image: serde_dynamo::Item) -> Result<Option<LatePayment>, UndecodableImage> {
    if !is_late_payment_image(&image) {
        return Ok(None);
    }
    let record: LatePaymentRecord = decode_image(image, "late payment")?;
    Ok(Some(LatePayment {
        order_id: record.order_id,
        user_id: record.user_id,
        currency: record.currency,
        order_status: record.order_status,
        due: record.due,
    }))
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
