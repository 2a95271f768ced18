//! Per-endpoint figures: requests, answers by status and code, throughput, latency percentiles.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Default)]
struct Samples {
    latencies_us: Vec<u64>,
    outcomes: BTreeMap<String, u64>,
    /// From each answer's `Server-Timing`, where it had one.
    db_us: Vec<u64>,
    queue_us: Vec<u64>,
    app_us: Vec<u64>,
    /// What the client waited beyond the handler's own time: the gateway (API Gateway's stand-in:
    /// HTTP, the JWT check, the event), the network and the client.
    outside_us: Vec<u64>,
    db_calls: Vec<u64>,
}

/// A response's `Server-Timing`: storage, queues and the service's own time, as it reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerTiming {
    pub db: Duration,
    pub db_calls: u64,
    pub queue: Duration,
    pub app: Duration,
}

impl ServerTiming {
    /// Reads `db;dur=3.1;desc="2 calls", queue;dur=0.0;desc="0 calls", app;dur=0.4`.
    pub fn parse(header: &str) -> Option<Self> {
        let mut timing = Self::default();
        for part in header.split(',') {
            let mut fields = part.trim().split(';');
            let name = fields.next()?;
            let (mut duration, mut calls) = (None, None);
            for field in fields {
                match field.split_once('=') {
                    Some(("dur", value)) => duration = value.parse::<f64>().ok().map(|ms| Duration::from_secs_f64(ms / 1000.0)),
                    Some(("desc", value)) => calls = value.trim_matches('"').split(' ').next().and_then(|n| n.parse().ok()),
                    _ => {}
                }
            }
            match name {
                "db" => {
                    timing.db = duration?;
                    timing.db_calls = calls.unwrap_or(0);
                }
                "queue" => timing.queue = duration?,
                "app" => timing.app = duration?,
                _ => {}
            }
        }
        Some(timing)
    }
}

/// Collects samples from many concurrent callers.
#[derive(Debug, Default)]
pub struct Recorder(Mutex<BTreeMap<String, Samples>>);

#[derive(Debug, Clone, Serialize)]
pub struct EndpointFigures {
    pub endpoint: String,
    pub requests: u64,
    /// Answers by status, and by problem code for errors: `201`, `409 OUT_OF_STOCK`, ...
    pub outcomes: BTreeMap<String, u64>,
    pub errors: u64,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// What the service's `Server-Timing` said, over the answers that carried it.
    pub server_timing: Option<TimingFigures>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimingFigures {
    pub db_p50_ms: f64,
    pub db_p95_ms: f64,
    pub queue_p50_ms: f64,
    pub queue_p95_ms: f64,
    pub app_p50_ms: f64,
    pub app_p95_ms: f64,
    /// Client-side latency less the handler's db, queue and app time: the gateway's share.
    pub outside_p50_ms: f64,
    /// DynamoDB calls per request (counted at the service's storage clients): mean, and most.
    pub db_calls_mean: f64,
    pub db_calls_max: u64,
}

fn sorted(values: &[u64]) -> Vec<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted
}

impl Recorder {
    /// Records one answer; `code` is the problem code of an error answer, if any, and `timing`
    /// what its `Server-Timing` said.
    pub fn record(&self, endpoint: &str, status: u16, code: Option<&str>, latency: Duration, timing: Option<ServerTiming>) {
        let outcome = match code {
            Some(code) if status >= 400 => format!("{status} {code}"),
            _ => status.to_string(),
        };
        let mut all = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let samples = all.entry(endpoint.to_owned()).or_default();
        samples.latencies_us.push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        *samples.outcomes.entry(outcome).or_default() += 1;
        if let Some(timing) = timing {
            let micros = |duration: Duration| u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
            samples.db_us.push(micros(timing.db));
            samples.queue_us.push(micros(timing.queue));
            samples.app_us.push(micros(timing.app));
            samples
                .outside_us
                .push(micros(latency.saturating_sub(timing.db + timing.queue + timing.app)));
            samples.db_calls.push(timing.db_calls);
        }
    }

    pub fn figures(&self, wall: Duration) -> Vec<EndpointFigures> {
        let all = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        all.iter()
            .map(|(endpoint, samples)| {
                let mut sorted = samples.latencies_us.clone();
                sorted.sort_unstable();
                let requests = sorted.len() as u64;
                let errors = samples
                    .outcomes
                    .iter()
                    .filter(|(outcome, _)| !outcome.starts_with('2'))
                    .map(|(_, n)| n)
                    .sum();
                EndpointFigures {
                    endpoint: endpoint.clone(),
                    requests,
                    outcomes: samples.outcomes.clone(),
                    errors,
                    throughput_per_s: requests as f64 / wall.as_secs_f64().max(1e-9),
                    p50_ms: percentile(&sorted, 50.0),
                    p95_ms: percentile(&sorted, 95.0),
                    p99_ms: percentile(&sorted, 99.0),
                    server_timing: (!samples.db_us.is_empty()).then(|| {
                        let (db, queue, app, outside) = (
                            self::sorted(&samples.db_us),
                            self::sorted(&samples.queue_us),
                            self::sorted(&samples.app_us),
                            self::sorted(&samples.outside_us),
                        );
                        TimingFigures {
                            db_p50_ms: percentile(&db, 50.0),
                            db_p95_ms: percentile(&db, 95.0),
                            queue_p50_ms: percentile(&queue, 50.0),
                            queue_p95_ms: percentile(&queue, 95.0),
                            app_p50_ms: percentile(&app, 50.0),
                            app_p95_ms: percentile(&app, 95.0),
                            outside_p50_ms: percentile(&outside, 50.0),
                            db_calls_mean: samples.db_calls.iter().sum::<u64>() as f64 / samples.db_calls.len() as f64,
                            db_calls_max: samples.db_calls.iter().copied().max().unwrap_or(0),
                        }
                    }),
                }
            })
            .collect()
    }
}

/// The nearest-rank percentile of sorted microsecond samples, in milliseconds.
pub fn percentile(sorted_us: &[u64], pct: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((pct / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

pub fn print_table(figures: &[EndpointFigures]) {
    println!(
        "{:<34} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}  outcomes",
        "endpoint", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"
    );
    for f in figures {
        let outcomes: Vec<String> = f.outcomes.iter().map(|(outcome, n)| format!("{outcome}: {n}")).collect();
        println!(
            "{:<34} {:>8} {:>8} {:>9.1} {:>9.2} {:>9.2} {:>9.2}  {}",
            f.endpoint,
            f.requests,
            f.errors,
            f.throughput_per_s,
            f.p50_ms,
            f.p95_ms,
            f.p99_ms,
            outcomes.join(", ")
        );
    }
}

/// Where each endpoint's time went, as the service's `Server-Timing` says.
pub fn print_timing_table(figures: &[EndpointFigures]) {
    println!(
        "{:<34} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "endpoint", "db calls", "max", "db p50", "db p95", "queue p50", "queue p95", "app p50", "app p95"
    );
    for f in figures {
        let Some(t) = &f.server_timing else { continue };
        println!(
            "{:<34} {:>8.2} {:>8} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            f.endpoint,
            t.db_calls_mean,
            t.db_calls_max,
            t.db_p50_ms,
            t.db_p95_ms,
            t.queue_p50_ms,
            t.queue_p95_ms,
            t.app_p50_ms,
            t.app_p95_ms
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<u64> = (1..=100).map(|n| n * 1000).collect();
        assert_eq!(percentile(&samples, 50.0), 50.0);
        assert_eq!(percentile(&samples, 95.0), 95.0);
        assert_eq!(percentile(&samples, 99.0), 99.0);
        assert_eq!(percentile(&[7000], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn errors_are_counted_by_status_and_code() {
        let recorder = Recorder::default();
        recorder.record("POST /orders", 201, None, Duration::from_millis(3), None);
        recorder.record("POST /orders", 409, Some("OUT_OF_STOCK"), Duration::from_millis(5), None);
        let figures = recorder.figures(Duration::from_secs(1));
        assert_eq!(figures[0].requests, 2);
        assert_eq!(figures[0].errors, 1);
        assert_eq!(figures[0].outcomes.get("409 OUT_OF_STOCK"), Some(&1));
    }

    #[test]
    fn server_timing_is_read_part_by_part_and_summarised_per_endpoint() {
        let timing = ServerTiming::parse("db;dur=3.100;desc=\"2 calls\", queue;dur=0.000;desc=\"0 calls\", app;dur=0.400").unwrap();
        assert_eq!(timing.db_calls, 2);
        assert_eq!(timing.db, Duration::from_micros(3_100));
        assert_eq!(timing.app, Duration::from_micros(400));
        assert_eq!(ServerTiming::parse("db;dur=x"), None);
        let recorder = Recorder::default();
        recorder.record("GET /orders/{id}", 200, None, Duration::from_millis(4), Some(timing));
        let figures = recorder.figures(Duration::from_secs(1));
        let summary = figures[0].server_timing.as_ref().unwrap();
        assert_eq!((summary.db_calls_mean, summary.db_calls_max, summary.app_p50_ms), (2.0, 2, 0.4));
    }
}
