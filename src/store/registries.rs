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

/// The file an accepted upload puts in place of configured registry file `index` (of the
/// audit's kind): a shared PostgreSQL database keeps its bytes, so that every node brings its
/// own copy of that file up to it; SQLite's project folder holds the one copy there is.
#[derive(Debug, Clone, Copy)]
pub struct RegistryFile<'a> {
    /// Which of the configured files of its kind (0 for the first).
    pub index: usize,
    pub bytes: &'a [u8],
}

/// A configured registry file's current version on a shared database: the latest upload of
/// (kind, index), its bytes kept on the server under `sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryVersion {
    pub id: i64,
    /// `targets` or `inspectors`.
    pub kind: String,
    /// Which of the configured files of that kind (0 for the first).
    pub index: usize,
    /// The configured file, relative to the project, as the uploading node's config names it.
    pub file: String,
    pub sha256: String,
    pub size: u64,
    /// When and by whom it was uploaded.
    pub at: String,
    pub actor: String,
}

/// Registry replacements on either database: recorded as audit entries, read back as the
/// registries' history; what `jobs::replace` works through, implemented by [`Store`] and
/// `pg::PgStore`.
pub trait RegistryLog {
    /// Audits a registry replacement (before the file is moved into place); on a shared
    /// database, keeps `file`'s bytes and records it as the configured file's current version,
    /// in the same transaction.
    fn record_registry_replace(
        &mut self,
        at: &str,
        actor: &str,
        audit: &RegistryAudit,
        file: RegistryFile<'_>,
    ) -> Result<i64, StoreError>;
    /// Every registry replacement, newest first, as (when, who, what).
    fn registry_replacements(&self) -> Result<Vec<(String, String, RegistryAudit)>, StoreError>;
}

impl RegistryLog for Store {
    /// The uploaded file itself is the project folder's (the one copy there is).
    fn record_registry_replace(
        &mut self,
        at: &str,
        actor: &str,
        audit: &RegistryAudit,
        _file: RegistryFile<'_>,
    ) -> Result<i64, StoreError> {
        Store::record_registry_replace(self, at, actor, audit)
    }

    fn registry_replacements(&self) -> Result<Vec<(String, String, RegistryAudit)>, StoreError> {
        Store::registry_replacements(self)
    }
}

/// The audit entry of a replacement.
pub(crate) fn replace_entry<'a>(
    at: &'a str,
    actor: &'a str,
    audit: &'a RegistryAudit,
) -> Entry<'a, RegistryAudit> {
    Entry {
        at,
        actor,
        action: "registry.replace",
        subject: &audit.file,
        detail: audit,
        rows: Rows::None,
    }
}

/// The replacements among audit entries (at, actor, detail), newest first; an entry whose
/// detail is not a replacement's is left out.
pub(crate) fn replacements(
    rows: impl IntoIterator<Item = (String, String, String)>,
) -> Vec<(String, String, RegistryAudit)> {
    rows.into_iter()
        .filter_map(|(at, actor, detail)| {
            serde_json::from_str::<RegistryAudit>(&detail)
                .ok()
                .map(|a| (at, actor, a))
        })
        .collect()
}

/// The audit entries of replacements, newest first (the same text on both databases).
pub(crate) const REPLACEMENTS: &str = "SELECT at, actor, detail FROM audit_log
     WHERE action = 'registry.replace' ORDER BY seq DESC";

impl Store {
    /// Audits a registry replacement (before the file is moved into place).
    pub fn record_registry_replace(
        &mut self,
        at: &str,
        actor: &str,
        audit: &RegistryAudit,
    ) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| append(tx, &origin, &replace_entry(at, actor, audit)))
    }

    /// Every registry replacement, newest first, as (when, who, what).
    pub fn registry_replacements(
        &self,
    ) -> Result<Vec<(String, String, RegistryAudit)>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(REPLACEMENTS)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(replacements(rows.collect::<rusqlite::Result<Vec<_>>>()?))
        })
    }
}
