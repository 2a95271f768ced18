//! The saga queue and the event bus.

use crate::domain::batch::Batch;
use crate::domain::events::DomainEvent;
use crate::domain::OrderId;

use async_trait::async_trait;

use super::BoxError;

#[derive(Debug, thiserror::Error)]
#[error("could not enqueue the saga step")]
pub struct QueueError(#[source] pub BoxError);

/// The saga steps that travel over SQS.
#[async_trait]
pub trait SagaQueue: Send + Sync {
    /// Asks the reserve-stock consumer to finish reserving an order's stock.
    async fn request_reservation(&self, order: OrderId) -> Result<(), QueueError>;

    /// The same for many orders, ten to a call; answers the orders whose request failed.
    async fn request_reservations(&self, orders: &[OrderId]) -> Result<Vec<OrderId>, QueueError>;

    /// Asks the refund step to pay back what these orders owe, ten to a call; answers the orders
    /// whose request failed.
    async fn request_refunds(&self, orders: &[OrderId]) -> Result<Vec<OrderId>, QueueError>;

    /// Asks the batch consumer to carry out these items of a batch (by their index in it); answers
    /// the indexes whose request failed.
    async fn request_batch_items(&self, batch: &Batch, indexes: &[usize]) -> Result<Vec<usize>, QueueError>;
}

#[derive(Debug, thiserror::Error)]
#[error("could not publish to the event bus")]
pub struct EventBusError(#[source] pub BoxError);

/// The bus domain events go to.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes the events; answers the positions of those the bus did not take (to retry).
    async fn publish(&self, events: &[DomainEvent]) -> Result<Vec<usize>, EventBusError>;
}
