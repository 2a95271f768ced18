//! The runtime loop of every binary, around the one handler it serves: the app is built once,
//! at cold start (`startup`), and shared by every invocation.

use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::LambdaEvent;

use crate::handlers::{HttpFunction, QueueFunction, ScheduleFunction, StreamFunction};
use crate::startup::cold_start;

pub type Error = lambda_runtime::Error;

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
