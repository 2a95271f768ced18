//! The seller registry (admin): `GET /api/v1/sellers`, `PUT` and `GET /api/v1/sellers/{sellerId}`, the users who
//! act for a seller (`POST /api/v1/sellers/{sellerId}/users`, `DELETE .../users/{email}`); and a seller's
//! orders (`GET /api/v1/sellers/{sellerId}/orders`), for that seller and admins.

use lambda_http::Request;

use super::inventory::{after_id, id_cursor, page_limit};
use super::listing::page_params;
use super::{admin, seller_or_admin};
use crate::domain::contact::Email;
use crate::domain::seller::SellerUpdate;
use crate::domain::validation::FieldErrors;
use crate::domain::SellerId;
use crate::domain::Sort;
use crate::http::{json, json_body, path_param, query, ApiError, HttpResult};
use crate::ports::OrderLink;
use crate::service::sellers::{BindingError, SellerUsers};
use crate::service::App;

/// `PUT`: registers the seller or replaces what was set (`name`, `email`, `active`,
/// `commission_rate`); 200 with the seller.
pub async fn put_seller(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let seller_id = path_param(&request, "sellerId", SellerId::parse)?;
    let update = SellerUpdate::from_json(seller_id, &json_body(&request)?).map_err(ApiError::Validation)?;
    let seller = app.sellers.put_seller(&update, &identity.actor(), app.clock.now()).await?;
    json(200, &seller)
}

/// `GET /sellers` (admin): every registered seller by id, `limit` (1..100, 50) with a `cursor`.
pub async fn list_sellers(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let params = query(&request, &["limit", "cursor"])?;
    let after = after_id(&params, |id| SellerId::parse(id).ok())?;
    let (sellers, next) = app.sellers.list_sellers(page_limit(&params)?, after.as_ref()).await?;
    json(
        200,
        &serde_json::json!({
            "sellers": sellers,
            "next_cursor": next.map(|id| id_cursor(id.as_str())),
        }),
    )
}

pub async fn get_seller(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let seller_id = path_param(&request, "sellerId", SellerId::parse)?;
    let mut sellers = app.sellers.get_sellers(std::slice::from_ref(&seller_id)).await?;
    match sellers.remove(&seller_id) {
        Some(seller) => json(200, &seller),
        None => Err(ApiError::Refused {
            status: 404,
            code: "SELLER_NOT_FOUND",
            message: format!("no seller {seller_id} is registered"),
            extra: serde_json::Map::new(),
        }),
    }
}

/// The user-pool binding of the App: only the functions that bind users have a pool.
fn seller_users(app: &App) -> Result<SellerUsers<'_>, ApiError> {
    let directory = app
        .users
        .as_deref()
        .ok_or_else(|| ApiError::Internal("this function has no user pool (USER_POOL_ID)".into()))?;
    Ok(SellerUsers {
        sellers: &*app.sellers,
        directory,
        clock: &*app.clock,
    })
}

/// The longest username the pool's admin calls take (an email is the username here).
const MAX_POOL_USERNAME: usize = 128;

/// An email as the pool is asked for it: as typed (a pool may match case), within the pool's
/// bound on usernames.
fn pool_email(text: &str) -> Result<Email, String> {
    let email = Email::parse(text).map_err(|err| err.to_string())?;
    if email.as_str().len() > MAX_POOL_USERNAME {
        return Err(format!("must be at most {MAX_POOL_USERNAME} characters"));
    }
    Ok(email)
}

fn binding_refusal(err: BindingError) -> ApiError {
    let message = err.to_string();
    let (status, code) = match err {
        BindingError::Store(err) => return err.into(),
        BindingError::SellerNotFound(_) => (404, "SELLER_NOT_FOUND"),
        BindingError::UserNotFound(_) => (404, "USER_NOT_FOUND"),
        BindingError::NotBound { .. } => (404, "USER_NOT_BOUND"),
        BindingError::UserNotTrusted(_) => (409, "USER_NOT_VERIFIED"),
        BindingError::OtherSeller { .. } => (409, "USER_OF_ANOTHER_SELLER"),
        BindingError::Full(_) => (409, "SELLER_USERS_FULL"),
    };
    ApiError::Refused {
        status,
        code,
        message,
        extra: serde_json::Map::new(),
    }
}

/// `POST /sellers/{sellerId}/users` `{"email"}` (admin): the user who signs in with that email
/// acts for the seller from their next sign-in or token refresh; 200 with the seller and its users.
pub async fn bind_seller_user(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let seller_id = path_param(&request, "sellerId", SellerId::parse)?;
    let body = json_body(&request)?;
    let mut errors = FieldErrors::default();
    let object = errors.object(&body, "").cloned().unwrap_or_default();
    errors.unknown_fields(&object, &["email"], "");
    let email = errors.string(&object, "email", "").and_then(|text| {
        pool_email(text)
            .inspect_err(|message| errors.push("email", "INVALID_EMAIL", message.clone()))
            .ok()
    });
    // Every way to no email noted its field error.
    let email = match email {
        Some(email) => errors.into_result(email),
        None => Err(errors.into_result(()).err().unwrap_or_default()),
    }
    .map_err(ApiError::Validation)?;
    let seller = seller_users(app)?
        .bind(&seller_id, &email, &identity.actor())
        .await
        .map_err(binding_refusal)?;
    json(200, &seller)
}

/// `DELETE /sellers/{sellerId}/users/{email}` (admin): the user no longer acts for the seller;
/// their refresh tokens are revoked, so no new token names the seller (one already issued lasts
/// its hour). 200 with the seller.
pub async fn let_go_seller_user(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let seller_id = path_param(&request, "sellerId", SellerId::parse)?;
    let email = path_param(&request, "email", pool_email)?;
    let seller = seller_users(app)?
        .let_go(&seller_id, &email, &identity.actor())
        .await
        .map_err(binding_refusal)?;
    json(200, &seller)
}

/// `GET /sellers/{sellerId}/orders?limit&cursor`: the orders holding a part of the seller,
/// newest first, each as the seller sees it (their part and lines). For the seller whose
/// `custom:seller_id` claim names them, and for admins.
pub async fn list_seller_orders(app: &App, request: Request) -> HttpResult {
    let seller_id = seller_or_admin(&request)?;
    let params = query(&request, &["limit", "cursor"])?;
    let (limit, after) = page_params(&params, Sort::DEFAULT)?;
    let page = app
        .links
        .list_linked_orders(&OrderLink::Seller(seller_id.clone()), limit, after.as_ref())
        .await?;
    let orders: Vec<_> = page.items.iter().filter_map(|order| order.seller_view(&seller_id)).collect();
    json(
        200,
        &serde_json::json!({
            "orders": orders,
            "next_cursor": page.next.map(|cursor| cursor.encode()),
        }),
    )
}
