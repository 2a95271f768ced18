//! The customer's own cart: `GET /cart`, `POST /cart/items`, `PUT` and `DELETE
//! /cart/items/{productId}`, `DELETE /cart`, and `POST /cart/checkout`.

use lambda_http::Request;
use serde_json::{json, Map, Value};

use super::caller;
use super::orders::{idempotency_key, placement_response};
use super::payments::body_is_empty;
use crate::domain::cart::CartRefusal;
use crate::domain::delivery::Channel;
use crate::domain::request::{quantity_from_json, OrderDetails, WantedLine};
use crate::domain::validation::FieldErrors;
use crate::domain::{Quantity, Sku};
use crate::http::{json, json_body, path_param, ApiError, HttpResult};
use crate::service::cart::{self, CartEdit, CartError, CheckoutError};
use crate::service::App;

pub async fn get(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    json(200, &cart::view(app.shopping(), &identity.user).await?)
}

/// `{"product_id", "quantity"}`: adds to the product's line (or starts one).
pub async fn add_item(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let wanted = WantedLine::from_json(&json_body(&request)?).map_err(ApiError::Validation)?;
    edit(app, &identity.user, CartEdit::Add(wanted.product_id, wanted.quantity)).await
}

/// `{"quantity"}`: sets the line's quantity; 0 removes it.
pub async fn set_item(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let sku = path_param(&request, "productId", Sku::parse)?;
    let quantity = quantity_from_json(&json_body(&request)?, true).map_err(ApiError::Validation)?;
    edit(app, &identity.user, CartEdit::Set(sku, quantity)).await
}

pub async fn remove_item(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let sku = path_param(&request, "productId", Sku::parse)?;
    edit(app, &identity.user, CartEdit::Remove(sku)).await
}

pub async fn clear(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    edit(app, &identity.user, CartEdit::Clear).await
}

/// `{"accept_price_changes", "channel", "shipping_address", "note"}` (all optional but the
/// address, which every channel but `pos` needs), with an optional `Idempotency-Key`: answers
/// as `POST /orders` does, or 409 `PRICE_CHANGED` / `CART_EMPTY`.
pub async fn checkout(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let key = idempotency_key(&request)?;
    let body = if body_is_empty(&request) {
        Value::Object(Map::new())
    } else {
        json_body(&request)?
    };
    let mut errors = FieldErrors::default();
    let object = errors.object(&body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["accept_price_changes", "channel", "shipping_address", "note"], "");
    let accept = match object.get("accept_price_changes") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(accept)) => *accept,
        Some(_) => {
            errors.push("accept_price_changes", "WRONG_TYPE", "must be true or false");
            false
        }
    };
    let details = OrderDetails::from_object(&object, &mut errors);
    let address_given = object.get("shipping_address").is_some_and(|value| !value.is_null());
    if details.channel != Channel::Pos && !address_given {
        errors.push("shipping_address", "MISSING_FIELD", "is required, unless the channel is pos");
    }
    let details = errors.into_result(details).map_err(ApiError::Validation)?;
    let placement = cart::checkout(
        app.shopping(),
        &identity.user,
        identity.contact.clone(),
        details,
        accept,
        key.as_ref(),
    )
    .await
    .map_err(|err| match err {
        CheckoutError::Empty => ApiError::refused(409, "CART_EMPTY", "the cart is empty".to_owned(), json!({})),
        CheckoutError::Place(err) => ApiError::from(err),
        CheckoutError::Store(err) => ApiError::from(err),
    })?;
    placement_response(placement)
}

async fn edit(app: &App, user: &crate::domain::UserId, change: CartEdit) -> HttpResult {
    match cart::edit(app.shopping(), user, change).await {
        Ok(view) => json(200, &view),
        Err(CartError::Refused(refusal)) => Err(ApiError::from(refusal)),
        Err(CartError::Contended) => Err(ApiError::Unavailable(Box::new(CartError::Contended))),
        Err(CartError::Store(err)) => Err(ApiError::from(err)),
    }
}

impl From<CartRefusal> for ApiError {
    fn from(refusal: CartRefusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            CartRefusal::UnknownProduct(sku) => ApiError::refused(404, "PRODUCT_NOT_FOUND", message, json!({ "product_id": sku })),
            CartRefusal::NotEnoughStock { product_id, available } => ApiError::refused(
                409,
                "NOT_ENOUGH_STOCK",
                message,
                json!({ "product_id": product_id, "available": available }),
            ),
            CartRefusal::TooManyLines => ApiError::refused(409, "CART_FULL", message, json!({})),
            CartRefusal::TooMuch => ApiError::refused(422, "QUANTITY_TOO_LARGE", message, json!({ "max_quantity": Quantity::MAX })),
        }
    }
}
