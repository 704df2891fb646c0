//! The audit log: append-only and hash-chained.
//!
//! Each entry's `hash` is the lowercase hex SHA-256 of its canonical encoding, where
//! `u64be(n)` is `n` as 8 big-endian bytes and every text field is its exact stored UTF-8
//! bytes. Entries of format 1 (every entry written before schema version 3):
//!
//! ```text
//! "suiji-audit-v1\n"
//! u64be(seq)
//! for field in [at, actor, action, subject, detail, prev_hash]:
//!     u64be(byte length of field) field
//! ```
//!
//! Entries of format 2 (every entry written since) add who wrote them and what they record;
//! these fields are stored beside the entry in `audit_v2`, and an entry with a row there is
//! hashed as format 2. `opt(x)` is the byte 0x00 when `x` is absent, else 0x01 followed by
//! `u64be(byte length of x) x`:
//!
//! ```text
//! "suiji-audit-v2\n"
//! u64be(seq)
//! for field in [at, actor, os_user, host]:
//!     u64be(byte length of field) field
//! opt(console_user)
//! for field in [action, subject, detail]:
//!     u64be(byte length of field) field
//! opt(rows_hash)
//! u64be(byte length of prev_hash) prev_hash
//! ```
//!
//! `actor` is the name given with `--actor` (self-declared); `os_user` and `host` are the OS
//! account and machine of the writing process ([`Origin`]); `console_user` is the signed-in
//! user when the console made the write; `rows_hash` is the hash of the rows the entry
//! records (a draw's rows, results, a publication; see `store::rows`), absent for entries
//! that record none.
//!
//! `detail` is the JSON text exactly as stored (compact serde_json output at append time), so
//! a verifier hashes the column as it finds it and never re-serializes. `prev_hash` is the
//! previous entry's `hash`; the first entry's is [`GENESIS_HASH`] (64 zeros). Sequence numbers
//! start at 1 and have no gaps.
//!
//! What the chain proves: no entry was changed, removed or inserted in the middle, and (as
//! [`Store::verify_audit`] hashes every entry's rows again) no row an entry of format 2
//! records was changed since. Removing entries from the end leaves a valid shorter chain, and
//! whoever holds the file can hash a whole edited chain again; publishing the head hash
//! (returned by [`AuditReport::Intact`]) elsewhere is what catches both (`store::anchors`).

use rusqlite::{Connection, OptionalExtension, params, types::ValueRef};
use sha2::{Digest, Sha256};

use super::error::{Fail, R};
use super::origin::Origin;
use super::rows::{Rows, rows_hash};
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
    /// What format 2 adds; `None` for an entry of format 1.
    pub v2: Option<AuditV2>,
}

/// The fields of an audit entry of format 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditV2 {
    pub os_user: String,
    pub host: String,
    pub console_user: Option<String>,
    pub rows_hash: Option<String>,
}

impl AuditEntry {
    /// 1 or 2: the encoding the entry is hashed with.
    pub fn format(&self) -> u8 {
        if self.v2.is_some() { 2 } else { 1 }
    }

    /// The hash of the entry's content under its format's encoding.
    pub fn computed_hash(&self) -> String {
        match &self.v2 {
            None => audit_hash(
                self.seq,
                &self.at,
                &self.actor,
                &self.action,
                &self.subject,
                &self.detail,
                &self.prev_hash,
            ),
            Some(v2) => audit_hash_v2(self, v2),
        }
    }

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
    /// What the entry records (`draw.record zhian.hotel/2023-H1`), for the message.
    pub subject: String,
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
    /// The entry is intact but the rows it records (a draw's targets, teams, exclusions and
    /// manifest; results; a publication) no longer hash to the `rows_hash` it recorded: they
    /// were edited, removed or added behind suiji's back.
    RowsChanged { recorded: String, now: String },
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
            AuditProblem::RowsChanged { recorded, now } => write!(
                f,
                "the rows it records were changed since ({}; recorded rows hash {recorded}, \
                 the rows now hash to {now})",
                self.subject
            ),
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

/// The hash of an entry of format 2 (the module docs give the encoding). `entry.hash` is
/// not read.
pub fn audit_hash_v2(entry: &AuditEntry, v2: &AuditV2) -> String {
    fn field(h: &mut Sha256, f: &str) {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    fn opt(h: &mut Sha256, f: Option<&str>) {
        match f {
            None => h.update([0u8]),
            Some(f) => {
                h.update([1u8]);
                field(h, f);
            }
        }
    }
    let mut h = Sha256::new();
    h.update(b"suiji-audit-v2\n");
    h.update((entry.seq as u64).to_be_bytes());
    for f in [&entry.at, &entry.actor, &v2.os_user, &v2.host] {
        field(&mut h, f);
    }
    opt(&mut h, v2.console_user.as_deref());
    for f in [&entry.action, &entry.subject, &entry.detail] {
        field(&mut h, f);
    }
    opt(&mut h, v2.rows_hash.as_deref());
    field(&mut h, &entry.prev_hash);
    hex::encode(h.finalize())
}

/// What an entry says, before it is chained.
pub(crate) struct Entry<'a, D: serde::Serialize> {
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub detail: &'a D,
    /// The rows it records; they must be written (in the same transaction) before it.
    pub rows: Rows<'a>,
}

/// The entry of format 2 that follows entry `last_seq` (hash `last_hash`): checked, its
/// rows hashed by `hash_rows`, itself hashed. The one place an entry is made, whatever the
/// database.
pub(crate) fn chained<D: serde::Serialize>(
    origin: &Origin,
    e: &Entry<'_, D>,
    last_seq: i64,
    last_hash: String,
    hash_rows: impl FnOnce(Rows<'_>) -> R<Option<String>>,
) -> R<(AuditEntry, AuditV2)> {
    let (at, actor, action, subject) = (e.at, e.actor, e.action, e.subject);
    non_empty("OS user", &origin.os_user)?;
    non_empty("host", &origin.host)?;
    if let Some(u) = &origin.console_user {
        non_empty("console user", u)?;
    }
    non_empty("audit time", at)?;
    non_empty("actor", actor)?;
    non_empty("audit action", action)?;
    let detail = serde_json::to_string(e.detail)
        .map_err(|e| StoreError::invalid("audit detail", e.to_string()))?;
    let v2 = AuditV2 {
        os_user: origin.os_user.clone(),
        host: origin.host.clone(),
        console_user: origin.console_user.clone(),
        rows_hash: hash_rows(e.rows)?,
    };
    let mut entry = AuditEntry {
        seq: last_seq + 1,
        at: at.into(),
        actor: actor.into(),
        action: action.into(),
        subject: subject.into(),
        detail,
        prev_hash: last_hash,
        hash: String::new(),
        v2: None,
    };
    entry.hash = audit_hash_v2(&entry, &v2);
    Ok((entry, v2))
}

/// Appends an entry of format 2 inside the caller's (IMMEDIATE) transaction, returning its
/// seq.
pub(crate) fn append<D: serde::Serialize>(
    c: &Connection,
    origin: &Origin,
    e: &Entry<'_, D>,
) -> R<i64> {
    append_with(c, origin, e, |rows| rows_hash(c, rows))
}

/// [`append`] for an entry whose rows hash was made as its rows were inserted
/// ([`super::rows::Inserted`]): `rows_hash`.
pub(crate) fn append_hashed<D: serde::Serialize>(
    c: &Connection,
    origin: &Origin,
    e: &Entry<'_, D>,
    rows_hash: String,
) -> R<i64> {
    append_with(c, origin, e, |_| Ok(Some(rows_hash)))
}

fn append_with<D: serde::Serialize>(
    c: &Connection,
    origin: &Origin,
    e: &Entry<'_, D>,
    hash_rows: impl FnOnce(Rows<'_>) -> R<Option<String>>,
) -> R<i64> {
    let last: Option<(i64, String)> = c
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (last_seq, last_hash) = last.unwrap_or((0, GENESIS_HASH.to_string()));
    let (entry, v2) = chained(origin, e, last_seq, last_hash, hash_rows)?;
    let seq = entry.seq;
    let (at, actor, action, subject) = (e.at, e.actor, e.action, e.subject);
    c.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        seq,
        at,
        actor,
        action,
        subject,
        entry.detail,
        entry.prev_hash,
        entry.hash
    ])?;
    c.prepare_cached(
        "INSERT INTO audit_v2 (seq, os_user, host, console_user, rows_hash)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        seq,
        v2.os_user,
        v2.host,
        v2.console_user,
        v2.rows_hash
    ])?;
    Ok(seq)
}

fn text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().map(str::to_string),
        _ => None,
    }
}

/// An optional text column: `Some(None)` for NULL, `None` when it is not text.
fn opt_text(v: ValueRef<'_>) -> Option<Option<String>> {
    match v {
        ValueRef::Null => Some(None),
        other => text(other).map(Some),
    }
}

const SELECT_ENTRIES: &str = "SELECT a.seq, a.at, a.actor, a.action, a.subject, a.detail,
        a.prev_hash, a.hash, v.seq, v.os_user, v.host, v.console_user, v.rows_hash
     FROM audit_log a LEFT JOIN audit_v2 v ON v.seq = a.seq";

/// Reads one row of [`SELECT_ENTRIES`]; `Err(field)` names a field that is not text.
fn read_entry(r: &rusqlite::Row<'_>, seq: i64) -> R<Result<AuditEntry, &'static str>> {
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
            None => return Ok(Err(name)),
        }
    }
    let [at, actor, action, subject, detail, prev_hash, hash] = <[String; 7]>::try_from(fields)
        .map_err(|_| Fail::corrupt("audit_log row has the wrong shape"))?;
    let v2 = match r.get_ref(8)? {
        ValueRef::Null => None,
        _ => {
            let (Some(os_user), Some(host)) = (text(r.get_ref(9)?), text(r.get_ref(10)?)) else {
                return Ok(Err("os_user"));
            };
            let (Some(console_user), Some(rows_hash)) =
                (opt_text(r.get_ref(11)?), opt_text(r.get_ref(12)?))
            else {
                return Ok(Err("console_user"));
            };
            Some(AuditV2 {
                os_user,
                host,
                console_user,
                rows_hash,
            })
        }
    };
    Ok(Ok(AuditEntry {
        seq,
        at,
        actor,
        action,
        subject,
        detail,
        prev_hash,
        hash,
        v2,
    }))
}

impl Store {
    /// Appends an entry (recording no rows of its own) in its own transaction; returns its
    /// seq.
    pub fn append_audit(
        &mut self,
        at: &str,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &impl serde::Serialize,
    ) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let e = Entry {
                at,
                actor,
                action,
                subject,
                detail,
                rows: Rows::None,
            };
            append(tx, &origin, &e)
        })
    }

    /// Walks the whole chain from the first entry and reports the first broken link: an
    /// entry out of sequence, not following the previous one, not hashing to its hash, or
    /// recording rows that no longer hash to its `rows_hash`.
    pub fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{SELECT_ENTRIES} ORDER BY a.seq"))?;
            let mut rows = stmt.query([])?;
            let mut walk = Walk::new();
            while let Some(r) = rows.next()? {
                let seq: i64 = match r.get_ref(0)? {
                    ValueRef::Integer(i) => i,
                    _ => return Err(Fail::corrupt("audit_log.seq is not an integer")),
                };
                if let Some(broken) = walk.gap(seq) {
                    return Ok(broken);
                }
                let e = match read_entry(r, seq)? {
                    Ok(e) => e,
                    Err(field) => return Ok(walk.broken(seq, AuditProblem::Malformed { field })),
                };
                if let Some(broken) = walk.step(e, |e| rows_hash_of(c, e))? {
                    return Ok(broken);
                }
            }
            Ok(walk.finish())
        })
    }

    /// Up to `limit` entries with `seq > after_seq`, in order.
    /// The seq of the last entry (0 when the log is empty).
    pub fn audit_last_seq(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT coalesce(max(seq), 0) FROM audit_log")?
                    .query_row([], |r| r.get(0))?,
            )
        })
    }

    pub fn audit_entries(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "{SELECT_ENTRIES} WHERE a.seq > ?1 ORDER BY a.seq LIMIT ?2"
            ))?;
            let mut rows = stmt.query(params![after_seq, limit])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let seq: i64 = r.get(0)?;
                match read_entry(r, seq)? {
                    Ok(e) => out.push(e),
                    Err(field) => {
                        return Err(Fail::corrupt(format!(
                            "audit entry {seq}: field {field} is not text"
                        )));
                    }
                }
            }
            Ok(out)
        })
    }

    /// The hash of the rows `entry` records, as they are in the database now (`None` for an
    /// entry that records none, or one of format 1). Compared with the entry's `rows_hash`,
    /// it shows whether those rows were edited since; `verify_audit` makes that comparison
    /// for every entry.
    pub fn rows_hash_now(&self, entry: &AuditEntry) -> Result<Option<String>, StoreError> {
        self.read(|c| rows_hash_of(c, entry))
    }
}

/// The hash of the rows `entry` records, as they are now (see [`Store::rows_hash_now`]).
fn rows_hash_of(c: &Connection, entry: &AuditEntry) -> R<Option<String>> {
    recorded_rows(entry, |rows| rows_hash(c, rows))
}

/// Names the rows `entry` records (by the entry's own action and detail, which the chain
/// protects) and hashes them with `hash`; `None` for an entry of format 1.
pub(crate) fn recorded_rows(
    entry: &AuditEntry,
    hash: impl FnOnce(Rows<'_>) -> R<Option<String>>,
) -> R<Option<String>> {
    if entry.v2.is_none() {
        return Ok(None);
    }
    let detail: serde_json::Value = entry
        .detail_json()
        .map_err(|e| StoreError::invalid("audit detail", e.to_string()))?;
    let id = |k: &str| detail.get(k).and_then(serde_json::Value::as_i64);
    let ids = |k: &str| -> Vec<i64> {
        detail
            .get(k)
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
            .unwrap_or_default()
    };
    let (results, published) = (ids("ids"), ids("result_ids"));
    let rows = match (entry.action.as_str(), id("draw_id"), id("publication_id")) {
        ("draw.record" | "draw.redraw", Some(draw), _) => Rows::Draw(draw),
        ("results.record", _, _) => Rows::Results(&results),
        ("commitment.record", _, _) => match id("commitment_id") {
            Some(k) => Rows::Commitment(k),
            None => Rows::None,
        },
        ("draw.change", _, _) => match id("change_id") {
            Some(k) => Rows::Change(k),
            None => Rows::None,
        },
        ("publication.record", _, Some(p)) => Rows::Publication {
            id: p,
            results: &published,
        },
        _ => Rows::None,
    };
    hash(rows)
}

/// A walk along the chain from its first entry, whatever the database: each entry must come
/// in sequence, follow the previous one, hash to its hash and record rows that still hash
/// to its `rows_hash`.
pub(crate) struct Walk {
    expected_seq: i64,
    prev: String,
    checked: u64,
}

impl Walk {
    pub(crate) fn new() -> Walk {
        Walk {
            expected_seq: 1,
            prev: GENESIS_HASH.to_string(),
            checked: 0,
        }
    }

    /// The chain broken at `seq`.
    pub(crate) fn broken(&self, seq: i64, problem: AuditProblem) -> AuditReport {
        self.broken_at(seq, problem, String::new())
    }

    fn broken_at(&self, seq: i64, problem: AuditProblem, subject: String) -> AuditReport {
        AuditReport::Broken(AuditBreak {
            seq,
            intact_before: self.checked,
            subject,
            problem,
        })
    }

    /// The break when the next entry is not entry `seq`.
    pub(crate) fn gap(&self, seq: i64) -> Option<AuditReport> {
        (seq != self.expected_seq).then(|| {
            self.broken(
                seq,
                AuditProblem::Gap {
                    expected_seq: self.expected_seq,
                },
            )
        })
    }

    /// Checks the next entry (already known to be in sequence); `Some` when the chain breaks
    /// there. `rows_now` hashes the rows the entry records as they are now.
    pub(crate) fn step(
        &mut self,
        e: AuditEntry,
        rows_now: impl FnOnce(&AuditEntry) -> R<Option<String>>,
    ) -> R<Option<AuditReport>> {
        let subject = format!("{} {}", e.action, e.subject);
        if e.prev_hash != self.prev {
            let problem = AuditProblem::PrevMismatch {
                expected: self.prev.clone(),
                found: e.prev_hash.clone(),
            };
            return Ok(Some(self.broken_at(e.seq, problem, subject)));
        }
        let computed = e.computed_hash();
        if computed != e.hash {
            let stored = e.hash.clone();
            let problem = AuditProblem::HashMismatch { stored, computed };
            return Ok(Some(self.broken_at(e.seq, problem, subject)));
        }
        if let Some(recorded) = e.v2.as_ref().and_then(|v| v.rows_hash.clone()) {
            let now = rows_now(&e)?.unwrap_or_default();
            if now != recorded {
                let problem = AuditProblem::RowsChanged { recorded, now };
                return Ok(Some(self.broken_at(e.seq, problem, subject)));
            }
        }
        self.prev = e.hash;
        self.expected_seq += 1;
        self.checked += 1;
        Ok(None)
    }

    /// The report when every entry checked out.
    pub(crate) fn finish(self) -> AuditReport {
        AuditReport::Intact {
            entries: self.checked,
            head: self.prev,
        }
    }
}
