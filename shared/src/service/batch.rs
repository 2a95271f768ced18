//! Admins' batches: stored once (idempotent by key), then fanned out over SQS, one message per
//! order, each carried out by the batch consumer through the same path as a single status change.

use crate::domain::batch::{batch_fingerprint, Batch, BatchItem};
use crate::domain::{IdempotencyKey, UserId};
use crate::ports::{BatchCreated, BatchStore, Clock, QueueError, SagaQueue, StoreError};
use crate::retry::RetryPolicy;
use crate::service::App;

/// What starting a batch works with.
#[derive(Clone, Copy)]
pub struct Batching<'a> {
    pub batches: &'a dyn BatchStore,
    /// Carries one message per order to the batch consumer.
    pub saga: &'a dyn SagaQueue,
    pub clock: &'a dyn Clock,
    /// Sends again what SQS refused of a batch call.
    pub retry: RetryPolicy,
}

impl App {
    pub fn batching(&self) -> Batching<'_> {
        Batching {
            batches: &*self.batches,
            saga: &*self.saga,
            clock: &*self.clock,
            retry: self.contention_retry,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("the idempotency key was already used for another batch")]
    KeyReused,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// A batch that was accepted: its id, and whether it repeats an earlier request (nothing new
/// was started then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub batch_id: String,
    pub replayed: bool,
}

pub async fn start_batch(
    batching: Batching<'_>,
    admin: &UserId,
    items: Vec<BatchItem>,
    key: Option<&IdempotencyKey>,
) -> Result<Started, BatchError> {
    let batch = Batch {
        batch_id: uuid::Uuid::now_v7().to_string(),
        requested_by: admin.clone(),
        created_at: batching.clock.now(),
        items,
    };
    let fingerprint = batch_fingerprint(&batch.items);
    match batching
        .batches
        .create_batch(&batch, key.map(|key| (key, fingerprint.as_str())))
        .await?
    {
        BatchCreated::Existing {
            batch_id,
            same_request: true,
        } => return Ok(Started { batch_id, replayed: true }),
        BatchCreated::Existing { same_request: false, .. } => return Err(BatchError::KeyReused),
        BatchCreated::New => {}
    }
    // SQS may refuse some entries of a batch call: send those again, a few times.
    let batch_ref = &batch;
    let pending = batching
        .retry
        .drain((0..batch.items.len()).collect(), move |pending| async move {
            batching.saga.request_batch_items(batch_ref, &pending).await
        })
        .await?;
    if !pending.is_empty() {
        tracing::error!(batch_id = %batch.batch_id, unsent = pending.len(), "some batch items could not be queued");
    }
    Ok(Started {
        batch_id: batch.batch_id,
        replayed: false,
    })
}
