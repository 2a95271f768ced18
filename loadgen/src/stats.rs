//! Per-endpoint figures: requests, answers by status and code, throughput, latency percentiles.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Default)]
struct Samples {
    latencies_us: Vec<u64>,
    outcomes: BTreeMap<String, u64>,
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
}

impl Recorder {
    /// Records one answer; `code` is the problem code of an error answer, if any.
    pub fn record(&self, endpoint: &str, status: u16, code: Option<&str>, latency: Duration) {
        let outcome = match code {
            Some(code) if status >= 400 => format!("{status} {code}"),
            _ => status.to_string(),
        };
        let mut all = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let samples = all.entry(endpoint.to_owned()).or_default();
        samples.latencies_us.push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        *samples.outcomes.entry(outcome).or_default() += 1;
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
        recorder.record("POST /orders", 201, None, Duration::from_millis(3));
        recorder.record("POST /orders", 409, Some("OUT_OF_STOCK"), Duration::from_millis(5));
        let figures = recorder.figures(Duration::from_secs(1));
        assert_eq!(figures[0].requests, 2);
        assert_eq!(figures[0].errors, 1);
        assert_eq!(figures[0].outcomes.get("409 OUT_OF_STOCK"), Some(&1));
    }
}
