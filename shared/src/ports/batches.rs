//! Admins' batches.

use crate::domain::batch::Batch;
use crate::domain::batch::BatchResult;
use crate::domain::IdempotencyKey;

use async_trait::async_trait;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchCreated {
    New,
    Existing { batch_id: String, same_request: bool },
}

/// Admins' batches and each order's result in them.
#[async_trait]
pub trait BatchStore: Send + Sync {
    /// Stores a new batch, or (with an idempotency key already used) finds the batch the key
    /// started: `Existing` with its id and whether the request was the same.
    async fn create_batch(&self, batch: &Batch, key: Option<(&IdempotencyKey, &str)>) -> Result<BatchCreated, StoreError>;

    /// A batch with the results recorded so far.
    async fn get_batch(&self, batch_id: &str) -> Result<Option<(Batch, Vec<BatchResult>)>, StoreError>;

    /// Records one order's result in a batch; the first result recorded stays.
    async fn record_batch_result(&self, batch_id: &str, result: &BatchResult) -> Result<(), StoreError>;
}
