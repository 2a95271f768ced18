//! Start-up shared by every binary: JSON logs, configuration, clients built once, the runtime loop.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::LambdaEvent;

use crate::adapters::aws::ServiceClients;
use crate::app::App;
use crate::config::Config;
use crate::handlers::{HttpFunction, QueueFunction, ScheduleFunction, StreamFunction};
use crate::ports::SystemClock;

pub type Error = lambda_runtime::Error;

/// Structured JSON logs; the request span (request id, order id, user id) rides on every line.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests, the local runner) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}

/// How long init may spend opening the storage connection before it gives up on it.
const WARM_UP: std::time::Duration = std::time::Duration::from_millis(500);

async fn cold_start() -> Result<Arc<App>, Error> {
    init_tracing();
    let config = Config::from_env().inspect_err(|err| tracing::error!(error = %err, "configuration is invalid"))?;
    let clients = ServiceClients::from_env(&config).await;
    // AWS's guidance for the Rust runtime: open the connection (DNS, TCP, TLS) during init, so
    // the first request does not pay for it. Any answer will do, a refusal included: the
    // connection stays in the client's pool.
    let warmed = tokio::time::timeout(WARM_UP, clients.dynamodb.describe_endpoints().send()).await;
    tracing::debug!(warmed = warmed.is_ok(), "storage connection opened during init");
    Ok(Arc::new(App::with_clients(&config, clients, Arc::new(SystemClock))))
}

pub async fn serve_http(function: HttpFunction) -> Result<(), Error> {
    let app = cold_start().await?;
    lambda_http::run(lambda_http::service_fn(move |request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, std::convert::Infallible>(function.handle(&app, request).await) }
    }))
    .await
}

pub async fn serve_queue(function: QueueFunction) -> Result<(), Error> {
    let app = cold_start().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = Arc::clone(&app);
        async move { Ok::<_, std::convert::Infallible>(function.handle(&app, event.payload).await) }
    }))
    .await
}

pub async fn serve_stream(function: StreamFunction) -> Result<(), Error> {
    let app = cold_start().await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<aws_lambda_events::event::dynamodb::Event>| {
            let app = Arc::clone(&app);
            async move { Ok::<_, std::convert::Infallible>(function.handle(&app, event.payload).await) }
        },
    ))
    .await
}

pub async fn serve_schedule(function: ScheduleFunction) -> Result<(), Error> {
    let app = cold_start().await?;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<EventBridgeEvent>| {
        let app = Arc::clone(&app);
        async move {
            function
                .handle(&app, event.payload)
                .await
                .map_err(|err| Error::from(crate::error_chain(&err)))
        }
    }))
    .await
}
