use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;

use crate::domain::OrderId;
use crate::ports::{QueueError, SagaQueue};
use crate::saga::SagaStep;

#[derive(Debug, Clone)]
pub struct SqsSagaQueue {
    client: Client,
    reserve_stock_queue_url: String,
}

impl SqsSagaQueue {
    pub fn new(client: Client, reserve_stock_queue_url: impl Into<String>) -> Self {
        Self {
            client,
            reserve_stock_queue_url: reserve_stock_queue_url.into(),
        }
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
        let mut failed = Vec::new();
        for chunk in orders.chunks(SEND_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, order)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(reserve_stock_body(*order)?)
                        .build()
                        .map_err(|err| QueueError(Box::new(err)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.reserve_stock_queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|err| QueueError(Box::new(err)))?;
            failed.extend(
                output
                    .failed
                    .iter()
                    .filter_map(|entry| entry.id.parse::<usize>().ok())
                    .filter_map(|index| chunk.get(index).copied()),
            );
        }
        Ok(failed)
    }

    async fn request_reservation(&self, order: OrderId) -> Result<(), QueueError> {
        let body = reserve_stock_body(order)?;
        self.client
            .send_message()
            .queue_url(&self.reserve_stock_queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|err| QueueError(Box::new(err)))?;
        Ok(())
    }
}
