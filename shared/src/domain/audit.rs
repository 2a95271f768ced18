//! The audit trail of the catalogue and the seller registry: who changed a product (its name,
//! seller, price, shard count, stock set or adjusted) or a seller, when, and each field from
//! what to what. Orders keep their own timeline; this is for what admins change.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::actor::Actor;

/// What an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditSubject {
    Product,
    Seller,
}

impl AuditSubject {
    /// The subject as the audit route names it (`/audit/products/{id}`).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "products" => Some(Self::Product),
            "sellers" => Some(Self::Seller),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Seller => "seller",
        }
    }
}

/// One field's value before and after a change (`None`: absent, as a new product's fields are).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub subject: AuditSubject,
    /// The product's or the seller's id.
    pub id: String,
    /// A shard of a sharded product, for a stock change of that shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u8>,
    /// Who made the change (`admin:<user>`).
    pub actor: Actor,
    pub at: DateTime<Utc>,
    pub changes: Vec<FieldChange>,
}

/// The fields whose values differ between `before` and `after` (fields as the audited item
/// states them), in field order; empty when nothing audited changed.
pub fn field_changes(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<FieldChange> {
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|field| before.get(*field) != after.get(*field))
        .map(|field| FieldChange {
            field: field.clone(),
            before: before.get(field).cloned(),
            after: after.get(field).cloned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn only_the_fields_that_moved_are_recorded_with_their_values_before_and_after() {
        let before = fields(&[("name", "Mug"), ("price", "8.00"), ("on_hand", "10")]);
        let after = fields(&[("name", "Mug"), ("price", "9.50"), ("on_hand", "10"), ("stock_shards", "2")]);
        assert_eq!(
            field_changes(&before, &after),
            [
                FieldChange {
                    field: "price".into(),
                    before: Some("8.00".into()),
                    after: Some("9.50".into())
                },
                FieldChange {
                    field: "stock_shards".into(),
                    before: None,
                    after: Some("2".into())
                },
            ]
        );
        assert!(field_changes(&after, &after).is_empty());
        assert_eq!(AuditSubject::parse("products"), Some(AuditSubject::Product));
        assert_eq!(AuditSubject::parse("orders"), None);
    }
}
