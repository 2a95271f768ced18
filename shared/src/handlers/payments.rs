//! Payment confirmation, failed payments and cancellation.

use lambda_http::{Body, Request};
use serde_json::{json, Map, Value};

use super::{caller, store_failure};
use crate::app::App;
use crate::domain::order::PaymentRefusal;
use crate::domain::validation::FieldErrors;
use crate::domain::{Money, OrderId, PaymentReference};
use crate::http::{json, json_body, path_param, ApiError, HttpResult};
use crate::service::actions::{self, ActionError, CancelReason};

/// Longest reason a customer may give for cancelling.
const MAX_REASON_CHARS: usize = 500;

pub async fn confirm_payment(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let id = order_id(&request)?;
    let body = json_body(&request)?;
    let (reference, amount) = payment_from_json(&body)?;
    let order = actions::confirm_payment(app, id, identity.access(), &reference, amount, &identity.actor())
        .await
        .map_err(refusal)?;
    json(200, &order)
}

/// A failed payment: the order is cancelled and its stock released.
pub async fn payment_failed(app: &App, request: Request) -> HttpResult {
    cancel_with(app, request, |_| CancelReason::PaymentFailed).await
}

/// `POST /orders/{id}/cancel` (optional `{"reason": ".."}`) and `DELETE /orders/{id}`.
pub async fn cancel_order(app: &App, request: Request) -> HttpResult {
    cancel_with(app, request, CancelReason::Requested).await
}

async fn cancel_with(app: &App, request: Request, reason: impl FnOnce(Option<String>) -> CancelReason) -> HttpResult {
    let identity = caller(&request)?;
    let id = order_id(&request)?;
    let reason = reason(optional_reason(&request)?);
    let (order, _) = actions::cancel_order(app, id, identity.access(), &identity.actor(), reason)
        .await
        .map_err(refusal)?;
    json(200, &order)
}

fn order_id(request: &Request) -> Result<OrderId, ApiError> {
    let id = path_param(request, "orderId", OrderId::parse)?;
    tracing::Span::current().record("order_id", tracing::field::display(id));
    Ok(id)
}

fn payment_from_json(body: &Value) -> Result<(PaymentReference, Money), ApiError> {
    let mut errors = FieldErrors::default();
    let object = errors.object(body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["payment_reference", "amount"], "");
    let reference = errors
        .string(&object, "payment_reference", "")
        .and_then(|text| match PaymentReference::parse(text) {
            Ok(reference) => Some(reference),
            Err(err) => {
                errors.push("payment_reference", "INVALID_ID", err.to_string());
                None
            }
        });
    let amount = errors.string(&object, "amount", "").and_then(|text| match Money::parse(text) {
        Ok(amount) => Some(amount),
        Err(err) => {
            errors.push("amount", "INVALID_MONEY", format!("must be a decimal string: {err}"));
            None
        }
    });
    match (reference, amount) {
        (Some(reference), Some(amount)) => errors.into_result((reference, amount)).map_err(ApiError::Validation),
        _ => Err(ApiError::Validation(errors.into_result(()).err().unwrap_or_default())),
    }
}

/// The optional `{"reason": ".."}` body of a cancellation; no body at all is fine.
fn optional_reason(request: &Request) -> Result<Option<String>, ApiError> {
    let empty = match request.body() {
        Body::Empty => true,
        Body::Text(text) => text.trim().is_empty(),
        Body::Binary(bytes) => bytes.iter().all(u8::is_ascii_whitespace),
        _ => true,
    };
    if empty {
        return Ok(None);
    }
    let body = json_body(request)?;
    let mut errors = FieldErrors::default();
    let object = errors.object(&body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["reason"], "");
    let reason = match object.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(text))
            if !text.trim().is_empty() && text.chars().count() <= MAX_REASON_CHARS && !text.chars().any(char::is_control) =>
        {
            Some(text.trim().to_owned())
        }
        Some(_) => {
            errors.push(
                "reason",
                "INVALID_REASON",
                format!("must be 1 to {MAX_REASON_CHARS} printable characters"),
            );
            None
        }
    };
    errors.into_result(reason).map_err(ApiError::Validation)
}

fn refused(status: u16, code: &'static str, message: String, extra: Value) -> ApiError {
    let extra: Map<String, Value> = match extra {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    ApiError::Refused {
        status,
        code,
        message,
        extra,
    }
}

/// One mapping of every action outcome to the answer a client sees.
fn refusal(err: ActionError) -> ApiError {
    match err {
        ActionError::NotFound => ApiError::OrderNotFound,
        ActionError::NotCancellable(err) => refused(409, "ORDER_NOT_CANCELLABLE", err.to_string(), json!({ "order_status": err.status })),
        ActionError::Payment(refusal @ PaymentRefusal::AmountMismatch { expected, .. }) => {
            refused(422, "AMOUNT_MISMATCH", refusal.to_string(), json!({ "expected_amount": expected }))
        }
        ActionError::Payment(refusal @ PaymentRefusal::PaidWithOtherReference) => {
            refused(409, "ALREADY_PAID", refusal.to_string(), json!({}))
        }
        ActionError::Payment(refusal @ PaymentRefusal::NotPayable { status, .. }) => {
            let next = if status.is_terminal() {
                "the payment is recorded for a refund"
            } else {
                "retry once its stock is reserved"
            };
            refused(
                409,
                "ORDER_NOT_PAYABLE",
                format!("{refusal}; {next}"),
                json!({ "order_status": status, "refund_due": status.is_terminal() }),
            )
        }
        ActionError::Contended => ApiError::Unavailable(Box::new(ActionError::Contended)),
        ActionError::Unavailable(err) | ActionError::Store(err) => store_failure(err),
        err @ ActionError::Inconsistent(_) => ApiError::Internal(Box::new(err)),
    }
}
