//! Cold start, measured: each function's release binary is started against a local Lambda
//! Runtime API (served here, as Lambda serves it to a `provided.al2023` function) with its
//! sample event from `events/`, against the local stack. For each start: the time from exec to
//! the binary's first `next` call (its init: configuration, clients, the connection it opens)
//! and to its answer of the event. The process is then stopped, and started again.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::stats::percentile;

/// How long one start may take to answer before it counts as failed.
const START_LIMIT: Duration = Duration::from_secs(15);

#[derive(Default)]
struct Invocation {
    event: Vec<u8>,
    served: bool,
    first_next: Option<Instant>,
    answered: Option<(Instant, bool)>,
}

#[derive(Clone, Default)]
struct RuntimeApi {
    current: Arc<Mutex<Invocation>>,
    done: Arc<Notify>,
}

impl RuntimeApi {
    fn with<T>(&self, f: impl FnOnce(&mut Invocation) -> T) -> T {
        let mut current = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut current)
    }

    fn router(self) -> axum::Router {
        use axum::routing::{get, post};
        axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(answered_ok))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(answered_error))
            .route("/2018-06-01/runtime/init/error", post(answered_error))
            .with_state(self)
    }
}

/// The event, once; a later `next` waits, as Lambda's does between invocations.
async fn next(State(api): State<RuntimeApi>) -> axum::response::Response {
    let event = api.with(|current| {
        current.first_next.get_or_insert_with(Instant::now);
        (!current.served).then(|| {
            current.served = true;
            current.event.clone()
        })
    });
    let Some(event) = event else {
        std::future::pending::<()>().await;
        return http::StatusCode::NO_CONTENT.into_response();
    };
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    (
        [
            ("lambda-runtime-aws-request-id", "cold-start-1".to_owned()),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:orders".to_owned(),
            ),
            ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000".to_owned()),
            ("content-type", "application/json".to_owned()),
        ],
        event,
    )
        .into_response()
}

async fn answered_ok(State(api): State<RuntimeApi>) -> http::StatusCode {
    answered(&api, true)
}

async fn answered_error(State(api): State<RuntimeApi>) -> http::StatusCode {
    answered(&api, false)
}

fn answered(api: &RuntimeApi, ok: bool) -> http::StatusCode {
    api.with(|current| {
        current.answered.get_or_insert((Instant::now(), ok));
    });
    api.done.notify_one();
    http::StatusCode::ACCEPTED
}

/// One binary's figures.
struct Starts {
    init_us: Vec<u64>,
    answer_us: Vec<u64>,
    failed: usize,
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

async fn start_once(api: &RuntimeApi, binary: &Path, environment: &BTreeMap<String, String>, event: &[u8]) -> Result<(u64, u64), String> {
    api.with(|current| {
        *current = Invocation {
            event: event.to_vec(),
            ..Invocation::default()
        }
    });
    let exec = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(environment)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| format!("{}: {err}", binary.display()))?;
    let waited = tokio::time::timeout(START_LIMIT, api.done.notified()).await;
    let _ = child.kill().await;
    waited.map_err(|_| format!("{} did not answer within {START_LIMIT:?}", binary.display()))?;
    let (first_next, answered) = api.with(|current| (current.first_next, current.answered));
    match (first_next, answered) {
        (Some(first_next), Some((answered, true))) => Ok((micros(first_next - exec), micros(answered - exec))),
        _ => Err(format!("{} failed its event", binary.display())),
    }
}

/// The zipped size of a binary deployed as `bootstrap`, as Lambda takes it.
fn zipped_size(binary: &Path) -> Result<u64, String> {
    let dir = std::env::temp_dir().join(format!("coldstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let bootstrap = dir.join("bootstrap");
    let archive = dir.join("function.zip");
    std::fs::copy(binary, &bootstrap).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&archive);
    let zipped = std::process::Command::new("zip")
        .args(["-q", "-9", "-j"])
        .arg(&archive)
        .arg(&bootstrap)
        .status()
        .map_err(|e| format!("zip: {e}"))?;
    if !zipped.success() {
        return Err("zip failed".into());
    }
    std::fs::metadata(&archive).map(|meta| meta.len()).map_err(|e| e.to_string())
}

/// Starts every function of `functions` `starts` times each; `environment` is what Lambda would
/// give it (the template's variables, resolved, and the local endpoints).
pub async fn measure(
    functions: &[&str],
    binaries: &Path,
    events: &Path,
    environment: BTreeMap<String, String>,
    starts: usize,
) -> Result<Value, String> {
    let api = RuntimeApi::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let router = api.clone().router();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut results = BTreeMap::new();
    let (mut all_init, mut all_answer, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
    for function in functions {
        let binary = binaries.join(function);
        let event = std::fs::read(events.join(format!("{function}.json"))).map_err(|e| format!("{function}: {e}"))?;
        let mut environment = environment.clone();
        environment.insert("AWS_LAMBDA_RUNTIME_API".into(), addr.to_string());
        environment.insert("AWS_LAMBDA_FUNCTION_NAME".into(), (*function).to_owned());
        let mut figures = Starts {
            init_us: Vec::new(),
            answer_us: Vec::new(),
            failed: 0,
        };
        for _ in 0..starts {
            match start_once(&api, &binary, &environment, &event).await {
                Ok((init, answer)) => {
                    figures.init_us.push(init);
                    figures.answer_us.push(answer);
                }
                Err(err) => {
                    eprintln!("{err}");
                    figures.failed += 1;
                }
            }
        }
        figures.init_us.sort_unstable();
        figures.answer_us.sort_unstable();
        let zipped = zipped_size(&binary)?;
        let size = std::fs::metadata(&binary).map(|meta| meta.len()).unwrap_or(0);
        println!(
            "{function:<24} init p50 {:>7.2} ms  first answer p50 {:>7.2} ms  binary {:>5.2} MiB  zipped {:>5.2} MiB  failed {}",
            percentile(&figures.init_us, 50.0),
            percentile(&figures.answer_us, 50.0),
            size as f64 / 1_048_576.0,
            zipped as f64 / 1_048_576.0,
            figures.failed
        );
        all_init.extend(&figures.init_us);
        all_answer.extend(&figures.answer_us);
        sizes.push(zipped);
        results.insert(
            (*function).to_owned(),
            json!({
                "init_p50_ms": percentile(&figures.init_us, 50.0),
                "first_answer_p50_ms": percentile(&figures.answer_us, 50.0),
                "binary_bytes": size,
                "zipped_bytes": zipped,
                "failed_starts": figures.failed,
            }),
        );
    }
    server.abort();
    all_init.sort_unstable();
    all_answer.sort_unstable();
    let failed: u64 = results.values().filter_map(|r| r["failed_starts"].as_u64()).sum();
    println!(
        "all functions: init p50 {:.2} ms, first answer p50 {:.2} ms, largest zip {:.2} MiB",
        percentile(&all_init, 50.0),
        percentile(&all_answer, 50.0),
        sizes.iter().max().copied().unwrap_or(0) as f64 / 1_048_576.0
    );
    if failed > 0 {
        return Err(format!("{failed} starts failed"));
    }
    Ok(json!({
        "starts_per_function": starts,
        "functions": results,
        "init_p50_ms": percentile(&all_init, 50.0),
        "first_answer_p50_ms": percentile(&all_answer, 50.0),
        "largest_zip_bytes": sizes.iter().max(),
    }))
}
