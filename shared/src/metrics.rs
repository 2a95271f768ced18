//! CloudWatch metrics through the Embedded Metric Format: one JSON line on stdout per
//! measurement, which Lambda's log pipeline turns into a metric (no API call, no extra latency).
//! Outside Lambda (the local runner, tests, the load generator) they go to the debug log instead.

use serde_json::json;

pub const NAMESPACE: &str = "OrdersService";

pub fn count(name: &str, value: usize, context: &[(&str, &str)]) {
    let mut line = json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": [{ "Name": name, "Unit": "Count" }] }],
        },
        name: value,
    });
    for (key, text) in context {
        line[*key] = json!(text);
    }
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        println!("{line}");
    } else {
        tracing::debug!(metric = name, value, "metric");
    }
}

/// One HTTP request of a function: `Requests`, `ServerErrors` (a 5xx answer) and `Latency`
/// (milliseconds), by `Function`, in one line: the alarms on each function's 5xx rate and p99
/// latency and the dashboard read these.
pub fn request(function: &str, status: u16, latency: std::time::Duration) {
    let line = json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": [
                    { "Name": "Requests", "Unit": "Count" },
                    { "Name": "ServerErrors", "Unit": "Count" },
                    { "Name": "Latency", "Unit": "Milliseconds" }
                ]
            }],
        },
        "Function": function,
        "Requests": 1,
        "ServerErrors": u8::from(status >= 500),
        "Latency": latency.as_secs_f64() * 1000.0,
    });
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        println!("{line}");
    }
}
