//! The ports a handler works with, wired once per cold start.

use std::sync::Arc;

use crate::adapters::dynamo::DynamoStore;
use crate::adapters::faults::Faulty;
use crate::adapters::sqs::SqsSagaQueue;
use crate::config::Config;
use crate::domain::PricingPolicy;
use crate::ports::{Catalogue, Clock, OrderStore, SagaQueue, SystemClock};
use crate::retry::RetryPolicy;

#[derive(Clone)]
pub struct App {
    pub orders: Arc<dyn OrderStore>,
    pub catalogue: Arc<dyn Catalogue>,
    pub saga: Arc<dyn SagaQueue>,
    pub clock: Arc<dyn Clock>,
    pub pricing: PricingPolicy,
    pub payment_timeout: chrono::Duration,
    pub placement_retry: RetryPolicy,
    /// How long an order may wait in PENDING_RESERVING_STOCK before the sweeper re-drives it.
    pub stuck_after: chrono::Duration,
    /// Injected faults and crash points (tests and chaos runs only).
    pub faults: Option<crate::adapters::faults::FaultPlan>,
}

impl App {
    /// Builds the AWS clients from the standard environment (region, credentials and, locally,
    /// `AWS_ENDPOINT_URL`): once per cold start.
    pub async fn from_config(config: &Config) -> Self {
        let aws = aws_config::load_from_env().await;
        Self::with_clients(
            config,
            aws_sdk_dynamodb::Client::new(&aws),
            aws_sdk_sqs::Client::new(&aws),
            Arc::new(SystemClock),
        )
    }

    pub fn with_clients(config: &Config, dynamo: aws_sdk_dynamodb::Client, sqs: aws_sdk_sqs::Client, clock: Arc<dyn Clock>) -> Self {
        let store = DynamoStore::new(dynamo, &config.orders_table, &config.inventory_table);
        let queue = SqsSagaQueue::new(sqs, &config.reserve_stock_queue_url);
        let (orders, catalogue, saga): (Arc<dyn OrderStore>, Arc<dyn Catalogue>, Arc<dyn SagaQueue>) = match &config.faults {
            Some(plan) => (
                Arc::new(Faulty::new(store.clone(), plan.clone())),
                Arc::new(Faulty::new(store, plan.clone())),
                Arc::new(Faulty::new(queue, plan.clone())),
            ),
            None => (Arc::new(store.clone()), Arc::new(store), Arc::new(queue)),
        };
        Self {
            orders,
            catalogue,
            saga,
            clock,
            pricing: config.pricing.clone(),
            payment_timeout: chrono::Duration::from_std(config.payment_timeout).unwrap_or(chrono::Duration::minutes(15)),
            placement_retry: config.placement_retry,
            stuck_after: chrono::Duration::from_std(config.stuck_after).unwrap_or(chrono::Duration::minutes(2)),
            faults: config.faults.clone(),
        }
    }

    /// Whether the process "dies" at this named point (only ever with a chaos fault plan).
    pub fn crash_at(&self, point: &str) -> bool {
        let crashed = self.faults.as_ref().is_some_and(|plan| plan.crash(point));
        if crashed {
            tracing::warn!(point, "injected crash");
        }
        crashed
    }
}
