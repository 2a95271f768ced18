//! The load generator: scenarios against the orders service (started in this process, or a
//! running one with `--url`), figures per endpoint printed and written as JSON, and the
//! invariant checker at the end of every run.

pub mod bench;
pub mod client;
pub mod coldstart;
pub mod hot_sku;
pub mod latency;
pub mod scenarios;
pub mod stats;
pub mod target;
pub mod throughput;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use orders_shared::handlers::{HttpFunction, QueueFunction, ScheduleFunction, StreamFunction};

use crate::hot_sku::HotSkuSettings;
use crate::scenarios::{SaleSettings, SteadySettings};
use crate::target::{Checker, LocalSettings, Target};
use crate::throughput::ThroughputSettings;

/// What each scenario does, for `--help`.
const SCENARIOS: &str = "scenarios:
  flash-sale     thousands of customers race for a few products with small stock; some pay, some cancel, the rest abandon
  hot-sku        everyone on one product under a per-item write ceiling (--item-wcu, default 1000; and a read ceiling, --item-rcu), once per shard count (--shards); --per-shard scales customers and concurrency with the shards
  throughput     N clients (--clients 1,8,32,64) placing keyed orders over many products, --rounds phases of --seconds each alternating with the same DynamoDB calls made directly
  steady         a mix of list, read, place, pay and cancel for a fixed time
  latency        warm latency of place, read and list, one request at a time
  chaos          flash-sale with storage faults, crashes and duplicate deliveries; then it must settle clean
  cold-start     each function's release binary (target/release: cargo build --release -p orders-functions) started --starts times against a local Lambda Runtime API
  shed           flash-sale beyond the placement route's throttle (--rate, --burst; local: 50/s, 25): 429s retried, no 5xx, nothing lost
  bench-reserve  conditional decrement vs read-then-write version lock under contention on one product";

/// Drives the orders service and prints figures per endpoint; checks the invariants at the end.
#[derive(Debug, clap::Parser)]
#[command(name = "loadgen", after_help = SCENARIOS)]
pub struct Options {
    #[arg(value_parser = ["flash-sale", "hot-sku", "throughput", "steady", "latency", "chaos", "cold-start", "shed", "bench-reserve"])]
    scenario: String,
    /// Drive a running service (default: start emulators and the service in this process).
    #[arg(long)]
    url: Option<String>,
    /// With --url, check invariants on the tables of `make local` (DYNAMODB_ENDPOINT, default :8000) or in AWS.
    #[arg(long, default_value = "local", value_parser = ["local", "aws", "none"])]
    check: String,
    /// Where to write the figures (default target/loadgen/<scenario>.json).
    #[arg(long)]
    json: Option<PathBuf>,
    /// hot-sku's shard counts (1 to 32).
    #[arg(long, value_delimiter = ',', default_value = "1,4,16", value_parser = clap::value_parser!(u8).range(1..=32))]
    shards: Vec<u8>,
    #[arg(long)]
    customers: Option<u64>,
    #[arg(long)]
    products: Option<u64>,
    #[arg(long)]
    stock: Option<u64>,
    #[arg(long)]
    concurrency: Option<u64>,
    #[arg(long)]
    users: Option<u64>,
    #[arg(long)]
    seconds: Option<u64>,
    #[arg(long)]
    samples: Option<u64>,
    #[arg(long)]
    rounds: Option<u64>,
    /// hot-sku's per-item write ceiling (write units per second).
    #[arg(long)]
    item_wcu: Option<u64>,
    /// hot-sku's per-item read ceiling (read units per second; none unless given).
    #[arg(long)]
    item_rcu: Option<u64>,
    /// hot-sku: --customers and --concurrency count per shard, so each run offers every shard the same load.
    #[arg(long)]
    per_shard: bool,
    /// throughput's counts of clients, one phase each.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,64")]
    clients: Vec<usize>,
    /// cold-start's starts per function.
    #[arg(long)]
    starts: Option<u64>,
    /// shed's placement rate and burst limits.
    #[arg(long)]
    rate: Option<u64>,
    #[arg(long)]
    burst: Option<u64>,
    /// Seeds the random choices of the scenarios.
    #[arg(long)]
    seed: Option<u64>,
}

/// Runs one scenario; `Ok(false)` when an invariant or a promise was broken.
pub async fn run(options: Options) -> Result<bool, String> {
    // Long enough to pay under load, short enough to watch the abandoned orders expire.
    // The demonstration of load shedding lowers the placement route's throttle (the template's
    // default is far above what this machine serves).
    let parameters = if options.scenario == "shed" {
        vec![
            ("PlacementRateLimit".to_owned(), options.rate.unwrap_or(50).to_string()),
            ("PlacementBurstLimit".to_owned(), options.burst.unwrap_or(25).to_string()),
        ]
    } else {
        Vec::new()
    };
    let hot_sku = options.scenario == "hot-sku";
    let quiet = hot_sku || options.scenario == "throughput";
    let local = LocalSettings {
        // hot-sku and throughput measure holds: no order may expire (and give its units back, a
        // sweeper's work beside the measured one) during a run; hot-sku cancels what it reserved.
        payment_timeout_secs: if quiet { 900 } else { 20 },
        // Throttled, the reserve-stock step fails and its message comes back after the queue's
        // 60 s visibility timeout: under hot-sku's ceiling the sweeper re-drives only past that,
        // as in AWS (2 minutes), instead of flooding the queue with copies every second.
        stuck_reserving_secs: if hot_sku { 90 } else { 3 },
        sweep_every: Duration::from_secs(1),
        parameters,
    };
    let target = match &options.url {
        Some(url) => {
            let checker = match options.check.as_str() {
                "none" => Checker::Off,
                "aws" => Checker::Tables {
                    client: aws_sdk_dynamodb::Client::new(&aws_config_from_env().await),
                    orders: std::env::var("ORDERS_TABLE").map_err(|_| "--check aws needs ORDERS_TABLE")?,
                    inventory: std::env::var("INVENTORY_TABLE").map_err(|_| "--check aws needs INVENTORY_TABLE")?,
                },
                _ => {
                    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into());
                    Checker::Tables {
                        client: orders_local::provision::Clients::new(&endpoint, &endpoint).dynamodb,
                        orders: format!("{}-OrdersTable", orders_local::cli::LOCAL_PREFIX),
                        inventory: format!("{}-InventoryTable", orders_local::cli::LOCAL_PREFIX),
                    }
                }
            };
            Target::remote(url, checker)?
        }
        None => {
            eprintln!("starting DynamoDB Local, moto and the service in this process ...");
            Target::local(&local).await?
        }
    };
    let settle = Duration::from_secs(local.payment_timeout_secs * 3 + 60);
    let sale = |customers: u64, products: u64, stock: u64| SaleSettings {
        customers: options.customers.unwrap_or(customers) as usize,
        products: options.products.unwrap_or(products).max(1) as usize,
        stock: options.stock.unwrap_or(stock) as i64,
        concurrency: options.concurrency.unwrap_or(64).max(1) as usize,
        pay: 0.6,
        cancel: 0.1,
        settle,
        seed: options.seed.unwrap_or(7),
    };
    let started = Instant::now();
    let summary = match options.scenario.as_str() {
        "flash-sale" => scenarios::sale(&target, &sale(2000, 3, 50), "flash").await?,
        "hot-sku" => {
            let settings = HotSkuSettings {
                customers: options.customers.unwrap_or(1500).max(1) as usize,
                concurrency: options.concurrency.unwrap_or(64).max(1) as usize,
                per_shard: options.per_shard,
                shards: options.shards.clone(),
                item_wcu: u32::try_from(options.item_wcu.unwrap_or(1000)).unwrap_or(u32::MAX).max(1),
                item_rcu: options.item_rcu.map(|rcu| u32::try_from(rcu).unwrap_or(u32::MAX).max(1)),
            };
            hot_sku::hot_sku(&target, &settings).await?
        }
        "throughput" => {
            let settings = ThroughputSettings {
                clients: options.clients.iter().copied().filter(|n| *n > 0).collect(),
                rounds: options.rounds.unwrap_or(3).max(1) as usize,
                phase: Duration::from_secs(options.seconds.unwrap_or(5).max(1)),
                products: options.products.unwrap_or(64).max(1) as usize,
            };
            throughput::throughput(&target, &settings).await?
        }
        "chaos" => scenarios::chaos(&target, &sale(1000, 3, 60)).await?,
        "shed" => scenarios::sale(&target, &sale(1500, 3, 100), "shed").await?,
        "steady" => {
            let settings = SteadySettings {
                users: options.users.unwrap_or(16).max(1) as usize,
                duration: Duration::from_secs(options.seconds.unwrap_or(30)),
                seed: options.seed.unwrap_or(7),
            };
            scenarios::steady(&target, &settings).await?
        }
        "latency" => latency::latency(&target, options.samples.unwrap_or(200) as usize).await?,
        "bench-reserve" => {
            let local = target
                .local
                .as_ref()
                .ok_or("bench-reserve talks to DynamoDB directly: run it without --url")?;
            let table = &local.service.deployment.tables["InventoryTable"];
            bench::compare(
                &local.service.clients.dynamodb,
                table,
                options.rounds.unwrap_or(5) as usize,
                options.stock.unwrap_or(200) as i64,
                options.customers.unwrap_or(400) as usize,
            )
            .await?
        }
        "cold-start" => {
            let local = target
                .local
                .as_ref()
                .ok_or("cold-start starts the functions itself: run it without --url")?;
            let functions: Vec<&str> = HttpFunction::ALL
                .iter()
                .map(|f| f.name())
                .chain(QueueFunction::ALL.iter().map(|f| f.name()))
                .chain(StreamFunction::ALL.iter().map(|f| f.name()))
                .chain(ScheduleFunction::ALL.iter().map(|f| f.name()))
                .collect();
            let moto = local.emulators.moto.endpoint();
            let mut environment = local.service.deployment.environment.clone();
            for (name, value) in [
                ("AWS_ACCESS_KEY_ID", "local".to_owned()),
                ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
                ("AWS_REGION", orders_local::provision::REGION.to_owned()),
                ("AWS_ENDPOINT_URL_DYNAMODB", local.emulators.dynamodb.endpoint()),
                ("AWS_ENDPOINT_URL_SQS", moto.clone()),
                ("AWS_ENDPOINT_URL_EVENTBRIDGE", moto.clone()),
                ("AWS_ENDPOINT_URL_SESV2", moto.clone()),
                ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto),
                ("STRIPE_API_BASE", local.emulators.stripe.endpoint()),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
                ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders".to_owned()),
                ("AWS_LAMBDA_LOG_STREAM_NAME", "cold-start".to_owned()),
                ("RUST_LOG", "error".to_owned()),
            ] {
                environment.insert(name.to_owned(), value);
            }
            let repo = orders_local::emulators::repo_root();
            coldstart::measure(
                &functions,
                &repo.join("target/release"),
                &repo.join("events"),
                environment,
                options.starts.unwrap_or(20) as usize,
            )
            .await?
        }
        other => return Err(format!("unknown scenario '{other}'")),
    };
    let wall = started.elapsed();
    let figures = target.recorder.figures(wall);
    if !figures.is_empty() {
        stats::print_table(&figures);
        stats::print_timing_table(&figures);
    }
    println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
    let report = target.check().await?;
    if let Some(report) = &report {
        print!("{report}");
    }
    let promises_kept = summary["oversold_units"].as_i64().unwrap_or(0) == 0 && summary["lost_orders"].as_i64().unwrap_or(0) == 0;
    let clean = report.as_ref().is_none_or(|r| r.is_clean()) && promises_kept;
    let output = json!({
        "scenario": options.scenario,
        "target": options.url.clone().unwrap_or_else(|| "in-process local stack (DynamoDB Local, moto)".into()),
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "os": std::env::consts::OS, "arch": std::env::consts::ARCH },
        "wall_seconds": wall.as_secs_f64(),
        "endpoints": figures,
        "summary": summary,
        "invariants": report.map(|r| json!({"clean": r.is_clean(), "report": r.to_string()})),
        "passed": clean,
    });
    let path = options
        .json
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("target/loadgen/{}.json", options.scenario)));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(&output).unwrap_or_default()).map_err(|e| e.to_string())?;
    println!(
        "figures written to {}; {}",
        path.display(),
        if clean { "all promises kept" } else { "PROMISES BROKEN" }
    );
    Ok(clean)
}

async fn aws_config_from_env() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}
