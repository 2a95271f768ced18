//! An order: its lines, totals, timeline, payment, refunds, returns and seller parts. The
//! type is defined here; each part of its behaviour is a submodule.

mod actions;
mod edit;
mod fulfilment;
mod lifecycle;
mod payment;
mod pricing;
mod privacy;
mod refund;
mod restock;
mod returns;

pub use actions::*;
pub use edit::*;
pub use fulfilment::*;
pub use lifecycle::*;
pub use payment::*;
pub use pricing::*;
pub use privacy::*;
pub use refund::*;
pub use returns::*;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::actor::Actor;
use crate::domain::contact::Email;
use crate::domain::delivery::{Address, Channel};
use crate::domain::ids::{OrderId, SellerId, UserId};
use crate::domain::line::{LineProblem, OrderLine};
use crate::domain::money::Money;
use crate::domain::numbering::OrderNumber;
use crate::domain::status::{OrderStatus, PaymentStatus};
use crate::domain::transition::StatusChange;

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
    /// Notes dropped from the timeline, oldest first, to keep the order's item bounded (see
    /// `lifecycle::MAX_HISTORY_ENTRIES`); status changes are never dropped.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub history_trimmed: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<LineProblem>,
    /// Placed by a checkout that did not accept price changes: the order is only ever charged
    /// the prices the customer was shown (a queued reservation that finds another price makes
    /// it INVALID with `PRICE_CHANGED`, never charges the new one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prices_locked: bool,
    /// How the customer chose to pay (`POST /orders/{id}/payment`), once they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<PaymentMethod>,
    /// The provider's payment waiting to be completed (online, wallet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<PaymentIntent>,
    /// The payment that paid for the order.
    #[serde(default)]
    pub payment: Option<Payment>,
    /// Payments that arrived when the order could no longer be paid: each is paid back in full.
    /// Each is its own stored record (one per provider payment), read back with the order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds_due: Vec<RefundDue>,
    /// One part per seller, from the moment the order goes to fulfilment (PROCESSING).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seller_parts: Vec<SellerPart>,
    /// Money paid back so far: never more than the payment (every refund is recorded in the
    /// write that moves this, conditioned on the order's version).
    #[serde(default)]
    pub refunded_total: Money,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<Refund>,
    /// Disputes of the payment with the customer's bank.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<Dispute>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<ReturnRequest>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the reservation lapses if unpaid; `null` until stock is reserved.
    #[serde(default)]
    pub payment_due_at: Option<DateTime<Utc>>,
    /// An admin asked to erase the customer's personal data while the order still had to be
    /// delivered: it is erased the moment the order no longer needs it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erasure_requested: bool,
    /// When the customer's name, email, address and note were erased (on request, or at the
    /// end of the retention period); the financial record stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_data_erased_at: Option<DateTime<Utc>>,
    /// The stored version: 1 when created, bumped by every update, which is conditioned on the
    /// version it read (optimistic concurrency).
    #[serde(default)]
    pub version: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// Whose orders a caller may act on.
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    Owner(&'a UserId),
    Anyone,
}

impl Access<'_> {
    pub fn allows(&self, order: &Order) -> bool {
        match self {
            Self::Owner(user) => &order.user_id == *user,
            Self::Anyone => true,
        }
    }
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
            history_trimmed: 0,
            prices_locked: false,
            problems: Vec::new(),
            payment_method: None,
            payment_intent: None,
            payment: None,
            refunds_due: Vec::new(),
            seller_parts: Vec::new(),
            refunded_total: Money::ZERO,
            refunds: Vec::new(),
            disputes: Vec::new(),
            returns: Vec::new(),
            created_at: now,
            updated_at: now,
            payment_due_at: None,
            erasure_requested: false,
            personal_data_erased_at: None,
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
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::ids::{PaymentReference, Sku};
    use crate::domain::line::LineProblemCode;
    use crate::domain::product::Product;
    use crate::domain::quantity::Quantity;
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
        order.add_refund_due(RefundDue::new(late.clone()));
        order.add_refund_due(RefundDue::new(late.clone()));
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
