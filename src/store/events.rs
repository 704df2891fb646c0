//! The scheduler's log: what it did for each (matter, period) and when.

use rusqlite::params;

use super::error::{Fail, R};
use super::util::non_empty;
use super::{DrawStore, RulesReloadAudit, SchedulerAudit, Store, StoreError};

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

    pub(crate) fn parse(s: &str) -> R<Self> {
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

/// What the service appends to the audit log by itself (besides draws): a scheduler event
/// (`scheduler.*`), a reload of the rules (`rules.reload`), the scheduler's lease taken
/// (`scheduler.lease`). Written as the record it holds, nothing around it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum ServiceAudit {
    Scheduler(SchedulerAudit),
    Reload(RulesReloadAudit),
    Lease(super::LeaseAudit),
}

/// The store the service (`suiji run`) works on, one interface over both databases: what a
/// draw needs ([`DrawStore`]), the scheduler's log and the audit entries the service appends
/// by itself. Implemented by [`Store`] and [`super::pg::PgStore`].
pub trait ServiceStore: DrawStore {
    /// Appends a scheduler event; returns its id.
    fn record_event(&mut self, e: &NewEvent) -> Result<i64, StoreError>;
    /// Events matching `filter`, oldest first.
    fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError>;
    /// Appends an audit entry of the service (recording no rows), in its own transaction;
    /// returns its seq.
    fn append_service_audit(
        &mut self,
        at: &str,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &ServiceAudit,
    ) -> Result<i64, StoreError>;
    /// Marks the database as made for a simulation (`suiji simulate`), refused on one that
    /// holds records already (see [`Store::mark_simulation`]).
    fn mark_simulation(&mut self, at: &str, actor: &str, year: i32) -> Result<(), StoreError>;
}

impl ServiceStore for Store {
    fn record_event(&mut self, e: &NewEvent) -> Result<i64, StoreError> {
        Store::record_event(self, e)
    }

    fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
        Store::events(self, filter)
    }

    fn append_service_audit(
        &mut self,
        at: &str,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &ServiceAudit,
    ) -> Result<i64, StoreError> {
        self.append_audit(at, actor, action, subject, detail)
    }

    fn mark_simulation(&mut self, at: &str, actor: &str, year: i32) -> Result<(), StoreError> {
        Store::mark_simulation(self, at, actor, year)
    }
}

/// Refuses an event missing its matter, period or time (both databases).
pub(crate) fn check_event(e: &NewEvent) -> R<()> {
    non_empty("event matter", &e.matter)
        .and_then(|()| non_empty("event period", &e.period))
        .and_then(|()| non_empty("event time", &e.at))
}

impl Store {
    /// Appends a scheduler event; returns its id.
    pub fn record_event(&mut self, e: &NewEvent) -> Result<i64, StoreError> {
        check_event(e).map_err(|f| f.into_store(&self.path))?;
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
