use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;

use crate::domain::batch::Batch;
use crate::domain::OrderId;
use crate::ports::{QueueError, SagaQueue};
use crate::saga::{BatchStep, SagaStep};

/// The queues of the saga's steps.
#[derive(Debug, Clone)]
pub struct SagaQueueUrls {
    pub reserve_stock: String,
    pub batch: String,
    /// The refund step's queue (fed by the bus's `OrderRefunded` events, and by the sweeper).
    pub refunds: String,
}

#[derive(Debug, Clone)]
pub struct SqsSagaQueue {
    client: Client,
    urls: SagaQueueUrls,
}

impl SqsSagaQueue {
    pub fn new(client: Client, urls: SagaQueueUrls) -> Self {
        Self { client, urls }
    }

    /// Sends these bodies ten to a call; answers the positions of those SQS did not take.
    async fn send_batch(&self, queue_url: &str, bodies: &[String]) -> Result<Vec<usize>, QueueError> {
        let mut failed = Vec::new();
        for (chunk_index, chunk) in bodies.chunks(SEND_BATCH).enumerate() {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|err| QueueError(Box::new(err)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|err| QueueError(Box::new(err)))?;
            failed.extend(
                output
                    .failed
                    .iter()
                    .filter_map(|entry| entry.id.parse::<usize>().ok())
                    .map(|index| chunk_index * SEND_BATCH + index),
            );
        }
        Ok(failed)
    }
}

/// Messages one SendMessageBatch carries.
const SEND_BATCH: usize = 10;

fn reserve_stock_body(order: OrderId) -> Result<String, QueueError> {
    serde_json::to_string(&SagaStep::ReserveStock { order_id: order }).map_err(|err| QueueError(Box::new(err)))
}

#[async_trait::async_trait]
impl SagaQueue for SqsSagaQueue {
    async fn request_reservations(&self, orders: &[OrderId]) -> Result<Vec<OrderId>, QueueError> {
        let bodies = orders
            .iter()
            .map(|order| reserve_stock_body(*order))
            .collect::<Result<Vec<_>, _>>()?;
        let failed = self.send_batch(&self.urls.reserve_stock, &bodies).await?;
        Ok(failed.into_iter().filter_map(|index| orders.get(index).copied()).collect())
    }

    async fn request_refunds(&self, orders: &[OrderId]) -> Result<Vec<OrderId>, QueueError> {
        // In the shape of the bus's events the refund step reads: the order in `detail`.
        let bodies: Vec<String> = orders
            .iter()
            .map(|order| serde_json::json!({"detail-type": "RefundsOwed", "detail": {"order_id": order}}).to_string())
            .collect();
        let failed = self.send_batch(&self.urls.refunds, &bodies).await?;
        Ok(failed.into_iter().filter_map(|index| orders.get(index).copied()).collect())
    }

    async fn request_batch_items(&self, batch: &Batch, indexes: &[usize]) -> Result<Vec<usize>, QueueError> {
        let bodies = indexes
            .iter()
            .filter_map(|index| batch.items.get(*index).map(|item| (*index, item)))
            .map(|(index, item)| {
                let step = BatchStep {
                    batch_id: batch.batch_id.clone(),
                    index,
                    requested_by: batch.requested_by.clone(),
                    item: item.clone(),
                };
                serde_json::to_string(&step).map_err(|err| QueueError(Box::new(err)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let failed = self.send_batch(&self.urls.batch, &bodies).await?;
        Ok(failed.into_iter().filter_map(|position| indexes.get(position).copied()).collect())
    }

    async fn request_reservation(&self, order: OrderId) -> Result<(), QueueError> {
        let body = reserve_stock_body(order)?;
        self.client
            .send_message()
            .queue_url(&self.urls.reserve_stock)
            .message_body(body)
            .send()
            .await
            .map_err(|err| QueueError(Box::new(err)))?;
        Ok(())
    }
}
