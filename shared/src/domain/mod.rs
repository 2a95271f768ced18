//! The pure domain: no AWS SDK, no HTTP, no storage.

// The vocabulary: each imports only modules listed before it.
pub mod actor;
pub mod contact;
pub mod delivery;
pub mod ids;
pub mod line;
pub mod money;
pub mod numbering;
pub mod quantity;
pub mod status;
pub mod stock;
pub mod transition;
pub mod validation;

// What is built from it.
pub mod allocation;
pub mod analytics;
pub mod audit;
pub mod batch;
pub mod cart;
pub mod catalogue;
pub mod events;
pub mod invoice;
pub mod listing;
pub mod note;
pub mod notification;
pub mod order;
pub mod product;
pub mod request;
pub mod reservation;
pub mod seller;

pub use actor::Actor;
pub use ids::{IdempotencyKey, ItemId, OrderId, PaymentReference, RefundId, ReturnId, SellerId, Sku, UserId};
pub use line::{LineProblem, LineProblemCode, OrderLine};
pub use listing::{Cursor, ListQuery, Page, Sort, SortField};
pub use money::Money;
pub use order::{CancelDecision, NotCancellable, Order, Payment, PaymentDecision, PaymentRefusal, PricingPolicy, Totals};
pub use product::{ImageUrl, MovementKind, Product, ProductUpdate, StockAdjustment, StockMovement};
pub use quantity::Quantity;
pub use request::PlaceOrder;
pub use reservation::{Reservation, ReservationStatus, ReservedLine};
pub use status::{OrderStatus, PaymentStatus};
pub use stock::{ShardStock, ShardTake, StockShards};
pub use transition::{IllegalTransition, StatusChange};
