//! Use cases, independent of HTTP and of the queue, stream or schedule that triggers them.

pub mod actions;
pub mod analytics;
pub mod batch;
pub mod cart;
mod context;
pub mod edits;
pub mod fulfilment;
pub mod invoices;
pub mod notifications;
pub mod numbering;
pub mod payments;
pub mod placement;
pub mod refunds;
pub mod reservation;
pub mod sellers;
pub mod sweeper;

pub use context::App;
