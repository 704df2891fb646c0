//! Results and publications on PostgreSQL: recorded and read back as on SQLite
//! (`store::results`, whose checks and audit details they share), through
//! [`ResultStore`].
//!
//! The same invariants, kept by the server: an import is one transaction with one audit entry
//! per draw; the draw's row is locked (`FOR SHARE`) while its results are written, so a
//! redraw waits and a superseded draw takes no results; the unique index
//! `results_one_per_item` keeps one result per (target, checklist item), given twice in one
//! import or by two nodes at once; an import's audit entry hashes its rows as they go in; a
//! publication marks exactly the results it lists, and the triggers refuse any change to a
//! published result from then on.

use postgres::Transaction;

use super::super::error::{Fail, R};
use super::super::results::{
    INSERT_RESULT, PublicationEntry, ResultsEntry, SelectedTarget, check_entered, duplicate,
    each_inserted, first_missing, hash_inserted, id_runs, inspectors_text, not_publishable,
    publication_texts, result_values,
};
use super::super::util::to_u64;
use super::super::{NewPublication, NewResults, Origin, PublicationRow, ResultStore, StoreError};
use super::{PgStore, audit};

/// The draw must be recorded and active; its row is locked until the transaction ends.
fn require_active(tx: &mut Transaction<'_>, draw_id: i64) -> R<()> {
    let status: Option<String> = tx
        .query_opt(
            "SELECT status FROM draws WHERE id = $1 FOR SHARE",
            &[&draw_id],
        )?
        .map(|r| r.get(0));
    match status.as_deref() {
        None => Err(StoreError::NoSuchDraw { draw_id }.into()),
        Some("active") => Ok(()),
        Some(_) => Err(StoreError::DrawSuperseded { draw_id }.into()),
    }
}

/// Whether the draw's teams visit the target (as on SQLite: selected or taken in as a
/// substitute, and not taken out since).
fn selected(tx: &mut Transaction<'_>, draw_id: i64, target_id: &str) -> R<bool> {
    Ok(tx
        .query_one(
            "SELECT (EXISTS (SELECT 1 FROM draw_targets
                        WHERE draw_id = $1 AND target_id = $2 AND selected = 1)
                     OR EXISTS (SELECT 1 FROM draw_changes
                        WHERE draw_id = $1 AND kind = 'target' AND replacement = $2))
                AND NOT EXISTS (SELECT 1 FROM draw_changes
                        WHERE draw_id = $1 AND kind = 'target' AND target_id = $2)",
            &[&draw_id, &target_id],
        )?
        .get(0))
}

/// Batch `i` of `results` and its audit entry, in the caller's transaction: the new ids.
fn insert_results(
    tx: &mut Transaction<'_>,
    origin: &Origin,
    (results, i): (&dyn NewResults, usize),
    (entered_at, actor): (&str, &str),
) -> R<Vec<i64>> {
    let draw_id = results.draw_of(i);
    require_active(tx, draw_id)?;
    let mut confirmed = SelectedTarget::default();
    // The entry's rows hash made as the rows go in, as on SQLite, not by reading each back.
    let mut hashed = crate::store::rows::Inserted::new();
    let (ids, sources) = each_inserted(results, i, &mut |r| {
        confirmed.check(draw_id, r, |t| selected(tx, draw_id, t))?;
        let line = r.source_line.map(i64::from);
        let inspectors = inspectors_text(r)?;
        let sql = format!("{} RETURNING id", INSERT_RESULT.replace('?', "$"));
        let inserted = tx.query_one(
            &sql,
            &[
                &draw_id,
                &r.target_id,
                &r.checklist_item,
                &r.category,
                &r.remarks,
                &r.inspection_date,
                &inspectors,
                &entered_at,
                &actor,
                &r.source_file.as_deref(),
                &line,
            ],
        );
        let id: i64 = match inserted {
            Ok(row) => row.try_get(0)?,
            // Recorded before, in this batch, or by another node meanwhile.
            Err(e)
                if e.as_db_error()
                    .is_some_and(|d| d.constraint() == Some("results_one_per_item")) =>
            {
                return Err(duplicate(draw_id, r));
            }
            Err(e) => return Err(e.into()),
        };
        // As on SQLite: the values bound there, which the row reads back as.
        let row = result_values(&draw_id, r, &inspectors, (&entered_at, &actor));
        hash_inserted(&mut hashed, id, &row)?;
        Ok(id)
    })?;
    let entry = ResultsEntry::of(draw_id, ids.clone(), sources);
    audit::append_hashed(tx, origin, &entry.entry(entered_at, actor), hashed.finish())?;
    Ok(ids)
}

/// One publication, the results it makes public and its audit entry, in the caller's
/// transaction.
fn insert_publication(
    tx: &mut Transaction<'_>,
    origin: &Origin,
    p: &NewPublication,
    files_text: &str,
) -> R<i64> {
    require_active(tx, p.draw_id)?;
    // A run of consecutive ids at a time, as on SQLite: counted unpublished, then marked.
    for (first, last) in id_runs(&p.result_ids) {
        const IN_RUN: &str = "FROM results WHERE id BETWEEN $1 AND $2 AND draw_id = $3
             AND published_at IS NULL";
        let found: i64 = tx
            .query_one(
                &format!("SELECT count(*) {IN_RUN}"),
                &[&first, &last, &p.draw_id],
            )?
            .try_get(0)?;
        if found != last - first + 1 {
            let ids = tx
                .query(
                    &format!("SELECT id {IN_RUN} ORDER BY id"),
                    &[&first, &last, &p.draw_id],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<Vec<i64>, _>>()?;
            return Err(not_publishable(first_missing(first, last, &ids), p.draw_id));
        }
        tx.execute(
            "UPDATE results SET published_at = $4
             WHERE id BETWEEN $1 AND $2 AND draw_id = $3 AND published_at IS NULL",
            &[&first, &last, &p.draw_id, &p.published_at],
        )?;
    }
    let count = i64::try_from(p.result_ids.len()).unwrap_or(i64::MAX);
    let id: i64 = tx
        .query_one(
            "INSERT INTO publications (draw_id, published_at, actor, files, results_count)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&p.draw_id, &p.published_at, &p.actor, &files_text, &count],
        )?
        .try_get(0)?;
    let entry = PublicationEntry::of(p.draw_id, id, &p.files, p.result_ids.clone());
    audit::append(tx, origin, &entry.entry(&p.published_at, &p.actor))?;
    Ok(id)
}

impl ResultStore for PgStore {
    fn record_new_results(
        &mut self,
        results: &dyn NewResults,
        entered_at: &str,
        actor: &str,
    ) -> Result<Vec<Vec<i64>>, StoreError> {
        check_entered(entered_at, actor)
            .map_err(|f| f.into_store(std::path::Path::new(&self.shown)))?;
        let origin = self.origin.clone();
        self.write(|tx| {
            (0..results.batches())
                .map(|i| insert_results(tx, &origin, (results, i), (entered_at, actor)))
                .collect()
        })
    }

    fn publications(&self, draw_id: i64) -> Result<Vec<PublicationRow>, StoreError> {
        self.read(|tx| {
            let mut out = Vec::new();
            for r in tx.query(
                "SELECT id, draw_id, published_at, actor, files, results_count
                 FROM publications WHERE draw_id = $1 ORDER BY id",
                &[&draw_id],
            )? {
                let id: i64 = r.try_get(0)?;
                let files: String = r.try_get(4)?;
                out.push(PublicationRow {
                    id,
                    draw_id: r.try_get(1)?,
                    published_at: r.try_get(2)?,
                    actor: r.try_get(3)?,
                    files: serde_json::from_str(&files)
                        .map_err(|e| Fail::corrupt(format!("publication {id} files: {e}")))?,
                    results_count: to_u64("publications.results_count", r.try_get(5)?)?,
                });
            }
            Ok(out)
        })
    }

    fn publication_count(&self) -> Result<u64, StoreError> {
        self.read(|tx| {
            let n: i64 = tx
                .query_one("SELECT count(*) FROM publications", &[])?
                .try_get(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn record_publications_probed(
        &mut self,
        pubs: &[NewPublication],
        before_commit: &mut dyn FnMut(),
    ) -> Result<Vec<i64>, StoreError> {
        let texts =
            publication_texts(pubs).map_err(|f| f.into_store(std::path::Path::new(&self.shown)))?;
        let origin = self.origin.clone();
        self.write(|tx| {
            let mut out = Vec::with_capacity(pubs.len());
            for (p, files_text) in pubs.iter().zip(&texts) {
                out.push(insert_publication(tx, &origin, p, files_text)?);
            }
            before_commit();
            Ok(out)
        })
    }
}
