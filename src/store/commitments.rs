//! Commitments to a draw's seed source, made before the source's value exists (commit, then
//! reveal, as RFC 3797 does): what will be drawn from (matter, period, registry snapshots,
//! rules, algorithm) and the named public source of the seed with the time it announces its
//! value. Permanent (triggers) and audited (`commitment.record`, with the hash of the row).

use rusqlite::{Connection, params};

use super::audit::{Entry, append};
use super::error::R;
use super::rows::Rows;
use super::util::non_empty;
use super::{Store, StoreError};

/// A commitment, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Commitment {
    pub id: i64,
    pub matter: String,
    pub period: String,
    /// When it was made (the real time).
    pub committed_at: String,
    /// The named public source of the seed: a named lottery's result of a named date, a
    /// randomness beacon's round.
    pub source: String,
    /// When the source announces its value (e.g. the lottery's draw time).
    pub source_time: String,
    pub targets_snapshot: String,
    pub inspectors_snapshot: String,
    pub rules_hash: String,
    pub algorithm: String,
    pub actor: String,
}

/// `commitment.record`: a commitment was made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommitmentAudit {
    pub algorithm: String,
    pub commitment_id: i64,
    pub inspectors_snapshot: String,
    pub matter: String,
    pub period: String,
    pub rules_hash: String,
    pub source: String,
    pub source_time: String,
    pub targets_snapshot: String,
}

/// The columns of a commitment, in order (also what its audit entry hashes).
pub const COLUMNS: &str = "id, matter, period, committed_at, source, source_time, \
    targets_snapshot, inspectors_snapshot, rules_hash, algorithm, actor";

/// The text a draw's `seed_source` holds when its seed was revealed for commitment `id`; it
/// is how a commitment is known to be used.
pub fn seed_source_mark(id: i64) -> String {
    format!("(commitment #{id},")
}

/// The commitment a draw's recorded seed source names (`seed_source_mark`), if any.
pub fn commitment_in(seed_source: &str) -> Option<i64> {
    let (_, rest) = seed_source.split_once("(commitment #")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Commitment> {
    Ok(Commitment {
        id: r.get(0)?,
        matter: r.get(1)?,
        period: r.get(2)?,
        committed_at: r.get(3)?,
        source: r.get(4)?,
        source_time: r.get(5)?,
        targets_snapshot: r.get(6)?,
        inspectors_snapshot: r.get(7)?,
        rules_hash: r.get(8)?,
        algorithm: r.get(9)?,
        actor: r.get(10)?,
    })
}

fn query(c: &Connection, where_sql: &str, p: impl rusqlite::Params) -> R<Vec<Commitment>> {
    super::select_all(
        c,
        &format!("SELECT {COLUMNS} FROM commitments WHERE {where_sql} ORDER BY id"),
        p,
        row,
    )
}

/// The commitments of (matter, period) no draw has revealed yet.
fn open_of(c: &Connection, matter: &str, period: &str) -> R<Vec<Commitment>> {
    let all = query(c, "matter = ?1 AND period = ?2", [matter, period])?;
    let mut out = Vec::new();
    for k in all {
        let used: i64 = c.query_row(
            "SELECT count(*) FROM draws WHERE matter = ?1 AND period = ?2 \
             AND instr(seed_source, ?3) > 0",
            params![matter, period, seed_source_mark(k.id)],
            |r| r.get(0),
        )?;
        if used == 0 {
            out.push(k);
        }
    }
    Ok(out)
}

/// Refuses a commitment with an empty field.
pub(crate) fn valid(k: &Commitment) -> R<()> {
    for (field, v) in [
        ("matter", &k.matter),
        ("period", &k.period),
        ("commitment time", &k.committed_at),
        ("source", &k.source),
        ("source time", &k.source_time),
        ("actor", &k.actor),
    ] {
        non_empty(field, v)?;
    }
    Ok(())
}

/// Refuses `k` while `open`, another commitment of its matter and period, waits for its value.
pub(crate) fn require_none_open(k: &Commitment, open: Option<&Commitment>) -> R<()> {
    match open {
        Some(open) => Err(StoreError::invalid(
            "commitment",
            format!(
                "{} {} already has commitment #{} to {} ({}), waiting for its value",
                k.matter, k.period, open.id, open.source, open.source_time
            ),
        )
        .into()),
        None => Ok(()),
    }
}

/// The audit detail of commitment `k` recorded as `id` (`commitment.record`).
pub(crate) fn audit_of(k: &Commitment, id: i64) -> CommitmentAudit {
    CommitmentAudit {
        algorithm: k.algorithm.clone(),
        commitment_id: id,
        inspectors_snapshot: k.inspectors_snapshot.clone(),
        matter: k.matter.clone(),
        period: k.period.clone(),
        rules_hash: k.rules_hash.clone(),
        source: k.source.clone(),
        source_time: k.source_time.clone(),
        targets_snapshot: k.targets_snapshot.clone(),
    }
}

impl Store {
    /// Records a commitment with its audit entry, in one transaction. Refused with
    /// [`StoreError::Invalid`] while another commitment of the same matter and period waits
    /// for its value: one source per draw, chosen before any value exists.
    pub fn record_commitment(&mut self, k: &Commitment) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            valid(k)?;
            require_none_open(k, open_of(tx, &k.matter, &k.period)?.first())?;
            tx.execute(
                "INSERT INTO commitments (matter, period, committed_at, source, source_time,
                     targets_snapshot, inspectors_snapshot, rules_hash, algorithm, actor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    k.matter,
                    k.period,
                    k.committed_at,
                    k.source,
                    k.source_time,
                    k.targets_snapshot,
                    k.inspectors_snapshot,
                    k.rules_hash,
                    k.algorithm,
                    k.actor
                ],
            )?;
            let id = tx.last_insert_rowid();
            let detail = audit_of(k, id);
            let entry = Entry {
                at: &k.committed_at,
                actor: &k.actor,
                action: "commitment.record",
                subject: &format!("commitment:{id}"),
                detail: &detail,
                rows: Rows::Commitment(id),
            };
            append(tx, &origin, &entry)?;
            Ok(id)
        })
    }

    /// The commitment of (matter, period) waiting for its value, if any.
    pub fn open_commitment(
        &self,
        matter: &str,
        period: &str,
    ) -> Result<Option<Commitment>, StoreError> {
        self.read(|c| Ok(open_of(c, matter, period)?.into_iter().next()))
    }

    /// Every commitment, oldest first, with whether a draw revealed it yet.
    pub fn commitments(&self) -> Result<Vec<(Commitment, bool)>, StoreError> {
        self.read(|c| {
            let all = query(c, "1 = 1", [])?;
            let mut out = Vec::new();
            for k in all {
                let open = open_of(c, &k.matter, &k.period)?
                    .iter()
                    .any(|o| o.id == k.id);
                out.push((k, !open));
            }
            Ok(out)
        })
    }
}
