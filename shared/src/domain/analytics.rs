//! Sales analytics, maintained from the domain events: what each event adds to the figures of
//! its UTC day (the shop's, each seller's, each product's), and the reports read back from the
//! days' sums. Money is counted in minor units (cents), never through floating point.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::events::{DomainEvent, EventName};
use super::ids::{SellerId, Sku, UserId};
use super::money::Money;
use super::order::Order;
use super::order::PartItem;

/// The longest range one report reads (a quarter): bounded work per request.
pub const MAX_RANGE_DAYS: i64 = 92;
/// How many products the trends report ranks.
pub const TOP_PRODUCTS: usize = 10;

/// The shop's figures of one day (or a sum of days).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    pub placed: i64,
    pub paid: i64,
    pub cancelled: i64,
    pub invalid: i64,
    pub expired: i64,
    /// Minor units: the paid orders' totals (cash collected, for cash on delivery).
    pub revenue: i64,
    /// Minor units: money paid back.
    pub refunds: i64,
    /// Minor units: payments paid back because they arrived after their order could no longer
    /// be paid (never revenue, so apart from `refunds`).
    #[serde(default)]
    pub late_refunds: i64,
}

impl DayFigures {
    pub fn add(&mut self, other: &DayFigures) {
        self.placed += other.placed;
        self.paid += other.paid;
        self.cancelled += other.cancelled;
        self.invalid += other.invalid;
        self.expired += other.expired;
        self.revenue += other.revenue;
        self.refunds += other.refunds;
        self.late_refunds += other.late_refunds;
    }
}

/// One seller's figures of one day (or a sum of days).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerFigures {
    /// Paid orders holding the seller's lines.
    pub orders: i64,
    pub units: i64,
    /// Minor units: the seller's lines' subtotals of paid orders.
    pub revenue: i64,
    /// Minor units: the value of the seller's lines paid back.
    pub refunds: i64,
}

impl SellerFigures {
    pub fn add(&mut self, other: &SellerFigures) {
        self.orders += other.orders;
        self.units += other.units;
        self.revenue += other.revenue;
        self.refunds += other.refunds;
    }
}

/// One product's sales of one day (or a sum of days).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFigures {
    pub units: i64,
    /// Minor units.
    pub revenue: i64,
}

/// A customer's figures over all their orders, kept as counters as their orders change (their
/// history can pass what one request may read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerFigures {
    /// Orders placed (not those refused at placement).
    pub orders: i64,
    pub paid_orders: i64,
    /// Minor units: what their paid orders cost (the cash collected, for cash on delivery).
    pub spent: i64,
    /// Minor units: what was paid back to them.
    pub refunded: i64,
}

/// What one event adds to the figures of its day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contribution {
    pub day: Option<NaiveDate>,
    pub shop: DayFigures,
    pub sellers: BTreeMap<SellerId, SellerFigures>,
    pub products: BTreeMap<Sku, ProductFigures>,
    /// What it adds to its customer's figures.
    pub customer: Option<(UserId, CustomerFigures)>,
    /// When the customer placed the order, for an order placed.
    pub ordered_at: Option<DateTime<Utc>>,
}

impl Contribution {
    pub fn is_empty(&self) -> bool {
        self.shop == DayFigures::default() && self.sellers.is_empty() && self.products.is_empty() && self.customer.is_none()
    }
}

fn cents(amount: Money) -> i64 {
    i64::try_from(amount.minor_units()).unwrap_or(i64::MAX)
}

/// What `event` adds, given its order as it stands (lines and refunds never change once paid,
/// so a late read gives the same answer). Events that move no figure add nothing.
pub fn contribution(event: &DomainEvent, order: &Order) -> Contribution {
    let mut added = Contribution {
        day: Some(event.occurred_at.date_naive()),
        ..Contribution::default()
    };
    match event.name {
        EventName::OrderPlaced => added.shop.placed = 1,
        EventName::OrderInvalid => added.shop.invalid = 1,
        EventName::OrderCancelled => added.shop.cancelled = 1,
        EventName::ReservationExpired => added.shop.expired = 1,
        EventName::OrderPaid => {
            added.shop.paid = 1;
            added.shop.revenue = cents(event.total);
            add_sales(&mut added, order, |_| 0);
        }
        EventName::PaymentCollected => {
            // Cash collected at the door, for the lines that were not given back before.
            added.shop.paid = 1;
            added.shop.revenue = cents(event.amount.unwrap_or(event.total));
            add_sales(&mut added, order, |item| order.units_refunded(item));
        }
        EventName::OrderRefunded => {
            let amount = event.amount.unwrap_or_default();
            added.shop.refunds = cents(amount);
            let refund = order
                .refunds
                .iter()
                .find(|refund| Some(&refund.refund_id) == event.refund_id.as_ref());
            // Lines given back before anything was paid (cash on delivery) were never revenue.
            if let Some(refund) = refund.filter(|refund| refund.amount > Money::ZERO) {
                add_refunded_lines(&mut added, order, &refund.lines);
            }
        }
        EventName::LatePaymentRefunded => added.shop.late_refunds = cents(event.amount.unwrap_or(event.total)),
        _ => {}
    }
    let customer = CustomerFigures {
        orders: added.shop.placed,
        paid_orders: added.shop.paid,
        spent: added.shop.revenue,
        refunded: added.shop.refunds,
    };
    if customer != CustomerFigures::default() {
        added.customer = Some((order.user_id.clone(), customer));
    }
    if event.name == EventName::OrderPlaced {
        added.ordered_at = Some(event.occurred_at);
    }
    added
}

/// Each seller's and product's share of a paid order: its lines, less `given_back` units.
fn add_sales(added: &mut Contribution, order: &Order, given_back: impl Fn(&super::ids::ItemId) -> u32) {
    for line in &order.items {
        let units = line.quantity.get().saturating_sub(given_back(&line.item_id));
        if units == 0 {
            continue;
        }
        let revenue = cents(line.unit_price) * i64::from(units);
        let seller = added.sellers.entry(line.seller_id.clone()).or_default();
        seller.units += i64::from(units);
        seller.revenue += revenue;
        let product = added.products.entry(line.product_id.clone()).or_default();
        product.units += i64::from(units);
        product.revenue += revenue;
    }
    for seller in added.sellers.values_mut() {
        seller.orders = 1;
    }
}

fn add_refunded_lines(added: &mut Contribution, order: &Order, lines: &[PartItem]) {
    for unit in lines {
        if let Some(line) = order.items.iter().find(|line| line.item_id == unit.item_id) {
            added.sellers.entry(line.seller_id.clone()).or_default().refunds += cents(order.value_of(std::slice::from_ref(unit)));
        }
    }
}

/// A range of UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("from must not be after to")]
    Reversed,
    #[error("a report covers at most {MAX_RANGE_DAYS} days")]
    TooLong,
    #[error("{field} must be a day from 1970-01-01 to 9999-12-31")]
    OutOfBounds { field: &'static str },
}

/// The first day a report may name: before any shop's history.
pub fn earliest_day() -> NaiveDate {
    chrono::DateTime::UNIX_EPOCH.date_naive()
}

/// The last day a report may name: far enough from chrono's limits that every range, its
/// previous period and its weeks and months stay computable.
pub fn latest_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX)
}

impl DayRange {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, RangeError> {
        let bounds = earliest_day()..=latest_day();
        for (field, day) in [("to", to), ("from", from)] {
            if !bounds.contains(&day) {
                return Err(RangeError::OutOfBounds { field });
            }
        }
        if from > to {
            return Err(RangeError::Reversed);
        }
        if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
            return Err(RangeError::TooLong);
        }
        Ok(Self { from, to })
    }

    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let (from, count) = (self.from, (self.to - self.from).num_days() + 1);
        (0..count).map_while(move |n| from.checked_add_signed(Duration::days(n)))
    }

    /// The range of the same length just before this one (cut at the calendar's first day).
    pub fn previous(&self) -> Self {
        let length = (self.to - self.from).num_days() + 1;
        let before = |days: i64| self.from.checked_sub_signed(Duration::days(days)).unwrap_or(NaiveDate::MIN);
        Self {
            from: before(length),
            to: before(1),
        }
    }
}

/// How revenue is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Day,
    /// ISO weeks, starting on Monday.
    Week,
    Month,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            _ => None,
        }
    }

    /// The first day of the period `day` falls in.
    pub fn period_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => day,
            Self::Week => day
                .checked_sub_signed(Duration::days(i64::from(day.weekday().num_days_from_monday())))
                .unwrap_or(day),
            Self::Month => day.with_day(1).unwrap_or(day),
        }
    }
}

/// Minor units as a decimal amount (`1234` -> `12.34`).
pub fn money(minor: i64) -> Decimal {
    Decimal::new(minor, 2)
}

/// `part / whole`, rounded to four places; 0 when there is no whole.
pub fn rate(part: i64, whole: i64) -> Decimal {
    if whole == 0 {
        return four_places(Decimal::ZERO);
    }
    four_places(Decimal::from(part) / Decimal::from(whole))
}

/// The change from `before` to `now` as a fraction (0.25 for +25 %); `None` from nothing.
pub fn growth(now: i64, before: i64) -> Option<Decimal> {
    (before != 0).then(|| four_places(Decimal::from(now - before) / Decimal::from(before)))
}

/// Rounded and shown to four places, whatever the division left.
fn four_places(value: Decimal) -> Decimal {
    let mut value = value.round_dp(4);
    value.rescale(4);
    value
}

/// Average order value: revenue over paid orders, rounded half away from zero to the cent.
pub fn average_order_value(figures: &DayFigures) -> Decimal {
    average_of(figures.revenue, figures.paid)
}

/// `total` (minor units) over `count`, to the cent; 0 over none.
pub fn average_of(total: i64, count: i64) -> Decimal {
    let mut average = if count == 0 {
        Decimal::ZERO
    } else {
        (money(total) / Decimal::from(count)).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    average.rescale(2);
    average
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::actor::Actor;
    use crate::domain::events::events_of;
    use crate::domain::order::tests::awaiting_payment;
    use crate::domain::order::Payment;
    use crate::domain::PaymentReference;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_paid_order_adds_its_total_to_revenue_and_its_lines_to_its_sellers_and_products() {
        let mut order = awaiting_payment("12.00");
        let placed = events_of(None, &order);
        assert_eq!(contribution(&placed[0], &order).shop.placed, 1);
        let before = order.clone();
        let payment = Payment {
            reference: PaymentReference::parse("p").unwrap(),
            amount: order.totals.total,
            received_at: Utc::now(),
        };
        order.pay(payment, &Actor::system("t"), Utc::now()).unwrap();
        order.version += 1;
        let paid = events_of(Some(&before), &order);
        let added = contribution(&paid[0], &order);
        assert_eq!((added.shop.paid, added.shop.revenue), (1, 1200));
        let seller = added.sellers.values().next().unwrap();
        assert_eq!((seller.orders, seller.units, seller.revenue), (1, 1, 1200));
        assert_eq!(added.products.values().next().unwrap().revenue, 1200);
    }

    #[test]
    fn ranges_are_bounded_and_periods_start_on_mondays_and_firsts() {
        assert_eq!(DayRange::new(day("2026-11-02"), day("2026-11-01")), Err(RangeError::Reversed));
        assert_eq!(
            DayRange::new(NaiveDate::MIN, day("2026-11-01")),
            Err(RangeError::OutOfBounds { field: "from" })
        );
        assert_eq!(
            DayRange::new(day("2026-11-01"), NaiveDate::MAX),
            Err(RangeError::OutOfBounds { field: "to" })
        );
        assert_eq!(DayRange::new(day("2026-01-01"), day("2026-06-01")), Err(RangeError::TooLong));
        let range = DayRange::new(day("2026-11-20"), day("2026-11-24")).unwrap();
        assert_eq!(range.days().count(), 5);
        assert_eq!(range.previous(), DayRange::new(day("2026-11-15"), day("2026-11-19")).unwrap());
        assert_eq!(Granularity::Week.period_of(day("2026-11-26")), day("2026-11-23"));
        assert_eq!(Granularity::Month.period_of(day("2026-11-26")), day("2026-11-01"));
    }

    proptest! {
        /// Any two days chrono can name (its extremes included) make a range or a refusal, and
        /// every range's days, previous period, weeks and months are computed without a panic.
        #[test]
        fn any_pair_of_days_makes_a_range_or_a_refusal_and_nothing_panics(
            from in prop_oneof![
                Just(NaiveDate::MIN),
                Just(NaiveDate::MAX),
                (NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce()).prop_map(|n| NaiveDate::from_num_days_from_ce_opt(n).unwrap()),
                (earliest_day().num_days_from_ce()..=latest_day().num_days_from_ce()).prop_map(|n| NaiveDate::from_num_days_from_ce_opt(n).unwrap()),
            ],
            length in -5i64..120,
        ) {
            let to = from.checked_add_signed(Duration::days(length)).unwrap_or(from);
            match DayRange::new(from, to) {
                Ok(range) => {
                    prop_assert!(range.from >= earliest_day() && range.to <= latest_day());
                    prop_assert_eq!(range.days().count() as i64, (range.to - range.from).num_days() + 1);
                    let previous = range.previous();
                    prop_assert!(previous.to < range.from);
                    for granularity in [Granularity::Day, Granularity::Week, Granularity::Month] {
                        prop_assert!(granularity.period_of(range.to) <= range.to);
                    }
                }
                Err(RangeError::OutOfBounds { .. }) => prop_assert!(from < earliest_day() || from > latest_day() || to < earliest_day() || to > latest_day()),
                Err(_) => {}
            }
        }
    }

    #[test]
    fn rates_and_growth_are_exact_decimals_and_nothing_divides_by_zero() {
        assert_eq!(rate(1, 3).to_string(), "0.3333");
        assert_eq!(rate(1, 0).to_string(), "0.0000");
        assert_eq!(growth(150, 100).map(|g| g.to_string()), Some("0.5000".into()));
        assert_eq!(growth(5, 0), None);
        let figures = DayFigures {
            paid: 3,
            revenue: 1000,
            ..DayFigures::default()
        };
        assert_eq!(average_order_value(&figures).to_string(), "3.33");
        assert_eq!(average_order_value(&DayFigures::default()).to_string(), "0.00");
        let one = DayFigures {
            paid: 1,
            revenue: 1200,
            ..DayFigures::default()
        };
        assert_eq!(average_order_value(&one).to_string(), "12.00");
    }
}
