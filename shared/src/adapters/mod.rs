//! Implementations of the ports: DynamoDB, SQS, and fault-injecting wrappers for tests.

pub mod dynamo;
pub mod faults;
pub mod sqs;

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
    "TransactionConflictException",
];

/// Sorts an SDK failure into transient (worth a retry) or permanent, keeping it as the source.
pub(crate) fn classify<E>(err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            service.err().code().is_some_and(|code| TRANSIENT_CODES.contains(&code)) || service.raw().status().is_server_error()
        }
        _ => false,
    };
    let boxed: BoxError = Box::new(err);
    if transient {
        StoreError::Transient(boxed)
    } else {
        StoreError::Permanent(boxed)
    }
}
