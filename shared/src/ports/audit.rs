//! The audit trail of what admins change in the catalogue and the seller registry.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::audit::{AuditEntry, AuditSubject};

/// One page of a subject's trail, newest first, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<String>,
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Records an entry once per `source` (the stream record it comes from): a replay changes
    /// nothing.
    async fn record_audit(&self, entry: &AuditEntry, source: &str) -> Result<(), StoreError>;

    /// The entries of one product or seller, newest first, `limit` at a time after `after`.
    async fn audit_trail(&self, subject: AuditSubject, id: &str, limit: u16, after: Option<&str>) -> Result<AuditPage, StoreError>;
}
