//! The scheduler's log on PostgreSQL (the same rows as SQLite's `scheduler_events`), the
//! audit entries the service appends by itself, and the scheduler's lease: which of several
//! nodes on one database issues the scheduled draws.

use std::time::Duration;

use super::super::StoreError;
use super::super::error::{BUSY_TIMEOUT_SECS, pg_detail};
use super::super::events::{
    EventFilter, EventRow, NewEvent, SchedulerEvent, ServiceAudit, ServiceStore, check_event,
};
use super::{PgStore, Place};

impl ServiceStore for PgStore {
    fn record_event(&mut self, e: &NewEvent) -> Result<i64, StoreError> {
        check_event(e).map_err(|f| f.into_store(std::path::Path::new(self.shown())))?;
        self.write(|tx| {
            Ok(tx
                .query_one(
                    "INSERT INTO scheduler_events (matter, period, event, at, draw_id, detail)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[
                        &e.matter,
                        &e.period,
                        &e.event.as_str(),
                        &e.at,
                        &e.draw_id,
                        &e.detail,
                    ],
                )?
                .try_get(0)?)
        })
    }

    fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
        let limit = filter.limit.map(i64::from);
        self.read(|tx| {
            let rows = tx.query(
                "SELECT id, matter, period, event, at, draw_id, detail FROM (
                    SELECT * FROM scheduler_events
                    WHERE ($1::text IS NULL OR matter = $1) AND ($2::text IS NULL OR period = $2)
                    ORDER BY id DESC LIMIT $3
                 ) AS recent ORDER BY id",
                &[&filter.matter, &filter.period, &limit],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(EventRow {
                        id: r.try_get(0)?,
                        matter: r.try_get(1)?,
                        period: r.try_get(2)?,
                        event: SchedulerEvent::parse(r.try_get(3)?)?,
                        at: r.try_get(4)?,
                        draw_id: r.try_get(5)?,
                        detail: r.try_get(6)?,
                    })
                })
                .collect()
        })
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
        PgStore::mark_simulation(self, at, actor, year)
    }
}

/// The class of the session-level advisory lock that is the scheduler's lease (the other
/// classes are transaction-scoped: draws, loads, rule versions); its key is the schema's
/// name, hashed, so that deployments in several schemas of one database each have their own.
const LEASE_LOCK: i32 = 0x5e4;

/// How the server finds a lease holder whose machine or network went away without closing its
/// connection: TCP keepalives on the holder's session (idle, interval, probes). A dead peer is
/// noticed within 5 + 5 × 3 = 20 s, its session ended and the lease released.
const KEEPALIVES: (u32, u32, u32) = (5, 5, 3);

/// The scheduler's lease on a shared database: a session-level advisory lock held on a
/// connection of its own. PostgreSQL releases it when that connection ends — the process
/// exits or is killed, or its machine is gone (found by TCP keepalives) — so another node can
/// take it. The connection's `application_name` names the holder (`suiji-lease host:pid`), for
/// [`Lease::holder`] and for an operator looking at `pg_stat_activity`.
pub struct Lease {
    place: Place,
    /// This node, as `host:pid`.
    node: String,
    client: Option<postgres::Client>,
    held: bool,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("node", &self.node)
            .field("held", &self.held)
            .finish()
    }
}

/// The `application_name` of a lease connection of `node`.
fn lease_name(node: &str) -> String {
    format!("suiji-lease {node}")
}

impl Lease {
    /// The lease of the database and schema of `place` (each schema has its own), not taken
    /// yet, for `node` (`host:pid`).
    pub fn new(place: &Place, node: &str) -> Lease {
        Lease {
            place: place.clone(),
            node: node.to_string(),
            client: None,
            held: false,
        }
    }

    /// This node, as the lease names it.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Whether this node holds the lease now: held before and its connection still answers,
    /// or taken now. `Ok(false)` when another node holds it; an error when the database does
    /// not answer (the lease, if held, is then lost with its connection).
    pub fn try_take(&mut self) -> Result<bool, StoreError> {
        if self.held && self.alive() {
            return Ok(true);
        }
        self.held = false;
        if self.client.as_ref().is_none_or(postgres::Client::is_closed) {
            self.client = Some(self.connect()?);
        }
        let Some(client) = self.client.as_mut() else {
            return Ok(false);
        };
        let taken = client
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext(current_schema()))",
                &[&LEASE_LOCK],
            )
            .and_then(|r| r.try_get::<_, bool>(0));
        match taken {
            Ok(t) => {
                self.held = t;
                Ok(t)
            }
            Err(e) => {
                self.client = None;
                Err(self.failed(&e))
            }
        }
    }

    /// The lease's connection answers, and still holds the lock.
    fn alive(&mut self) -> bool {
        let Some(client) = self.client.as_mut() else {
            return false;
        };
        let held = client.query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
                AND pid = pg_backend_pid() AND classid = $1::int4::oid
                AND objid = hashtext(current_schema())::oid AND objsubid = 2 AND granted)",
            &[&LEASE_LOCK],
        );
        match held.and_then(|r| r.try_get::<_, bool>(0)) {
            Ok(h) => h,
            Err(_) => {
                self.client = None;
                false
            }
        }
    }

    /// The node holding the lease now, as its connection names it; `None` when nobody holds
    /// it (or the database does not answer).
    pub fn holder(&mut self) -> Option<String> {
        if self.client.as_ref().is_none_or(postgres::Client::is_closed) {
            self.client = self.connect().ok();
        }
        let row = self.client.as_mut()?.query_opt(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.classid = $1::int4::oid
               AND l.objid = hashtext(current_schema())::oid AND l.objsubid = 2 AND l.granted
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[&LEASE_LOCK],
        );
        let name: String = row.ok()??.try_get(0).ok()?;
        Some(
            name.strip_prefix("suiji-lease ")
                .unwrap_or(&name)
                .to_string(),
        )
    }

    fn connect(&self) -> Result<postgres::Client, StoreError> {
        let name = lease_name(&self.node);
        let (mut client, shown) = self.place.connect(|config| {
            config
                .application_name(&name)
                .keepalives(true)
                .keepalives_idle(Duration::from_secs(u64::from(KEEPALIVES.0)))
                .connect_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS))
        })?;
        let (idle, interval, count) = KEEPALIVES;
        client
            .batch_execute(&format!(
                "SET tcp_keepalives_idle = {idle}; SET tcp_keepalives_interval = {interval};
                 SET tcp_keepalives_count = {count};"
            ))
            .map_err(|e| StoreError::Connect {
                database: shown,
                detail: pg_detail(&e),
            })?;
        Ok(client)
    }

    fn failed(&self, e: &postgres::Error) -> StoreError {
        StoreError::Connect {
            database: self.place.shown(),
            detail: pg_detail(e),
        }
    }
}
