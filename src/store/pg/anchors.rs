//! Anchors of the audit chain's head on PostgreSQL: kept in the table `anchors` (SQLite keeps
//! them in `out/public/anchors.json`, see `store::anchors`), from which each node writes the
//! file, in the same format.
//!
//! An anchor is appended with the head's row locked (`audit_head`), so it names the head as it
//! stands while no entry is appended, and anchors are appended in the chain's order; the
//! server checks that it names an entry of the chain, and refuses UPDATE and DELETE.

use super::super::error::R;
use super::super::{Anchor, Anchors, StoreError};
use super::PgStore;

/// Appends an anchor: at, seq, hash, reason, subject.
pub(super) const INSERT: &str =
    "INSERT INTO anchors (at, seq, hash, reason, subject) VALUES ($1, $2, $3, $4, $5)";

fn anchor_row(r: &postgres::Row) -> R<Anchor> {
    Ok(Anchor {
        at: r.try_get(0)?,
        seq: r.try_get(1)?,
        hash: r.try_get(2)?,
        reason: r.try_get(3)?,
        subject: r.try_get(4)?,
    })
}

impl PgStore {
    /// Appends an anchor of the chain's current head, published at `at` for `reason` (`draw`,
    /// `publication`, `commitment`, `daily`) and `subject`, then calls `then` with every anchor
    /// (this one last) while the head is still locked, so that writers of a node's anchors file
    /// take turns. Nothing is appended for an empty chain, nor for a daily anchor when the head
    /// has not moved since the last anchor; `then` is called all the same. Returns the anchor
    /// appended and what `then` returned.
    pub fn append_anchor<T>(
        &mut self,
        at: &str,
        (reason, subject): (&str, &str),
        then: impl FnOnce(&Anchors) -> T,
    ) -> Result<(Option<Anchor>, T), StoreError> {
        self.write(|tx| {
            let head = tx.query_one("SELECT seq, hash FROM audit_head FOR UPDATE", &[])?;
            let (seq, hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
            let mut anchors = all(tx)?;
            let unchanged = anchors
                .anchors
                .last()
                .is_some_and(|a| a.seq == seq && a.hash == hash);
            let mut appended = None;
            if seq > 0 && !(reason == "daily" && unchanged) {
                tx.execute(INSERT, &[&at, &seq, &hash, &reason, &subject])?;
                let anchor = Anchor {
                    at: at.into(),
                    hash,
                    reason: reason.into(),
                    seq,
                    subject: subject.into(),
                };
                anchors.anchors.push(anchor.clone());
                appended = Some(anchor);
            }
            Ok((appended, then(&anchors)))
        })
    }

    /// Every anchor, in the order appended: what `anchors.json` publishes.
    pub fn anchors(&self) -> Result<Anchors, StoreError> {
        self.read(all)
    }
}

fn all(tx: &mut postgres::Transaction<'_>) -> R<Anchors> {
    let rows = tx.query(
        "SELECT at, seq, hash, reason, subject FROM anchors ORDER BY id",
        &[],
    )?;
    Ok(Anchors {
        anchors: rows.iter().map(anchor_row).collect::<R<_>>()?,
        ..Anchors::default()
    })
}
