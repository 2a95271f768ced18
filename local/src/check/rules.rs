//! The rules the checker judges stored state by: stock conserved, reservations matching their
//! orders, orders within their thresholds, payments and money back adding up, events complete.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use orders_shared::domain::events::{events_of, DomainEvent, EventName};
use orders_shared::domain::order::{PartItem, PartStatus, PaymentMethod, ReturnStatus};
use orders_shared::domain::{Money, Order, OrderId, OrderStatus, PaymentStatus, Product, Reservation, ReservationStatus, Sku};

use super::{Report, Thresholds, Violation};

/// The checks themselves, on what was read.
pub fn judge(
    products: &[Product],
    reservations: &HashMap<OrderId, Reservation>,
    orders: &[Order],
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> Report {
    let mut report = Report {
        products: products.len(),
        orders: orders.len(),
        reservations: reservations.len(),
        ..Report::default()
    };
    let held = orders_shared::service::sweeper::units_held(&reservations.values().cloned().collect::<Vec<_>>());
    let mut held_by_shard: HashMap<(Sku, u8), i64> = HashMap::new();
    for reservation in reservations.values().filter(|r| r.status == ReservationStatus::Active) {
        for line in &reservation.lines {
            for take in line.takes() {
                *held_by_shard.entry((line.product_id.clone(), take.shard)).or_default() += i64::from(take.quantity.get());
            }
        }
    }
    for p in products {
        if p.on_hand != p.available + p.reserved {
            report.violations.push(Violation::StockNotConserved {
                product: p.product_id.clone(),
                on_hand: p.on_hand,
                available: p.available,
                reserved: p.reserved,
            });
        }
        if p.available < 0 || p.reserved < 0 {
            report.violations.push(Violation::NegativeCounter {
                product: p.product_id.clone(),
                available: p.available,
                reserved: p.reserved,
            });
        }
        for shard in &p.shards {
            let held_here = held_by_shard.get(&(p.product_id.clone(), shard.shard)).copied().unwrap_or(0);
            if shard.on_hand != shard.available + shard.reserved || shard.available < 0 || shard.reserved < 0 || shard.reserved != held_here
            {
                report.violations.push(Violation::ShardBroken {
                    product: p.product_id.clone(),
                    shard: shard.shard,
                    detail: format!(
                        "on_hand {} available {} reserved {}, ACTIVE reservations hold {held_here} here",
                        shard.on_hand, shard.available, shard.reserved
                    ),
                });
            }
        }
        let held_by_reservations = held.get(&p.product_id).copied().unwrap_or(0);
        if p.reserved != held_by_reservations {
            report.violations.push(Violation::ReservedMismatch {
                product: p.product_id.clone(),
                reserved: p.reserved,
                held_by_reservations,
            });
        }
    }
    let known: HashMap<OrderId, &Order> = orders.iter().map(|order| (order.id, order)).collect();
    for id in reservations.keys().filter(|id| !known.contains_key(id)) {
        report.violations.push(Violation::ReservationWithoutOrder { order: *id });
    }
    for order in orders {
        *report.orders_by_status.entry(order.status.to_string()).or_default() += 1;
        let reservation = reservations.get(&order.id);
        if !reservation_fits(order, reservation) {
            report.violations.push(Violation::ReservationStateMismatch {
                order: order.id,
                order_status: order.status,
                reservation: reservation.map(|r| r.status),
            });
        }
        if let Some(reservation) = reservation {
            let lines: Vec<_> = order
                .items
                .iter()
                .map(|line| (&line.product_id, line.quantity, line.takes()))
                .collect();
            let held: Vec<_> = reservation
                .lines
                .iter()
                .map(|line| (&line.product_id, line.quantity, line.takes()))
                .collect();
            if lines != held {
                report.violations.push(Violation::ReservationLinesMismatch { order: order.id });
            }
        }
        match (order.status, order.payment_due_at) {
            (OrderStatus::PendingReservingStock, _) if now - order.created_at > thresholds.reserving => {
                report.violations.push(Violation::StuckReserving {
                    order: order.id,
                    since: order.created_at,
                });
            }
            (OrderStatus::PendingPayment, Some(due)) if now - due > thresholds.overdue => {
                report.violations.push(Violation::Overdue { order: order.id, due });
            }
            _ => {}
        }
        let fulfilling = matches!(
            order.status,
            OrderStatus::Processing
                | OrderStatus::PartiallyShipped
                | OrderStatus::Shipped
                | OrderStatus::Delivered
                | OrderStatus::ReturnRequested
                | OrderStatus::Returned
        );
        if fulfilling && !parts_cover_lines(order) {
            report.violations.push(Violation::PartsMismatch {
                order: order.id,
                status: order.status,
            });
        }
        if let (OrderStatus::Paid, Some(payment), Some(limit)) = (order.status, &order.payment, thresholds.awaiting_fulfilment) {
            if now - payment.received_at > limit {
                report.violations.push(Violation::StuckPaid {
                    order: order.id,
                    since: payment.received_at,
                });
            }
        }
        if let Some(detail) = payment_problem(order) {
            report.violations.push(Violation::PaymentMismatch { order: order.id, detail });
        }
        for detail in money_back_problems(order) {
            report.violations.push(Violation::MoneyBack { order: order.id, detail });
        }
        if order.payment.is_some() {
            for line in &order.items {
                *report.sold.entry(line.product_id.clone()).or_default() += i64::from(line.quantity.get());
            }
        }
    }
    report
}

/// Which reservation state each order status allows.
fn reservation_fits(order: &Order, reservation: Option<&Reservation>) -> bool {
    let state = reservation.map(|r| r.status);
    match order.status {
        OrderStatus::Created | OrderStatus::PendingReservingStock | OrderStatus::Invalid => state.is_none(),
        OrderStatus::PendingPayment => state == Some(ReservationStatus::Active),
        // Cancelled while reserving holds nothing; cancelled later released what it held, or,
        // once paid, had sold it (and restocked it).
        OrderStatus::Cancelled if order.payment.is_some() || order.payment_method == Some(PaymentMethod::Cod) => {
            state == Some(ReservationStatus::Converted)
        }
        OrderStatus::Cancelled => matches!(state, None | Some(ReservationStatus::Released)),
        _ => state == Some(ReservationStatus::Converted),
    }
}

/// Every line of the order is in exactly one seller's part, whole and with its own seller.
fn parts_cover_lines(order: &Order) -> bool {
    let mut parted: Vec<(String, u32, String)> = order
        .seller_parts
        .iter()
        .flat_map(|part| {
            part.items
                .iter()
                .map(|item| (item.item_id.to_string(), item.quantity.get(), part.seller_id.to_string()))
        })
        .collect();
    // Units restocked before they shipped left the parts.
    let mut lines: Vec<(String, u32, String)> = order
        .items
        .iter()
        .map(|line| {
            let to_ship = line.quantity.get().saturating_sub(order.units_unshipped(&line.item_id));
            (line.item_id.to_string(), to_ship, line.seller_id.to_string())
        })
        .filter(|(_, to_ship, _)| *to_ship > 0)
        .collect();
    parted.sort();
    lines.sort();
    !order.seller_parts.is_empty() && parted == lines
}

/// A paid order was paid exactly its total, and only paid orders carry a payment.
fn payment_problem(order: &Order) -> Option<String> {
    let paid_status = matches!(
        order.payment_status,
        PaymentStatus::Paid | PaymentStatus::Refunded | PaymentStatus::PartiallyRefunded | PaymentStatus::Disputed
    );
    match &order.payment {
        Some(payment) if payment.amount != order.totals.total => {
            Some(format!("paid {} for a total of {}", payment.amount, order.totals.total))
        }
        Some(_) if !paid_status => Some(format!("carries a payment but payment_status is {:?}", order.payment_status)),
        None if paid_status => Some("payment_status says paid but no payment is recorded".to_owned()),
        _ => None,
    }
}

/// Every status change and every refund of each order was published as its event, once by
/// `event_id`, and nothing else was: `received` is what a subscriber of the bus got (duplicates
/// included, in any order). Part events (`SellerPart*`) follow parts that later move on, so they
/// are not compared.
pub fn judge_events(orders: &[Order], received: &[DomainEvent]) -> Vec<Violation> {
    let compared = |name: EventName| !matches!(name, EventName::SellerPartShipped | EventName::SellerPartDeliveryFailed);
    let mut seen = BTreeMap::<&str, &DomainEvent>::new();
    for event in received {
        seen.entry(event.event_id.as_str()).or_insert(event);
    }
    let mut violations = Vec::new();
    for order in orders {
        let mut expected: Vec<&str> = events_of(None, order)
            .into_iter()
            .map(|event| event.name)
            .filter(|name| compared(*name))
            .map(EventName::as_str)
            .collect();
        let mut got: Vec<&str> = seen
            .values()
            .filter(|event| event.order_id == order.id && compared(event.name))
            .map(|event| event.name.as_str())
            .collect();
        expected.sort_unstable();
        got.sort_unstable();
        if expected != got {
            violations.push(Violation::EventMismatch {
                order: order.id,
                detail: format!("its changes are {expected:?} but the bus carried {got:?}"),
            });
        }
    }
    violations
}

/// Money back never passes what came in: the refunded total is the sum of the refunds and at
/// most the payment, the payment status says how much went back, no line is refunded or
/// restocked beyond the units sold, and a paid order that was cancelled was refunded in full.
fn money_back_problems(order: &Order) -> Vec<String> {
    let mut problems = Vec::new();
    let paid = order.paid_amount();
    let refunded = order.refunded_total;
    let sum = Money::checked_sum(order.refunds.iter().map(|refund| refund.amount));
    if sum != Ok(refunded) {
        problems.push(format!("refunded_total {refunded} is not the sum of its refunds ({sum:?})"));
    }
    if refunded > paid {
        problems.push(format!("refunded {refunded} of a payment of {paid}"));
    }
    let expected = match (order.payment.is_some(), refunded) {
        (false, _) => None,
        (true, r) if r == Money::ZERO => Some(PaymentStatus::Paid),
        (true, r) if r == paid => Some(PaymentStatus::Refunded),
        (true, _) => Some(PaymentStatus::PartiallyRefunded),
    };
    // A dispute stands for whatever the refunds say until the bank decides.
    let disputed = order.payment_status == PaymentStatus::Disputed && !order.disputes.is_empty();
    if expected.is_some_and(|expected| expected != order.payment_status) && !disputed {
        problems.push(format!(
            "refunded {refunded} of {paid} but payment_status is {:?}",
            order.payment_status
        ));
    }
    for line in &order.items {
        let sold = line.quantity.get();
        let (refunded_units, restocked_units) = (order.units_refunded(&line.item_id), order.units_restocked(&line.item_id));
        if refunded_units > sold || restocked_units > sold {
            problems.push(format!(
                "{}: {refunded_units} units refunded and {restocked_units} restocked of {sold} sold",
                line.item_id
            ));
        }
    }
    if order.status != OrderStatus::Cancelled && !order.seller_parts.is_empty() {
        for line in &order.items {
            // Back in stock only what never shipped, failed delivery, or came back by a return.
            let in_units = |units: &[PartItem]| -> u32 {
                units
                    .iter()
                    .filter(|unit| unit.item_id == line.item_id)
                    .map(|unit| unit.quantity.get())
                    .sum()
            };
            let failed: u32 = order
                .seller_parts
                .iter()
                .filter(|part| part.status == PartStatus::DeliveryFailed)
                .map(|part| in_units(&part.items))
                .sum();
            let returned: u32 = order
                .returns
                .iter()
                .filter(|ret| ret.status == ReturnStatus::Approved)
                .map(|ret| in_units(&ret.lines))
                .sum();
            let may_restock = order.units_unshipped(&line.item_id) + failed + returned;
            let restocked = order.units_restocked(&line.item_id);
            if restocked > may_restock {
                problems.push(format!(
                    "{}: {restocked} units back in stock but only {may_restock} did not ship or came back",
                    line.item_id
                ));
            }
        }
    }
    if order.status == OrderStatus::Cancelled && order.payment.is_some() && refunded != paid {
        problems.push(format!("cancelled after payment but only {refunded} of {paid} refunded"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use orders_shared::domain::{Actor, Money, PricingPolicy, Quantity, ReservedLine, SellerId, UserId};

    use super::*;

    fn product(reserved: i64, available: i64, on_hand: i64) -> Product {
        Product {
            product_id: Sku::parse("p").unwrap(),
            name: "P".into(),
            seller_id: SellerId::parse("s").unwrap(),
            price: Money::parse("1").unwrap(),
            description: None,
            image_url: None,
            on_hand,
            available,
            reserved,
            version: 1,
            price_version: 1,
            last_hold_at: None,
            stock_shards: Default::default(),
            shard_items: 1,
            shards: Vec::new(),
        }
    }

    fn awaiting_payment(now: DateTime<Utc>) -> (Order, Reservation) {
        let user = UserId::parse("u").unwrap();
        let pricing = PricingPolicy {
            currency: "USD".into(),
            tax_rate: Default::default(),
            shipping_fee: Money::ZERO,
        };
        let line = orders_shared::domain::OrderLine {
            item_id: orders_shared::domain::ItemId::parse("item-1").unwrap(),
            product_id: Sku::parse("p").unwrap(),
            name: "P".into(),
            seller_id: SellerId::parse("s").unwrap(),
            quantity: Quantity::new(2).unwrap(),
            unit_price: Money::parse("1").unwrap(),
            subtotal: Money::parse("2").unwrap(),
            price_version: 1,
            stock_takes: Vec::new(),
        };
        let mut order = Order::new(OrderId::new(), user, vec![line], &pricing, &Actor::system("t"), now).unwrap();
        order.reserve(&Actor::system("t"), now, now + Duration::minutes(15), None).unwrap();
        let mut reservation = Reservation::for_order(&order, now + Duration::minutes(15), now);
        reservation.lines = vec![ReservedLine {
            product_id: Sku::parse("p").unwrap(),
            quantity: Quantity::new(2).unwrap(),
            stock_takes: Vec::new(),
        }];
        (order, reservation)
    }

    #[test]
    fn a_status_change_the_bus_never_carried_is_reported_and_a_duplicate_is_not() {
        let now = Utc::now();
        let (placed, _) = awaiting_payment(now);
        let mut cancelled = placed.clone();
        cancelled
            .cancel(&Actor::system("t"), "CANCELLED_BY_REQUEST".into(), false, now)
            .unwrap();
        cancelled.version = 2;
        let mut received = events_of(None, &placed);
        received.extend(events_of(Some(&placed), &cancelled));
        received.push(received[0].clone());
        assert!(judge_events(std::slice::from_ref(&cancelled), &received).is_empty());
        received.retain(|event| event.name != EventName::OrderCancelled);
        let violations = judge_events(&[cancelled], &received);
        assert!(matches!(violations.as_slice(), [Violation::EventMismatch { .. }]), "{violations:?}");
    }

    #[test]
    fn a_paid_order_left_out_of_fulfilment_and_an_order_fulfilled_without_parts_are_reported() {
        let now = Utc::now();
        let (mut order, mut reservation) = awaiting_payment(now - Duration::hours(1));
        let payment = orders_shared::domain::Payment {
            reference: orders_shared::domain::PaymentReference::parse("p").unwrap(),
            amount: order.totals.total,
            received_at: now - Duration::minutes(30),
        };
        order.pay(payment, &Actor::system("t"), now - Duration::minutes(30)).unwrap();
        reservation.status = ReservationStatus::Converted;
        let reservations = HashMap::from([(order.id, reservation)]);
        let products = [product(0, 8, 8)];
        let stuck = judge(&products, &reservations, std::slice::from_ref(&order), Thresholds::default(), now);
        assert!(matches!(stuck.violations.as_slice(), [Violation::StuckPaid { .. }]), "{stuck}");
        let unchecked = Thresholds {
            awaiting_fulfilment: None,
            ..Thresholds::default()
        };
        assert!(judge(&products, &reservations, std::slice::from_ref(&order), unchecked, now).is_clean());

        order.status = OrderStatus::Processing;
        let partless = judge(&products, &reservations, std::slice::from_ref(&order), Thresholds::default(), now);
        assert!(
            matches!(partless.violations.as_slice(), [Violation::PartsMismatch { .. }]),
            "{partless}"
        );

        // Units restocked while their part still ships them all: phantom stock.
        order.status = OrderStatus::Paid;
        order
            .start_fulfilment(&Actor::system("t"), None, |_| Default::default(), now)
            .unwrap();
        assert!(judge(&products, &reservations, std::slice::from_ref(&order), unchecked, now).is_clean());
        let mut phantom = order.clone();
        let units = phantom.seller_parts[0].items.clone();
        phantom.refunds.push(orders_shared::domain::order::Refund {
            refund_id: orders_shared::domain::RefundId::parse("legacy").unwrap(),
            amount: Money::ZERO,
            lines: units.clone(),
            restocked: units,
            unshipped: Vec::new(),
            reason: "restocked before the rule".into(),
            actor: Actor::system("t"),
            status: orders_shared::domain::order::RefundStatus::Completed,
            provider_reference: None,
            provider_status: None,
            created_at: now,
            completed_at: Some(now),
        });
        let caught = judge(&products, &reservations, std::slice::from_ref(&phantom), unchecked, now);
        assert!(
            caught
                .violations
                .iter()
                .any(|violation| violation.to_string().contains("back in stock but only 0")),
            "{caught}"
        );
        // Taken out of the part as well, the same units are consistent; left in it, they are not.
        phantom.refunds[0].unshipped = phantom.refunds[0].restocked.clone();
        let still_in_part = judge(&products, &reservations, std::slice::from_ref(&phantom), unchecked, now);
        assert!(
            still_in_part
                .violations
                .iter()
                .any(|violation| matches!(violation, Violation::PartsMismatch { .. })),
            "{still_in_part}"
        );
    }

    #[test]
    fn a_consistent_store_has_no_violations() {
        let now = Utc::now();
        let (order, reservation) = awaiting_payment(now);
        let reservations = HashMap::from([(order.id, reservation)]);
        let report = judge(&[product(2, 8, 10)], &reservations, &[order], Thresholds::default(), now);
        assert!(report.is_clean(), "{report}");
    }

    #[test]
    fn broken_counters_mismatched_reservations_and_stuck_orders_are_all_reported() {
        let now = Utc::now();
        let (order, mut reservation) = awaiting_payment(now - Duration::hours(1));
        reservation.status = ReservationStatus::Converted;
        let orphan = Reservation {
            order_id: OrderId::new(),
            ..reservation.clone()
        };
        let reservations = HashMap::from([(order.id, reservation), (orphan.order_id, orphan)]);
        let report = judge(
            &[product(3, 8, 10), product(-1, 1, 0)],
            &reservations,
            std::slice::from_ref(&order),
            Thresholds::default(),
            now,
        );
        let kinds: Vec<String> = report
            .violations
            .iter()
            .map(|v| format!("{v:?}").split([' ', '{']).next().unwrap_or_default().to_owned())
            .collect();
        for expected in [
            "StockNotConserved",
            "NegativeCounter",
            "ReservedMismatch",
            "ReservationWithoutOrder",
            "ReservationStateMismatch",
            "Overdue",
        ] {
            assert!(kinds.iter().any(|k| k == expected), "{expected} missing from {kinds:?}");
        }
        let due = order.payment_due_at.unwrap();
        assert!(
            report.violations.contains(&Violation::Overdue { order: order.id, due }),
            "an overdue order is reported from its due time: {report}"
        );
    }
}
