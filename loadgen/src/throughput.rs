//! Throughput against the floor: N clients placing keyed orders over many products, and in the
//! same run N clients making a placement's DynamoDB calls directly, phase after phase.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{json, Value};

use crate::stats::{percentile, Recorder};
use crate::target::Target;

#[derive(Debug, Clone)]
pub struct ThroughputSettings {
    /// Phases for each count of clients.
    pub clients: Vec<usize>,
    /// Rounds of the request path beside the floor, for each count of clients.
    pub rounds: usize,
    /// How long each phase places orders.
    pub phase: Duration,
    /// Products the orders spread over, so no single item is the limit.
    pub products: usize,
}

/// Busy and total jiffies of all cores, from `/proc/stat`.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    // user nice system idle iowait irq softirq steal ...
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// How many of the machine's cores were busy on average between two readings.
fn cores_busy(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    match (before, after) {
        (Some((busy0, total0)), Some((busy1, total1))) if total1 > total0 => (busy1 - busy0) as f64 / (total1 - total0) as f64 * cores,
        _ => 0.0,
    }
}

/// CPU jiffies a process (all its threads) has used.
fn process_jiffies(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().map_or(0, |stat| {
        // After the command in parentheses: state is field 3, utime and stime are 14 and 15.
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        fields.get(11).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0) + fields.get(12).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0)
    })
}

/// CPU jiffies a process and all its descendants have used (the emulators run under a watchdog).
fn tree_jiffies(pid: u32) -> u64 {
    let children: u64 = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|children| {
            children
                .split_whitespace()
                .filter_map(|child| child.parse().ok())
                .collect::<Vec<u32>>()
        })
        .map(tree_jiffies)
        .sum();
    process_jiffies(pid) + children
}

/// Where the machine's CPU goes: this process (the service, its gateway and pipeline, and the
/// load generator), DynamoDB Local, moto.
#[derive(Debug, Clone, Copy)]
struct Processes {
    ours: u32,
    dynamodb: u32,
    moto: u32,
}

impl Processes {
    fn jiffies(&self) -> [u64; 3] {
        [process_jiffies(self.ours), tree_jiffies(self.dynamodb), tree_jiffies(self.moto)]
    }
}

/// Waits (up to two minutes) until the machine is quiet: the streams, the outbox and the sweeper
/// have caught up with the last phase, so that no phase pays for another's work. Answers the
/// cores busy over the last second waited.
async fn quiet() -> f64 {
    let mut busy = 0.0;
    for _ in 0..120 {
        let before = cpu_jiffies();
        tokio::time::sleep(Duration::from_secs(1)).await;
        busy = cores_busy(before, cpu_jiffies());
        if busy < 0.3 {
            break;
        }
    }
    busy
}

/// What one phase did: orders per second, latency percentiles, and the machine's load.
struct Phase {
    orders: usize,
    failures: usize,
    wall: Duration,
    latencies_us: Vec<u64>,
    cores_busy: f64,
    /// Cores used by this process, DynamoDB Local and moto.
    cores_by_process: [f64; 3],
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.orders as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn figures(&self) -> Value {
        json!({
            "orders": self.orders,
            "failures": self.failures,
            "orders_per_second": self.per_second(),
            "p50_ms": percentile(&self.latencies_us, 50.0),
            "p95_ms": percentile(&self.latencies_us, 95.0),
            "cores_busy": self.cores_busy,
            "cores_by_process": {
                "loadgen_and_service": self.cores_by_process[0],
                "dynamodb_local": self.cores_by_process[1],
                "moto": self.cores_by_process[2],
            },
        })
    }
}

/// Runs `clients` loops of `step` until the phase ends; each step answers its latency, or `None`
/// when it did not place an order.
async fn phase<F, Fut>(clients: usize, length: Duration, processes: Processes, step: F) -> Phase
where
    F: Fn(usize, usize) -> Fut,
    Fut: std::future::Future<Output = Option<u64>>,
{
    let cpu_before = cpu_jiffies();
    let by_process_before = processes.jiffies();
    let started = Instant::now();
    let step = &step;
    let runs = join_all((0..clients).map(|client| async move {
        let (mut done, mut failed, mut latencies) = (0, 0, Vec::new());
        let mut n = 0;
        while started.elapsed() < length {
            match step(client, n).await {
                Some(micros) => {
                    done += 1;
                    latencies.push(micros);
                }
                None => failed += 1,
            }
            n += 1;
        }
        (done, failed, latencies)
    }))
    .await;
    let wall = started.elapsed();
    let cores_busy = cores_busy(cpu_before, cpu_jiffies());
    let ticks = 100.0 * wall.as_secs_f64().max(1e-9);
    let by_process_after = processes.jiffies();
    let cores_by_process = [0, 1, 2].map(|n| by_process_after[n].saturating_sub(by_process_before[n]) as f64 / ticks);
    let mut latencies_us: Vec<u64> = runs.iter().flat_map(|(_, _, latencies)| latencies.iter().copied()).collect();
    latencies_us.sort_unstable();
    Phase {
        orders: runs.iter().map(|(done, _, _)| done).sum(),
        failures: runs.iter().map(|(_, failed, _)| failed).sum(),
        wall,
        latencies_us,
        cores_busy,
        cores_by_process,
    }
}

/// A figure of a phase's JSON, by its path.
fn number(value: &Value, path: &[&str]) -> f64 {
    path.iter().fold(value, |value, key| &value[*key]).as_f64().unwrap_or(0.0)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// The median of each figure over rounds of the same phase.
fn medians(rounds: &[Value]) -> Value {
    let figure = |path: &[&str]| median(rounds.iter().map(|round| number(round, path)).collect());
    json!({
        "orders_per_second": figure(&["orders_per_second"]),
        "p50_ms": figure(&["p50_ms"]),
        "p95_ms": figure(&["p95_ms"]),
        "cores_busy": figure(&["cores_busy"]),
        "db_p50_ms": figure(&["db_p50_ms"]),
        "app_p50_ms": figure(&["app_p50_ms"]),
        "outside_handler_p50_ms": figure(&["outside_handler_p50_ms"]),
        "cores_by_process": {
            "loadgen_and_service": figure(&["cores_by_process", "loadgen_and_service"]),
            "dynamodb_local": figure(&["cores_by_process", "dynamodb_local"]),
            "moto": figure(&["cores_by_process", "moto"]),
        },
    })
}

/// What the phases run against.
struct Bench<'a> {
    target: &'a Target,
    local: &'a crate::target::Local,
    tokens: &'a [String],
    products: &'a [String],
    floor_items: &'a crate::bench::FloorItems,
    processes: Processes,
    length: Duration,
}

impl Bench<'_> {
    fn sku(&self, client: usize, n: usize) -> &str {
        &self.products[(client * 7919 + n * 31) % self.products.len()]
    }

    /// A phase of keyed placements by `clients` clients, the event pipeline held or running;
    /// the pipeline catches up before it answers, so every AWS call the service made for the
    /// phase's orders, on the request path and off it, is counted.
    async fn service(&self, clients: usize, held: bool, round: usize) -> Value {
        let (local, pipeline) = (self.local, &self.local.service.pipeline);
        let quiet_before = quiet().await;
        pipeline.hold(held);
        let recorder = Arc::new(Recorder::default());
        let api = self.target.api.recording_to(recorder.clone());
        let calls_before = local.plan.all_calls();
        let run = phase(clients, self.length, self.processes, |client, n| {
            let (api, token, sku) = (&api, &self.tokens[client], self.sku(client, n).to_owned());
            let key = format!("tp-{clients}-{held}-{round}-{client}-{n}");
            async move {
                let started = Instant::now();
                let reply = api.place(token, &[(sku, 1)], &key).await;
                (reply.status == 201).then(|| u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX))
            }
        })
        .await;
        pipeline.hold(false);
        let quiet_after = quiet().await;
        let mut calls_per_order: Vec<(String, f64)> = local
            .plan
            .all_calls()
            .into_iter()
            .map(|(op, n)| {
                let more = n.saturating_sub(calls_before.get(&op).copied().unwrap_or(0));
                (op, more as f64 / run.orders.max(1) as f64)
            })
            .filter(|(_, per_order)| *per_order >= 0.01)
            .collect();
        calls_per_order.sort_by(|a, b| b.1.total_cmp(&a.1));
        let timing = recorder
            .figures(run.wall)
            .into_iter()
            .find(|figures| figures.endpoint == "POST /orders")
            .and_then(|figures| figures.server_timing);
        let mut figures = run.figures();
        figures["cores_busy_before"] = json!(quiet_before);
        figures["cores_busy_after_catching_up"] = json!(quiet_after);
        figures["aws_calls_per_order"] = calls_per_order
            .iter()
            .map(|(op, n)| json!({"operation": op, "per_order": n}))
            .collect::<Vec<_>>()
            .into();
        figures["db_p50_ms"] = json!(timing.as_ref().map(|t| t.db_p50_ms));
        figures["app_p50_ms"] = json!(timing.as_ref().map(|t| t.app_p50_ms));
        figures["outside_handler_p50_ms"] = json!(timing.as_ref().map(|t| t.outside_p50_ms));
        figures
    }

    /// A phase of a placement's DynamoDB calls made directly by `clients` clients.
    async fn floor(&self, clients: usize) -> Value {
        let quiet_before = quiet().await;
        let (dynamodb, tables) = (&self.local.service.clients.dynamodb, &self.local.service.deployment.tables);
        let (orders_table, inventory_table) = (&tables["OrdersTable"], &tables["InventoryTable"]);
        let run = phase(clients, self.length, self.processes, |client, n| {
            let sku = self.sku(client, n);
            async move {
                crate::bench::placement_floor(dynamodb, orders_table, inventory_table, sku, self.floor_items)
                    .await
                    .ok()
            }
        })
        .await;
        let mut figures = run.figures();
        figures["cores_busy_before"] = json!(quiet_before);
        figures
    }
}

/// For each count of clients, two phases of keyed placements through the service (the local
/// gateway included, as API Gateway would be): with the event pipeline held, then running; then
/// a phase of the same DynamoDB calls made directly. Orders per second and latency of each, their
/// ratios, where the service's time went (`Server-Timing`), the AWS calls an order costs, and
/// how busy the machine's cores were, process by process.
pub async fn throughput(target: &Target, settings: &ThroughputSettings) -> Result<Value, String> {
    let local = target
        .local
        .as_ref()
        .ok_or("throughput compares with DynamoDB calls made directly: run it without --url")?;
    let admin = target.admin();
    let products: Vec<String> = (0..settings.products.max(1)).map(|n| format!("tp-{n}")).collect();
    for sku in &products {
        let stocked = target.api.put_product(&admin, sku, "3.50", 10_000_000).await;
        if stocked.status != 200 {
            return Err(format!("stocking {sku} failed: {stocked:?}"));
        }
    }
    let most = settings.clients.iter().copied().max().unwrap_or(1);
    let tokens: Vec<String> = (0..most).map(|n| target.customer(n)).collect();
    // Warm both paths: connections, the instance's number block, DynamoDB Local's JIT.
    let warm = target.api.unrecorded();
    let mut placed = None;
    for n in 0..20 {
        placed = warm
            .place(&tokens[0], &[(products[n % products.len()].clone(), 1)], &format!("tp-warm-{n}"))
            .await
            .id();
    }
    let (dynamodb, tables) = (&local.service.clients.dynamodb, &local.service.deployment.tables);
    let (orders_table, inventory_table) = (&tables["OrdersTable"], &tables["InventoryTable"]);
    let id = placed.ok_or("the warm-up placed no order")?;
    let floor_items = crate::bench::FloorItems::of(dynamodb, orders_table, inventory_table, &id, "tp-warm-19").await?;
    let processes = Processes {
        ours: std::process::id(),
        dynamodb: local.emulators.dynamodb.watchdog_pid(),
        moto: local.emulators.moto.watchdog_pid(),
    };

    let bench = Bench {
        target,
        local,
        tokens: &tokens,
        products: &products,
        floor_items: &floor_items,
        processes,
        length: settings.phase,
    };
    let mut rows = Vec::new();
    for &clients in &settings.clients {
        // Side by side, alternating: keyed placements through the gateway with the event pipeline
        // held (the request path alone, as in AWS, where the pipeline's functions and DynamoDB's
        // stream readers run on machines of their own), then the floor; each round's ratio is of
        // two neighbouring phases. Then once with the pipeline running here, as `make local` runs.
        let (mut paths, mut floors, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..settings.rounds.max(1) {
            let path = bench.service(clients, true, round).await;
            let floor = bench.floor(clients).await;
            ratios.push(number(&path, &["orders_per_second"]) / number(&floor, &["orders_per_second"]).max(1e-9));
            paths.push(path);
            floors.push(floor);
        }
        let running = bench.service(clients, false, 0).await;
        let floor_rate = median(floors.iter().map(|floor| number(floor, &["orders_per_second"])).collect());
        rows.push(json!({
            "clients": clients,
            "floor": medians(&floors),
            "request_path": medians(&paths),
            "ratio_request_path_to_floor": median(ratios.clone()),
            "ratios_by_round": ratios,
            "with_pipeline": running,
            "ratio_with_pipeline_to_floor": number(&running, &["orders_per_second"]) / floor_rate.max(1e-9),
            "rounds": {"request_path": paths, "floor": floors},
        }));
    }
    println!(
        "throughput: keyed placements over {} products, {} s per phase, one after the other; the floor is the same two DynamoDB calls made directly",
        products.len(),
        settings.phase.as_secs()
    );
    println!(
        "The request path (the event pipeline held until the phase ends), medians of {} rounds alternating with the floor:",
        settings.rounds.max(1)
    );
    println!("| clients | floor orders/s | service orders/s | ratio | floor p50 / p95 ms | service p50 / p95 ms | service db / app / outside the handler p50 ms | cores busy, floor / service |");
    println!("|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {:.0} | {:.0} | {:.2} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.2} / {:.1} | {:.2} / {:.2} |",
            row["clients"],
            number(row, &["floor", "orders_per_second"]),
            number(row, &["request_path", "orders_per_second"]),
            number(row, &["ratio_request_path_to_floor"]),
            number(row, &["floor", "p50_ms"]),
            number(row, &["floor", "p95_ms"]),
            number(row, &["request_path", "p50_ms"]),
            number(row, &["request_path", "p95_ms"]),
            number(row, &["request_path", "db_p50_ms"]),
            number(row, &["request_path", "app_p50_ms"]),
            number(row, &["request_path", "outside_handler_p50_ms"]),
            number(row, &["floor", "cores_busy"]),
            number(row, &["request_path", "cores_busy"]),
        );
    }
    println!("The whole service on this machine (its streams, outbox, notifications and queues running beside the requests):");
    println!("| clients | service orders/s | ratio to the floor | service p50 / p95 ms | cores: this process / DynamoDB Local / moto | floor cores: this process / DynamoDB Local |");
    println!("|---|---|---|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {:.0} | {:.2} | {:.1} / {:.1} | {:.2} / {:.2} / {:.2} | {:.2} / {:.2} |",
            row["clients"],
            number(row, &["with_pipeline", "orders_per_second"]),
            number(row, &["ratio_with_pipeline_to_floor"]),
            number(row, &["with_pipeline", "p50_ms"]),
            number(row, &["with_pipeline", "p95_ms"]),
            number(row, &["with_pipeline", "cores_by_process", "loadgen_and_service"]),
            number(row, &["with_pipeline", "cores_by_process", "dynamodb_local"]),
            number(row, &["with_pipeline", "cores_by_process", "moto"]),
            number(row, &["floor", "cores_by_process", "loadgen_and_service"]),
            number(row, &["floor", "cores_by_process", "dynamodb_local"]),
        );
    }
    if let Some(row) = rows.first() {
        let calls: Vec<String> = row["with_pipeline"]["aws_calls_per_order"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|call| {
                format!(
                    "{} {:.2}",
                    call["operation"].as_str().unwrap_or("?"),
                    call["per_order"].as_f64().unwrap_or(0.0)
                )
            })
            .collect();
        println!(
            "AWS calls per order with {} client(s), on the request path and off it: {}",
            row["clients"],
            calls.join(", ")
        );
    }
    Ok(json!({ "phase_seconds": settings.phase.as_secs(), "products": products.len(), "rows": rows }))
}
