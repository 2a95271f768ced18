//! The messages that carry saga steps between functions over SQS.

use serde::{Deserialize, Serialize};

use crate::domain::OrderId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SagaStep {
    /// Finish reserving stock for an order left in PENDING_RESERVING_STOCK.
    ReserveStock { order_id: OrderId },
}
