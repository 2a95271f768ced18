//! Editing an unpaid order: `POST /orders/{orderId}/items`, `PUT` and `DELETE
//! /orders/{orderId}/items/{itemId}`, by its customer (or an admin), while it awaits payment.

use lambda_http::Request;
use serde_json::json;

use super::caller;
use super::payments::order_id;
use crate::domain::cart::PriceChange;
use crate::domain::order::{EditRefusal, MAX_EDITS};
use crate::domain::request::{quantity_from_json, WantedLine};
use crate::domain::{ItemId, Money, Quantity};
use crate::http::{json, json_body, path_param, ApiError, HttpResult};
use crate::service::edits::{edit_order, EditError, EditRequest};
use crate::service::App;

/// `{"product_id", "quantity"}`: more units of a product, on its line or a new one.
pub async fn add_item(app: &App, request: Request) -> HttpResult {
    let wanted = WantedLine::from_json(&json_body(&request)?).map_err(ApiError::Validation)?;
    let edit = EditRequest::Add {
        product_id: wanted.product_id,
        quantity: wanted.quantity,
    };
    apply(app, &request, edit).await
}

/// `{"quantity"}`: the line's new quantity (at least 1; remove a line with `DELETE`).
pub async fn set_item(app: &App, request: Request) -> HttpResult {
    let item_id = path_param(&request, "itemId", ItemId::parse)?;
    let quantity = quantity_from_json(&json_body(&request)?, false).map_err(ApiError::Validation)?;
    // At least 1 was asked for: a quantity is there.
    let Some(quantity) = quantity else {
        return Err(ApiError::bad_parameter("quantity", "INVALID_QUANTITY", "must be at least 1"));
    };
    let edit = EditRequest::Set { item_id, quantity };
    apply(app, &request, edit).await
}

pub async fn remove_item(app: &App, request: Request) -> HttpResult {
    let item_id = path_param(&request, "itemId", ItemId::parse)?;
    apply(app, &request, EditRequest::Remove { item_id }).await
}

async fn apply(app: &App, request: &Request, edit: EditRequest) -> HttpResult {
    let identity = caller(request)?;
    let id = order_id(request)?;
    let order = edit_order(app.order_editing(), id, identity.access(), edit, &identity.actor()).await?;
    json(200, &order)
}

impl From<EditError> for ApiError {
    fn from(err: EditError) -> Self {
        let message = err.to_string();
        match err {
            EditError::Refused(refusal) => match refusal {
                EditRefusal::NotEditable(status) => {
                    ApiError::refused(409, "ORDER_NOT_EDITABLE", message, json!({ "order_status": status }))
                }
                EditRefusal::PaymentStarted(payment_id) => {
                    ApiError::refused(409, "PAYMENT_STARTED", message, json!({ "payment_id": payment_id }))
                }
                EditRefusal::NoSuchLine(item_id) => ApiError::refused(404, "LINE_NOT_FOUND", message, json!({ "item_id": item_id })),
                EditRefusal::LastLine => ApiError::refused(409, "LAST_LINE", message, json!({})),
                EditRefusal::LimitReached => ApiError::refused(409, "EDIT_LIMIT_REACHED", message, json!({ "max_edits": MAX_EDITS })),
                EditRefusal::TooManyLines => ApiError::refused(409, "TOO_MANY_LINES", message, json!({})),
                EditRefusal::TooMuch => ApiError::refused(422, "QUANTITY_TOO_LARGE", message, json!({ "max_quantity": Quantity::MAX })),
                EditRefusal::PriceChanged {
                    product_id,
                    old_price,
                    new_price,
                } => ApiError::price_changed(
                    message,
                    &[PriceChange {
                        product_id,
                        old_price,
                        new_price,
                    }],
                ),
                EditRefusal::TooLarge(_) => ApiError::refused(422, "AMOUNT_TOO_LARGE", message, json!({ "max_amount": Money::MAX })),
            },
            EditError::UnknownProduct(sku) => ApiError::refused(404, "PRODUCT_NOT_FOUND", message, json!({ "product_id": sku })),
            EditError::OutOfStock(problems) => ApiError::refused(409, "NOT_ENOUGH_STOCK", message, json!({ "lines": problems })),
            EditError::PriceChanged(changes) => ApiError::price_changed(message, &changes),
            EditError::Action(err) => ApiError::from(err),
        }
    }
}
