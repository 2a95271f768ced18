//! Use cases, independent of HTTP and of the queue, stream or schedule that triggers them. Each
//! takes only what it uses: the ports themselves, or a small `Copy` struct of them (`OrderChanges`
//! for every change of an order; `Placing`, `Sweeping` and the like beside their use case), built
//! from the `App` wired at cold start.

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
pub mod privacy;
pub mod refunds;
pub mod reservation;
pub mod sellers;
pub mod sweeper;

pub use context::{App, Crashes, OrderChanges};
