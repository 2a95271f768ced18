//! The customer's personal data on an order (name, email, shipping address and phone, their
//! note): kept while the order may still have to reach them, erased on an admin's request or at
//! the end of the shop's retention period. The financial record (lines, totals, payments,
//! refunds, the timeline) stays.

use chrono::{DateTime, Utc};

use super::Order;
use crate::domain::actor::Actor;
use crate::domain::status::OrderStatus;
use crate::domain::transition::StatusChange;

/// Why personal data is erased: the timeline's note says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureCause {
    /// An admin erased the customer's data (a data subject's request).
    Requested,
    /// The order has been closed for longer than the shop keeps addresses.
    Retention,
}

/// How the timeline's note on an erasure starts.
pub const PERSONAL_DATA_ERASED: &str = "PERSONAL_DATA_ERASED";

impl ErasureCause {
    fn note(self) -> String {
        let why = match self {
            Self::Requested => "on request",
            Self::Retention => "retention period ended",
        };
        format!("{PERSONAL_DATA_ERASED}: {why}")
    }
}

/// What an erasure request did to one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureOutcome {
    Erased,
    /// The order may still have to be delivered: erased as soon as it no longer does.
    Deferred,
    /// Nothing to do (erased before, or already waiting for its delivery to end).
    Unchanged,
}

impl OrderStatus {
    /// Whether an order in this status may still have to reach the customer, so needs their
    /// name and address (returns are received, not sent).
    pub fn may_ship(self) -> bool {
        use OrderStatus::*;
        matches!(
            self,
            Created | PendingReservingStock | PendingPayment | Paid | Processing | PartiallyShipped | Shipped
        )
    }
}

impl Order {
    /// Whether the order still holds any of the customer's personal data.
    pub fn holds_personal_data(&self) -> bool {
        self.customer_name.is_some() || self.customer_email.is_some() || self.shipping_address.is_some() || self.customer_note.is_some()
    }

    /// Whether an erasure request would change the order (see `request_erasure`).
    pub fn erasure_would_change(&self) -> bool {
        self.holds_personal_data() && !(self.status.may_ship() && self.erasure_requested)
    }

    /// When the order stopped needing the customer's address: the first time it reached a status
    /// that ships nothing more (status changes are never trimmed from the timeline).
    pub fn closed_at(&self) -> Option<DateTime<Utc>> {
        if self.status.may_ship() {
            return None;
        }
        self.status_history
            .iter()
            .find(|change| !change.status.may_ship())
            .map(|change| change.timestamp)
            .or(Some(self.updated_at))
    }

    /// An admin's erasure request: erased now if the order ships nothing more, otherwise when it
    /// stops needing the address (see `transition`).
    pub fn request_erasure(&mut self, actor: &Actor, now: DateTime<Utc>) -> ErasureOutcome {
        if !self.status.may_ship() {
            return if self.erase_personal_data(ErasureCause::Requested, actor, now) {
                ErasureOutcome::Erased
            } else {
                ErasureOutcome::Unchanged
            };
        }
        if self.erasure_requested {
            return ErasureOutcome::Unchanged;
        }
        self.erasure_requested = true;
        self.updated_at = now;
        ErasureOutcome::Deferred
    }

    /// Erases the customer's name, email, address and note, keeping a note in the timeline;
    /// `false` when there was nothing left to erase.
    pub fn erase_personal_data(&mut self, cause: ErasureCause, actor: &Actor, now: DateTime<Utc>) -> bool {
        self.erasure_requested = false;
        if !self.holds_personal_data() {
            return false;
        }
        self.customer_name = None;
        self.customer_email = None;
        self.shipping_address = None;
        self.customer_note = None;
        self.personal_data_erased_at = Some(now);
        self.updated_at = now;
        self.record(StatusChange {
            status: self.status,
            timestamp: now,
            actor: actor.clone(),
            note: Some(cause.note()),
        });
        true
    }

    /// Called on every status change: an order whose erasure waited for its delivery to end is
    /// erased in the same write that ends it.
    pub(super) fn erase_if_requested(&mut self, actor: &Actor, now: DateTime<Utc>) {
        if self.erasure_requested && !self.status.may_ship() {
            self.erase_personal_data(ErasureCause::Requested, actor, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::contact::Email;
    use crate::domain::delivery::Address;
    use crate::domain::order::tests::awaiting_payment;

    fn with_customer(status: OrderStatus) -> Order {
        let mut order = awaiting_payment("12.00");
        order.status = status;
        order.customer_name = Some("Alice Smith".into());
        order.customer_email = Some(Email::parse("alice@example.com").unwrap());
        order.customer_note = Some("ring twice".into());
        order.shipping_address = Some(Address {
            contact_name: "Alice Smith".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Springfield".into(),
            state: None,
            postal_code: "12345".into(),
            country: "US".into(),
            phone: Some("+15551234567".into()),
        });
        order
    }

    #[test]
    fn a_closed_order_is_erased_at_once_and_keeps_its_money() {
        let mut order = with_customer(OrderStatus::Delivered);
        let (total, payment) = (order.totals.total, order.payment.clone());
        let now = order.updated_at + Duration::minutes(1);
        assert_eq!(order.request_erasure(&Actor::system("test"), now), ErasureOutcome::Erased);
        assert!(!order.holds_personal_data());
        assert_eq!(order.personal_data_erased_at, Some(now));
        assert_eq!((order.totals.total, order.payment.clone()), (total, payment));
        let last = order.status_history.last().unwrap();
        assert_eq!(last.note.as_deref(), Some("PERSONAL_DATA_ERASED: on request"));
        assert_eq!(order.request_erasure(&Actor::system("test"), now), ErasureOutcome::Unchanged);
    }

    #[test]
    fn an_order_still_to_ship_is_erased_when_its_delivery_ends() {
        let mut order = with_customer(OrderStatus::Shipped);
        let now = order.updated_at + Duration::minutes(1);
        assert_eq!(order.request_erasure(&Actor::system("test"), now), ErasureOutcome::Deferred);
        assert!(order.holds_personal_data(), "the parcel still has to reach them");
        assert_eq!(order.request_erasure(&Actor::system("test"), now), ErasureOutcome::Unchanged);
        order
            .transition(OrderStatus::Delivered, &Actor::system("carrier"), None, now)
            .unwrap();
        assert!(!order.holds_personal_data());
        assert!(!order.erasure_requested);
        assert_eq!(order.closed_at(), Some(now));
    }

    #[test]
    fn an_order_is_closed_from_the_first_status_that_ships_nothing_more() {
        let order = with_customer(OrderStatus::Processing);
        assert_eq!(order.closed_at(), None);
        let mut cancelled = with_customer(OrderStatus::Processing);
        let at = cancelled.updated_at + Duration::hours(1);
        cancelled
            .transition(OrderStatus::Cancelled, &Actor::system("test"), None, at)
            .unwrap();
        assert_eq!(cancelled.closed_at(), Some(at));
    }
}
