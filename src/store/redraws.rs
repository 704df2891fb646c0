//! Redraws asked for in the console and their approval (法制审核).

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::audit::{Entry, append};
use super::error::{Fail, R};
use super::rows::Rows;
use super::{Store, StoreError};

/// A stored redraw request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedrawRow {
    pub id: i64,
    pub draw_id: i64,
    pub matter: String,
    pub period: String,
    pub reason: String,
    pub seed_text: String,
    pub requested_by: String,
    pub requested_at: String,
    /// (approved, by whom, when), once decided.
    pub decision: Option<(bool, String, String)>,
    pub new_draw_id: Option<i64>,
}

/// `redraw.ask`, `redraw.approve`, `redraw.refuse` (format version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedrawAudit {
    pub draw_id: i64,
    /// The draw that replaced it (approvals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_draw_id: Option<i64>,
    pub reason: String,
    pub request_id: i64,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RedrawRow> {
    let approved: Option<i64> = r.get(8)?;
    let decision = match approved {
        Some(a) => Some((a == 1, r.get(9)?, r.get(10)?)),
        None => None,
    };
    Ok(RedrawRow {
        id: r.get(0)?,
        draw_id: r.get(1)?,
        matter: r.get(2)?,
        period: r.get(3)?,
        reason: r.get(4)?,
        seed_text: r.get(5)?,
        requested_by: r.get(6)?,
        requested_at: r.get(7)?,
        decision,
        new_draw_id: r.get(11)?,
    })
}

/// Redraw requests on either database: asked, listed and decided once, each step audited
/// (`redraw.ask`, `redraw.approve`, `redraw.refuse`) with [`RedrawAudit`]; what
/// `jobs::redraw` works through, implemented by [`Store`] and `pg::PgStore`.
pub trait RedrawStore: super::DrawStore {
    /// Records a redraw request for draw `draw_id`; another undecided request for the same
    /// draw is refused.
    fn ask_redraw(
        &mut self,
        draw_id: i64,
        reason: &str,
        seed_text: &str,
        by: &str,
        at: &str,
    ) -> Result<i64, StoreError>;
    /// Every redraw request, newest first.
    fn redraw_requests(&self) -> Result<Vec<RedrawRow>, StoreError>;
    /// One request.
    fn redraw_request(&self, id: i64) -> Result<Option<RedrawRow>, StoreError>;
    /// Records the decision on a request (once: a request decided meanwhile is refused).
    fn decide_redraw(
        &mut self,
        id: i64,
        approved: bool,
        new_draw_id: Option<i64>,
        by: &str,
        at: &str,
    ) -> Result<(), StoreError>;
    /// The PostgreSQL database and schema this is, where a redraw decided here is recorded
    /// (`None`: the SQLite file of the config's data folder).
    fn place(&self) -> Option<super::pg::Place>;
}

impl RedrawStore for Store {
    fn ask_redraw(
        &mut self,
        draw_id: i64,
        reason: &str,
        seed_text: &str,
        by: &str,
        at: &str,
    ) -> Result<i64, StoreError> {
        Store::ask_redraw(self, draw_id, reason, seed_text, by, at)
    }

    fn redraw_requests(&self) -> Result<Vec<RedrawRow>, StoreError> {
        Store::redraw_requests(self)
    }

    fn redraw_request(&self, id: i64) -> Result<Option<RedrawRow>, StoreError> {
        Store::redraw_request(self, id)
    }

    fn decide_redraw(
        &mut self,
        id: i64,
        approved: bool,
        new_draw_id: Option<i64>,
        by: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        Store::decide_redraw(self, id, approved, new_draw_id, by, at)
    }

    fn place(&self) -> Option<super::pg::Place> {
        None
    }
}

/// Refused: a request waits for approval already (`draw_id`'s).
pub(crate) fn already_asked(draw_id: i64) -> Fail {
    Fail::from(StoreError::invalid(
        "redraw request",
        format!("draw #{draw_id} already has a request waiting for approval"),
    ))
}

/// The audit entry's action of a decision.
pub(crate) fn decision_action(approved: bool) -> &'static str {
    if approved {
        "redraw.approve"
    } else {
        "redraw.refuse"
    }
}

/// A request approved without drawing (its redraw reveals a commitment of its own, drawn
/// later) has as its new draw the one that replaced its draw.
pub(crate) const SELECT: &str = "SELECT q.id, q.draw_id, d.matter, d.period, q.reason, q.seed_text,
    q.requested_by, q.requested_at, q.approved, q.decided_by, q.decided_at,
    COALESCE(q.new_draw_id, CASE WHEN q.approved = 1
        THEN (SELECT n.id FROM draws n WHERE n.redraw_of = q.draw_id) END)
    FROM redraw_requests q JOIN draws d ON d.id = q.draw_id";

impl Store {
    /// Records a redraw request for an active draw; another undecided request for the same
    /// draw is refused.
    pub fn ask_redraw(
        &mut self,
        draw_id: i64,
        reason: &str,
        seed_text: &str,
        by: &str,
        at: &str,
    ) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let open: i64 = tx.query_row(
                "SELECT count(*) FROM redraw_requests WHERE draw_id = ?1 AND approved IS NULL",
                [draw_id],
                |r| r.get(0),
            )?;
            if open > 0 {
                return Err(already_asked(draw_id));
            }
            tx.execute(
                "INSERT INTO redraw_requests (draw_id, reason, seed_text, requested_by, requested_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![draw_id, reason, seed_text, by, at],
            )?;
            let id = tx.last_insert_rowid();
            let audit = RedrawAudit {
                draw_id,
                new_draw_id: None,
                reason: reason.to_string(),
                request_id: id,
            };
            let entry = Entry {
                at,
                actor: by,
                action: "redraw.ask",
                subject: &format!("draw:{draw_id}"),
                detail: &audit,
                rows: Rows::None,
            };
            append(tx, &origin, &entry)?;
            Ok(id)
        })
    }

    /// Every redraw request, newest first.
    pub fn redraw_requests(&self) -> Result<Vec<RedrawRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{SELECT} ORDER BY q.id DESC"))?;
            let rows = stmt.query_map([], row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// One request.
    pub fn redraw_request(&self, id: i64) -> Result<Option<RedrawRow>, StoreError> {
        self.read(|c| -> R<Option<RedrawRow>> {
            Ok(c.prepare(&format!("{SELECT} WHERE q.id = ?1"))?
                .query_row([id], row)
                .optional()?)
        })
    }

    /// Records the decision on a request (once).
    pub fn decide_redraw(
        &mut self,
        id: i64,
        approved: bool,
        new_draw_id: Option<i64>,
        by: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            let (draw_id, reason): (i64, String) = tx.query_row(
                "SELECT draw_id, reason FROM redraw_requests WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            tx.execute(
                "UPDATE redraw_requests SET approved = ?1, decided_by = ?2, decided_at = ?3,
                 new_draw_id = ?4 WHERE id = ?5",
                params![i64::from(approved), by, at, new_draw_id, id],
            )?;
            let audit = RedrawAudit {
                draw_id,
                new_draw_id,
                reason,
                request_id: id,
            };
            let entry = Entry {
                at,
                actor: by,
                action: decision_action(approved),
                subject: &format!("draw:{draw_id}"),
                detail: &audit,
                rows: Rows::None,
            };
            append(tx, &origin, &entry)?;
            Ok(())
        })
    }
}
