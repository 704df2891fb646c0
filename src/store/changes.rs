//! Changes made to a draw after it was issued: a drawn target found closed, moved or outside
//! the scope replaced by its stratum's next substitute (替补) or marked without replacement
//! (不在范围), an inspector replaced (人员调整). Each is a recorded act (reason, user, time),
//! never an edit of the draw; permanent (triggers) and audited (`draw.change`, with the hash of
//! its row). Which substitute or inspector a change may name is decided by `draw::changes`;
//! the store keeps the order: a change is refused unless the draw is active and has exactly the
//! changes the caller decided from.

use rusqlite::{Connection, params};

use super::audit::{Entry, append};
use super::error::R;
use super::rows::Rows;
use super::util::non_empty;
use super::{Store, StoreError};

/// What a change replaces: a drawn target or a team member.
pub const KINDS: &[&str] = &["target", "inspector"];

/// A change, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DrawChange {
    pub id: i64,
    pub draw_id: i64,
    /// `target` or `inspector`.
    pub kind: String,
    /// Why, as a code: `closed`, `moved`, `out_of_scope` (targets); `ill`, `transferred`,
    /// `conflict`, `other` (inspectors).
    pub cause: String,
    /// The drawn target concerned.
    pub target_id: String,
    /// The team member replaced (`inspector` changes).
    pub inspector_id: Option<String>,
    /// The substitute target or the inspector who takes the place; `None` when a target is
    /// marked out of scope without replacement.
    pub replacement: Option<String>,
    /// The user's words.
    pub reason: String,
    pub actor: String,
    /// When it was recorded (the real time).
    pub changed_at: String,
}

/// `draw.change`: a change was recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeAudit {
    pub cause: String,
    pub change_id: i64,
    pub draw_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspector_id: Option<String>,
    pub kind: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    pub target_id: String,
}

/// The columns of a change, in order (also what its audit entry hashes).
pub const COLUMNS: &str = "id, draw_id, kind, cause, target_id, inspector_id, replacement, \
    reason, actor, changed_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DrawChange> {
    Ok(DrawChange {
        id: r.get(0)?,
        draw_id: r.get(1)?,
        kind: r.get(2)?,
        cause: r.get(3)?,
        target_id: r.get(4)?,
        inspector_id: r.get(5)?,
        replacement: r.get(6)?,
        reason: r.get(7)?,
        actor: r.get(8)?,
        changed_at: r.get(9)?,
    })
}

fn query(c: &Connection, where_sql: &str, p: impl rusqlite::Params) -> R<Vec<DrawChange>> {
    super::select_all(
        c,
        &format!("SELECT {COLUMNS} FROM draw_changes WHERE {where_sql} ORDER BY id"),
        p,
        row,
    )
}

fn validate(c: &DrawChange) -> R<()> {
    for (field, v) in [
        ("cause", &c.cause),
        ("target", &c.target_id),
        ("reason", &c.reason),
        ("actor", &c.actor),
        ("change time", &c.changed_at),
    ] {
        non_empty(field, v)?;
    }
    if !KINDS.contains(&c.kind.as_str()) {
        return Err(StoreError::invalid("change kind", format!("{:?}", c.kind)).into());
    }
    if (c.kind == "inspector") != c.inspector_id.is_some() {
        return Err(StoreError::invalid(
            "change",
            "an inspector change names the inspector replaced, a target change names none",
        )
        .into());
    }
    Ok(())
}

/// Refuses a change of a draw that is not recorded or not active, or that has not exactly
/// `prior` changes.
fn require_active(tx: &Connection, draw_id: i64, prior: usize) -> R<()> {
    let status: Option<String> = tx
        .query_row("SELECT status FROM draws WHERE id = ?1", [draw_id], |r| {
            r.get(0)
        })
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    match status.as_deref() {
        Some("active") => {}
        Some(_) => {
            return Err(StoreError::invalid(
                "change",
                format!("draw #{} was superseded by a redraw", draw_id),
            )
            .into());
        }
        None => {
            return Err(
                StoreError::invalid("change", format!("no draw #{} is recorded", draw_id)).into(),
            );
        }
    }
    let n: i64 = tx.query_row(
        "SELECT count(*) FROM draw_changes WHERE draw_id = ?1",
        [draw_id],
        |r| r.get(0),
    )?;
    if usize::try_from(n).ok() != Some(prior) {
        return Err(StoreError::invalid(
            "change",
            format!(
                "draw #{} was changed meanwhile ({n} changes, not {prior}); run the command again",
                draw_id
            ),
        )
        .into());
    }
    Ok(())
}

impl Store {
    /// Records a change of draw `c.draw_id` with its audit entry, in one transaction (`c.id`
    /// is ignored). Refused with [`StoreError::Invalid`] when the draw is not active (it was
    /// superseded) or when it has not exactly `prior` changes: the caller decided the
    /// replacement from those, and another change recorded since may have used it.
    pub fn record_change(&mut self, c: &DrawChange, prior: usize) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            validate(c)?;
            require_active(tx, c.draw_id, prior)?;
            tx.execute(
                "INSERT INTO draw_changes (draw_id, kind, cause, target_id, inspector_id,
                     replacement, reason, actor, changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    c.draw_id,
                    c.kind,
                    c.cause,
                    c.target_id,
                    c.inspector_id,
                    c.replacement,
                    c.reason,
                    c.actor,
                    c.changed_at
                ],
            )?;
            let id = tx.last_insert_rowid();
            let detail = ChangeAudit {
                cause: c.cause.clone(),
                change_id: id,
                draw_id: c.draw_id,
                inspector_id: c.inspector_id.clone(),
                kind: c.kind.clone(),
                reason: c.reason.clone(),
                replacement: c.replacement.clone(),
                target_id: c.target_id.clone(),
            };
            let entry = Entry {
                at: &c.changed_at,
                actor: &c.actor,
                action: "draw.change",
                subject: &format!("draw:{}", c.draw_id),
                detail: &detail,
                rows: Rows::Change(id),
            };
            append(tx, &origin, &entry)?;
            Ok(id)
        })
    }

    /// The changes of draw `draw_id`, in the order they were made.
    pub fn changes_of(&self, draw_id: i64) -> Result<Vec<DrawChange>, StoreError> {
        self.read(|c| query(c, "draw_id = ?1", [draw_id]))
    }

    /// Every change of every draw, in the order they were made.
    pub fn all_changes(&self) -> Result<Vec<DrawChange>, StoreError> {
        self.read(|c| query(c, "1 = 1", []))
    }
}
