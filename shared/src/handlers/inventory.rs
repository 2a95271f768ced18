//! Admin inventory: `PUT` and `GET /api/v1/inventory/{productId}`, with the product's
//! `version` as its `ETag`.

use lambda_http::Request;

use super::{admin, store_failure};
use crate::app::App;
use crate::domain::request::product_update_from_json;
use crate::domain::{Product, Sku};
use crate::http::{json, json_body, path_param, ApiError, HttpResult};
use crate::ports::PutProductError;

/// `PUT`: with `If-Match: "<version>"` (quoted or bare, from the `ETag` of a `GET`), only if
/// nothing changed the product since (412 otherwise), so a stale absolute `on_hand` cannot
/// bring sold units back. Without it, the write is unconditional on the version.
pub async fn put_product(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let sku = path_param(&request, "productId", Sku::parse)?;
    let if_match = if_match(&request)?;
    let update = product_update_from_json(sku, &json_body(&request)?).map_err(ApiError::Validation)?;
    match app.catalogue.put_product(&update, if_match, app.clock.now()).await {
        Ok(product) => with_etag(json(200, &product)?, &product),
        Err(PutProductError::BelowReserved { on_hand, reserved }) => Err(ApiError::OnHandBelowReserved { on_hand, reserved }),
        Err(PutProductError::Stale { current }) => Err(ApiError::Refused {
            status: 412,
            code: "VERSION_MISMATCH",
            message: format!("the product is at version {current}: read it again and retry"),
            extra: serde_json::Map::from_iter([("current_version".to_owned(), serde_json::json!(current))]),
        }),
        Err(PutProductError::NotFound) => Err(ApiError::Refused {
            status: 412,
            code: "VERSION_MISMATCH",
            message: "If-Match names a version of a product that does not exist".to_owned(),
            extra: serde_json::Map::new(),
        }),
        Err(PutProductError::Store(err)) => Err(store_failure(err)),
    }
}

/// The version an `If-Match` header names: `"7"`, `W/"7"` or `7`.
fn if_match(request: &Request) -> Result<Option<u64>, ApiError> {
    let Some(value) = request.headers().get(http::header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let bare = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    bare.parse().map(Some).map_err(|_| {
        ApiError::bad_parameter(
            "If-Match",
            "INVALID_IF_MATCH",
            "If-Match must be the product's ETag, a version number such as \"7\"",
        )
    })
}

fn with_etag(mut response: lambda_http::Response<lambda_http::Body>, product: &Product) -> HttpResult {
    if let Ok(etag) = http::HeaderValue::from_str(&format!("\"{}\"", product.version)) {
        response.headers_mut().insert(http::header::ETAG, etag);
    }
    Ok(response)
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
    with_etag(json(200, &product)?, &product)
}
