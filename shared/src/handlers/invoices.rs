//! Invoices: the consumer that issues them (`OrderDelivered` events, routed by a rule), and
//! `GET /orders/{orderId}/invoice` as JSON, or as a printable page with `Accept: text/html`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::{Body, Request, Response};

use super::{caller, each_message, order_event_step};
use crate::domain::OrderId;
use crate::http::{json, path_param, ApiError, HttpResult};
use crate::service::invoices::issue_invoice;
use crate::service::App;

pub async fn issue(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_message(&event, |message| {
        order_event_step(message, "invoice", |id, _| issue_invoice(app.invoicing(), id))
    })
    .await
}

pub async fn get(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let id = path_param(&request, "orderId", OrderId::parse)?;
    tracing::Span::current().record("order_id", tracing::field::display(id));
    let invoice = app
        .invoices
        .get_invoice(id)
        .await?
        // Another customer's invoice is as absent as a missing one.
        .filter(|invoice| identity.may_access(&invoice.user_id))
        .ok_or_else(|| ApiError::Refused {
            status: 404,
            code: "INVOICE_NOT_FOUND",
            message: "no invoice: the order is not delivered yet, or not yours".to_owned(),
            extra: serde_json::Map::new(),
        })?;
    let wants_html = request
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !wants_html {
        return json(200, &invoice);
    }
    Response::builder()
        .status(200)
        .header("content-type", "text/html; charset=utf-8")
        .body(Body::Text(crate::render::html::invoice(&invoice)))
        .map_err(|err| ApiError::Internal(Box::new(err)))
}
