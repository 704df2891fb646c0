//! Anchors: the audit chain's head, published outside the database.
//!
//! The chain shows that no entry was changed, removed or inserted in the middle; it cannot
//! show that the last entries were removed, or that someone with the file rewrote every entry
//! and hashed the chain again. An anchor can: each publication, each commitment, each draw
//! and a daily run write the current head (its `seq` and `hash`) to `out/public/anchors.json`
//! (and the public site), where the bureau's 门户网站 and anyone who copied it keep them. A
//! local chain that no longer holds an entry an anchor names, or holds a different one, has
//! been rewritten since that anchor was published.
//!
//! The file (`suiji-anchors/1`), JSON:
//!
//! ```text
//! { "format": "suiji-anchors/1",
//!   "anchors": [ { "at": "2026-11-30T15:20:04+08:00", "hash": "<64 hex>",
//!                  "reason": "draw", "seq": 12, "subject": "zhian.hotel 2025-H1" }, … ] }
//! ```
//!
//! `seq` and `hash` are those of the last audit entry at `at`; `reason` is `draw`,
//! `publication`, `commitment` or `daily`; `subject` says what was published (empty for a
//! daily anchor). Anchors are appended in order and never rewritten.

use serde::{Deserialize, Serialize};

use super::audit::{AuditReport, GENESIS_HASH};
use super::{AuditLog, Store, StoreError};

/// The format name of an anchors file.
pub const ANCHORS_FORMAT: &str = "suiji-anchors/1";

/// A published anchors file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchors {
    pub format: String,
    pub anchors: Vec<Anchor>,
}

impl Default for Anchors {
    fn default() -> Anchors {
        Anchors {
            format: ANCHORS_FORMAT.into(),
            anchors: Vec::new(),
        }
    }
}

/// One published head of the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// When it was published.
    pub at: String,
    /// The hash of entry `seq`.
    pub hash: String,
    /// `draw`, `publication`, `commitment` or `daily`.
    pub reason: String,
    /// The last entry's sequence number.
    pub seq: i64,
    /// What was published (`zhian.hotel 2025-H1`); empty for a daily anchor.
    pub subject: String,
}

/// How the local chain compares with published anchors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorCheck {
    /// The chain is intact and holds every anchored entry with the anchored hash.
    Consistent {
        anchors: usize,
        entries: u64,
        head: String,
    },
    /// The chain itself is broken (the walk of `audit verify` says where).
    Broken(super::audit::AuditBreak),
    /// An anchor names an entry the local chain no longer has: entries were removed.
    Missing { anchor: Anchor, entries: u64 },
    /// An anchor names an entry whose local hash differs: the chain was rewritten.
    Contradicted { anchor: Anchor, local: String },
}

impl AnchorCheck {
    pub fn is_consistent(&self) -> bool {
        matches!(self, AnchorCheck::Consistent { .. })
    }
}

impl std::fmt::Display for AnchorCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnchorCheck::Consistent {
                anchors,
                entries,
                head,
            } => write!(
                f,
                "audit log intact and consistent with {anchors} published anchors: \
                 {entries} entries, head {head}"
            ),
            AnchorCheck::Broken(b) => write!(f, "AUDIT LOG BROKEN at {b}"),
            AnchorCheck::Missing { anchor, entries } => write!(
                f,
                "AUDIT LOG CONTRADICTS A PUBLISHED ANCHOR: the anchor of {} ({} {}) names \
                 entry {} with hash {}, but the local chain ends at entry {entries}: \
                 entries were removed after it was published",
                anchor.at, anchor.reason, anchor.subject, anchor.seq, anchor.hash
            ),
            AnchorCheck::Contradicted { anchor, local } => write!(
                f,
                "AUDIT LOG CONTRADICTS A PUBLISHED ANCHOR: the anchor of {} ({} {}) names \
                 entry {} with hash {}, but the local entry {} hashes to {local}: the chain \
                 was rewritten after it was published",
                anchor.at, anchor.reason, anchor.subject, anchor.seq, anchor.hash, anchor.seq
            ),
        }
    }
}

impl Store {
    /// The last entry's sequence number and hash (0 and [`GENESIS_HASH`] when empty).
    pub fn audit_head(&self) -> Result<(i64, String), StoreError> {
        self.read(|c| {
            use rusqlite::OptionalExtension;
            Ok(
                c.prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
                    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?
                    .unwrap_or((0, GENESIS_HASH.to_string())),
            )
        })
    }

    /// Walks the chain (as [`Store::verify_audit`]) and checks it against `anchors`.
    pub fn check_anchors(&self, anchors: &Anchors) -> Result<AnchorCheck, StoreError> {
        check_anchors(self, anchors)
    }
}

/// Walks the chain of `log` (either database, [`AuditLog::verify_audit`]) and checks it
/// against `anchors`: every anchored entry must still be there with the anchored hash.
pub fn check_anchors(log: &dyn AuditLog, anchors: &Anchors) -> Result<AnchorCheck, StoreError> {
    let (entries, head) = match log.verify_audit()? {
        AuditReport::Broken(b) => return Ok(AnchorCheck::Broken(b)),
        AuditReport::Intact { entries, head } => (entries, head),
    };
    for anchor in &anchors.anchors {
        let local = log
            .audit_entries(anchor.seq.saturating_sub(1), 1)?
            .into_iter()
            .find(|e| e.seq == anchor.seq)
            .map(|e| e.hash);
        match local {
            None => {
                return Ok(AnchorCheck::Missing {
                    anchor: anchor.clone(),
                    entries,
                });
            }
            Some(local) if local != anchor.hash => {
                return Ok(AnchorCheck::Contradicted {
                    anchor: anchor.clone(),
                    local,
                });
            }
            Some(_) => {}
        }
    }
    Ok(AnchorCheck::Consistent {
        anchors: anchors.anchors.len(),
        entries,
        head,
    })
}

impl Store {
    /// Runs `f` with the chain's head (`seq`, `hash`) while holding the database's write
    /// lock: no entry is appended meanwhile, and writers of the anchors file take turns.
    /// `f`'s own outcome is returned inside.
    pub fn with_head<T>(&mut self, f: impl FnOnce(i64, &str) -> T) -> Result<T, StoreError> {
        self.write(|tx| {
            use rusqlite::OptionalExtension;
            let (seq, hash): (i64, String) = tx
                .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .unwrap_or((0, GENESIS_HASH.to_string()));
            Ok(f(seq, &hash))
        })
    }
}
