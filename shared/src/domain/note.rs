//! Staff notes on an order: what the shop's people say about it to each other ("customer
//! called, ship Friday"), with their author. Never shown to the customer, and kept apart from
//! the order's own timeline, whose size is bounded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::actor::Actor;
use super::ids::OrderId;

/// The longest note kept.
pub const MAX_NOTE_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderNote {
    pub order_id: OrderId,
    pub note_id: String,
    pub author: Actor,
    pub note: String,
    pub at: DateTime<Utc>,
}

impl OrderNote {
    pub fn new(order_id: OrderId, author: Actor, note: String, at: DateTime<Utc>) -> Self {
        Self {
            order_id,
            note_id: uuid::Uuid::new_v4().simple().to_string(),
            author,
            note,
            at,
        }
    }
}
