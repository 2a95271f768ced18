//! Personal data: an admin erases a customer's (a data subject's request), and the sweeper erases
//! closed orders' at the end of the shop's retention period. Orders keep their financial record;
//! each erased order emits `PersonalDataErased` from the outbox, so copies elsewhere follow.

use chrono::Duration;
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::domain::order::{ErasureCause, ErasureOutcome};
use crate::domain::{Actor, ListQuery, Order, OrderId, Sort, UserId};
use crate::ports::{CartStore, StockChange, StoreError};
use crate::service::actions::{load, until_written, write, Access, ActionError};
use crate::service::{App, OrderChanges};

/// What erasing a customer's personal data works with.
#[derive(Clone, Copy)]
pub struct Erasure<'a> {
    pub changes: OrderChanges<'a>,
    pub carts: &'a dyn CartStore,
}

impl App {
    pub fn erasure(&self) -> Erasure<'_> {
        Erasure {
            changes: self.order_changes(),
            carts: &*self.carts,
        }
    }
}

/// Most orders one request reads; a customer with more is finished by calling again.
pub const ERASURE_READS: usize = 2_000;
/// Orders erased at once.
const CONCURRENCY: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    pub user_id: UserId,
    /// Orders erased by this request.
    pub erased_orders: usize,
    /// Orders still to be delivered: each is erased the moment it no longer needs the address.
    pub deferred_orders: Vec<OrderId>,
    /// Whether the customer's cart was removed.
    pub cart_removed: bool,
    /// `false` when the customer has more orders than one request reads: call again.
    pub complete: bool,
}

/// Erases the customer's personal data from every order that ships nothing more, marks the
/// others to be erased when they stop needing it, and removes their cart. Repeating it is safe.
pub async fn erase_customer(erasure: Erasure<'_>, user: &UserId, actor: &Actor) -> Result<ErasureReport, ActionError> {
    let mut report = ErasureReport {
        user_id: user.clone(),
        erased_orders: 0,
        deferred_orders: Vec::new(),
        cart_removed: false,
        complete: false,
    };
    let mut query = ListQuery {
        owner: Some(user.clone()),
        status: None,
        channel: None,
        payment_status: None,
        from: None,
        to: None,
        sort: Sort::DEFAULT,
        limit: ListQuery::MAX_LIMIT,
        after: None,
        read_budget: ListQuery::READ_BUDGET,
    };
    let mut read = 0;
    loop {
        let page = erasure.changes.orders.list_orders(&query).await?;
        read += page.read;
        // The listing may lag; each order is decided again on its stored copy.
        let due: Vec<OrderId> = page
            .items
            .iter()
            .filter(|order| order.erasure_would_change())
            .map(|order| order.id)
            .collect();
        let outcomes: Vec<Result<ErasureOutcome, ActionError>> = stream::iter(due)
            .map(|id| request_erasure(erasure.changes, id, actor))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome? {
                ErasureOutcome::Erased => report.erased_orders += 1,
                ErasureOutcome::Deferred => {}
                ErasureOutcome::Unchanged => {}
            }
        }
        report.deferred_orders.extend(
            page.items
                .iter()
                .filter(|order| order.status.may_ship() && order.holds_personal_data())
                .map(|order| order.id),
        );
        match page.next {
            Some(next) if read < ERASURE_READS => query.after = Some(next),
            Some(_) => break,
            None => {
                report.complete = true;
                break;
            }
        }
    }
    if let Some(mut cart) = erasure.carts.get_cart(user).await? {
        cart.lines.clear();
        // A cart changed meanwhile is the customer's own new cart: left alone.
        report.cart_removed = erasure.carts.put_cart(&mut cart).await?;
    }
    tracing::info!(
        erased = report.erased_orders,
        deferred = report.deferred_orders.len(),
        complete = report.complete,
        "customer's personal data erased"
    );
    Ok(report)
}

async fn request_erasure(changes: OrderChanges<'_>, id: OrderId, actor: &Actor) -> Result<ErasureOutcome, ActionError> {
    until_written(move || async move {
        let mut order = load(changes.orders, id, Access::Anyone).await?;
        let expected = order.status;
        let outcome = order.request_erasure(actor, changes.clock.now());
        if outcome == ErasureOutcome::Unchanged {
            return Ok(Some(outcome));
        }
        Ok(write(changes, &mut order, expected, StockChange::None).await?.then(outcome))
    })
    .await
}

/// The retention period's work for one sweep: erases the personal data of orders closed for
/// longer than `retention`, up to `limit`; answers how many were erased and how many failed.
pub async fn erase_expired_personal_data(
    changes: OrderChanges<'_>,
    retention: Duration,
    limit: usize,
    actor: &Actor,
) -> Result<(usize, usize), StoreError> {
    let now = changes.clock.now();
    let due = changes.orders.closed_orders_holding_personal_data(now - retention, limit).await?;
    let outcomes: Vec<Result<bool, ActionError>> = stream::iter(due)
        .map(|id| erase_expired(changes, id, retention, actor))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut counts = (0, 0);
    for outcome in outcomes {
        match outcome {
            Ok(true) => counts.0 += 1,
            Ok(false) => {}
            Err(err) => {
                counts.1 += 1;
                tracing::error!(error = %crate::error_chain(&err), "could not erase an order's personal data");
            }
        }
    }
    Ok(counts)
}

async fn erase_expired(changes: OrderChanges<'_>, id: OrderId, retention: Duration, actor: &Actor) -> Result<bool, ActionError> {
    until_written(move || async move {
        let mut order: Order = load(changes.orders, id, Access::Anyone).await?;
        let now = changes.clock.now();
        // The index may lag behind the order: decide on the stored copy.
        let expired = order.closed_at().is_some_and(|closed| closed <= now - retention);
        if !expired || !order.erase_personal_data(ErasureCause::Retention, actor, now) {
            return Ok(Some(false));
        }
        let expected = order.status;
        Ok(write(changes, &mut order, expected, StockChange::None).await?.then(true))
    })
    .await
}
