//! The public catalogue: `GET /api/v1/products` and `GET /api/v1/products/{productId}`, for
//! anyone, signed in or not. Products of trading sellers only, with their price and availability
//! in a shop's words; answers may be cached for a few seconds and carry an `ETag`, so a browser
//! or a CDN asks again with `If-None-Match` and gets 304 when nothing changed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::{Body, Request, Response};

use super::inventory::{after_id, id_cursor, page_limit};
use crate::domain::catalogue::{self, CatalogueEntry, Search};
use crate::domain::{Product, SellerId, Sku};
use crate::http::{entity_tag, not_modified, path_param, query, ApiError, HttpResult};
use crate::ports::Consistency;
use crate::service::App;

/// Availability moves with every hold, so answers are fresh for seconds, not minutes.
const CACHE_CONTROL: &str = "public, max-age=5";

/// Queries of the search words one page of a search makes at most.
const SEARCH_ROUNDS: usize = 5;

/// `GET /products`: by product id, every trading seller's or one's (`seller_id`), or found by
/// `q` (every word begins a word of the name, case aside), `limit` (1..100, 50) at a time with
/// a `cursor`. A page may hold fewer than `limit` when some products are hidden (a stopped
/// seller's, or a search's near misses); `next_cursor` says whether more follow.
pub async fn list_catalogue(app: &App, request: Request) -> HttpResult {
    let params = query(&request, &["seller_id", "q", "limit", "cursor"])?;
    let seller = params.parse("seller_id", |raw| SellerId::parse(raw).ok(), "a seller id")?;
    let limit = page_limit(&params)?;
    let search = match params.get("q") {
        None => None,
        Some(raw) => Search::parse(raw).map_err(|message| ApiError::bad_parameter("q", "INVALID_QUERY", message))?,
    };
    let (products, next) = match &search {
        None => {
            let after = after_id(&params, |id| Sku::parse(id).ok())?;
            let page = app
                .catalogue
                .list_products(seller.as_ref(), limit, after.as_ref(), Consistency::Eventual)
                .await?;
            (page.products, page.next.map(|sku| id_cursor(sku.as_str())))
        }
        Some(search) => {
            let word = search.index_word();
            // A search's cursor is a word entry (`<word>#<product>`) within this search.
            let mut after = after_id(&params, |entry| {
                let (entry_word, sku) = entry.split_once('#')?;
                (entry_word.starts_with(word) && Sku::parse(sku).is_ok()).then(|| entry.to_owned())
            })?;
            let mut products: Vec<Product> = Vec::new();
            let mut next = None;
            // Entries whose products the other words, the seller or a later rename rule out are
            // skipped: read on, a few rounds at most, rather than answer a page of nothing.
            for _ in 0..SEARCH_ROUNDS {
                let wanted = limit.saturating_sub(u16::try_from(products.len()).unwrap_or(limit)).max(1);
                let page = app.search.find_by_word(word, seller.as_ref(), wanted, after.as_deref()).await?;
                // A product with two words the prefix begins has two entries: read it once.
                let mut ids: Vec<Sku> = page.entries.iter().map(|(_, sku)| sku.clone()).collect();
                ids.sort();
                ids.dedup();
                let mut found = app.catalogue.products_for_sale(&ids).await?;
                for (entry_word, sku) in &page.entries {
                    // The index follows the products through a stream: what it says is checked
                    // here. A product shows once, at the first word of its name the search word
                    // begins; another entry of it (or a stale one) is skipped.
                    let Some(product) = found.remove(sku) else { continue };
                    let first = catalogue::words(&product.name)
                        .into_iter()
                        .find(|name_word| name_word.starts_with(word));
                    let sellers_own = seller.as_ref().is_none_or(|seller| &product.seller_id == seller);
                    if first.as_deref() == Some(entry_word.as_str()) && search.matches(&product.name) && sellers_own {
                        products.push(product);
                    }
                }
                next = page.next;
                match &next {
                    Some(entry) if products.len() < usize::from(limit) => after = Some(entry.clone()),
                    _ => break,
                }
            }
            (products, next.map(|entry| URL_SAFE_NO_PAD.encode(entry)))
        }
    };
    let products = on_sale(app, products).await?;
    cached_json(&request, &serde_json::json!({ "products": products, "next_cursor": next }))
}

/// `GET /products/{productId}`: one product as the catalogue shows it; 404 when it does not
/// exist or its seller does not trade.
pub async fn get_catalogue_product(app: &App, request: Request) -> HttpResult {
    let sku = path_param(&request, "productId", Sku::parse)?;
    let found = app.catalogue.products_for_sale(std::slice::from_ref(&sku)).await?;
    let product = on_sale(app, found.into_values().collect())
        .await?
        .pop()
        .ok_or(ApiError::ProductNotFound)?;
    cached_json(&request, &product)
}

/// The products whose sellers trade, as the catalogue shows them, in the order given.
async fn on_sale(app: &App, products: Vec<Product>) -> Result<Vec<CatalogueEntry>, ApiError> {
    let mut sellers: Vec<SellerId> = products.iter().map(|product| product.seller_id.clone()).collect();
    sellers.sort();
    sellers.dedup();
    let terms = app.seller_lookup().terms(&sellers).await?;
    Ok(products
        .into_iter()
        .filter(|product| !terms.inactive.contains(&product.seller_id))
        .map(|product| {
            let seller_name = terms
                .names
                .get(&product.seller_id)
                .map_or(product.seller_id.as_str(), String::as_str)
                .to_owned();
            CatalogueEntry::new(product, &seller_name, &app.pricing.currency)
        })
        .collect())
}

/// A 200 with the JSON, its `ETag` (a digest of the body) and a short `Cache-Control`; or, when
/// `If-None-Match` names that ETag, a 304 without a body.
fn cached_json<T: serde::Serialize>(request: &Request, value: &T) -> HttpResult {
    let body = serde_json::to_string(value).map_err(|err| ApiError::Internal(Box::new(err)))?;
    let etag = entity_tag(body.as_bytes());
    let fresh = not_modified(request, &etag);
    let response = Response::builder()
        .status(if fresh { 304 } else { 200 })
        .header("etag", &etag)
        .header("cache-control", CACHE_CONTROL);
    let response = if fresh {
        response.body(Body::Empty)
    } else {
        response.header("content-type", "application/json").body(Body::Text(body))
    };
    response.map_err(|err| ApiError::Internal(Box::new(err)))
}
