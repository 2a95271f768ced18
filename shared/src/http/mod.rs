//! The HTTP edge: parsing requests into domain values, and one mapping of every error to a
//! status and a stable problem `code` (RFC 9457 `application/problem+json`).

mod problem;
mod request;
pub mod webhook;

pub use problem::ApiError;
pub use request::{json_body, path_param, query, raw_body, QueryParams};

use lambda_http::{Body, Response};
use serde::Serialize;

pub type HttpResult = Result<Response<Body>, ApiError>;

/// A strong validator of a body: the first 16 hex digits of its SHA-256, quoted.
pub fn entity_tag(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..16])
}

/// Whether the request's `If-None-Match` names `etag` (weak or strong) or `*`: the client's copy
/// is current, and the answer is 304 without a body.
pub fn not_modified(request: &lambda_http::Request, etag: &str) -> bool {
    request
        .headers()
        .get_all(http::header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

pub fn json<T: Serialize>(status: u16, value: &T) -> HttpResult {
    let body = serde_json::to_string(value).map_err(|err| ApiError::Internal(Box::new(err)))?;
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .map_err(|err| ApiError::Internal(Box::new(err)))
}
