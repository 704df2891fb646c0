//! The scheduler's log: what it did for each (matter, period) and when.

use rusqlite::params;

use super::error::{Fail, R};
use super::util::non_empty;
use super::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchedulerEvent {
    /// A draw was issued on time.
    Issued,
    /// A draw was issued late, after the service was down at its due time.
    CaughtUp,
    /// Nothing was drawn (already drawn, or not due), on purpose.
    Skipped,
    /// Drawing failed; `detail` says why.
    Failed,
    /// Not drawn because its period had already ended when the service first saw it (a
    /// holiday window once the holiday had begun, a half-year once over); `detail` says why.
    Missed,
}

impl SchedulerEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            SchedulerEvent::Issued => "issued",
            SchedulerEvent::CaughtUp => "caught_up",
            SchedulerEvent::Skipped => "skipped",
            SchedulerEvent::Failed => "failed",
            SchedulerEvent::Missed => "missed",
        }
    }

    fn parse(s: &str) -> R<Self> {
        Ok(match s {
            "issued" => SchedulerEvent::Issued,
            "caught_up" => SchedulerEvent::CaughtUp,
            "skipped" => SchedulerEvent::Skipped,
            "failed" => SchedulerEvent::Failed,
            "missed" => SchedulerEvent::Missed,
            other => return Err(Fail::corrupt(format!("unknown scheduler event {other:?}"))),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub matter: String,
    pub period: String,
    pub event: SchedulerEvent,
    /// When it happened (passed in).
    pub at: String,
    /// The draw issued, if any.
    pub draw_id: Option<i64>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub id: i64,
    pub matter: String,
    pub period: String,
    pub event: SchedulerEvent,
    pub at: String,
    pub draw_id: Option<i64>,
    pub detail: String,
}

/// Which events [`Store::events`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventFilter {
    pub matter: Option<String>,
    pub period: Option<String>,
    /// Only the most recent `limit` events.
    pub limit: Option<u32>,
}

impl Store {
    /// Appends a scheduler event; returns its id.
    pub fn record_event(&mut self, e: &NewEvent) -> Result<i64, StoreError> {
        let checked = non_empty("event matter", &e.matter)
            .and_then(|()| non_empty("event period", &e.period))
            .and_then(|()| non_empty("event time", &e.at));
        checked.map_err(|f| f.into_store(&self.path))?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO scheduler_events (matter, period, event, at, draw_id, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                e.matter,
                e.period,
                e.event.as_str(),
                e.at,
                e.draw_id,
                e.detail
            ])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Events matching `filter`, oldest first.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, matter, period, event, at, draw_id, detail FROM (
                    SELECT * FROM scheduler_events
                    WHERE (?1 IS NULL OR matter = ?1) AND (?2 IS NULL OR period = ?2)
                    ORDER BY id DESC LIMIT ifnull(?3, -1)
                 ) ORDER BY id",
            )?;
            let rows =
                stmt.query_map(params![filter.matter, filter.period, filter.limit], |r| {
                    Ok((
                        r.get::<_, String>(3)?,
                        EventRow {
                            id: r.get(0)?,
                            matter: r.get(1)?,
                            period: r.get(2)?,
                            event: SchedulerEvent::Issued,
                            at: r.get(4)?,
                            draw_id: r.get(5)?,
                            detail: r.get(6)?,
                        },
                    ))
                })?;
            let mut out = Vec::new();
            for row in rows {
                let (event, mut e) = row?;
                e.event = SchedulerEvent::parse(&event)?;
                out.push(e);
            }
            Ok(out)
        })
    }
}
