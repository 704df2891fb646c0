//! The rule set's approved versions and the changes proposed to it (规则变更与审核).
//!
//! A version is the whole rule set as approved (every file, named as in a rules archive) with
//! its rules hash; versions are permanent and numbered from 1. A change is a department's
//! proposed files over a base version (by rules hash): drafted, submitted, then approved
//! (which records the next version in the same transaction) or returned with a comment.
//! Every step is one transaction with its audit entry.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::audit::{Entry, append};
use super::error::{Fail, R};
use super::rows::Rows;
use super::{Store, StoreError};

/// Files by archive path (`config/suiji.toml`, `config/holidays/2025.toml`, `rules/x.toml`).
pub type RuleFiles = BTreeMap<String, String>;

/// A stored version of the rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleVersionRow {
    /// The version number (1, 2, …).
    pub id: i64,
    pub rules_hash: String,
    pub files: RuleFiles,
    /// `adopted` (the files found at the first start), `edit`, `outside` (changed on disk
    /// outside the console) or `rollback`.
    pub kind: String,
    pub change_id: Option<i64>,
    pub author: String,
    pub approver: String,
    pub approved_at: String,
}

/// A version to record.
#[derive(Debug, Clone)]
pub struct NewRuleVersion<'a> {
    pub rules_hash: &'a str,
    pub files: &'a RuleFiles,
    pub kind: &'a str,
    pub author: &'a str,
}

/// A stored change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleChangeRow {
    pub id: i64,
    pub department: String,
    /// `edit` or `rollback`.
    pub kind: String,
    /// The new text of every file it changes or adds.
    pub files: RuleFiles,
    /// The files it removes.
    pub removed: Vec<String>,
    /// The rules hash of the version it was made from.
    pub base_hash: String,
    /// `draft`, `submitted`, `approved` or `returned`.
    pub state: String,
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
    pub submitted_at: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// Why it was returned.
    pub comment: Option<String>,
    /// The version a rollback returns to.
    pub rollback_of: Option<i64>,
}

/// A change's content as saved.
#[derive(Debug, Clone)]
pub struct NewRuleChange<'a> {
    pub department: &'a str,
    pub kind: &'a str,
    pub files: &'a RuleFiles,
    pub removed: &'a [String],
    pub base_hash: &'a str,
    pub rollback_of: Option<i64>,
}

/// `rules.draft`, `rules.submit`, `rules.return`, `rules.approve`, `rules.adopt`,
/// `rules.rollback` (format version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleChangeAudit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<i64>,
    pub department: String,
    /// The files changed, added or removed.
    pub files: Vec<String>,
    pub base_hash: String,
    /// The version recorded (approvals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Its rules hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

fn files_of(text: &str) -> rusqlite::Result<RuleFiles> {
    files_json(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn removed_of(text: &str) -> rusqlite::Result<Vec<String>> {
    removed_json(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> R<String> {
    serde_json::to_string(value).map_err(|e| Fail::corrupt(e.to_string()))
}

pub(crate) const VERSION: &str =
    "SELECT id, rules_hash, files, kind, change_id, author, approver, approved_at
    FROM rule_versions";

fn version_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RuleVersionRow> {
    let files: String = r.get(2)?;
    Ok(RuleVersionRow {
        id: r.get(0)?,
        rules_hash: r.get(1)?,
        files: files_of(&files)?,
        kind: r.get(3)?,
        change_id: r.get(4)?,
        author: r.get(5)?,
        approver: r.get(6)?,
        approved_at: r.get(7)?,
    })
}

pub(crate) const CHANGE: &str =
    "SELECT id, department, kind, files, removed, base_hash, state, author,
    created_at, updated_at, submitted_at, decided_by, decided_at, comment, rollback_of
    FROM rule_changes";

fn change_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RuleChangeRow> {
    let files: String = r.get(3)?;
    let removed: String = r.get(4)?;
    Ok(RuleChangeRow {
        id: r.get(0)?,
        department: r.get(1)?,
        kind: r.get(2)?,
        files: files_of(&files)?,
        removed: removed_of(&removed)?,
        base_hash: r.get(5)?,
        state: r.get(6)?,
        author: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        submitted_at: r.get(10)?,
        decided_by: r.get(11)?,
        decided_at: r.get(12)?,
        comment: r.get(13)?,
        rollback_of: r.get(14)?,
    })
}

fn changed_paths(files: &RuleFiles, removed: &[String]) -> Vec<String> {
    files
        .keys()
        .cloned()
        .chain(removed.iter().cloned())
        .collect()
}

/// Who does a step, and when.
#[derive(Debug, Clone, Copy)]
pub struct RuleStep<'a> {
    pub actor: &'a str,
    pub at: &'a str,
}

fn insert_version(
    tx: &rusqlite::Transaction<'_>,
    v: &NewRuleVersion<'_>,
    change_id: Option<i64>,
    step: RuleStep<'_>,
) -> R<i64> {
    tx.execute(
        "INSERT INTO rule_versions (rules_hash, files, kind, change_id, author, approver, approved_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            v.rules_hash,
            to_json(v.files)?,
            v.kind,
            change_id,
            v.author,
            step.actor,
            step.at
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The audit entry of a rule step, before it is appended: its action, subject and detail (it
/// records no rows). Built once for both databases.
pub(crate) struct StepAudit {
    action: &'static str,
    subject: String,
    detail: RuleChangeAudit,
}

impl StepAudit {
    /// The entry, as `step` made it.
    pub(crate) fn entry<'a>(&'a self, step: RuleStep<'a>) -> Entry<'a, RuleChangeAudit> {
        Entry {
            at: step.at,
            actor: step.actor,
            action: self.action,
            subject: &self.subject,
            detail: &self.detail,
            rows: Rows::None,
        }
    }

    /// The entry of a step on stored change `change` (a move, or its approval as `version`).
    fn of_row(
        action: &'static str,
        change: RuleChangeRow,
        version: Option<(i64, &str)>,
        comment: Option<&str>,
    ) -> StepAudit {
        StepAudit {
            action,
            subject: format!("rule-change:{}", change.id),
            detail: RuleChangeAudit {
                change_id: Some(change.id),
                files: changed_paths(&change.files, &change.removed),
                department: change.department,
                base_hash: change.base_hash,
                version: version.map(|v| v.0),
                rules_hash: version.map(|v| v.1.to_string()),
                comment: comment.map(str::to_string),
            },
        }
    }
}

/// The audit entry of a version no change proposed (`rules.adopt`, `rules.approve`) over the
/// version of `base_hash` (empty: none).
pub(crate) fn version_audit(v: &NewRuleVersion<'_>, base_hash: String, id: i64) -> StepAudit {
    StepAudit {
        action: if v.kind == "adopted" {
            "rules.adopt"
        } else {
            "rules.approve"
        },
        subject: format!("rules:v{id}"),
        detail: RuleChangeAudit {
            change_id: None,
            department: String::new(),
            files: v.files.keys().cloned().collect(),
            base_hash,
            version: Some(id),
            rules_hash: Some(v.rules_hash.to_string()),
            comment: None,
        },
    }
}

/// The audit entry of a draft saved as change `id` (`rules.draft`, `rules.rollback`).
pub(crate) fn draft_audit(id: i64, change: &NewRuleChange<'_>) -> StepAudit {
    StepAudit {
        action: if change.kind == "rollback" {
            "rules.rollback"
        } else {
            "rules.draft"
        },
        subject: format!("rule-change:{id}"),
        detail: RuleChangeAudit {
            change_id: Some(id),
            department: change.department.to_string(),
            files: changed_paths(change.files, change.removed),
            base_hash: change.base_hash.to_string(),
            version: None,
            rules_hash: None,
            comment: None,
        },
    }
}

/// The audit entry of `change` moved to `to` (`rules.submit`, `rules.return`).
pub(crate) fn move_audit(change: RuleChangeRow, to: &str, comment: Option<&str>) -> StepAudit {
    let action = if to == "submitted" {
        "rules.submit"
    } else {
        "rules.return"
    };
    StepAudit::of_row(action, change, None, comment)
}

/// The audit entry of `change` approved as version `vid` (`rules.approve`).
pub(crate) fn approve_audit(
    change: RuleChangeRow,
    version: &NewRuleVersion<'_>,
    vid: i64,
) -> StepAudit {
    StepAudit::of_row(
        "rules.approve",
        change,
        Some((vid, version.rules_hash)),
        None,
    )
}

/// A draft that `actor` cannot edit.
pub(crate) fn not_editable(id: i64, actor: &str) -> StoreError {
    StoreError::invalid(
        "rule change",
        format!("change #{id} is not a draft of {actor} that can be edited"),
    )
}

/// A change not in state `from`.
pub(crate) fn not_in(id: i64, from: &str) -> StoreError {
    StoreError::invalid("rule change", format!("change #{id} is not {from}"))
}

/// The files of a stored version or change (a JSON object).
pub(crate) fn files_json(text: &str) -> Result<RuleFiles, serde_json::Error> {
    serde_json::from_str(text)
}

/// The files a stored change removes (a JSON list).
pub(crate) fn removed_json(text: &str) -> Result<Vec<String>, serde_json::Error> {
    serde_json::from_str(text)
}

/// The rule set's versions and the changes proposed to it, on either database: what rule
/// approval (`jobs::rule_changes`, `suiji rules`, the console) and the loading of the rules
/// draws use read and write.
pub trait RuleStore {
    /// The latest approved version, if any.
    fn latest_rule_version(&self) -> Result<Option<RuleVersionRow>, StoreError>;
    /// Every approved version, newest first.
    fn rule_versions(&self) -> Result<Vec<RuleVersionRow>, StoreError>;
    /// Version `id`.
    fn rule_version(&self, id: i64) -> Result<Option<RuleVersionRow>, StoreError>;
    /// The latest version with this rules hash.
    fn rule_version_of_hash(&self, hash: &str) -> Result<Option<RuleVersionRow>, StoreError>;
    /// Records a version no change proposed (see [`Store::record_rule_version`]).
    fn record_rule_version(
        &mut self,
        v: &NewRuleVersion<'_>,
        expect_latest: Option<i64>,
        step: RuleStep<'_>,
    ) -> Result<Option<i64>, StoreError>;
    /// Saves a draft (see [`Store::save_rule_change`]).
    fn save_rule_change(
        &mut self,
        id: Option<i64>,
        change: &NewRuleChange<'_>,
        step: RuleStep<'_>,
    ) -> Result<i64, StoreError>;
    /// Every change, newest first.
    fn rule_changes(&self) -> Result<Vec<RuleChangeRow>, StoreError>;
    /// Change `id`.
    fn rule_change(&self, id: i64) -> Result<Option<RuleChangeRow>, StoreError>;
    /// Moves a change between states (see [`Store::move_rule_change`]).
    fn move_rule_change(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        comment: Option<&str>,
        step: RuleStep<'_>,
    ) -> Result<(), StoreError>;
    /// Approves a submitted change as the next version (see [`Store::approve_rule_change`]).
    fn approve_rule_change(
        &mut self,
        id: i64,
        version: &NewRuleVersion<'_>,
        expect_latest: Option<i64>,
        step: RuleStep<'_>,
    ) -> Result<Option<i64>, StoreError>;
}

impl RuleStore for Store {
    fn latest_rule_version(&self) -> Result<Option<RuleVersionRow>, StoreError> {
        Store::latest_rule_version(self)
    }

    fn rule_versions(&self) -> Result<Vec<RuleVersionRow>, StoreError> {
        Store::rule_versions(self)
    }

    fn rule_version(&self, id: i64) -> Result<Option<RuleVersionRow>, StoreError> {
        Store::rule_version(self, id)
    }

    fn rule_version_of_hash(&self, hash: &str) -> Result<Option<RuleVersionRow>, StoreError> {
        Store::rule_version_of_hash(self, hash)
    }

    fn record_rule_version(
        &mut self,
        v: &NewRuleVersion<'_>,
        expect_latest: Option<i64>,
        step: RuleStep<'_>,
    ) -> Result<Option<i64>, StoreError> {
        Store::record_rule_version(self, v, expect_latest, step)
    }

    fn save_rule_change(
        &mut self,
        id: Option<i64>,
        change: &NewRuleChange<'_>,
        step: RuleStep<'_>,
    ) -> Result<i64, StoreError> {
        Store::save_rule_change(self, id, change, step)
    }

    fn rule_changes(&self) -> Result<Vec<RuleChangeRow>, StoreError> {
        Store::rule_changes(self)
    }

    fn rule_change(&self, id: i64) -> Result<Option<RuleChangeRow>, StoreError> {
        Store::rule_change(self, id)
    }

    fn move_rule_change(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        comment: Option<&str>,
        step: RuleStep<'_>,
    ) -> Result<(), StoreError> {
        Store::move_rule_change(self, id, from, to, comment, step)
    }

    fn approve_rule_change(
        &mut self,
        id: i64,
        version: &NewRuleVersion<'_>,
        expect_latest: Option<i64>,
        step: RuleStep<'_>,
    ) -> Result<Option<i64>, StoreError> {
        Store::approve_rule_change(self, id, version, expect_latest, step)
    }
}

impl Store {
    /// The latest approved version, if any.
    pub fn latest_rule_version(&self) -> Result<Option<RuleVersionRow>, StoreError> {
        self.read(|c| -> R<Option<RuleVersionRow>> {
            Ok(c.prepare(&format!("{VERSION} ORDER BY id DESC LIMIT 1"))?
                .query_row([], version_row)
                .optional()?)
        })
    }

    /// Every approved version, newest first.
    pub fn rule_versions(&self) -> Result<Vec<RuleVersionRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{VERSION} ORDER BY id DESC"))?;
            let rows = stmt.query_map([], version_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Version `id`.
    pub fn rule_version(&self, id: i64) -> Result<Option<RuleVersionRow>, StoreError> {
        self.read(|c| -> R<Option<RuleVersionRow>> {
            Ok(c.prepare(&format!("{VERSION} WHERE id = ?1"))?
                .query_row([id], version_row)
                .optional()?)
        })
    }

    /// The latest version with this rules hash.
    pub fn rule_version_of_hash(&self, hash: &str) -> Result<Option<RuleVersionRow>, StoreError> {
        self.read(|c| -> R<Option<RuleVersionRow>> {
            Ok(c.prepare(&format!(
                "{VERSION} WHERE rules_hash = ?1 ORDER BY id DESC LIMIT 1"
            ))?
            .query_row([hash], version_row)
            .optional()?)
        })
    }

    /// Records a version that no change in the console proposed: the files found at the first
    /// start (`adopted`) or files changed on disk outside the console (`outside`), approved by
    /// `step.actor`. `expect_latest` is the version the caller saw as latest: when another was
    /// recorded since, nothing is written and `Ok(None)` is returned.
    pub fn record_rule_version(
        &mut self,
        v: &NewRuleVersion<'_>,
        expect_latest: Option<i64>,
        step: RuleStep<'_>,
    ) -> Result<Option<i64>, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let latest: Option<i64> =
                tx.query_row("SELECT max(id) FROM rule_versions", [], |r| r.get(0))?;
            if latest != expect_latest {
                return Ok(None);
            }
            let base_hash: String = match latest {
                Some(id) => tx.query_row(
                    "SELECT rules_hash FROM rule_versions WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )?,
                None => String::new(),
            };
            let id = insert_version(tx, v, None, step)?;
            append(tx, &origin, &version_audit(v, base_hash, id).entry(step))?;
            Ok(Some(id))
        })
    }

    /// Saves a draft: a new change (`id` None) or new content for a draft or returned change of
    /// the same author (which becomes a draft again). Returns its id.
    pub fn save_rule_change(
        &mut self,
        id: Option<i64>,
        change: &NewRuleChange<'_>,
        step: RuleStep<'_>,
    ) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let files = to_json(change.files)?;
            let removed = to_json(&change.removed)?;
            let id = match id {
                None => {
                    tx.execute(
                        "INSERT INTO rule_changes (department, kind, files, removed, base_hash,
                         state, author, created_at, updated_at, rollback_of)
                         VALUES (?1, ?2, ?3, ?4, ?5, 'draft', ?6, ?7, ?7, ?8)",
                        params![
                            change.department,
                            change.kind,
                            files,
                            removed,
                            change.base_hash,
                            step.actor,
                            step.at,
                            change.rollback_of
                        ],
                    )?;
                    tx.last_insert_rowid()
                }
                Some(id) => {
                    let n = tx.execute(
                        "UPDATE rule_changes SET files = ?1, removed = ?2, base_hash = ?3,
                         state = 'draft', updated_at = ?4, submitted_at = NULL
                         WHERE id = ?5 AND state IN ('draft', 'returned') AND author = ?6",
                        params![files, removed, change.base_hash, step.at, id, step.actor],
                    )?;
                    if n == 0 {
                        return Err(Fail::from(not_editable(id, step.actor)));
                    }
                    id
                }
            };
            append(tx, &origin, &draft_audit(id, change).entry(step))?;
            Ok(id)
        })
    }

    /// Every change, newest first.
    pub fn rule_changes(&self) -> Result<Vec<RuleChangeRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{CHANGE} ORDER BY id DESC"))?;
            let rows = stmt.query_map([], change_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Change `id`.
    pub fn rule_change(&self, id: i64) -> Result<Option<RuleChangeRow>, StoreError> {
        self.read(|c| -> R<Option<RuleChangeRow>> {
            Ok(c.prepare(&format!("{CHANGE} WHERE id = ?1"))?
                .query_row([id], change_row)
                .optional()?)
        })
    }

    /// Moves a change from `from` to `to` (`submitted` or `returned`), with the comment of a
    /// return; refused (nothing written) when the change is not in state `from`.
    pub fn move_rule_change(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        comment: Option<&str>,
        step: RuleStep<'_>,
    ) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let n = if to == "submitted" {
                tx.execute(
                    "UPDATE rule_changes SET state = ?1, submitted_at = ?2, updated_at = ?2,
                     comment = NULL WHERE id = ?3 AND state = ?4",
                    params![to, step.at, id, from],
                )?
            } else {
                tx.execute(
                    "UPDATE rule_changes SET state = ?1, decided_by = ?2, decided_at = ?3,
                     updated_at = ?3, comment = ?4 WHERE id = ?5 AND state = ?6",
                    params![to, step.actor, step.at, comment, id, from],
                )?
            };
            if n == 0 {
                return Err(Fail::from(not_in(id, from)));
            }
            let change = tx.query_row(&format!("{CHANGE} WHERE id = ?1"), [id], change_row)?;
            append(tx, &origin, &move_audit(change, to, comment).entry(step))?;
            Ok(())
        })
    }

    /// Approves submitted change `id`, recording `version` (the rule set with the change
    /// applied) as the next version, when the latest version is still `expect_latest`;
    /// `Ok(None)` (nothing written) when another version was recorded since.
    pub fn approve_rule_change(
        &mut self,
        id: i64,
        version: &NewRuleVersion<'_>,
        expect_latest: Option<i64>,
        step: RuleStep<'_>,
    ) -> Result<Option<i64>, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let latest: Option<i64> =
                tx.query_row("SELECT max(id) FROM rule_versions", [], |r| r.get(0))?;
            if latest != expect_latest {
                return Ok(None);
            }
            let n = tx.execute(
                "UPDATE rule_changes SET state = 'approved', decided_by = ?1, decided_at = ?2,
                 updated_at = ?2 WHERE id = ?3 AND state = 'submitted'",
                params![step.actor, step.at, id],
            )?;
            if n == 0 {
                return Err(Fail::from(not_in(id, "submitted")));
            }
            let vid = insert_version(tx, version, Some(id), step)?;
            let change = tx.query_row(&format!("{CHANGE} WHERE id = ?1"), [id], change_row)?;
            append(
                tx,
                &origin,
                &approve_audit(change, version, vid).entry(step),
            )?;
            Ok(Some(vid))
        })
    }
}
