//! Staff notes on an order (`POST` and `GET /orders/{orderId}/notes`): for admins, and for a
//! seller on an order holding their part (who reads the shop's notes and their own, not another
//! seller's); never for the customer, who gets 403 on their own order and, as everyone else, 404
//! on another's.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::Request;

use super::caller;
use super::inventory::log_page_params;
use crate::auth::Identity;
use crate::domain::note::{OrderNote, MAX_NOTE_CHARS};
use crate::domain::validation::FieldErrors;
use crate::domain::{Order, OrderId};
use crate::http::{json, json_body, path_param, query, ApiError, HttpResult};
use crate::service::App;

/// `POST /orders/{orderId}/notes`: `{"note"}`, written with its author.
pub async fn add_note(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let id = path_param(&request, "orderId", OrderId::parse)?;
    let body = json_body(&request)?;
    let mut errors = FieldErrors::default();
    let object = errors.object(&body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["note"], "");
    let text = errors.printable(&object, "note", MAX_NOTE_CHARS, "INVALID_NOTE");
    // None only with an error pushed, which `into_result` answers.
    let text = errors.into_result(text).map_err(ApiError::Validation)?.unwrap_or_default();
    let order = staff_order(app, &identity, id).await?;
    let note = OrderNote::new(order.id, identity.actor(), text, app.clock.now());
    app.notes.add_note(&note).await?;
    json(201, &note)
}

/// `GET /orders/{orderId}/notes`: newest first, `limit` (1..100, 50) with a `cursor`.
pub async fn list_notes(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let id = path_param(&request, "orderId", OrderId::parse)?;
    let (limit, after) = log_page_params(&query(&request, &["limit", "cursor"])?)?;
    staff_order(app, &identity, id).await?;
    let page = app.notes.notes(id, limit, after.as_deref()).await?;
    // A seller reads the shop's notes and their own, never another seller's.
    let own = identity.actor();
    let readable = |note: &OrderNote| identity.is_admin || note.author == own || note.author.as_str().starts_with("admin:");
    let notes: Vec<&OrderNote> = page.notes.iter().filter(|note| readable(note)).collect();
    json(
        200,
        &serde_json::json!({
            "notes": notes,
            "next_cursor": page.next.map(|sk| URL_SAFE_NO_PAD.encode(sk)),
        }),
    )
}

/// The order, if the caller is the shop's staff for it: an admin, or a seller with a part.
async fn staff_order(app: &App, identity: &Identity, id: OrderId) -> Result<Order, ApiError> {
    tracing::Span::current().record("order_id", tracing::field::display(id));
    let order = app.orders.get_order(id).await?.ok_or(ApiError::OrderNotFound)?;
    let seller_of_a_part = identity
        .seller_id
        .as_ref()
        .is_some_and(|seller| order.seller_view(seller).is_some());
    match (identity.is_admin || seller_of_a_part, identity.may_access(&order.user_id)) {
        (true, _) => Ok(order),
        (false, true) => Err(ApiError::Forbidden),
        (false, false) => Err(ApiError::OrderNotFound),
    }
}
