//! `POST /customers/{userId}/erasure` (admins): erases a customer's personal data from their
//! orders and removes their cart; the financial records stay.

use lambda_http::Request;

use super::admin;
use crate::domain::UserId;
use crate::http::{json, path_param, HttpResult};
use crate::service::privacy::erase_customer;
use crate::service::App;

/// 200 when every order was gone through, 202 when the customer has more orders than one request
/// reads (call again: erased orders are skipped).
pub async fn erase(app: &App, request: Request) -> HttpResult {
    let identity = admin(&request)?;
    let user = path_param(&request, "userId", UserId::parse)?;
    let report = erase_customer(app.erasure(), &user, &identity.actor()).await?;
    json(if report.complete { 200 } else { 202 }, &report)
}
