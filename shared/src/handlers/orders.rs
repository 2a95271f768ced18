//! Customer and admin order endpoints: place, read, list.

use lambda_http::{Body, Request, Response};

use super::caller;

use crate::auth::Identity;
use crate::domain::numbering::OrderNumber;
use crate::domain::order::{AllowedAction, Viewer};
use crate::domain::{IdempotencyKey, Money, Order, OrderId, PlaceOrder};
use crate::http::{json, json_body, path_param, ApiError, HttpResult};
use crate::service::placement::{place_order, PlaceError, Placed, Placement};
use crate::service::App;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The request's `Idempotency-Key`, if it sent one.
pub(crate) fn idempotency_key(request: &Request) -> Result<Option<IdempotencyKey>, ApiError> {
    match request.headers().get(IDEMPOTENCY_HEADER) {
        None => Ok(None),
        Some(value) => value.to_str().ok().and_then(IdempotencyKey::parse).map(Some).ok_or_else(|| {
            ApiError::bad_parameter(
                "Idempotency-Key",
                "INVALID_IDEMPOTENCY_KEY",
                "Idempotency-Key must be 1 to 255 printable ASCII characters",
            )
        }),
    }
}

pub async fn create_order(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let key = idempotency_key(&request)?;
    let wanted = PlaceOrder::from_json(&json_body(&request)?)
        .map_err(ApiError::Validation)?
        .for_customer(identity.contact.clone());
    let placement = place_order(app.placing(), &identity.user, &wanted, key.as_ref()).await?;
    placement_response(placement)
}

/// One mapping of a placement's failure to the answer a client sees (`POST /orders`, checkout).
impl From<PlaceError> for ApiError {
    fn from(err: PlaceError) -> Self {
        match err {
            PlaceError::KeyReused => ApiError::IdempotencyKeyReused,
            PlaceError::TooLarge(err) => ApiError::Refused {
                status: 422,
                code: "AMOUNT_TOO_LARGE",
                message: err.to_string(),
                extra: serde_json::Map::from_iter([("max_amount".to_owned(), serde_json::json!(Money::MAX))]),
            },
            PlaceError::PriceChanged(changes) => ApiError::price_changed(
                "prices changed since the lines were added: check out again with \"accept_price_changes\": true to pay today's",
                &changes,
            ),
            PlaceError::Unavailable(err) => ApiError::Unavailable(Box::new(err)),
            PlaceError::PricesKeptChanging => ApiError::Unavailable(Box::new(PlaceError::PricesKeptChanging)),
            PlaceError::Crashed(_) => ApiError::Crashed,
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

/// 201 with the reserved order, 202 while its reservation is retried, 409 when it is INVALID.
pub(crate) fn placement_response(placement: Placement) -> HttpResult {
    let (status, order) = match placement.placed {
        Placed::Reserved(order) => (201, order),
        Placed::Accepted(order) => (202, order),
        Placed::Invalid(order) => return Err(ApiError::OrderInvalid(Box::new(order))),
    };
    let mut response = with_location(json(status, &order)?, &order);
    if placement.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", http::HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn with_location(mut response: Response<Body>, order: &Order) -> Response<Body> {
    if let Ok(location) = http::HeaderValue::from_str(&format!("/api/v1/orders/{}", order.id)) {
        response.headers_mut().insert(http::header::LOCATION, location);
    }
    response
}

pub async fn get_order(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let id = path_param(&request, "orderId", OrderId::parse)?;
    tracing::Span::current().record("order_id", tracing::field::display(id));
    let order = app.orders.get_order(id).await?;
    // Another customer's order is as absent as a missing one: its existence is not disclosed.
    let order = order
        .filter(|order| identity.may_access(&order.user_id))
        .ok_or(ApiError::OrderNotFound)?;
    json(200, &OrderView::new(app, &identity, &order))
}

/// An order as its owner or an admin reads it, with what they may do to it now.
#[derive(serde::Serialize)]
struct OrderView<'a> {
    #[serde(flatten)]
    order: &'a Order,
    allowed_actions: Vec<AllowedAction>,
}

impl<'a> OrderView<'a> {
    fn new(app: &App, identity: &Identity, order: &'a Order) -> Self {
        let viewer = if identity.is_admin { Viewer::Admin } else { Viewer::Owner };
        Self {
            order,
            allowed_actions: order.allowed_actions(viewer, app.return_window, app.clock.now()),
        }
    }
}

/// `GET /orders/by-number/{orderNumber}`: the owner's or, for admins, anyone's order, found
/// through the index of numbers.
pub async fn get_order_by_number(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let number = path_param(&request, "orderNumber", OrderNumber::parse)?;
    let id = app.orders.find_order_by_number(&number).await?;
    let order = match id {
        Some(id) => app.orders.get_order(id).await?,
        None => None,
    };
    let order = order
        .filter(|order| identity.may_access(&order.user_id))
        .ok_or(ApiError::OrderNotFound)?;
    tracing::Span::current().record("order_id", tracing::field::display(order.id));
    json(200, &OrderView::new(app, &identity, &order))
}
