//! Runs the orders service on one machine, with no AWS account and no Docker: DynamoDB Local,
//! moto and localstripe as emulators, the tables and queues of `template.yaml`, every HttpApi route served
//! through the same handler code as the Lambda binaries, and the queues polled into their
//! consumers. Nothing in production depends on this crate.

pub mod check;
pub mod cli;
pub mod emulators;
pub mod gateway;
pub mod html;
pub mod poller;
pub mod provision;
pub mod sign_in;
pub mod streams;
pub mod stripe_cards;
pub mod template;
pub mod test_card;
pub mod token;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use orders_shared::adapters::faults::FaultPlan;
use orders_shared::config::{Config, ConfigError};
use orders_shared::handlers::{QueueFunction, ScheduleFunction, StreamFunction};
use orders_shared::ports::{Clock, SystemClock};
use orders_shared::service::App;
use orders_shared::startup::Secrets;
use tokio::task::JoinHandle;

use crate::poller::Poller;
use crate::provision::{Clients, Deployment};
use crate::template::Template;

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[error(transparent)]
    Emulator(#[from] emulators::EmulatorError),
    #[error(transparent)]
    Provision(#[from] provision::ProvisionError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Route(#[from] gateway::UnknownFunction),
    #[error("the template wires {source_name} to binary '{binary}', which no consumer serves")]
    UnknownConsumer { source_name: String, binary: String },
    #[error("table {0} has no stream")]
    NoStream(String),
    #[error("describing table {table}: {message}")]
    Describe { table: String, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("localstripe at {stripe}: {message}")]
    Stripe { stripe: String, message: String },
}

/// Stripe's webhook signing secret locally, unless `STRIPE_WEBHOOK_SECRET` says otherwise: the
/// runner puts it into the emulated Secrets Manager and registers the webhook with localstripe
/// under it. Local use only.
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_orders_local_webhook_secret";
/// The template's secrets: Stripe's webhook signing secret and the Stripe secret key.
pub const WEBHOOK_SECRET_RESOURCE: &str = "StripeWebhookSecret";
pub const STRIPE_KEY_RESOURCE: &str = "StripeSecretKey";

pub fn template_path() -> PathBuf {
    emulators::repo_root().join("template.yaml")
}

/// How to run one instance of the service against running emulators.
pub struct ServiceOptions {
    pub dynamodb_endpoint: String,
    pub moto_endpoint: String,
    /// localstripe's address, the functions' `STRIPE_API_BASE`.
    pub stripe_endpoint: String,
    /// Prefix of every table and queue name: instances with different prefixes never meet.
    pub prefix: String,
    pub api_addr: SocketAddr,
    /// Overrides of the functions' environment (`PAYMENT_TIMEOUT_SECONDS=5`, ...).
    pub environment: Vec<(String, String)>,
    pub clock: Arc<dyn Clock>,
    /// Faults to inject into every port; overrides `ORDERS_FAULTS` from the environment.
    pub faults: Option<FaultPlan>,
    pub jwt_secret: String,
    /// Poll the queues and streams into their consumers (tests may drive them by hand instead).
    pub poll_queues: bool,
    /// Fire scheduled functions this often; `None` leaves them to the caller.
    pub schedule_every: Option<std::time::Duration>,
    /// Overrides of the template's parameters the runner itself reads (the API's throttling:
    /// `PlacementRateLimit=50`, ...).
    pub parameters: Vec<(String, String)>,
    /// What the template's secrets hold, by logical id (the webhook key by default; a secret
    /// not named here gets a random value).
    pub secrets: BTreeMap<String, String>,
}

impl ServiceOptions {
    pub fn new(dynamodb_endpoint: String, moto_endpoint: String, stripe_endpoint: String, prefix: String) -> Self {
        Self {
            dynamodb_endpoint,
            moto_endpoint,
            stripe_endpoint,
            prefix,
            api_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            environment: Vec::new(),
            clock: Arc::new(SystemClock),
            faults: None,
            jwt_secret: token::DEFAULT_SECRET.to_owned(),
            poll_queues: true,
            schedule_every: None,
            parameters: Vec::new(),
            secrets: BTreeMap::from([
                (WEBHOOK_SECRET_RESOURCE.to_owned(), DEFAULT_WEBHOOK_SECRET.to_owned()),
                (STRIPE_KEY_RESOURCE.to_owned(), stripe_cards::LOCAL_SECRET_KEY.to_owned()),
            ]),
        }
    }
}

/// A running instance: its HTTP address, the wired handlers, and the background tasks.
/// Holds the event pipeline still while set: the queue and stream pollers and the schedule
/// wait, and take up where they stopped when it is released. For a benchmark of the request path
/// alone, as it runs in AWS, where the pipeline's functions have machines of their own.
#[derive(Debug, Clone, Default)]
pub struct PipelineHold(Arc<std::sync::atomic::AtomicBool>);

impl PipelineHold {
    pub fn hold(&self, held: bool) {
        self.0.store(held, std::sync::atomic::Ordering::Relaxed);
    }

    /// Waits while the pipeline is held.
    pub async fn wait(&self) {
        while self.0.load(std::sync::atomic::Ordering::Relaxed) {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

pub struct RunningService {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    pub config: Config,
    pub clients: Clients,
    pub deployment: Deployment,
    pub template: Template,
    /// localstripe's address: the Stripe the service pays through.
    pub stripe: String,
    pub pipeline: PipelineHold,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningService {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The poller for a consumer, to drive a queue by hand.
    pub fn poller(&self, function: QueueFunction) -> Option<Poller> {
        let consumer = self.template.consumers.iter().find(|c| c.binary == function.name())?;
        Some(Poller {
            app: Arc::clone(&self.app),
            sqs: self.clients.sqs.clone(),
            queue: self.deployment.queues.get(&consumer.queue)?.clone(),
            function,
            batch_size: i32::try_from(consumer.batch_size).unwrap_or(10),
            reports_batch_failures: consumer.reports_batch_failures,
        })
    }
}

impl RunningService {
    /// The poller of a stream consumer, to drive a stream by hand.
    pub async fn stream_poller(&self, function: StreamFunction) -> Result<streams::StreamPoller, LocalError> {
        let consumer = self
            .template
            .streams
            .iter()
            .find(|c| c.binary == function.name())
            .ok_or_else(|| LocalError::UnknownConsumer {
                source_name: "a stream".into(),
                binary: function.name().into(),
            })?;
        let table = self.deployment.tables.get(&consumer.table).cloned().unwrap_or_default();
        let described = self
            .clients
            .dynamodb
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .map_err(|err| LocalError::Describe {
                table: table.clone(),
                message: aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string(),
            })?;
        let arn = described
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or(LocalError::NoStream(table))?;
        let batch = i32::try_from(consumer.batch_size).unwrap_or(100);
        let on_failure = consumer
            .on_failure
            .as_ref()
            .and_then(|queue| self.deployment.queues.get(queue))
            .map(|queue| (self.clients.sqs.clone(), queue.url.clone()));
        let retry = streams::RetryRule {
            max_retries: consumer.max_retries,
            on_failure,
        };
        Ok(streams::StreamPoller::new(
            Arc::clone(&self.app),
            self.clients.streams.clone(),
            arn,
            function,
            batch,
            retry,
        ))
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Has localstripe send its events to this instance's webhook route, signed with the secret the
/// webhook function reads, as a shop registers its endpoint in Stripe's dashboard.
async fn register_webhook(stripe: &str, prefix: &str, addr: SocketAddr, secret: &str) -> Result<(), LocalError> {
    let failed = |message: String| LocalError::Stripe {
        stripe: stripe.to_owned(),
        message,
    };
    let response = reqwest::Client::new()
        .post(format!("{stripe}/_config/webhooks/{prefix}"))
        .form(&[
            ("url", format!("http://{addr}/api/v1/payments/webhook")),
            ("secret", secret.to_owned()),
        ])
        .send()
        .await
        .map_err(|err| failed(err.to_string()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(failed(format!("registering the webhook answered {}", response.status())))
    }
}

/// Provisions the template under the options' prefix and starts serving it.
pub async fn start(options: ServiceOptions) -> Result<RunningService, LocalError> {
    let template = Template::load(&template_path())?;
    let clients = Clients::new(&options.dynamodb_endpoint, &options.moto_endpoint);
    // Bound first: the pages sign in at this address, which the functions' settings name.
    let listener = tokio::net::TcpListener::bind(options.api_addr)
        .await
        .map_err(|source| LocalError::Listen {
            addr: options.api_addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| LocalError::Listen {
        addr: options.api_addr,
        source,
    })?;
    let base = format!("http://{addr}");
    let pages_url = format!("{base}/");
    let stand_ins = BTreeMap::from([
        ("SIGN_IN_URL".to_owned(), base.clone()),
        ("USER_POOL_CLIENT_ID".to_owned(), sign_in::LOCAL_CLIENT_ID.to_owned()),
        ("PAGES_URL".to_owned(), pages_url.clone()),
    ]);
    let deployment = provision::deploy(&template, &clients, &options.prefix, &options.secrets, &stand_ins).await?;
    let mut overrides = options.environment;
    overrides.push(("STRIPE_API_BASE".to_owned(), options.stripe_endpoint.clone()));
    let lookup = |name: &str| {
        overrides
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .or_else(|| deployment.environment.get(name).cloned())
    };
    let mut config = Config::from_lookup(lookup)?;
    if options.faults.is_some() {
        config.faults = options.faults;
    }
    let service_clients = clients.for_service(&config);
    let secrets = Secrets::read(&config, &service_clients.secrets).await?;
    let webhook_secret = options.secrets.get(WEBHOOK_SECRET_RESOURCE).cloned().unwrap_or_default();
    let mut app = orders_shared::startup::app(&config, service_clients, options.clock, secrets);
    app.payments = Arc::new(test_card::LocalCheckout {
        stripe: Arc::clone(&app.payments),
        base,
    });
    let app = Arc::new(app);

    let mut parameters = template.parameters.clone();
    parameters.extend(options.parameters.iter().cloned());
    let limits = template.throttling.resolve(&parameters);
    // The template has one user pool: who signs in is a user of it.
    let pool = deployment
        .user_pools
        .values()
        .next()
        .map(|pool_id| orders_shared::adapters::cognito::CognitoDirectory {
            api: clients.cognito.clone(),
            pool_id: pool_id.clone(),
        });
    let sign_in = sign_in::LocalSignIn::new(options.jwt_secret.clone(), pages_url, pool);
    let gateway = gateway::Gateway::new(Arc::clone(&app), &template.routes, &limits, options.jwt_secret)?;
    let router = gateway
        .router()
        .merge(
            test_card::TestCardPage {
                stripe: options.stripe_endpoint.clone(),
            }
            .router(),
        )
        .merge(sign_in.router());
    register_webhook(&options.stripe_endpoint, &options.prefix, addr, &webhook_secret).await?;
    let mut tasks = vec![tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::error!(error = %err, "the local API server stopped");
        }
    })];

    let mut service = RunningService {
        addr,
        app,
        config,
        clients,
        deployment,
        template,
        stripe: options.stripe_endpoint,
        pipeline: PipelineHold::default(),
        tasks: Vec::new(),
    };
    for consumer in &service.template.consumers {
        let function = QueueFunction::from_name(&consumer.binary).ok_or_else(|| LocalError::UnknownConsumer {
            source_name: consumer.queue.clone(),
            binary: consumer.binary.clone(),
        })?;
        if options.poll_queues {
            if let Some(poller) = service.poller(function) {
                tasks.push(tokio::spawn(poller.run(service.pipeline.clone())));
            }
        }
    }
    for consumer in &service.template.streams {
        let function = StreamFunction::from_name(&consumer.binary).ok_or_else(|| LocalError::UnknownConsumer {
            source_name: consumer.table.clone(),
            binary: consumer.binary.clone(),
        })?;
        if options.poll_queues {
            tasks.push(tokio::spawn(service.stream_poller(function).await?.run(service.pipeline.clone())));
        }
    }
    for schedule in &service.template.schedules {
        let function = ScheduleFunction::from_name(&schedule.binary).ok_or_else(|| LocalError::UnknownConsumer {
            source_name: schedule.expression.clone(),
            binary: schedule.binary.clone(),
        })?;
        if let Some(every) = options.schedule_every {
            let app = Arc::clone(&service.app);
            let schedule = schedule.clone();
            let hold = service.pipeline.clone();
            tasks.push(tokio::spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.tick().await;
                loop {
                    ticks.tick().await;
                    hold.wait().await;
                    if let Err(err) = function.handle(&app, scheduled_event(&schedule)).await {
                        tracing::warn!(function = function.name(), error = %orders_shared::error_chain(&err), "scheduled run failed");
                    }
                }
            }));
        }
    }
    service.tasks = tasks;
    Ok(service)
}

/// The event EventBridge sends a function on a schedule, as of now.
pub fn scheduled_event(schedule: &template::Schedule) -> EventBridgeEvent {
    let event = serde_json::json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": provision::REGION,
        "resources": [format!("arn:aws:events:{}:000000000000:rule/{}", provision::REGION, schedule.rule)],
        "detail": {},
    });
    serde_json::from_value(event).unwrap_or_default()
}
