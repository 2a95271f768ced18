//! The messages that carry saga steps between functions over SQS.

use serde::{Deserialize, Serialize};

use crate::domain::batch::BatchItem;
use crate::domain::{OrderId, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SagaStep {
    /// Finish reserving stock for an order left in PENDING_RESERVING_STOCK.
    ReserveStock { order_id: OrderId },
}

/// One order of an admin's batch, for the batch consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchStep {
    pub batch_id: String,
    pub index: usize,
    pub requested_by: UserId,
    #[serde(flatten)]
    pub item: BatchItem,
}
