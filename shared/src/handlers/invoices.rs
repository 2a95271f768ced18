//! Invoices: the consumer that issues them (`OrderDelivered` events, routed by a rule), and
//! `GET /orders/{orderId}/invoice` as JSON, or as a printable page with `Accept: text/html`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use tracing::Instrument;

use super::{caller, each_message, store_failure};
use crate::app::App;
use crate::domain::OrderId;
use crate::http::{json, path_param, ApiError, HttpResult};
use crate::service::actions::ActionError;
use crate::service::invoices::issue_invoice;

pub async fn issue(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_message(&event, |message| issue_one(app, message)).await
}

async fn issue_one(app: &App, message: &SqsMessage) -> bool {
    let message_id = message.message_id.as_deref().unwrap_or_default();
    let span = tracing::info_span!("message", message_id, order_id = tracing::field::Empty);
    async {
        let order_id = message
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str::<Value>(body).ok())
            .and_then(|event| event["detail"]["order_id"].as_str().and_then(|id| OrderId::parse(id).ok()));
        let Some(order_id) = order_id else {
            tracing::error!("unreadable invoice message");
            return false;
        };
        tracing::Span::current().record("order_id", tracing::field::display(order_id));
        match issue_invoice(app, order_id).await {
            Ok(issued) => {
                tracing::info!(issued, "invoice step done");
                true
            }
            Err(ActionError::NotFound) => {
                tracing::error!("invoice step for an order that does not exist; dropping it");
                true
            }
            Err(err) => {
                tracing::warn!(error = %crate::error_chain(&err), "invoice step failed; it will be retried");
                false
            }
        }
    }
    .instrument(span)
    .await
}

pub async fn get(app: &App, request: Request) -> HttpResult {
    let identity = caller(&request)?;
    let id = path_param(&request, "orderId", OrderId::parse)?;
    tracing::Span::current().record("order_id", tracing::field::display(id));
    let invoice = app
        .orders
        .get_invoice(id)
        .await
        .map_err(store_failure)?
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
        .body(Body::Text(invoice.to_html()))
        .map_err(|err| ApiError::Internal(Box::new(err)))
}
