//! Batch processing by admins: many orders, each moved to a status (or cancelled) on its own,
//! with a result per order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ids::{OrderId, UserId};
use super::status::OrderStatus;
use super::validation::{FieldError, FieldErrors};

/// Most orders one batch may hold.
pub const MAX_BATCH_ITEMS: usize = 500;
const MAX_NOTE_CHARS: usize = 500;

/// What to do to one order: move it to a status, or cancel it (the same as `CANCELLED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAction(pub OrderStatus);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    pub order_id: OrderId,
    pub action: BatchAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A batch as requested: who asked, when, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub batch_id: String,
    pub requested_by: UserId,
    pub created_at: DateTime<Utc>,
    pub items: Vec<BatchItem>,
}

/// How one order of a batch ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    pub index: usize,
    pub order_id: OrderId,
    /// `succeeded`, or the problem code the same request alone would have answered.
    pub result: String,
}

impl BatchResult {
    pub const SUCCEEDED: &'static str = "succeeded";

    pub fn succeeded(&self) -> bool {
        self.result == Self::SUCCEEDED
    }
}

/// `{"items": [{"order_id", "action": "PROCESSING" | "cancel", "note"}]}`, 1 to 500 items.
pub fn batch_items_from_json(body: &Value) -> Result<Vec<BatchItem>, Vec<FieldError>> {
    let mut errors = FieldErrors::default();
    let Some(object) = errors.object(body, "") else {
        return Err(errors.into_result(()).err().unwrap_or_default());
    };
    errors.unknown_fields(object, &["items"], "");
    let items = match object.get("items") {
        Some(Value::Array(items)) if (1..=MAX_BATCH_ITEMS).contains(&items.len()) => items.clone(),
        Some(Value::Array(_)) => {
            errors.push("items", "OUT_OF_RANGE", format!("must hold 1 to {MAX_BATCH_ITEMS} orders"));
            Vec::new()
        }
        Some(_) => {
            errors.push("items", "WRONG_TYPE", "must be an array");
            Vec::new()
        }
        None => {
            errors.push("items", "MISSING_FIELD", "is required");
            Vec::new()
        }
    };
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = format!("items[{index}]");
        let Some(entry) = errors.object(item, &path) else { continue };
        errors.unknown_fields(entry, &["order_id", "action", "note"], &path);
        let order_id = errors.string(entry, "order_id", &path).and_then(|text| match OrderId::parse(text) {
            Ok(id) => Some(id),
            Err(err) => {
                errors.push(format!("{path}.order_id"), "INVALID_ID", err.to_string());
                None
            }
        });
        let action = errors.string(entry, "action", &path).and_then(|text| {
            let status = if text.eq_ignore_ascii_case("cancel") {
                Some(OrderStatus::Cancelled)
            } else {
                text.parse::<OrderStatus>().ok()
            };
            if status.is_none() {
                errors.push(format!("{path}.action"), "INVALID_ACTION", "must be an order status or cancel");
            }
            status.map(BatchAction)
        });
        let note = match entry.get("note") {
            None | Some(Value::Null) => None,
            Some(_) => errors.printable_at(entry, "note", &path, MAX_NOTE_CHARS, "INVALID_NOTE"),
        };
        if let (Some(order_id), Some(action)) = (order_id, action) {
            parsed.push(BatchItem { order_id, action, note });
        }
    }
    errors.into_result(parsed)
}

/// The fingerprint of a batch request, to tell a replay (same key, same items) from another.
pub fn batch_fingerprint(items: &[BatchItem]) -> String {
    items
        .iter()
        .map(|item| format!("{}={}:{}", item.order_id, item.action.0, item.note.as_deref().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn items_parse_with_cancel_as_an_action_and_every_bad_item_is_named_by_its_path() {
        let id = OrderId::new().to_string();
        let items = batch_items_from_json(
            &json!({"items": [{"order_id": id, "action": "cancel"}, {"order_id": id, "action": "PROCESSING", "note": "n"}]}),
        )
        .unwrap();
        assert_eq!(items[0].action, BatchAction(OrderStatus::Cancelled));
        assert_eq!(items[1].note.as_deref(), Some("n"));
        let errors = batch_items_from_json(&json!({"items": [{"order_id": "x", "action": "FLY"}, {"action": "cancel"}]})).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["items[0].order_id", "items[0].action", "items[1].order_id"]);
        let too_many: Vec<_> = (0..501).map(|_| json!({"order_id": id, "action": "cancel"})).collect();
        assert!(batch_items_from_json(&json!({ "items": too_many })).is_err());
        assert!(batch_items_from_json(&json!({"items": []})).is_err());
    }
}
