//! Admin inventory: `PUT` and `GET /api/v1/inventory/{productId}`, with the product's
//! `version` as its `ETag`; relative adjustments and the stock movement history.

use lambda_http::Request;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::admin;
use super::orders::idempotency_key;
use crate::domain::request::{product_update_from_json, stock_adjustment_from_json};
use crate::domain::{Product, SellerId, Sku};
use crate::http::{json, json_body, path_param, query, ApiError, HttpResult, QueryParams};
use crate::ports::{AdjustError, Consistency, PutProductError};
use crate::service::App;

/// `PUT`: with `If-Match: "<version>"` (quoted or bare, from the `ETag` of a `GET`), only if
/// nothing changed the product since (412 otherwise), so a stale absolute `on_hand` cannot
/// bring sold units back. Without it, the write is unconditional on the version.
pub async fn put_product(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let sku = path_param(&request, "productId", Sku::parse)?;
    let if_match = if_match(&request)?;
    let update = product_update_from_json(sku, &json_body(&request)?).map_err(ApiError::Validation)?;
    // A product names a registered seller (sellers are never deleted, only deactivated).
    let sellers = app.sellers.get_sellers(std::slice::from_ref(&update.seller_id)).await?;
    if !sellers.contains_key(&update.seller_id) {
        return Err(ApiError::Refused {
            status: 422,
            code: "SELLER_NOT_FOUND",
            message: format!(
                "no seller {} is registered: register it with PUT /api/v1/sellers/{{sellerId}} first",
                update.seller_id
            ),
            extra: serde_json::Map::from_iter([("seller_id".to_owned(), serde_json::json!(update.seller_id))]),
        });
    }
    match app
        .catalogue
        .put_product(&update, if_match, &identity.actor(), app.clock.now())
        .await
    {
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
        Err(PutProductError::Store(err)) => Err(ApiError::from(err)),
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
    let mut found = app.catalogue.get_products(std::slice::from_ref(&sku)).await?;
    let product = found.remove(&sku).ok_or(ApiError::ProductNotFound)?;
    with_etag(json(200, &product)?, &product)
}

/// `POST /inventory/{productId}/adjustments`: `{"delta": 5, "reason": "restock"}` moves
/// `on_hand` and `available` by `delta` in one conditional write, whatever else sells or
/// holds meanwhile. With `Idempotency-Key`, a retried adjustment applies once.
pub async fn adjust_product(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let sku = path_param(&request, "productId", Sku::parse)?;
    let key = idempotency_key(&request)?;
    let adjustment = stock_adjustment_from_json(sku, &json_body(&request)?).map_err(ApiError::Validation)?;
    match app
        .catalogue
        .adjust_stock(&adjustment, key.as_ref(), &identity.actor(), app.clock.now())
        .await
    {
        Ok((product, replayed)) => {
            let mut response = with_etag(json(200, &product)?, &product)?;
            if replayed {
                response
                    .headers_mut()
                    .insert("idempotent-replayed", http::HeaderValue::from_static("true"));
            }
            Ok(response)
        }
        Err(AdjustError::NotFound) => Err(ApiError::ProductNotFound),
        Err(err @ AdjustError::NotAvailable { available }) => Err(ApiError::Refused {
            status: 409,
            code: "NOT_ENOUGH_AVAILABLE",
            message: err.to_string(),
            extra: serde_json::Map::from_iter([("available".to_owned(), serde_json::json!(available))]),
        }),
        Err(err @ AdjustError::TooMuch) => Err(ApiError::refused(409, "ON_HAND_TOO_LARGE", err.to_string(), serde_json::json!({}))),
        Err(AdjustError::KeyReused) => Err(ApiError::IdempotencyKeyReused),
        Err(AdjustError::Store(err)) => Err(ApiError::from(err)),
    }
}

/// `GET /inventory`: the catalogue by product id, every product or one seller's (`seller_id`),
/// `limit` (1..100, 50) at a time with a `cursor`.
pub async fn list_products(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let params = query(&request, &["seller_id", "limit", "cursor"])?;
    let seller = params.parse("seller_id", |raw| SellerId::parse(raw).ok(), "a seller id")?;
    let after = after_id(&params, |id| Sku::parse(id).ok())?;
    let page = app
        .catalogue
        .list_products(seller.as_ref(), page_limit(&params)?, after.as_ref(), Consistency::Strong)
        .await?;
    json(
        200,
        &serde_json::json!({
            "products": page.products,
            "next_cursor": page.next.map(|sku| id_cursor(sku.as_str())),
        }),
    )
}

/// A listing's `limit`: 1..100, 50 when absent.
pub(crate) fn page_limit(params: &QueryParams<'_>) -> Result<u16, ApiError> {
    Ok(params
        .parse(
            "limit",
            |raw| raw.parse::<u16>().ok().filter(|n| (1..=100).contains(n)),
            "a whole number from 1 to 100",
        )?
        .unwrap_or(50))
}

/// The cursor of a listing by id: the last id of the page, base64url.
pub(crate) fn id_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// The id a listing's `cursor` names, if it sent one this service issued.
pub(crate) fn after_id<T>(params: &QueryParams<'_>, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, ApiError> {
    params
        .get("cursor")
        .map(|raw| {
            URL_SAFE_NO_PAD
                .decode(raw)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| parse(&text))
                .ok_or_else(|| ApiError::bad_parameter("cursor", "INVALID_CURSOR", "the cursor is not one this service issued"))
        })
        .transpose()
}

/// `GET /inventory/{productId}/movements`: restocks, adjustments, holds, sales and releases,
/// newest first, `limit` (1..100, 50) at a time with a `cursor`.
pub async fn product_movements(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let sku = path_param(&request, "productId", Sku::parse)?;
    let (limit, after) = log_page_params(&query(&request, &["limit", "cursor"])?)?;
    let page = app.movements.movements(&sku, limit, after.as_deref()).await?;
    json(
        200,
        &serde_json::json!({
            "movements": page.movements,
            "next_cursor": page.next.map(|sk| URL_SAFE_NO_PAD.encode(sk)),
        }),
    )
}

/// `limit` (1..100, 50) and `cursor` of a log kept by time and stream record (movements, the
/// audit trail).
pub(crate) fn log_page_params(params: &QueryParams<'_>) -> Result<(u16, Option<String>), ApiError> {
    let limit = page_limit(params)?;
    let after = match params.get("cursor") {
        None => None,
        Some(raw) => Some(
            decode_log_cursor(raw)
                .ok_or_else(|| ApiError::bad_parameter("cursor", "INVALID_CURSOR", "the cursor is not one this service issued"))?,
        ),
    };
    Ok((limit, after))
}

/// A log's cursor: the base64url of an entry's sort key, `<timestamp>#<sequence>`.
fn decode_log_cursor(raw: &str) -> Option<String> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (at, sequence) = text.split_once('#')?;
    let well_formed =
        chrono::DateTime::parse_from_rfc3339(at).is_ok() && !sequence.is_empty() && sequence.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then_some(text)
}
