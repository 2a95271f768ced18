//! Editing an unpaid order: `POST /orders/{orderId}/items`, `PUT` and `DELETE
//! /orders/{orderId}/items/{itemId}`, by its customer (or an admin), while it awaits payment.

use lambda_http::Request;
use serde_json::{json, Map, Value};

use super::caller;
use super::payments::{order_id, refusal, refused};
use crate::app::App;
use crate::domain::edit::EditRefusal;
use crate::domain::validation::FieldErrors;
use crate::domain::{ItemId, Money, Quantity, Sku};
use crate::http::{json, json_body, path_param, ApiError, HttpResult};
use crate::service::edits::{edit_order, EditError, EditRequest};

/// `{"product_id", "quantity"}`: more units of a product, on its line or a new one.
pub async fn add_item(app: &App, request: Request) -> HttpResult {
    let body = json_body(&request)?;
    let mut errors = FieldErrors::default();
    let object = errors.object(&body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["product_id", "quantity"], "");
    let product_id = errors.string(&object, "product_id", "").and_then(|text| match Sku::parse(text) {
        Ok(sku) => Some(sku),
        Err(err) => {
            errors.push("product_id", "INVALID_ID", err.to_string());
            None
        }
    });
    let quantity = quantity(&object, &mut errors);
    let edit = match (product_id, quantity) {
        (Some(product_id), Some(quantity)) => errors.into_result(EditRequest::Add { product_id, quantity }),
        _ => Err(errors.into_result(()).err().unwrap_or_default()),
    }
    .map_err(ApiError::Validation)?;
    apply(app, &request, edit).await
}

/// `{"quantity"}`: the line's new quantity (at least 1; remove a line with `DELETE`).
pub async fn set_item(app: &App, request: Request) -> HttpResult {
    let item_id = path_param(&request, "itemId", ItemId::parse)?;
    let body = json_body(&request)?;
    let mut errors = FieldErrors::default();
    let object = errors.object(&body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["quantity"], "");
    let edit = match quantity(&object, &mut errors) {
        Some(quantity) => errors.into_result(EditRequest::Set { item_id, quantity }),
        None => Err(errors.into_result(()).err().unwrap_or_default()),
    }
    .map_err(ApiError::Validation)?;
    apply(app, &request, edit).await
}

pub async fn remove_item(app: &App, request: Request) -> HttpResult {
    let item_id = path_param(&request, "itemId", ItemId::parse)?;
    apply(app, &request, EditRequest::Remove { item_id }).await
}

fn quantity(object: &Map<String, Value>, errors: &mut FieldErrors) -> Option<Quantity> {
    errors
        .integer(object, "quantity", "", 1, i64::from(Quantity::MAX))
        .and_then(|n| u32::try_from(n).ok())
        .and_then(|n| Quantity::new(n).ok())
}

async fn apply(app: &App, request: &Request, edit: EditRequest) -> HttpResult {
    let identity = caller(request)?;
    let id = order_id(request)?;
    let order = edit_order(app, id, identity.access(), edit, &identity.actor())
        .await
        .map_err(problem)?;
    json(200, &order)
}

fn problem(err: EditError) -> ApiError {
    let message = err.to_string();
    match err {
        EditError::Refused(refusal) => match refusal {
            EditRefusal::NotEditable(status) => refused(409, "ORDER_NOT_EDITABLE", message, json!({ "order_status": status })),
            EditRefusal::NoSuchLine(item_id) => refused(404, "LINE_NOT_FOUND", message, json!({ "item_id": item_id })),
            EditRefusal::LastLine => refused(409, "LAST_LINE", message, json!({})),
            EditRefusal::TooManyLines => refused(409, "TOO_MANY_LINES", message, json!({})),
            EditRefusal::TooMuch => refused(422, "QUANTITY_TOO_LARGE", message, json!({ "max_quantity": Quantity::MAX })),
            EditRefusal::PriceChanged {
                product_id,
                old_price,
                new_price,
            } => refused(
                409,
                "PRICE_CHANGED",
                message,
                json!({ "changes": [{"product_id": product_id, "old_price": old_price, "new_price": new_price}] }),
            ),
            EditRefusal::TooLarge(_) => refused(422, "AMOUNT_TOO_LARGE", message, json!({ "max_amount": Money::MAX })),
        },
        EditError::UnknownProduct(sku) => refused(404, "PRODUCT_NOT_FOUND", message, json!({ "product_id": sku })),
        EditError::OutOfStock(problems) => refused(409, "NOT_ENOUGH_STOCK", message, json!({ "lines": problems })),
        EditError::PriceChanged(products) => refused(409, "PRICE_CHANGED", message, json!({ "products": products })),
        EditError::Action(err) => refusal(err),
    }
}
