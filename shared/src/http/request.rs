use lambda_http::{Body, Request, RequestExt};
use serde_json::Value;

use super::ApiError;

/// Bodies above this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The request body as JSON, refusing other media types, oversized bodies and bad syntax.
pub fn json_body(request: &Request) -> Result<Value, ApiError> {
    if let Some(content_type) = request.headers().get(http::header::CONTENT_TYPE) {
        let media = content_type
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media != "application/json" && !media.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes = raw_body(request);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson("the body is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|err| ApiError::MalformedJson(err.to_string()))
}

/// The body exactly as it arrived (what a signature covers).
pub fn raw_body(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// A path parameter, parsed by `parse`; the route guarantees it is present.
pub fn path_param<T, E>(request: &Request, name: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T, ApiError>
where
    E: std::fmt::Display,
{
    let params = request.path_parameters_ref();
    let raw = params.and_then(|params| params.first(name)).unwrap_or_default();
    parse(raw).map_err(|err| ApiError::bad_parameter(name, "INVALID_PATH_PARAMETER", format!("{name}: {err}")))
}

/// Query parameters, with unknown and repeated names refused so a typo never goes unnoticed.
pub struct QueryParams<'a>(Option<&'a lambda_http::aws_lambda_events::query_map::QueryMap>);

/// Names the original requirements use for parameters of ours (`start_date` for `from`), taken
/// wherever ours are.
const ALIASES: [(&str, &str); 2] = [("start_date", "from"), ("end_date", "to")];

/// Our name for a parameter given under `name`.
fn canonical(name: &str) -> &str {
    ALIASES.iter().find(|(alias, _)| *alias == name).map_or(name, |(_, ours)| ours)
}

pub fn query<'a>(request: &'a Request, allowed: &[&str]) -> Result<QueryParams<'a>, ApiError> {
    let params = request.query_string_parameters_ref();
    if let Some(params) = params {
        for (name, _) in params.iter() {
            let ours = canonical(name);
            if ours != name && params.first(ours).is_some() {
                return Err(ApiError::bad_parameter(
                    name,
                    "REPEATED_PARAMETER",
                    format!("query parameter '{name}' repeats '{ours}'; give one of them"),
                ));
            }
            if !allowed.contains(&ours) {
                return Err(ApiError::bad_parameter(
                    name,
                    "UNKNOWN_PARAMETER",
                    format!("unknown query parameter '{name}'"),
                ));
            }
            if params.all(name).is_some_and(|values| values.len() > 1) {
                return Err(ApiError::bad_parameter(
                    name,
                    "REPEATED_PARAMETER",
                    format!("query parameter '{name}' is given more than once"),
                ));
            }
        }
    }
    Ok(QueryParams(params))
}

impl QueryParams<'_> {
    /// The parameter under our name, or under the name the requirements give it.
    pub fn get(&self, name: &str) -> Option<&str> {
        let alias = ALIASES.iter().find(|(_, ours)| *ours == name).map(|(alias, _)| *alias);
        self.0.and_then(|params| params.first(name).or_else(|| params.first(alias?)))
    }

    /// Parses a parameter when present, naming it in the error when it is malformed.
    pub fn parse<T>(&self, name: &str, parse: impl FnOnce(&str) -> Option<T>, expected: &str) -> Result<Option<T>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => parse(raw)
                .map(Some)
                .ok_or_else(|| ApiError::bad_parameter(name, "INVALID_QUERY_PARAMETER", format!("{name} must be {expected}"))),
        }
    }
}
