//! Domain events: one per status change an order write made, read from the change itself (the
//! history entries the write added), so a write that carried several changes at once (a 201
//! placement stores CREATED -> PENDING_RESERVING_STOCK -> PENDING_PAYMENT) yields each of them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{OrderId, SellerId, UserId};
use super::money::Money;
use super::order::Order;
use super::order::PaymentMethod;
use super::order::{PartStatus, SellerPart};
use super::order::{Refund, RefundDue, RefundStatus, PERSONAL_DATA_ERASED, RETURN_REJECTED};
use super::status::OrderStatus;

/// The `source` of every event this service publishes.
pub const EVENT_SOURCE: &str = "orders";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventName {
    OrderPlaced,
    OrderInvalid,
    OrderPaid,
    OrderCancelled,
    ReservationExpired,
    OrderProcessing,
    OrderPartiallyShipped,
    OrderShipped,
    OrderDelivered,
    ReturnRequested,
    OrderReturned,
    ReturnRejected,
    SellerPartShipped,
    SellerPartDeliveryFailed,
    OrderRefunded,
    /// A cash-on-delivery order's cash was collected at delivery (`amount`).
    PaymentCollected,
    /// A payment that arrived after its order could no longer be paid was paid back (`amount`).
    LatePaymentRefunded,
    /// The customer's name, email, address and note were erased from the order (the note says
    /// why): systems holding a copy erase theirs.
    PersonalDataErased,
    /// The customer disputed the payment with their bank (`amount`, the reason in `note`).
    OrderDisputed,
}

impl EventName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderPlaced => "OrderPlaced",
            Self::OrderInvalid => "OrderInvalid",
            Self::OrderPaid => "OrderPaid",
            Self::OrderCancelled => "OrderCancelled",
            Self::ReservationExpired => "ReservationExpired",
            Self::OrderProcessing => "OrderProcessing",
            Self::OrderPartiallyShipped => "OrderPartiallyShipped",
            Self::OrderShipped => "OrderShipped",
            Self::OrderDelivered => "OrderDelivered",
            Self::ReturnRequested => "ReturnRequested",
            Self::OrderReturned => "OrderReturned",
            Self::ReturnRejected => "ReturnRejected",
            Self::SellerPartShipped => "SellerPartShipped",
            Self::SellerPartDeliveryFailed => "SellerPartDeliveryFailed",
            Self::OrderRefunded => "OrderRefunded",
            Self::PaymentCollected => "PaymentCollected",
            Self::LatePaymentRefunded => "LatePaymentRefunded",
            Self::PersonalDataErased => "PersonalDataErased",
            Self::OrderDisputed => "OrderDisputed",
        }
    }

    /// The event a change into `status` is, with the note that came with it; `None` for the
    /// internal steps before an order is placed.
    fn of(status: OrderStatus, note: Option<&str>) -> Option<Self> {
        if note.is_some_and(|note| note.starts_with(RETURN_REJECTED)) {
            return Some(Self::ReturnRejected);
        }
        Some(match status {
            OrderStatus::Created | OrderStatus::PendingReservingStock => return None,
            OrderStatus::PendingPayment => Self::OrderPlaced,
            OrderStatus::Invalid => Self::OrderInvalid,
            OrderStatus::Paid => Self::OrderPaid,
            OrderStatus::Cancelled if note.is_some_and(|note| note.starts_with("PAYMENT_TIMEOUT")) => Self::ReservationExpired,
            OrderStatus::Cancelled => Self::OrderCancelled,
            OrderStatus::Processing => Self::OrderProcessing,
            OrderStatus::PartiallyShipped => Self::OrderPartiallyShipped,
            OrderStatus::Shipped => Self::OrderShipped,
            OrderStatus::Delivered => Self::OrderDelivered,
            OrderStatus::ReturnRequested => Self::ReturnRequested,
            OrderStatus::Returned => Self::OrderReturned,
        })
    }
}

/// The `detail` of an event on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// `<order id>:<version>:<event name>`: the same change always has the same id, so a
    /// consumer drops what it has seen (the outbox delivers at least once).
    pub event_id: String,
    pub name: EventName,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub previous_status: Option<OrderStatus>,
    /// The order's version after the write: orders a consumer's view per order, as neither
    /// EventBridge nor SQS keeps order.
    pub version: u64,
    pub total: Money,
    pub currency: String,
    pub seller_ids: BTreeSet<SellerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The seller whose part an event is about (`SellerPart*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<SellerId>,
    /// The refund an `OrderRefunded` is about, and its amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<super::RefundId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    pub occurred_at: DateTime<Utc>,
}

/// A payment that arrived when its order could no longer be paid, as its record stands (the
/// order's customer, currency and status when it arrived; absent on records from before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatePayment {
    pub order_id: OrderId,
    pub user_id: Option<UserId>,
    pub currency: Option<String>,
    pub order_status: Option<OrderStatus>,
    pub due: RefundDue,
}

/// The event of a late payment's record changing: `LatePaymentRefunded` once the provider has
/// paid it back (a record from before this, without its order's customer, has none).
pub fn events_of_late_payment(old: Option<&LatePayment>, new: &LatePayment) -> Vec<DomainEvent> {
    let was_refunded = old.is_some_and(|old| old.due.refund_status == RefundStatus::Completed);
    let (RefundStatus::Completed, false, Some(user_id), Some(currency), Some(status)) =
        (new.due.refund_status, was_refunded, &new.user_id, &new.currency, new.order_status)
    else {
        return Vec::new();
    };
    let payment = &new.due.payment;
    vec![DomainEvent {
        event_id: format!(
            "{}:late:{}:{}",
            new.order_id,
            payment.reference,
            EventName::LatePaymentRefunded.as_str()
        ),
        name: EventName::LatePaymentRefunded,
        order_id: new.order_id,
        user_id: user_id.clone(),
        status,
        previous_status: Some(status),
        version: 0,
        total: payment.amount,
        currency: currency.clone(),
        seller_ids: BTreeSet::new(),
        note: Some(format!("LATE PAYMENT {} refunded", payment.reference)),
        seller_id: None,
        refund_id: None,
        amount: Some(payment.amount),
        occurred_at: new.due.refunded_at.unwrap_or(payment.received_at),
    }]
}

/// The events of one order write: `old` is the order before it (`None` for a new order). A
/// status change is an event (timeline entries that keep the status are not); so are a part
/// newly shipped or failed, and a refund recorded.
pub fn events_of(old: Option<&Order>, new: &Order) -> Vec<DomainEvent> {
    // The entries this change added are the newest ones: as many as the timeline grew by,
    // counting the notes it dropped to stay bounded.
    let ever = |order: &Order| {
        usize::try_from(order.history_trimmed)
            .unwrap_or(usize::MAX)
            .saturating_add(order.status_history.len())
    };
    let added = old.map_or(new.status_history.len(), |old| ever(new).saturating_sub(ever(old)));
    let already = new.status_history.len().saturating_sub(added);
    let mut previous = old.and_then(|old| old.status_history.last()).map(|change| change.status);
    let event = |name: EventName, status, previous_status, note: Option<String>, occurred_at| DomainEvent {
        event_id: format!("{}:{}:{}", new.id, new.version, name.as_str()),
        name,
        order_id: new.id,
        user_id: new.user_id.clone(),
        status,
        previous_status,
        version: new.version,
        total: new.totals.total,
        currency: new.currency.clone(),
        seller_ids: new.items.iter().map(|line| line.seller_id.clone()).collect(),
        note,
        seller_id: None,
        refund_id: None,
        amount: None,
        occurred_at,
    };
    let mut events = Vec::new();
    for change in new.status_history.iter().skip(already) {
        if previous != Some(change.status) {
            if let Some(name) = EventName::of(change.status, change.note.as_deref()) {
                events.push(event(name, change.status, previous, change.note.clone(), change.timestamp));
            }
        }
        previous = Some(change.status);
    }
    let parts_before: &[SellerPart] = old.map_or(&[], |old| &old.seller_parts);
    for part in &new.seller_parts {
        let before = parts_before.iter().find(|p| p.seller_id == part.seller_id).map(|p| p.status);
        let name = match part.status {
            PartStatus::Shipped if before != Some(PartStatus::Shipped) => EventName::SellerPartShipped,
            PartStatus::DeliveryFailed if before != Some(PartStatus::DeliveryFailed) => EventName::SellerPartDeliveryFailed,
            _ => continue,
        };
        let mut part_event = event(name, new.status, Some(new.status), part.failure_reason.clone(), new.updated_at);
        part_event.seller_id = Some(part.seller_id.clone());
        events.push(part_event);
    }
    let paid_before = old.is_some_and(|old| old.payment.is_some());
    if let (Some(payment), false, Some(PaymentMethod::Cod)) = (&new.payment, paid_before, new.payment_method) {
        let mut collected = event(EventName::PaymentCollected, new.status, Some(new.status), None, payment.received_at);
        collected.amount = Some(payment.amount);
        events.push(collected);
    }
    let refunds_before = old.map_or(0, |old| old.refunds.len());
    for refund in new.refunds.iter().skip(refunds_before) {
        let Refund {
            refund_id,
            amount,
            reason,
            created_at,
            ..
        } = refund;
        let mut refunded = event(
            EventName::OrderRefunded,
            new.status,
            Some(new.status),
            Some(reason.clone()),
            *created_at,
        );
        refunded.refund_id = Some(refund_id.clone());
        refunded.amount = Some(*amount);
        events.push(refunded);
    }
    let disputes_before = old.map_or(0, |old| old.disputes.len());
    for dispute in new.disputes.iter().skip(disputes_before) {
        let mut disputed = event(
            EventName::OrderDisputed,
            new.status,
            Some(new.status),
            Some(format!("{}: {}", dispute.dispute_id, dispute.reason)),
            dispute.opened_at,
        );
        disputed.amount = Some(dispute.amount);
        events.push(disputed);
    }
    if let (Some(old), Some(erased_at)) = (old, new.personal_data_erased_at) {
        if old.personal_data_erased_at.is_none() {
            let why = new
                .status_history
                .iter()
                .rev()
                .find_map(|change| change.note.as_deref().filter(|note| note.starts_with(PERSONAL_DATA_ERASED)));
            events.push(event(
                EventName::PersonalDataErased,
                new.status,
                Some(new.status),
                why.map(str::to_owned),
                erased_at,
            ));
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::actor::Actor;
    use crate::domain::order::{price_lines, Payment, PricingPolicy};
    use crate::domain::{PaymentReference, PlaceOrder, Product, Sku};

    fn placed() -> Order {
        let request = PlaceOrder::from_json(&serde_json::json!({"items": [{"product_id": "a", "quantity": 2}]})).unwrap();
        let product = Product {
            product_id: Sku::parse("a").unwrap(),
            name: "A".into(),
            seller_id: SellerId::parse("s1").unwrap(),
            price: Money::parse("3.00").unwrap(),
            description: None,
            image_url: None,
            on_hand: 9,
            available: 9,
            reserved: 0,
            version: 1,
            price_version: 1,
            last_hold_at: None,
            stock_shards: Default::default(),
            shard_items: 1,
            shards: Vec::new(),
        };
        let catalogue = [(product.product_id.clone(), product)].into_iter().collect();
        let (lines, _) = price_lines(&request, &catalogue).unwrap();
        let pricing = PricingPolicy {
            currency: "USD".into(),
            tax_rate: Default::default(),
            shipping_fee: Money::ZERO,
        };
        let user = UserId::parse("u").unwrap();
        let mut order = Order::new(OrderId::new(), user.clone(), lines, &pricing, &Actor::customer(&user), Utc::now()).unwrap();
        order
            .reserve(&Actor::system("reserve-stock"), Utc::now(), Utc::now(), None)
            .unwrap();
        order
    }

    #[test]
    fn a_placement_written_at_once_is_one_order_placed_event_and_the_internal_steps_are_none() {
        let order = placed();
        let events = events_of(None, &order);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].name, EventName::OrderPlaced);
        assert_eq!(events[0].previous_status, Some(OrderStatus::PendingReservingStock));
        assert_eq!(events[0].event_id, format!("{}:1:OrderPlaced", order.id));
        assert_eq!(events[0].total.to_string(), "6.00");
        assert_eq!(events[0].seller_ids.len(), 1);
    }

    #[test]
    fn each_later_change_is_its_own_event_and_an_expiry_is_told_apart_from_a_cancellation() {
        let before = placed();
        let mut paid = before.clone();
        let payment = Payment {
            reference: PaymentReference::parse("p").unwrap(),
            amount: before.totals.total,
            received_at: Utc::now(),
        };
        paid.pay(payment, &Actor::system("payments"), Utc::now()).unwrap();
        paid.version = 2;
        let events = events_of(Some(&before), &paid);
        assert_eq!(events.iter().map(|e| e.name).collect::<Vec<_>>(), [EventName::OrderPaid]);
        assert_eq!(events[0].previous_status, Some(OrderStatus::PendingPayment));
        assert!(
            events_of(Some(&paid), &paid).is_empty(),
            "a write with no status change has no event"
        );

        let mut expired = before.clone();
        expired
            .cancel(&Actor::system("sweeper"), "PAYMENT_TIMEOUT".into(), false, Utc::now())
            .unwrap();
        assert_eq!(events_of(Some(&before), &expired)[0].name, EventName::ReservationExpired);
        let mut cancelled = before.clone();
        cancelled
            .cancel(&Actor::system("x"), "CANCELLED_BY_REQUEST".into(), false, Utc::now())
            .unwrap();
        assert_eq!(events_of(Some(&before), &cancelled)[0].name, EventName::OrderCancelled);
    }
}
