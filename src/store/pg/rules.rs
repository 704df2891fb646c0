//! The rule set's approved versions and the changes proposed to it, on PostgreSQL: the same
//! rows, steps and audit entries as on SQLite (`store::rule_versions`), each step one
//! transaction with its entry. Two nodes approving at once take turns on the versions' lock,
//! so the second sees the first's version and records nothing (`expect_latest`).

use postgres::Transaction;

use super::super::StoreError;
use super::super::error::{Fail, R};
use super::super::rule_versions::{
    CHANGE, NewRuleChange, NewRuleVersion, RuleChangeRow, RuleStep, RuleStore, RuleVersionRow,
    VERSION, approve_audit, draft_audit, files_json, move_audit, not_editable, not_in,
    removed_json, to_json, version_audit,
};
use super::{PgStore, audit};

/// The class of the advisory lock held while a version is recorded (its number decided).
const VERSIONS_LOCK: i32 = 0x5e3;

fn corrupt(what: &str, id: i64, e: &serde_json::Error) -> Fail {
    Fail::corrupt(format!("{what} {id}: its files are not readable: {e}"))
}

fn version_row(r: &postgres::Row) -> R<RuleVersionRow> {
    let id: i64 = r.try_get(0)?;
    Ok(RuleVersionRow {
        id,
        rules_hash: r.try_get(1)?,
        files: files_json(r.try_get(2)?).map_err(|e| corrupt("rule version", id, &e))?,
        kind: r.try_get(3)?,
        change_id: r.try_get(4)?,
        author: r.try_get(5)?,
        approver: r.try_get(6)?,
        approved_at: r.try_get(7)?,
    })
}

fn change_row(r: &postgres::Row) -> R<RuleChangeRow> {
    let id: i64 = r.try_get(0)?;
    Ok(RuleChangeRow {
        id,
        department: r.try_get(1)?,
        kind: r.try_get(2)?,
        files: files_json(r.try_get(3)?).map_err(|e| corrupt("rule change", id, &e))?,
        removed: removed_json(r.try_get(4)?).map_err(|e| corrupt("rule change", id, &e))?,
        base_hash: r.try_get(5)?,
        state: r.try_get(6)?,
        author: r.try_get(7)?,
        created_at: r.try_get(8)?,
        updated_at: r.try_get(9)?,
        submitted_at: r.try_get(10)?,
        decided_by: r.try_get(11)?,
        decided_at: r.try_get(12)?,
        comment: r.try_get(13)?,
        rollback_of: r.try_get(14)?,
    })
}

fn versions(
    tx: &mut Transaction<'_>,
    tail: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> R<Vec<RuleVersionRow>> {
    tx.query(&format!("{VERSION} {tail}"), params)?
        .iter()
        .map(version_row)
        .collect()
}

fn changes(
    tx: &mut Transaction<'_>,
    tail: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> R<Vec<RuleChangeRow>> {
    tx.query(&format!("{CHANGE} {tail}"), params)?
        .iter()
        .map(change_row)
        .collect()
}

fn change(tx: &mut Transaction<'_>, id: i64) -> R<RuleChangeRow> {
    changes(tx, "WHERE id = $1", &[&id])?
        .pop()
        .ok_or_else(|| Fail::corrupt(format!("rule change {id} vanished in its own transaction")))
}

/// The latest version's number, once this transaction holds the versions' lock (read
/// committed: every version committed before it).
fn latest_locked(tx: &mut Transaction<'_>) -> R<Option<i64>> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&VERSIONS_LOCK],
    )?;
    Ok(tx
        .query_one("SELECT max(id) FROM rule_versions", &[])?
        .try_get(0)?)
}

fn insert_version(
    tx: &mut Transaction<'_>,
    v: &NewRuleVersion<'_>,
    change_id: Option<i64>,
    step: RuleStep<'_>,
) -> R<i64> {
    Ok(tx
        .query_one(
            "INSERT INTO rule_versions (rules_hash, files, kind, change_id, author, approver, approved_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &v.rules_hash,
                &to_json(v.files)?,
                &v.kind,
                &change_id,
                &v.author,
                &step.actor,
                &step.at,
            ],
        )?
        .try_get(0)?)
}

impl RuleStore for PgStore {
    fn latest_rule_version(&self) -> Result<Option<RuleVersionRow>, StoreError> {
        self.read(|tx| Ok(versions(tx, "ORDER BY id DESC LIMIT 1", &[])?.pop()))
    }

    fn rule_versions(&self) -> Result<Vec<RuleVersionRow>, StoreError> {
        self.read(|tx| versions(tx, "ORDER BY id DESC", &[]))
    }

    fn rule_version(&self, id: i64) -> Result<Option<RuleVersionRow>, StoreError> {
        self.read(|tx| Ok(versions(tx, "WHERE id = $1", &[&id])?.pop()))
    }

    fn rule_version_of_hash(&self, hash: &str) -> Result<Option<RuleVersionRow>, StoreError> {
        self.read(|tx| {
            Ok(versions(
                tx,
                "WHERE rules_hash = $1 ORDER BY id DESC LIMIT 1",
                &[&hash],
            )?
            .pop())
        })
    }

    fn record_rule_version(
        &mut self,
        v: &NewRuleVersion<'_>,
        expect_latest: Option<i64>,
        step: RuleStep<'_>,
    ) -> Result<Option<i64>, StoreError> {
        self.write(|tx| {
            let latest = latest_locked(tx)?;
            if latest != expect_latest {
                return Ok(None);
            }
            let base_hash: String = match latest {
                Some(id) => tx
                    .query_one("SELECT rules_hash FROM rule_versions WHERE id = $1", &[&id])?
                    .try_get(0)?,
                None => String::new(),
            };
            let id = insert_version(tx, v, None, step)?;
            audit::append(
                tx,
                &self.origin,
                &version_audit(v, base_hash, id).entry(step),
            )?;
            Ok(Some(id))
        })
    }

    fn save_rule_change(
        &mut self,
        id: Option<i64>,
        change: &NewRuleChange<'_>,
        step: RuleStep<'_>,
    ) -> Result<i64, StoreError> {
        self.write(|tx| {
            let files = to_json(change.files)?;
            let removed = to_json(&change.removed)?;
            let id = match id {
                None => tx
                    .query_one(
                        "INSERT INTO rule_changes (department, kind, files, removed, base_hash,
                         state, author, created_at, updated_at, rollback_of)
                         VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $7, $8) RETURNING id",
                        &[
                            &change.department,
                            &change.kind,
                            &files,
                            &removed,
                            &change.base_hash,
                            &step.actor,
                            &step.at,
                            &change.rollback_of,
                        ],
                    )?
                    .try_get(0)?,
                Some(id) => {
                    let n = tx.execute(
                        "UPDATE rule_changes SET files = $1, removed = $2, base_hash = $3,
                         state = 'draft', updated_at = $4, submitted_at = NULL
                         WHERE id = $5 AND state IN ('draft', 'returned') AND author = $6",
                        &[
                            &files,
                            &removed,
                            &change.base_hash,
                            &step.at,
                            &id,
                            &step.actor,
                        ],
                    )?;
                    if n == 0 {
                        return Err(Fail::from(not_editable(id, step.actor)));
                    }
                    id
                }
            };
            audit::append(tx, &self.origin, &draft_audit(id, change).entry(step))?;
            Ok(id)
        })
    }

    fn rule_changes(&self) -> Result<Vec<RuleChangeRow>, StoreError> {
        self.read(|tx| changes(tx, "ORDER BY id DESC", &[]))
    }

    fn rule_change(&self, id: i64) -> Result<Option<RuleChangeRow>, StoreError> {
        self.read(|tx| Ok(changes(tx, "WHERE id = $1", &[&id])?.pop()))
    }

    fn move_rule_change(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        comment: Option<&str>,
        step: RuleStep<'_>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let n = if to == "submitted" {
                tx.execute(
                    "UPDATE rule_changes SET state = $1, submitted_at = $2, updated_at = $2,
                     comment = NULL WHERE id = $3 AND state = $4",
                    &[&to, &step.at, &id, &from],
                )?
            } else {
                tx.execute(
                    "UPDATE rule_changes SET state = $1, decided_by = $2, decided_at = $3,
                     updated_at = $3, comment = $4 WHERE id = $5 AND state = $6",
                    &[&to, &step.actor, &step.at, &comment, &id, &from],
                )?
            };
            if n == 0 {
                return Err(Fail::from(not_in(id, from)));
            }
            let row = change(tx, id)?;
            audit::append(tx, &self.origin, &move_audit(row, to, comment).entry(step))?;
            Ok(())
        })
    }

    fn approve_rule_change(
        &mut self,
        id: i64,
        version: &NewRuleVersion<'_>,
        expect_latest: Option<i64>,
        step: RuleStep<'_>,
    ) -> Result<Option<i64>, StoreError> {
        self.write(|tx| {
            if latest_locked(tx)? != expect_latest {
                return Ok(None);
            }
            let n = tx.execute(
                "UPDATE rule_changes SET state = 'approved', decided_by = $1, decided_at = $2,
                 updated_at = $2 WHERE id = $3 AND state = 'submitted'",
                &[&step.actor, &step.at, &id],
            )?;
            if n == 0 {
                return Err(Fail::from(not_in(id, "submitted")));
            }
            let vid = insert_version(tx, version, Some(id), step)?;
            let row = change(tx, id)?;
            audit::append(
                tx,
                &self.origin,
                &approve_audit(row, version, vid).entry(step),
            )?;
            Ok(Some(vid))
        })
    }
}
