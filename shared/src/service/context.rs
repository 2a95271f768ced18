//! What the use cases work with: the ports and the shop's rules, wired once per cold start by
//! the composition root (`startup`), which alone knows the adapters behind them.

use std::sync::Arc;

use crate::domain::PricingPolicy;
use crate::ports::{
    BatchStore, CartStore, Catalogue, Clock, EventBus, InvoiceStore, MovementLog, NotificationLog, Notifier, NumberBlocks, OrderLinks,
    OrderStore, PaymentProvider, ReservationStore, SagaQueue, SellerStore,
};
use crate::retry::RetryPolicy;

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
    /// Each product's stock movements.
    pub movements: Arc<dyn MovementLog>,
    pub reservations: Arc<dyn ReservationStore>,
    pub sellers: Arc<dyn SellerStore>,
    /// The sales figures, counted from the domain events.
    pub analytics: Arc<dyn crate::ports::Analytics>,
    pub saga: Arc<dyn SagaQueue>,
    pub events: Arc<dyn EventBus>,
    /// Pays refunds back.
    pub payments: Arc<dyn PaymentProvider>,
    /// Tells customers and sellers what happened.
    pub notifier: Arc<dyn Notifier>,
    /// Order numbers from the blocks this instance claimed.
    pub order_numbers: Arc<crate::service::numbering::NumberAllocator>,
    /// Turns requests away at once while storage keeps failing (per instance).
    pub breaker: Arc<crate::breaker::Breaker>,
    /// Sellers' shipping fees as this instance last read them.
    pub seller_cache: Arc<crate::service::sellers::SellerCache>,
    pub clock: Arc<dyn Clock>,
    pub pricing: PricingPolicy,
    /// The marketplace's share of each seller's subtotal, on invoices.
    pub commission_rate: rust_decimal::Decimal,
    pub payment_timeout: chrono::Duration,
    /// How long after delivery a customer may ask to return lines.
    pub return_window: chrono::Duration,
    /// The largest order total accepted for cash on delivery.
    pub cod_max_total: crate::domain::Money,
    /// Retries a transaction that a concurrent one cancelled (placement, payment, cancellation).
    pub contention_retry: RetryPolicy,
    /// How long an order may wait in PENDING_RESERVING_STOCK before the sweeper re-drives it.
    pub stuck_after: chrono::Duration,
    /// The payment provider's webhook key (the webhook function only).
    pub webhook_secret: Option<crate::http::webhook::WebhookSecret>,
    /// Crash points (tests and chaos runs only).
    #[cfg(feature = "chaos")]
    pub faults: Option<Arc<dyn crate::ports::CrashPoints>>,
}

impl App {
    /// Whether the process "dies" at this named point (only ever with a chaos fault plan).
    #[cfg(feature = "chaos")]
    pub fn crash_at(&self, point: &str) -> bool {
        let crashed = self.faults.as_ref().is_some_and(|faults| faults.crash(point));
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
