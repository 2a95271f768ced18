//! Telling customers and sellers: the mail sender, and the log that sends each message once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{BoxError, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationClaim {
    /// Ours to send.
    Claimed,
    /// Sent (or refused for good) already.
    Done,
    /// Another delivery is sending it now: try again later.
    InFlight,
}

/// Which notifications were sent, so that none is sent twice.
#[async_trait]
pub trait NotificationLog: Send + Sync {
    /// Claims the sending of one notification (an event's message to one recipient), so that a
    /// redelivered event sends nothing twice. A claim left SENDING by a crash may be taken over
    /// once it is older than `stale_before`.
    async fn claim_notification(
        &self,
        event_id: &str,
        recipient: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<NotificationClaim, StoreError>;

    /// Records a claimed notification as sent (or refused for good), with the mail service's id.
    async fn settle_notification(&self, event_id: &str, recipient: &str, outcome: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Throttled, failing or unreachable: sent again later.
    #[error("the mail service is unavailable")]
    Unavailable(#[source] BoxError),
    /// A message the mail service will never take (a rejected address, say).
    #[error("the mail service refused the message: {0}")]
    Refused(String),
}

/// Sends messages to customers and sellers: SES in AWS and locally (moto).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one message and answers the mail service's message id.
    async fn send(&self, message: &crate::domain::notification::Notification) -> Result<String, NotifyError>;
}
