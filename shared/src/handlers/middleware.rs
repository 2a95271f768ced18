//! What every HTTP request passes through around its handler: the request's span (function,
//! request id, user and order ids), the storage breaker, the `Server-Timing` header, the request
//! metric and the log line, and every failure turned into a problem response.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

use super::HttpFunction;
use crate::breaker::{Admission, Outcome};
use crate::http::ApiError;
use crate::service::App;
use crate::timing::Tally;

impl HttpFunction {
    /// Handles one request; every failure becomes a problem response, never a panic or a 502.
    pub async fn handle(self, app: &App, request: Request) -> Response<Body> {
        let span = tracing::info_span!(
            "request",
            function = self.name(),
            request_id = %request_id(&request),
            user_id = tracing::field::Empty,
            order_id = tracing::field::Empty,
        );
        async move {
            let admitted = std::time::Instant::now();
            // The pages never touch storage: served whatever the breaker says, and proof of nothing.
            let uses_storage = self != Self::ServePages;
            if let (true, Admission::Refused { retry_after }) = (uses_storage, app.breaker.admit(admitted)) {
                let retry_after_secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                return timed(
                    ApiError::StorageBreakerOpen { retry_after_secs }.into_response(),
                    &Tally::default(),
                    admitted,
                );
            }
            // Boxed: every handler's state machine in one future is too big for a thread's stack.
            let routed = crate::calls::as_function(self.name(), self.route(app, request));
            let (result, tally) = crate::timing::tallied(Box::pin(routed)).await;
            let outcome = match &result {
                // A throttled item shows storage up: only an outage may refuse every request.
                Err(ApiError::Unavailable(err)) if crate::adapters::is_throttling(err.as_ref()) => Outcome::Answered,
                Err(ApiError::Unavailable(_)) => Outcome::Failed,
                Ok(_) | Err(ApiError::OrderNotFound | ApiError::ProductNotFound | ApiError::Refused { .. }) => Outcome::Answered,
                Err(_) => Outcome::Untested,
            };
            if uses_storage {
                app.breaker.record(outcome, std::time::Instant::now());
            }
            let response = timed(result.unwrap_or_else(ApiError::into_response), &tally, admitted);
            crate::metrics::request(self.name(), response.status().as_u16(), admitted.elapsed());
            tracing::info!(
                status = response.status().as_u16(),
                db_calls = tally.db_calls,
                db_ms = tally.db.as_secs_f64() * 1000.0,
                "request done"
            );
            response
        }
        .instrument(span)
        .await
    }
}

/// The response with its `Server-Timing` header: storage, queues, and the rest since `started`.
fn timed(mut response: Response<Body>, tally: &Tally, started: std::time::Instant) -> Response<Body> {
    if let Ok(value) = http::HeaderValue::from_str(&crate::timing::server_timing(tally, started.elapsed())) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

fn request_id(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}
