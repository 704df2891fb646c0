//! The audit log: append-only and hash-chained.
//!
//! Each entry's `hash` is the lowercase hex SHA-256 of this byte string (the canonical
//! encoding, version 1), where `u64be(n)` is `n` as 8 big-endian bytes and every text field
//! is its exact stored UTF-8 bytes:
//!
//! ```text
//! "suiji-audit-v1\n"
//! u64be(seq)
//! for field in [at, actor, action, subject, detail, prev_hash]:
//!     u64be(byte length of field) field
//! ```
//!
//! `detail` is the JSON text exactly as stored (compact serde_json output at append time), so
//! a verifier hashes the column as it finds it and never re-serializes. `prev_hash` is the
//! previous entry's `hash`; the first entry's is [`GENESIS_HASH`] (64 zeros). Sequence numbers
//! start at 1 and have no gaps.
//!
//! What the chain proves: no entry was changed, removed or inserted in the middle. Removing
//! entries from the end leaves a valid shorter chain; publishing the head hash (returned by
//! [`AuditReport::Intact`]) elsewhere is what catches that.

use rusqlite::{Connection, OptionalExtension, params, types::ValueRef};
use sha2::{Digest, Sha256};

use super::error::{Fail, R};
use super::util::non_empty;
use super::{Store, StoreError};

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// The JSON text exactly as stored and hashed.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The detail parsed as JSON.
    pub fn detail_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.detail)
    }
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditReport {
    /// Every entry checked out. `head` is the last entry's hash ([`GENESIS_HASH`] when empty).
    Intact { entries: u64, head: String },
    /// The first broken link.
    Broken(AuditBreak),
}

impl AuditReport {
    pub fn is_intact(&self) -> bool {
        matches!(self, AuditReport::Intact { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBreak {
    /// The entry at which the chain breaks.
    pub seq: i64,
    /// Entries before it that checked out.
    pub intact_before: u64,
    pub problem: AuditProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditProblem {
    /// The entry's content does not hash to its stored hash: it was edited.
    HashMismatch { stored: String, computed: String },
    /// The entry does not point at the previous entry's hash.
    PrevMismatch { expected: String, found: String },
    /// Sequence numbers skip: entries were removed (or `seq` edited).
    Gap { expected_seq: i64 },
    /// A field is not text (the file was written behind suiji's back).
    Malformed { field: &'static str },
}

impl std::fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "audit entry {}: ", self.seq)?;
        match &self.problem {
            AuditProblem::HashMismatch { stored, computed } => write!(
                f,
                "content was changed (stored hash {stored}, content hashes to {computed})"
            ),
            AuditProblem::PrevMismatch { expected, found } => write!(
                f,
                "does not follow the previous entry (prev_hash {found}, expected {expected})"
            ),
            AuditProblem::Gap { expected_seq } => {
                write!(
                    f,
                    "entries are missing (expected entry {expected_seq} next)"
                )
            }
            AuditProblem::Malformed { field } => write!(f, "field {field} is not text"),
        }?;
        write!(
            f,
            "; the {} entries before it are intact",
            self.intact_before
        )
    }
}

/// The hash of an entry under the canonical encoding described in the module docs.
pub fn audit_hash(
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"suiji-audit-v1\n");
    h.update((seq as u64).to_be_bytes());
    for field in [at, actor, action, subject, detail, prev_hash] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends an entry inside the caller's (IMMEDIATE) transaction, returning its seq.
pub(crate) fn append(
    c: &Connection,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &impl serde::Serialize,
) -> R<i64> {
    non_empty("audit time", at)?;
    non_empty("actor", actor)?;
    non_empty("audit action", action)?;
    let detail = serde_json::to_string(detail)
        .map_err(|e| StoreError::invalid("audit detail", e.to_string()))?;
    let last: Option<(i64, String)> = c
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let hash = audit_hash(seq, at, actor, action, subject, &detail, &prev);
    c.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![seq, at, actor, action, subject, detail, prev, hash])?;
    Ok(seq)
}

fn text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().map(str::to_string),
        _ => None,
    }
}

impl Store {
    /// Appends an entry in its own transaction; returns its seq.
    pub fn append_audit(
        &mut self,
        at: &str,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &impl serde::Serialize,
    ) -> Result<i64, StoreError> {
        self.write(|tx| append(tx, at, actor, action, subject, detail))
    }

    /// Walks the whole chain from the first entry and reports the first broken link.
    pub fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT seq, at, actor, action, subject, detail, prev_hash, hash
                 FROM audit_log ORDER BY seq",
            )?;
            let mut rows = stmt.query([])?;
            let mut expected_seq = 1i64;
            let mut prev = GENESIS_HASH.to_string();
            let mut checked = 0u64;
            while let Some(r) = rows.next()? {
                let seq: i64 = match r.get_ref(0)? {
                    ValueRef::Integer(i) => i,
                    _ => return Err(Fail::corrupt("audit_log.seq is not an integer")),
                };
                let broken = |problem| {
                    Ok(AuditReport::Broken(AuditBreak {
                        seq,
                        intact_before: checked,
                        problem,
                    }))
                };
                if seq != expected_seq {
                    return broken(AuditProblem::Gap { expected_seq });
                }
                let mut fields: Vec<String> = Vec::with_capacity(7);
                for (i, name) in [
                    "at",
                    "actor",
                    "action",
                    "subject",
                    "detail",
                    "prev_hash",
                    "hash",
                ]
                .into_iter()
                .enumerate()
                {
                    match text(r.get_ref(i + 1)?) {
                        Some(s) => fields.push(s),
                        None => return broken(AuditProblem::Malformed { field: name }),
                    }
                }
                let [at, actor, action, subject, detail, prev_hash, hash] = &fields[..] else {
                    return Err(Fail::corrupt("audit_log row has the wrong shape"));
                };
                if *prev_hash != prev {
                    return broken(AuditProblem::PrevMismatch {
                        expected: prev,
                        found: prev_hash.clone(),
                    });
                }
                let computed = audit_hash(seq, at, actor, action, subject, detail, prev_hash);
                if computed != *hash {
                    return broken(AuditProblem::HashMismatch {
                        stored: hash.clone(),
                        computed,
                    });
                }
                prev = hash.clone();
                expected_seq += 1;
                checked += 1;
            }
            Ok(AuditReport::Intact {
                entries: checked,
                head: prev,
            })
        })
    }

    /// Up to `limit` entries with `seq > after_seq`, in order.
    pub fn audit_entries(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, at, actor, action, subject, detail, prev_hash, hash
                 FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after_seq, limit], |r| {
                Ok(AuditEntry {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    subject: r.get(4)?,
                    detail: r.get(5)?,
                    prev_hash: r.get(6)?,
                    hash: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}
