//! Sales analytics: each domain event counted once into its day's figures, and the reports
//! read back from the days' sums (never from the orders themselves, never by a scan).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use futures::{stream, StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::analytics::{
    average_of, average_order_value, contribution, growth, money, rate, DayFigures, DayRange, Granularity, ProductFigures, SellerFigures,
    TOP_PRODUCTS,
};
use crate::domain::events::{DomainEvent, EventName};
use crate::domain::{SellerId, Sku, UserId};
use crate::ports::{Analytics, OrderLinks, OrderNotes, OrderStore, StoreError};
use crate::service::actions::{load, Access, ActionError};
use crate::service::App;

/// What counting an event works with.
#[derive(Clone, Copy)]
pub struct Counting<'a> {
    pub orders: &'a dyn OrderStore,
    /// The index of orders by product, kept as orders are counted.
    pub links: &'a dyn OrderLinks,
    pub analytics: &'a dyn Analytics,
    /// Staff notes, which go with the order's personal data.
    pub notes: &'a dyn OrderNotes,
}

impl App {
    pub fn counting(&self) -> Counting<'_> {
        Counting {
            orders: &*self.orders,
            links: &*self.links,
            analytics: &*self.analytics,
            notes: &*self.notes,
        }
    }
}

/// Days read at once by a report.
const PARALLEL_DAYS: usize = 8;

/// Counts one event into the figures, once: `false` when it was counted before or moves no
/// figure. The counter shard comes from the event id, so the same event always lands on the
/// same shard and different events spread over all of them.
pub async fn record_event(counting: Counting<'_>, event: &DomainEvent) -> Result<bool, ActionError> {
    // The order's personal data was erased: its staff notes, free text that may name the
    // customer, go too. Deleting them again changes nothing.
    if event.name == EventName::PersonalDataErased {
        let erased = counting.notes.erase_notes(event.order_id).await?;
        tracing::info!(erased, "staff notes erased with the order's personal data");
        return Ok(false);
    }
    let order = load(counting.orders, event.order_id, Access::Anyone).await?;
    // The admin's search by product reads an index kept here, off the request path: as the
    // order is placed (or refused) and once its lines are final, when it is paid.
    if matches!(event.name, EventName::OrderPlaced | EventName::OrderInvalid | EventName::OrderPaid) {
        counting.links.link_products(&order).await?;
    }
    let added = contribution(event, &order);
    let digest = Sha256::digest(event.event_id.as_bytes());
    let shard = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    Ok(counting.analytics.record_contribution(&event.event_id, &added, shard).await?)
}

/// One day of the daily report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyRow {
    pub date: NaiveDate,
    pub placed: i64,
    pub paid: i64,
    pub cancelled: i64,
    pub invalid: i64,
    pub expired: i64,
    pub revenue: Decimal,
    pub refunds: Decimal,
    /// Payments paid back because they arrived after their order could no longer be paid.
    pub late_refunds: Decimal,
    /// Average order value: revenue over paid orders.
    pub aov: Decimal,
}

impl DailyRow {
    fn of(date: NaiveDate, figures: &DayFigures) -> Self {
        Self {
            date,
            placed: figures.placed,
            paid: figures.paid,
            cancelled: figures.cancelled,
            invalid: figures.invalid,
            expired: figures.expired,
            revenue: money(figures.revenue),
            refunds: money(figures.refunds),
            late_refunds: money(figures.late_refunds),
            aov: average_order_value(figures),
        }
    }
}

pub async fn daily(analytics: &dyn Analytics, range: DayRange) -> Result<Vec<DailyRow>, StoreError> {
    let days: Vec<NaiveDate> = range.days().collect();
    let figures = analytics.day_figures(&days).await?;
    Ok(figures.iter().map(|(date, figures)| DailyRow::of(*date, figures)).collect())
}

/// Gross, refunded and net money of a period or a seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetRevenue {
    pub gross: Decimal,
    pub refunded: Decimal,
    pub net: Decimal,
}

impl NetRevenue {
    fn of(gross: i64, refunded: i64) -> Self {
        Self {
            gross: money(gross),
            refunded: money(refunded),
            net: money(gross - refunded),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevenuePeriod {
    /// The first day of the period (a Monday for weeks, the 1st for months).
    pub period: NaiveDate,
    pub orders: i64,
    #[serde(flatten)]
    pub money: NetRevenue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SellerRevenue {
    pub seller_id: SellerId,
    pub orders: i64,
    pub units: i64,
    #[serde(flatten)]
    pub money: NetRevenue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevenueReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    #[serde(flatten)]
    pub total: NetRevenue,
    pub periods: Vec<RevenuePeriod>,
    pub sellers: Vec<SellerRevenue>,
}

/// Every day's figures of something, read a few days at a time.
async fn per_day<T, F, Fut>(range: DayRange, read: F) -> Result<Vec<(NaiveDate, T)>, StoreError>
where
    F: Fn(NaiveDate) -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    stream::iter(range.days())
        .map(|day| {
            let read = read(day);
            async move { read.await.map(|figures| (day, figures)) }
        })
        .buffered(PARALLEL_DAYS)
        .try_collect()
        .await
}

async fn sellers_over(analytics: &dyn Analytics, range: DayRange) -> Result<BTreeMap<SellerId, SellerFigures>, StoreError> {
    let mut sellers: BTreeMap<SellerId, SellerFigures> = BTreeMap::new();
    for (_, day) in per_day(range, |day| analytics.seller_figures(day)).await? {
        for (seller, figures) in day {
            sellers.entry(seller).or_default().add(&figures);
        }
    }
    Ok(sellers)
}

pub async fn revenue(analytics: &dyn Analytics, range: DayRange, granularity: Granularity) -> Result<RevenueReport, StoreError> {
    let days: Vec<NaiveDate> = range.days().collect();
    let figures = analytics.day_figures(&days).await?;
    let mut periods: BTreeMap<NaiveDate, DayFigures> = BTreeMap::new();
    let mut total = DayFigures::default();
    for (day, figures) in &figures {
        periods.entry(granularity.period_of(*day)).or_default().add(figures);
        total.add(figures);
    }
    let sellers = sellers_over(analytics, range).await?;
    Ok(RevenueReport {
        from: range.from,
        to: range.to,
        granularity,
        total: NetRevenue::of(total.revenue, total.refunds),
        periods: periods
            .into_iter()
            .map(|(period, figures)| RevenuePeriod {
                period,
                orders: figures.paid,
                money: NetRevenue::of(figures.revenue, figures.refunds),
            })
            .collect(),
        sellers: sellers
            .into_iter()
            .map(|(seller_id, figures)| SellerRevenue {
                seller_id,
                orders: figures.orders,
                units: figures.units,
                money: NetRevenue::of(figures.revenue, figures.refunds),
            })
            .collect(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodSummary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub placed: i64,
    pub paid: i64,
    pub revenue: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Growth {
    pub placed: Option<Decimal>,
    pub paid: Option<Decimal>,
    pub revenue: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopProduct {
    pub product_id: Sku,
    pub units: i64,
    pub revenue: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrendsReport {
    pub current: PeriodSummary,
    pub previous: PeriodSummary,
    /// The change from the previous period of the same length, as a fraction (`null` from zero).
    pub growth: Growth,
    pub top_products_by_units: Vec<TopProduct>,
    pub top_products_by_revenue: Vec<TopProduct>,
    /// Cancelled by request over placed.
    pub cancellation_rate: Decimal,
    /// Paid over placed: how many reservations became sales.
    pub conversion_rate: Decimal,
    /// Expired unpaid over placed.
    pub expiry_rate: Decimal,
}

fn summed(figures: &BTreeMap<NaiveDate, DayFigures>) -> DayFigures {
    let mut total = DayFigures::default();
    for day in figures.values() {
        total.add(day);
    }
    total
}

pub async fn trends(analytics: &dyn Analytics, range: DayRange) -> Result<TrendsReport, StoreError> {
    let previous_range = range.previous();
    let current_days: Vec<NaiveDate> = range.days().collect();
    let previous_days: Vec<NaiveDate> = previous_range.days().collect();
    let current = summed(&analytics.day_figures(&current_days).await?);
    let previous = summed(&analytics.day_figures(&previous_days).await?);
    let mut products: BTreeMap<Sku, ProductFigures> = BTreeMap::new();
    for (_, day) in per_day(range, |day| analytics.product_figures(day)).await? {
        for (sku, figures) in day {
            let entry = products.entry(sku).or_default();
            entry.units += figures.units;
            entry.revenue += figures.revenue;
        }
    }
    let ranked = |key: fn(&ProductFigures) -> i64| {
        let mut ranked: Vec<(&Sku, &ProductFigures)> = products.iter().collect();
        ranked.sort_by(|a, b| key(b.1).cmp(&key(a.1)).then_with(|| a.0.cmp(b.0)));
        ranked
            .into_iter()
            .take(TOP_PRODUCTS)
            .map(|(sku, figures)| TopProduct {
                product_id: sku.clone(),
                units: figures.units,
                revenue: money(figures.revenue),
            })
            .collect::<Vec<_>>()
    };
    let summary = |range: DayRange, figures: &DayFigures| PeriodSummary {
        from: range.from,
        to: range.to,
        placed: figures.placed,
        paid: figures.paid,
        revenue: money(figures.revenue),
    };
    Ok(TrendsReport {
        current: summary(range, &current),
        previous: summary(previous_range, &previous),
        growth: Growth {
            placed: growth(current.placed, previous.placed),
            paid: growth(current.paid, previous.paid),
            revenue: growth(current.revenue, previous.revenue),
        },
        top_products_by_units: ranked(|figures| figures.units),
        top_products_by_revenue: ranked(|figures| figures.revenue),
        cancellation_rate: rate(current.cancelled, current.placed),
        conversion_rate: rate(current.paid, current.placed),
        expiry_rate: rate(current.expired, current.placed),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SellerDay {
    pub date: NaiveDate,
    pub orders: i64,
    pub units: i64,
    #[serde(flatten)]
    pub money: NetRevenue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SellerReport {
    pub seller_id: SellerId,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub orders: i64,
    pub units: i64,
    #[serde(flatten)]
    pub total: NetRevenue,
    pub days: Vec<SellerDay>,
}

pub async fn seller(analytics: &dyn Analytics, seller: &SellerId, range: DayRange) -> Result<SellerReport, StoreError> {
    let mut total = SellerFigures::default();
    let mut days = Vec::new();
    for (date, mut figures) in per_day(range, |day| analytics.seller_figures(day)).await? {
        let own = figures.remove(seller).unwrap_or_default();
        total.add(&own);
        days.push(SellerDay {
            date,
            orders: own.orders,
            units: own.units,
            money: NetRevenue::of(own.revenue, own.refunds),
        });
    }
    Ok(SellerReport {
        seller_id: seller.clone(),
        from: range.from,
        to: range.to,
        orders: total.orders,
        units: total.units,
        total: NetRevenue::of(total.revenue, total.refunds),
        days,
    })
}

/// A customer's figures over all their orders (seed 004's customer statistics).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerReport {
    pub user_id: UserId,
    pub orders: i64,
    pub paid_orders: i64,
    pub spent: Decimal,
    pub refunded: Decimal,
    /// What they spent less what was paid back.
    pub net: Decimal,
    /// What a paid order cost them on average.
    pub average_order: Decimal,
    pub last_order_at: Option<DateTime<Utc>>,
    pub currency: String,
}

pub async fn customer(analytics: &dyn Analytics, user: &UserId, currency: &str) -> Result<CustomerReport, StoreError> {
    let (figures, last_order_at) = analytics.customer_figures(user).await?;
    Ok(CustomerReport {
        user_id: user.clone(),
        orders: figures.orders,
        paid_orders: figures.paid_orders,
        spent: money(figures.spent),
        refunded: money(figures.refunded),
        net: money(figures.spent - figures.refunded),
        average_order: average_of(figures.spent, figures.paid_orders),
        last_order_at,
        currency: currency.to_owned(),
    })
}
