//! The service's AWS clients, built once per cold start. This is the one place that retries
//! throttling, 5xx answers and timeouts: the SDK's standard retry mode, with a budget small
//! enough for a request to answer in time. What the SDK does not retry (a transaction cancelled
//! by a concurrent one) is the use case's to retry, with `RetryPolicy`.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryPartition, TokenBucket};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

use crate::timing::{Kind, Stopwatch};

/// The first retry waits up to this long; each later one up to twice the last, capped.
const INITIAL_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_millis(400);

/// How long one storage or queue call may take: connecting, each attempt, and all its attempts
/// together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageTimeouts {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
}

/// What the clients are built with, from the configuration.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Tries of a call that is throttled, fails with a 5xx or times out, the first included.
    pub attempts: u32,
    pub timeouts: StorageTimeouts,
    /// The user pool the directory client works on, if the function has one.
    pub user_pool_id: Option<String>,
    /// Faults to inject below the SDK (chaos builds only).
    #[cfg(feature = "chaos")]
    pub faults: Option<super::faults::FaultPlan>,
    /// Where every call is recorded for the IAM parity check (chaos builds only).
    #[cfg(feature = "chaos")]
    pub call_log: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ServiceClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub ses: aws_sdk_sesv2::Client,
    /// Read at cold start only (the secrets the configuration names).
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The user pool, for the functions that bind users to sellers (`None` elsewhere, or when
    /// the SDK settings lack a region or credentials: `cold_start` refuses that).
    pub users: Option<super::cognito::CognitoDirectory>,
}

impl ServiceClients {
    /// Clients for the service from the environment's SDK settings (region, credentials and,
    /// locally, `AWS_ENDPOINT_URL`).
    pub async fn from_env(settings: &ClientSettings) -> Self {
        let sdk = aws_config::load_from_env().await;
        Self::new(&sdk, &sdk, settings)
    }

    /// Clients with the service's retries (and, in chaos builds, injected faults) on top of the
    /// given SDK settings: one for DynamoDB, one for SQS and EventBridge (locally they are
    /// different emulators), SES and Secrets Manager beside them.
    pub fn new(dynamodb: &SdkConfig, messaging: &SdkConfig, settings: &ClientSettings) -> Self {
        let retry = RetryConfig::standard()
            .with_max_attempts(settings.attempts)
            .with_initial_backoff(INITIAL_BACKOFF)
            .with_max_backoff(MAX_BACKOFF);
        // A hung connection or a slow attempt is cut short and retried, and no call outlasts
        // its operation timeout: a request answers within the function's timeout.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(settings.timeouts.connect)
            .operation_attempt_timeout(settings.timeouts.attempt)
            .operation_timeout(settings.timeouts.operation)
            .build();
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(dynamodb)
            .interceptor(Stopwatch(Kind::Db))
            .timeout_config(timeouts.clone())
            .retry_config(retry.clone())
            .retry_partition(own_partition("orders-dynamodb"));
        let eventbridge = aws_sdk_eventbridge::config::Builder::from(messaging)
            .interceptor(Stopwatch(Kind::Queue))
            .timeout_config(timeouts.clone())
            .retry_config(retry.clone())
            .retry_partition(own_partition("orders-eventbridge"));
        let ses = aws_sdk_sesv2::config::Builder::from(messaging)
            .timeout_config(timeouts.clone())
            .retry_config(retry.clone())
            .retry_partition(own_partition("orders-ses"));
        let secrets = aws_sdk_secretsmanager::config::Builder::from(messaging)
            .timeout_config(timeouts.clone())
            .retry_config(retry.clone())
            .retry_partition(own_partition("orders-secrets"));
        let sqs = aws_sdk_sqs::config::Builder::from(messaging)
            .interceptor(Stopwatch(Kind::Queue))
            .timeout_config(timeouts)
            .retry_config(retry)
            .retry_partition(own_partition("orders-sqs"));
        #[cfg(feature = "chaos")]
        let (dynamodb, sqs, eventbridge, ses, secrets) = match &settings.call_log {
            Some(path) => {
                let recorder = crate::calls::CallRecorder::to(path.clone());
                (
                    dynamodb.interceptor(recorder.clone()),
                    sqs.interceptor(recorder.clone()),
                    eventbridge.interceptor(recorder.clone()),
                    ses.interceptor(recorder.clone()),
                    secrets.interceptor(recorder),
                )
            }
            None => (dynamodb, sqs, eventbridge, ses, secrets),
        };
        #[cfg(feature = "chaos")]
        let (dynamodb, sqs, eventbridge, ses) = match &settings.faults {
            Some(plan) => (
                dynamodb.http_client(plan.http_client()),
                sqs.http_client(plan.http_client()),
                eventbridge.http_client(plan.http_client()),
                ses.http_client(plan.http_client()),
            ),
            None => (dynamodb, sqs, eventbridge, ses),
        };
        let users = settings.user_pool_id.as_ref().and_then(|pool_id| {
            super::cognito::CognitoApi::new(
                messaging,
                settings.timeouts.connect,
                settings.timeouts.attempt,
                #[cfg(feature = "chaos")]
                settings.call_log.clone(),
            )
            .inspect_err(|err| tracing::error!(error = %err, "the user pool's client cannot be built"))
            .ok()
            .map(|api| super::cognito::CognitoDirectory {
                api,
                pool_id: pool_id.clone(),
            })
        });
        Self {
            users,
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            eventbridge: aws_sdk_eventbridge::Client::from_conf(eventbridge.build()),
            ses: aws_sdk_sesv2::Client::from_conf(ses.build()),
            secrets: aws_sdk_secretsmanager::Client::from_conf(secrets.build()),
        }
    }
}

/// A retry partition with its own token bucket: the SDK stops retrying when many recent calls
/// failed (a circuit breaker of sorts), and this keeps that memory per set of clients, not per
/// process, so one instance's trouble does not silence another's retries (tests run many).
fn own_partition(name: &'static str) -> RetryPartition {
    RetryPartition::custom(name).token_bucket(TokenBucket::default()).build()
}
