//! The order's lifecycle: each move checked against the state machine and recorded in the
//! timeline; reserving, invalidating, re-pricing and cancelling.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::pricing::PricingPolicy;
use super::Order;
use crate::domain::actor::Actor;
use crate::domain::ids::Sku;
use crate::domain::line::{LineProblem, LineProblemCode};
use crate::domain::product::Product;
use crate::domain::status::{OrderStatus, PaymentStatus};
use crate::domain::transition::{IllegalTransition, StatusChange};

/// What a cancellation does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelDecision {
    /// Cancel, giving back the stock the order holds.
    ReleaseStock,
    /// Cancel; the order holds no stock yet.
    NothingHeld,
    /// Cancel a paid order before it ships: its sold units go back to stock and the payment
    /// is refunded, in the same write.
    RestockAndRefund,
    /// Already cancelled: nothing to do, no new history entry.
    AlreadyCancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order in status {status} cannot be cancelled")]
pub struct NotCancellable {
    pub status: OrderStatus,
}

/// Most timeline entries an order keeps, and about the most bytes they take: past either, the
/// oldest notes (entries that keep the status) are dropped and counted in `history_trimmed`.
/// Every path that adds notes is bounded (edits, refunds, returns), so this only ever trims an
/// order stored before those bounds; it keeps any order's item far below DynamoDB's 400 KB, so
/// the sweeper can always cancel it and give its stock back.
pub const MAX_HISTORY_ENTRIES: usize = 400;
pub const MAX_HISTORY_BYTES: usize = 160 * 1024;

impl Order {
    /// Adds an entry to the timeline, dropping the oldest notes past the bounds.
    pub(crate) fn record(&mut self, change: StatusChange) {
        self.status_history.push(change);
        let size = |change: &StatusChange| 96 + change.actor.as_str().len() + change.note.as_ref().map_or(0, String::len);
        let mut entries = self.status_history.len();
        let mut bytes: usize = self.status_history.iter().map(size).sum();
        if entries <= MAX_HISTORY_ENTRIES && bytes <= MAX_HISTORY_BYTES {
            return;
        }
        // Trim well below the bounds, so that an order at them is not trimmed on every write.
        let (entries_goal, bytes_goal) = (MAX_HISTORY_ENTRIES * 3 / 4, MAX_HISTORY_BYTES * 3 / 4);
        let newest = self.status_history.len() - 1;
        let mut previous = None;
        let mut kept = Vec::with_capacity(entries);
        for (index, change) in std::mem::take(&mut self.status_history).into_iter().enumerate() {
            let is_note = previous == Some(change.status);
            previous = Some(change.status);
            if is_note && index < newest && (entries > entries_goal || bytes > bytes_goal) {
                entries -= 1;
                bytes -= size(&change);
                self.history_trimmed += 1;
                continue;
            }
            kept.push(change);
        }
        self.status_history = kept;
    }

    /// Moves to `next` if the lifecycle allows it, recording who did it and why.
    pub fn transition(
        &mut self,
        next: OrderStatus,
        actor: &Actor,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), IllegalTransition> {
        if !self.status.can_become(next) {
            return Err(IllegalTransition {
                from: self.status,
                to: next,
            });
        }
        self.status = next;
        self.updated_at = now;
        self.record(StatusChange {
            status: next,
            timestamp: now,
            actor: actor.clone(),
            note,
        });
        self.erase_if_requested(actor, now);
        Ok(())
    }

    /// Stock is held: the customer has until `payment_due_at` to pay. The note says what the
    /// reserving step changed on the way (a re-pricing), if anything.
    pub fn reserve(
        &mut self,
        actor: &Actor,
        now: DateTime<Utc>,
        payment_due_at: DateTime<Utc>,
        note: Option<String>,
    ) -> Result<(), IllegalTransition> {
        self.transition(OrderStatus::PendingPayment, actor, note, now)?;
        self.payment_due_at = Some(payment_due_at);
        Ok(())
    }

    /// The order cannot be fulfilled as asked: INVALID, with a reason per failing line.
    pub fn invalidate(&mut self, problems: Vec<LineProblem>, actor: &Actor, now: DateTime<Utc>) -> Result<(), IllegalTransition> {
        let note = problem_note(&problems);
        self.transition(OrderStatus::Invalid, actor, Some(note), now)?;
        self.problems = problems;
        Ok(())
    }

    /// Prices every line again from the catalogue, for an order that waited to be reserved
    /// while a price changed. Returns what changed (`mug 5.00 -> 6.00`) or, when a product is
    /// gone or an amount would pass the bound, the problems that make the order INVALID.
    pub fn reprice(&mut self, catalogue: &HashMap<Sku, Product>, pricing: &PricingPolicy) -> Result<Vec<String>, Vec<LineProblem>> {
        let mut changes = Vec::new();
        let mut problems = Vec::new();
        for line in &mut self.items {
            let problem = |code| LineProblem {
                product_id: line.product_id.clone(),
                code,
                requested: line.quantity,
                available: None,
            };
            let Some(product) = catalogue.get(&line.product_id) else {
                problems.push(problem(LineProblemCode::UnknownProduct));
                continue;
            };
            let Ok(subtotal) = product.price.checked_mul(line.quantity.get()) else {
                problems.push(problem(LineProblemCode::AmountTooLarge));
                continue;
            };
            if product.price != line.unit_price {
                // The customer checked out at the prices shown and did not accept others.
                if self.prices_locked {
                    problems.push(problem(LineProblemCode::PriceChanged));
                    continue;
                }
                changes.push(format!("{} {} -> {}", line.product_id, line.unit_price, product.price));
            }
            line.unit_price = product.price;
            line.subtotal = subtotal;
            line.price_version = product.price_version;
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        self.totals = pricing.totals(&self.items, &self.shipping_fees).map_err(|_| {
            self.items
                .iter()
                .map(|line| LineProblem {
                    product_id: line.product_id.clone(),
                    code: LineProblemCode::AmountTooLarge,
                    requested: line.quantity,
                    available: None,
                })
                .collect::<Vec<_>>()
        })?;
        Ok(changes)
    }

    /// The problem code that explains an INVALID order as a whole: the first line's.
    pub fn invalid_reason(&self) -> Option<LineProblemCode> {
        self.problems.first().map(|problem| problem.code)
    }

    /// Decides what a cancellation does, without changing the order.
    pub fn judge_cancel(&self) -> Result<CancelDecision, NotCancellable> {
        match self.status {
            OrderStatus::Cancelled => Ok(CancelDecision::AlreadyCancelled),
            OrderStatus::PendingPayment => Ok(CancelDecision::ReleaseStock),
            OrderStatus::PendingReservingStock => Ok(CancelDecision::NothingHeld),
            OrderStatus::Paid | OrderStatus::Processing => Ok(CancelDecision::RestockAndRefund),
            status => Err(NotCancellable { status }),
        }
    }

    /// Cancels, recording who did it and why. A failed payment also marks the payment FAILED.
    pub fn cancel(&mut self, actor: &Actor, reason: String, payment_failed: bool, now: DateTime<Utc>) -> Result<(), IllegalTransition> {
        self.transition(OrderStatus::Cancelled, actor, Some(reason), now)?;
        if payment_failed {
            self.payment_status = PaymentStatus::Failed;
        }
        Ok(())
    }
}

fn problem_note(problems: &[LineProblem]) -> String {
    let parts: Vec<String> = problems
        .iter()
        .map(|problem| format!("{}: {}", problem.product_id, problem.code.as_str()))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::events::{events_of, EventName};
    use crate::domain::order::tests::awaiting_payment;

    #[test]
    fn a_timeline_past_its_bounds_drops_its_oldest_notes_never_a_status_change_and_the_outbox_still_sees_each_change_once() {
        let mut order = awaiting_payment("5.00");
        let actor = Actor::system("t");
        let statuses_before: Vec<OrderStatus> = order.status_history.iter().map(|change| change.status).collect();
        // An order stored before edits were bounded: thousands of long notes.
        for n in 0..3_000 {
            order.note(&actor, format!("EDITED: item-1 {n} -> {}{}", n + 1, " ".repeat(100)), Utc::now());
        }
        let size: usize = order
            .status_history
            .iter()
            .map(|change| 96 + change.note.as_ref().map_or(0, String::len))
            .sum();
        assert!(order.status_history.len() <= MAX_HISTORY_ENTRIES && size <= MAX_HISTORY_BYTES + 256);
        assert_eq!(
            order.history_trimmed + order.status_history.len() as u64,
            statuses_before.len() as u64 + 3_000
        );
        let statuses: Vec<OrderStatus> = order
            .status_history
            .iter()
            .map(|change| change.status)
            .fold(Vec::new(), |mut seen, status| {
                if seen.last() != Some(&status) {
                    seen.push(status);
                }
                seen
            });
        assert_eq!(statuses, statuses_before, "every status change stays");
        assert!(
            order
                .status_history
                .last()
                .unwrap()
                .note
                .as_deref()
                .unwrap()
                .contains("2999 -> 3000"),
            "the newest note stays"
        );

        // A cancellation that trims in the same write is still seen, once.
        let before = order.clone();
        order.version += 1;
        order.cancel(&actor, "PAYMENT_TIMEOUT".to_owned(), false, Utc::now()).unwrap();
        let events = events_of(Some(&before), &order);
        assert_eq!(
            events.iter().map(|event| event.name).collect::<Vec<_>>(),
            [EventName::ReservationExpired]
        );
        assert!(events_of(Some(&order), &order).is_empty(), "nothing new, nothing sent");
    }
}
