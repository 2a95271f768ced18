//! Notifications: each event that concerns customers or sellers becomes one message per
//! recipient, sent once however often the event is delivered. Each message is claimed (a
//! conditional put keyed by event id and recipient) before it is sent and marked sent after; a
//! claim left behind by a crash is taken over once its lease has passed.

use chrono::Duration;

use crate::domain::events::DomainEvent;
use crate::domain::notification::{notifications_for, sellers_concerned};
use crate::ports::{Clock, NotificationClaim, NotificationLog, Notifier, NotifyError, OrderStore, SellerStore, StoreError};
use crate::service::actions::{load, Access, ActionError};
use crate::service::App;

/// What notifying works with.
#[derive(Clone, Copy)]
pub struct Notifying<'a> {
    pub orders: &'a dyn OrderStore,
    /// Where sellers are mailed.
    pub sellers: &'a dyn SellerStore,
    /// Which messages were sent, so that none goes twice.
    pub log: &'a dyn NotificationLog,
    pub notifier: &'a dyn Notifier,
    pub clock: &'a dyn Clock,
}

impl App {
    pub fn notifying(&self) -> Notifying<'_> {
        Notifying {
            orders: &*self.orders,
            sellers: &*self.sellers,
            log: &*self.notification_log,
            notifier: &*self.notifier,
            clock: &*self.clock,
        }
    }
}

/// How long a claim being sent is respected before another delivery may send it again: longer
/// than a send takes, shorter than the queue's redeliveries last.
const SENDING_LEASE_SECONDS: i64 = 120;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error(transparent)]
    Action(#[from] ActionError),
    #[error("the mail service failed")]
    Mail(#[source] NotifyError),
    #[error("another delivery of this event is sending some of its messages")]
    InFlight,
}

impl From<StoreError> for NotificationError {
    fn from(err: StoreError) -> Self {
        Self::Action(err.into())
    }
}

/// Sends what the event tells its recipients; answers how many messages went out now.
pub async fn notify(notifying: Notifying<'_>, event: &DomainEvent) -> Result<usize, NotificationError> {
    let Notifying { log, notifier, clock, .. } = notifying;
    let order = load(notifying.orders, event.order_id, Access::Anyone).await?;
    let concerned = sellers_concerned(event);
    let sellers = if concerned.is_empty() {
        Default::default()
    } else {
        notifying.sellers.get_sellers(&concerned).await?
    };
    let mut sent = 0;
    let mut in_flight = false;
    for message in notifications_for(event, &order, &sellers) {
        let recipient = message.audience.key();
        let now = clock.now();
        let stale_before = now - Duration::seconds(SENDING_LEASE_SECONDS);
        match log.claim_notification(&event.event_id, &recipient, now, stale_before).await? {
            NotificationClaim::Done => continue,
            NotificationClaim::InFlight => {
                in_flight = true;
                continue;
            }
            NotificationClaim::Claimed => {}
        }
        let outcome = match notifier.send(&message).await {
            Ok(message_id) => {
                tracing::info!(recipient, message_id, event = event.name.as_str(), "notification sent");
                sent += 1;
                "SENT"
            }
            Err(NotifyError::Refused(reason)) => {
                tracing::warn!(recipient, reason, "the mail service refused a notification; not sending it again");
                "REFUSED"
            }
            // The claim stays SENDING: a later delivery takes it over once its lease passes.
            Err(err) => return Err(NotificationError::Mail(err)),
        };
        log.settle_notification(&event.event_id, &recipient, outcome, clock.now()).await?;
    }
    if in_flight {
        return Err(NotificationError::InFlight);
    }
    Ok(sent)
}
