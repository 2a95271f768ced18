//! Placing an order: stock is reserved for every line in one transaction, or for none.

use sha2::{Digest, Sha256};

use crate::domain::allocation;
use crate::domain::cart::PriceChange;
use crate::domain::order::{price_lines, AmountTooLarge};
use crate::domain::PricingPolicy;
use crate::domain::{
    Actor, IdempotencyKey, LineProblem, LineProblemCode, Order, OrderId, OrderStatus, PlaceOrder, Reservation, SellerId, UserId,
};
use crate::ports::{Catalogue, IdempotencyRecord, NumberBlocks, OrderStore, Rejection, SagaQueue, StoreError, WriteError};
use crate::service::numbering::NumberAllocator;
use crate::service::sellers::SellerLookup;
use crate::service::{App, OrderChanges};

/// What placing an order works with.
#[derive(Clone, Copy)]
pub struct Placing<'a> {
    pub changes: OrderChanges<'a>,
    pub catalogue: &'a dyn Catalogue,
    pub sellers: SellerLookup<'a>,
    /// Order numbers from the blocks this instance claimed, and where blocks are claimed.
    pub numbers: &'a NumberAllocator,
    pub number_blocks: &'a dyn NumberBlocks,
    /// Takes over an order storage would not reserve (the reserve-stock step).
    pub saga: &'a dyn SagaQueue,
    pub pricing: &'a PricingPolicy,
    pub payment_timeout: chrono::Duration,
}

impl App {
    pub fn placing(&self) -> Placing<'_> {
        Placing {
            changes: self.order_changes(),
            catalogue: &*self.catalogue,
            sellers: self.seller_lookup(),
            numbers: &self.order_numbers,
            number_blocks: &*self.number_blocks,
            saga: &*self.saga,
            pricing: &self.pricing,
            payment_timeout: self.payment_timeout,
        }
    }
}

/// The component named in the timeline for what the reservation step decides.
pub const RESERVER: &str = "reserve-stock";

/// Times placement prices an order afresh when a price changed under it, or plans a sharded
/// product's holds afresh when the shards it chose emptied under it.
const PLACEMENT_ATTEMPTS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    /// Every line is reserved (201), or on replay, the order as it now stands.
    Reserved(Order),
    /// Storage stayed unavailable through the SDK's retries: the order waits in PENDING_RESERVING_STOCK and the
    /// reserve-stock step finishes it (202).
    Accepted(Order),
    /// A business rule failed: the order is INVALID with a reason per line (409).
    Invalid(Order),
}

impl Placed {
    pub fn order(&self) -> &Order {
        match self {
            Self::Reserved(order) | Self::Accepted(order) | Self::Invalid(order) => order,
        }
    }

    pub(crate) fn of(order: Order) -> Self {
        match order.status {
            OrderStatus::PendingReservingStock | OrderStatus::Created => Self::Accepted(order),
            OrderStatus::Invalid => Self::Invalid(order),
            _ => Self::Reserved(order),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub placed: Placed,
    /// The answer repeats an earlier request with the same idempotency key.
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("the idempotency key was already used with a different request")]
    KeyReused,
    /// Nothing is stored: an amount would pass the bound every amount is held to.
    #[error(transparent)]
    TooLarge(#[from] AmountTooLarge),
    /// The prices changed under every attempt to place the order; nothing was written.
    #[error("prices kept changing while the order was placed")]
    PricesKeptChanging,
    /// A checkout's locked prices are no longer the catalogue's; nothing was written.
    #[error("prices changed since the lines were added")]
    PriceChanged(Vec<PriceChange>),
    #[error("storage stayed unavailable; nothing was written")]
    Unavailable(#[source] StoreError),
    #[error("storage failed")]
    Store(#[source] StoreError),
    #[error("storage answered inconsistently: {0}")]
    Inconsistent(&'static str),
    /// An injected crash: the function died here, after what it had written.
    #[error("crashed at {0}")]
    Crashed(&'static str),
}

impl From<StoreError> for PlaceError {
    fn from(err: StoreError) -> Self {
        if err.is_transient() {
            Self::Unavailable(err)
        } else {
            Self::Store(err)
        }
    }
}

pub async fn place_order(
    placing: Placing<'_>,
    customer: &UserId,
    request: &PlaceOrder,
    key: Option<&IdempotencyKey>,
) -> Result<Placement, PlaceError> {
    // The idempotency record is created in the placing transaction itself: only a request that
    // loses on it (a replay, or another body under the same key) reads it, so a keyed placement
    // costs one BatchGetItem and one TransactWriteItems, as an unkeyed one does.
    let fingerprint = Fingerprint::of(request);

    let skus: Vec<_> = request.lines().iter().map(|line| line.product_id.clone()).collect();
    let Placing { changes, pricing, .. } = placing;
    let number = placing.numbers.next(placing.number_blocks, changes.clock.now()).await?;
    // A price that changes between the read and the reserving write fails the write (it is
    // conditioned on each line's price version): price again from a fresh read.
    // The first look is eventually consistent: half the read units of a strong read on a hot
    // product's items (see `Catalogue::products_for_sale`). Every hold is conditioned on the
    // price version and the stock it assumed, and a refusal is decided only on a strongly
    // consistent read, so a stale first look costs a round trip, never a sale or a wrong answer.
    let mut read_strongly = false;
    for round in 1..=PLACEMENT_ATTEMPTS {
        let catalogue = match read_strongly {
            true => placing.catalogue.get_products(&skus).await?,
            false => placing.catalogue.products_for_sale(&skus).await?,
        };
        let now = changes.clock.now();
        let (mut lines, unknown) = price_lines(request, &catalogue)?;
        let short = allocation::assign_takes(&mut lines, &catalogue, rand::random);
        if let Some(locked) = request.locked_prices() {
            // A checkout charges what the customer was shown, or nothing.
            let changes: Vec<PriceChange> = lines
                .iter()
                .filter_map(|line| {
                    let shown = *locked.get(&line.product_id)?;
                    (shown != line.unit_price).then(|| PriceChange {
                        product_id: line.product_id.clone(),
                        old_price: shown,
                        new_price: line.unit_price,
                    })
                })
                .collect();
            if !changes.is_empty() && !read_strongly {
                read_strongly = true;
                continue;
            }
            if !changes.is_empty() {
                return Err(PlaceError::PriceChanged(changes));
            }
        }
        let sellers: Vec<SellerId> = lines.iter().map(|line| line.seller_id.clone()).collect();
        let terms = placing.sellers.terms(&sellers).await?;
        let fees = terms.shipping_fees;
        // A line of a seller who does not trade makes the order INVALID, as an unknown product does.
        let mut unknown = unknown;
        unknown.extend(short);
        unknown.extend(
            lines
                .iter()
                .filter(|line| terms.inactive.contains(&line.seller_id))
                .map(|line| LineProblem {
                    product_id: line.product_id.clone(),
                    code: LineProblemCode::SellerInactive,
                    requested: line.quantity,
                    available: None,
                }),
        );
        let mut order = Order::new(OrderId::new(), customer.clone(), lines, pricing, &Actor::customer(customer), now)?
            .with_shipping_fees(&fees, pricing)?;
        order.order_number = Some(number.clone());
        order.prices_locked = request.locked_prices().is_some();
        if let Some(contact) = request.customer() {
            order.customer_name = contact.name.clone();
            order.customer_email = contact.email.clone();
        }
        let details = request.details();
        order.channel = details.channel;
        order.shipping_address = details.shipping_address.clone();
        order.customer_note = details.note.clone();
        tracing::Span::current().record("order_id", tracing::field::display(order.id));
        let idempotency = key.map(|key| IdempotencyRecord::new(customer.clone(), key, fingerprint.digest.clone(), order.id, now));
        let reserver = Actor::system(RESERVER);

        if !unknown.is_empty() && !read_strongly {
            read_strongly = true;
            continue;
        }
        if !unknown.is_empty() {
            let mut invalid = order;
            invalid
                .invalidate(unknown, &reserver, now)
                .map_err(|_| PlaceError::Inconsistent("a new order must accept INVALID"))?;
            return record_new(changes, invalid, idempotency.as_ref(), &fingerprint).await;
        }

        let payment_due = now + placing.payment_timeout;
        let mut reserved = order.clone();
        reserved
            .reserve(&reserver, now, payment_due, None)
            .map_err(|_| PlaceError::Inconsistent("a new order must accept PENDING_PAYMENT"))?;
        let sharded = allocation::holds_from_shards(&order.items, &catalogue);
        let mut tries = 0;
        let attempt = changes
            .contention_retry
            .run(WriteError::is_contended, || {
                tries += 1;
                // A shard that throttled the hold (or lost it to a conflict) is busy for the rest
                // of its second: each retry holds a sharded product's units from the next shard,
                // on the same read, instead of knocking on the same item again.
                if tries > 1 && sharded {
                    allocation::move_takes_on(&mut reserved.items, &catalogue);
                }
                let written = reserved.clone();
                let reservation = Reservation::for_order(&written, payment_due, now);
                let idempotency = idempotency.as_ref();
                async move {
                    changes.orders.create_order(&written, idempotency, Some(&reservation)).await?;
                    Ok(written)
                }
            })
            .await;
        return match attempt {
            Ok(_) if changes.crashes.crash_at("placement.after_commit") => Err(PlaceError::Crashed("placement.after_commit")),
            Ok(reserved) => {
                crate::metrics::count("OrdersPlaced", 1, &[]);
                Ok(Placement {
                    placed: Placed::Reserved(reserved),
                    replayed: false,
                })
            }
            Err(WriteError::Rejected(Rejection::PriceChanged(products))) => {
                tracing::info!(?products, "a price changed while the order was placed; pricing it again");
                read_strongly = true;
                continue;
            }
            // A sharded product's chosen shards emptied since the read: plan from a fresh one.
            Err(WriteError::Rejected(Rejection::OutOfStock(_)))
                if round < PLACEMENT_ATTEMPTS && allocation::holds_from_shards(&order.items, &catalogue) =>
            {
                tracing::info!("a shard emptied while the order was placed; planning its holds again");
                read_strongly = true;
                continue;
            }
            Err(WriteError::Rejected(Rejection::OutOfStock(problems))) => {
                let problems = allocation::summed_problems(problems, &catalogue);
                tracing::info!(lines = problems.len(), "order refused: not enough stock");
                crate::metrics::count("ReservationsFailed", 1, &[]);
                let mut invalid = order;
                invalid
                    .invalidate(problems, &reserver, now)
                    .map_err(|_| PlaceError::Inconsistent("a new order must accept INVALID"))?;
                record_new(changes, invalid, idempotency.as_ref(), &fingerprint).await
            }
            Err(WriteError::Rejected(rejection)) => settle_rejection(changes, rejection, reserved.id, customer, key, &fingerprint).await,
            Err(WriteError::Store(err)) if err.is_transient() => {
                tracing::warn!(error = %crate::error_chain(&err), "reservation still failing after the SDK's retries; handing it to the reserve-stock queue");
                hand_over(placing, order, idempotency.as_ref(), &fingerprint).await
            }
            Err(WriteError::Store(err)) => Err(PlaceError::Store(err)),
        };
    }
    Err(PlaceError::PricesKeptChanging)
}

/// Stores an order that needs no stock held (INVALID), or that the queue will finish.
async fn record_new(
    changes: OrderChanges<'_>,
    order: Order,
    idempotency: Option<&IdempotencyRecord>,
    fingerprint: &Fingerprint,
) -> Result<Placement, PlaceError> {
    let written = changes
        .contention_retry
        .run(WriteError::is_contended, || changes.orders.create_order(&order, idempotency, None))
        .await;
    match written {
        Ok(()) => Ok(Placement {
            placed: Placed::of(order),
            replayed: false,
        }),
        Err(WriteError::Rejected(rejection)) => {
            let user = order.user_id.clone();
            let key = idempotency.and_then(|record| IdempotencyKey::parse(&record.key));
            settle_rejection(changes, rejection, order.id, &user, key.as_ref(), fingerprint).await
        }
        Err(WriteError::Store(err)) => Err(err.into()),
    }
}

/// Keeps the order in PENDING_RESERVING_STOCK and asks the reserve-stock step to finish it.
async fn hand_over(
    placing: Placing<'_>,
    order: Order,
    idempotency: Option<&IdempotencyRecord>,
    fingerprint: &Fingerprint,
) -> Result<Placement, PlaceError> {
    let placement = record_new(placing.changes, order, idempotency, fingerprint).await?;
    if let (Placed::Accepted(waiting), false) = (&placement.placed, placement.replayed) {
        if placing.changes.crashes.crash_at("placement.before_enqueue") {
            return Err(PlaceError::Crashed("placement.before_enqueue"));
        }
        if let Err(err) = placing.saga.request_reservation(waiting.id).await {
            // The order is safely stored: the sweeper re-drives orders stuck in this state.
            tracing::error!(error = %crate::error_chain(&err), "could not enqueue the reserve-stock step");
        }
    }
    Ok(placement)
}

/// A write was refused because of what is already stored: answer from what is stored.
async fn settle_rejection(
    changes: OrderChanges<'_>,
    rejection: Rejection,
    id: OrderId,
    customer: &UserId,
    key: Option<&IdempotencyKey>,
    fingerprint: &Fingerprint,
) -> Result<Placement, PlaceError> {
    match rejection {
        // An earlier try of this very write took effect but its answer was lost.
        Rejection::OrderExists => {
            let order = changes.orders.get_order(id).await?;
            let order = order.ok_or(PlaceError::Inconsistent("the order exists yet cannot be read"))?;
            Ok(Placement {
                placed: Placed::of(order),
                replayed: false,
            })
        }
        // A concurrent request with the same key won the race: answer as a replay of it.
        Rejection::IdempotencyKeyTaken => {
            let key = key.ok_or(PlaceError::Inconsistent("idempotency conflict without a key"))?;
            let now = changes.clock.now();
            let record = changes.orders.find_idempotency(customer, key, now).await?;
            let record = record.ok_or(PlaceError::Inconsistent("the idempotency key is taken yet cannot be read"))?;
            replay(changes.orders, &record, fingerprint).await
        }
        Rejection::OrderChanged | Rejection::OutOfStock(_) | Rejection::PriceChanged(_) | Rejection::ReservationNotActive => {
            Err(PlaceError::Inconsistent("a new order cannot conflict on its own status"))
        }
    }
}

async fn replay(orders: &dyn OrderStore, record: &IdempotencyRecord, fingerprint: &Fingerprint) -> Result<Placement, PlaceError> {
    if !fingerprint.matches(&record.fingerprint) {
        return Err(PlaceError::KeyReused);
    }
    tracing::Span::current().record("order_id", tracing::field::display(record.order_id));
    let order = orders.get_order(record.order_id).await?;
    let order = order.ok_or(PlaceError::Inconsistent("an idempotency record names a missing order"))?;
    Ok(Placement {
        placed: Placed::of(order),
        replayed: true,
    })
}

/// Digests of a request, to tell a replay from another request under the same key.
struct Fingerprint {
    digest: String,
    /// As records written before the digest ignored line order have it: a retry of one of
    /// those is still a replay.
    in_request_order: String,
}

impl Fingerprint {
    fn of(request: &PlaceOrder) -> Self {
        Self {
            digest: hex_digest(&request.fingerprint()),
            in_request_order: hex_digest(&request.fingerprint_in_request_order()),
        }
    }

    fn matches(&self, stored: &str) -> bool {
        stored == self.digest || stored == self.in_request_order
    }
}

fn hex_digest(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}
