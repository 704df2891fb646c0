//! The excluded targets one by one: listed in id order, or made into the detail file's lines
//! (docs/draw-algorithm.md V2-17) as their rows are read again, a window at a time, so that a
//! registry's millions of exclusions are never held at once.

use std::io::Write;

use rayon::prelude::*;

use super::plan::Fate;
use super::rows::{KeptCells, RowSource};
use super::rules::Rules;
use super::{DrawFailure, ExclusionsOut};
use crate::digest::HashingWriter;
use crate::draw::manifest::{EXCLUSIONS_FILE, Exclusion, ExclusionsCsv};
use crate::registry::canonical::LineCells;

/// Rows read again at a time by one worker.
const BATCH: usize = 4096;

/// Rows read again (in parallel batches) before their lines are written, in order.
const WINDOW: usize = 16 * BATCH;

/// A detail file made: its hash, its lines, and its exclusions when they were to be kept.
#[derive(Debug)]
pub(super) struct Detail {
    pub sha256: String,
    pub rows: u64,
    pub kept: Vec<Exclusion>,
}

/// The excluded rows (position, group; ascending), and the cells their classifying kept of
/// each, in the same order (`None`: they are read again).
pub(super) struct Excluded {
    pub rows: Vec<(u64, u32)>,
    pub cells: Option<KeptCells>,
}

/// Some of the excluded rows: the `at`-th on, and the cells kept of them all.
#[derive(Clone, Copy)]
struct Part<'a> {
    rows: &'a [(u64, u32)],
    at: usize,
    cells: Option<&'a KeptCells>,
}

/// The excluded rows `rows` in batches of `BATCH`, in parallel.
fn batches<'a>(
    rows: &'a [(u64, u32)],
    at: usize,
    cells: Option<&'a KeptCells>,
) -> impl IndexedParallelIterator<Item = Part<'a>> {
    rows.par_chunks(BATCH)
        .enumerate()
        .map(move |(i, rows)| Part {
            rows,
            at: at + i * BATCH,
            cells,
        })
}

/// The exclusions of the excluded rows, in id order (rows with the same id in position
/// order).
pub(super) fn listed(
    source: &dyn RowSource,
    rules: &Rules<'_>,
    excluded: &Excluded,
    fates: &[Fate],
) -> Result<Vec<Exclusion>, DrawFailure> {
    let rows = &excluded.rows;
    let parts: Vec<Result<Vec<Exclusion>, DrawFailure>> = batches(rows, 0, excluded.cells.as_ref())
        .map(|batch| of_rows(source, rules, batch, fates))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for part in parts {
        out.extend(part?);
    }
    out.sort_by(|a, b| a.target_id.cmp(&b.target_id));
    Ok(out)
}

/// The exclusions of some excluded rows, in their order.
fn of_rows(
    source: &dyn RowSource,
    rules: &Rules<'_>,
    batch: Part<'_>,
    fates: &[Fate],
) -> Result<Vec<Exclusion>, DrawFailure> {
    let mut out = Vec::with_capacity(batch.rows.len());
    each_exclusion(source, rules, batch, fates, &mut |id, reason, detail| {
        out.push(Exclusion::new(id, reason, detail));
    })?;
    Ok(out)
}

/// Hands `each` the id, reason and detail of each of some excluded rows, in their order,
/// without making an exclusion of it: from the cells kept of them when those are all there
/// and read as the registry reader reads them, else as the rows are read again.
fn each_exclusion(
    source: &dyn RowSource,
    rules: &Rules<'_>,
    batch: Part<'_>,
    fates: &[Fate],
    each: &mut dyn FnMut(&str, &str, &str),
) -> Result<(), DrawFailure> {
    let mut detail = String::new();
    let mut one = |c: &LineCells<'_>, g: u32| {
        if let Some(Fate::Excluded(why, _)) = fates.get(g as usize)
            && let Some(reason) = rules.exclusion_why(c, *why, &mut detail)
        {
            each(c.id, reason, &detail);
        }
    };
    if let Some(kept) = kept_rows(&batch) {
        for (row, &(_, g)) in kept.iter().zip(batch.rows) {
            one(&row.cells(), g);
        }
        return Ok(());
    }
    let positions: Vec<u64> = batch.rows.iter().map(|(p, _)| *p).collect();
    let mut groups = batch.rows.iter().map(|&(_, g)| g);
    source.each_checked(&positions, rules.exclusion_fields(), &mut |c| {
        if let Some(g) = groups.next() {
            one(c, g);
        }
    })
}

/// What an excluded row was kept with, as the registry reader reads it: its id, and the date
/// and result of its last inspection (all its exclusion's reason and detail read of it).
#[derive(Clone, Copy)]
struct KeptRow<'a> {
    id: &'a str,
    last_inspected: Option<chrono::NaiveDate>,
    last_result: &'a str,
}

impl<'a> KeptRow<'a> {
    /// The row's cells: these, the others blank.
    fn cells(self) -> LineCells<'a> {
        let mut c = LineCells::blank();
        c.id = self.id;
        c.last_inspected = self.last_inspected;
        c.last_result = self.last_result;
        c
    }
}

/// What the excluded row `i` was kept with, as the registry reader reads it (`None` when it
/// would refuse it: the row is read again).
fn kept_row(cells: &KeptCells, i: usize) -> Option<KeptRow<'_>> {
    let (id, cooldown) = cells.row(i)?;
    if id.is_empty() || crate::registry::values::looks_like_scientific(id) {
        return None;
    }
    let mut row = KeptRow {
        id,
        last_inspected: None,
        last_result: "",
    };
    if let Some((date, result)) = cooldown {
        if !date.is_empty() {
            row.last_inspected = Some(crate::registry::values::parse_date(date).ok()?);
        }
        row.last_result = result;
    }
    Some(row)
}

/// What the rows of `batch` were kept with, read once into one allocation (a third of the
/// bytes their cells would take); `None` when some row was kept without its cells or with
/// cells the reader would refuse.
fn kept_rows<'a>(batch: &Part<'a>) -> Option<Vec<KeptRow<'a>>> {
    let cells = batch.cells?;
    let mut rows = Vec::with_capacity(batch.rows.len());
    for i in 0..batch.rows.len() {
        rows.push(kept_row(cells, batch.at + i)?);
    }
    Some(rows)
}

/// The detail file of the excluded `rows` (position, group; ascending), made as they are read
/// again and handed to `out` ([`ExclusionsOut::Hash`] or [`ExclusionsOut::Write`]): a window's
/// lines are written and hashed here while the pool's threads make the next window's, so that
/// neither waits for the other (at 10M, 41 windows). Rows whose
/// ids are not in position order (a registry file that is not a snapshot) are listed whole
/// and sorted, and the file made again from the list.
pub(super) fn stream(
    source: &dyn RowSource,
    rules: &Rules<'_>,
    excluded: Excluded,
    fates: &[Fate],
    out: ExclusionsOut<'_>,
) -> Result<Detail, DrawFailure> {
    let rows = &excluded.rows;
    let keep = rows.len() <= keep_up_to(out);
    let lines = |w: usize, window: &[(u64, u32)]| -> Vec<Result<Lines, DrawFailure>> {
        batches(window, w * WINDOW, excluded.cells.as_ref())
            .map(|batch| lines_of(source, rules, batch, fates, keep))
            .collect()
    };
    let windows: Vec<&[(u64, u32)]> = rows.chunks(WINDOW).collect();
    let made = with_sink(out, |sink| {
        let mut csv = ExclusionsCsv::new(HashingWriter::new(sink));
        let mut kept = Vec::new();
        let mut last = String::new();
        // A window's lines written (in order) while the pool's threads make the next's.
        let mut write = |parts: Vec<Result<Lines, DrawFailure>>| -> Result<bool, DrawFailure> {
            for part in parts {
                let part = part?;
                match part.ids {
                    Some((first, _)) if first < last => return Ok(false),
                    Some((_, end)) => last = end,
                    None if part.rows > 0 => return Ok(false),
                    None => {}
                }
                csv.lines(&part.csv, part.rows).map_err(cannot_write)?;
                kept.extend(part.kept);
            }
            Ok(true)
        };
        let mut ready = windows.first().map(|first| lines(0, first));
        for w in 0..windows.len() {
            let parts = ready.take().unwrap_or_default();
            let written = match windows.get(w + 1) {
                Some(after) => rayon::in_place_scope(|scope| {
                    scope.spawn(|_| ready = Some(lines(w + 1, after)));
                    write(parts)
                }),
                None => write(parts),
            };
            if !written? {
                return Ok(None);
            }
        }
        let rows = csv.rows();
        let (sha256, ..) = csv.finish().map_err(cannot_write)?.finish();
        Ok(Some(Detail { sha256, rows, kept }))
    })?;
    match made {
        Some(d) => Ok(d),
        None => of_list(listed(source, rules, &excluded, fates)?, out),
    }
}

/// One batch's lines of the detail file, made by the thread that read its rows (and let go
/// there: at national scale two and a half million exclusions, each made of a few strings).
struct Lines {
    csv: Vec<u8>,
    rows: u64,
    /// The first and last ids, when the batch's ids do not go down (`None` when they do, or
    /// when it has no lines).
    ids: Option<(String, String)>,
    /// Its exclusions, when they are kept.
    kept: Vec<Exclusion>,
}

/// The detail file's lines of some excluded rows, in their order, each made as its row is
/// read (no exclusion made of it unless it is kept).
fn lines_of(
    source: &dyn RowSource,
    rules: &Rules<'_>,
    batch: Part<'_>,
    fates: &[Fate],
    keep: bool,
) -> Result<Lines, DrawFailure> {
    let mut csv = Vec::with_capacity(batch.rows.len() * 64);
    let mut kept = Vec::new();
    let (mut rows, mut ordered) = (0u64, true);
    let (mut first, mut last) = (String::new(), String::new());
    each_exclusion(source, rules, batch, fates, &mut |id, reason, detail| {
        crate::draw::manifest::exclusion_line_of(&mut csv, id, reason, detail);
        if keep {
            kept.push(Exclusion::new(id, reason, detail));
        }
        if rows == 0 {
            first.push_str(id);
        }
        ordered &= last.as_str() <= id;
        last.clear();
        last.push_str(id);
        rows += 1;
    })?;
    Ok(Lines {
        csv,
        rows,
        ids: (rows > 0 && ordered).then_some((first, last)),
        kept,
    })
}

/// The detail file of `list` (in its order), handed to `out`; with [`ExclusionsOut::Keep`],
/// hashed and kept whole.
pub(super) fn of_list(list: Vec<Exclusion>, out: ExclusionsOut<'_>) -> Result<Detail, DrawFailure> {
    let made = with_sink(out, |sink| {
        let mut csv = ExclusionsCsv::new(HashingWriter::new(sink));
        for e in &list {
            csv.row(e).map_err(cannot_write)?;
        }
        let rows = csv.rows();
        let (sha256, ..) = csv.finish().map_err(cannot_write)?.finish();
        Ok(Some((sha256, rows)))
    })?;
    let (sha256, rows) = made.unwrap_or_default();
    let kept = if list.len() <= keep_up_to(out) {
        list
    } else {
        Vec::new()
    };
    Ok(Detail { sha256, rows, kept })
}

/// How many exclusions may be returned.
fn keep_up_to(out: ExclusionsOut<'_>) -> usize {
    match out {
        ExclusionsOut::Keep => usize::MAX,
        ExclusionsOut::Hash { keep_up_to } | ExclusionsOut::Write { keep_up_to, .. } => keep_up_to,
    }
}

/// Runs `make` over the file's sink: nothing (hashed only), or the detail file emptied first
/// (it may hold a first attempt).
fn with_sink<T, F>(out: ExclusionsOut<'_>, mut make: F) -> Result<Option<T>, DrawFailure>
where
    F: FnMut(&mut dyn Write) -> Result<Option<T>, DrawFailure>,
{
    match out {
        ExclusionsOut::Keep | ExclusionsOut::Hash { .. } => make(&mut std::io::sink()),
        ExclusionsOut::Write { file, .. } => {
            let mut file = file.borrow_mut();
            file.restart().map_err(cannot_write)?;
            make(&mut *file)
        }
    }
}

fn cannot_write(e: std::io::Error) -> DrawFailure {
    DrawFailure::Io(format!("cannot write {EXCLUSIONS_FILE}: {e}"))
}
