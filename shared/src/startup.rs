//! The composition root: the only place that builds adapters and hands them, as ports, to the
//! use cases. Every Lambda binary starts here once per cold start; the local runner and the tests
//! build the same app with `app`, on emulator clients.

use std::sync::Arc;

use crate::adapters::aws::ServiceClients;
use crate::adapters::dynamo::DynamoStore;
use crate::adapters::eventbridge::EventBridgeBus;
use crate::adapters::provider::NoProvider;
use crate::adapters::secrets::read_secret;
use crate::adapters::ses::SesNotifier;
use crate::adapters::sqs::{SagaQueueUrls, SqsSagaQueue};
use crate::adapters::stripe::{StripeKey, StripeProvider};
use crate::breaker::Breaker;
use crate::config::{Config, ConfigError, STRIPE_KEY_ARN, WEBHOOK_SECRET_ARN};
use crate::http::webhook::WebhookSecret;
use crate::ports::PaymentProvider;
use crate::ports::{Clock, SystemClock};
use crate::redact::Redacted;
use crate::service::numbering::NumberAllocator;
use crate::service::App;

/// The secrets the configuration names, read once per cold start from Secrets Manager.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// The key Stripe signs webhooks with (the webhook function only).
    pub webhook: Option<WebhookSecret>,
    /// The Stripe secret key (the functions that call Stripe only).
    pub stripe_key: Option<StripeKey>,
}

impl Secrets {
    /// Reads each secret the configuration names; one that cannot be read, or is not a usable
    /// key, fails the cold start naming the variable.
    pub async fn read(config: &Config, client: &aws_sdk_secretsmanager::Client) -> Result<Self, ConfigError> {
        let read = |name: &'static str, id: &Option<String>| {
            let id = id.clone();
            async move {
                match id {
                    Some(id) => read_secret(client, &id).await.map(Some).map_err(|err| ConfigError::Invalid {
                        name,
                        reason: err.to_string(),
                    }),
                    None => Ok(None),
                }
            }
        };
        let unusable = |name: &'static str, reason: String| ConfigError::Invalid { name, reason };
        let webhook = match read(WEBHOOK_SECRET_ARN, &config.webhook_secret_id).await? {
            Some(text) => Some(WebhookSecret::parse(&text).ok_or_else(|| {
                unusable(
                    WEBHOOK_SECRET_ARN,
                    format!(
                        "the secret must hold Stripe's signing secret (whsec_..., at least {} characters)",
                        WebhookSecret::MIN_CHARS
                    ),
                )
            })?),
            None => None,
        };
        let stripe_key = match read(STRIPE_KEY_ARN, &config.stripe_key_id).await? {
            Some(text) => Some(StripeKey::parse(&text).ok_or_else(|| {
                unusable(
                    STRIPE_KEY_ARN,
                    "the secret must hold a Stripe secret key (sk_...) or restricted key (rk_...)".to_owned(),
                )
            })?),
            None => None,
        };
        Ok(Self { webhook, stripe_key })
    }
}

/// Stripe with the key, or no provider for a function given none.
fn payment_provider(config: &Config, key: Option<StripeKey>) -> Arc<dyn PaymentProvider> {
    let Some(key) = key else {
        return Arc::new(NoProvider {
            reason: format!("{STRIPE_KEY_ARN} is not configured for this function"),
        });
    };
    match StripeProvider::new(&config.stripe_api_base, key, &config.shop_id) {
        Ok(stripe) => Arc::new(stripe),
        Err(err) => {
            tracing::error!(error = %crate::error_chain(&err), "the Stripe client could not be built");
            Arc::new(NoProvider { reason: err.to_string() })
        }
    }
}

/// The app on these clients: DynamoDB behind the stores, SQS behind the saga, EventBridge
/// behind the bus, SES behind the notifier.
pub fn app(config: &Config, clients: ServiceClients, clock: Arc<dyn Clock>, secrets: Secrets) -> App {
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
        provider_events: Arc::new(store.clone()),
        number_blocks: Arc::new(store.clone()),
        links: Arc::new(store.clone()),
        movements: Arc::new(store.clone()),
        notes: Arc::new(store.clone()),
        audit: Arc::new(store.clone()),
        reservations: Arc::new(store.clone()),
        sellers: Arc::new(store.clone()),
        analytics: Arc::new(store.clone()),
        search: Arc::new(store.clone()),
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
        payments: payment_provider(config, secrets.stripe_key),
        notifier: Arc::new(SesNotifier::new(clients.ses, config.notification_sender.clone())),
        users: clients
            .users
            .map(|directory| Arc::new(directory) as Arc<dyn crate::ports::UserDirectory>),
        order_numbers: Arc::new(NumberAllocator::new(&config.order_number_prefix)),
        breaker: Arc::new(Breaker::new(config.breaker)),
        seller_cache: Arc::default(),
        clock,
        pricing: config.pricing.clone(),
        commission_rate: config.commission_rate,
        payment_timeout: chrono::Duration::from_std(config.payment_timeout).unwrap_or(chrono::Duration::minutes(15)),
        return_window: chrono::Duration::from_std(config.return_window).unwrap_or(chrono::Duration::days(30)),
        personal_data_retention: chrono::Duration::from_std(config.personal_data_retention).unwrap_or(chrono::Duration::days(365)),
        cod_max_total: config.cod_max_total,
        contention_retry: config.contention_retry,
        stuck_after: chrono::Duration::from_std(config.stuck_after).unwrap_or(chrono::Duration::minutes(2)),
        shop_id: config.shop_id.clone(),
        stripe_publishable_key: config.stripe_publishable_key.clone(),
        sign_in: config.sign_in.clone(),
        webhook_secret: secrets.webhook,
        #[cfg(feature = "chaos")]
        faults: config
            .faults
            .clone()
            .map(|plan| Arc::new(plan) as Arc<dyn crate::ports::CrashPoints>),
    }
}

/// Structured JSON logs; the request span (request id, order id, user id) rides on every line,
/// and personal data is masked out of each (`redact`).
pub fn init_tracing() {
    // A second call (tests, the local runner) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(log_format(Redacted(std::io::stdout), "info"));
}

/// The log format, writing to `writer`, at the level `RUST_LOG` names (`default` without it).
pub fn log_format<W>(writer: W, default: &str) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// How long init may spend opening the storage connection before it gives up on it.
const WARM_UP: std::time::Duration = std::time::Duration::from_millis(500);

/// Logs, configuration and the app, once per cold start; an invalid configuration fails it with a
/// clear message.
pub async fn cold_start() -> Result<Arc<App>, lambda_runtime::Error> {
    init_tracing();
    let config = Config::from_env().inspect_err(|err| tracing::error!(error = %err, "configuration is invalid"))?;
    let clients = ServiceClients::from_env(&config.client_settings()).await;
    if config.user_pool_id.is_some() && clients.users.is_none() {
        return Err("USER_POOL_ID is set but the user pool's client cannot be built (no region or credentials)".into());
    }
    let secrets = Secrets::read(&config, &clients.secrets)
        .await
        .inspect_err(|err| tracing::error!(error = %err, "a secret could not be read"))?;
    // AWS's guidance for the Rust runtime: open the connection (DNS, TCP, TLS) during init, so
    // the first request does not pay for it. Any answer will do, a refusal included: the
    // connection stays in the client's pool.
    let warmed = tokio::time::timeout(WARM_UP, clients.dynamodb.describe_endpoints().send()).await;
    tracing::debug!(warmed = warmed.is_ok(), "storage connection opened during init");
    Ok(Arc::new(app(&config, clients, Arc::new(SystemClock), secrets)))
}
