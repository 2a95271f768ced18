//! The pure domain: no AWS SDK, no HTTP, no storage.

pub mod analytics;
pub mod batch;
pub mod cart;
pub mod contact;
pub mod delivery;
pub mod edit;
pub mod events;
pub mod export;
pub mod fulfilment;
pub mod ids;
pub mod invoice;
pub mod listing;
pub mod money;
pub mod notification;
pub mod numbering;
pub mod order;
pub mod payment;
pub mod product;
pub mod quantity;
pub mod refund;
pub mod request;
pub mod reservation;
pub mod seller;
pub mod status;
pub mod stock;
pub mod validation;

pub use ids::{IdempotencyKey, ItemId, OrderId, PaymentReference, RefundId, ReturnId, SellerId, Sku, UserId};
pub use listing::{Cursor, ListQuery, Page, Sort, SortField};
pub use money::Money;
pub use order::{
    Actor, CancelDecision, LineProblem, LineProblemCode, NotCancellable, Order, OrderLine, Payment, PaymentDecision, PaymentRefusal,
    PricingPolicy, StatusChange, Totals,
};
pub use product::{MovementKind, Product, ProductUpdate, StockAdjustment, StockMovement};
pub use quantity::Quantity;
pub use request::PlaceOrder;
pub use reservation::{Reservation, ReservationStatus, ReservedLine};
pub use status::{OrderStatus, PaymentStatus};
pub use stock::{ShardStock, ShardTake, StockShards};
