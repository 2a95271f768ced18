//! Everything the orders functions share: the domain, the ports and their adapters, the
//! use cases and handlers, auth, problem responses and configuration.

pub mod adapters;
pub mod auth;
pub mod breaker;
pub mod calls;
pub mod config;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod lambda;
pub mod metrics;
pub mod ports;
pub mod redact;
pub mod render;
pub mod retry;
pub mod saga;
pub mod service;
pub mod startup;
pub mod timing;

/// An error and every cause under it on one line, for logs.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
