//! Who caused a change: a customer, an admin, a seller or a part of the system.

use serde::{Deserialize, Serialize};

use super::ids::{SellerId, UserId};

/// Who caused a status change: shown in the timeline as `customer:<id>`, `admin:<id>` or
/// `system:<component>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Actor(String);

impl Actor {
    pub fn customer(user: &UserId) -> Self {
        Self(format!("customer:{user}"))
    }

    pub fn admin(user: &UserId) -> Self {
        Self(format!("admin:{user}"))
    }

    pub fn seller(seller: &SellerId) -> Self {
        Self(format!("seller:{seller}"))
    }

    pub fn system(component: &str) -> Self {
        Self(format!("system:{component}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An actor as this service stored it (an item's `movement_by` or `updated_by`).
    pub fn stored(text: &str) -> Self {
        Self(text.to_owned())
    }
}
