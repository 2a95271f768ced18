//! Integration and end-to-end tests: every test provisions its own tables and queues on the
//! shared emulators and talks to the service over HTTP through the local runner.

mod access;
mod analytics;
mod back_office;
mod bad_input;
mod cart;
mod catalogue;
mod edits;
mod events;
mod expiry;
mod faults;
mod functions;
mod idempotency;
mod invariants;
mod inventory;
mod listing;
mod money;
mod notifications;
mod pages;
mod payment_start;
mod payments;
mod placement;
mod privacy;
mod refunds;
mod sharding;
mod sign_in;
mod staff;
mod storage_layout;
mod storefront;
mod stripe;
