//! What the use cases need from the outside world, as narrow traits, one per entity or service:
//! adapters implement them (DynamoDB, SQS, EventBridge, SES, the payment provider), and tests
//! drive the clock through `ManualClock` (faults are injected below the SDK, see
//! `adapters::faults`). Here: the storage errors every port shares.

use crate::domain::LineProblem;
use crate::domain::Sku;
mod analytics;
mod audit;
mod batches;
mod carts;
mod catalogue;
mod clock;
mod invoices;
mod links;
mod messaging;
mod notes;
mod notifications;
mod numbering;
mod orders;
mod payments;
mod users;

pub use analytics::*;
pub use audit::*;
pub use batches::*;
pub use carts::*;
pub use catalogue::*;
pub use clock::*;
pub use invoices::*;
pub use links::*;
pub use messaging::*;
pub use notes::*;
pub use notifications::*;
pub use numbering::*;
pub use orders::*;
pub use payments::*;
pub use users::*;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage call that failed for a reason other than a business condition.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, a 5xx or a timeout that outlasted the SDK's own retries: the caller does not
    /// retry again, it answers 503 or hands the work to a queue.
    #[error("transient storage failure")]
    Transient(#[source] BoxError),
    /// A transaction cancelled by a concurrent one (or throttled as a whole). The SDK does not
    /// retry these: the caller retries the whole transaction with its `RetryPolicy`.
    #[error("the transaction was cancelled by a concurrent one")]
    Contended(#[source] BoxError),
    #[error("storage failure")]
    Permanent(#[source] BoxError),
}

impl StoreError {
    /// Passes with time (503 territory), whether or not it is worth retrying here.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Contended(_))
    }

    /// Worth retrying the whole call now: the SDK has not already done so.
    pub fn is_contended(&self) -> bool {
        matches!(self, Self::Contended(_))
    }
}

/// Why a conditional write of an order was refused: the business outcome, not a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// These lines did not have enough available stock; nothing was written.
    OutOfStock(Vec<LineProblem>),
    /// The price of these products changed since the order was priced; nothing was written.
    PriceChanged(Vec<Sku>),
    /// An order with this id already exists: our own earlier write, replayed.
    OrderExists,
    /// Another request already holds this idempotency key.
    IdempotencyKeyTaken,
    /// The order is no longer in the status (or version) the write expected.
    OrderChanged,
    /// The order is as expected but its reservation is not ACTIVE: the stored state disagrees
    /// with itself, and retrying cannot help.
    ReservationNotActive,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("write rejected: {0:?}")]
    Rejected(Rejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WriteError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store(err) if err.is_transient())
    }

    pub fn is_contended(&self) -> bool {
        matches!(self, Self::Store(err) if err.is_contended())
    }
}
