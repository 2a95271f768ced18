//! Sales analytics: the consumer that counts each domain event once, and the reports (admins;
//! a seller reads their own figures).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{Duration, NaiveDate};
use lambda_http::Request;

use super::{admin, each_message, order_event_step, seller_or_admin, StepFailure};
use crate::domain::analytics::{DayRange, Granularity, RangeError};
use crate::domain::events::DomainEvent;
use crate::domain::UserId;
use crate::http::{json, path_param, query, ApiError, HttpResult, QueryParams};
use crate::service::actions::ActionError;
use crate::service::analytics;
use crate::service::App;

/// Days a report covers when `from` is not given: the last 30, today included.
const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, thiserror::Error)]
enum CountError {
    #[error("the event's detail is not a domain event")]
    Unreadable(#[source] serde_json::Error),
    #[error(transparent)]
    Action(#[from] ActionError),
}

impl StepFailure for CountError {
    fn is_missing_order(&self) -> bool {
        matches!(self, Self::Action(ActionError::NotFound))
    }
}

/// The analytics queue's consumer.
pub async fn update(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_message(&event, |message| {
        order_event_step(message, "analytics", |_, detail| async move {
            let event: DomainEvent = serde_json::from_value(detail).map_err(CountError::Unreadable)?;
            Ok::<_, CountError>(analytics::record_event(app.counting(), &event).await?)
        })
    })
    .await
}

/// `from` and `to` (`YYYY-MM-DD`, UTC days, both included): by default the last 30 days.
fn day_range(app: &App, params: &QueryParams<'_>) -> Result<DayRange, ApiError> {
    let date = |raw: &str| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok();
    let expected = "a date such as 2026-11-24";
    let to = params.parse("to", date, expected)?.unwrap_or_else(|| app.clock.now().date_naive());
    let from = params
        .parse("from", date, expected)?
        .unwrap_or_else(|| to.checked_sub_signed(Duration::days(DEFAULT_DAYS - 1)).unwrap_or(to));
    DayRange::new(from, to).map_err(|err| {
        let (field, code) = match err {
            RangeError::Reversed => ("from", "INVALID_QUERY_PARAMETER"),
            RangeError::TooLong => ("from", "RANGE_TOO_LONG"),
            RangeError::OutOfBounds { field } => (field, "INVALID_QUERY_PARAMETER"),
        };
        ApiError::bad_parameter(field, code, err.to_string())
    })
}

/// `GET /orders/analytics/daily?from&to`.
pub async fn daily(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let params = query(&request, &["from", "to"])?;
    let range = day_range(app, &params)?;
    let days = analytics::daily(&*app.analytics, range).await?;
    json(200, &serde_json::json!({ "from": range.from, "to": range.to, "days": days }))
}

/// `GET /orders/analytics/revenue?from&to&granularity=day|week|month`.
pub async fn revenue(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let params = query(&request, &["from", "to", "granularity"])?;
    let range = day_range(app, &params)?;
    let granularity = params
        .parse("granularity", Granularity::parse, "day, week or month")?
        .unwrap_or(Granularity::Day);
    let report = analytics::revenue(&*app.analytics, range, granularity).await?;
    json(200, &report)
}

/// `GET /orders/analytics/trends?from&to`.
pub async fn trends(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let params = query(&request, &["from", "to"])?;
    let range = day_range(app, &params)?;
    let report = analytics::trends(&*app.analytics, range).await?;
    json(200, &report)
}

/// `GET /orders/analytics/sellers/{sellerId}?from&to`: for that seller and admins.
pub async fn seller(app: &App, request: Request) -> HttpResult {
    let seller_id = seller_or_admin(&request)?;
    let params = query(&request, &["from", "to"])?;
    let range = day_range(app, &params)?;
    let report = analytics::seller(&*app.analytics, &seller_id, range).await?;
    json(200, &report)
}

/// `GET /customers/{userId}/stats` (admin): the customer's order count, what they spent, their
/// average order and their last order, from counters kept as their orders change.
pub async fn customer(app: &App, request: Request) -> HttpResult {
    admin(&request)?;
    let user = path_param(&request, "userId", UserId::parse)?;
    let report = analytics::customer(&*app.analytics, &user, &app.pricing.currency).await?;
    json(200, &report)
}
