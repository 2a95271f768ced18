//! Polls each queue the template wires to a function, as Lambda's event source mapping does:
//! real SQS event shapes, partial batch failures honoured (failed messages come back, the
//! rest are deleted), and the queue's redrive policy sends poison messages to the DLQ.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use orders_shared::handlers::QueueFunction;
use orders_shared::service::App;
use serde_json::{json, Value};

use crate::provision::{Queue, REGION};

/// Locally a failed message comes back after a short pause instead of the full visibility timeout.
const RETRY_AFTER_SECONDS: i32 = 1;

pub struct Poller {
    pub app: Arc<App>,
    pub sqs: aws_sdk_sqs::Client,
    pub queue: Queue,
    pub function: QueueFunction,
    pub batch_size: i32,
    pub reports_batch_failures: bool,
}

impl Poller {
    /// Runs until the task is aborted.
    pub async fn run(self, hold: crate::PipelineHold) {
        loop {
            hold.wait().await;
            if let Err(err) = self.poll_once().await {
                tracing::warn!(queue = %self.queue.url, error = %err, "polling failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    /// Receives one batch, hands it to the function, and settles every message. Returns how many
    /// messages were received.
    pub async fn poll_once(&self) -> Result<usize, aws_sdk_sqs::Error> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue.url)
            .max_number_of_messages(self.batch_size.clamp(1, 10))
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(0);
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|message| {
                let attributes: serde_json::Map<String, Value> = message
                    .attributes()
                    .map(|attrs| {
                        attrs
                            .iter()
                            .map(|(name, value)| (name.as_str().to_owned(), Value::String(value.clone())))
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "messageId": message.message_id(),
                    "receiptHandle": message.receipt_handle(),
                    "body": message.body(),
                    "md5OfBody": message.md5_of_body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue.arn,
                    "awsRegion": REGION,
                })
            })
            .collect();
        let failed: HashSet<String> = match serde_json::from_value::<SqsEvent>(json!({ "Records": records })) {
            Ok(event) => {
                // Chaos: SQS may deliver a batch again, in another order, before it is deleted.
                let again = self.app.crashes().crash_at("queue.duplicate").then(|| {
                    let mut reordered = event.clone();
                    reordered.records.reverse();
                    reordered
                });
                let mut failed: HashSet<String> = HashSet::new();
                for delivery in std::iter::once(event).chain(again) {
                    let response = self.function.handle(&self.app, delivery).await;
                    failed.extend(response.batch_item_failures.into_iter().map(|failure| failure.item_identifier));
                }
                failed
            }
            Err(err) => {
                tracing::error!(error = %err, "could not build the SQS event");
                messages.iter().filter_map(|m| m.message_id.clone()).collect()
            }
        };
        for message in &messages {
            let Some(receipt) = message.receipt_handle() else { continue };
            let is_failed = message.message_id().is_some_and(|id| failed.contains(id));
            // Without ReportBatchItemFailures, one failure returns the whole batch.
            let returns = is_failed || (!self.reports_batch_failures && !failed.is_empty());
            if returns {
                self.sqs
                    .change_message_visibility()
                    .queue_url(&self.queue.url)
                    .receipt_handle(receipt)
                    .visibility_timeout(RETRY_AFTER_SECONDS)
                    .send()
                    .await?;
            } else {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue.url)
                    .receipt_handle(receipt)
                    .send()
                    .await?;
            }
        }
        Ok(messages.len())
    }
}
