//! Facts about the database itself, written once: whether it is a simulation.

use rusqlite::{Connection, OptionalExtension, params};

use super::audit::{Entry, append};
use super::error::R;
use super::records::SimulationAudit;
use super::rows::Rows;
use super::{Store, StoreError};

/// The `database_facts` key marking a simulation database, and its value.
const PURPOSE: (&str, &str) = ("purpose", "simulation");

fn is_simulation(c: &Connection) -> R<bool> {
    Ok(
        c.prepare_cached("SELECT value FROM database_facts WHERE key = ?1")?
            .query_row([PURPOSE.0], |r| r.get::<_, String>(0))
            .optional()?
            .is_some_and(|v| v == PURPOSE.1),
    )
}

/// How many permanent records the database holds (draws, results, publications, audit
/// entries).
fn records(c: &Connection) -> R<i64> {
    Ok(c.query_row(
        "SELECT (SELECT count(*) FROM draws) + (SELECT count(*) FROM results)
              + (SELECT count(*) FROM publications) + (SELECT count(*) FROM audit_log)",
        [],
        |r| r.get(0),
    )?)
}

impl Store {
    /// Whether this is a simulation database (made by `suiji simulate`): its recorded times
    /// come from a simulated clock, and every document made from it says 模拟.
    pub fn is_simulation(&self) -> Result<bool, StoreError> {
        self.read(is_simulation)
    }

    /// Marks the database as a simulation, with an audit entry (`store.simulation`). Only an
    /// empty database can become one: a database holding real records is refused with
    /// [`StoreError::RealRecords`]. Marking a simulation again does nothing.
    pub fn mark_simulation(&mut self, at: &str, actor: &str, year: i32) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            if is_simulation(tx)? {
                return Ok(());
            }
            let held = records(tx)?;
            if held > 0 {
                return Err(StoreError::RealRecords {
                    path: Default::default(),
                    records: held,
                }
                .into());
            }
            tx.execute(
                "INSERT INTO database_facts (key, value, at) VALUES (?1, ?2, ?3)",
                params![PURPOSE.0, PURPOSE.1, at],
            )?;
            let entry = Entry {
                at,
                actor,
                action: "store.simulation",
                subject: "database",
                detail: &SimulationAudit { year },
                rows: Rows::None,
            };
            append(tx, &origin, &entry)?;
            Ok(())
        })
    }
}
