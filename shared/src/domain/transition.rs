//! A status change of an order, as its timeline records it, and the refusal of one the
//! lifecycle does not allow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::actor::Actor;
use super::status::OrderStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub timestamp: DateTime<Utc>,
    pub actor: Actor,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}
