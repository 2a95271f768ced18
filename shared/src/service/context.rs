//! What the use cases work with: the ports and the shop's rules, wired once per cold start by
//! the composition root (`startup`), which alone knows the adapters behind them.

use std::sync::Arc;

use crate::domain::PricingPolicy;
use crate::ports::{
    AuditLog, BatchStore, CartStore, Catalogue, Clock, EventBus, InvoiceStore, MovementLog, NotificationLog, Notifier, NumberBlocks,
    OrderLinks, OrderStore, PaymentProvider, ProviderEventLog, ReservationStore, SagaQueue, SellerStore,
};
use crate::retry::RetryPolicy;
use crate::service::sellers::{SellerCache, SellerLookup};

#[derive(Clone)]
pub struct App {
    pub orders: Arc<dyn OrderStore>,
    pub carts: Arc<dyn CartStore>,
    /// Admins' batches and their results.
    pub batches: Arc<dyn BatchStore>,
    pub invoices: Arc<dyn InvoiceStore>,
    /// Which notifications were sent, so that none goes twice.
    pub notification_log: Arc<dyn NotificationLog>,
    /// The counters order numbers are claimed from.
    pub number_blocks: Arc<dyn NumberBlocks>,
    /// Orders listed under their sellers and products.
    pub links: Arc<dyn OrderLinks>,
    pub catalogue: Arc<dyn Catalogue>,
    /// The catalogue's search words.
    pub search: Arc<dyn crate::ports::CatalogueSearch>,
    /// Each product's stock movements.
    pub movements: Arc<dyn MovementLog>,
    pub notes: Arc<dyn crate::ports::OrderNotes>,
    /// Who changed which product or seller, when, from what to what.
    pub audit: Arc<dyn AuditLog>,
    pub reservations: Arc<dyn ReservationStore>,
    pub sellers: Arc<dyn SellerStore>,
    /// The sales figures, counted from the domain events.
    pub analytics: Arc<dyn crate::ports::Analytics>,
    pub saga: Arc<dyn SagaQueue>,
    pub events: Arc<dyn EventBus>,
    /// Takes payments and pays refunds back.
    pub payments: Arc<dyn PaymentProvider>,
    /// The provider's events applied, so that each applies once.
    pub provider_events: Arc<dyn ProviderEventLog>,
    /// Tells customers and sellers what happened.
    pub notifier: Arc<dyn Notifier>,
    /// The identity provider's user pool (the functions that bind users to sellers only).
    pub users: Option<Arc<dyn crate::ports::UserDirectory>>,
    /// Order numbers from the blocks this instance claimed.
    pub order_numbers: Arc<crate::service::numbering::NumberAllocator>,
    /// Turns requests away at once while storage keeps failing (per instance).
    pub breaker: Arc<crate::breaker::Breaker>,
    /// Sellers' shipping fees as this instance last read them.
    pub seller_cache: Arc<SellerCache>,
    pub clock: Arc<dyn Clock>,
    pub pricing: PricingPolicy,
    /// The marketplace's share of each seller's subtotal, on invoices.
    pub commission_rate: rust_decimal::Decimal,
    pub payment_timeout: chrono::Duration,
    /// How long after delivery a customer may ask to return lines.
    pub return_window: chrono::Duration,
    /// How long a closed order keeps the customer's personal data.
    pub personal_data_retention: chrono::Duration,
    /// The largest order total accepted for cash on delivery.
    pub cod_max_total: crate::domain::Money,
    /// Retries a transaction that a concurrent one cancelled (placement, payment, cancellation).
    pub contention_retry: RetryPolicy,
    /// How long an order may wait in PENDING_RESERVING_STOCK before the sweeper re-drives it.
    pub stuck_after: chrono::Duration,
    /// This deployment's name at the payment provider (in every payment's metadata).
    pub shop_id: String,
    /// What the pages hand Stripe.js (`pk_...`); none: they have no card form.
    pub stripe_publishable_key: Option<String>,
    /// Where the pages sign people in (the pages function only).
    pub sign_in: Option<crate::auth::SignInSettings>,
    /// The payment provider's webhook key (the webhook function only).
    pub webhook_secret: Option<crate::http::webhook::WebhookSecret>,
    /// Crash points (tests and chaos runs only).
    #[cfg(feature = "chaos")]
    pub faults: Option<Arc<dyn crate::ports::CrashPoints>>,
}

/// Where a chaos run makes the process "die" at a named point; nowhere in production builds.
#[derive(Clone, Copy, Default)]
pub struct Crashes<'a> {
    #[cfg(feature = "chaos")]
    faults: Option<&'a dyn crate::ports::CrashPoints>,
    #[cfg(not(feature = "chaos"))]
    faults: std::marker::PhantomData<&'a ()>,
}

impl Crashes<'_> {
    /// Whether the process "dies" at this named point (only ever with a chaos fault plan).
    #[cfg(feature = "chaos")]
    pub fn crash_at(&self, point: &str) -> bool {
        let crashed = self.faults.is_some_and(|faults| faults.crash(point));
        if crashed {
            tracing::warn!(point, "injected crash");
        }
        crashed
    }

    /// Production builds have no crash points.
    #[cfg(not(feature = "chaos"))]
    #[inline(always)]
    pub fn crash_at(&self, _point: &str) -> bool {
        false
    }
}

/// What every change of a stored order works with: read, decide at this clock's time, write
/// conditioned on the version read, retrying a transaction a concurrent one cancelled.
#[derive(Clone, Copy)]
pub struct OrderChanges<'a> {
    pub orders: &'a dyn OrderStore,
    /// Asked to cancel a started payment before its order is cancelled.
    pub provider: &'a dyn PaymentProvider,
    pub clock: &'a dyn Clock,
    pub contention_retry: RetryPolicy,
    pub crashes: Crashes<'a>,
}

/// Each use case is handed only what it uses: the shared parts are built here, and each use
/// case's own set beside it, from the ports wired at cold start.
impl App {
    pub fn crashes(&self) -> Crashes<'_> {
        Crashes {
            #[cfg(feature = "chaos")]
            faults: self.faults.as_deref(),
            #[cfg(not(feature = "chaos"))]
            faults: std::marker::PhantomData,
        }
    }

    pub fn order_changes(&self) -> OrderChanges<'_> {
        OrderChanges {
            orders: &*self.orders,
            provider: &*self.payments,
            clock: &*self.clock,
            contention_retry: self.contention_retry,
            crashes: self.crashes(),
        }
    }

    pub fn seller_lookup(&self) -> SellerLookup<'_> {
        SellerLookup {
            cache: &self.seller_cache,
            store: &*self.sellers,
            clock: &*self.clock,
        }
    }
}
