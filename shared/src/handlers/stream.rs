//! What the stream consumers share: records handled in stream order, and the first one that
//! fails reported (with the rest of the batch after it), so that the stream resumes from it.
//! Every failure is logged with the record's keys; a record whose image does not decode is one,
//! never skipped.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::adapters::dynamo::{describe_keys, UndecodableImage};

/// Why a stream record is not done with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordFailure {
    #[error(transparent)]
    Undecodable(#[from] UndecodableImage),
    /// What handling it ran into, with its cause chain.
    #[error("{0}")]
    Failed(String),
}

impl RecordFailure {
    pub(crate) fn failed(err: &(dyn std::error::Error + 'static)) -> Self {
        Self::Failed(crate::error_chain(err))
    }
}

/// Handles the records one after the other; the first that fails ends the batch as its failure.
pub(crate) async fn each_record<F, Fut>(event: Event, step: &'static str, mut handle: F) -> DynamoDbEventResponse
where
    F: FnMut(EventRecord) -> Fut,
    Fut: std::future::Future<Output = Result<(), RecordFailure>>,
{
    let mut response = DynamoDbEventResponse::default();
    for record in event.records {
        let sequence_number = record.change.sequence_number.clone();
        let keys = describe_keys(&record.change.keys);
        let event_id = record.event_id.clone();
        match handle(record).await {
            Ok(()) => {}
            Err(err) => {
                match &err {
                    RecordFailure::Undecodable(_) => {
                        tracing::error!(step, keys, event_id, error = %crate::error_chain(&err), "a stream record does not decode; the stream retries from here")
                    }
                    RecordFailure::Failed(_) => {
                        tracing::warn!(step, keys, event_id, error = %err, "could not handle a stream record; the stream retries from here")
                    }
                }
                // Stream order matters: report this record and stop, so processing resumes here.
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = sequence_number;
                response.batch_item_failures.push(failure);
                break;
            }
        }
    }
    response
}
