//! Requests parsed from JSON bodies into domain values: after this, they are valid.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::contact::Contact;
use super::delivery::{Address, Channel, MAX_NOTE_CHARS};
use super::ids::{SellerId, Sku};
use super::money::Money;
use super::product::{ImageUrl, Product, ProductUpdate, StockAdjustment};
use super::quantity::Quantity;
use super::stock::StockShards;
use super::validation::{join, FieldError, FieldErrors};

/// One transaction holds the order, its idempotency record, its reservation and one stock update
/// per line: 50 lines keep it within DynamoDB's 100-item limit with room to spare.
pub const MAX_LINES: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedLine {
    pub product_id: Sku,
    pub quantity: Quantity,
}

/// A customer's order request: 1 to 50 lines, each product once, where it was made and where it
/// goes, and who the customer is (from their verified token, never from the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    lines: Vec<WantedLine>,
    details: OrderDetails,
    customer: Option<Contact>,
    /// At checkout: the price each product must still have, or nothing is placed.
    locked_prices: Option<BTreeMap<Sku, Money>>,
}

/// What an order request says besides its lines: the sales channel, the shipping address and
/// the customer's note.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderDetails {
    pub channel: Channel,
    pub shipping_address: Option<Address>,
    pub note: Option<String>,
}

impl OrderDetails {
    /// `channel`, `shipping_address` and `note` of a request body, each optional.
    pub fn from_object(object: &Map<String, Value>, errors: &mut FieldErrors) -> Self {
        let channel = match object.get("channel") {
            None | Some(Value::Null) => Channel::default(),
            Some(Value::String(text)) => text.parse().unwrap_or_else(|()| {
                errors.push(
                    "channel",
                    "INVALID_CHANNEL",
                    "must be web, mobile_app, whatsapp, instagram, marketplace or pos",
                );
                Channel::default()
            }),
            Some(_) => {
                errors.push("channel", "WRONG_TYPE", "must be a string");
                Channel::default()
            }
        };
        let shipping_address = match object.get("shipping_address") {
            None | Some(Value::Null) => None,
            Some(value) => Address::from_json(value, "shipping_address", errors),
        };
        let note = match object.get("note") {
            None | Some(Value::Null) => None,
            Some(_) => errors.printable(object, "note", MAX_NOTE_CHARS, "INVALID_NOTE"),
        };
        Self {
            channel,
            shipping_address,
            note,
        }
    }

    /// A canonical text of the details for the idempotency fingerprint; empty when they are
    /// the defaults, so requests that carry none keep the fingerprint they always had.
    fn fingerprint(&self) -> String {
        if self == &Self::default() {
            return String::new();
        }
        let address = self
            .shipping_address
            .as_ref()
            .map(|address| serde_json::to_string(address).unwrap_or_default())
            .unwrap_or_default();
        format!(
            "|channel={}|address={address}|note={}",
            self.channel,
            self.note.as_deref().unwrap_or_default()
        )
    }
}

impl PlaceOrder {
    pub fn lines(&self) -> &[WantedLine] {
        &self.lines
    }

    pub fn details(&self) -> &OrderDetails {
        &self.details
    }

    pub fn customer(&self) -> Option<&Contact> {
        self.customer.as_ref()
    }

    pub fn locked_prices(&self) -> Option<&BTreeMap<Sku, Money>> {
        self.locked_prices.as_ref()
    }

    /// The request on behalf of this customer, as their token names them.
    pub fn for_customer(self, customer: Contact) -> Self {
        Self {
            customer: Some(customer),
            ..self
        }
    }

    /// A checkout of cart lines, each charged the price it was added at (`locked`), or at
    /// today's prices when `locked` is `None`.
    pub fn checkout(lines: Vec<WantedLine>, details: OrderDetails, locked: Option<BTreeMap<Sku, Money>>) -> Self {
        Self {
            lines,
            details,
            customer: None,
            locked_prices: locked,
        }
    }

    pub fn from_json(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let Some(object) = errors.object(body, "") else {
            return errors.into_result(Self::checkout(vec![], OrderDetails::default(), None));
        };
        errors.unknown_fields(object, &["items", "channel", "shipping_address", "note"], "");
        let details = OrderDetails::from_object(object, &mut errors);
        let mut lines = Vec::new();
        match object.get("items") {
            None | Some(Value::Null) => errors.push("items", "MISSING_FIELD", "is required"),
            Some(Value::Array(items)) if items.is_empty() => errors.push("items", "EMPTY", "must hold at least one line"),
            Some(Value::Array(items)) if items.len() > MAX_LINES => {
                errors.push("items", "TOO_MANY_LINES", format!("may hold at most {MAX_LINES} lines"))
            }
            Some(Value::Array(items)) => {
                let mut seen = HashSet::new();
                for (index, item) in items.iter().enumerate() {
                    let path = format!("items[{index}]");
                    if let Some(line) = parse_line(item, &path, &mut errors) {
                        if !seen.insert(line.product_id.clone()) {
                            errors.push(
                                format!("{path}.product_id"),
                                "DUPLICATE_PRODUCT",
                                "each product may appear on one line only; add up the quantities",
                            );
                        }
                        lines.push(line);
                    }
                }
            }
            Some(_) => errors.push("items", "WRONG_TYPE", "must be an array"),
        }
        errors.into_result(Self::checkout(lines, details, None))
    }

    /// A canonical text of the request, for recognising a replay under the same idempotency key.
    /// What the request asks for, independent of the order its lines come in.
    pub fn fingerprint(&self) -> String {
        let mut lines = self.lines_in_request_order();
        lines.sort();
        lines.join(";") + &self.details.fingerprint()
    }

    /// The fingerprint idempotency records written before it was made independent of line
    /// order carry (they live 24 hours).
    pub fn fingerprint_in_request_order(&self) -> String {
        self.lines_in_request_order().join(";") + &self.details.fingerprint()
    }

    fn lines_in_request_order(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|line| format!("{}={}", line.product_id, line.quantity))
            .collect()
    }
}

impl WantedLine {
    /// A `{"product_id", "quantity"}` body (a cart's or an order's new line).
    pub fn from_json(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        match parse_line(body, "", &mut errors) {
            Some(line) => errors.into_result(line),
            None => Err(errors.into_result(()).err().unwrap_or_default()),
        }
    }
}

/// A `{"quantity"}` body: a whole number up to `Quantity::MAX`, from 0 when `zero_removes`
/// (`None` then), else from 1.
pub fn quantity_from_json(body: &Value, zero_removes: bool) -> Result<Option<Quantity>, Vec<FieldError>> {
    let mut errors = FieldErrors::default();
    let object = errors.object(body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["quantity"], "");
    let min = if zero_removes { 0 } else { 1 };
    match errors.integer(&object, "quantity", "", min, i64::from(Quantity::MAX)) {
        Some(value) => errors.into_result(u32::try_from(value).ok().and_then(|n| Quantity::new(n).ok())),
        None => Err(errors.into_result(()).err().unwrap_or_default()),
    }
}

fn parse_line(item: &Value, path: &str, errors: &mut FieldErrors) -> Option<WantedLine> {
    let object = errors.object(item, path)?;
    errors.unknown_fields(object, &["product_id", "quantity"], path);
    let product_id = errors.string(object, "product_id", path).and_then(|text| match Sku::parse(text) {
        Ok(sku) => Some(sku),
        Err(err) => {
            errors.push(join(path, "product_id"), "INVALID_ID", err.to_string());
            None
        }
    });
    let quantity = errors
        .integer(object, "quantity", path, 1, i64::from(Quantity::MAX))
        .and_then(|value| u32::try_from(value).ok())
        .and_then(|value| Quantity::new(value).ok());
    Some(WantedLine {
        product_id: product_id?,
        quantity: quantity?,
    })
}

/// An admin's `PUT /inventory/{productId}` body.
/// `{"delta": -2, "reason": "two broken in the warehouse"}`.
pub fn stock_adjustment_from_json(product_id: Sku, body: &Value) -> Result<StockAdjustment, Vec<FieldError>> {
    let mut errors = FieldErrors::default();
    let Some(object) = errors.object(body, "") else {
        return Err(errors.into_result(()).err().unwrap_or_default());
    };
    errors.unknown_fields(object, &["delta", "reason"], "");
    let delta = errors
        .integer(object, "delta", "", -Product::MAX_ON_HAND, Product::MAX_ON_HAND)
        .and_then(|delta| {
            if delta == 0 {
                errors.push("delta", "OUT_OF_RANGE", "must not be zero");
                None
            } else {
                Some(delta)
            }
        });
    let reason = errors.printable(object, "reason", StockAdjustment::MAX_REASON_CHARS, "INVALID_REASON");
    match (delta, reason) {
        (Some(delta), Some(reason)) => errors.into_result(StockAdjustment { product_id, delta, reason }),
        _ => Err(errors.into_result(()).err().unwrap_or_default()),
    }
}

pub fn product_update_from_json(product_id: Sku, body: &Value) -> Result<ProductUpdate, Vec<FieldError>> {
    let mut errors = FieldErrors::default();
    let Some(object) = errors.object(body, "") else {
        return Err(errors.into_result(()).err().unwrap_or_default());
    };
    errors.unknown_fields(
        object,
        &["name", "seller_id", "price", "on_hand", "stock_shards", "description", "image_url"],
        "",
    );
    let name = errors.printable(object, "name", Product::MAX_NAME_CHARS, "INVALID_NAME");
    // Optional: absent or null leaves the product without one.
    let present = |key: &str| object.get(key).is_some_and(|value| !value.is_null());
    let description = if present("description") {
        errors
            .text(object, "description", Product::MAX_DESCRIPTION_CHARS, "INVALID_DESCRIPTION")
            .map(Some)
    } else {
        Some(None)
    };
    let image_url = if present("image_url") {
        errors.string(object, "image_url", "").and_then(|text| match ImageUrl::parse(text) {
            Ok(url) => Some(Some(url)),
            Err(message) => {
                errors.push("image_url", "INVALID_IMAGE_URL", message);
                None
            }
        })
    } else {
        Some(None)
    };
    let seller_id = errors.string(object, "seller_id", "").and_then(|text| match SellerId::parse(text) {
        Ok(id) => Some(id),
        Err(err) => {
            errors.push("seller_id", "INVALID_ID", err.to_string());
            None
        }
    });
    let price = errors.string(object, "price", "").and_then(|text| match Money::parse(text) {
        Ok(price) => Some(price),
        Err(err) => {
            errors.push("price", "INVALID_MONEY", format!("must be a decimal string: {err}"));
            None
        }
    });
    let on_hand = errors.integer(object, "on_hand", "", 0, Product::MAX_ON_HAND);
    let stock_shards = match object.get("stock_shards") {
        None | Some(Value::Null) => None,
        Some(_) => errors
            .integer(object, "stock_shards", "", 1, i64::from(StockShards::MAX))
            .and_then(|n| u8::try_from(n).ok())
            .and_then(|n| StockShards::new(n).ok()),
    };
    match (name, seller_id, price, on_hand, description, image_url) {
        (Some(name), Some(seller_id), Some(price), Some(on_hand), Some(description), Some(image_url)) => {
            errors.into_result(ProductUpdate {
                product_id,
                name,
                seller_id,
                price,
                description,
                image_url,
                on_hand,
                stock_shards,
            })
        }
        _ => Err(errors.into_result(()).err().unwrap_or_default()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    pub(crate) fn place(lines: &[(&str, u32)]) -> PlaceOrder {
        PlaceOrder {
            lines: lines
                .iter()
                .map(|(sku, qty)| WantedLine {
                    product_id: Sku::parse(sku).unwrap(),
                    quantity: Quantity::new(*qty).unwrap(),
                })
                .collect(),
            details: OrderDetails::default(),
            customer: None,
            locked_prices: None,
        }
    }

    #[test]
    fn the_fingerprint_covers_channel_address_and_note_and_stays_as_it_was_without_them() {
        let plain = PlaceOrder::from_json(&json!({"items": [{"product_id": "a", "quantity": 1}]})).unwrap();
        assert_eq!(plain.fingerprint(), "a=1", "requests without details keep their fingerprint");
        let address = json!({"contact_name": "A", "line1": "1 St", "city": "C", "postal_code": "1", "country": "DE"});
        let with = |extra: Value| {
            let mut body = json!({"items": [{"product_id": "a", "quantity": 1}], "shipping_address": address});
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            PlaceOrder::from_json(&body).unwrap().fingerprint()
        };
        let prints = [with(json!({})), with(json!({"channel": "pos"})), with(json!({"note": "hi"}))];
        assert!(prints.iter().all(|print| print != "a=1"));
        assert_ne!(prints[0], prints[1]);
        assert_ne!(prints[0], prints[2]);
    }

    fn codes(body: Value) -> Vec<(String, &'static str)> {
        PlaceOrder::from_json(&body)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn a_well_formed_request_parses() {
        let order = PlaceOrder::from_json(&json!({"items":[{"product_id":"sku-1","quantity":2}]})).unwrap();
        assert_eq!(order.lines()[0].quantity.get(), 2);
        assert_eq!(order.fingerprint(), "sku-1=2");
    }

    #[test]
    fn the_fingerprint_does_not_depend_on_the_order_of_the_lines() {
        let one = PlaceOrder::from_json(&json!({"items":[{"product_id":"b","quantity":1},{"product_id":"a","quantity":2}]})).unwrap();
        let other = PlaceOrder::from_json(&json!({"items":[{"product_id":"a","quantity":2},{"product_id":"b","quantity":1}]})).unwrap();
        assert_eq!(one.fingerprint(), other.fingerprint());
        assert_ne!(one.fingerprint_in_request_order(), other.fingerprint_in_request_order());
        let more = PlaceOrder::from_json(&json!({"items":[{"product_id":"a","quantity":3},{"product_id":"b","quantity":1}]})).unwrap();
        assert_ne!(one.fingerprint(), more.fingerprint());
    }

    #[test]
    fn every_bad_field_is_reported_with_its_path() {
        let found = codes(json!({"items":[
            {"product_id":"a","quantity":0},
            {"product_id":"b","quantity":"2"},
            {"product_id":"c","quantity":2.5},
            {"quantity":1},
            {"product_id":"d","quantity":1,"price":"0.01"},
            {"product_id":"e f","quantity":1},
            {"product_id":"g","quantity":-3},
            {"product_id":"h","quantity":1e20}
        ], "coupon": "FREE"}));
        assert_eq!(
            found,
            vec![
                ("coupon".to_owned(), "UNKNOWN_FIELD"),
                ("items[0].quantity".to_owned(), "OUT_OF_RANGE"),
                ("items[1].quantity".to_owned(), "WRONG_TYPE"),
                ("items[2].quantity".to_owned(), "OUT_OF_RANGE"),
                ("items[3].product_id".to_owned(), "MISSING_FIELD"),
                ("items[4].price".to_owned(), "UNKNOWN_FIELD"),
                ("items[5].product_id".to_owned(), "INVALID_ID"),
                ("items[6].quantity".to_owned(), "OUT_OF_RANGE"),
                ("items[7].quantity".to_owned(), "OUT_OF_RANGE"),
            ]
        );
    }

    #[test]
    fn empty_missing_oversized_and_duplicate_line_lists_are_refused() {
        assert_eq!(codes(json!({"items":[]})), vec![("items".to_owned(), "EMPTY")]);
        assert_eq!(codes(json!({})), vec![("items".to_owned(), "MISSING_FIELD")]);
        assert_eq!(codes(json!([])), vec![("".to_owned(), "WRONG_TYPE")]);
        let many: Vec<_> = (0..51).map(|i| json!({"product_id": format!("p{i}"), "quantity": 1})).collect();
        assert_eq!(codes(json!({ "items": many })), vec![("items".to_owned(), "TOO_MANY_LINES")]);
        let dup = json!({"items":[{"product_id":"a","quantity":1},{"product_id":"a","quantity":2}]});
        assert_eq!(codes(dup), vec![("items[1].product_id".to_owned(), "DUPLICATE_PRODUCT")]);
    }

    #[test]
    fn product_updates_validate_every_field() {
        let sku = Sku::parse("sku-1").unwrap();
        let ok = product_update_from_json(sku.clone(), &json!({"name":" Mug ","seller_id":"s1","price":"9.50","on_hand":3})).unwrap();
        assert_eq!(ok.name, "Mug");
        assert_eq!(ok.price.to_string(), "9.50");
        let errors = product_update_from_json(sku, &json!({"name":"","seller_id":"s 1","price":9.5,"on_hand":-1,"x":1})).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["x", "name", "seller_id", "price", "on_hand"]);
    }
}
