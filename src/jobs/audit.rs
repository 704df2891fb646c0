//! The hash-chained audit log (`suiji audit verify|log`).

use crate::store::{AuditEntry, AuditReport, Store, StoreError};

/// Walks the whole chain and reports the first broken link.
pub fn verify(store: &Store) -> Result<AuditReport, StoreError> {
    store.verify_audit()
}

/// The latest `limit` entries, oldest first.
pub fn latest(store: &Store, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
    let all = store.audit_entries(0, u32::MAX)?;
    let start = all.len().saturating_sub(limit as usize);
    Ok(all[start..].to_vec())
}
