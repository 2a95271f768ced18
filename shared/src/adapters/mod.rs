//! Implementations of the ports: DynamoDB and SQS, the clients they share, and (chaos builds
//! only) the fault-injecting HTTP client beneath them.

pub mod aws;
pub mod cognito;
pub mod dynamo;
pub mod eventbridge;
#[cfg(feature = "chaos")]
pub mod faults;
pub mod provider;
pub mod secrets;
pub mod ses;
pub mod sqs;
pub mod stripe;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::ports::{BoxError, StoreError};

/// Error codes AWS services use for conditions that pass with time: retry them.
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "RequestThrottled",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

/// Of those, the codes that say storage is up but an item, a partition or the account is over
/// its throughput: busy, not down.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "RequestThrottled",
];

/// Marks a transient failure that was throttling, so that the storage breaker, which guards
/// against storage being down, does not open because one hot item is busy (and then refuse
/// every other product's requests too).
#[derive(Debug, thiserror::Error)]
#[error("throttled: storage is up, but over its throughput here")]
pub struct Throttled(#[source] BoxError);

/// Whether throttling is among the causes of `err`.
pub fn is_throttling(err: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(err), |err| err.source()).any(|cause| cause.is::<Throttled>())
}

/// A single-item write that collided with a transaction: the SDK does not retry it.
const CONTENDED_CODES: &[&str] = &["TransactionConflictException"];

/// Sorts an SDK failure, after the SDK's own retries, into transient (503 territory) or
/// permanent, keeping it as the source.
pub(crate) fn classify<E>(err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.as_service_error().and_then(|service| service.code());
    let contended = code.is_some_and(|code| CONTENDED_CODES.contains(&code));
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            code.is_some_and(|code| TRANSIENT_CODES.contains(&code)) || service.raw().status().is_server_error()
        }
        _ => false,
    };
    let throttled = code.is_some_and(|code| THROTTLING_CODES.contains(&code));
    let boxed: BoxError = match throttled {
        true => Box::new(Throttled(Box::new(err))),
        false => Box::new(err),
    };
    if contended {
        StoreError::Contended(boxed)
    } else if transient {
        StoreError::Transient(boxed)
    } else {
        StoreError::Permanent(boxed)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::SdkError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
    }

    #[test]
    fn throttling_server_errors_and_timeouts_classify_as_transient_and_conflicts_as_contended() {
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        use aws_smithy_types::error::ErrorMetadata;
        let service = |code: &str, status: u16| {
            let meta = ErrorMetadata::builder().code(code).build();
            SdkError::service_error(GetItemError::generic(meta), response(status))
        };
        assert!(classify(service("ThrottlingException", 400)).is_transient());
        assert!(classify(service("ProvisionedThroughputExceededException", 400)).is_transient());
        assert!(classify(service("InternalServerError", 500)).is_transient());
        assert!(classify(service("SomethingNew", 503)).is_transient());
        assert!(!classify(service("ValidationException", 400)).is_transient());
        assert!(classify(service("TransactionConflictException", 400)).is_contended());
        let timeout: SdkError<GetItemError, HttpResponse> = SdkError::timeout_error("slow");
        assert!(classify(timeout).is_transient());
    }

    #[test]
    fn throttling_is_told_apart_from_an_outage_through_the_error_chain() {
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        use aws_smithy_types::error::metadata::ErrorMetadata;
        let service = |code: &str, status: u16| {
            let meta = ErrorMetadata::builder().code(code).build();
            SdkError::service_error(GetItemError::generic(meta), response(status))
        };
        // As a handler's error holds it: the store's error as the source of another.
        #[derive(Debug, thiserror::Error)]
        #[error("the request failed")]
        struct Handler(#[source] StoreError);
        let wrapped = |err: StoreError| -> BoxError { Box::new(Handler(err)) };
        assert!(is_throttling(
            wrapped(classify(service("ProvisionedThroughputExceededException", 400))).as_ref()
        ));
        assert!(is_throttling(wrapped(classify(service("ThrottlingException", 400))).as_ref()));
        assert!(!is_throttling(wrapped(classify(service("InternalServerError", 500))).as_ref()));
        let timeout: SdkError<GetItemError, HttpResponse> = SdkError::timeout_error("slow");
        assert!(!is_throttling(wrapped(classify(timeout)).as_ref()));
    }
}
