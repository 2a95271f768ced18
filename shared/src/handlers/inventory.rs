//! Admin inventory: `PUT` and `GET /api/v1/inventory/{productId}`.

use lambda_http::Request;

use super::{admin, store_failure};
use crate::app::App;
use crate::domain::request::product_update_from_json;
use crate::domain::Sku;
use crate::http::{json, json_body, path_param, ApiError, HttpResult};
use crate::ports::PutProductError;

pub async fn put_product(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let sku = path_param(&request, "productId", Sku::parse)?;
    let update = product_update_from_json(sku, &json_body(&request)?).map_err(ApiError::Validation)?;
    match app.catalogue.put_product(&update, app.clock.now()).await {
        Ok(product) => json(200, &product),
        Err(PutProductError::BelowReserved { on_hand, reserved }) => Err(ApiError::OnHandBelowReserved { on_hand, reserved }),
        Err(PutProductError::Store(err)) => Err(store_failure(err)),
    }
}

pub async fn get_product(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let sku = path_param(&request, "productId", Sku::parse)?;
    let mut found = app
        .catalogue
        .get_products(std::slice::from_ref(&sku))
        .await
        .map_err(store_failure)?;
    let product = found.remove(&sku).ok_or(ApiError::ProductNotFound)?;
    json(200, &product)
}
