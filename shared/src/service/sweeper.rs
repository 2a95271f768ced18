//! The sweeper, run every minute by an EventBridge schedule: it cancels orders whose payment
//! deadline passed (releasing their stock), re-drives orders stuck in PENDING_RESERVING_STOCK,
//! erases closed orders' personal data at the end of its retention period, and checks the stock
//! counters of every product it touched. It finds its work through sparse,
//! sharded indexes, never a scan; overlapping runs are safe because every write is conditional.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use tracing::Instrument;

use crate::domain::{Actor, Order, OrderId, Reservation, ReservationStatus, Sku};
use crate::metrics;
use crate::ports::{Catalogue, ReservationStore, SagaQueue, StoreError};
use crate::service::actions::{cancel_order, Access, ActionError, CancelReason};
use crate::service::payments::{settle_unanswered, Applied, ProviderReports};
use crate::service::privacy::erase_expired_personal_data;
use crate::service::{App, OrderChanges};

/// What a sweep works with.
#[derive(Clone, Copy)]
pub struct Sweeping<'a> {
    pub changes: OrderChanges<'a>,
    pub reservations: &'a dyn ReservationStore,
    pub catalogue: &'a dyn Catalogue,
    /// Re-drives the orders stuck in PENDING_RESERVING_STOCK.
    pub saga: &'a dyn SagaQueue,
    /// How long an order may wait in PENDING_RESERVING_STOCK before it is re-driven.
    pub stuck_after: Duration,
    /// How long a closed order keeps the customer's personal data.
    pub personal_data_retention: Duration,
    /// Settles the payments whose webhook never came.
    pub reports: ProviderReports<'a>,
}

/// What reconciling stock counters with the reservations reads.
#[derive(Clone, Copy)]
pub struct StockCheck<'a> {
    pub catalogue: &'a dyn Catalogue,
    pub reservations: &'a dyn ReservationStore,
    pub clock: &'a dyn crate::ports::Clock,
}

impl App {
    pub fn sweeping(&self) -> Sweeping<'_> {
        Sweeping {
            changes: self.order_changes(),
            reservations: &*self.reservations,
            catalogue: &*self.catalogue,
            saga: &*self.saga,
            stuck_after: self.stuck_after,
            personal_data_retention: self.personal_data_retention,
            reports: self.provider_reports(),
        }
    }
}

impl Sweeping<'_> {
    fn stock_check(&self) -> StockCheck<'_> {
        StockCheck {
            catalogue: self.catalogue,
            reservations: self.reservations,
            clock: self.changes.clock,
        }
    }
}

/// Most reservations (and stuck orders) one run handles; the next run takes the rest.
pub const BATCH: usize = 2_000;
/// Orders settled at once.
const CONCURRENCY: usize = 16;
/// Most of one run's time; the function's 60 s timeout leaves room for the rest of the run.
const TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(40);
/// Most closed orders whose personal data one run erases (a minute's share of a busy shop's
/// closures); the next run takes the rest.
const RETENTION_BATCH: usize = 500;
/// Most products one run reconciles.
const RECONCILE_PRODUCTS: usize = 200;
/// Most index entries of ACTIVE reservations one reconciliation reads.
const RECONCILE_READS: usize = 20_000;
/// How long after a hold the sweeper trusts the reservation index to list it (index
/// propagation is typically well under a second).
const INDEX_SETTLE: Duration = Duration::seconds(30);
pub const SWEEPER: &str = "sweeper";
/// How long a refund may wait for its own `OrderRefunded` message (sent within seconds, retried
/// for minutes) before the sweeper sends its order to the refund step again: its message died.
const REFUND_REDRIVE_AFTER: Duration = Duration::minutes(15);
/// How long a started payment may go without the provider's webhook (which comes within
/// seconds) before the sweeper asks the provider itself.
pub const PAYMENT_ANSWER_WAIT: Duration = Duration::minutes(3);
/// Most payments one run asks the provider about (a provider call each).
const PAYMENT_CHECKS: usize = 200;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Orders cancelled because their payment deadline passed.
    pub expired: usize,
    /// Orders stuck in PENDING_RESERVING_STOCK handed to the queue again.
    pub redriven: usize,
    /// Orders owing refunds handed to the refund step: late payments at once, other refunds
    /// once their own message is overdue.
    pub refunds_redriven: usize,
    pub checked_products: usize,
    /// Available units moved between the shards of sharded products.
    pub rebalanced_units: i64,
    /// Drained shard items removed.
    pub shards_removed: usize,
    /// Closed orders whose personal data the retention period erased.
    pub personal_data_erased: usize,
    /// Unpaid orders settled from what the provider holds, their webhook having never come.
    pub payments_settled: usize,
    pub drift: Vec<Drift>,
    pub failures: usize,
}

/// A product whose counters break the stock invariants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub product_id: Sku,
    pub on_hand: i64,
    pub available: i64,
    pub reserved: i64,
    /// What the ACTIVE reservations add up to.
    pub reserved_by_reservations: i64,
}

pub async fn sweep(sweeping: Sweeping<'_>) -> Result<SweepReport, StoreError> {
    let changes = sweeping.changes;
    let now = changes.clock.now();
    let mut report = SweepReport::default();
    let actor = Actor::system(SWEEPER);
    let started = std::time::Instant::now();
    let within_budget = || started.elapsed() < TIME_BUDGET;

    // Page through everything due: an expired reservation leaves the index, so each read starts
    // where the last ended. Stop when a batch settles nothing (only failures are left) or the
    // run's time budget is spent, checked before each order; the next run picks up the rest.
    let mut touched = BTreeSet::new();
    while within_budget() {
        let due = sweeping.reservations.active_reservations(Some(now), BATCH).await?;
        touched.extend(due.iter().flat_map(|r| r.lines.iter().map(|line| line.product_id.clone())));
        let ids: Vec<OrderId> = due.iter().map(|reservation| reservation.order_id).collect();
        let batch = ids.len();
        let outcomes: Vec<_> = stream::iter(ids)
            .map(|id| {
                let actor = &actor;
                async move {
                    // Past the budget, the rest of the batch is left for the next run.
                    if started.elapsed() < TIME_BUDGET {
                        Some(expire(changes, id, actor).await)
                    } else {
                        None
                    }
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let expired_before = report.expired;
        for outcome in outcomes.into_iter().flatten() {
            match outcome {
                Ok((_, true)) => report.expired += 1,
                Ok((_, false)) => {}
                Err(err) => {
                    report.failures += 1;
                    tracing::error!(error = %crate::error_chain(&err), "could not expire an order");
                }
            }
        }
        if batch < BATCH || report.expired == expired_before {
            break;
        }
    }

    if within_budget() {
        let stuck = changes.orders.orders_stuck_reserving(now - sweeping.stuck_after, BATCH).await?;
        match sweeping.saga.request_reservations(&stuck).await {
            Ok(failed) => {
                report.redriven += stuck.len() - failed.len();
                report.failures += failed.len();
                for id in failed {
                    tracing::error!(order_id = %id, "could not re-drive a stuck order");
                }
            }
            Err(err) => {
                report.failures += stuck.len();
                tracing::error!(error = %crate::error_chain(&err), "could not re-drive the stuck orders");
            }
        }
    }

    if within_budget() {
        redrive_refunds(sweeping, now, &mut report).await?;
    }

    if within_budget() {
        settle_unanswered_payments(sweeping, now, &actor, &mut report).await?;
    }

    if within_budget() {
        let (erased, failed) = erase_expired_personal_data(changes, sweeping.personal_data_retention, RETENTION_BATCH, &actor).await?;
        report.personal_data_erased = erased;
        report.failures += failed;
    }

    if within_budget() {
        rebalance(sweeping, &actor, &mut report).await;
    }

    if within_budget() {
        let checked: BTreeSet<Sku> = touched.into_iter().take(RECONCILE_PRODUCTS).collect();
        report.checked_products = checked.len();
        report.drift = reconcile(sweeping.stock_check(), &checked).await?;
    }
    for drift in &report.drift {
        tracing::error!(?drift, "stock counters drifted from the reservations");
        metrics::count("StockDrift", 1, &[("product_id", drift.product_id.as_str())]);
        if drift.on_hand < 0 || drift.available < 0 || drift.reserved < 0 {
            metrics::count("NegativeStock", 1, &[("product_id", drift.product_id.as_str())]);
        }
    }
    metrics::count("OrdersExpired", report.expired, &[]);
    metrics::count("OrdersRedriven", report.redriven, &[]);
    metrics::count("RefundsRedriven", report.refunds_redriven, &[]);
    metrics::count("PersonalDataErased", report.personal_data_erased, &[]);
    metrics::count("PaymentsSettledBySweeper", report.payments_settled, &[]);
    tracing::info!(
        expired = report.expired,
        redriven = report.redriven,
        checked = report.checked_products,
        rebalanced_units = report.rebalanced_units,
        failures = report.failures,
        "sweep done"
    );
    Ok(report)
}

/// Hands the refund step the orders owing refunds the provider has not paid: a late payment at
/// once (nothing else pays it back), another refund once its own message is overdue. The step
/// pays each once whoever asks, so an early or repeated request costs only a read.
async fn redrive_refunds(sweeping: Sweeping<'_>, now: chrono::DateTime<chrono::Utc>, report: &mut SweepReport) -> Result<(), StoreError> {
    let owed = sweeping.changes.orders.refunds_owed(BATCH).await?;
    let mut orders: Vec<OrderId> = owed
        .iter()
        .filter(|owed| owed.late_payment || owed.since <= now - REFUND_REDRIVE_AFTER)
        .map(|owed| owed.order_id)
        .collect();
    orders.sort();
    orders.dedup();
    if orders.is_empty() {
        return Ok(());
    }
    match sweeping.saga.request_refunds(&orders).await {
        Ok(failed) => {
            report.refunds_redriven += orders.len() - failed.len();
            report.failures += failed.len();
        }
        Err(err) => {
            report.failures += orders.len();
            tracing::error!(error = %crate::error_chain(&err), "could not hand the refunds owed to the refund step");
        }
    }
    Ok(())
}

/// Asks the provider about the payments it has not answered for `PAYMENT_ANSWER_WAIT` (its
/// webhook was lost, or the endpoint was down past its retries), and settles each from what it
/// holds. A failure is counted and left for the next run.
async fn settle_unanswered_payments(
    sweeping: Sweeping<'_>,
    now: chrono::DateTime<chrono::Utc>,
    actor: &Actor,
    report: &mut SweepReport,
) -> Result<(), StoreError> {
    let unanswered = sweeping
        .changes
        .orders
        .payments_unanswered(now - PAYMENT_ANSWER_WAIT, PAYMENT_CHECKS)
        .await?;
    let outcomes: Vec<_> = stream::iter(unanswered)
        .map(|id| async move { (id, settle_unanswered(sweeping.reports, id, actor).await) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (id, outcome) in outcomes {
        match outcome {
            Ok(Applied::Unchanged) => {}
            Ok(applied) => {
                report.payments_settled += 1;
                tracing::warn!(order_id = %id, outcome = applied.outcome(), "payment settled from Stripe: its webhook never came");
            }
            Err(err) => {
                report.failures += 1;
                tracing::error!(order_id = %id, error = %crate::error_chain(&err), "could not ask the provider about a payment");
            }
        }
    }
    Ok(())
}

/// Evens out the shards of every sharded product (their holds drift apart as a rush picks shards
/// at random) and removes drained shards. A failure is counted and left for the next run.
async fn rebalance(sweeping: Sweeping<'_>, actor: &Actor, report: &mut SweepReport) {
    let sharded = match sweeping.catalogue.sharded_products().await {
        Ok(sharded) => sharded,
        Err(err) => {
            report.failures += 1;
            tracing::error!(error = %crate::error_chain(&err), "could not list the sharded products");
            return;
        }
    };
    for sku in sharded.iter().take(RECONCILE_PRODUCTS) {
        match sweeping.catalogue.rebalance_stock(sku, actor, sweeping.changes.clock.now()).await {
            Ok(step) => {
                report.rebalanced_units += step.units_moved;
                report.shards_removed += step.shards_removed;
            }
            Err(err) => {
                report.failures += 1;
                tracing::error!(product_id = %sku, error = %crate::error_chain(&err), "could not rebalance a product's shards");
            }
        }
    }
}

async fn expire(changes: OrderChanges<'_>, id: OrderId, actor: &Actor) -> Result<(Order, bool), ActionError> {
    let span = tracing::info_span!("expire", order_id = %id);
    cancel_order(changes, id, Access::Anyone, actor, CancelReason::PaymentTimeout)
        .instrument(span)
        .await
}

/// Checks `on_hand = available + reserved`, nothing negative, and `reserved` equal to the units
/// of ACTIVE reservations, for each product; reports only drift confirmed by strongly
/// consistent reads. The index of ACTIVE reservations is eventually consistent: it may still
/// list a reservation just settled (each one it lists is read again by key, consistently), and
/// it may not yet list one just made (a shortfall counts only once the product's last hold is
/// `INDEX_SETTLE` old). A product that changes during the check is left for the next run.
/// Bounded: at most `RECONCILE_READS` index entries are read, and only sums per product are kept.
pub async fn reconcile(check: StockCheck<'_>, products: &BTreeSet<Sku>) -> Result<Vec<Drift>, StoreError> {
    if products.is_empty() {
        return Ok(Vec::new());
    }
    let skus: Vec<Sku> = products.iter().cloned().collect();
    let before = check.catalogue.get_products(&skus).await?;
    let listed = check.reservations.active_reservations(None, RECONCILE_READS).await?;
    let complete = listed.len() < RECONCILE_READS;
    let mut holders: BTreeMap<Sku, Vec<OrderId>> = BTreeMap::new();
    for reservation in &listed {
        for line in reservation.lines.iter().filter(|line| products.contains(&line.product_id)) {
            holders.entry(line.product_id.clone()).or_default().push(reservation.order_id);
        }
    }
    drop(listed);
    let after = check.catalogue.get_products(&skus).await?;
    let now = check.clock.now();
    let mut drift = Vec::new();
    for (sku, product) in &after {
        if before.get(sku).map(|p| p.version) != Some(product.version) {
            continue;
        }
        let counters_hold = product.on_hand == product.available + product.reserved
            && product.available >= 0
            && product.reserved >= 0
            && product
                .shards
                .iter()
                .all(|shard| shard.on_hand == shard.available + shard.reserved && shard.available >= 0 && shard.reserved >= 0);
        // Confirm the index's view by reading each listed reservation as it stands.
        let holding = holders.get(sku).map(Vec::as_slice).unwrap_or_default();
        let confirmed = check.reservations.get_reservations(holding).await?;
        let reserved_by_reservations = units_held(&confirmed).get(sku).copied().unwrap_or(0);
        let settled = product.last_hold_at.is_none_or(|at| now - at >= INDEX_SETTLE);
        let sums_differ = match reserved_by_reservations.cmp(&product.reserved) {
            // Every reservation counted is ACTIVE by a consistent read: more than `reserved`
            // is drift whatever the index's lag.
            std::cmp::Ordering::Greater => true,
            // Fewer may be a hold the index has not caught up with yet.
            std::cmp::Ordering::Less => complete && settled,
            std::cmp::Ordering::Equal => false,
        };
        if !counters_hold || sums_differ {
            drift.push(Drift {
                product_id: sku.clone(),
                on_hand: product.on_hand,
                available: product.available,
                reserved: product.reserved,
                reserved_by_reservations,
            });
        }
    }
    Ok(drift)
}

/// Units each product has held by ACTIVE reservations.
pub fn units_held(reservations: &[Reservation]) -> BTreeMap<Sku, i64> {
    let mut held = BTreeMap::new();
    for reservation in reservations.iter().filter(|r| r.status == ReservationStatus::Active) {
        for line in &reservation.lines {
            *held.entry(line.product_id.clone()).or_insert(0) += i64::from(line.quantity.get());
        }
    }
    held
}
