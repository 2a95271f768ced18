use lambda_http::{Body, Response};
use serde_json::{json, Map, Value};

use crate::domain::cart::PriceChange;
use crate::domain::validation::FieldError;
use crate::domain::{LineProblemCode, Order};
use crate::ports::{BoxError, StoreError};

/// Everything a request can end in other than success. Clients see the status, a stable
/// `code` and a human `detail`; internals go to the log only.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid bearer token is required")]
    Unauthenticated,
    #[error("this action is for admins only")]
    Forbidden,
    #[error("payments are confirmed by the payment provider's webhook or the payments service, not by customers")]
    PaymentsOnly,
    #[error("{0}")]
    InvalidSignature(#[from] super::webhook::SignatureError),
    #[error("order not found")]
    OrderNotFound,
    #[error("product not found")]
    ProductNotFound,
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    BadParameter { name: String, code: &'static str, message: String },
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    #[error("the order cannot be fulfilled as asked")]
    OrderInvalid(Box<Order>),
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    /// A business rule refuses the request as it stands (409) or as it is worded (422).
    #[error("{message}")]
    Refused {
        status: u16,
        code: &'static str,
        message: String,
        extra: Map<String, Value>,
    },
    #[error("on_hand {on_hand} is below the {reserved} units held by active reservations")]
    OnHandBelowReserved { on_hand: i64, reserved: i64 },
    #[error("the service is briefly unavailable; retry the request (with the same Idempotency-Key)")]
    Unavailable(#[source] BoxError),
    /// The storage breaker is open: answered at once, without trying storage.
    #[error("storage keeps failing; the request was not tried. Retry after {retry_after_secs} s")]
    StorageBreakerOpen { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] BoxError),
    /// The stored order disagrees with itself (its stock, say): retrying cannot help, and the
    /// operators have been told (log and `OrderInconsistent` metric).
    #[error("the order's stored state is inconsistent and needs an operator; it has been reported")]
    OrderInconsistent(#[source] BoxError),
    /// The function died (an injected crash): the client sees what API Gateway shows then.
    #[error("the function crashed")]
    Crashed,
}

/// Storage that failed for a while (throttled, timed out, unreachable) is 503: the client may
/// retry. Anything else it answered is a fault of ours: 500.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if err.is_transient() {
            Self::Unavailable(Box::new(err))
        } else {
            Self::Internal(Box::new(err))
        }
    }
}

impl ApiError {
    /// A business rule's refusal: its status, stable code, message and the fields a client may
    /// act on (an object; anything else adds none).
    pub fn refused(status: u16, code: &'static str, message: String, extra: Value) -> Self {
        let extra: Map<String, Value> = match extra {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self::Refused {
            status,
            code,
            message,
            extra,
        }
    }

    pub fn bad_parameter(name: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::BadParameter {
            name: name.to_owned(),
            code,
            message: message.into(),
        }
    }

    /// 409 `PRICE_CHANGED`, one shape wherever a price moved under a request (checkout, an
    /// edit): `changes` holds each product's old and new price.
    pub fn price_changed(message: impl Into<String>, changes: &[PriceChange]) -> Self {
        Self::Refused {
            status: 409,
            code: "PRICE_CHANGED",
            message: message.into(),
            extra: Map::from_iter([("changes".to_owned(), json!(changes))]),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden | Self::PaymentsOnly => 403,
            Self::InvalidSignature(_) => 401,
            Self::OrderNotFound | Self::ProductNotFound => 404,
            Self::MalformedJson(_) | Self::BadParameter { .. } => 400,
            Self::OrderInvalid(_) | Self::OnHandBelowReserved { .. } => 409,
            Self::Refused { status, .. } => *status,
            Self::PayloadTooLarge { .. } => 413,
            Self::UnsupportedMediaType => 415,
            Self::Validation(_) | Self::IdempotencyKeyReused => 422,
            Self::Internal(_) | Self::OrderInconsistent(_) => 500,
            Self::Crashed => 502,
            Self::Unavailable(_) | Self::StorageBreakerOpen { .. } => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden | Self::PaymentsOnly => "FORBIDDEN",
            Self::InvalidSignature(_) => "INVALID_SIGNATURE",
            Self::OrderNotFound => "ORDER_NOT_FOUND",
            Self::ProductNotFound => "PRODUCT_NOT_FOUND",
            Self::MalformedJson(_) => "MALFORMED_JSON",
            Self::Validation(_) => "VALIDATION_FAILED",
            Self::BadParameter { code, .. } => code,
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::OrderInvalid(order) => order.invalid_reason().unwrap_or(LineProblemCode::OutOfStock).as_str(),
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::Refused { code, .. } => code,
            Self::OnHandBelowReserved { .. } => "ON_HAND_BELOW_RESERVED",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::StorageBreakerOpen { .. } => "STORAGE_BREAKER_OPEN",
            Self::Internal(_) => "INTERNAL_ERROR",
            Self::OrderInconsistent(_) => "ORDER_INCONSISTENT",
            Self::Crashed => "FUNCTION_CRASHED",
        }
    }

    fn title(&self) -> &'static str {
        match self.status() {
            400 => "Bad request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not found",
            409 => "Conflict",
            412 => "Precondition failed",
            413 => "Payload too large",
            415 => "Unsupported media type",
            422 => "Unprocessable content",
            503 => "Service unavailable",
            _ => "Internal server error",
        }
    }

    /// What the client may know beyond status, code and detail.
    fn extensions(&self) -> Map<String, Value> {
        let mut extra = Map::new();
        match self {
            Self::Validation(errors) => {
                extra.insert("errors".into(), json!(errors));
            }
            Self::BadParameter { name, .. } => {
                extra.insert("parameter".into(), json!(name));
            }
            Self::OrderInvalid(order) => {
                extra.insert("order_id".into(), json!(order.id));
                extra.insert("lines".into(), json!(order.problems));
            }
            Self::OnHandBelowReserved { reserved, .. } => {
                extra.insert("reserved".into(), json!(reserved));
            }
            Self::Refused { extra: fields, .. } => extra.extend(fields.clone()),
            _ => {}
        }
        extra
    }

    /// The problem response; server-side failures are logged with their whole cause chain.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        if let Self::Crashed = self {
            let mut response = Response::new(Body::Text(json!({"message": "Internal Server Error"}).to_string()));
            *response.status_mut() = http::StatusCode::BAD_GATEWAY;
            return response;
        }
        match &self {
            Self::Internal(_) | Self::OrderInconsistent(_) => {
                tracing::error!(code = self.code(), error = %crate::error_chain(&self), "request failed")
            }
            Self::Unavailable(_) => tracing::warn!(code = self.code(), error = %crate::error_chain(&self), "request failed"),
            _ => tracing::info!(code = self.code(), status, "request refused"),
        }
        let mut body = self.extensions();
        body.insert("title".into(), json!(self.title()));
        body.insert("status".into(), json!(status));
        body.insert("code".into(), json!(self.code()));
        body.insert("detail".into(), json!(self.to_string()));
        let mut response = Response::builder()
            .status(status)
            .header("content-type", "application/problem+json");
        match &self {
            Self::StorageBreakerOpen { retry_after_secs } => response = response.header("retry-after", retry_after_secs.to_string()),
            _ if status == 503 => response = response.header("retry-after", "1"),
            _ => {}
        }
        response.body(Body::Text(Value::Object(body).to_string())).unwrap_or_else(|_| {
            let mut fallback = Response::new(Body::Empty);
            *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
    }
}
