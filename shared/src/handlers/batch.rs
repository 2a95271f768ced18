//! Admins' batches: `POST /orders/batch-process` (202 with a `batch_id`), the consumer that
//! carries out each order, and `GET /orders/batch-process/{batchId}` with a result per order.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_http::Request;
use serde_json::json;
use tracing::Instrument;

use super::orders::idempotency_key;
use super::{admin, each_message};
use crate::domain::batch::{batch_items_from_json, BatchResult};
use crate::domain::Actor;
use crate::http::{json, json_body, path_param, ApiError, HttpResult};
use crate::saga::BatchStep;
use crate::service::actions::ActionError;
use crate::service::batch::{start_batch, BatchError};
use crate::service::fulfilment::{set_status, StatusError};
use crate::service::App;

pub async fn start(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let key = idempotency_key(&request)?;
    let items = batch_items_from_json(&json_body(&request)?).map_err(ApiError::Validation)?;
    let total = items.len();
    let started = start_batch(app.batching(), &identity.user, items, key.as_ref())
        .await
        .map_err(|err| match err {
            BatchError::KeyReused => ApiError::IdempotencyKeyReused,
            BatchError::Store(err) => ApiError::from(err),
            BatchError::Queue(err) => ApiError::Unavailable(Box::new(err)),
        })?;
    let mut response = json(202, &json!({"batch_id": started.batch_id, "total": total}))?;
    if started.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", http::HeaderValue::from_static("true"));
    }
    Ok(response)
}

pub async fn status(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let batch_id = path_param(&request, "batchId", |raw| uuid::Uuid::parse_str(raw).map(|id| id.to_string()))?;
    let (batch, mut results) = app.batches.get_batch(&batch_id).await?.ok_or_else(|| ApiError::Refused {
        status: 404,
        code: "BATCH_NOT_FOUND",
        message: "no such batch".to_owned(),
        extra: serde_json::Map::new(),
    })?;
    results.sort_by_key(|result| result.index);
    let succeeded = results.iter().filter(|result| result.succeeded()).count();
    json(
        200,
        &json!({
            "batch_id": batch.batch_id,
            "requested_by": batch.requested_by,
            "created_at": batch.created_at,
            "total": batch.items.len(),
            "succeeded": succeeded,
            "failed": results.len() - succeeded,
            "pending": batch.items.len() - results.len(),
            "results": results,
        }),
    )
}

pub async fn process(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_message(&event, |message| process_one(app, message)).await
}

/// Whether the message is done with (true) or should be delivered again (false).
async fn process_one(app: &App, message: &SqsMessage) -> bool {
    let message_id = message.message_id.as_deref().unwrap_or_default();
    let span = tracing::info_span!("message", message_id, order_id = tracing::field::Empty);
    async {
        let Some(step) = message
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str::<BatchStep>(body).ok())
        else {
            tracing::error!("unreadable batch message");
            return false;
        };
        tracing::Span::current().record("order_id", tracing::field::display(step.item.order_id));
        let actor = Actor::admin(&step.requested_by);
        let outcome = set_status(
            app.fulfilment(),
            step.item.order_id,
            step.item.action.0,
            step.item.note.clone(),
            &actor,
        )
        .await;
        let result = match outcome {
            Ok(_) => BatchResult::SUCCEEDED.to_owned(),
            // Passing trouble: the message comes back.
            Err(StatusError::Action(err @ (ActionError::Unavailable(_) | ActionError::Contended))) => {
                tracing::warn!(error = %crate::error_chain(&err), "batch item failed for now; it will be retried");
                return false;
            }
            Err(err) => ApiError::from(err).code().to_owned(),
        };
        let recorded = BatchResult {
            index: step.index,
            order_id: step.item.order_id,
            result,
        };
        match app.batches.record_batch_result(&step.batch_id, &recorded).await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(error = %crate::error_chain(&err), "could not record a batch result; it will be retried");
                false
            }
        }
    }
    .instrument(span)
    .await
}
