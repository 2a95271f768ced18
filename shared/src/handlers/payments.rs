//! Starting a payment (the customer), payment confirmation (by the provider's signed webhook,
//! the payments service or an admin), failed payments and cancellation.

use lambda_http::{Body, Request};
use serde_json::{json, Map, Value};

use super::caller;
use crate::adapters::stripe::events::read_event;
use crate::auth::Identity;
use crate::domain::order::PaymentRefusal;
use crate::domain::order::{PaymentMethod, StartRefusal};
use crate::domain::validation::FieldErrors;
use crate::domain::Order;
use crate::domain::{Actor, Money, OrderId, PaymentReference};
use crate::http::webhook::SIGNATURE_HEADER;
use crate::http::{json, json_body, path_param, raw_body, ApiError, HttpResult};
use crate::service::actions::{self, Access, ActionError, CancelReason};
use crate::service::payments::{self as payment_start, Applied, StartError};
use crate::service::App;

/// Longest reason a customer may give for cancelling.
const MAX_REASON_CHARS: usize = 500;

/// The component named in the timeline for what the provider's webhook reports.
pub const PAYMENT_PROVIDER: &str = "payment-provider";

/// `POST /orders/{id}/payment` (`{"method": "online" | "wallet" | "cod"}`), by the order's
/// owner (or an admin): 201 with the payment started, 200 with the same one when asked again.
pub async fn start_payment(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let id = order_id(&request)?;
    let method = method_from_json(&json_body(&request)?)?;
    let started = payment_start::start_payment(app.payment_start(), id, identity.access(), method, &identity.actor()).await?;
    json(
        if started.new { 201 } else { 200 },
        &payment_answer(&started.order, started.intent()),
    )
}

fn method_from_json(body: &Value) -> Result<PaymentMethod, ApiError> {
    let mut errors = FieldErrors::default();
    let object = errors.object(body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["method"], "");
    let method = errors
        .string(&object, "method", "")
        .and_then(|text| match text.parse::<PaymentMethod>() {
            Ok(method) => Some(method),
            Err(err) => {
                errors.push("method", "INVALID_PAYMENT_METHOD", err.to_string());
                None
            }
        });
    match method {
        Some(method) => errors.into_result(method).map_err(ApiError::Validation),
        None => Err(ApiError::Validation(errors.into_result(()).err().unwrap_or_default())),
    }
}

/// What the customer needs to complete the payment: the provider's intent (online, wallet),
/// or, for cash on delivery, what the courier collects.
fn payment_answer(order: &Order, intent: Option<&crate::domain::order::PaymentIntent>) -> Value {
    let mut answer = json!({
        "order_id": order.id,
        "order_number": order.order_number,
        "order_status": order.status,
        "payment_status": order.payment_status,
        "currency": order.currency,
    });
    match intent {
        Some(intent) => {
            answer["payment_id"] = json!(intent.payment_id);
            answer["method"] = json!(intent.method);
            answer["amount"] = json!(intent.amount);
            answer["redirect_url"] = json!(intent.redirect_url);
            answer["client_secret"] = json!(intent.client_secret);
        }
        None => {
            answer["method"] = json!(PaymentMethod::Cod);
            answer["amount"] = json!(order.cash_due());
        }
    }
    answer
}

impl From<StartError> for ApiError {
    fn from(err: StartError) -> Self {
        let message = err.to_string();
        match err {
            StartError::Refused(StartRefusal::NotPayable { status }) => {
                ApiError::refused(409, "ORDER_NOT_PAYABLE", message, json!({ "order_status": status }))
            }
            StartError::Refused(StartRefusal::AlreadyStarted { method }) => {
                ApiError::refused(409, "PAYMENT_ALREADY_STARTED", message, json!({ "payment_method": method }))
            }
            StartError::Refused(StartRefusal::CodLimit { max }) => {
                ApiError::refused(409, "COD_LIMIT_EXCEEDED", message, json!({ "max_total": max }))
            }
            StartError::Provider(err) => provider_problem(err),
            StartError::Action(err) => ApiError::from(err),
        }
    }
}

/// Stripe unreachable or failing is 503 (try again); a refusal is 502, its reason in the logs.
fn provider_problem(err: crate::ports::ProviderError) -> ApiError {
    match err {
        err @ crate::ports::ProviderError::Unavailable(_) => ApiError::Unavailable(Box::new(err)),
        err @ crate::ports::ProviderError::Refused(_) => {
            tracing::error!(error = %err, "the payment provider refused");
            ApiError::refused(
                502,
                "PAYMENT_PROVIDER_REFUSED",
                "the payment provider refused the request".to_owned(),
                json!({}),
            )
        }
    }
}

/// `POST /orders/{id}/confirm`, for the payments service and admins; a customer never marks
/// their own order paid.
pub async fn confirm_payment(app: &App, request: Request) -> HttpResult {
    let identity = payments_caller(&request)?;
    let id = order_id(&request)?;
    let body = json_body(&request)?;
    let (reference, amount) = payment_from_json(&body)?;
    confirm(app, id, &reference, amount, &identity.actor()).await
}

/// `POST /orders/{id}/payment-failed`, for the payments service and admins: the order is
/// cancelled and its stock released.
pub async fn payment_failed(app: &App, request: Request) -> HttpResult {
    let identity = payments_caller(&request)?;
    let id = order_id(&request)?;
    let reason = optional_reason(&request)?;
    let reason = CancelReason::PaymentFailed { reason };
    let (order, _) = actions::cancel_order(app.order_changes(), id, Access::Anyone, &identity.actor(), reason).await?;
    json(200, &order)
}

/// `POST /payments/webhook`: Stripe's signed events, with no JWT. A missing, forged or stale
/// signature changes nothing (401). Every event Stripe sends is answered 200 once applied,
/// known or of a type this service does not act on (Stripe disables an endpoint that keeps
/// failing); only a failure to store is 5xx, so that Stripe delivers the event again.
pub async fn payment_webhook(app: &App, request: Request) -> HttpResult {
    let secret = app
        .webhook_secret
        .as_ref()
        .ok_or_else(|| ApiError::Internal("STRIPE_WEBHOOK_SECRET_ARN is not configured for this function".into()))?;
    let signature = request.headers().get(SIGNATURE_HEADER).and_then(|value| value.to_str().ok());
    secret.verify(signature, raw_body(&request), app.clock.now())?;
    let report = read_event(raw_body(&request), &app.shop_id).map_err(|err| {
        let mut errors = FieldErrors::default();
        errors.push("", "INVALID_EVENT", err.to_string());
        ApiError::Validation(errors.into_result(()).err().unwrap_or_default())
    })?;
    if let Some(order) = report.event.order() {
        tracing::Span::current().record("order_id", tracing::field::display(order));
    }
    let applied = payment_start::apply_report(app.provider_reports(), &report, &Actor::system(PAYMENT_PROVIDER)).await?;
    tracing::info!(event = %report.event_id, kind = %report.kind, outcome = applied.outcome(), "provider event");
    // Ids and statuses only: Stripe keeps the answer in its delivery log, which is no place for
    // the customer's name and address.
    let mut answer = json!({"event_id": report.event_id, "type": report.kind, "outcome": applied.outcome()});
    match applied {
        Applied::Paid(order) | Applied::AttemptClosed(order) | Applied::RefundProgress(order) | Applied::Disputed(order) => {
            answer["order_id"] = json!(order.id);
            answer["order_status"] = json!(order.status);
            answer["payment_status"] = json!(order.payment_status);
        }
        Applied::RefundDue { order, reason } => {
            answer["order_id"] = json!(order);
            answer["reason"] = json!(reason);
        }
        Applied::Unchanged | Applied::Ignored | Applied::Duplicate => {}
    }
    json(200, &answer)
}

async fn confirm(app: &App, id: OrderId, reference: &PaymentReference, amount: Money, actor: &Actor) -> HttpResult {
    let order = actions::confirm_payment(app.order_changes(), id, Access::Anyone, reference, amount, actor).await?;
    json(200, &order)
}

/// `POST /orders/{id}/cancel` (optional `{"reason": ".."}`) and `DELETE /orders/{id}`.
pub async fn cancel_order(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let id = order_id(&request)?;
    let reason = CancelReason::Requested(optional_reason(&request)?);
    let (order, _) = actions::cancel_order(app.order_changes(), id, identity.access(), &identity.actor(), reason).await?;
    json(200, &order)
}

/// The authenticated caller if it may report payments: the payments service or an admin.
fn payments_caller(request: &Request) -> Result<Identity, ApiError> {
    let identity = caller(request)?;
    if identity.is_admin || identity.is_payments_service {
        Ok(identity)
    } else {
        Err(ApiError::PaymentsOnly)
    }
}

pub(crate) fn order_id(request: &Request) -> Result<OrderId, ApiError> {
    let id = path_param(request, "orderId", OrderId::parse)?;
    tracing::Span::current().record("order_id", tracing::field::display(id));
    Ok(id)
}

fn payment_from_json(body: &Value) -> Result<(PaymentReference, Money), ApiError> {
    let mut errors = FieldErrors::default();
    let object = errors.object(body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["payment_reference", "amount"], "");
    match payment_from_object(&object, &mut errors) {
        Some(payment) => errors.into_result(payment).map_err(ApiError::Validation),
        None => Err(ApiError::Validation(errors.into_result(()).err().unwrap_or_default())),
    }
}

/// `payment_reference` and `amount`, each checked; problems go to `errors`.
fn payment_from_object(object: &Map<String, Value>, errors: &mut FieldErrors) -> Option<(PaymentReference, Money)> {
    let reference = errors
        .string(object, "payment_reference", "")
        .and_then(|text| match PaymentReference::parse(text) {
            Ok(reference) => Some(reference),
            Err(err) => {
                errors.push("payment_reference", "INVALID_ID", err.to_string());
                None
            }
        });
    let amount = errors.string(object, "amount", "").and_then(|text| match Money::parse(text) {
        Ok(amount) => Some(amount),
        Err(err) => {
            errors.push("amount", "INVALID_MONEY", format!("must be a decimal string: {err}"));
            None
        }
    });
    Some((reference?, amount?))
}

/// The optional `{"reason": ".."}` body of a cancellation; no body at all is fine.
fn optional_reason(request: &Request) -> Result<Option<String>, ApiError> {
    if body_is_empty(request) {
        return Ok(None);
    }
    let body = json_body(request)?;
    let mut errors = FieldErrors::default();
    let object = errors.object(&body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["reason"], "");
    let reason = match object.get("reason") {
        None | Some(Value::Null) => None,
        Some(_) => errors.printable(&object, "reason", MAX_REASON_CHARS, "INVALID_REASON"),
    };
    errors.into_result(reason).map_err(ApiError::Validation)
}

/// Whether the request came without a body (or with only whitespace).
pub(crate) fn body_is_empty(request: &Request) -> bool {
    match request.body() {
        Body::Empty => true,
        Body::Text(text) => text.trim().is_empty(),
        Body::Binary(bytes) => bytes.iter().all(u8::is_ascii_whitespace),
        _ => true,
    }
}

/// One mapping of every action outcome to the answer a client sees.
impl From<ActionError> for ApiError {
    fn from(err: ActionError) -> Self {
        match err {
            ActionError::NotFound => ApiError::OrderNotFound,
            ActionError::NotCancellable(err) => {
                ApiError::refused(409, "ORDER_NOT_CANCELLABLE", err.to_string(), json!({ "order_status": err.status }))
            }
            ActionError::Payment(refusal @ PaymentRefusal::AmountMismatch { expected, .. }) => {
                ApiError::refused(422, "AMOUNT_MISMATCH", refusal.to_string(), json!({ "expected_amount": expected }))
            }
            ActionError::Payment(refusal @ PaymentRefusal::PaidWithOtherReference) => {
                ApiError::refused(409, "ALREADY_PAID", refusal.to_string(), json!({}))
            }
            ActionError::Payment(refusal @ PaymentRefusal::NotPayable { status, .. }) => {
                let next = if status.is_terminal() {
                    "the payment is recorded for a refund"
                } else {
                    "retry once its stock is reserved"
                };
                ApiError::refused(
                    409,
                    "ORDER_NOT_PAYABLE",
                    format!("{refusal}; {next}"),
                    json!({ "order_status": status, "refund_due": status.is_terminal() }),
                )
            }
            ActionError::PaymentProcessing => ApiError::refused(
                409,
                "PAYMENT_PROCESSING",
                "the order's payment is being processed; try again once it has settled".to_owned(),
                json!({}),
            ),
            ActionError::Provider(err) => provider_problem(err),
            ActionError::Contended => ApiError::Unavailable(Box::new(ActionError::Contended)),
            ActionError::Unavailable(err) | ActionError::Store(err) => ApiError::from(err),
            err @ ActionError::Inconsistent(_) => ApiError::OrderInconsistent(Box::new(err)),
        }
    }
}
