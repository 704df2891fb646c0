//! Registry files replaced through the console: each replacement is an audit entry
//! (`registry.replace`), which is also the registries' history.

use serde::{Deserialize, Serialize};

use super::audit::{Entry, append};
use super::rows::Rows;
use super::{Store, StoreError};

/// `registry.replace`: a registry file was replaced by an upload (format version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryAudit {
    /// The configured file replaced, relative to the project.
    pub file: String,
    /// Where the previous version was kept.
    pub kept: Option<String>,
    /// `targets` or `inspectors`.
    pub kind: String,
    pub rows: usize,
    /// SHA-256 of the new file.
    pub sha256: String,
    /// The name it was uploaded under.
    pub uploaded_as: String,
}

impl Store {
    /// Audits a registry replacement (before the file is moved into place).
    pub fn record_registry_replace(
        &mut self,
        at: &str,
        actor: &str,
        audit: &RegistryAudit,
    ) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let entry = Entry {
                at,
                actor,
                action: "registry.replace",
                subject: &audit.file,
                detail: audit,
                rows: Rows::None,
            };
            append(tx, &origin, &entry)
        })
    }

    /// Every registry replacement, newest first, as (when, who, what).
    pub fn registry_replacements(
        &self,
    ) -> Result<Vec<(String, String, RegistryAudit)>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT at, actor, detail FROM audit_log WHERE action = 'registry.replace'
                 ORDER BY seq DESC",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (at, actor, detail) = row?;
                if let Ok(a) = serde_json::from_str::<RegistryAudit>(&detail) {
                    out.push((at, actor, a));
                }
            }
            Ok(out)
        })
    }
}
