//! `GET /audit/{subject}/{id}` (admins): who changed a product or a seller, when, and each field
//! from what to what, newest first.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::Request;

use super::admin;
use super::inventory::log_page_params;
use crate::domain::audit::AuditSubject;
use crate::domain::{SellerId, Sku};
use crate::http::{json, path_param, query, HttpResult};
use crate::service::App;

/// `subject` is `products` or `sellers`; `limit` (1..100, 50) at a time with a `cursor`.
pub async fn audit_trail(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let subject = path_param(&request, "subject", |raw| {
        AuditSubject::parse(raw).ok_or("the subject must be products or sellers")
    })?;
    // The id is checked as the subject's own ids are, so nothing malformed reaches the key.
    let id = match subject {
        AuditSubject::Product => path_param(&request, "id", Sku::parse)?.to_string(),
        AuditSubject::Seller => path_param(&request, "id", SellerId::parse)?.to_string(),
    };
    let (limit, after) = log_page_params(&query(&request, &["limit", "cursor"])?)?;
    let page = app.audit.audit_trail(subject, &id, limit, after.as_deref()).await?;
    json(
        200,
        &serde_json::json!({
            "entries": page.entries,
            "next_cursor": page.next.map(|sk| URL_SAFE_NO_PAD.encode(sk)),
        }),
    )
}
