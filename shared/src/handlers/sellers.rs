//! The seller registry (admin): `PUT` and `GET /api/v1/sellers/{sellerId}`.

use lambda_http::Request;

use super::{admin, store_failure};
use crate::app::App;
use crate::domain::seller::SellerUpdate;
use crate::domain::SellerId;
use crate::http::{json, json_body, path_param, ApiError, HttpResult};

/// `PUT`: registers the seller or replaces what was set (`name`, `email`, `active`,
/// `commission_rate`); 200 with the seller.
pub async fn put_seller(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let seller_id = path_param(&request, "sellerId", SellerId::parse)?;
    let update = SellerUpdate::from_json(seller_id, &json_body(&request)?).map_err(ApiError::Validation)?;
    let seller = app.catalogue.put_seller(&update, app.clock.now()).await.map_err(store_failure)?;
    json(200, &seller)
}

pub async fn get_seller(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let seller_id = path_param(&request, "sellerId", SellerId::parse)?;
    let mut sellers = app
        .catalogue
        .get_sellers(std::slice::from_ref(&seller_id))
        .await
        .map_err(store_failure)?;
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
