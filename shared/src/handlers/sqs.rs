//! What the SQS consumers share: a batch handled at once with its unfinished messages reported
//! as batch item failures, and a step run for the order an EventBridge event names.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;

/// Handles every message of a batch at once; those `handle` could not finish (`false`) are
/// reported as batch item failures, so only they come back.
pub(crate) async fn each_message<'a, F, Fut>(event: &'a SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(&'a SqsMessage) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let outcomes = futures::future::join_all(event.records.iter().map(handle)).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = event
        .records
        .iter()
        .zip(outcomes)
        .filter(|(_, done)| !done)
        .map(|(message, _)| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            failure
        })
        .collect();
    response
}

/// A step's failure, as far as its message is concerned: a step for an order that does not
/// exist is dropped; anything else comes back to be retried.
pub(crate) trait StepFailure: std::error::Error + 'static {
    fn is_missing_order(&self) -> bool;
}

impl StepFailure for crate::service::actions::ActionError {
    fn is_missing_order(&self) -> bool {
        matches!(self, Self::NotFound)
    }
}

/// One message whose body is an EventBridge event about an order (its `detail`, with the
/// detail's `order_id`): runs `step` for it and answers whether the message is done with. An
/// unreadable message comes back (and after `maxReceiveCount` lands in the DLQ, whose alarm
/// fires); a step for an order that does not exist is logged and dropped.
pub(crate) async fn order_event_step<F, Fut, E>(message: &SqsMessage, name: &'static str, step: F) -> bool
where
    F: FnOnce(crate::domain::OrderId, serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = Result<bool, E>>,
    E: StepFailure,
{
    let message_id = message.message_id.as_deref().unwrap_or_default();
    let span = tracing::info_span!("message", step = name, message_id, order_id = tracing::field::Empty);
    async {
        let detail = message
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str::<serde_json::Value>(body).ok())
            .map(|mut event| event["detail"].take());
        let order_id = detail
            .as_ref()
            .and_then(|detail| detail["order_id"].as_str())
            .and_then(|id| crate::domain::OrderId::parse(id).ok());
        let (Some(order_id), Some(detail)) = (order_id, detail) else {
            tracing::error!("unreadable event message");
            return false;
        };
        tracing::Span::current().record("order_id", tracing::field::display(order_id));
        match step(order_id, detail).await {
            Ok(changed) => {
                tracing::info!(changed, "step done");
                true
            }
            Err(err) if err.is_missing_order() => {
                tracing::error!("step for an order that does not exist; dropping it");
                true
            }
            Err(err) => {
                tracing::warn!(error = %crate::error_chain(&err), "step failed; it will be retried");
                false
            }
        }
    }
    .instrument(span)
    .await
}
