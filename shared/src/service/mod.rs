//! Use cases, independent of HTTP and of the queue that triggers them.

pub mod placement;
pub mod reservation;
