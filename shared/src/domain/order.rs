//! An order, its lines, its totals and its status timeline.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::contact::Email;
use super::delivery::{Address, Channel};
use super::fulfilment::SellerPart;
use super::ids::{ItemId, OrderId, PaymentReference, SellerId, Sku, UserId};
use super::money::Money;
use super::numbering::OrderNumber;
use super::payment::{PaymentIntent, PaymentMethod};
use super::product::Product;
use super::quantity::Quantity;
use super::refund::{Refund, ReturnRequest};
use super::request::PlaceOrder;
use super::status::{OrderStatus, PaymentStatus};
use super::stock::ShardTake;

/// Who caused a status change: shown in the timeline as `customer:<id>`, `admin:<id>` or
/// `system:<component>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Actor(String);

impl Actor {
    pub fn customer(user: &UserId) -> Self {
        Self(format!("customer:{user}"))
    }

    pub fn admin(user: &UserId) -> Self {
        Self(format!("admin:{user}"))
    }

    pub fn seller(seller: &SellerId) -> Self {
        Self(format!("seller:{seller}"))
    }

    pub fn system(component: &str) -> Self {
        Self(format!("system:{component}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub timestamp: DateTime<Utc>,
    pub actor: Actor,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub item_id: ItemId,
    pub product_id: Sku,
    pub name: String,
    pub seller_id: SellerId,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub subtotal: Money,
    /// The product's price version `unit_price` was read at: the reservation holds only if the
    /// price is still that one.
    #[serde(default)]
    pub price_version: u64,
    /// Which shards of a sharded product the line's units are held from (empty: all from the
    /// product's own item).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stock_takes: Vec<ShardTake>,
}

impl OrderLine {
    /// Where the line's units are held: its takes, or all of it from the product's own item.
    pub fn takes(&self) -> Vec<ShardTake> {
        super::stock::takes_or_whole(&self.stock_takes, self.quantity)
    }
}

/// Why one line of an order could not be reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineProblemCode {
    OutOfStock,
    UnknownProduct,
    /// Priced again (its price changed while it waited to be reserved), the line or the order
    /// would pass the bound every amount is held to.
    AmountTooLarge,
    /// The product's seller does not trade (the seller registry says `active: false`).
    SellerInactive,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineProblem {
    pub product_id: Sku,
    pub code: LineProblemCode,
    pub requested: Quantity,
    /// Units that were available when the reservation failed, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Totals {
    pub subtotal: Money,
    pub shipping_fee: Money,
    pub tax: Money,
    pub discount: Money,
    pub total: Money,
}

/// The shop's pricing rules, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingPolicy {
    pub currency: String,
    /// Tax as a fraction of the subtotal (0.08 for 8 %), rounded once on the total tax.
    pub tax_rate: Decimal,
    /// Shipping per seller part of an order, for sellers without a fee of their own.
    pub shipping_fee: Money,
}

/// An amount of the order would pass the bound every amount is held to (`Money::MAX`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the order's {what} would be more than {max}", max = Money::MAX)]
pub struct AmountTooLarge {
    /// Which amount: `line subtotal of <product>`, `subtotal` or `total`.
    pub what: String,
}

impl PricingPolicy {
    /// The totals of these lines, each seller's part adding its shipping fee (`fees`, or the
    /// configured one for a seller without its own).
    pub fn totals(&self, lines: &[OrderLine], fees: &BTreeMap<SellerId, Money>) -> Result<Totals, AmountTooLarge> {
        let subtotals: Vec<(&SellerId, Money)> = lines.iter().map(|line| (&line.seller_id, line.subtotal)).collect();
        self.checked_totals(&subtotals, fees)
    }

    /// The totals of lines with these sellers and subtotals (a cart's, before it is an order:
    /// the bound is checked when it becomes one, so here an amount past it shows as the bound).
    pub fn totals_of(&self, subtotals: &[(&SellerId, Money)], fees: &BTreeMap<SellerId, Money>) -> Totals {
        self.checked_totals(subtotals, fees).unwrap_or(Totals {
            subtotal: Money::MAX,
            shipping_fee: Money::ZERO,
            tax: Money::ZERO,
            discount: Money::ZERO,
            total: Money::MAX,
        })
    }

    /// What one seller's part adds to shipping.
    pub fn shipping_fee_of(&self, seller: &SellerId, fees: &BTreeMap<SellerId, Money>) -> Money {
        fees.get(seller).copied().unwrap_or(self.shipping_fee)
    }

    fn checked_totals(&self, subtotals: &[(&SellerId, Money)], fees: &BTreeMap<SellerId, Money>) -> Result<Totals, AmountTooLarge> {
        let too_large = |what: &str| AmountTooLarge { what: what.to_owned() };
        let subtotal = Money::checked_sum(subtotals.iter().map(|(_, amount)| *amount)).map_err(|_| too_large("subtotal"))?;
        let sellers: BTreeSet<&SellerId> = subtotals.iter().map(|(seller, _)| *seller).collect();
        let shipping_fee = Money::checked_sum(sellers.into_iter().map(|seller| self.shipping_fee_of(seller, fees)))
            .map_err(|_| too_large("shipping fee"))?;
        let tax = Money::round_from(subtotal.amount() * self.tax_rate);
        let discount = Money::ZERO;
        let total = Money::checked_sum([subtotal, shipping_fee, tax])
            .map_err(|_| too_large("total"))?
            .saturating_sub(discount);
        Ok(Totals {
            subtotal,
            shipping_fee,
            tax,
            discount,
            total,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    /// What people read and say (`ORD-20261124-000123`); orders stored before numbers have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<OrderNumber>,
    pub user_id: UserId,
    /// The customer's name and address, from their verified token when they placed the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<Email>,
    /// Where the order was taken (`web` for orders stored before channels were recorded).
    #[serde(default)]
    pub channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    /// The customer's note for the shop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_note: Option<String>,
    pub items: Vec<OrderLine>,
    #[serde(flatten)]
    pub totals: Totals,
    /// What each seller's part adds to shipping (the seller's own fee, or the configured one),
    /// as the order was priced.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shipping_fees: BTreeMap<SellerId, Money>,
    pub currency: String,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub status_history: Vec<StatusChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<LineProblem>,
    /// How the customer chose to pay (`POST /orders/{id}/payment`), once they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<PaymentMethod>,
    /// The provider's payment waiting to be completed (online, wallet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<PaymentIntent>,
    /// The payment that paid for the order.
    #[serde(default)]
    pub payment: Option<Payment>,
    /// Payments that arrived when the order could no longer be paid: they must be refunded.
    /// Each is its own stored record (one per provider payment), read back with the order;
    /// orders stored before that keep theirs inside.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds_due: Vec<Payment>,
    /// One part per seller, from the moment the order goes to fulfilment (PROCESSING).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seller_parts: Vec<SellerPart>,
    /// Money paid back so far: never more than the payment (every refund is recorded in the
    /// write that moves this, conditioned on the order's version).
    #[serde(default)]
    pub refunded_total: Money,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<Refund>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<ReturnRequest>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the reservation lapses if unpaid; `null` until stock is reserved.
    #[serde(default)]
    pub payment_due_at: Option<DateTime<Utc>>,
    /// The stored version: 1 when created, bumped by every update, which is conditioned on the
    /// version it read (optimistic concurrency).
    #[serde(default)]
    pub version: u64,
}

/// A payment the payment provider confirmed, by its reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub reference: PaymentReference,
    pub amount: Money,
    pub received_at: DateTime<Utc>,
    /// A payment owed back that is stored as its own record, not inside the order (so that no
    /// number of late payments grows the order); never stored or shown itself.
    #[serde(skip)]
    pub kept_apart: bool,
}

/// What a payment confirmation does to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentDecision {
    /// Convert the reservation into a sale: the order becomes PAID.
    Accept,
    /// This very payment was already applied: nothing to do.
    AlreadyApplied,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentRefusal {
    #[error("the amount {offered} does not match the order total {expected}")]
    AmountMismatch { offered: Money, expected: Money },
    #[error("the order was already paid with another payment reference")]
    PaidWithOtherReference,
    /// The order can no longer be paid (cancelled, invalid); `refund` says whether the payment
    /// has to be recorded for a refund (it is new to this order).
    #[error("an order in status {status} cannot be paid")]
    NotPayable { status: OrderStatus, refund: bool },
}

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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

/// Snapshots each line's price from the catalogue; lines whose product does not exist come
/// back as problems instead (the order is then INVALID).
pub fn price_lines(request: &PlaceOrder, catalogue: &HashMap<Sku, Product>) -> Result<(Vec<OrderLine>, Vec<LineProblem>), AmountTooLarge> {
    let mut lines = Vec::with_capacity(request.lines().len());
    let mut unknown = Vec::new();
    for (index, wanted) in request.lines().iter().enumerate() {
        match catalogue.get(&wanted.product_id) {
            Some(product) => lines.push(OrderLine {
                item_id: line_item_id(index),
                product_id: wanted.product_id.clone(),
                name: product.name.clone(),
                seller_id: product.seller_id.clone(),
                quantity: wanted.quantity,
                unit_price: product.price,
                subtotal: product.price.checked_mul(wanted.quantity.get()).map_err(|_| AmountTooLarge {
                    what: format!("line subtotal of {}", wanted.product_id),
                })?,
                price_version: product.price_version,
                stock_takes: Vec::new(),
            }),
            None => unknown.push(LineProblem {
                product_id: wanted.product_id.clone(),
                code: LineProblemCode::UnknownProduct,
                requested: wanted.quantity,
                available: None,
            }),
        }
    }
    Ok((lines, unknown))
}

fn line_item_id(index: usize) -> ItemId {
    // Only digits and a prefix: always a valid id.
    ItemId::parse(&format!("item-{}", index + 1)).unwrap_or_else(|_| unreachable!("item ids are well formed"))
}

impl Order {
    /// A new order, already through CREATED and into PENDING_RESERVING_STOCK; refused when an
    /// amount would pass the bound, so nothing unreadable is ever stored.
    pub fn new(
        id: OrderId,
        user_id: UserId,
        items: Vec<OrderLine>,
        pricing: &PricingPolicy,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Self, AmountTooLarge> {
        let shipping_fees = items
            .iter()
            .map(|line| (line.seller_id.clone(), pricing.shipping_fee))
            .collect::<BTreeMap<_, _>>();
        let totals = pricing.totals(&items, &shipping_fees)?;
        let entry = |status| StatusChange {
            status,
            timestamp: now,
            actor: actor.clone(),
            note: None,
        };
        Ok(Self {
            id,
            order_number: None,
            user_id,
            customer_name: None,
            customer_email: None,
            channel: Channel::default(),
            shipping_address: None,
            customer_note: None,
            items,
            totals,
            shipping_fees,
            currency: pricing.currency.clone(),
            status: OrderStatus::PendingReservingStock,
            payment_status: PaymentStatus::Pending,
            status_history: vec![entry(OrderStatus::Created), entry(OrderStatus::PendingReservingStock)],
            problems: Vec::new(),
            payment_method: None,
            payment_intent: None,
            payment: None,
            refunds_due: Vec::new(),
            seller_parts: Vec::new(),
            refunded_total: Money::ZERO,
            refunds: Vec::new(),
            returns: Vec::new(),
            created_at: now,
            updated_at: now,
            payment_due_at: None,
            version: 1,
        })
    }

    /// Prices shipping with each seller's own fee (`fees`; the configured one for the rest).
    pub fn with_shipping_fees(mut self, fees: &BTreeMap<SellerId, Money>, pricing: &PricingPolicy) -> Result<Self, AmountTooLarge> {
        for (seller, fee) in self.shipping_fees.iter_mut() {
            *fee = pricing.shipping_fee_of(seller, fees);
        }
        self.totals = pricing.totals(&self.items, &self.shipping_fees)?;
        Ok(self)
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
        self.status_history.push(StatusChange {
            status: next,
            timestamp: now,
            actor: actor.clone(),
            note,
        });
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
}

impl Order {
    /// Decides what a confirmed payment does, without changing the order.
    pub fn judge_payment(&self, reference: &PaymentReference, amount: Money) -> Result<PaymentDecision, PaymentRefusal> {
        if let Some(paid) = &self.payment {
            return if &paid.reference == reference {
                Ok(PaymentDecision::AlreadyApplied)
            } else {
                Err(PaymentRefusal::PaidWithOtherReference)
            };
        }
        match self.status {
            OrderStatus::PendingPayment if amount == self.totals.total => Ok(PaymentDecision::Accept),
            OrderStatus::PendingPayment => Err(PaymentRefusal::AmountMismatch {
                offered: amount,
                expected: self.totals.total,
            }),
            status => {
                let known = self.refunds_due.iter().any(|due| &due.reference == reference);
                Err(PaymentRefusal::NotPayable {
                    status,
                    refund: status.is_terminal() && !known,
                })
            }
        }
    }

    /// Applies an accepted payment: PAID, with the payment recorded.
    pub fn pay(&mut self, payment: Payment, actor: &Actor, now: DateTime<Utc>) -> Result<(), IllegalTransition> {
        let note = format!("payment {}", payment.reference);
        self.transition(OrderStatus::Paid, actor, Some(note), now)?;
        self.payment_status = PaymentStatus::Paid;
        self.payment = Some(payment);
        Ok(())
    }

    /// Adds a payment owed back, as read with the order; one per provider payment.
    pub fn add_refund_due(&mut self, payment: Payment) {
        if !self.refunds_due.iter().any(|due| due.reference == payment.reference) {
            self.refunds_due.push(payment);
        }
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
        .map(|problem| {
            let code = match problem.code {
                LineProblemCode::OutOfStock => "OUT_OF_STOCK",
                LineProblemCode::UnknownProduct => "UNKNOWN_PRODUCT",
                LineProblemCode::AmountTooLarge => "AMOUNT_TOO_LARGE",
                LineProblemCode::SellerInactive => "SELLER_INACTIVE",
            };
            format!("{}: {code}", problem.product_id)
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::request::tests::place;

    fn product(sku: &str, price: &str) -> Product {
        Product::example(sku, price)
    }

    fn catalogue(products: &[Product]) -> HashMap<Sku, Product> {
        products.iter().map(|p| (p.product_id.clone(), p.clone())).collect()
    }

    fn pricing(tax: &str, shipping: &str) -> PricingPolicy {
        PricingPolicy {
            currency: "USD".into(),
            tax_rate: tax.parse().unwrap(),
            shipping_fee: Money::parse(shipping).unwrap(),
        }
    }

    fn new_order(lines: Vec<OrderLine>, pricing: &PricingPolicy) -> Order {
        let user = UserId::parse("alice").unwrap();
        Order::new(OrderId::new(), user.clone(), lines, pricing, &Actor::customer(&user), Utc::now()).unwrap()
    }

    #[test]
    fn lines_snapshot_the_catalogue_price_and_totals_add_up_exactly() {
        let request = place(&[("a", 3), ("b", 1)]);
        let (lines, unknown) = price_lines(&request, &catalogue(&[product("a", "0.10"), product("b", "19.99")])).unwrap();
        assert!(unknown.is_empty());
        assert_eq!(lines[0].subtotal.to_string(), "0.30");
        let order = new_order(lines, &pricing("0", "0"));
        assert_eq!(order.totals.subtotal.to_string(), "20.29");
        assert_eq!(order.totals.total.to_string(), "20.29");
    }

    #[test]
    fn tax_is_rounded_once_on_the_subtotal_and_shipping_is_added() {
        let request = place(&[("a", 1), ("b", 1)]);
        let (lines, _) = price_lines(&request, &catalogue(&[product("a", "0.05"), product("b", "0.05")])).unwrap();
        // 0.10 * 0.075 = 0.0075 -> 0.01 (rounding each line would give 0.00 + 0.00).
        let order = new_order(lines, &pricing("0.075", "4.99"));
        assert_eq!(order.totals.tax.to_string(), "0.01");
        assert_eq!(order.totals.total.to_string(), "5.10");
    }

    #[test]
    fn unknown_products_are_reported_per_line() {
        let request = place(&[("a", 1), ("ghost", 2)]);
        let (lines, problems) = price_lines(&request, &catalogue(&[product("a", "1")])).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].product_id.as_str(), "ghost");
        assert_eq!(problems[0].code, LineProblemCode::UnknownProduct);
    }

    #[test]
    fn a_new_order_has_a_timeline_from_created_and_refuses_illegal_moves() {
        let mut order = new_order(vec![], &pricing("0", "0"));
        let statuses: Vec<_> = order.status_history.iter().map(|c| c.status).collect();
        assert_eq!(statuses, vec![OrderStatus::Created, OrderStatus::PendingReservingStock]);
        let err = order
            .transition(OrderStatus::Shipped, &Actor::system("test"), None, Utc::now())
            .unwrap_err();
        assert_eq!(err.from, OrderStatus::PendingReservingStock);
        assert_eq!(order.status_history.len(), 2);
    }

    pub(crate) fn awaiting_payment(total: &str) -> Order {
        let request = place(&[("a", 1)]);
        let (lines, _) = price_lines(&request, &catalogue(&[product("a", total)])).unwrap();
        let mut order = new_order(lines, &pricing("0", "0"));
        order.reserve(&Actor::system("test"), Utc::now(), Utc::now(), None).unwrap();
        order
    }

    fn payment(reference: &str, amount: &str) -> Payment {
        Payment {
            reference: PaymentReference::parse(reference).unwrap(),
            amount: Money::parse(amount).unwrap(),
            received_at: Utc::now(),
            kept_apart: false,
        }
    }

    #[test]
    fn the_exact_amount_pays_and_a_repeat_of_the_same_payment_changes_nothing() {
        let mut order = awaiting_payment("12.00");
        let pay = payment("pay-1", "12.00");
        assert_eq!(order.judge_payment(&pay.reference, pay.amount), Ok(PaymentDecision::Accept));
        order.pay(pay.clone(), &Actor::system("test"), Utc::now()).unwrap();
        assert_eq!((order.status, order.payment_status), (OrderStatus::Paid, PaymentStatus::Paid));
        assert_eq!(order.judge_payment(&pay.reference, pay.amount), Ok(PaymentDecision::AlreadyApplied));
        let other = payment("pay-2", "12.00");
        assert_eq!(
            order.judge_payment(&other.reference, other.amount),
            Err(PaymentRefusal::PaidWithOtherReference)
        );
    }

    #[test]
    fn a_wrong_amount_is_refused_with_the_expected_total() {
        let order = awaiting_payment("12.00");
        let short = payment("pay-1", "11.99");
        let refusal = order.judge_payment(&short.reference, short.amount).unwrap_err();
        assert_eq!(
            refusal,
            PaymentRefusal::AmountMismatch {
                offered: short.amount,
                expected: Money::parse("12").unwrap()
            }
        );
    }

    #[test]
    fn a_payment_for_a_cancelled_order_is_owed_back_once() {
        let mut order = awaiting_payment("12.00");
        order
            .cancel(&Actor::system("sweeper"), "PAYMENT_TIMEOUT".into(), false, Utc::now())
            .unwrap();
        let late = payment("pay-1", "12.00");
        assert_eq!(
            order.judge_payment(&late.reference, late.amount),
            Err(PaymentRefusal::NotPayable {
                status: OrderStatus::Cancelled,
                refund: true
            })
        );
        order.add_refund_due(late.clone());
        order.add_refund_due(late.clone());
        assert_eq!(order.refunds_due.len(), 1, "once per provider payment");
        assert_eq!(
            order.judge_payment(&late.reference, late.amount),
            Err(PaymentRefusal::NotPayable {
                status: OrderStatus::Cancelled,
                refund: false
            })
        );
    }

    #[test]
    fn cancelling_releases_held_stock_once_refunds_paid_orders_and_refuses_shipped_ones() {
        let mut order = awaiting_payment("12.00");
        assert_eq!(order.judge_cancel(), Ok(CancelDecision::ReleaseStock));
        order
            .cancel(&Actor::system("test"), "changed my mind".into(), false, Utc::now())
            .unwrap();
        assert_eq!(order.judge_cancel(), Ok(CancelDecision::AlreadyCancelled));
        let mut paid = awaiting_payment("5.00");
        paid.pay(payment("p", "5.00"), &Actor::system("test"), Utc::now()).unwrap();
        assert_eq!(paid.judge_cancel(), Ok(CancelDecision::RestockAndRefund));
        paid.status = OrderStatus::PartiallyShipped;
        assert_eq!(
            paid.judge_cancel(),
            Err(NotCancellable {
                status: OrderStatus::PartiallyShipped
            })
        );
    }

    #[test]
    fn invalidating_records_the_reasons_in_the_timeline() {
        let mut order = new_order(vec![], &pricing("0", "0"));
        let problem = LineProblem {
            product_id: Sku::parse("a").unwrap(),
            code: LineProblemCode::OutOfStock,
            requested: Quantity::new(2).unwrap(),
            available: Some(1),
        };
        order.invalidate(vec![problem], &Actor::system("test"), Utc::now()).unwrap();
        assert_eq!(order.status, OrderStatus::Invalid);
        assert_eq!(order.invalid_reason(), Some(LineProblemCode::OutOfStock));
        assert_eq!(order.status_history.last().unwrap().note.as_deref(), Some("a: OUT_OF_STOCK"));
    }
}
