//! Identifiers that parse at the edge: after parsing they are known to be well formed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} must be 1 to {max} characters of letters, digits, '-', '_', '.' or ':'")]
    Malformed { kind: &'static str, max: usize },
    #[error("order id must be a UUID")]
    NotAUuid,
}

/// Characters every textual identifier may hold: safe in keys, URLs and logs.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub const KIND: &'static str = $kind;

            pub fn parse(text: &str) -> Result<Self, IdError> {
                if text.is_empty() || text.len() > $max || !text.chars().all(is_id_char) {
                    return Err(IdError::Malformed { kind: $kind, max: $max });
                }
                Ok(Self(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_id!(
    /// A product's stock-keeping unit, the catalogue key.
    Sku, "product_id", 64
);
text_id!(
    /// A seller of the multi-seller shop.
    SellerId, "seller_id", 64
);
text_id!(
    /// The authenticated user: the `sub` claim of the caller's token.
    UserId, "user_id", 128
);
text_id!(
    /// One line of an order, stable across edits of other lines.
    ItemId, "item_id", 64
);
text_id!(
    /// The payment provider's reference for one payment.
    PaymentReference, "payment_reference", 128
);

text_id!(
    /// One refund of an order, unique within it: derived from the request that asked for it,
    /// so a replay finds it instead of refunding again.
    RefundId, "refund_id", 64
);
text_id!(
    /// One return request of an order, unique within it.
    ReturnId, "return_id", 64
);

/// An order's identity: a UUID (time-ordered v7 when we mint it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(Uuid);

impl OrderId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn parse(text: &str) -> Result<Self, IdError> {
        // Only the hyphenated form: one spelling per order keeps keys and URLs canonical.
        if text.len() != 36 {
            return Err(IdError::NotAUuid);
        }
        Uuid::parse_str(text).map(Self).map_err(|_| IdError::NotAUuid)
    }
}

impl Default for OrderId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl Serialize for OrderId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OrderId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The client's `Idempotency-Key`: printable ASCII, at most 255 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Option<Self> {
        let valid = !text.is_empty() && text.len() <= 255 && text.chars().all(|c| c.is_ascii_graphic());
        valid.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_accept_plain_identifiers_and_refuse_everything_else() {
        assert!(Sku::parse("sku-1").is_ok());
        assert!(Sku::parse("SKU_2.blue:xl").is_ok());
        assert!(Sku::parse("").is_err());
        assert!(Sku::parse("has space").is_err());
        assert!(Sku::parse("emoji-😀").is_err());
        assert!(Sku::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn order_ids_are_hyphenated_uuids_only() {
        let id = OrderId::new();
        assert_eq!(OrderId::parse(&id.to_string()), Ok(id));
        assert!(OrderId::parse("not-a-uuid").is_err());
        assert!(OrderId::parse(&id.to_string().replace('-', "")).is_err());
    }

    #[test]
    fn idempotency_keys_are_printable_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("abc-123").is_some());
        assert!(IdempotencyKey::parse("").is_none());
        assert!(IdempotencyKey::parse("a b").is_none());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_none());
    }
}
