//! The lifecycle after payment: the consumer of the fulfilment queue (`OrderPaid` events,
//! routed there by an EventBridge rule), `PATCH /orders/{orderId}/shipping` for sellers and
//! admins, and `PUT /orders/{orderId}/status` for admins.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::Request;
use serde_json::{Map, Value};

use super::{admin, caller, each_message, order_event_step};
use crate::domain::order::{PartUpdate, ShippingRefusal, StatusChangeRefusal};
use crate::domain::validation::FieldErrors;
use crate::domain::{OrderId, OrderStatus, SellerId};
use crate::http::{json, json_body, path_param, ApiError, HttpResult};
use crate::service::actions::ActionError;
use crate::service::fulfilment::{set_status, start_fulfilment, update_shipping, ShippingError, StatusError};
use crate::service::App;

pub async fn fulfil_order(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_message(&event, |message| {
        order_event_step(message, "fulfilment", |id, _| start_fulfilment(app.fulfilment(), id))
    })
    .await
}

/// Longest carrier name and tracking number accepted.
const MAX_SHIPPING_TEXT: usize = 100;
/// Longest reason a failed delivery is reported with.
const MAX_FAILURE_REASON: usize = 500;

/// `PATCH /orders/{orderId}/shipping`: `{"seller_id", "status": "SHIPPED", "carrier",
/// "tracking_number", "estimated_delivery"}`, `{"seller_id", "status": "DELIVERED"}` or
/// `{"seller_id", "status": "DELIVERY_FAILED", "reason"}` (the part's units back in stock and
/// refunded), by an admin or by the seller whose part it is.
pub async fn ship_order(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let id = path_param(&request, "orderId", OrderId::parse)?;
    tracing::Span::current().record("order_id", tracing::field::display(id));
    let (seller, update) = shipping_from_json(&json_body(&request)?)?;
    let allowed = identity.is_admin || identity.seller_id.as_ref() == Some(&seller);
    if !allowed {
        return Err(ApiError::Refused {
            status: 403,
            code: "FORBIDDEN",
            message: "only that seller or an admin may report on a seller's part".to_owned(),
            extra: Map::new(),
        });
    }
    match update_shipping(app.order_changes(), id, &seller, update, &identity.actor()).await {
        Ok(order) => json(200, &order),
        Err(ShippingError::Refused(ShippingRefusal::NoSuchPart(seller))) => Err(ApiError::Refused {
            status: 404,
            code: "SELLER_PART_NOT_FOUND",
            message: format!("the order has no part for seller {seller}"),
            extra: Map::new(),
        }),
        Err(ShippingError::Refused(refusal)) => Err(ApiError::Refused {
            status: 409,
            code: "INVALID_TRANSITION",
            message: refusal.to_string(),
            extra: Map::new(),
        }),
        Err(ShippingError::Action(ActionError::NotFound)) => Err(ApiError::OrderNotFound),
        Err(ShippingError::Action(ActionError::Unavailable(err) | ActionError::Store(err))) => Err(ApiError::from(err)),
        Err(ShippingError::Action(err)) => Err(ApiError::Internal(Box::new(err))),
    }
}

fn shipping_from_json(body: &Value) -> Result<(SellerId, PartUpdate), ApiError> {
    let mut errors = FieldErrors::default();
    let object = errors.object(body, "").cloned().unwrap_or_default();
    let seller = errors
        .string(&object, "seller_id", "")
        .and_then(|text| match SellerId::parse(text) {
            Ok(seller) => Some(seller),
            Err(err) => {
                errors.push("seller_id", "INVALID_ID", err.to_string());
                None
            }
        });
    let update = match errors.string(&object, "status", "") {
        Some("SHIPPED") => {
            errors.unknown_fields(
                &object,
                &["seller_id", "status", "carrier", "tracking_number", "estimated_delivery"],
                "",
            );
            let carrier = errors.printable(&object, "carrier", MAX_SHIPPING_TEXT, "INVALID_CARRIER");
            let tracking_number = errors.printable(&object, "tracking_number", MAX_SHIPPING_TEXT, "INVALID_TRACKING_NUMBER");
            let estimated_delivery = match object.get("estimated_delivery") {
                None | Some(Value::Null) => Some(None),
                Some(Value::String(text)) => match chrono::DateTime::parse_from_rfc3339(text) {
                    Ok(at) => Some(Some(at.with_timezone(&chrono::Utc))),
                    Err(_) => {
                        errors.push("estimated_delivery", "INVALID_TIMESTAMP", "must be an RFC 3339 timestamp");
                        None
                    }
                },
                Some(_) => {
                    errors.push("estimated_delivery", "WRONG_TYPE", "must be a string");
                    None
                }
            };
            match (carrier, tracking_number, estimated_delivery) {
                (Some(carrier), Some(tracking_number), Some(estimated_delivery)) => Some(PartUpdate::Shipped {
                    carrier,
                    tracking_number,
                    estimated_delivery,
                }),
                _ => None,
            }
        }
        Some("DELIVERED") => {
            errors.unknown_fields(&object, &["seller_id", "status"], "");
            Some(PartUpdate::Delivered)
        }
        Some("DELIVERY_FAILED") => {
            errors.unknown_fields(&object, &["seller_id", "status", "reason"], "");
            errors
                .printable(&object, "reason", MAX_FAILURE_REASON, "INVALID_REASON")
                .map(|reason| PartUpdate::DeliveryFailed { reason })
        }
        Some(_) => {
            errors.push("status", "INVALID_STATUS", "must be SHIPPED, DELIVERED or DELIVERY_FAILED");
            None
        }
        None => None,
    };
    match (seller, update) {
        (Some(seller), Some(update)) => errors.into_result((seller, update)).map_err(ApiError::Validation),
        _ => Err(ApiError::Validation(errors.into_result(()).err().unwrap_or_default())),
    }
}

/// Longest note an admin may attach to a status change.
const MAX_NOTE_CHARS: usize = 500;

/// `PUT /orders/{orderId}/status`: `{"status": "PROCESSING", "note": ".."}` (admin). Only along
/// the lifecycle (409 `INVALID_TRANSITION` naming the current status otherwise); a status that
/// moves stock or money, or that follows the sellers' parts, is reached through its own path.
pub async fn set_order_status(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let id = path_param(&request, "orderId", OrderId::parse)?;
    tracing::Span::current().record("order_id", tracing::field::display(id));
    let body = json_body(&request)?;
    let mut errors = FieldErrors::default();
    let object = errors.object(&body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["status", "note"], "");
    let target = errors
        .string(&object, "status", "")
        .and_then(|text| match text.parse::<OrderStatus>() {
            Ok(status) => Some(status),
            Err(_) => {
                errors.push("status", "INVALID_STATUS", "must be an order status such as PROCESSING");
                None
            }
        });
    let note = match object.get("note") {
        None | Some(Value::Null) => None,
        Some(_) => errors.printable(&object, "note", MAX_NOTE_CHARS, "INVALID_NOTE"),
    };
    let target = match target {
        Some(target) => errors.into_result(target).map_err(ApiError::Validation)?,
        None => return Err(ApiError::Validation(errors.into_result(()).err().unwrap_or_default())),
    };
    let order = set_status(app.fulfilment(), id, target, note, &identity.actor())
        .await
        .map_err(ApiError::from)?;
    json(200, &order)
}

/// One mapping of a status change's outcome to the answer a client sees (the batch consumer
/// records the same codes).
impl From<StatusError> for ApiError {
    fn from(err: StatusError) -> Self {
        match err {
            StatusError::Refused(refused @ StatusChangeRefusal::Illegal { from, .. }) => ApiError::Refused {
                status: 409,
                code: "INVALID_TRANSITION",
                message: refused.to_string(),
                extra: Map::from_iter([("order_status".to_owned(), serde_json::json!(from))]),
            },
            StatusError::Refused(refused @ StatusChangeRefusal::OwnPath { path, .. }) => ApiError::Refused {
                status: 409,
                code: "STATUS_HAS_ITS_OWN_PATH",
                message: refused.to_string(),
                extra: Map::from_iter([("use".to_owned(), serde_json::json!(path))]),
            },
            StatusError::Action(err) => ApiError::from(err),
        }
    }
}
