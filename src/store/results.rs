//! Inspection results and their publication. A result may be corrected until it is
//! published; from then on triggers refuse any change.

use rusqlite::{Connection, OptionalExtension, params};

use super::audit::Entry;
use super::error::{Fail, R};
use super::origin::Origin;
use super::records::{PublicationAudit, ResultsAudit};
use super::rows::Rows;
use super::util::{date, non_empty, to_u32, to_u64};
use super::{Store, StoreError, audit};

/// One result as entered (one per target, or per target and checklist item).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewResult {
    pub target_id: String,
    pub checklist_item: Option<String>,
    /// One of the national result categories (未发现问题, 发现问题已责令改正, …).
    pub category: String,
    pub remarks: String,
    /// `YYYY-MM-DD`.
    pub inspection_date: String,
    /// Ids of the inspectors who signed.
    pub inspectors_signed: Vec<String>,
    /// Where the result came from (a result sheet, its name shared by the sheet's results)
    /// and its line, if from a file.
    pub source_file: Option<std::sync::Arc<str>>,
    pub source_line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    pub id: i64,
    pub draw_id: i64,
    pub target_id: String,
    pub checklist_item: Option<String>,
    pub category: String,
    pub remarks: String,
    pub inspection_date: String,
    pub inspectors_signed: Vec<String>,
    pub entered_at: String,
    pub entered_by: String,
    pub published_at: Option<String>,
    pub source_file: Option<String>,
    pub source_line: Option<u32>,
}

/// What a draw's ledger reads of one recorded result, its texts borrowed from the row read
/// ([`Store::each_result_fact`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultFact<'a> {
    pub id: i64,
    pub target_id: &'a str,
    pub checklist_item: Option<&'a str>,
    pub category: &'a str,
    /// `YYYY-MM-DD` as recorded.
    pub inspection_date: &'a str,
    pub published_at: Option<&'a str>,
}

/// Column `i` of a result's row as text borrowed from the row (`None`: NULL).
fn fact_text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> R<Option<&'r str>> {
    r.get_ref(i)?
        .as_str_or_null()
        .map_err(|e| Fail::corrupt(format!("a result's column {i} is not text: {e}")))
}

/// The columns of a result's facts ([`ResultFact`]), both databases.
pub(crate) const RESULT_FACT_COLUMNS: &str =
    "id, target_id, checklist_item, category, inspection_date, published_at";

/// A draw's results (`?1`: the draw) in the order they were entered, on SQLite: the ids from
/// its first result to its last read in the table's own order and kept when they are the
/// draw's (`+draw_id`: no index), not found by the (draw, target, item) index, fetched in that
/// index's order and sorted by id. A draw's results are entered in few batches, so the range
/// holds few others; at 1,469,740 results the facts read in 0.7 s against 3.5 s.
const OF_DRAW_BY_ID: &str = "WHERE id BETWEEN (SELECT min(id) FROM results WHERE draw_id = ?1)
                   AND (SELECT max(id) FROM results WHERE draw_id = ?1)
       AND +draw_id = ?1
     ORDER BY id";

#[derive(Debug, Clone, PartialEq)]
pub struct PublicationRow {
    pub id: i64,
    pub draw_id: i64,
    pub published_at: String,
    pub actor: String,
    /// What was published, as the output module described it.
    pub files: serde_json::Value,
    /// Results first published by this publication.
    pub results_count: u64,
}

/// A publication of some of a draw's results ([`Store::record_publications`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPublication {
    pub draw_id: i64,
    pub published_at: String,
    pub actor: String,
    /// What was published, as the output module described it.
    pub files: serde_json::Value,
    /// The results this publication makes public (each must be unpublished).
    pub result_ids: Vec<i64>,
}

/// New results to record, in batches of one draw each, handed out a result at a time: an
/// import of a national draw's sheet records 1.47 million, which its caller keeps compact and
/// makes into a [`NewResult`] only as each is written ([`Store::record_new_results`]).
pub trait NewResults {
    /// How many batches: each one draw's results, recorded with an audit entry of its own.
    fn batches(&self) -> usize;
    /// The draw of batch `i`.
    fn draw_of(&self, i: usize) -> i64;
    /// Hands `each` the results of batch `i` in order, until it returns `false`.
    fn each_of(&self, i: usize, each: &mut dyn FnMut(&NewResult) -> bool);
}

/// Results held whole, a batch per draw ([`Store::record_results_batch`]).
pub struct HeldResults<'a>(pub &'a [(i64, Vec<NewResult>)]);

impl NewResults for HeldResults<'_> {
    fn batches(&self) -> usize {
        self.0.len()
    }

    fn draw_of(&self, i: usize) -> i64 {
        self.0.get(i).map_or(0, |b| b.0)
    }

    fn each_of(&self, i: usize, each: &mut dyn FnMut(&NewResult) -> bool) {
        for r in self.0.get(i).map_or(&[][..], |b| &b.1[..]) {
            if !each(r) {
                return;
            }
        }
    }
}

/// The checks of a recording made before anything is written, the same on both databases.
pub(super) fn check_entered(entered_at: &str, actor: &str) -> R<()> {
    non_empty("entered_at", entered_at)?;
    non_empty("actor", actor)
}

/// The checks of one result made before it is written, the same on both databases.
pub(super) fn check_result(r: &NewResult) -> R<()> {
    non_empty("result category", &r.category)?;
    date("inspection_date", &r.inspection_date)?;
    if r.source_line == Some(0) {
        return Err(StoreError::invalid("source_line", "lines count from 1").into());
    }
    Ok(())
}

/// Each result of batch `i` of `results` handed to `insert` in order, each checked first
/// ([`check_result`]); the new ids, and the sheets the results came from, sorted, each once.
pub(super) fn each_inserted(
    results: &dyn NewResults,
    i: usize,
    insert: &mut dyn FnMut(&NewResult) -> R<i64>,
) -> R<(Vec<i64>, Vec<String>)> {
    let (mut ids, mut sources) = (Vec::new(), Vec::<std::sync::Arc<str>>::new());
    let mut failed = None;
    results.each_of(i, &mut |r| {
        let id = check_result(r).and_then(|()| insert(r));
        match id {
            Ok(id) => {
                ids.push(id);
                if let Some(f) = &r.source_file
                    && !sources
                        .iter()
                        .any(|s| std::sync::Arc::ptr_eq(s, f) || s == f)
                {
                    sources.push(std::sync::Arc::clone(f));
                }
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let mut sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    sources.sort_unstable();
    Ok((ids, sources))
}

/// The inspectors who signed a result, as recorded (a JSON array).
pub(super) fn inspectors_text(r: &NewResult) -> R<String> {
    Ok(serde_json::to_string(&r.inspectors_signed)
        .map_err(|e| StoreError::invalid("inspectors_signed", e.to_string()))?)
}

/// A draw's `results.record` entry (the new ids and the sheets they came from), built once and
/// appended the same way on both databases.
pub(super) struct ResultsEntry {
    subject: String,
    detail: ResultsAudit,
}

impl ResultsEntry {
    pub(super) fn of(draw_id: i64, ids: Vec<i64>, source_files: Vec<String>) -> ResultsEntry {
        ResultsEntry {
            subject: format!("draw:{draw_id}"),
            detail: ResultsAudit {
                count: ids.len(),
                draw_id,
                ids,
                source_files,
            },
        }
    }

    /// The entry, entered at `at` by `actor`.
    pub(super) fn entry<'a>(&'a self, at: &'a str, actor: &'a str) -> Entry<'a, ResultsAudit> {
        Entry {
            at,
            actor,
            action: "results.record",
            subject: &self.subject,
            detail: &self.detail,
            rows: Rows::Results(&self.detail.ids),
        }
    }
}

/// The target whose selection was last confirmed while a batch is recorded: a task list gives
/// a target's results together (a row per checklist item), so the draw's target rows are
/// asked once per target, not once per result. Whether a (target, checklist item) already has
/// a result is left to the unique index `results_one_per_item` on both databases, whose
/// refusal is reported as [`duplicate`].
#[derive(Default)]
pub(super) struct SelectedTarget(Option<String>);

impl SelectedTarget {
    /// Refuses `r` unless its draw selected its target, which `selected` says when the target
    /// is not the one confirmed last.
    pub(super) fn check(
        &mut self,
        draw_id: i64,
        r: &NewResult,
        selected: impl FnOnce(&str) -> R<bool>,
    ) -> R<()> {
        if self.0.as_deref() == Some(r.target_id.as_str()) {
            return Ok(());
        }
        if !selected(&r.target_id)? {
            return Err(StoreError::NotInDraw {
                draw_id,
                target_id: r.target_id.clone(),
            }
            .into());
        }
        let last = self.0.get_or_insert_with(String::new);
        last.clear();
        last.push_str(&r.target_id);
        Ok(())
    }
}

/// The refusal of a second result for one (target, checklist item).
pub(super) fn duplicate(draw_id: i64, r: &NewResult) -> Fail {
    StoreError::DuplicateResult {
        draw_id,
        target_id: r.target_id.clone(),
        checklist_item: r.checklist_item.clone(),
    }
    .into()
}

/// The checks of publications made before any is written, and their files as recorded.
pub(super) fn publication_texts(pubs: &[NewPublication]) -> R<Vec<String>> {
    let mut texts = Vec::with_capacity(pubs.len());
    for p in pubs {
        non_empty("published_at", &p.published_at)?;
        non_empty("actor", &p.actor)?;
        texts.push(
            serde_json::to_string(&p.files)
                .map_err(|e| StoreError::invalid("files", e.to_string()))?,
        );
    }
    Ok(texts)
}

/// The ids of `ids`, sorted, as runs of consecutive ids (first, last): the results a
/// publication lists are marked a run at a time. An id listed twice starts a run of its own
/// (and is refused there: it is published by then).
pub(super) fn id_runs(ids: &[i64]) -> Vec<(i64, i64)> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for id in sorted {
        match runs.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(id) => *last = id,
            _ => runs.push((id, id)),
        }
    }
    runs
}

/// The first id from `first` to `last` not among `found` (ascending): the listed result that
/// is not publishable.
pub(super) fn first_missing(first: i64, last: i64, found: &[i64]) -> i64 {
    (first..=last)
        .zip(
            found
                .iter()
                .copied()
                .map(Some)
                .chain(std::iter::repeat(None)),
        )
        .find(|(id, f)| Some(*id) != *f)
        .map_or(last, |(id, _)| id)
}

/// A listed result that is not an unpublished result of the publication's draw.
pub(super) fn not_publishable(result_id: i64, draw_id: i64) -> Fail {
    StoreError::invalid(
        "result_ids",
        format!("result {result_id} is not an unpublished result of draw #{draw_id}"),
    )
    .into()
}

/// A `publication.record` entry, built once and appended the same way on both databases.
pub(super) struct PublicationEntry {
    subject: String,
    detail: PublicationAudit,
    results: Vec<i64>,
}

impl PublicationEntry {
    /// The entry of publication `id` of `draw_id`, making `results` public.
    pub(super) fn of(
        draw_id: i64,
        id: i64,
        files: &serde_json::Value,
        results: Vec<i64>,
    ) -> PublicationEntry {
        PublicationEntry {
            subject: format!("draw:{draw_id}"),
            detail: PublicationAudit {
                draw_id,
                files: files.clone(),
                publication_id: id,
                result_ids: Some(results.clone()),
                results_published: results.len(),
            },
            results,
        }
    }

    /// The entry, published at `at` by `actor`.
    pub(super) fn entry<'a>(&'a self, at: &'a str, actor: &'a str) -> Entry<'a, PublicationAudit> {
        Entry {
            at,
            actor,
            action: "publication.record",
            subject: &self.subject,
            detail: &self.detail,
            rows: Rows::Publication {
                id: self.detail.publication_id,
                results: &self.results,
            },
        }
    }
}

fn draw_status(c: &Connection, draw_id: i64) -> R<String> {
    c.prepare_cached("SELECT status FROM draws WHERE id = ?1")?
        .query_row([draw_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NoSuchDraw { draw_id }.into())
}

fn require_active(c: &Connection, draw_id: i64) -> R<()> {
    if draw_status(c, draw_id)? != "active" {
        return Err(StoreError::DrawSuperseded { draw_id }.into());
    }
    Ok(())
}

/// Whether the draw's teams visit the target: the draw selected it or a change after the draw
/// took it in as a substitute (替补), and no change took it out since.
fn selected(tx: &Connection, draw_id: i64, target_id: &str) -> R<bool> {
    Ok(tx
        .prepare_cached(
            "SELECT (EXISTS (SELECT 1 FROM draw_targets
                        WHERE draw_id = ?1 AND target_id = ?2 AND selected = 1)
                     OR EXISTS (SELECT 1 FROM draw_changes
                        WHERE draw_id = ?1 AND kind = 'target' AND replacement = ?2))
                AND NOT EXISTS (SELECT 1 FROM draw_changes
                        WHERE draw_id = ?1 AND kind = 'target' AND target_id = ?2)",
        )?
        .query_row(params![draw_id, target_id], |row| row.get(0))?)
}

/// Whether `e` is the refusal of the unique index on (draw, target, checklist item).
fn is_second_result(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, Some(m))
        if f.code == rusqlite::ErrorCode::ConstraintViolation && m.contains("results_one_per_item"))
}

/// The statement that inserts a result, its values `?1`…`?11` ([`result_values`]); PostgreSQL
/// numbers them `$1`…`$11`.
pub(super) const INSERT_RESULT: &str =
    "INSERT INTO results (draw_id, target_id, checklist_item, category, remarks,
        inspection_date, inspectors, entered_at, entered_by, source_file, source_line)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// The values [`INSERT_RESULT`] binds for `r`, in order (`inspectors`: [`inspectors_text`]).
pub(super) fn result_values<'a>(
    draw_id: &'a i64,
    r: &'a NewResult,
    inspectors: &'a dyn rusqlite::ToSql,
    (entered_at, actor): (&'a &'a str, &'a &'a str),
) -> [&'a dyn rusqlite::ToSql; 11] {
    [
        draw_id,
        &r.target_id,
        &r.checklist_item,
        &r.category,
        &r.remarks,
        &r.inspection_date,
        inspectors,
        entered_at,
        actor,
        &r.source_file,
        &r.source_line,
    ]
}

/// Result `id`'s row hashed as inserted, into the entry's rows hash: `RESULTS`' columns, the id
/// then the values bound, in the same order (both databases read them back as these values).
pub(super) fn hash_inserted(
    hashed: &mut super::rows::Inserted,
    id: i64,
    values: &[&dyn rusqlite::ToSql],
) -> R<()> {
    hashed.table(super::rows::RESULTS[0].0);
    hashed.row();
    hashed.values(&[&id])?;
    hashed.values(values)?;
    hashed.end_table();
    Ok(())
}

/// Batch `i` of `results` and its audit entry, in the caller's transaction: the new ids.
fn insert_results(
    tx: &Connection,
    origin: &Origin,
    (results, i): (&dyn NewResults, usize),
    entered_at: &str,
    actor: &str,
) -> R<Vec<i64>> {
    let draw_id = results.draw_of(i);
    require_active(tx, draw_id)?;
    let mut insert = tx.prepare_cached(INSERT_RESULT)?;
    let mut confirmed = SelectedTarget::default();
    // The entry's rows hash made as the rows go in, not by reading each back by its id.
    let mut hashed = super::rows::Inserted::new();
    let (ids, sources) = each_inserted(results, i, &mut |r| {
        confirmed.check(draw_id, r, |t| selected(tx, draw_id, t))?;
        let inspectors = inspectors_text(r)?;
        let row = result_values(&draw_id, r, &inspectors, (&entered_at, &actor));
        let id = match insert.execute(&row[..]) {
            Ok(_) => tx.last_insert_rowid(),
            Err(e) if is_second_result(&e) => return Err(duplicate(draw_id, r)),
            Err(e) => return Err(e.into()),
        };
        hash_inserted(&mut hashed, id, &row)?;
        Ok(id)
    })?;
    let entry = ResultsEntry::of(draw_id, ids.clone(), sources);
    audit::append_hashed(tx, origin, &entry.entry(entered_at, actor), hashed.finish())?;
    Ok(ids)
}

impl Store {
    /// Records results for one active draw, with one audit entry, in one transaction;
    /// returns the new ids in order. Every target must be one the draw selected, and a
    /// (target, checklist item) pair is recorded once.
    pub fn record_results(
        &mut self,
        draw_id: i64,
        rows: &[NewResult],
        entered_at: &str,
        actor: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let mut ids = self.record_results_batch(&[(draw_id, rows.to_vec())], entered_at, actor)?;
        Ok(ids.pop().unwrap_or_default())
    }

    /// Records results for several draws at once (e.g. one imported file covering two
    /// draws): one transaction for all of them, one audit entry per draw. Either every row is
    /// recorded or none is. Returns the new ids per draw, in the order given.
    pub fn record_results_batch(
        &mut self,
        batches: &[(i64, Vec<NewResult>)],
        entered_at: &str,
        actor: &str,
    ) -> Result<Vec<Vec<i64>>, StoreError> {
        self.record_new_results(&HeldResults(batches), entered_at, actor)
    }

    /// [`Store::record_results_batch`] for results handed out one at a time.
    pub fn record_new_results(
        &mut self,
        results: &dyn NewResults,
        entered_at: &str,
        actor: &str,
    ) -> Result<Vec<Vec<i64>>, StoreError> {
        check_entered(entered_at, actor).map_err(|f| f.into_store(&self.path))?;
        let origin = self.origin.clone();
        self.write(|tx| {
            (0..results.batches())
                .map(|i| insert_results(tx, &origin, (results, i), entered_at, actor))
                .collect()
        })
    }

    /// What a ledger reads of each of the draw's results, in the order they were entered,
    /// handed to `each` as each row is read (never all held: a national draw's run to
    /// millions).
    pub fn each_result_fact(
        &self,
        draw_id: i64,
        each: &mut dyn FnMut(ResultFact<'_>),
    ) -> Result<(), StoreError> {
        self.read(|c| {
            let sql = format!("SELECT {RESULT_FACT_COLUMNS} FROM results {OF_DRAW_BY_ID}");
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query([draw_id])?;
            while let Some(r) = rows.next()? {
                let required = |i: usize| {
                    fact_text(r, i)?
                        .ok_or_else(|| Fail::corrupt(format!("a result's column {i} is empty")))
                };
                each(ResultFact {
                    id: r.get(0)?,
                    target_id: required(1)?,
                    checklist_item: fact_text(r, 2)?,
                    category: required(3)?,
                    inspection_date: required(4)?,
                    published_at: fact_text(r, 5)?,
                });
            }
            Ok(())
        })
    }

    /// The draw's results in the order they were entered.
    pub fn results(&self, draw_id: i64) -> Result<Vec<ResultRow>, StoreError> {
        let mut out = Vec::new();
        self.each_result(draw_id, &mut |r| out.push(r))?;
        Ok(out)
    }

    /// The draw's results in the order they were entered, each handed to `each` as its row is
    /// read (a national draw's run to millions: never all held unless `each` holds them).
    pub fn each_result(
        &self,
        draw_id: i64,
        each: &mut dyn FnMut(ResultRow),
    ) -> Result<(), StoreError> {
        self.read(|c| {
            let sql = format!(
                "SELECT id, draw_id, target_id, checklist_item, category, remarks, inspection_date,
                        inspectors, entered_at, entered_by, published_at, source_file, source_line
                 FROM results {OF_DRAW_BY_ID}"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map([draw_id], |r| {
                Ok((
                    ResultRow {
                        id: r.get(0)?,
                        draw_id: r.get(1)?,
                        target_id: r.get(2)?,
                        checklist_item: r.get(3)?,
                        category: r.get(4)?,
                        remarks: r.get(5)?,
                        inspection_date: r.get(6)?,
                        inspectors_signed: Vec::new(),
                        entered_at: r.get(8)?,
                        entered_by: r.get(9)?,
                        published_at: r.get(10)?,
                        source_file: r.get(11)?,
                        source_line: None,
                    },
                    r.get::<_, String>(7)?,
                    r.get::<_, Option<i64>>(12)?,
                ))
            })?;
            for row in rows {
                let (mut result, inspectors, line) = row?;
                result.inspectors_signed = serde_json::from_str(&inspectors).map_err(|e| {
                    Fail::corrupt(format!(
                        "result {} lists its inspectors wrongly: {e}",
                        result.id
                    ))
                })?;
                result.source_line = line.map(|l| to_u32("results.source_line", l)).transpose()?;
                each(result);
            }
            Ok(())
        })
    }

    /// Records that the draw's outputs were published, and marks every result of the draw
    /// not yet published as published at `published_at` (from then on they cannot change).
    /// One transaction with its audit entry; returns the publication's id.
    pub fn record_publication(
        &mut self,
        draw_id: i64,
        published_at: &str,
        files: &serde_json::Value,
        actor: &str,
    ) -> Result<i64, StoreError> {
        let checked =
            non_empty("published_at", published_at).and_then(|()| non_empty("actor", actor));
        checked.map_err(|f| f.into_store(&self.path))?;
        let files_text = serde_json::to_string(files)
            .map_err(|e| StoreError::invalid("files", e.to_string()))?;
        let origin = self.origin.clone();
        self.write(|tx| {
            require_active(tx, draw_id)?;
            let published: Vec<i64> = tx
                .prepare_cached(
                    "SELECT id FROM results WHERE draw_id = ?1 AND published_at IS NULL ORDER BY id",
                )?
                .query_map([draw_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let count = tx.execute(
                "UPDATE results SET published_at = ?1 WHERE draw_id = ?2 AND published_at IS NULL",
                params![published_at, draw_id],
            )?;
            tx.execute(
                "INSERT INTO publications (draw_id, published_at, actor, files, results_count)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![draw_id, published_at, actor, files_text, count as i64],
            )?;
            let id = tx.last_insert_rowid();
            let entry = PublicationEntry::of(draw_id, id, files, published);
            audit::append(tx, &origin, &entry.entry(published_at, actor))?;
            Ok(id)
        })
    }

    /// Records several publications at once, each marking exactly the results it lists as
    /// published at its time: one transaction for all, one audit entry per publication.
    /// A listed result that is not part of its draw or is already published refuses the
    /// whole batch. Returns the publications' ids in order.
    pub fn record_publications(&mut self, pubs: &[NewPublication]) -> Result<Vec<i64>, StoreError> {
        self.record_publications_probed(pubs, &mut || {})
    }

    /// [`Store::record_publications`] calling `before_commit` when every row and audit entry
    /// is written, before the commit. For tests that interrupt a publication there.
    #[doc(hidden)]
    pub fn record_publications_probed(
        &mut self,
        pubs: &[NewPublication],
        before_commit: &mut dyn FnMut(),
    ) -> Result<Vec<i64>, StoreError> {
        let texts = publication_texts(pubs).map_err(|f| f.into_store(&self.path))?;
        let origin = self.origin.clone();
        self.write(|tx| {
            let mut out = Vec::with_capacity(pubs.len());
            for (p, files_text) in pubs.iter().zip(&texts) {
                require_active(tx, p.draw_id)?;
                // A run of consecutive ids at a time (a draw's results mostly are one): each
                // counted unpublished in the draw, then marked.
                for (first, last) in id_runs(&p.result_ids) {
                    const IN_RUN: &str = "FROM results WHERE id BETWEEN ?1 AND ?2 AND draw_id = ?3
                         AND published_at IS NULL";
                    let found: i64 = tx
                        .prepare_cached(&format!("SELECT count(*) {IN_RUN}"))?
                        .query_row(params![first, last, p.draw_id], |r| r.get(0))?;
                    if found != last - first + 1 {
                        let ids = tx
                            .prepare_cached(&format!("SELECT id {IN_RUN} ORDER BY id"))?
                            .query_map(params![first, last, p.draw_id], |r| r.get(0))?
                            .collect::<Result<Vec<i64>, _>>()?;
                        return Err(not_publishable(first_missing(first, last, &ids), p.draw_id));
                    }
                    tx.prepare_cached(
                        "UPDATE results SET published_at = ?4
                         WHERE id BETWEEN ?1 AND ?2 AND draw_id = ?3 AND published_at IS NULL",
                    )?
                    .execute(params![
                        first,
                        last,
                        p.draw_id,
                        p.published_at
                    ])?;
                }
                tx.execute(
                    "INSERT INTO publications (draw_id, published_at, actor, files, results_count)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        p.draw_id,
                        p.published_at,
                        p.actor,
                        files_text,
                        p.result_ids.len() as i64
                    ],
                )?;
                let id = tx.last_insert_rowid();
                let entry = PublicationEntry::of(p.draw_id, id, &p.files, p.result_ids.clone());
                audit::append(tx, &origin, &entry.entry(&p.published_at, &p.actor))?;
                out.push(id);
            }
            before_commit();
            Ok(out)
        })
    }

    /// How many publications are recorded (of every draw).
    pub fn publication_count(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            c.query_row("SELECT count(*) FROM publications", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(Into::into)
        })
    }

    /// The draw's publications, oldest first.
    pub fn publications(&self, draw_id: i64) -> Result<Vec<PublicationRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, draw_id, published_at, actor, files, results_count
                 FROM publications WHERE draw_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([draw_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, draw_id, published_at, actor, files, count) = row?;
                out.push(PublicationRow {
                    id,
                    draw_id,
                    published_at,
                    actor,
                    files: serde_json::from_str(&files)
                        .map_err(|e| Fail::corrupt(format!("publication {id} files: {e}")))?,
                    results_count: to_u64("publications.results_count", count)?,
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{first_missing, id_runs};

    #[test]
    fn ids_run_in_order_and_a_repeated_id_starts_a_run() {
        assert_eq!(id_runs(&[]), vec![]);
        assert_eq!(
            id_runs(&[5, 3, 4, 9, 10, 12]),
            vec![(3, 5), (9, 10), (12, 12)]
        );
        assert_eq!(id_runs(&[2, 1, 2]), vec![(1, 2), (2, 2)]);
        assert_eq!(
            id_runs(&[i64::MAX, i64::MAX - 1]),
            vec![(i64::MAX - 1, i64::MAX)]
        );
    }

    #[test]
    fn the_first_id_missing_from_a_run_is_named() {
        assert_eq!(first_missing(3, 6, &[3, 4, 6]), 5);
        assert_eq!(first_missing(3, 6, &[4, 5, 6]), 3);
        assert_eq!(first_missing(3, 6, &[3, 4, 5]), 6);
        assert_eq!(first_missing(7, 7, &[]), 7);
    }
}
