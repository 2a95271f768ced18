//! Returns after delivery: a customer asks to send back delivered units within the return
//! window, and an admin approves (refunding them) or rejects the request.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::fulfilment::{PartItem, PartStatus};
use super::refund::{return_refund_id, Recorded};
use super::Order;
use crate::domain::actor::Actor;
use crate::domain::ids::{ItemId, RefundId, ReturnId};
use crate::domain::status::OrderStatus;

/// Return requests one order may hold: enough for any real history, and a bound on the item's
/// size.
pub const MAX_RETURNS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnStatus {
    Requested,
    Approved,
    Rejected,
}

/// A customer's request to send back some delivered units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRequest {
    pub return_id: ReturnId,
    pub lines: Vec<PartItem>,
    pub reason: String,
    pub status: ReturnStatus,
    pub requested_by: Actor,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The refund an approval paid, by its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnRefusal {
    #[error("an order in {0} has not been delivered")]
    NotDelivered(OrderStatus),
    #[error("the return window closed at {closed_at}")]
    WindowClosed { closed_at: DateTime<Utc> },
    #[error("only {returnable} units of {item_id} were delivered and not yet returned or refunded")]
    ExceedsDelivered { item_id: ItemId, returnable: u32 },
    #[error("the order has no line {0}")]
    UnknownItem(ItemId),
    #[error("return {0} is still open")]
    AlreadyOpen(ReturnId),
    #[error("the order has no return {0}")]
    NoSuchReturn(ReturnId),
    #[error("return {return_id} was already {status:?}")]
    AlreadyDecided { return_id: ReturnId, status: ReturnStatus },
    #[error("the order holds the most return requests it may ({MAX_RETURNS})")]
    TooMany,
}

impl Order {
    /// When the order was delivered: the return window starts there.
    pub fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.status_history
            .iter()
            .find(|change| change.status == OrderStatus::Delivered)
            .map(|change| change.timestamp)
    }

    /// Units of a line the customer can still send back: delivered (its part did not fail),
    /// and not yet refunded.
    pub(super) fn returnable(&self, item: &ItemId) -> Option<u32> {
        let line = self.items.iter().find(|line| &line.item_id == item)?;
        let failed = self
            .seller_parts
            .iter()
            .any(|part| part.seller_id == line.seller_id && part.status == PartStatus::DeliveryFailed);
        let open: u32 = self
            .returns
            .iter()
            .filter(|ret| ret.status == ReturnStatus::Requested)
            .map(|ret| Self::units_in(&ret.lines, item))
            .sum();
        Some(if failed {
            0
        } else {
            line.quantity.get().saturating_sub(self.units_refunded(item) + open)
        })
    }

    /// A customer asks to return some delivered units. Asking again for the same open return
    /// finds it (`Recorded::Replayed`).
    pub fn request_return(
        &mut self,
        lines: Vec<PartItem>,
        reason: String,
        window: Duration,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(ReturnId, Recorded), ReturnRefusal> {
        if let Some(open) = self.returns.iter().find(|ret| ret.status == ReturnStatus::Requested) {
            return if open.lines == lines && open.reason == reason {
                Ok((open.return_id.clone(), Recorded::Replayed))
            } else {
                Err(ReturnRefusal::AlreadyOpen(open.return_id.clone()))
            };
        }
        if !matches!(self.status, OrderStatus::Delivered | OrderStatus::Returned) {
            return Err(ReturnRefusal::NotDelivered(self.status));
        }
        let delivered_at = self.delivered_at().ok_or(ReturnRefusal::NotDelivered(self.status))?;
        if now > delivered_at + window {
            return Err(ReturnRefusal::WindowClosed {
                closed_at: delivered_at + window,
            });
        }
        if self.returns.len() >= MAX_RETURNS {
            return Err(ReturnRefusal::TooMany);
        }
        for unit in &lines {
            let returnable = self
                .returnable(&unit.item_id)
                .ok_or_else(|| ReturnRefusal::UnknownItem(unit.item_id.clone()))?;
            if Self::units_in(&lines, &unit.item_id) > returnable {
                return Err(ReturnRefusal::ExceedsDelivered {
                    item_id: unit.item_id.clone(),
                    returnable,
                });
            }
        }
        let return_id =
            ReturnId::parse(&format!("ret-{}", self.returns.len() + 1)).unwrap_or_else(|_| unreachable!("return ids are well formed"));
        let note = format!("RETURN {return_id}: {reason}");
        self.transition(OrderStatus::ReturnRequested, actor, Some(note), now)
            .map_err(|err| ReturnRefusal::NotDelivered(err.from))?;
        self.returns.push(ReturnRequest {
            return_id: return_id.clone(),
            lines,
            reason,
            status: ReturnStatus::Requested,
            requested_by: actor.clone(),
            requested_at: now,
            decided_by: None,
            decided_at: None,
            note: None,
            refund_id: None,
        });
        Ok((return_id, Recorded::New))
    }

    fn open_return(&mut self, id: &ReturnId) -> Result<Option<&mut ReturnRequest>, ReturnRefusal> {
        let ret = self
            .returns
            .iter_mut()
            .find(|ret| &ret.return_id == id)
            .ok_or_else(|| ReturnRefusal::NoSuchReturn(id.clone()))?;
        Ok((ret.status == ReturnStatus::Requested).then_some(ret))
    }

    /// An admin approves a return: the returned units go back to stock and their value is
    /// refunded (as far as it still can be); the order becomes RETURNED. Returns the units to
    /// restock, or `None` when it was already approved.
    pub fn approve_return(
        &mut self,
        id: &ReturnId,
        note: Option<String>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<PartItem>>, ReturnRefusal> {
        let Some(ret) = self.open_return(id)? else {
            return self.already_decided(id, ReturnStatus::Approved).map(|()| None);
        };
        let (lines, reason) = (ret.lines.clone(), ret.reason.clone());
        // Units refunded some other way since the request are not paid twice.
        let units = self.left_of(&lines, |item| self.units_refunded(item));
        let amount = self.value_of(&units).min(self.refundable());
        let refund_id = return_refund_id(id);
        let text = format!("RETURN {id} approved");
        self.record_refund(
            refund_id.clone(),
            amount,
            units.clone(),
            units.clone(),
            format!("RETURN {id}: {reason}"),
            actor,
            now,
        );
        self.transition(
            OrderStatus::Returned,
            actor,
            Some(note.map_or(text.clone(), |note| format!("{text}: {note}"))),
            now,
        )
        .map_err(|err| ReturnRefusal::NotDelivered(err.from))?;
        self.decide(id, ReturnStatus::Approved, actor, None, Some(refund_id), now);
        Ok(Some(units))
    }

    /// An admin rejects a return: the order goes back to where it was. `false` when it was
    /// already rejected.
    pub fn reject_return(&mut self, id: &ReturnId, note: String, actor: &Actor, now: DateTime<Utc>) -> Result<bool, ReturnRefusal> {
        if self.open_return(id)?.is_none() {
            return self.already_decided(id, ReturnStatus::Rejected).map(|()| false);
        }
        let back = if self.returns.iter().any(|ret| ret.status == ReturnStatus::Approved) {
            OrderStatus::Returned
        } else {
            OrderStatus::Delivered
        };
        self.transition(back, actor, Some(format!("{RETURN_REJECTED} {id}: {note}")), now)
            .map_err(|err| ReturnRefusal::NotDelivered(err.from))?;
        self.decide(id, ReturnStatus::Rejected, actor, Some(note), None, now);
        Ok(true)
    }

    fn already_decided(&self, id: &ReturnId, asked: ReturnStatus) -> Result<(), ReturnRefusal> {
        match self.returns.iter().find(|ret| &ret.return_id == id) {
            Some(ret) if ret.status == asked => Ok(()),
            Some(ret) => Err(ReturnRefusal::AlreadyDecided {
                return_id: id.clone(),
                status: ret.status,
            }),
            None => Err(ReturnRefusal::NoSuchReturn(id.clone())),
        }
    }

    fn decide(
        &mut self,
        id: &ReturnId,
        status: ReturnStatus,
        actor: &Actor,
        note: Option<String>,
        refund_id: Option<RefundId>,
        now: DateTime<Utc>,
    ) {
        if let Some(ret) = self.returns.iter_mut().find(|ret| &ret.return_id == id) {
            ret.status = status;
            ret.decided_by = Some(actor.clone());
            ret.decided_at = Some(now);
            ret.note = note;
            ret.refund_id = refund_id;
        }
    }
}

/// The note that starts a rejected return's timeline entry (its event is `ReturnRejected`).
pub const RETURN_REJECTED: &str = "RETURN_REJECTED";
