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
    /// The rule the change was decided under ([`CHANGE_RULE`]); absent in the changes recorded
    /// before rule 2, which are checked by rule 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<u32>,
    pub target_id: String,
}

/// The rule new changes are decided under (docs/draw-algorithm.md V2-16 item 5), recorded in
/// each change's audit entry (`rule`). Rule 1 (no `rule`): a 人员调整 in a `suiji-draw/2`
/// draw counts its own standing visits and the manifest's `carried_loads`. Rule 2: its own
/// standing visits and the standing visits of every other standing draw of the overlapping
/// periods as they stood when the change was recorded (the draws and changes before it in the
/// audit log), those issued after the changed draw included.
pub const CHANGE_RULE: u32 = 2;

/// How a change was decided: the rule, and where the records stood when its loads were read
/// (`None`: the change reads no loads of other draws).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided {
    pub epoch: Option<LoadsEpoch>,
    pub rule: u32,
}

/// Where the records that workload loads are counted from stand: the last draw and the last
/// change recorded. Draws and changes are only ever appended (a redraw appends the draw that
/// supersedes another), so an unchanged epoch means the loads read since are still those of the
/// records: [`Store::record_change`] and [`Store::record_draw_checked`] refuse with
/// [`StoreError::LoadsChanged`] when it moved, inside their transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadsEpoch {
    last_draw: i64,
    last_change: i64,
}

pub(crate) fn loads_epoch(c: &Connection) -> R<LoadsEpoch> {
    Ok(c.query_row(
        "SELECT (SELECT ifnull(max(id), 0) FROM draws), \
                (SELECT ifnull(max(id), 0) FROM draw_changes)",
        [],
        |r| {
            Ok(LoadsEpoch {
                last_draw: r.get(0)?,
                last_change: r.get(1)?,
            })
        },
    )?)
}

/// Refuses with [`StoreError::LoadsChanged`] when a draw or a change was recorded since `read`.
pub(crate) fn require_epoch(tx: &Connection, read: Option<LoadsEpoch>) -> R<()> {
    match read {
        Some(read) if loads_epoch(tx)? != read => Err(StoreError::LoadsChanged.into()),
        _ => Ok(()),
    }
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

pub(crate) fn validate(c: &DrawChange) -> R<()> {
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
    let n: i64 = tx.query_row(
        "SELECT count(*) FROM draw_changes WHERE draw_id = ?1",
        [draw_id],
        |r| r.get(0),
    )?;
    Ok(changeable(draw_id, status.as_deref(), n, prior)?)
}

/// Whether draw `draw_id`, of `status` (`None`: not recorded) with `n` changes, may take a
/// change decided from `prior` changes.
pub(crate) fn changeable(
    draw_id: i64,
    status: Option<&str>,
    n: i64,
    prior: usize,
) -> Result<(), StoreError> {
    match status {
        Some("active") => {}
        Some(_) => {
            return Err(StoreError::invalid(
                "change",
                format!("draw #{draw_id} was superseded by a redraw"),
            ));
        }
        None => {
            return Err(StoreError::invalid(
                "change",
                format!("no draw #{draw_id} is recorded"),
            ));
        }
    }
    if usize::try_from(n).ok() != Some(prior) {
        return Err(StoreError::invalid(
            "change",
            format!(
                "draw #{draw_id} was changed meanwhile ({n} changes, not {prior}); run the command again"
            ),
        ));
    }
    Ok(())
}

/// The audit detail of change `id` (`draw.change`), decided under `rule`.
pub(crate) fn change_audit(c: &DrawChange, id: i64, rule: u32) -> ChangeAudit {
    ChangeAudit {
        cause: c.cause.clone(),
        change_id: id,
        draw_id: c.draw_id,
        inspector_id: c.inspector_id.clone(),
        kind: c.kind.clone(),
        reason: c.reason.clone(),
        replacement: c.replacement.clone(),
        rule: (rule > 1).then_some(rule),
        target_id: c.target_id.clone(),
    }
}

/// Where draws and changes were recorded in the audit log (`seq`): what "as of" a record
/// means for the loads (docs/draw-algorithm.md V2-16 item 1).
#[derive(Debug, Clone, Default)]
pub struct AuditOrder {
    /// The entry that recorded each draw (`draw.record`, `draw.redraw`), by draw id.
    pub draws: std::collections::HashMap<i64, i64>,
    /// The entry of the redraw that superseded each superseded draw, by draw id.
    pub supersedes: std::collections::HashMap<i64, i64>,
    /// The entry that recorded each change (`draw.change`), by change id.
    pub changes: std::collections::HashMap<i64, i64>,
    /// The rule each change was decided under (1 when its entry names none), by change id.
    pub rules: std::collections::HashMap<i64, u32>,
}

/// The audit entries [`AuditOrder`] is read from: (seq, action, detail), in order.
pub(crate) const AUDIT_ORDER_SQL: &str = "SELECT seq, action, detail FROM audit_log \
     WHERE action IN ('draw.record', 'draw.redraw', 'draw.change') ORDER BY seq";

impl AuditOrder {
    /// The order of the draws and changes recorded by `entries` ([`AUDIT_ORDER_SQL`]).
    pub(crate) fn of_entries(entries: Vec<(i64, String, String)>) -> R<AuditOrder> {
        let mut out = AuditOrder::default();
        for (seq, action, detail) in entries {
            let d: serde_json::Value = serde_json::from_str(&detail)
                .map_err(|e| super::error::Fail::corrupt(format!("audit entry {seq}: {e}")))?;
            let id = |k: &str| d.get(k).and_then(serde_json::Value::as_i64);
            if action == "draw.change" {
                if let Some(c) = id("change_id") {
                    out.changes.insert(c, seq);
                    let rule = d.get("rule").and_then(serde_json::Value::as_u64);
                    out.rules
                        .insert(c, rule.and_then(|r| u32::try_from(r).ok()).unwrap_or(1));
                }
            } else if let Some(draw) = id("draw_id") {
                out.draws.insert(draw, seq);
                if let Some(old) = id("supersedes") {
                    out.supersedes.insert(old, seq);
                }
            }
        }
        Ok(out)
    }
}

impl LoadsEpoch {
    /// The epoch of the last draw and the last change recorded (0: none).
    pub(crate) fn new(last_draw: i64, last_change: i64) -> LoadsEpoch {
        LoadsEpoch {
            last_draw,
            last_change,
        }
    }
}

impl Store {
    /// Records a change of draw `c.draw_id` with its audit entry, in one transaction (`c.id`
    /// is ignored). Refused with [`StoreError::Invalid`] when the draw is not active (it was
    /// superseded) or when it has not exactly `prior` changes: the caller decided the
    /// replacement from those, and another change recorded since may have used it; and with
    /// [`StoreError::LoadsChanged`] when a draw or change was recorded since `epoch` (the
    /// loads the replacement was decided from may have moved). The audit entry records the
    /// rule (from 2 on; a change of rule 1 is written as before rules were recorded).
    pub fn record_change(
        &mut self,
        c: &DrawChange,
        prior: usize,
        decided: Decided,
    ) -> Result<i64, StoreError> {
        let Decided { epoch, rule } = decided;
        let origin = self.origin.clone();
        self.write(|tx| {
            validate(c)?;
            require_active(tx, c.draw_id, prior)?;
            require_epoch(tx, epoch)?;
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
            let detail = change_audit(c, id, rule);
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

    /// Where the records the loads are counted from stand now ([`LoadsEpoch`]).
    pub fn loads_epoch(&self) -> Result<LoadsEpoch, StoreError> {
        self.read(loads_epoch)
    }

    /// Where each draw and change was recorded in the audit log, and the rule of each change.
    pub fn audit_order(&self) -> Result<AuditOrder, StoreError> {
        self.read(|c| {
            let rows = super::select_all(c, AUDIT_ORDER_SQL, [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            AuditOrder::of_entries(rows)
        })
    }

    /// Every change of every draw, in the order they were made.
    pub fn all_changes(&self) -> Result<Vec<DrawChange>, StoreError> {
        self.read(|c| query(c, "1 = 1", []))
    }
}
