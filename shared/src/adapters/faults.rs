//! Fault injection through our own seams: wrappers that make chosen port calls fail as the
//! real services do (throttling, timeouts, conflicts), either before the call reaches storage
//! or after it took effect with its answer lost. Configured by tests, or by `ORDERS_FAULTS`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{IdempotencyKey, ListQuery, Order, OrderId, OrderStatus, Page, Product, ProductUpdate, Reservation, Sku, UserId};
use crate::ports::{Catalogue, IdempotencyRecord, OrderStore, PutProductError, QueueError, SagaQueue, StockChange, StoreError, WriteError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultPoint {
    /// The request fails without reaching storage.
    Before,
    /// The request takes effect, then its answer is lost.
    After,
    /// A named point of a handler where the process dies (`placement.after_commit`, ...).
    Crash,
}

#[derive(Debug, thiserror::Error)]
#[error("injected fault in {op} ({point:?})")]
pub struct InjectedFault {
    pub op: String,
    pub point: FaultPoint,
}

#[derive(Debug, Default)]
struct Rules {
    /// Fail the next N calls of an operation at a point.
    scripted: HashMap<(String, FaultPoint), u32>,
    /// Fail this fraction of the calls of an operation at a point.
    rates: HashMap<(String, FaultPoint), f64>,
    injected: u64,
}

/// Which calls fail, shared by every wrapper built from it.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan(Arc<Mutex<Rules>>);

#[derive(Debug, thiserror::Error)]
#[error("ORDERS_FAULTS entry '{0}' is not op:before=rate, op:after=rate or point:crash=rate with a rate from 0 to 1")]
pub struct BadFaultSpec(String);

impl FaultPlan {
    /// Parses `create_order:before=0.2,get_products:after=0.05,placement.after_commit:crash=0.1`.
    pub fn parse(spec: &str) -> Result<Self, BadFaultSpec> {
        let plan = Self::default();
        for entry in spec.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let bad = || BadFaultSpec(entry.to_owned());
            let (target, rate) = entry.split_once('=').ok_or_else(bad)?;
            let (op, point) = target.split_once(':').ok_or_else(bad)?;
            let point = match point {
                "before" => FaultPoint::Before,
                "after" => FaultPoint::After,
                "crash" => FaultPoint::Crash,
                _ => return Err(bad()),
            };
            let rate: f64 = rate.parse().map_err(|_| bad())?;
            if !(0.0..=1.0).contains(&rate) {
                return Err(bad());
            }
            plan.set_rate(op, point, rate);
        }
        Ok(plan)
    }

    pub fn fail_next(&self, op: &str, point: FaultPoint, times: u32) {
        self.with(|rules| *rules.scripted.entry((op.to_owned(), point)).or_default() += times);
    }

    pub fn set_rate(&self, op: &str, point: FaultPoint, rate: f64) {
        self.with(|rules| rules.rates.insert((op.to_owned(), point), rate));
    }

    pub fn clear(&self) {
        self.with(|rules| {
            rules.scripted.clear();
            rules.rates.clear();
        });
    }

    /// Whether the process dies at this named point now (as far as the caller can tell).
    pub fn crash(&self, point: &str) -> bool {
        self.strikes(point, FaultPoint::Crash)
    }

    /// How many faults have been injected so far.
    pub fn injected(&self) -> u64 {
        self.with(|rules| rules.injected)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Rules) -> T) -> T {
        let mut guard = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    fn strikes(&self, op: &str, point: FaultPoint) -> bool {
        self.with(|rules| {
            let key = (op.to_owned(), point);
            let scripted = rules
                .scripted
                .get_mut(&key)
                .filter(|left| **left > 0)
                .map(|left| *left -= 1)
                .is_some();
            let random = !scripted && rules.rates.get(&key).is_some_and(|rate| rand::random::<f64>() < *rate);
            let strike = scripted || random;
            if strike {
                rules.injected += 1;
            }
            strike
        })
    }

    fn fault(op: &str, point: FaultPoint) -> StoreError {
        StoreError::Transient(Box::new(InjectedFault { op: op.to_owned(), point }))
    }

    /// Runs `call` between the two fault points of `op`.
    async fn around<T, E, F>(&self, op: &str, call: F) -> Result<T, E>
    where
        F: std::future::Future<Output = Result<T, E>>,
        E: From<StoreError>,
    {
        if self.strikes(op, FaultPoint::Before) {
            return Err(Self::fault(op, FaultPoint::Before).into());
        }
        let result = call.await?;
        if self.strikes(op, FaultPoint::After) {
            return Err(Self::fault(op, FaultPoint::After).into());
        }
        Ok(result)
    }
}

/// Any store, with the plan's faults injected into its calls.
pub struct Faulty<S> {
    inner: S,
    plan: FaultPlan,
}

impl<S> Faulty<S> {
    pub fn new(inner: S, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
}

impl From<StoreError> for QueueError {
    fn from(err: StoreError) -> Self {
        QueueError(Box::new(err))
    }
}

#[async_trait]
impl<S: OrderStore> OrderStore for Faulty<S> {
    async fn get_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.plan.around("get_order", self.inner.get_order(id)).await
    }

    async fn list_orders(&self, query: &ListQuery) -> Result<Page<Order>, StoreError> {
        self.plan.around("list_orders", self.inner.list_orders(query)).await
    }

    async fn find_idempotency(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.plan
            .around("find_idempotency", self.inner.find_idempotency(user, key, now))
            .await
    }

    async fn create_order(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyRecord>,
        reservation: Option<&Reservation>,
    ) -> Result<(), WriteError> {
        self.plan
            .around("create_order", self.inner.create_order(order, idempotency, reservation))
            .await
    }

    async fn update_order(&self, order: &mut Order, expected: OrderStatus, stock: StockChange<'_>) -> Result<(), WriteError> {
        self.plan
            .around("update_order", self.inner.update_order(order, expected, stock))
            .await
    }

    async fn orders_stuck_reserving(&self, created_before: DateTime<Utc>, limit: usize) -> Result<Vec<OrderId>, StoreError> {
        self.plan
            .around("orders_stuck_reserving", self.inner.orders_stuck_reserving(created_before, limit))
            .await
    }
}

#[async_trait]
impl<S: Catalogue> Catalogue for Faulty<S> {
    async fn get_products(&self, ids: &[Sku]) -> Result<HashMap<Sku, Product>, StoreError> {
        self.plan.around("get_products", self.inner.get_products(ids)).await
    }

    async fn put_product(&self, update: &ProductUpdate, now: DateTime<Utc>) -> Result<Product, PutProductError> {
        self.plan.around("put_product", self.inner.put_product(update, now)).await
    }

    async fn active_reservations(&self, expiring_by: Option<DateTime<Utc>>, limit: usize) -> Result<Vec<Reservation>, StoreError> {
        self.plan
            .around("active_reservations", self.inner.active_reservations(expiring_by, limit))
            .await
    }
}

#[async_trait]
impl<S: SagaQueue> SagaQueue for Faulty<S> {
    async fn request_reservation(&self, order: OrderId) -> Result<(), QueueError> {
        self.plan.around("request_reservation", self.inner.request_reservation(order)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_specs_say_which_entry() {
        assert!(FaultPlan::parse("create_order:before=0.2, get_products:after=1").is_ok());
        assert!(FaultPlan::parse("").is_ok());
        let err = FaultPlan::parse("create_order:during=0.2").unwrap_err();
        assert!(err.to_string().contains("create_order:during=0.2"));
        assert!(FaultPlan::parse("x:before=2").is_err());
    }

    #[test]
    fn scripted_faults_strike_exactly_the_number_of_times_asked() {
        let plan = FaultPlan::default();
        plan.fail_next("create_order", FaultPoint::Before, 2);
        let strikes: Vec<bool> = (0..4).map(|_| plan.strikes("create_order", FaultPoint::Before)).collect();
        assert_eq!(strikes, vec![true, true, false, false]);
        assert_eq!(plan.injected(), 2);
    }
}
