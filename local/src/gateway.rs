//! Serves the template's HttpApi routes as API Gateway would: route matching, the JWT
//! authorizer, the payload v2 event, then the very handler the Lambda binary runs.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lambda_http::request::LambdaRequest;
use orders_shared::handlers::HttpFunction;
use orders_shared::service::App;
use serde_json::{json, Value};

use crate::template::{Route, RouteLimit};
use crate::token;

/// API Gateway's own limit on a request payload.
const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("route {method} {path} names binary '{binary}', which no handler serves")]
pub struct UnknownFunction {
    pub method: String,
    pub path: String,
    pub binary: String,
}

#[derive(Debug)]
struct CompiledRoute {
    method: String,
    template: String,
    segments: Vec<Segment>,
    function: HttpFunction,
    public: bool,
    /// The route's throttle, as API Gateway applies its stage's route settings.
    limit: Option<TokenBucket>,
}

/// A token bucket: `burst` tokens, refilled at `rate` per second; a request takes one.
#[derive(Debug)]
struct TokenBucket {
    limit: RouteLimit,
    state: std::sync::Mutex<(f64, std::time::Instant)>,
}

impl TokenBucket {
    fn new(limit: RouteLimit) -> Self {
        Self {
            limit,
            state: std::sync::Mutex::new((limit.burst, std::time::Instant::now())),
        }
    }

    fn take(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = std::time::Instant::now();
        let (tokens, last) = *state;
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.limit.rate).min(self.limit.burst);
        let (left, taken) = if tokens >= 1.0 { (tokens - 1.0, true) } else { (tokens, false) };
        *state = (left, now);
        taken
    }
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Param(String),
}

pub struct Gateway {
    app: Arc<App>,
    routes: Vec<CompiledRoute>,
    jwt_secret: String,
}

impl Gateway {
    /// `limits`: the stage's default route limit, and each route's own (by `METHOD /path`).
    pub fn new(
        app: Arc<App>,
        routes: &[Route],
        limits: &(Option<RouteLimit>, std::collections::BTreeMap<String, RouteLimit>),
        jwt_secret: String,
    ) -> Result<Self, UnknownFunction> {
        let mut compiled = routes
            .iter()
            .map(|route| {
                let function = HttpFunction::from_name(&route.binary).ok_or_else(|| UnknownFunction {
                    method: route.method.clone(),
                    path: route.path.clone(),
                    binary: route.binary.clone(),
                })?;
                let segments = route
                    .path
                    .trim_matches('/')
                    .split('/')
                    .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(segment.to_owned()),
                    })
                    .collect();
                let method = route.method.to_ascii_uppercase();
                let own = limits.1.get(&format!("{method} {}", route.path)).copied();
                Ok(CompiledRoute {
                    limit: own.or(limits.0).map(TokenBucket::new),
                    method,
                    template: route.path.clone(),
                    segments,
                    function,
                    public: route.public,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Literal segments win over parameters, as in API Gateway.
        compiled.sort_by_key(|route| std::cmp::Reverse(route.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count()));
        Ok(Self {
            app,
            routes: compiled,
            jwt_secret,
        })
    }

    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/health", axum::routing::get(|| async { axum::Json(json!({"status": "ok"})) }))
            .fallback(serve)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_PAYLOAD_BYTES))
            .with_state(Arc::new(self))
    }

    fn find(&self, method: &str, path: &str) -> Option<(&CompiledRoute, HashMap<String, String>)> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.routes
            .iter()
            .filter(|route| route.method == method && route.segments.len() == parts.len())
            .find_map(|route| {
                let mut params = HashMap::new();
                for (segment, part) in route.segments.iter().zip(&parts) {
                    match segment {
                        Segment::Literal(literal) if literal == part => {}
                        Segment::Param(name) if !part.is_empty() => {
                            params.insert(name.clone(), percent_decode(part));
                        }
                        _ => return None,
                    }
                }
                Some((route, params))
            })
    }
}

fn gateway_message(status: u16, message: &str) -> Response {
    let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(json!({ "message": message }))).into_response()
}

async fn serve(State(gateway): State<Arc<Gateway>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let Some((route, path_params)) = gateway.find(parts.method.as_str(), &path) else {
        return gateway_message(404, "Not Found");
    };
    if route.limit.as_ref().is_some_and(|bucket| !bucket.take()) {
        return gateway_message(429, "Too Many Requests");
    }
    let claims = if route.public {
        None
    } else {
        match bearer(&parts.headers).map(|token| token::verify(&gateway.jwt_secret, token)) {
            Some(Ok(claims)) => Some(claims.as_gateway_claims()),
            _ => return gateway_message(401, "Unauthorized"),
        }
    };
    let body = match axum::body::to_bytes(body, MAX_PAYLOAD_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return gateway_message(413, "Request Entity Too Large"),
    };
    let event = payload_v2(&parts, route, path_params, claims, &body);
    let request: http::Request<lambda_http::Body> = match serde_json::from_value::<LambdaRequest>(event) {
        Ok(lambda_request) => lambda_request.into(),
        Err(err) => {
            tracing::error!(error = %err, "could not build the API Gateway event");
            return gateway_message(500, "Internal Server Error");
        }
    };
    let response = route.function.handle(&gateway.app, request).await;
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Text(text) => text.into_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// The HTTP API payload format 2.0 event for this request.
fn payload_v2(
    parts: &http::request::Parts,
    route: &CompiledRoute,
    path_params: HashMap<String, String>,
    claims: Option<HashMap<String, String>>,
    body: &Bytes,
) -> Value {
    let mut headers: HashMap<String, String> = HashMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.push(value);
            continue;
        }
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (Value::String(base64::engine::general_purpose::STANDARD.encode(body)), true),
    };
    let route_key = format!("{} {}", route.method, route.template);
    let now = chrono::Utc::now();
    // A route without an authorizer gets no authorizer context at all, as in API Gateway.
    let authorizer = claims.map(|claims| json!({ "jwt": { "claims": claims, "scopes": null } }));
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": parts.uri.query().unwrap_or_default(),
        "cookies": cookies,
        "headers": headers,
        "pathParameters": path_params,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "authorizer": authorizer,
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": route.method,
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": parts.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default(),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// API Gateway hands path parameters to functions percent-decoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn path_parameters_are_percent_decoded() {
        assert_eq!(percent_decode("sku%2D1"), "sku-1");
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
