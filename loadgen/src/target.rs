//! What a scenario runs against: the service started in this process on its own emulators, or a
//! running one (`--url`), with tokens and the invariant checker to match.

use std::sync::Arc;
use std::time::Duration;

use orders_local::check::{check, Report, Thresholds};
use orders_local::emulators::{Emulators, Ports};
use orders_local::{start, RunningService, ServiceOptions};
use orders_shared::adapters::faults::FaultPlan;
use orders_shared::http::webhook::WebhookSecret;

use crate::client::Api;
use crate::stats::Recorder;

pub struct Local {
    pub service: RunningService,
    pub plan: FaultPlan,
    pub emulators: Emulators,
}

pub enum Checker {
    Local,
    Tables {
        client: aws_sdk_dynamodb::Client,
        orders: String,
        inventory: String,
    },
    Off,
}

pub struct Target {
    pub api: Api,
    pub recorder: Arc<Recorder>,
    pub local: Option<Local>,
    pub checker: Checker,
    secret: String,
    tokens: Vec<String>,
    /// Stripe's webhook signing secret, to pay as Stripe reports payments.
    pub webhook: WebhookSecret,
    /// The deployment's name in its payments' metadata (`SHOP_ID`).
    shop: String,
}

#[derive(Debug, Clone)]
pub struct LocalSettings {
    pub payment_timeout_secs: u64,
    /// How long an order waits for the reserve-stock step before the sweeper sends it again.
    pub stuck_reserving_secs: u64,
    pub sweep_every: Duration,
    /// Template parameters the runner reads itself (the API's throttling).
    pub parameters: Vec<(String, String)>,
}

impl Target {
    /// Starts emulators and the service in this process.
    pub async fn local(settings: &LocalSettings) -> Result<Self, String> {
        let emulators = tokio::task::spawn_blocking(|| Emulators::start(Ports::default()))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let plan = FaultPlan::default();
        let mut options = ServiceOptions::new(
            emulators.dynamodb.endpoint(),
            emulators.moto.endpoint(),
            emulators.stripe.endpoint(),
            "loadgen".to_owned(),
        );
        options.environment = vec![
            ("PAYMENT_TIMEOUT_SECONDS".into(), settings.payment_timeout_secs.to_string()),
            ("STUCK_RESERVING_SECONDS".into(), settings.stuck_reserving_secs.to_string()),
        ];
        // Every AWS call of every function, to see what a scenario costs in calls (as the IAM
        // parity check reads them): `ORDERS_CALL_LOG=target/calls.jsonl loadgen ...`.
        if let Ok(log) = std::env::var("ORDERS_CALL_LOG") {
            options.environment.push(("ORDERS_CALL_LOG".into(), log));
        }
        options.schedule_every = Some(settings.sweep_every);
        options.parameters = settings.parameters.clone();
        options.faults = Some(plan.clone());
        let service = start(options).await.map_err(|e| orders_shared::error_chain(&e))?;
        let recorder = Arc::new(Recorder::default());
        let api = Api::new(&service.base_url(), Arc::clone(&recorder));
        Ok(Self {
            api,
            recorder,
            local: Some(Local { service, plan, emulators }),
            checker: Checker::Local,
            secret: orders_local::token::DEFAULT_SECRET.to_owned(),
            tokens: Vec::new(),
            webhook: webhook_secret_from_env()?,
            shop: "loadgen".to_owned(),
        })
    }

    /// A running service. Tokens come from `LOADGEN_TOKENS` (comma-separated; the first is an
    /// admin's) or are minted with `ORDERS_JWT_SECRET` as `orders-local` does; payments are
    /// reported as Stripe events signed with `STRIPE_WEBHOOK_SECRET` (the local default
    /// without it) about payments of the deployment `SHOP_ID` (its stack name).
    pub fn remote(url: &str, checker: Checker) -> Result<Self, String> {
        let recorder = Arc::new(Recorder::default());
        let tokens = std::env::var("LOADGEN_TOKENS")
            .map(|t| t.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Self {
            api: Api::new(url, Arc::clone(&recorder)),
            recorder,
            local: None,
            checker,
            secret: orders_local::token::secret_from_env(),
            tokens,
            webhook: webhook_secret_from_env()?,
            shop: std::env::var("SHOP_ID").map_err(|_| "SHOP_ID (the stack's name) is needed to pay as Stripe reports payments")?,
        })
    }

    /// Pays for an order through Stripe's webhook.
    pub async fn pay(&self, id: &str, total: &str) -> crate::client::Reply {
        self.api.pay(&self.webhook, &self.shop, id, total, &self.currency()).await
    }

    pub fn currency(&self) -> String {
        self.local
            .as_ref()
            .map(|local| local.service.config.pricing.currency.clone())
            .or_else(|| std::env::var("ORDERS_CURRENCY").ok())
            .unwrap_or_else(|| "USD".to_owned())
    }

    pub fn admin(&self) -> String {
        self.tokens.first().cloned().unwrap_or_else(|| self.mint("loadgen-admin", true))
    }

    /// The token of customer `n`.
    pub fn customer(&self, n: usize) -> String {
        match self.tokens.len() {
            0 => self.mint(&format!("customer-{n}"), false),
            1 => self.tokens[0].clone(),
            len => self.tokens[1 + n % (len - 1)].clone(),
        }
    }

    fn mint(&self, user: &str, admin: bool) -> String {
        let groups: &[&str] = if admin { &[orders_shared::auth::ADMIN_GROUP] } else { &[] };
        orders_local::token::mint(&self.secret, user, groups, 4 * 3600).unwrap_or_default()
    }

    pub async fn check(&self) -> Result<Option<Report>, String> {
        let (client, orders, inventory, now) = match (&self.checker, &self.local) {
            (Checker::Local, Some(local)) => {
                let tables = &local.service.deployment.tables;
                (
                    &local.service.clients.dynamodb,
                    tables["OrdersTable"].clone(),
                    tables["InventoryTable"].clone(),
                    local.service.app.clock.now(),
                )
            }
            (Checker::Tables { client, orders, inventory }, _) => (client, orders.clone(), inventory.clone(), chrono::Utc::now()),
            _ => return Ok(None),
        };
        check(client, &orders, &inventory, Thresholds::default(), now)
            .await
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

fn webhook_secret_from_env() -> Result<WebhookSecret, String> {
    let text = std::env::var("STRIPE_WEBHOOK_SECRET").unwrap_or_else(|_| orders_local::DEFAULT_WEBHOOK_SECRET.to_owned());
    WebhookSecret::parse(&text).ok_or_else(|| "STRIPE_WEBHOOK_SECRET is too short".to_owned())
}
