//! The hash-chained audit log (`suiji audit verify|log`).

use std::collections::HashMap;

use crate::rules::Loaded;
use crate::store::{AuditEntry, AuditLog, AuditReport, StoreError};

/// Walks the whole chain and reports the first broken link.
pub fn verify(store: &dyn AuditLog) -> Result<AuditReport, StoreError> {
    store.verify_audit()
}

/// The latest `limit` entries, oldest first.
pub fn latest(store: &dyn AuditLog, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
    latest_where(store, limit, |_| true)
}

/// How many entries are read at a time, from the end of the log backwards.
const WINDOW: i64 = 1000;

/// The latest `limit` entries that `keep` lets through, oldest first. The log is read from its
/// end backwards, a window at a time, so a page of it costs the same however long it grows.
pub fn latest_where(
    store: &dyn AuditLog,
    limit: u32,
    mut keep: impl FnMut(&AuditEntry) -> bool,
) -> Result<Vec<AuditEntry>, StoreError> {
    let limit = limit as usize;
    let mut out = Vec::new();
    let mut end = store.audit_last_seq()?;
    while end > 0 && out.len() < limit {
        let start = (end - WINDOW).max(0);
        let window = u32::try_from(end - start).unwrap_or(u32::MAX);
        let entries = store.audit_entries(start, window)?;
        for e in entries.into_iter().rev() {
            if out.len() < limit && keep(&e) {
                out.push(e);
            }
        }
        end = start;
    }
    out.reverse();
    Ok(out)
}

/// The latest `limit` entries a user limited to departments sees, oldest first: those about
/// a draw or a matter of a department `sees` lets through (by id), and those about an account
/// of such a department (its logins, its changes). Entries about the whole bureau (the
/// registries, the rules, login addresses) are not shown to them.
pub fn latest_of_departments(
    store: &dyn crate::store::ConsoleStore,
    loaded: &Loaded,
    limit: u32,
    sees: impl Fn(&str) -> bool,
) -> Result<Vec<AuditEntry>, StoreError> {
    let draws = store.draw_matters()?;
    let users: HashMap<String, Option<String>> = store
        .users()?
        .into_iter()
        .map(|u| (u.name, u.department))
        .collect();
    let department_of_matter = |m: &str| loaded.model.matter(m).map(|m| m.department.clone());
    latest_where(store, limit, |e| {
        let department = if let Some(id) = e.subject.strip_prefix("draw:") {
            id.parse::<i64>()
                .ok()
                .and_then(|id| draws.get(&id))
                .and_then(|m| department_of_matter(m))
        } else if let Some(name) = e.subject.strip_prefix("user:") {
            users.get(name).cloned().flatten()
        } else {
            department_of_matter(&e.subject)
        };
        department.is_some_and(|d| sees(&d))
    })
}
