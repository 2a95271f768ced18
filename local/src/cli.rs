//! The `orders-local` commands: `up` runs the whole service locally, `token` mints a dev JWT.

use std::net::SocketAddr;

use crate::emulators::Emulators;
use crate::{start, token, LocalError, ServiceOptions};

const USAGE: &str = "usage:
  orders-local up                               start the emulators and serve the API (Ctrl-C stops all)
  orders-local token <user> [--admin] [--ttl S] print a bearer token for <user> (admin group with --admin)
  orders-local check [--orders-table T --inventory-table T] [--aws]
                                                check every invariant of the stored data; exit 1 on a violation
                                                (default: the tables of `orders-local up` on DYNAMODB_ENDPOINT or :8000;
                                                --aws: the AWS account of the environment)

environment:
  ORDERS_API_PORT (3000)  DYNAMODB_PORT (8000)  MOTO_PORT (5000)
  DYNAMODB_ENDPOINT, MOTO_ENDPOINT  use emulators that are already running instead of starting them
  ORDERS_JWT_SECRET       HS256 secret of local tokens (default: orders-local-dev-secret)
  SWEEPER_INTERVAL_SECONDS (60)  how often the scheduled sweeper runs
  any function variable of template.yaml (PAYMENT_TIMEOUT_SECONDS, ORDERS_TAX_RATE, ORDERS_FAULTS, ...)";

fn port(name: &str, default: u16) -> Result<u16, String> {
    match std::env::var(name) {
        Ok(text) => text.parse().map_err(|_| format!("{name} must be a port number, not '{text}'")),
        Err(_) => Ok(default),
    }
}

/// Runs a command; `Err` holds what to print before exiting with status 2.
pub async fn run(args: Vec<String>) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("up") | None => up().await.map_err(|err| orders_shared::error_chain(&err)),
        Some("token") => mint(&args[1..]),
        Some("check") => check(&args[1..]).await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command '{other}'\n{USAGE}")),
    }
}

fn mint(args: &[String]) -> Result<(), String> {
    let mut user = None;
    let mut admin = false;
    let mut ttl: i64 = 3600;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--admin" => admin = true,
            "--ttl" => ttl = rest.next().and_then(|v| v.parse().ok()).ok_or("--ttl takes whole seconds")?,
            name if user.is_none() && !name.starts_with('-') => user = Some(name.to_owned()),
            other => return Err(format!("unexpected argument '{other}'\n{USAGE}")),
        }
    }
    let user = user.ok_or(USAGE)?;
    let token = token::mint(&token::secret_from_env(), &user, admin, ttl).map_err(|err| err.to_string())?;
    println!("{token}");
    Ok(())
}

async fn check(args: &[String]) -> Result<(), String> {
    let mut orders_table = format!("{LOCAL_PREFIX}-OrdersTable");
    let mut inventory_table = format!("{LOCAL_PREFIX}-InventoryTable");
    let mut aws = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--orders-table" => orders_table = rest.next().cloned().ok_or("--orders-table takes a table name")?,
            "--inventory-table" => inventory_table = rest.next().cloned().ok_or("--inventory-table takes a table name")?,
            "--aws" => aws = true,
            other => return Err(format!("unexpected argument '{other}'\n{USAGE}")),
        }
    }
    let client = if aws {
        aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await)
    } else {
        let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".to_owned());
        crate::provision::Clients::new(&endpoint, &endpoint).dynamodb
    };
    let report = crate::check::check(
        &client,
        &orders_table,
        &inventory_table,
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
    orders_shared::lambda::init_tracing();
    let bad_port = |message: String| LocalError::Emulator(crate::emulators::EmulatorError::NoPort(std::io::Error::other(message)));
    let api_port = port("ORDERS_API_PORT", 3000).map_err(bad_port)?;
    let (dynamodb, moto) = (std::env::var("DYNAMODB_ENDPOINT").ok(), std::env::var("MOTO_ENDPOINT").ok());
    let (emulators, dynamodb_endpoint, moto_endpoint) = match (dynamodb, moto) {
        (Some(dynamodb), Some(moto)) => (None, dynamodb, moto),
        _ => {
            let dynamodb_port = port("DYNAMODB_PORT", 8000).map_err(bad_port)?;
            let moto_port = port("MOTO_PORT", 5000).map_err(bad_port)?;
            eprintln!("starting DynamoDB Local on {dynamodb_port} and moto on {moto_port} ...");
            let emulators = tokio::task::spawn_blocking(move || Emulators::start(dynamodb_port, moto_port))
                .await
                .map_err(|err| bad_port(err.to_string()))??;
            let (dynamodb, moto) = (emulators.dynamodb.endpoint(), emulators.moto.endpoint());
            (Some(emulators), dynamodb, moto)
        }
    };
    let mut options = ServiceOptions::new(dynamodb_endpoint, moto_endpoint, LOCAL_PREFIX.to_owned());
    options.api_addr = SocketAddr::from(([127, 0, 0, 1], api_port));
    options.jwt_secret = token::secret_from_env();
    options.environment = std::env::vars().collect();
    let every = port("SWEEPER_INTERVAL_SECONDS", 60).map_err(bad_port)?;
    options.schedule_every = Some(std::time::Duration::from_secs(u64::from(every.max(1))));
    let service = start(options).await?;
    eprintln!(
        "orders service listening on {} (GET /health; Ctrl-C stops everything)",
        service.base_url()
    );
    eprintln!("mint a token: cargo run -q -p orders-local -- token alice [--admin]");
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
