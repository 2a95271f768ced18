//! What customers and sellers are told, and when: one message per recipient of an event that
//! concerns them: a subject, lines and a footer (an e-mail's HTML is rendered outside the
//! domain, in `render::html`).

use std::collections::HashMap;
use std::fmt::Write;

use super::contact::Email;
use super::events::{DomainEvent, EventName};
use super::ids::SellerId;
use super::line::LineProblemCode;
use super::order::Order;
use super::order::PartStatus;
use super::seller::Seller;

/// Who a message is for: the order's customer, or one of its sellers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Customer,
    Seller(SellerId),
}

impl Audience {
    /// Stable text naming the recipient among an event's messages (`customer`, `seller:s1`).
    pub fn key(&self) -> String {
        match self {
            Self::Customer => "customer".to_owned(),
            Self::Seller(seller) => format!("seller:{seller}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub audience: Audience,
    pub to: Email,
    pub subject: String,
    pub lines: Vec<String>,
    /// Which order the message is about, below the lines.
    pub footer: String,
}

impl Notification {
    /// The message as plain text.
    pub fn text(&self) -> String {
        format!("{}\n\n{}\n", self.lines.join("\n"), self.footer)
    }
}

/// The messages one event gives, one per recipient we have an address for. Events that concern
/// nobody give none.
pub fn notifications_for(event: &DomainEvent, order: &Order, sellers: &HashMap<SellerId, Seller>) -> Vec<Notification> {
    let mut messages = Vec::new();
    if let (Some(to), Some((subject, lines))) = (&order.customer_email, customer_message(event, order)) {
        messages.push(render(Audience::Customer, to.clone(), order, subject, lines));
    }
    for seller_id in &event.seller_ids {
        let Some(seller) = sellers.get(seller_id) else { continue };
        if let Some((subject, lines)) = seller_message(event, order, seller) {
            messages.push(render(
                Audience::Seller(seller_id.clone()),
                seller.email.clone(),
                order,
                subject,
                lines,
            ));
        }
    }
    messages
}

/// The sellers an event may have messages for: look these up before rendering.
pub fn sellers_concerned(event: &DomainEvent) -> Vec<SellerId> {
    match event.name {
        EventName::OrderProcessing | EventName::OrderCancelled | EventName::ReturnRequested => event.seller_ids.iter().cloned().collect(),
        _ => Vec::new(),
    }
}

fn short(order: &Order) -> String {
    // The number people read; orders stored before numbers go by the end of their id.
    match &order.order_number {
        Some(number) => number.to_string(),
        None => order
            .id
            .to_string()
            .chars()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
    }
}

fn customer_message(event: &DomainEvent, order: &Order) -> Option<(String, Vec<String>)> {
    let number = short(order);
    let total = format!("{} {}", order.totals.total, order.currency);
    let greeting = format!("Hello {},", order.customer_name.as_deref().unwrap_or("there"));
    let (subject, body) = match event.name {
        EventName::OrderPlaced => (
            format!("Order {number} received"),
            match order.payment_due_at {
                Some(due) => format!(
                    "your order of {total} is reserved for you. Please pay by {} to keep it.",
                    due.format("%Y-%m-%d %H:%M UTC")
                ),
                None => format!("your order of {total} is reserved for you."),
            },
        ),
        EventName::OrderPaid => (
            format!("Payment received for order {number}"),
            format!("we received your payment of {total}. Your order is on its way to its sellers."),
        ),
        EventName::SellerPartShipped => {
            let part = order
                .seller_parts
                .iter()
                .find(|part| Some(&part.seller_id) == event.seller_id.as_ref())?;
            let mut text = format!(
                "part of your order has shipped with {} (tracking number {}).",
                part.carrier.as_deref().unwrap_or("the carrier"),
                part.tracking_number.as_deref().unwrap_or("to follow")
            );
            if let Some(eta) = part.estimated_delivery {
                let _ = write!(text, " It should arrive by {}.", eta.format("%Y-%m-%d"));
            }
            (format!("Order {number} shipped"), text)
        }
        EventName::OrderDelivered => (
            format!("Order {number} delivered"),
            "your order has been delivered. Thank you for shopping with us.".to_owned(),
        ),
        EventName::OrderCancelled => {
            let mut text = "your order has been cancelled.".to_owned();
            if order.refunded_total.amount() > rust_decimal::Decimal::ZERO {
                let _ = write!(text, " {} {} will be refunded to you.", order.refunded_total, order.currency);
            }
            (format!("Order {number} cancelled"), text)
        }
        // Refused at placement, the customer was answered at once (409); only an order the
        // reserve-stock step refused later (after a 202) needs telling.
        EventName::OrderInvalid if event.version > 1 => {
            let reasons: Vec<String> = order
                .problems
                .iter()
                .map(|problem| {
                    let why = match problem.code {
                        LineProblemCode::OutOfStock => "not enough in stock".to_owned(),
                        LineProblemCode::UnknownProduct => "no longer sold".to_owned(),
                        LineProblemCode::AmountTooLarge => "its amount is more than an order may hold".to_owned(),
                        LineProblemCode::SellerInactive => "its seller is not trading".to_owned(),
                        LineProblemCode::PriceChanged => "its price changed since you checked out".to_owned(),
                    };
                    format!("{} ({why})", problem.product_id)
                })
                .collect();
            (
                format!("Order {number} could not be placed"),
                format!("we could not reserve your order: {}. Nothing was charged.", reasons.join(", ")),
            )
        }
        EventName::LatePaymentRefunded => (
            format!("Your payment for order {number} was refunded"),
            format!(
                "a payment of {} {} reached us after your order could no longer be paid. We have refunded it in full.",
                event.amount.unwrap_or(event.total),
                event.currency
            ),
        ),
        EventName::ReservationExpired => (
            format!("Order {number} expired"),
            "the time to pay for your order has passed, and its items were released.".to_owned(),
        ),
        EventName::OrderRefunded => (
            format!("Refund for order {number}"),
            format!(
                "we are refunding {} {} to you: {}.",
                event.amount.unwrap_or_default(),
                order.currency,
                event.note.as_deref().unwrap_or("a refund")
            ),
        ),
        EventName::SellerPartDeliveryFailed => (
            format!("Delivery problem with order {number}"),
            format!(
                "part of your order could not be delivered ({}). Its value is refunded to you.",
                event.note.as_deref().unwrap_or("no reason given")
            ),
        ),
        // A return approved (not every part failing delivery, which has its own messages).
        EventName::OrderReturned if event.note.as_deref().is_some_and(|note| note.starts_with("RETURN ")) => (
            format!("Return approved for order {number}"),
            "your return was approved; its value is refunded to you.".to_owned(),
        ),
        EventName::ReturnRejected => (
            format!("Return declined for order {number}"),
            format!("your return was declined: {}.", event.note.as_deref().unwrap_or("no reason given")),
        ),
        _ => return None,
    };
    Some((subject, vec![greeting, body]))
}

fn seller_message(event: &DomainEvent, order: &Order, seller: &Seller) -> Option<(String, Vec<String>)> {
    let (name, seller) = (&seller.name, &seller.seller_id);
    let number = short(order);
    let part = order.seller_parts.iter().find(|part| &part.seller_id == seller);
    let items: Vec<String> = order
        .items
        .iter()
        .filter(|line| &line.seller_id == seller)
        .map(|line| format!("{} x {} ({})", line.quantity, line.name, line.item_id))
        .collect();
    let (subject, intro) = match event.name {
        EventName::OrderProcessing => (format!("New order {number} to ship"), "please ship these items:"),
        // Only a seller who had been asked to ship it needs to stop.
        EventName::OrderCancelled if part.is_some_and(|part| part.status == PartStatus::Pending) => (
            format!("Order {number} cancelled: do not ship"),
            "the order was cancelled; do not ship:",
        ),
        EventName::ReturnRequested => (
            format!("Return requested for order {number}"),
            "the customer asked to return items of this order:",
        ),
        _ => return None,
    };
    let mut lines = vec![format!("Hello {name},"), intro.to_owned()];
    lines.extend(items);
    Some((subject, lines))
}

fn render(audience: Audience, to: Email, order: &Order, subject: String, lines: Vec<String>) -> Notification {
    let footer = match &order.order_number {
        Some(number) => format!("Order {number} ({})", order.id),
        None => format!("Order {}", order.id),
    };
    Notification {
        audience,
        to,
        subject,
        lines,
        footer,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::events::events_of;
    use crate::domain::order::tests::awaiting_payment;
    use crate::domain::{Actor, LineProblem, OrderStatus, Quantity, Sku};

    #[test]
    fn a_customer_hears_of_an_order_the_queue_refused_but_not_of_one_refused_at_once() {
        let mut waiting = awaiting_payment("5.00");
        waiting.status = OrderStatus::PendingReservingStock;
        waiting.status_history.pop();
        waiting.customer_email = Email::parse("alice@example.com").ok();
        waiting.version = 1;
        let mut refused = waiting.clone();
        let problem = LineProblem {
            product_id: Sku::parse("a").unwrap(),
            code: LineProblemCode::PriceChanged,
            requested: Quantity::new(1).unwrap(),
            available: None,
        };
        refused
            .invalidate(vec![problem], &Actor::system("reserve-stock"), Utc::now())
            .unwrap();
        refused.version = 2;
        let later = events_of(Some(&waiting), &refused);
        assert_eq!(later[0].name, EventName::OrderInvalid);
        let messages = notifications_for(&later[0], &refused, &HashMap::new());
        assert_eq!(messages.len(), 1);
        assert!(messages[0].subject.ends_with("could not be placed"), "{}", messages[0].subject);
        assert!(
            messages[0].text().contains("a (its price changed since you checked out)"),
            "{}",
            messages[0].text()
        );

        let mut at_once = refused.clone();
        at_once.version = 1;
        let placed = events_of(None, &at_once);
        let invalid = placed.iter().find(|event| event.name == EventName::OrderInvalid).unwrap();
        assert!(
            notifications_for(invalid, &at_once, &HashMap::new()).is_empty(),
            "the 409 told them"
        );
    }
}
