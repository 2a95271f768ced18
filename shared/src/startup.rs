//! The composition root: the only place that builds adapters and hands them, as ports, to the
//! use cases. Every Lambda binary starts here once per cold start; the local runner and the tests
//! build the same app with `app`, on emulator clients.

use std::sync::Arc;

use crate::adapters::aws::ServiceClients;
use crate::adapters::dynamo::DynamoStore;
use crate::adapters::eventbridge::EventBridgeBus;
use crate::adapters::provider::SimulatedProvider;
use crate::adapters::ses::SesNotifier;
use crate::adapters::sqs::{SagaQueueUrls, SqsSagaQueue};
use crate::breaker::Breaker;
use crate::config::Config;
use crate::ports::{Clock, SystemClock};
use crate::service::numbering::NumberAllocator;
use crate::service::App;

/// The app on these clients: DynamoDB behind the stores, SQS behind the saga, EventBridge
/// behind the bus, SES behind the notifier.
pub fn app(config: &Config, clients: ServiceClients, clock: Arc<dyn Clock>) -> App {
    let store = DynamoStore::new(
        clients.dynamodb,
        &config.orders_table,
        &config.inventory_table,
        config.contention_retry,
    );
    App {
        orders: Arc::new(store.clone()),
        carts: Arc::new(store.clone()),
        batches: Arc::new(store.clone()),
        invoices: Arc::new(store.clone()),
        notification_log: Arc::new(store.clone()),
        number_blocks: Arc::new(store.clone()),
        links: Arc::new(store.clone()),
        movements: Arc::new(store.clone()),
        audit: Arc::new(store.clone()),
        reservations: Arc::new(store.clone()),
        sellers: Arc::new(store.clone()),
        analytics: Arc::new(store.clone()),
        catalogue: Arc::new(store),
        saga: Arc::new(SqsSagaQueue::new(
            clients.sqs,
            SagaQueueUrls {
                reserve_stock: config.reserve_stock_queue_url.clone(),
                batch: config.batch_queue_url.clone(),
                refunds: config.refund_queue_url.clone(),
            },
        )),
        events: Arc::new(EventBridgeBus::new(clients.eventbridge, &config.event_bus_name)),
        payments: Arc::new(SimulatedProvider::default()),
        notifier: Arc::new(SesNotifier::new(clients.ses, config.notification_sender.clone())),
        order_numbers: Arc::new(NumberAllocator::new(&config.order_number_prefix)),
        breaker: Arc::new(Breaker::new(config.breaker)),
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
        faults: config
            .faults
            .clone()
            .map(|plan| Arc::new(plan) as Arc<dyn crate::ports::CrashPoints>),
    }
}

/// Structured JSON logs; the request span (request id, order id, user id) rides on every line.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests, the local runner) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}

/// How long init may spend opening the storage connection before it gives up on it.
const WARM_UP: std::time::Duration = std::time::Duration::from_millis(500);

/// Logs, configuration and the app, once per cold start; an invalid configuration fails it with a
/// clear message.
pub async fn cold_start() -> Result<Arc<App>, lambda_runtime::Error> {
    init_tracing();
    let config = Config::from_env().inspect_err(|err| tracing::error!(error = %err, "configuration is invalid"))?;
    let clients = ServiceClients::from_env(&config.client_settings()).await;
    // AWS's guidance for the Rust runtime: open the connection (DNS, TCP, TLS) during init, so
    // the first request does not pay for it. Any answer will do, a refusal included: the
    // connection stays in the client's pool.
    let warmed = tokio::time::timeout(WARM_UP, clients.dynamodb.describe_endpoints().send()).await;
    tracing::debug!(warmed = warmed.is_ok(), "storage connection opened during init");
    Ok(Arc::new(app(&config, clients, Arc::new(SystemClock))))
}
