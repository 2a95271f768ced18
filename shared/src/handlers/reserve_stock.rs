//! SQS consumer of the ReserveStock saga step. Reports partial batch failures: only the
//! messages that hit a transient failure come back; the rest are done.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;

use super::each_message;
use crate::saga::SagaStep;
use crate::service::reservation::finish_reservation;
use crate::service::App;

pub async fn reserve_stock(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_message(&event, |message| handle(app, message)).await
}

/// Whether the message is done with (true) or should be delivered again (false).
async fn handle(app: &App, message: &SqsMessage) -> bool {
    let message_id = message.message_id.as_deref().unwrap_or_default();
    let span = tracing::info_span!("message", message_id, order_id = tracing::field::Empty);
    async {
        let step: SagaStep = match message.body.as_deref().map(serde_json::from_str) {
            Some(Ok(step)) => step,
            _ => {
                // Retrying cannot fix it: after maxReceiveCount it lands in the DLQ, whose alarm fires.
                tracing::error!("unreadable saga message");
                return false;
            }
        };
        let SagaStep::ReserveStock { order_id } = step;
        tracing::Span::current().record("order_id", tracing::field::display(order_id));
        match finish_reservation(app.reserving(), order_id).await {
            Ok(outcome) => {
                tracing::info!(?outcome, "reserve-stock step done");
                true
            }
            Err(err) => {
                tracing::warn!(error = %crate::error_chain(&err), "reserve-stock step failed; it will be retried");
                false
            }
        }
    }
    .instrument(span)
    .await
}
