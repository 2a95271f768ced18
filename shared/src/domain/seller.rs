//! Sellers as the marketplace knows them: a name, an address to notify, whether they trade, and
//! the marketplace's commission on their sales.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::contact::Email;
use super::ids::SellerId;
use super::money::Money;
use super::validation::{FieldError, FieldErrors};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    pub seller_id: SellerId,
    pub name: String,
    pub email: Email,
    pub active: bool,
    /// The marketplace's share of this seller's subtotals; the configured default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission_rate: Option<Decimal>,
    /// What the seller's part of an order adds to its shipping; the configured fee when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_fee: Option<Money>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every update.
    pub version: u64,
    /// The users an admin bound to the seller: they sign in as the seller's, in this order.
    #[serde(default)]
    pub users: Vec<SellerUser>,
}

/// A user who acts for a seller, as the admin who bound them recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerUser {
    /// The user pool's id of the user (their `sub`): it never changes, their email may.
    pub user_id: String,
    /// What they signed in with when they were bound.
    pub email: Email,
    pub bound_at: DateTime<Utc>,
    /// The admin who bound them (`admin:<user>`).
    pub bound_by: String,
}

impl Seller {
    /// How many users one seller may have: a seller's own staff, and an item well inside
    /// DynamoDB's 400 KB.
    pub const MAX_USERS: usize = 50;

    /// The bound user listed with this email, whatever its case.
    pub fn user_by_email(&self, email: &Email) -> Option<&SellerUser> {
        self.users
            .iter()
            .find(|user| user.email.as_str().eq_ignore_ascii_case(email.as_str()))
    }
}

/// What an admin sets of a seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerUpdate {
    pub seller_id: SellerId,
    pub name: String,
    pub email: Email,
    pub active: bool,
    pub commission_rate: Option<Decimal>,
    pub shipping_fee: Option<Money>,
}

impl SellerUpdate {
    pub const MAX_NAME_CHARS: usize = 200;

    /// `{"name", "email", "active", "commission_rate", "shipping_fee"}`; the rate a decimal
    /// string from 0 up to (not including) 1, the fee a decimal string; either absent for the
    /// configured default.
    pub fn from_json(seller_id: SellerId, body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let object = errors.object(body, "").cloned().unwrap_or_default();
        errors.unknown_fields(&object, &["name", "email", "active", "commission_rate", "shipping_fee"], "");
        let name = errors.printable(&object, "name", Self::MAX_NAME_CHARS, "INVALID_NAME");
        let email = errors.string(&object, "email", "").and_then(|text| match Email::parse(text) {
            Ok(email) => Some(email),
            Err(err) => {
                errors.push("email", "INVALID_EMAIL", err.to_string());
                None
            }
        });
        let active = match object.get("active") {
            None | Some(Value::Null) => Some(true),
            Some(Value::Bool(active)) => Some(*active),
            Some(_) => {
                errors.push("active", "WRONG_TYPE", "must be true or false");
                None
            }
        };
        let commission_rate = match object.get("commission_rate") {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(text)) => match text.parse::<Decimal>() {
                Ok(rate) if !rate.is_sign_negative() && rate < Decimal::ONE && rate.scale() <= 4 => Some(Some(rate)),
                _ => {
                    errors.push(
                        "commission_rate",
                        "INVALID_RATE",
                        "must be a decimal string from 0 up to (not including) 1, with at most 4 places",
                    );
                    None
                }
            },
            Some(_) => {
                errors.push("commission_rate", "WRONG_TYPE", "must be a decimal string such as \"0.12\"");
                None
            }
        };
        let shipping_fee = match object.get("shipping_fee") {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(text)) => match Money::parse(text) {
                Ok(fee) => Some(Some(fee)),
                Err(err) => {
                    errors.push("shipping_fee", "INVALID_MONEY", format!("must be a decimal string: {err}"));
                    None
                }
            },
            Some(_) => {
                errors.push("shipping_fee", "WRONG_TYPE", "must be a decimal string such as \"4.99\"");
                None
            }
        };
        match (name, email, active, commission_rate, shipping_fee) {
            (Some(name), Some(email), Some(active), Some(commission_rate), Some(shipping_fee)) => errors.into_result(Self {
                seller_id,
                name,
                email,
                active,
                commission_rate,
                shipping_fee,
            }),
            _ => Err(errors.into_result(()).err().unwrap_or_default()),
        }
    }
}

impl Seller {
    /// The seller as the update sets it, keeping when it was first registered.
    pub fn updated(previous: Option<&Seller>, update: SellerUpdate, now: DateTime<Utc>) -> Self {
        Self {
            seller_id: update.seller_id,
            name: update.name,
            email: update.email,
            active: update.active,
            commission_rate: update.commission_rate,
            shipping_fee: update.shipping_fee,
            created_at: previous.map_or(now, |seller| seller.created_at),
            updated_at: now,
            version: previous.map_or(1, |seller| seller.version + 1),
            users: previous.map(|seller| seller.users.clone()).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_seller_is_named_addressed_and_charged_a_rate_below_one() {
        let id = SellerId::parse("seller-1").unwrap();
        let update = SellerUpdate::from_json(
            id.clone(),
            &json!({"name": "Acme", "email": "ops@acme.example", "commission_rate": "0.12"}),
        )
        .unwrap();
        assert!(update.active, "active unless said otherwise");
        assert_eq!(update.commission_rate, Some("0.12".parse().unwrap()));
        let errors = SellerUpdate::from_json(id, &json!({"name": "", "email": "x", "commission_rate": "1", "stock": 1})).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|error| error.code).collect();
        assert_eq!(codes, ["UNKNOWN_FIELD", "INVALID_NAME", "INVALID_EMAIL", "INVALID_RATE"]);
    }
}
