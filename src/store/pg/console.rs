//! What the console alone keeps, on PostgreSQL: redraw requests and their decisions
//! ([`RedrawStore`]) and registry replacements ([`RegistryLog`]), with the same rows and audit
//! entries as on SQLite (`store::redraws`, `store::registries`).

use postgres::Transaction;

use super::super::error::{Fail, R};
use super::super::redraws::{self, RedrawAudit, RedrawRow, RedrawStore};
use super::super::registries::{self, RegistryAudit, RegistryFile, RegistryLog};
use super::super::rows::Rows;
use super::super::{StoreError, audit::Entry};
use super::{PgStore, audit};

/// The class of the advisory lock the writers of one draw's redraw requests take in turn (so
/// that two nodes asking at once record one request waiting), keyed by the schema and draw.
const REDRAWS_LOCK: i32 = 0x5e5;

fn row(r: &postgres::Row) -> R<RedrawRow> {
    let approved: Option<i64> = r.try_get(8)?;
    let decision = match approved {
        Some(a) => Some((a == 1, r.try_get(9)?, r.try_get(10)?)),
        None => None,
    };
    Ok(RedrawRow {
        id: r.try_get(0)?,
        draw_id: r.try_get(1)?,
        matter: r.try_get(2)?,
        period: r.try_get(3)?,
        reason: r.try_get(4)?,
        seed_text: r.try_get(5)?,
        requested_by: r.try_get(6)?,
        requested_at: r.try_get(7)?,
        decision,
        new_draw_id: r.try_get(11)?,
    })
}

fn requests(
    tx: &mut Transaction<'_>,
    tail: &str,
    p: &[&(dyn postgres::types::ToSql + Sync)],
) -> R<Vec<RedrawRow>> {
    let sql = format!("{} {tail}", redraws::SELECT);
    tx.query(&sql, p)?.iter().map(row).collect()
}

impl RedrawStore for PgStore {
    fn ask_redraw(
        &mut self,
        draw_id: i64,
        reason: &str,
        seed_text: &str,
        by: &str,
        at: &str,
    ) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || chr(31) || $2))",
                &[&REDRAWS_LOCK, &draw_id.to_string()],
            )?;
            let open: i64 = tx
                .query_one(
                    "SELECT count(*) FROM redraw_requests WHERE draw_id = $1 AND approved IS NULL",
                    &[&draw_id],
                )?
                .try_get(0)?;
            if open > 0 {
                return Err(redraws::already_asked(draw_id));
            }
            let id: i64 = tx
                .query_one(
                    "INSERT INTO redraw_requests (draw_id, reason, seed_text, requested_by, requested_at)
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    &[&draw_id, &reason, &seed_text, &by, &at],
                )?
                .try_get(0)?;
            let detail = RedrawAudit {
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
                detail: &detail,
                rows: Rows::None,
            };
            audit::append(tx, &origin, &entry)?;
            Ok(id)
        })
    }

    fn redraw_requests(&self) -> Result<Vec<RedrawRow>, StoreError> {
        self.read(|tx| requests(tx, "ORDER BY q.id DESC", &[]))
    }

    fn redraw_request(&self, id: i64) -> Result<Option<RedrawRow>, StoreError> {
        self.read(|tx| Ok(requests(tx, "WHERE q.id = $1", &[&id])?.pop()))
    }

    fn decide_redraw(
        &mut self,
        id: i64,
        approved: bool,
        new_draw_id: Option<i64>,
        by: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            // The request's row locked: two nodes deciding at once take turns, and the second
            // finds it decided.
            let r = tx
                .query_opt(
                    "SELECT draw_id, reason, approved FROM redraw_requests WHERE id = $1 FOR UPDATE",
                    &[&id],
                )?
                .ok_or_else(|| {
                    Fail::from(StoreError::invalid(
                        "redraw request",
                        format!("there is no redraw request #{id}"),
                    ))
                })?;
            let (draw_id, reason): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
            if r.try_get::<_, Option<i64>>(2)?.is_some() {
                return Err(Fail::from(StoreError::invalid(
                    "redraw request",
                    format!("redraw request #{id} was decided already: a request is decided once"),
                )));
            }
            tx.execute(
                "UPDATE redraw_requests SET approved = $1, decided_by = $2, decided_at = $3,
                 new_draw_id = $4 WHERE id = $5",
                &[&i64::from(approved), &by, &at, &new_draw_id, &id],
            )?;
            let detail = RedrawAudit {
                draw_id,
                new_draw_id,
                reason,
                request_id: id,
            };
            let entry = Entry {
                at,
                actor: by,
                action: redraws::decision_action(approved),
                subject: &format!("draw:{draw_id}"),
                detail: &detail,
                rows: Rows::None,
            };
            audit::append(tx, &origin, &entry)?;
            Ok(())
        })
    }

    fn place(&self) -> Option<super::Place> {
        Some(self.place.clone())
    }
}

impl RegistryLog for PgStore {
    fn record_registry_replace(
        &mut self,
        at: &str,
        actor: &str,
        detail: &RegistryAudit,
        file: RegistryFile<'_>,
    ) -> Result<i64, StoreError> {
        let origin = self.origin.clone();
        self.write(|tx| {
            super::registry_files::keep(tx, (at, actor), detail, file)?;
            audit::append(tx, &origin, &registries::replace_entry(at, actor, detail))
        })
    }

    fn registry_replacements(&self) -> Result<Vec<(String, String, RegistryAudit)>, StoreError> {
        self.read(|tx| {
            let mut rows = Vec::new();
            for r in tx.query(registries::REPLACEMENTS, &[])? {
                rows.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
            }
            Ok(registries::replacements(rows))
        })
    }
}
