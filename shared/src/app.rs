//! The ports a handler works with, wired once per cold start.

use std::sync::Arc;

use crate::adapters::aws::ServiceClients;
use crate::adapters::dynamo::DynamoStore;
use crate::adapters::eventbridge::EventBridgeBus;
use crate::adapters::provider::SimulatedProvider;
use crate::adapters::ses::SesNotifier;
use crate::adapters::sqs::SqsSagaQueue;
use crate::config::Config;
use crate::domain::PricingPolicy;
use crate::ports::{Catalogue, Clock, EventBus, Notifier, OrderStore, PaymentProvider, SagaQueue};
use crate::retry::RetryPolicy;

#[derive(Clone)]
pub struct App {
    pub orders: Arc<dyn OrderStore>,
    pub catalogue: Arc<dyn Catalogue>,
    /// The sales figures, counted from the domain events.
    pub analytics: Arc<dyn crate::ports::Analytics>,
    pub saga: Arc<dyn SagaQueue>,
    pub events: Arc<dyn EventBus>,
    /// Pays refunds back.
    pub payments: Arc<dyn PaymentProvider>,
    /// Tells customers and sellers what happened.
    pub notifier: Arc<dyn Notifier>,
    /// Order numbers from the blocks this instance claimed.
    pub order_numbers: Arc<crate::service::numbering::NumberAllocator>,
    /// Turns requests away at once while storage keeps failing (per instance).
    pub breaker: Arc<crate::breaker::Breaker>,
    /// Sellers' shipping fees as this instance last read them.
    pub seller_cache: Arc<crate::service::sellers::SellerCache>,
    pub clock: Arc<dyn Clock>,
    pub pricing: PricingPolicy,
    /// The marketplace's share of each seller's subtotal, on invoices.
    pub commission_rate: rust_decimal::Decimal,
    pub payment_timeout: chrono::Duration,
    /// How long after delivery a customer may ask to return lines.
    pub return_window: chrono::Duration,
    /// The largest order total accepted for cash on delivery.
    pub cod_max_total: crate::domain::Money,
    /// Retries a transaction that a concurrent one cancelled (placement, payment, cancellation).
    pub contention_retry: RetryPolicy,
    /// How long an order may wait in PENDING_RESERVING_STOCK before the sweeper re-drives it.
    pub stuck_after: chrono::Duration,
    /// The payment provider's webhook key (the webhook function only).
    pub webhook_secret: Option<crate::http::webhook::WebhookSecret>,
    /// Crash points (tests and chaos runs only).
    #[cfg(feature = "chaos")]
    pub faults: Option<crate::adapters::faults::FaultPlan>,
}

impl App {
    pub fn with_clients(config: &Config, clients: ServiceClients, clock: Arc<dyn Clock>) -> Self {
        let store = DynamoStore::new(
            clients.dynamodb,
            &config.orders_table,
            &config.inventory_table,
            config.contention_retry,
        );
        Self {
            orders: Arc::new(store.clone()),
            analytics: Arc::new(store.clone()),
            catalogue: Arc::new(store),
            saga: Arc::new(SqsSagaQueue::new(
                clients.sqs,
                &config.reserve_stock_queue_url,
                &config.batch_queue_url,
            )),
            events: Arc::new(EventBridgeBus::new(clients.eventbridge, &config.event_bus_name)),
            payments: Arc::new(SimulatedProvider::default()),
            notifier: Arc::new(SesNotifier::new(clients.ses, config.notification_sender.clone())),
            order_numbers: Arc::new(crate::service::numbering::NumberAllocator::new(&config.order_number_prefix)),
            breaker: Arc::new(crate::breaker::Breaker::new(config.breaker)),
            seller_cache: Arc::default(),
            clock,
            pricing: config.pricing.clone(),
            commission_rate: config.commission_rate,
            payment_timeout: chrono::Duration::from_std(config.payment_timeout).unwrap_or(chrono::Duration::minutes(15)),
            return_window: chrono::Duration::from_std(config.return_window).unwrap_or(chrono::Duration::days(30)),
            cod_max_total: config.cod_max_total,
            contention_retry: config.contention_retry,
            stuck_after: chrono::Duration::from_std(config.stuck_after).unwrap_or(chrono::Duration::minutes(2)),
            webhook_secret: config.webhook_secret.clone(),
            #[cfg(feature = "chaos")]
            faults: config.faults.clone(),
        }
    }

    /// Whether the process "dies" at this named point (only ever with a chaos fault plan).
    #[cfg(feature = "chaos")]
    pub fn crash_at(&self, point: &str) -> bool {
        let crashed = self.faults.as_ref().is_some_and(|plan| plan.crash(point));
        if crashed {
            tracing::warn!(point, "injected crash");
        }
        crashed
    }

    /// Production builds have no crash points.
    #[cfg(not(feature = "chaos"))]
    #[inline(always)]
    pub fn crash_at(&self, _point: &str) -> bool {
        false
    }
}
