//! Money back: refunds (an amount, or lines with or without their units going back to stock),
//! the cancellation of a paid order, returns after delivery, and failed deliveries. Each refund
//! is recorded on the order in the write that moves its refunded total, conditioned on the
//! order's version, so however many requests race the refunded total never passes what was
//! paid; the provider pays it back afterwards (the refund step), once per refund id.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::fulfilment::PartItem;
use super::Order;
use crate::domain::actor::Actor;
use crate::domain::ids::{ItemId, RefundId, ReturnId, SellerId, Sku};
use crate::domain::money::Money;
use crate::domain::quantity::Quantity;
use crate::domain::status::{OrderStatus, PaymentStatus};
use crate::domain::transition::{IllegalTransition, StatusChange};

/// Refunds one order may hold: enough for any real history, and a bound on the item's size.
pub const MAX_REFUNDS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    /// Recorded: the money is owed back and counted in the refunded total; the provider has not
    /// confirmed paying it yet.
    Pending,
    /// The provider paid it back.
    Completed,
}

impl RefundStatus {
    pub(crate) fn pending() -> Self {
        Self::Pending
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: RefundId,
    pub amount: Money,
    /// The units this refund pays back, when it is by lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<PartItem>,
    /// The units that went back to stock with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restocked: Vec<PartItem>,
    /// Of those, the units taken out of what the sellers were to ship (a restock before the
    /// units left): the parts no longer hold them, nor their payout and commission.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unshipped: Vec<PartItem>,
    pub reason: String,
    pub actor: Actor,
    pub status: RefundStatus,
    /// The provider's reference for the refund, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    /// What the provider last reported of the refund itself: PENDING while the banks move it,
    /// COMPLETED, or FAILED (the money did not reach the customer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<ProviderRefundStatus>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
}

/// A refund's own progress at the provider, as its events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProviderRefundStatus {
    Pending,
    Completed,
    Failed,
}

/// What an admin asks to refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundAsk {
    Amount(Money),
    /// Units of lines, each valued at its unit price plus its share of the tax.
    Lines(Vec<PartItem>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub ask: RefundAsk,
    pub reason: String,
    /// Put the refunded units back in stock (only with lines).
    pub restock: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefusal {
    #[error("an order that was not paid ({status}) has nothing to refund")]
    NotPaid { status: OrderStatus },
    #[error("the refund would pass the amount paid: {refundable} can still be refunded")]
    ExceedsPayment { refundable: Money },
    #[error("only {refundable_units} units of {item_id} can still be refunded")]
    ExceedsLine { item_id: ItemId, refundable_units: u32 },
    #[error("the order has no line {0}")]
    UnknownItem(ItemId),
    #[error("the idempotency key was used for a different refund")]
    KeyReused,
    #[error("the order holds the most refunds it may ({MAX_REFUNDS})")]
    TooMany,
    /// Units that left the warehouse come back to stock only through a return.
    #[error("{item_id} has shipped: its units come back to stock only through a return")]
    AlreadyShipped { item_id: ItemId },
    #[error("restocking these units would leave nothing to ship: cancel the order instead")]
    NothingLeftToShip,
}

/// Whether a refund request recorded a new refund or found its own earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    New,
    Replayed,
}

/// The id of the refund that a paid order's cancellation records.
pub fn cancellation_refund_id() -> RefundId {
    known_id("cancellation")
}

/// The id of the refund for a seller's part that could not be delivered.
pub fn failed_delivery_refund_id(seller: &SellerId) -> RefundId {
    RefundId::parse(&format!("delivery-failed-{seller}")).unwrap_or_else(|_| known_id("delivery-failed"))
}

/// The id of the refund a return's approval records.
pub fn return_refund_id(return_id: &ReturnId) -> RefundId {
    RefundId::parse(&format!("return-{return_id}")).unwrap_or_else(|_| known_id("return"))
}

/// The id of the refund an admin's request with this idempotency key records: the same key on
/// the same order always names the same refund.
pub fn requested_refund_id(key: &str) -> RefundId {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    known_id(&format!("rf-{}", &hex::encode(digest)[..24]))
}

fn known_id(text: &str) -> RefundId {
    // Letters, digits and '-' within the length bound: always a valid id.
    RefundId::parse(text).unwrap_or_else(|_| unreachable!("refund ids are well formed"))
}

impl Refund {
    fn answers(&self, request: &RefundRequest) -> bool {
        let same_ask = match &request.ask {
            RefundAsk::Amount(amount) => self.lines.is_empty() && self.amount == *amount,
            RefundAsk::Lines(lines) => &self.lines == lines,
        };
        let restocked = !self.restocked.is_empty();
        same_ask && self.reason == request.reason && request.restock == restocked
    }
}

impl Order {
    /// What the customer paid, if they did.
    pub fn paid_amount(&self) -> Money {
        self.payment.as_ref().map_or(Money::ZERO, |payment| payment.amount)
    }

    /// What can still be paid back.
    pub fn refundable(&self) -> Money {
        self.paid_amount().saturating_sub(self.refunded_total)
    }

    pub(super) fn units_in(items: &[PartItem], item: &ItemId) -> u32 {
        items
            .iter()
            .filter(|unit| &unit.item_id == item)
            .map(|unit| unit.quantity.get())
            .sum()
    }

    /// Of these units, those `counted` (refunded, or restocked) has not taken yet: each capped
    /// at what its line has left; units of no line of the order are dropped.
    pub(super) fn left_of(&self, units: &[PartItem], counted: impl Fn(&ItemId) -> u32) -> Vec<PartItem> {
        units
            .iter()
            .filter_map(|unit| {
                let line = self.items.iter().find(|line| line.item_id == unit.item_id)?;
                let left = line.quantity.get().saturating_sub(counted(&unit.item_id));
                Quantity::new(unit.quantity.get().min(left)).ok().map(|quantity| PartItem {
                    item_id: unit.item_id.clone(),
                    quantity,
                })
            })
            .collect()
    }

    /// Units of a line paid back so far.
    pub fn units_refunded(&self, item: &ItemId) -> u32 {
        self.refunds.iter().map(|refund| Self::units_in(&refund.lines, item)).sum()
    }

    /// Units of a line that went back to stock so far.
    pub fn units_restocked(&self, item: &ItemId) -> u32 {
        self.refunds.iter().map(|refund| Self::units_in(&refund.restocked, item)).sum()
    }

    /// The value of some units: their price plus their share of the order's tax, rounded once.
    pub fn value_of(&self, items: &[PartItem]) -> Money {
        let goods: Decimal = items
            .iter()
            .filter_map(|unit| {
                let line = self.items.iter().find(|line| line.item_id == unit.item_id)?;
                Some(line.unit_price.amount() * Decimal::from(unit.quantity.get()))
            })
            .sum();
        let subtotal = self.totals.subtotal.amount();
        let tax = if subtotal.is_zero() {
            Decimal::ZERO
        } else {
            self.totals.tax.amount() * goods / subtotal
        };
        Money::round_from(goods + tax)
    }

    /// The products and units to put back in stock for these order units, one entry per product.
    pub fn stock_of(&self, items: &[PartItem]) -> Vec<(Sku, Quantity)> {
        let mut units: BTreeMap<Sku, u32> = BTreeMap::new();
        for unit in items {
            if let Some(line) = self.items.iter().find(|line| line.item_id == unit.item_id) {
                *units.entry(line.product_id.clone()).or_default() += unit.quantity.get();
            }
        }
        units
            .into_iter()
            .filter_map(|(sku, units)| Quantity::new(units).ok().map(|quantity| (sku, quantity)))
            .collect()
    }

    /// Records an admin's refund, or finds the one this id already recorded.
    pub fn refund(&mut self, id: RefundId, request: RefundRequest, actor: &Actor, now: DateTime<Utc>) -> Result<Recorded, RefundRefusal> {
        if let Some(existing) = self.refunds.iter().find(|refund| refund.refund_id == id) {
            return if existing.answers(&request) {
                Ok(Recorded::Replayed)
            } else {
                Err(RefundRefusal::KeyReused)
            };
        }
        if self.payment.is_none() {
            return Err(RefundRefusal::NotPaid { status: self.status });
        }
        if self.refunds.len() >= MAX_REFUNDS {
            return Err(RefundRefusal::TooMany);
        }
        let (amount, lines) = match request.ask {
            RefundAsk::Amount(amount) => (amount, Vec::new()),
            RefundAsk::Lines(lines) => {
                for unit in &lines {
                    let line = self
                        .items
                        .iter()
                        .find(|line| line.item_id == unit.item_id)
                        .ok_or_else(|| RefundRefusal::UnknownItem(unit.item_id.clone()))?;
                    let left = line.quantity.get().saturating_sub(self.units_refunded(&unit.item_id));
                    if Self::units_in(&lines, &unit.item_id) > left {
                        return Err(RefundRefusal::ExceedsLine {
                            item_id: unit.item_id.clone(),
                            refundable_units: left,
                        });
                    }
                }
                (self.value_of(&lines), lines)
            }
        };
        if amount > self.refundable() {
            return Err(RefundRefusal::ExceedsPayment {
                refundable: self.refundable(),
            });
        }
        let restocked = if request.restock { lines.clone() } else { Vec::new() };
        if !restocked.is_empty() {
            self.take_out_of_parts(&restocked, actor, now)?;
        }
        self.record_refund(id, amount, lines, restocked.clone(), request.reason, actor, now);
        if let Some(refund) = self.refunds.last_mut() {
            refund.unshipped = restocked;
        }
        Ok(Recorded::New)
    }

    /// Adds a refund the caller has checked, moving the refunded total and the payment status,
    /// with a timeline entry that keeps the status.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record_refund(
        &mut self,
        id: RefundId,
        amount: Money,
        lines: Vec<PartItem>,
        restocked: Vec<PartItem>,
        reason: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) {
        // Never more than was paid: the sum stays within the paid amount's bound.
        self.refunded_total = self.refunded_total.checked_add(amount).unwrap_or(self.refunded_total);
        // Lines given back before anything was paid (cash on delivery) leave the payment as it is.
        if self.payment.is_some() {
            self.payment_status = if self.refundable() == Money::ZERO {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::PartiallyRefunded
            };
        }
        let note = format!("REFUNDED {amount} ({id}): {reason}");
        self.refunds.push(Refund {
            refund_id: id,
            amount,
            lines,
            restocked,
            reason,
            actor: actor.clone(),
            // Nothing to pay back: done as recorded.
            unshipped: Vec::new(),
            status: if amount == Money::ZERO {
                RefundStatus::Completed
            } else {
                RefundStatus::Pending
            },
            provider_reference: None,
            provider_status: None,
            created_at: now,
            completed_at: (amount == Money::ZERO).then_some(now),
        });
        self.note(actor, note, now);
    }

    /// Records the provider's confirmation of a refund; `false` when it was already recorded.
    pub fn complete_refund(&mut self, id: &RefundId, provider_reference: String, now: DateTime<Utc>) -> bool {
        match self.refunds.iter_mut().find(|refund| &refund.refund_id == id) {
            Some(refund) if refund.status == RefundStatus::Pending => {
                refund.status = RefundStatus::Completed;
                refund.provider_reference = Some(provider_reference);
                refund.completed_at = Some(now);
                self.updated_at = now;
                true
            }
            _ => false,
        }
    }

    /// Records what the provider reports of a refund's own progress; `true` when it changed.
    /// Events come in any order: a refund only moves on (PENDING, COMPLETED, FAILED). A FAILED
    /// one is noted in the timeline, for the money did not reach the customer.
    pub fn record_refund_progress(
        &mut self,
        id: &RefundId,
        reference: &str,
        status: ProviderRefundStatus,
        reason: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(refund) = self.refunds.iter_mut().find(|refund| &refund.refund_id == id) else {
            return false;
        };
        // PENDING, then COMPLETED, then possibly FAILED (a bank may return a refund it took);
        // never back: an event that arrives late changes nothing.
        let rank = |status: Option<ProviderRefundStatus>| match status {
            None => 0,
            Some(ProviderRefundStatus::Pending) => 1,
            Some(ProviderRefundStatus::Completed) => 2,
            Some(ProviderRefundStatus::Failed) => 3,
        };
        if rank(Some(status)) <= rank(refund.provider_status) {
            return false;
        }
        refund.provider_status = Some(status);
        refund.provider_reference.get_or_insert_with(|| reference.to_owned());
        self.updated_at = now;
        if status == ProviderRefundStatus::Failed {
            self.note(actor, format!("REFUND_FAILED {id} ({reference}): {reason}"), now);
        }
        true
    }

    /// Refunds still to be paid back by the provider.
    pub fn pending_refunds(&self) -> impl Iterator<Item = &Refund> {
        self.refunds.iter().filter(|refund| refund.status == RefundStatus::Pending)
    }

    /// Cancels a paid order that has not shipped: every unit not yet back in stock goes back,
    /// and everything not yet refunded is refunded, in the same write. Returns the units to
    /// restock.
    pub fn cancel_paid(&mut self, actor: &Actor, reason: String, now: DateTime<Utc>) -> Result<Vec<PartItem>, IllegalTransition> {
        self.transition(OrderStatus::Cancelled, actor, Some(reason.clone()), now)?;
        let all: Vec<PartItem> = self
            .items
            .iter()
            .map(|line| PartItem {
                item_id: line.item_id.clone(),
                quantity: line.quantity,
            })
            .collect();
        let lines = self.left_of(&all, |item| self.units_refunded(item));
        let restock = self.left_of(&all, |item| self.units_restocked(item));
        let amount = self.refundable();
        self.record_refund(cancellation_refund_id(), amount, lines, restock.clone(), reason, actor, now);
        Ok(restock)
    }

    /// Refunds a seller's part that could not be delivered, once: its units go back to stock
    /// and their value (as far as it is still refundable) is paid back. Returns the units to
    /// restock.
    pub(crate) fn refund_failed_part(&mut self, seller: &SellerId, reason: &str, actor: &Actor, now: DateTime<Utc>) -> Vec<PartItem> {
        let id = failed_delivery_refund_id(seller);
        if self.refunds.iter().any(|refund| refund.refund_id == id) {
            return Vec::new();
        }
        let part: Vec<PartItem> = self
            .seller_parts
            .iter()
            .filter(|part| &part.seller_id == seller)
            .flat_map(|part| part.items.iter().cloned())
            .collect();
        let items = self.left_of(&part, |item| self.units_refunded(item));
        let amount = self.value_of(&items).min(self.refundable());
        let reason = format!("DELIVERY_FAILED {seller}: {reason}");
        self.record_refund(id, amount, items.clone(), items.clone(), reason, actor, now);
        items
    }

    /// A timeline entry that keeps the status (a refund, a failed delivery): no status event.
    pub(crate) fn note(&mut self, actor: &Actor, note: String, now: DateTime<Utc>) {
        self.updated_at = now;
        self.record(StatusChange {
            status: self.status,
            timestamp: now,
            actor: actor.clone(),
            note: Some(note),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::Duration;

    use super::*;
    use crate::domain::events::{events_of, EventName};
    use crate::domain::order::{price_lines, Payment, PricingPolicy};
    use crate::domain::order::{PartStatus, ReturnRefusal};
    use crate::domain::{OrderId, PaymentReference, PlaceOrder, Product, UserId};

    fn paid(tax: &str) -> Order {
        let request = PlaceOrder::from_json(&serde_json::json!({"items": [
            {"product_id": "mug", "quantity": 2},
            {"product_id": "plate", "quantity": 3}
        ]}))
        .unwrap();
        let product = Product::example;
        let catalogue: HashMap<Sku, Product> = [product("mug", "8.00"), product("plate", "2.00")]
            .into_iter()
            .map(|p| (p.product_id.clone(), p))
            .collect();
        let (lines, _) = price_lines(&request, &catalogue).unwrap();
        let pricing = PricingPolicy {
            currency: "USD".into(),
            tax_rate: tax.parse().unwrap(),
            shipping_fee: Money::parse("5.00").unwrap(),
        };
        let user = UserId::parse("u").unwrap();
        let mut order = Order::new(OrderId::new(), user.clone(), lines, &pricing, &Actor::customer(&user), Utc::now()).unwrap();
        order.reserve(&Actor::system("t"), Utc::now(), Utc::now(), None).unwrap();
        let payment = Payment {
            reference: PaymentReference::parse("pay").unwrap(),
            amount: order.totals.total,
            received_at: Utc::now(),
        };
        order.pay(payment, &Actor::system("t"), Utc::now()).unwrap();
        order
    }

    fn units(item: &str, quantity: u32) -> PartItem {
        PartItem {
            item_id: ItemId::parse(item).unwrap(),
            quantity: Quantity::new(quantity).unwrap(),
        }
    }

    fn ask(ask: RefundAsk, restock: bool) -> RefundRequest {
        RefundRequest {
            ask,
            reason: "r".into(),
            restock,
        }
    }

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    #[test]
    fn a_refunds_provider_status_only_moves_on_and_a_failure_is_noted_once() {
        let mut order = crate::domain::order::tests::awaiting_payment("20.00");
        let admin = Actor::system("t");
        let payment = crate::domain::order::Payment {
            reference: crate::domain::PaymentReference::parse("pi_1").unwrap(),
            amount: order.totals.total,
            received_at: Utc::now(),
        };
        order.pay(payment, &admin, Utc::now()).unwrap();
        let refund = RefundId::parse("r-1").unwrap();
        order
            .refund(
                refund.clone(),
                ask(RefundAsk::Amount(Money::parse("5.00").unwrap()), false),
                &admin,
                Utc::now(),
            )
            .unwrap();
        let mut report = |status| order.record_refund_progress(&refund, "re_1", status, "expired_card", &admin, Utc::now());
        assert!(report(ProviderRefundStatus::Completed));
        assert!(!report(ProviderRefundStatus::Pending), "a late pending report");
        assert!(report(ProviderRefundStatus::Failed), "a bank may return a refund it took");
        assert!(!report(ProviderRefundStatus::Completed), "a failed refund stays failed");
        let notes = order.status_history.iter().filter_map(|change| change.note.as_deref());
        assert_eq!(notes.filter(|note| note.starts_with("REFUND_FAILED r-1 (re_1)")).count(), 1);
    }

    #[test]
    fn refunds_add_up_to_the_payment_and_never_past_it() {
        let mut order = paid("0");
        assert_eq!(order.totals.total, money("27.00"));
        let admin = Actor::system("admin");
        let id = |n: &str| RefundId::parse(n).unwrap();
        order
            .refund(id("a"), ask(RefundAsk::Amount(money("20.00")), false), &admin, Utc::now())
            .unwrap();
        assert_eq!(order.payment_status, PaymentStatus::PartiallyRefunded);
        let refused = order.refund(id("b"), ask(RefundAsk::Amount(money("7.01")), false), &admin, Utc::now());
        assert_eq!(refused, Err(RefundRefusal::ExceedsPayment { refundable: money("7.00") }));
        order
            .refund(id("c"), ask(RefundAsk::Amount(money("7.00")), false), &admin, Utc::now())
            .unwrap();
        assert_eq!(
            (order.refunded_total, order.payment_status),
            (money("27.00"), PaymentStatus::Refunded)
        );
        let replay = order.refund(id("a"), ask(RefundAsk::Amount(money("20.00")), false), &admin, Utc::now());
        assert_eq!(replay, Ok(Recorded::Replayed));
        let reused = order.refund(id("a"), ask(RefundAsk::Amount(money("1.00")), false), &admin, Utc::now());
        assert_eq!(reused, Err(RefundRefusal::KeyReused));
    }

    #[test]
    fn lines_are_worth_their_price_and_their_share_of_the_tax_and_no_more_units_than_were_sold() {
        let mut order = paid("0.075");
        // Tax 22.00 * 0.075 = 1.65; one plate's share: 2.00 / 22.00 of it = 0.15.
        assert_eq!(order.value_of(&[units("item-2", 1)]), money("2.15"));
        let admin = Actor::system("admin");
        order
            .refund(
                RefundId::parse("a").unwrap(),
                ask(RefundAsk::Lines(vec![units("item-2", 2)]), true),
                &admin,
                Utc::now(),
            )
            .unwrap();
        assert_eq!(order.units_restocked(&ItemId::parse("item-2").unwrap()), 2);
        let refused = order.refund(
            RefundId::parse("b").unwrap(),
            ask(RefundAsk::Lines(vec![units("item-2", 2)]), false),
            &admin,
            Utc::now(),
        );
        assert_eq!(
            refused,
            Err(RefundRefusal::ExceedsLine {
                item_id: ItemId::parse("item-2").unwrap(),
                refundable_units: 1
            })
        );
    }

    #[test]
    fn cancelling_a_paid_order_restocks_what_is_not_back_yet_and_refunds_the_rest() {
        let mut order = paid("0");
        let admin = Actor::system("admin");
        order
            .refund(
                RefundId::parse("a").unwrap(),
                ask(RefundAsk::Lines(vec![units("item-1", 1)]), true),
                &admin,
                Utc::now(),
            )
            .unwrap();
        let restock = order.cancel_paid(&admin, "CANCELLED_BY_REQUEST".into(), Utc::now()).unwrap();
        assert_eq!(restock, vec![units("item-1", 1), units("item-2", 3)]);
        assert_eq!(
            (order.refunded_total, order.payment_status),
            (money("27.00"), PaymentStatus::Refunded)
        );
        assert_eq!(order.refunds[1].amount, money("19.00"));
    }

    #[test]
    fn a_refund_is_an_event_and_a_note_that_keeps_the_status_is_not_a_status_event() {
        let before = paid("0");
        let mut after = before.clone();
        after
            .refund(
                RefundId::parse("a").unwrap(),
                ask(RefundAsk::Amount(money("1.00")), false),
                &Actor::system("admin"),
                Utc::now(),
            )
            .unwrap();
        after.version = before.version + 1;
        let events = events_of(Some(&before), &after);
        assert_eq!(events.iter().map(|e| e.name).collect::<Vec<_>>(), [EventName::OrderRefunded]);
        assert_eq!(events[0].amount, Some(money("1.00")));
        assert_eq!(after.status_history.last().unwrap().status, OrderStatus::Paid);
    }

    #[test]
    fn a_return_is_refused_outside_its_window_and_beyond_what_was_delivered() {
        let mut order = paid("0");
        let actor = Actor::system("t");
        order.start_fulfilment(&actor, None, |_| Decimal::ZERO, Utc::now()).unwrap();
        order.seller_parts[0].status = PartStatus::Shipped;
        order.status = OrderStatus::Shipped;
        let delivered = Utc::now();
        order.deliver_all_parts(&actor, None, delivered).unwrap();
        let window = Duration::days(30);
        let late = order.request_return(vec![units("item-1", 1)], "r".into(), window, &actor, delivered + Duration::days(31));
        assert!(matches!(late, Err(ReturnRefusal::WindowClosed { .. })));
        let beyond = order.request_return(vec![units("item-1", 3)], "r".into(), window, &actor, delivered);
        assert!(matches!(beyond, Err(ReturnRefusal::ExceedsDelivered { returnable: 2, .. })));
        let (id, recorded) = order
            .request_return(vec![units("item-1", 2)], "r".into(), window, &actor, delivered)
            .unwrap();
        assert_eq!(recorded, Recorded::New);
        let restock = order.approve_return(&id, None, &actor, delivered).unwrap();
        assert_eq!(restock, Some(vec![units("item-1", 2)]));
        assert_eq!(order.status, OrderStatus::Returned);
        assert_eq!(order.approve_return(&id, None, &actor, delivered).unwrap(), None, "approved once");
        let again = order.request_return(vec![units("item-1", 1)], "r".into(), window, &actor, delivered);
        assert!(matches!(again, Err(ReturnRefusal::ExceedsDelivered { returnable: 0, .. })));
    }
}
