//! Money back over HTTP: `POST /orders/{orderId}/refund` (admin), the returns endpoints, and
//! the refund queue's consumer (`OrderRefunded` events) that has the provider pay back.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::Request;
use serde_json::{json, Map, Value};

use super::orders::idempotency_key;
use super::payments::{body_is_empty, order_id};
use super::{admin, caller, each_message, order_event_step};
use crate::domain::order::PartItem;
use crate::domain::order::{requested_refund_id, Recorded, RefundAsk, RefundRefusal, RefundRequest, ReturnRefusal};
use crate::domain::request::MAX_LINES;
use crate::domain::validation::{FieldError, FieldErrors};
use crate::domain::{ItemId, Money, Order, Quantity, RefundId, ReturnId};
use crate::http::{json, json_body, path_param, ApiError, HttpResult};
use crate::service::actions::{Access, ActionError};
use crate::service::refunds::{self, MoneyBackError, SettleError};
use crate::service::App;

impl super::StepFailure for SettleError {
    fn is_missing_order(&self) -> bool {
        matches!(self, Self::Action(ActionError::NotFound))
    }
}

/// Longest reason or note accepted.
const MAX_TEXT_CHARS: usize = 500;

pub async fn settle(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_message(&event, |message| {
        order_event_step(message, refunds::REFUNDS, |id, _| async move {
            refunds::settle_refunds(app.refund_step(), id).await.map(|completed| completed > 0)
        })
    })
    .await
}

/// `POST /orders/{orderId}/refund` with `Idempotency-Key` and `{"amount"}` or `{"lines"}`, a
/// `reason`, and `restock` (with lines). 201 with the refund and the order; a replay is 200.
pub async fn refund(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let id = order_id(&request)?;
    let key = idempotency_key(&request)?.ok_or_else(|| {
        ApiError::bad_parameter(
            "Idempotency-Key",
            "IDEMPOTENCY_KEY_REQUIRED",
            "a refund needs an Idempotency-Key, so that a retry cannot refund twice",
        )
    })?;
    let wanted = refund_from_json(&json_body(&request)?).map_err(ApiError::Validation)?;
    // The key names the refund on this order: a retry finds it.
    let refund_id = requested_refund_id(key.as_str());
    let (order, recorded) = refunds::refund_order(app.order_changes(), id, refund_id.clone(), wanted, &identity.actor()).await?;
    answer(&order, recorded, "refund", refund_view(&order, &refund_id))
}

/// `POST /orders/{orderId}/returns` with `{"lines", "reason"}`, by the order's customer (or an
/// admin for them). 201 with the return and the order; asking again for the open one is 200.
pub async fn request_return(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let id = order_id(&request)?;
    let (lines, reason) = return_from_json(&json_body(&request)?).map_err(ApiError::Validation)?;
    let access = if identity.is_admin {
        Access::Anyone
    } else {
        Access::Owner(&identity.user)
    };
    let (order, return_id, recorded) =
        refunds::request_return(app.order_changes(), app.return_window, id, access, lines, reason, &identity.actor()).await?;
    let view = order
        .returns
        .iter()
        .find(|ret| ret.return_id == return_id)
        .map(|ret| serde_json::to_value(ret).unwrap_or_default());
    answer(&order, recorded, "return", view)
}

/// `POST /orders/{orderId}/returns/{returnId}/approve` (admin), with an optional `{"note"}`.
pub async fn approve_return(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let id = order_id(&request)?;
    let return_id = path_param(&request, "returnId", ReturnId::parse)?;
    let note = note_from_json(&request, false)?;
    let order = refunds::approve_return(app.order_changes(), id, &return_id, note, &identity.actor()).await?;
    json(200, &order)
}

/// `POST /orders/{orderId}/returns/{returnId}/reject` (admin), with `{"note"}` saying why.
pub async fn reject_return(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let id = order_id(&request)?;
    let return_id = path_param(&request, "returnId", ReturnId::parse)?;
    let note = note_from_json(&request, true)?.unwrap_or_default();
    let order = refunds::reject_return(app.order_changes(), id, &return_id, note, &identity.actor()).await?;
    json(200, &order)
}

fn answer(order: &Order, recorded: Recorded, name: &str, view: Option<Value>) -> HttpResult {
    let status = match recorded {
        Recorded::New => 201,
        Recorded::Replayed => 200,
    };
    let mut response = json(status, &json!({ name: view, "order": order }))?;
    if recorded == Recorded::Replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", http::HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn refund_view(order: &Order, id: &RefundId) -> Option<Value> {
    order
        .refunds
        .iter()
        .find(|refund| &refund.refund_id == id)
        .map(|refund| serde_json::to_value(refund).unwrap_or_default())
}

/// One mapping of every money-back refusal to the answer a client sees.
impl From<MoneyBackError> for ApiError {
    fn from(err: MoneyBackError) -> Self {
        let message = err.to_string();
        match err {
            MoneyBackError::Refund(refusal) => match refusal {
                RefundRefusal::NotPaid { status } => ApiError::refused(409, "ORDER_NOT_PAID", message, json!({ "order_status": status })),
                RefundRefusal::ExceedsPayment { refundable } => {
                    ApiError::refused(409, "REFUND_EXCEEDS_PAYMENT", message, json!({ "refundable": refundable }))
                }
                RefundRefusal::ExceedsLine { item_id, refundable_units } => ApiError::refused(
                    409,
                    "REFUND_EXCEEDS_LINE",
                    message,
                    json!({ "item_id": item_id, "refundable_units": refundable_units }),
                ),
                RefundRefusal::UnknownItem(item_id) => ApiError::refused(422, "UNKNOWN_ITEM", message, json!({ "item_id": item_id })),
                RefundRefusal::KeyReused => ApiError::IdempotencyKeyReused,
                RefundRefusal::TooMany => ApiError::refused(409, "TOO_MANY_REFUNDS", message, json!({})),
                RefundRefusal::AlreadyShipped { item_id } => {
                    ApiError::refused(409, "ALREADY_SHIPPED", message, json!({ "item_id": item_id, "use": "a return" }))
                }
                RefundRefusal::NothingLeftToShip => ApiError::refused(409, "CANCEL_INSTEAD", message, json!({})),
            },
            MoneyBackError::Return(refusal) => match refusal {
                ReturnRefusal::NotDelivered(status) => {
                    ApiError::refused(409, "ORDER_NOT_DELIVERED", message, json!({ "order_status": status }))
                }
                ReturnRefusal::WindowClosed { closed_at } => {
                    ApiError::refused(409, "RETURN_WINDOW_CLOSED", message, json!({ "window_closed_at": closed_at }))
                }
                ReturnRefusal::ExceedsDelivered { item_id, returnable } => ApiError::refused(
                    409,
                    "RETURN_EXCEEDS_DELIVERED",
                    message,
                    json!({ "item_id": item_id, "returnable_units": returnable }),
                ),
                ReturnRefusal::UnknownItem(item_id) => ApiError::refused(422, "UNKNOWN_ITEM", message, json!({ "item_id": item_id })),
                ReturnRefusal::AlreadyOpen(return_id) => {
                    ApiError::refused(409, "RETURN_ALREADY_OPEN", message, json!({ "return_id": return_id }))
                }
                ReturnRefusal::NoSuchReturn(_) => ApiError::refused(404, "RETURN_NOT_FOUND", message, json!({})),
                ReturnRefusal::AlreadyDecided { return_id, status } => ApiError::refused(
                    409,
                    "RETURN_ALREADY_DECIDED",
                    message,
                    json!({ "return_id": return_id, "return_status": status }),
                ),
                ReturnRefusal::TooMany => ApiError::refused(409, "TOO_MANY_RETURNS", message, json!({})),
            },
            MoneyBackError::Action(err) => ApiError::from(err),
        }
    }
}

fn refund_from_json(body: &Value) -> Result<RefundRequest, Vec<FieldError>> {
    let mut errors = FieldErrors::default();
    let object = errors.object(body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["amount", "lines", "reason", "restock"], "");
    let reason = errors.printable(&object, "reason", MAX_TEXT_CHARS, "INVALID_REASON");
    let restock = match object.get("restock") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(restock)) => *restock,
        Some(_) => {
            errors.push("restock", "WRONG_TYPE", "must be true or false");
            false
        }
    };
    // A key given as null is given: `{"amount": "5.00", "lines": null}` is refused as both.
    let present = |key| object.contains_key(key);
    let ask = match (present("amount"), present("lines")) {
        (true, false) => {
            if restock {
                errors.push(
                    "restock",
                    "RESTOCK_NEEDS_LINES",
                    "units go back to stock only with a refund by lines",
                );
            }
            errors.string(&object, "amount", "").and_then(|text| match Money::parse(text) {
                Ok(amount) if amount > Money::ZERO => Some(RefundAsk::Amount(amount)),
                Ok(_) => {
                    errors.push("amount", "INVALID_MONEY", "must be more than zero");
                    None
                }
                Err(err) => {
                    errors.push("amount", "INVALID_MONEY", format!("must be a decimal string: {err}"));
                    None
                }
            })
        }
        (false, true) => units_from_json(&object, &mut errors).map(RefundAsk::Lines),
        _ => {
            errors.push("", "AMOUNT_OR_LINES", "give either `amount` or `lines`, not both or neither");
            None
        }
    };
    match (ask, reason) {
        (Some(ask), Some(reason)) => errors.into_result(RefundRequest { ask, reason, restock }),
        _ => Err(errors.into_result(()).err().unwrap_or_default()),
    }
}

fn return_from_json(body: &Value) -> Result<(Vec<PartItem>, String), Vec<FieldError>> {
    let mut errors = FieldErrors::default();
    let object = errors.object(body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["lines", "reason"], "");
    let reason = errors.printable(&object, "reason", MAX_TEXT_CHARS, "INVALID_REASON");
    let lines = units_from_json(&object, &mut errors);
    match (lines, reason) {
        (Some(lines), Some(reason)) => errors.into_result((lines, reason)),
        _ => Err(errors.into_result(()).err().unwrap_or_default()),
    }
}

/// `lines: [{"item_id", "quantity"}]`: 1 to `MAX_LINES` entries, each item once.
fn units_from_json(object: &Map<String, Value>, errors: &mut FieldErrors) -> Option<Vec<PartItem>> {
    let Some(Value::Array(entries)) = object.get("lines") else {
        errors.push("lines", "WRONG_TYPE", "must be an array of {item_id, quantity}");
        return None;
    };
    if entries.is_empty() || entries.len() > MAX_LINES {
        errors.push("lines", "INVALID_LINES", format!("must hold 1 to {MAX_LINES} lines"));
        return None;
    }
    let mut units = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let prefix = format!("lines[{index}]");
        let Some(line) = errors.object(entry, &prefix).cloned() else {
            continue;
        };
        errors.unknown_fields(&line, &["item_id", "quantity"], &prefix);
        let item = errors.string(&line, "item_id", &prefix).and_then(|text| match ItemId::parse(text) {
            Ok(item) => Some(item),
            Err(err) => {
                errors.push(format!("{prefix}.item_id"), "INVALID_ID", err.to_string());
                None
            }
        });
        let quantity = errors
            .integer(&line, "quantity", &prefix, 1, i64::from(Quantity::MAX))
            .and_then(|n| u32::try_from(n).ok())
            .and_then(|n| Quantity::new(n).ok());
        if let (Some(item_id), Some(quantity)) = (item, quantity) {
            if units.iter().any(|unit: &PartItem| unit.item_id == item_id) {
                errors.push(format!("{prefix}.item_id"), "DUPLICATE_ITEM", "each line may appear once");
            }
            units.push(PartItem { item_id, quantity });
        }
    }
    Some(units)
}

/// The `{"note"}` body of a return decision; `required` for a rejection.
fn note_from_json(request: &Request, required: bool) -> Result<Option<String>, ApiError> {
    let body = match body_is_empty(request) {
        true if !required => return Ok(None),
        true => Value::Object(Map::new()),
        false => json_body(request)?,
    };
    let mut errors = FieldErrors::default();
    let object = errors.object(&body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["note"], "");
    let note = match object.get("note") {
        None | Some(Value::Null) if !required => None,
        _ => errors.printable(&object, "note", MAX_TEXT_CHARS, "INVALID_NOTE"),
    };
    errors.into_result(note).map_err(ApiError::Validation)
}
