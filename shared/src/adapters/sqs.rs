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

#[async_trait::async_trait]
impl SagaQueue for SqsSagaQueue {
    async fn request_reservation(&self, order: OrderId) -> Result<(), QueueError> {
        let body = serde_json::to_string(&SagaStep::ReserveStock { order_id: order }).map_err(|err| QueueError(Box::new(err)))?;
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
