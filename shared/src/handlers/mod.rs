//! One handler per function, grouped by route; around them the registry of functions, the HTTP
//! middleware, and what the queue and stream consumers and the request extractors share.

pub mod analytics;
pub mod audit;
pub mod batch;
pub mod cart;
pub mod catalogue;
pub mod edits;
pub mod expiry_stream;
pub mod fulfilment;
pub mod inventory;
pub mod invoices;
pub mod listing;
pub mod notes;
pub mod notifications;
pub mod orders;
pub mod pages;
pub mod payments;
pub mod privacy;
pub mod publish_events;
pub mod refunds;
pub mod reserve_stock;
pub mod sellers;
pub mod stock_movements;
pub mod sweeper;

mod extractors;
mod middleware;
mod registry;
mod sqs;
mod stream;

pub(crate) use extractors::{admin, caller, seller_or_admin};
pub use registry::{HttpFunction, QueueFunction, ScheduleFunction, StreamFunction};
pub(crate) use sqs::{each_message, order_event_step, StepFailure};
