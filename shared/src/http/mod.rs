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

pub fn json<T: Serialize>(status: u16, value: &T) -> HttpResult {
    let body = serde_json::to_string(value).map_err(|err| ApiError::Internal(Box::new(err)))?;
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .map_err(|err| ApiError::Internal(Box::new(err)))
}
