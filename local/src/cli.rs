//! The `orders-local` commands: `up` runs the whole service locally, `token` mints a dev JWT,
//! `check` audits the stored data, `backfill` gives old items the attributes new indexes read.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use orders_shared::http::webhook::WebhookSecret;

use crate::emulators::{Emulators, Ports};
use crate::{start, token, LocalError, ServiceOptions};

const ENVIRONMENT: &str = "environment:
  ORDERS_API_PORT (3000)  DYNAMODB_PORT (8000)  MOTO_PORT (5000)  STRIPE_PORT (8420)
  DYNAMODB_ENDPOINT, MOTO_ENDPOINT, STRIPE_ENDPOINT  use emulators that are already running
  ORDERS_JWT_SECRET       HS256 secret of local tokens (default: orders-local-dev-secret)
  STRIPE_WEBHOOK_SECRET   the webhook signing secret the runner keeps in the emulated Secrets
                          Manager and registers with localstripe (default: whsec_orders_local_webhook_secret)
  SWEEPER_INTERVAL_SECONDS (60)  how often the scheduled sweeper runs
  any function variable of template.yaml (PAYMENT_TIMEOUT_SECONDS, ORDERS_TAX_RATE, ORDERS_FAULTS, ...)";

/// The orders service on one machine: emulators, the template's tables, queues and routes.
#[derive(Debug, Parser)]
#[command(name = "orders-local", after_help = ENVIRONMENT)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the emulators and serve the API (Ctrl-C stops all); the default
    Up,
    /// Print a bearer token for a user
    Token {
        user: String,
        /// Put the user in the admin group
        #[arg(long)]
        admin: bool,
        /// Put the user in this group too (`payments` for the payments service); repeatable
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Make the user the seller with this id (the `seller` group and its `custom:seller_id` claim)
        #[arg(long)]
        seller: Option<String>,
        /// Lifetime in seconds
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
    /// Print the Stripe-Signature header Stripe would send with this webhook body (signed with
    /// STRIPE_WEBHOOK_SECRET, or the local default), for trying events by hand
    SignWebhook { body: String },
    /// Check every invariant of the stored data; exit 1 on a violation. Reads the tables of
    /// `orders-local up` on DYNAMODB_ENDPOINT (or :8000), or with --aws those of the AWS account
    /// of the environment.
    Check(Tables),
    /// After an upgrade: give items written before an index existed the attributes it reads
    /// (orders' derived keys, products' catalogue keys and search words, sellers' listing key).
    /// Only adds what is missing, under a condition, so it runs beside traffic and again.
    /// Tables as for `check`.
    Backfill(Tables),
}

/// The tables a command reads: those of `orders-local up`, or with `--aws` the named ones.
#[derive(Debug, clap::Args)]
struct Tables {
    #[arg(long, default_value_t = format!("{LOCAL_PREFIX}-OrdersTable"))]
    orders_table: String,
    #[arg(long, default_value_t = format!("{LOCAL_PREFIX}-InventoryTable"))]
    inventory_table: String,
    #[arg(long)]
    aws: bool,
}

fn port(name: &str, default: u16) -> Result<u16, String> {
    match std::env::var(name) {
        Ok(text) => text.parse().map_err(|_| format!("{name} must be a port number, not '{text}'")),
        Err(_) => Ok(default),
    }
}

/// Runs a command; `Err` holds what to print before exiting with status 2. Usage errors and
/// `--help` are answered by clap, which exits itself.
pub async fn run(args: Vec<String>) -> Result<(), String> {
    let cli = Cli::parse_from(std::iter::once("orders-local".to_owned()).chain(args));
    match cli.command.unwrap_or(Command::Up) {
        Command::Up => up().await.map_err(|err| orders_shared::error_chain(&err)),
        Command::Token {
            user,
            admin,
            groups,
            seller,
            ttl,
        } => {
            let mut groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            if admin {
                groups.push(orders_shared::auth::ADMIN_GROUP);
            }
            if seller.is_some() {
                groups.push(orders_shared::auth::SELLER_GROUP);
            }
            let token =
                token::mint_seller(&token::secret_from_env(), &user, &groups, seller.as_deref(), ttl).map_err(|err| err.to_string())?;
            println!("{token}");
            Ok(())
        }
        Command::SignWebhook { body } => {
            let text = std::env::var("STRIPE_WEBHOOK_SECRET").unwrap_or_else(|_| crate::DEFAULT_WEBHOOK_SECRET.to_owned());
            let secret = WebhookSecret::parse(&text).ok_or("STRIPE_WEBHOOK_SECRET is too short")?;
            println!("{}", secret.sign(chrono::Utc::now().timestamp(), body.as_bytes()));
            Ok(())
        }
        Command::Check(tables) => check(&tables.orders_table, &tables.inventory_table, tables.aws).await,
        Command::Backfill(tables) => {
            let store = orders_shared::adapters::dynamo::DynamoStore::new(
                dynamodb(tables.aws).await,
                tables.orders_table,
                tables.inventory_table,
                orders_shared::retry::RetryPolicy::default(),
            );
            let done = store.backfill_indexes().await.map_err(|err| orders_shared::error_chain(&err))?;
            println!(
                "backfill: {} items read; index attributes added to {} orders, {} products, {} sellers; \
                 {} products' search words written; {} items changed meanwhile (their own write set them)",
                done.items_read, done.orders, done.products, done.sellers, done.product_words, done.changed_meanwhile
            );
            Ok(())
        }
    }
}

/// The DynamoDB of `orders-local up` (DYNAMODB_ENDPOINT, or :8000), or with `aws` that of the
/// AWS account of the environment.
async fn dynamodb(aws: bool) -> aws_sdk_dynamodb::Client {
    if aws {
        aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await)
    } else {
        let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".to_owned());
        crate::provision::Clients::new(&endpoint, &endpoint).dynamodb
    }
}

async fn check(orders_table: &str, inventory_table: &str, aws: bool) -> Result<(), String> {
    let client = dynamodb(aws).await;
    let report = crate::check::check(
        &client,
        orders_table,
        inventory_table,
        crate::check::Thresholds::default(),
        chrono::Utc::now(),
    )
    .await
    .map_err(|err| err.to_string())?;
    print!("{report}");
    if report.is_clean() {
        Ok(())
    } else {
        std::process::exit(1)
    }
}

/// Name prefix of the tables and queues `orders-local up` creates.
pub const LOCAL_PREFIX: &str = "orders-local";

async fn up() -> Result<(), LocalError> {
    orders_shared::startup::init_tracing();
    let bad_port = |message: String| LocalError::Emulator(crate::emulators::EmulatorError::NoPort(std::io::Error::other(message)));
    let api_port = port("ORDERS_API_PORT", 3000).map_err(bad_port)?;
    let endpoint = |name: &str| std::env::var(name).ok();
    let (emulators, dynamodb_endpoint, moto_endpoint, stripe_endpoint) = match (
        endpoint("DYNAMODB_ENDPOINT"),
        endpoint("MOTO_ENDPOINT"),
        endpoint("STRIPE_ENDPOINT"),
    ) {
        (Some(dynamodb), Some(moto), Some(stripe)) => (None, dynamodb, moto, stripe),
        _ => {
            let ports = Ports {
                dynamodb: port("DYNAMODB_PORT", 8000).map_err(bad_port)?,
                moto: port("MOTO_PORT", 5000).map_err(bad_port)?,
                stripe: port("STRIPE_PORT", 8420).map_err(bad_port)?,
            };
            eprintln!(
                "starting DynamoDB Local on {}, moto on {} and localstripe on {} ...",
                ports.dynamodb, ports.moto, ports.stripe
            );
            let emulators = tokio::task::spawn_blocking(move || Emulators::start(ports))
                .await
                .map_err(|err| bad_port(err.to_string()))??;
            let (dynamodb, moto, stripe) = (
                emulators.dynamodb.endpoint(),
                emulators.moto.endpoint(),
                emulators.stripe.endpoint(),
            );
            (Some(emulators), dynamodb, moto, stripe)
        }
    };
    let mut options = ServiceOptions::new(dynamodb_endpoint, moto_endpoint, stripe_endpoint, LOCAL_PREFIX.to_owned());
    options.api_addr = SocketAddr::from(([127, 0, 0, 1], api_port));
    options.jwt_secret = token::secret_from_env();
    options.environment = std::env::vars().collect();
    if let Ok(secret) = std::env::var("STRIPE_WEBHOOK_SECRET") {
        options.secrets.insert(crate::WEBHOOK_SECRET_RESOURCE.to_owned(), secret);
    }
    // `ORDERS_PARAMETERS=PlacementRateLimit=5,PlacementBurstLimit=5`: template parameters the
    // runner reads itself (the API's throttling), to watch load shedding locally.
    options.parameters = std::env::var("ORDERS_PARAMETERS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let every = port("SWEEPER_INTERVAL_SECONDS", 60).map_err(bad_port)?;
    options.schedule_every = Some(std::time::Duration::from_secs(u64::from(every.max(1))));
    let service = start(options).await?;
    eprintln!(
        "orders service listening on {} (GET /health; Ctrl-C stops everything)",
        service.base_url()
    );
    eprintln!("the pages: {}/ (sign in with a token)", service.base_url());
    eprintln!("mint a token: make token USER_ID=alice [ADMIN=1], or target/debug/orders-local token alice [--admin]");
    shutdown_signal().await;
    eprintln!("stopping ...");
    drop(service);
    drop(emulators);
    Ok(())
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
}
