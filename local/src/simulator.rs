//! The payment provider's checkout, simulated (local only): `GET /simulator/payments/{id}`
//! shows what is to be paid with Pay and Decline buttons; `POST .../succeed` or `.../fail` makes
//! the provider's decision and sends its signed webhook to the API's own webhook route, as the
//! real provider would. A deployment has a real provider instead: nothing here is deployed.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use orders_shared::adapters::provider::{SimulatedPayment, SimulatedProvider, SIMULATOR_PATH};
use orders_shared::http::webhook::{WebhookSecret, SIGNATURE_HEADER};
use serde_json::json;
use tower::ServiceExt;

/// Where the webhook goes.
const WEBHOOK_PATH: &str = "/api/v1/payments/webhook";

#[derive(Clone)]
pub struct Simulator {
    pub provider: Arc<SimulatedProvider>,
    pub secret: WebhookSecret,
    /// The API the webhook is sent to (the gateway's own routes).
    pub api: axum::Router,
}

impl Simulator {
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route(&format!("{SIMULATOR_PATH}/{{payment_id}}"), axum::routing::get(checkout))
            .route(&format!("{SIMULATOR_PATH}/{{payment_id}}/{{outcome}}"), axum::routing::post(decide))
            .with_state(Arc::new(self))
    }
}

/// Percent-encodes what a query value cannot hold as is.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Where the shop asked the customer to be sent back after deciding: a path of this site only.
#[derive(serde::Deserialize)]
struct Return {
    return_to: Option<String>,
}

impl Return {
    fn path(&self) -> Option<&str> {
        self.return_to
            .as_deref()
            .filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
    }
}

fn unknown() -> Response {
    (http::StatusCode::NOT_FOUND, axum::Json(json!({"message": "no such payment"}))).into_response()
}

async fn checkout(State(simulator): State<Arc<Simulator>>, Path(payment_id): Path<String>, Query(back): Query<Return>) -> Response {
    let Some(payment) = simulator.provider.payment(&payment_id) else {
        return unknown();
    };
    let id = escape(&payment_id);
    let back = back
        .path()
        .map(|path| format!("?return_to={}", escape(&percent_encode(path))))
        .unwrap_or_default();
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Payment simulator</title><link rel="icon" href="data:,">
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}button{{font:inherit;padding:.6rem 1.2rem;margin-right:.5rem}}</style></head>
<body><main>
<h1>Payment simulator</h1>
<p>Local only: this stands in for the payment provider's checkout.</p>
<p>Order <code>{order}</code>: <strong>{amount} {currency}</strong> by {method}.</p>
<form method="post" action="{SIMULATOR_PATH}/{id}/succeed{back}"><button type="submit">Pay</button></form>
<form method="post" action="{SIMULATOR_PATH}/{id}/fail{back}"><button type="submit">Decline</button></form>
</main></body></html>"#,
        order = payment.order_id,
        amount = payment.amount,
        currency = escape(&payment.currency),
        method = payment.method,
    ))
    .into_response()
}

/// Sends the provider's signed webhook for the decision and answers what the API answered.
async fn decide(
    State(simulator): State<Arc<Simulator>>,
    Path((payment_id, outcome)): Path<(String, String)>,
    Query(back): Query<Return>,
) -> Response {
    let Some(payment) = simulator.provider.payment(&payment_id) else {
        return unknown();
    };
    let kind = match outcome.as_str() {
        "succeed" => "payment.succeeded",
        "fail" => "payment.failed",
        _ => return unknown(),
    };
    match (send_webhook(&simulator, &payment, kind).await, back.path()) {
        // A browser that came from the shop goes back there.
        (Ok(_), Some(path)) => axum::response::Redirect::to(path).into_response(),
        (Ok((status, answer)), None) => (
            http::StatusCode::OK,
            axum::Json(json!({"payment_id": payment_id, "event": kind, "webhook_status": status, "order": answer})),
        )
            .into_response(),
        (Err(message), _) => (http::StatusCode::BAD_GATEWAY, axum::Json(json!({ "message": message }))).into_response(),
    }
}

async fn send_webhook(simulator: &Simulator, payment: &SimulatedPayment, kind: &str) -> Result<(u16, serde_json::Value), String> {
    let body = json!({
        "type": kind,
        "order_id": payment.order_id,
        "payment_reference": payment.intent.payment_id,
        "amount": payment.amount,
        "currency": payment.currency,
    })
    .to_string();
    let signature = simulator.secret.sign(chrono::Utc::now().timestamp(), body.as_bytes());
    let request = http::Request::post(WEBHOOK_PATH)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(axum::body::Body::from(body))
        .map_err(|err| err.to_string())?;
    let response = simulator.api.clone().oneshot(request).await.map_err(|err| err.to_string())?;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .map_err(|err| err.to_string())?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or_default()))
}
