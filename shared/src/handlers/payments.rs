//! Starting a payment (the customer), payment confirmation (by the provider's signed webhook,
//! the payments service or an admin), failed payments and cancellation.

use lambda_http::{Body, Request};
use serde_json::{json, Map, Value};

use super::caller;
use crate::auth::Identity;
use crate::domain::order::PaymentRefusal;
use crate::domain::order::{PaymentMethod, StartRefusal};
use crate::domain::validation::FieldErrors;
use crate::domain::Order;
use crate::domain::{Actor, Money, OrderId, PaymentReference};
use crate::http::webhook::SIGNATURE_HEADER;
use crate::http::{json, json_body, path_param, raw_body, ApiError, HttpResult};
use crate::service::actions::{self, Access, ActionError, CancelReason};
use crate::service::payments::{self as payment_start, StartError};
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
            StartError::Provider(err @ crate::ports::ProviderError::Unavailable(_)) => ApiError::Unavailable(Box::new(err)),
            StartError::Provider(err @ crate::ports::ProviderError::Refused(_)) => {
                ApiError::refused(502, "PAYMENT_PROVIDER_REFUSED", err.to_string(), json!({}))
            }
            StartError::Action(err) => ApiError::from(err),
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
    fail(app, id, &identity.actor(), reason, None).await
}

/// `POST /payments/webhook`: the provider's signed report of a payment, with no JWT. A bad or
/// stale signature changes nothing (401); a replayed event changes nothing (200).
pub async fn payment_webhook(app: &App, request: Request) -> HttpResult {
    let secret = app
        .webhook_secret
        .as_ref()
        .ok_or_else(|| ApiError::Internal("PAYMENT_WEBHOOK_SECRET is not configured for this function".into()))?;
    let signature = request.headers().get(SIGNATURE_HEADER).and_then(|value| value.to_str().ok());
    secret.verify(signature, raw_body(&request), app.clock.now())?;
    let event = webhook_event_from_json(&json_body(&request)?)?;
    tracing::Span::current().record("order_id", tracing::field::display(event.order_id));
    if event.currency != app.pricing.currency {
        return Err(ApiError::refused(
            422,
            "CURRENCY_MISMATCH",
            format!("the shop charges in {}, not {}", app.pricing.currency, event.currency),
            json!({ "expected_currency": app.pricing.currency }),
        ));
    }
    let actor = Actor::system(PAYMENT_PROVIDER);
    match event.kind {
        WebhookKind::Succeeded => confirm(app, event.order_id, &event.reference, event.amount, &actor).await,
        WebhookKind::Failed => fail(app, event.order_id, &actor, None, Some(event.reference)).await,
    }
}

async fn confirm(app: &App, id: OrderId, reference: &PaymentReference, amount: Money, actor: &Actor) -> HttpResult {
    let order = actions::confirm_payment(app.order_changes(), id, Access::Anyone, reference, amount, actor).await?;
    json(200, &order)
}

async fn fail(app: &App, id: OrderId, actor: &Actor, reason: Option<String>, attempt: Option<PaymentReference>) -> HttpResult {
    let reason = CancelReason::PaymentFailed { reason, attempt };
    let (order, _) = actions::cancel_order(app.order_changes(), id, Access::Anyone, actor, reason).await?;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WebhookKind {
    Succeeded,
    Failed,
}

struct WebhookEvent {
    kind: WebhookKind,
    order_id: OrderId,
    reference: PaymentReference,
    amount: Money,
    currency: String,
}

/// The provider's event. Fields this service does not use are allowed: providers add fields.
fn webhook_event_from_json(body: &Value) -> Result<WebhookEvent, ApiError> {
    let mut errors = FieldErrors::default();
    let object = errors.object(body, "").cloned().unwrap_or_default();
    let kind = errors.string(&object, "type", "").and_then(|text| match text {
        "payment.succeeded" => Some(WebhookKind::Succeeded),
        "payment.failed" => Some(WebhookKind::Failed),
        _ => {
            errors.push("type", "INVALID_EVENT_TYPE", "must be payment.succeeded or payment.failed");
            None
        }
    });
    let order_id = errors.string(&object, "order_id", "").and_then(|text| match OrderId::parse(text) {
        Ok(id) => Some(id),
        Err(err) => {
            errors.push("order_id", "INVALID_ID", err.to_string());
            None
        }
    });
    let currency = errors.string(&object, "currency", "").map(str::to_owned);
    let payment = payment_from_object(&object, &mut errors);
    match (kind, order_id, payment, currency) {
        (Some(kind), Some(order_id), Some((reference, amount)), Some(currency)) => errors
            .into_result(WebhookEvent {
                kind,
                order_id,
                reference,
                amount,
                currency,
            })
            .map_err(ApiError::Validation),
        _ => Err(ApiError::Validation(errors.into_result(()).err().unwrap_or_default())),
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
            ActionError::NotCurrentAttempt(attempt) => ApiError::refused(
                409,
                "PAYMENT_NOT_CURRENT",
                format!("payment {attempt} is not this order's current payment attempt; nothing changed"),
                json!({ "payment_reference": attempt }),
            ),
            ActionError::Contended => ApiError::Unavailable(Box::new(ActionError::Contended)),
            ActionError::Unavailable(err) | ActionError::Store(err) => ApiError::from(err),
            err @ ActionError::Inconsistent(_) => ApiError::OrderInconsistent(Box::new(err)),
        }
    }
}
