//! The seller registry (admin): `GET /api/v1/sellers`, `PUT` and `GET /api/v1/sellers/{sellerId}`; and a seller's
//! orders (`GET /api/v1/sellers/{sellerId}/orders`), for that seller and admins.

use lambda_http::Request;

use super::inventory::{after_id, id_cursor, page_limit};
use super::listing::page_params;
use super::{admin, seller_or_admin};
use crate::domain::seller::SellerUpdate;
use crate::domain::SellerId;
use crate::domain::Sort;
use crate::http::{json, json_body, path_param, query, ApiError, HttpResult};
use crate::ports::OrderLink;
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
