//! A target registry file checked as `registry check` checks it, in bounded memory, and frozen
//! on the way into its canonical snapshot file (the rows in id order, `canonical`).
//!
//! The file is read in parallel byte ranges (`source::RegistryFile::scan`); each range hands
//! batches of records to the registry reader itself (`read::targets`), so every row gets exactly
//! the checks and diagnostics of `registry::check`, at the file's own lines — except rows
//! plain enough for the reader to make without a word (`RegistryFile::plain_target`: nearly
//! every row of a clean registry), which are made directly, the same targets. A worker keeps each
//! row's id and canonical line up to a memory budget, sorts them by id and spills them as a run
//! to a work folder. The runs are then read in id order (one after another when the file was
//! already in id order, else merged) into the snapshot file, hashed on the way. Equal ids meet in
//! that order, which is how duplicate ids are found. Memory: the budget per worker, a batch, and
//! a read buffer per run; disk: the runs, then the snapshot, each about the size of the
//! canonical registry.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::canonical::{LineCells, canonical_writer, push_target_line, write_target_header};
use super::source::{PlainRow, Record, RegistryFile, SourceError};
use crate::diag::{Diagnostic, Location};
use crate::digest::Hasher;
use crate::durable::SyncedAsWritten;

mod ordered;

/// Records handed to the registry reader at a time.
const BATCH: usize = 4096;

/// Bytes of ids and canonical lines a worker keeps before it sorts and spills them.
pub(crate) const SPILL_BYTES: usize = 32 << 20;

/// A canonical snapshot written to a file (or, when only its hash was asked for, hashed
/// without one: then `path` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    pub path: PathBuf,
    /// SHA-256 of the snapshot's bytes.
    pub sha256: String,
    pub size: u64,
}

/// What checking a target file found.
#[derive(Debug)]
pub(crate) struct FileChecked {
    /// Every problem, errors and warnings, in line order.
    pub diagnostics: Vec<Diagnostic>,
    /// Rows the reader made a target of.
    pub rows: u64,
    /// The canonical snapshot (written when a file was asked for), when the file has no error.
    pub snapshot: Option<SnapshotFile>,
    /// The 回避 entries asked about that name some target (its id or name, or a `*` pattern
    /// matching either).
    pub conflicts_found: HashSet<String>,
}

/// What the workers share.
struct Shared<'a> {
    file: &'a RegistryFile<'a>,
    /// The 回避 entries asked about, looked up for every row's id and name (FxHash: a short
    /// cell's hash in a few instructions).
    conflicts: rustc_hash::FxHashSet<&'a str>,
    /// Whether some entry of `conflicts` is as long as the index (in bytes): a cell of another
    /// length is looked up no further.
    conflict_lens: Vec<bool>,
    /// The entries among `conflicts` that are `*` patterns (tried on each row until found).
    patterns: Vec<&'a str>,
    work: &'a Path,
    /// The header's extra columns, sorted (each target line has a cell for each).
    extra_keys: Vec<&'a str>,
    rows: AtomicU64,
    runs: AtomicU64,
    on_rows: &'a (dyn Fn(u64) + Sync),
    spill_bytes: usize,
}

impl<'a> Shared<'a> {
    fn new(
        file: &'a RegistryFile<'a>,
        conflicts: &'a HashSet<String>,
        work: &'a Path,
        spill_bytes: usize,
        on_rows: &'a (dyn Fn(u64) + Sync),
    ) -> Shared<'a> {
        Shared {
            file,
            conflicts: conflicts.iter().map(String::as_str).collect(),
            conflict_lens: lengths(conflicts),
            patterns: conflicts
                .iter()
                .filter(|c| c.contains('*'))
                .map(String::as_str)
                .collect(),
            work,
            extra_keys: file.extra_keys().collect(),
            rows: AtomicU64::new(0),
            runs: AtomicU64::new(0),
            on_rows,
            spill_bytes: spill_bytes.max(1),
        }
    }
}

/// A spilled run: its file, its first and last id, whether its ids strictly ascend.
#[derive(Debug)]
struct Run {
    path: PathBuf,
    first: Vec<u8>,
    last: Vec<u8>,
    strict: bool,
}

/// Where a kept row's id and line are in the worker's buffers, and its offset in the file.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: (u32, u32),
    line: (u32, u32),
    offset: u64,
}

/// One range's reader.
struct Worker {
    raws: Vec<u8>,
    spans: Vec<(u64, usize, usize)>,
    ids: Vec<u8>,
    lines: Vec<u8>,
    entries: Vec<Entry>,
    runs: Vec<Run>,
    /// (offset, line within the record, diagnostic).
    problems: Vec<(u64, usize, Diagnostic)>,
    rows: u64,
    /// Rows kept and not yet counted in `rows`.
    plain: u64,
    extra_seen: Vec<bool>,
    found: HashSet<String>,
    failed: Option<io::Error>,
    /// Whether kept rows are spilled as runs when they reach the budget (else they are taken
    /// by the caller).
    spills: bool,
}

impl Worker {
    fn new(extras: usize, spills: bool) -> Worker {
        Worker {
            raws: Vec::new(),
            spans: Vec::with_capacity(BATCH),
            ids: Vec::new(),
            lines: Vec::new(),
            entries: Vec::new(),
            runs: Vec::new(),
            problems: Vec::new(),
            rows: 0,
            plain: 0,
            extra_seen: vec![false; extras],
            found: HashSet::new(),
            failed: None,
            spills,
        }
    }

    fn push(&mut self, cx: &Shared<'_>, r: &Record<'_>) {
        // A row the reader would make without a word is kept here as the same target's line;
        // any other goes to the reader in a batch, and the rows after it too until the batch
        // is read, so that rows are kept in the file's order.
        if self.spans.is_empty()
            && let Some(p) = cx.file.plain_row(r)
        {
            self.keep_plain(cx, &p, r.offset);
            self.plain += 1;
            if self.plain >= BATCH as u64 {
                self.counted(cx);
            }
            return;
        }
        let start = self.raws.len();
        self.raws.extend_from_slice(r.raw);
        self.spans.push((r.offset, start, r.raw.len()));
        if self.spans.len() >= BATCH {
            self.batch(cx);
        }
    }

    /// Hands the batch to the registry reader and keeps what it made.
    fn batch(&mut self, cx: &Shared<'_>) {
        if self.spans.is_empty() {
            self.counted(cx);
            return;
        }
        let (mut raws, mut spans) = (
            std::mem::take(&mut self.raws),
            std::mem::take(&mut self.spans),
        );
        let records: Vec<(u64, &[u8])> = spans
            .iter()
            .map(|&(o, a, l)| (o, raws.get(a..a + l).unwrap_or_default()))
            .collect();
        let read = cx.file.read_records(&records);
        for (j, within, d) in read.problems {
            let offset = records.get(j).map_or(0, |r| r.0);
            self.problems.push((offset, within, d));
        }
        self.plain += read.targets.len() as u64;
        for (j, t) in read.targets {
            let offset = records.get(j).map_or(0, |r| r.0);
            self.keep(cx, &t, offset);
        }
        drop(records);
        raws.clear();
        spans.clear();
        (self.raws, self.spans) = (raws, spans);
        self.counted(cx);
    }

    /// Counts the rows kept since last time (and tells `on_rows`); spills when the kept rows
    /// reach the budget.
    fn counted(&mut self, cx: &Shared<'_>) {
        let n = std::mem::take(&mut self.plain);
        if n > 0 {
            self.rows += n;
            let total = cx.rows.fetch_add(n, Ordering::Relaxed) + n;
            (cx.on_rows)(total);
        }
        if self.spills && self.ids.len() + self.lines.len() >= cx.spill_bytes {
            self.spill(cx);
        }
    }

    /// Keeps a target the reader made.
    fn keep(&mut self, cx: &Shared<'_>, t: &super::types::Target, offset: u64) {
        let extras = cx
            .extra_keys
            .iter()
            .map(|k| t.extra.get(*k).map_or("", String::as_str));
        self.keep_line(cx, (&LineCells::of(t), true), extras, offset);
    }

    /// Keeps a row made without the reader.
    fn keep_plain(&mut self, cx: &Shared<'_>, p: &PlainRow<'_>, offset: u64) {
        self.keep_line(cx, (&p.cells, p.quoted), p.extras(cx.file), offset);
    }

    /// Notes which extra columns have a value and which 回避 entries the row answers, and
    /// keeps its id and canonical line.
    fn keep_line<'e>(
        &mut self,
        cx: &Shared<'_>,
        (c, quoted): (&LineCells<'_>, bool),
        extras: impl Iterator<Item = &'e str> + Clone,
        offset: u64,
    ) {
        for (seen, v) in self.extra_seen.iter_mut().zip(extras.clone()) {
            *seen |= !v.is_empty();
        }
        if !cx.conflicts.is_empty() {
            for key in [c.id, c.name] {
                let may = cx.conflict_lens.get(key.len()).copied().unwrap_or(false);
                if may && cx.conflicts.contains(key) && !self.found.contains(key) {
                    self.found.insert(key.to_string());
                }
            }
            for p in &cx.patterns {
                if !self.found.contains(*p) && super::avoid::names_target(p, c.id, c.name) {
                    self.found.insert((*p).to_string());
                }
            }
        }
        if c.id.is_empty() {
            // The reader reported it; an empty id repeats no other.
            return;
        }
        let line_start = self.lines.len();
        push_target_line(&mut self.lines, c, extras, quoted);
        let line_end = self.lines.len();
        let id_start = self.ids.len();
        self.ids.extend_from_slice(c.id.as_bytes());
        let small = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.entries.push(Entry {
            id: (small(id_start), small(c.id.len())),
            line: (small(line_start), small(line_end - line_start)),
            offset,
        });
    }

    /// Sorts the kept rows by id and writes them as a run.
    fn spill(&mut self, cx: &Shared<'_>) {
        if self.entries.is_empty() {
            return;
        }
        let lines = &self.lines;
        let ids = &self.ids;
        let id = |e: &Entry| slice(ids, e.id);
        if !self.entries.is_sorted_by(|a, b| id(a) <= id(b)) {
            self.entries
                .sort_unstable_by(|a, b| id(a).cmp(id(b)).then(a.offset.cmp(&b.offset)));
        }
        let strict = self.entries.windows(2).all(|w| id(&w[0]) < id(&w[1]));
        let n = cx.runs.fetch_add(1, Ordering::Relaxed);
        let path = cx.work.join(format!("run-{n}.bin"));
        let written = (|| -> io::Result<()> {
            let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
            for e in &self.entries {
                let (i, l) = (id(e), slice(lines, e.line));
                out.write_all(&(i.len() as u32).to_le_bytes())?;
                out.write_all(i)?;
                out.write_all(&e.offset.to_le_bytes())?;
                out.write_all(&(l.len() as u32).to_le_bytes())?;
                out.write_all(l)?;
            }
            out.flush()
        })();
        if let Err(e) = written {
            self.failed.get_or_insert(e);
        }
        let (first, last) = match (self.entries.first(), self.entries.last()) {
            (Some(f), Some(l)) => (id(f).to_vec(), id(l).to_vec()),
            _ => (Vec::new(), Vec::new()),
        };
        self.runs.push(Run {
            path,
            first,
            last,
            strict,
        });
        self.entries.clear();
        self.ids.clear();
        self.lines.clear();
    }
}

fn slice(buf: &[u8], (start, len): (u32, u32)) -> &[u8] {
    buf.get(start as usize..start as usize + len as usize)
        .unwrap_or_default()
}

/// How a check reads: threads, bytes each keeps before spilling a run, and the size of the
/// blocks the file is read in when its ids may be in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub threads: usize,
    pub spill_bytes: usize,
    pub block_bytes: u64,
}

/// Bytes of the file read as one block when its ids may be in order (`ordered`).
pub(crate) const BLOCK_BYTES: u64 = 2 << 20;

/// Reads `file` with the registry reader in `threads` threads; hashes its canonical snapshot
/// and writes it to `snapshot` when given (and the file has no error). A file whose ids are in
/// order (as a registry exported sorted by id is) is read in blocks put back in file order and
/// frozen as it is read (`ordered`); any other is read in ranges whose rows are spilled to
/// `work` in sorted runs and merged. `conflicts`: 回避 entries to look for among the ids and
/// names (exact, or `*` patterns). `on_rows` is told the rows read so far.
pub(crate) fn check_file(
    file: &RegistryFile<'_>,
    conflicts: &HashSet<String>,
    (work, snapshot): (&Path, Option<&Path>),
    budget: Budget,
    on_rows: &(dyn Fn(u64) + Sync),
) -> Result<FileChecked, SourceError> {
    let cx = Shared::new(file, conflicts, work, budget.spill_bytes, on_rows);
    if let Some(found) = ordered::read(&cx, snapshot, budget)? {
        return finish(file, found);
    }
    cx.rows.store(0, Ordering::Relaxed);
    let found = by_runs(&cx, snapshot, budget.threads)?;
    finish(file, found)
}

/// For each length in bytes, whether some entry has it.
fn lengths(entries: &HashSet<String>) -> Vec<bool> {
    let mut lens = vec![false; entries.iter().map(String::len).max().map_or(0, |m| m + 1)];
    for e in entries {
        if let Some(l) = lens.get_mut(e.len()) {
            *l = true;
        }
    }
    lens
}

/// What a pass over the file found, before its diagnostics are put at the file's lines.
struct Found {
    rows: u64,
    found: HashSet<String>,
    problems: Vec<(u64, usize, Diagnostic)>,
    merged: Merged,
}

/// The file read in ranges, its rows spilled in sorted runs, then merged.
fn by_runs(cx: &Shared<'_>, snapshot: Option<&Path>, threads: usize) -> Result<Found, SourceError> {
    let file = cx.file;
    let extras = cx.extra_keys.len();
    let mut workers = file.scan(threads, &|_, _| Worker::new(extras, true), &|w, r| {
        w.push(cx, r)
    })?;
    for w in &mut workers {
        w.batch(cx);
        w.spill(cx);
    }
    let io_err = |source: io::Error| SourceError::Io {
        path: file.display().to_string(),
        source,
    };
    if let Some(e) = workers.iter_mut().find_map(|w| w.failed.take()) {
        return Err(io_err(e));
    }
    let Gathered {
        rows,
        seen,
        found,
        problems,
        runs,
    } = gather(workers, extras);
    let clean = !problems.iter().any(|(_, _, d)| d.is_error());
    let out = snapshot.filter(|_| clean);
    let (keys, drop) = kept_columns(&cx.extra_keys, &seen);
    let merged = merge(&runs, out, &keys, &drop).map_err(io_err)?;
    for r in &runs {
        let _ = std::fs::remove_file(&r.path);
    }
    Ok(Found {
        rows,
        found,
        problems,
        merged,
    })
}

/// The extra keys some row has a value in (`seen`), and the cells of a canonical line under
/// the others: extra columns no row has a value in are not in the canonical form.
fn kept_columns<'k>(keys: &[&'k str], seen: &[bool]) -> (Vec<&'k str>, Vec<usize>) {
    let kept = keys
        .iter()
        .zip(seen)
        .filter_map(|(k, s)| s.then_some(*k))
        .collect();
    let drop = (0..keys.len())
        .filter(|&i| !seen.get(i).copied().unwrap_or(false))
        .map(|i| TARGET_COLUMNS + i)
        .collect();
    (kept, drop)
}

/// The diagnostics of a pass at the file's lines; the snapshot when there is no error (else
/// its file is removed).
fn finish(file: &RegistryFile<'_>, f: Found) -> Result<FileChecked, SourceError> {
    let merged = f.merged;
    let mut diagnostics = diagnostics(file, f.problems, &merged.duplicates, f.rows)?;
    let failed = diagnostics.iter().any(Diagnostic::is_error);
    let snapshot = if failed {
        if !merged.snapshot.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&merged.snapshot.path);
        }
        None
    } else {
        Some(merged.snapshot)
    };
    let mut told = HashSet::new();
    diagnostics.retain(|d| !d.message.ends_with(NO_HEADER) || told.insert(d.message.clone()));
    Ok(FileChecked {
        diagnostics,
        rows: f.rows,
        snapshot,
        conflicts_found: f.found,
    })
}

/// What the workers found, put together.
struct Gathered {
    rows: u64,
    /// Whether some row has a value in each extra column.
    seen: Vec<bool>,
    found: HashSet<String>,
    problems: Vec<(u64, usize, Diagnostic)>,
    runs: Vec<Run>,
}

fn gather(workers: Vec<Worker>, extras: usize) -> Gathered {
    let mut g = Gathered {
        rows: 0,
        seen: vec![false; extras],
        found: HashSet::new(),
        problems: Vec::new(),
        runs: Vec::new(),
    };
    for w in workers {
        g.rows += w.rows;
        for (s, w) in g.seen.iter_mut().zip(&w.extra_seen) {
            *s |= *w;
        }
        g.found.extend(w.found);
        g.problems.extend(w.problems);
        g.runs.extend(w.runs);
    }
    g
}

/// The fixed columns of a canonical target line.
const TARGET_COLUMNS: usize = 11;

/// The end of the reader's warning for values under a column without a header (given once per
/// file).
const NO_HEADER: &str = "has no header; its values are ignored";

/// The reader's warning for a batch without rows, which says nothing about the file.
const NO_ROWS: &str = "the target file has no rows below the header";

/// The problems found, at the file's lines, in line order: the header's, the reader's for each
/// row, duplicate ids.
fn diagnostics(
    file: &RegistryFile<'_>,
    problems: Vec<(u64, usize, Diagnostic)>,
    duplicates: &[(Vec<u8>, Vec<u64>)],
    rows: u64,
) -> Result<Vec<Diagnostic>, SourceError> {
    let mut offsets: Vec<u64> = problems.iter().map(|p| p.0).collect();
    offsets.extend(duplicates.iter().flat_map(|(_, o)| o.iter().copied()));
    offsets.sort_unstable();
    offsets.dedup();
    let lines: HashMap<u64, usize> = offsets
        .iter()
        .copied()
        .zip(file.lines_of(&offsets)?)
        .collect();
    let line_of = |o: u64| lines.get(&o).copied().unwrap_or(0);
    let mut rows_found: Vec<((usize, usize), Diagnostic)> = Vec::new();
    for (offset, within, mut d) in problems {
        if d.message == NO_ROWS {
            continue;
        }
        let at = line_of(offset) + within;
        let mut col = 0;
        if let Location::Line { line, column, .. } = &mut d.location {
            *line = at;
            col = column.unwrap_or(0);
        }
        rows_found.push(((at, col), d));
    }
    let id_col = file.column(super::read::t::ID).map_or(0, |c| c + 1);
    for (id, offsets) in duplicates {
        let mut offsets = offsets.clone();
        offsets.sort_unstable();
        let first = line_of(offsets[0]);
        let id = String::from_utf8_lossy(id);
        for &o in &offsets[1..] {
            let line = line_of(o);
            let d = Diagnostic::error(format!(
                "duplicate target id `{id}`, first used at line {first}"
            ))
            .at_line(file.display(), line, (id_col > 0).then_some(id_col))
            .help("each target id must be unique: correct it, or delete the repeated row");
            rows_found.push(((line, id_col), d));
        }
    }
    rows_found.sort_by_key(|(k, _)| *k);
    let mut out = file.header_notes.clone();
    if rows == 0 {
        out.push(Diagnostic::warning(NO_ROWS).at_line(file.display(), file.header.line, None));
    }
    out.extend(rows_found.into_iter().map(|(_, d)| d));
    Ok(out)
}

/// What reading the runs in id order gave.
struct Merged {
    snapshot: SnapshotFile,
    /// Ids found on more than one row, with the rows' offsets.
    duplicates: Vec<(Vec<u8>, Vec<u64>)>,
}

/// A run read back one row at a time.
struct RunReader {
    r: BufReader<File>,
    id: Vec<u8>,
    offset: u64,
    line: Vec<u8>,
}

impl RunReader {
    fn open(path: &Path) -> io::Result<RunReader> {
        Ok(RunReader {
            r: BufReader::with_capacity(1 << 18, File::open(path)?),
            id: Vec::new(),
            offset: 0,
            line: Vec::new(),
        })
    }

    /// Reads the next row; false at the end.
    fn next(&mut self) -> io::Result<bool> {
        let mut n = [0u8; 4];
        match self.r.read_exact(&mut n) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(e),
        }
        self.id.resize(u32::from_le_bytes(n) as usize, 0);
        self.r.read_exact(&mut self.id)?;
        let mut o = [0u8; 8];
        self.r.read_exact(&mut o)?;
        self.offset = u64::from_le_bytes(o);
        self.r.read_exact(&mut n)?;
        self.line.resize(u32::from_le_bytes(n) as usize, 0);
        self.r.read_exact(&mut self.line)?;
        Ok(true)
    }
}

/// The snapshot being written (or nothing, when none is asked for) and the duplicates found.
struct Out {
    file: Option<(BufWriter<SyncedAsWritten>, PathBuf)>,
    hasher: Hasher,
    size: u64,
    drop: Vec<usize>,
    last: Option<(Vec<u8>, u64)>,
    group: Vec<u64>,
    duplicates: Vec<(Vec<u8>, Vec<u64>)>,
}

impl Out {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some((f, _)) = &mut self.file {
            f.write_all(bytes)?;
        }
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// Opens the snapshot at `out` (when given) and writes the header with `keys`; lines will
    /// be written without the columns `drop`.
    fn new(out: Option<&Path>, keys: &[&str], drop: &[usize]) -> io::Result<Out> {
        let mut o = Out {
            file: None,
            hasher: Hasher::default(),
            size: 0,
            drop: drop.to_vec(),
            last: None,
            group: Vec::new(),
            duplicates: Vec::new(),
        };
        if let Some(path) = out {
            o.file = Some((
                BufWriter::with_capacity(1 << 20, SyncedAsWritten::new(File::create(path)?)),
                path.to_path_buf(),
            ));
        }
        let mut header = canonical_writer(Vec::new());
        write_target_header(&mut header, keys).map_err(io::Error::other)?;
        let header = header
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        o.write(&header)?;
        Ok(o)
    }

    /// One row, in id order.
    fn row(&mut self, id: &[u8], offset: u64, line: &[u8]) -> io::Result<()> {
        match &mut self.last {
            Some((last, first)) if last.as_slice() == id => {
                if self.group.is_empty() {
                    self.group.push(*first);
                }
                self.group.push(offset);
                return Ok(());
            }
            _ => self.close_group(),
        }
        match &mut self.last {
            Some((last, first)) => {
                last.clear();
                last.extend_from_slice(id);
                *first = offset;
            }
            None => self.last = Some((id.to_vec(), offset)),
        }
        if self.drop.is_empty() {
            self.write(line)
        } else {
            let kept = without_columns(line, &self.drop)?;
            self.write(&kept)
        }
    }

    /// Rows whose ids strictly ascend from the last one written, their lines `lines` one after
    /// another; `last` the last row's id and `offset`.
    fn rows_at_once(&mut self, last: &[u8], offset: u64, lines: &[u8]) -> io::Result<()> {
        self.close_group();
        match &mut self.last {
            Some((id, first)) => {
                id.clear();
                id.extend_from_slice(last);
                *first = offset;
            }
            None => self.last = Some((last.to_vec(), offset)),
        }
        self.write(lines)
    }

    /// The id of the last row written.
    fn last_id(&self) -> Option<&[u8]> {
        self.last.as_ref().map(|(id, _)| id.as_slice())
    }

    /// Closes the snapshot file (synced) and gives what was written and found.
    fn finish(mut self) -> io::Result<Merged> {
        self.close_group();
        let path = match self.file.take() {
            Some((mut f, path)) => {
                f.flush()?;
                f.into_inner()
                    .map_err(|e| io::Error::other(e.to_string()))?
                    .finish()?;
                path
            }
            None => PathBuf::new(),
        };
        let snapshot = SnapshotFile {
            path,
            sha256: std::mem::take(&mut self.hasher).finish(),
            size: self.size,
        };
        Ok(Merged {
            snapshot,
            duplicates: self.duplicates,
        })
    }

    fn close_group(&mut self) {
        if !self.group.is_empty()
            && let Some((id, _)) = &self.last
        {
            self.duplicates
                .push((id.clone(), std::mem::take(&mut self.group)));
        }
    }
}

/// A canonical line without the columns `drop` (extra columns no row has a value in).
fn without_columns(line: &[u8], drop: &[usize]) -> io::Result<Vec<u8>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line);
    let mut record = csv::ByteRecord::new();
    r.read_byte_record(&mut record).map_err(io::Error::other)?;
    let mut w = canonical_writer(Vec::new());
    let kept = record
        .iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, c)| c);
    w.write_record(kept).map_err(io::Error::other)?;
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

/// Reads the runs in id order: hashes the snapshot (header with `keys`, lines without the
/// columns `drop`) and writes it to `out` when given, and finds duplicate ids.
fn merge(runs: &[Run], out: Option<&Path>, keys: &[&str], drop: &[usize]) -> io::Result<Merged> {
    let ordered = runs.iter().all(|r| r.strict) && runs.windows(2).all(|w| w[0].last < w[1].first);
    let mut o = Out::new(out, keys, drop)?;
    if ordered {
        for run in runs {
            let mut r = RunReader::open(&run.path)?;
            while r.next()? {
                o.row(&r.id, r.offset, &r.line)?;
            }
        }
    } else {
        let mut readers = Vec::with_capacity(runs.len());
        let mut heap = BinaryHeap::new();
        for (i, run) in runs.iter().enumerate() {
            let mut r = RunReader::open(&run.path)?;
            if r.next()? {
                heap.push(Reverse((r.id.clone(), r.offset, i)));
            }
            readers.push(r);
        }
        while let Some(Reverse((_, _, i))) = heap.pop() {
            let Some(r) = readers.get_mut(i) else {
                continue;
            };
            o.row(&r.id, r.offset, &r.line)?;
            if r.next()? {
                heap.push(Reverse((r.id.clone(), r.offset, i)));
            }
        }
    }
    o.finish()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::Path;

    use super::{Budget, FileChecked, Shared, by_runs, check_file, finish, ordered};
    use crate::diag::Diagnostic;
    use crate::registry::source::RegistryFile;
    use crate::registry::{Known, canonical_targets_csv, check, generate};

    /// Checks `path` streamed with a tiny spill budget (many runs), writing its snapshot.
    fn streamed(path: &Path, work: &Path) -> super::FileChecked {
        let known = Known::default();
        let file = RegistryFile::open_as(path, "t.csv".into(), &known, 4096).expect("open");
        let budget = Budget {
            threads: 2,
            spill_bytes: 16 << 10,
            block_bytes: 4096,
        };
        let out = work.join("snapshot.csv");
        check_file(&file, &HashSet::new(), (work, Some(&out)), budget, &|_| {}).expect("check")
    }

    /// The lines of `path` after the header, in a fixed shuffled order.
    fn shuffled(path: &Path) -> (String, Vec<String>) {
        let text = std::fs::read_to_string(path).expect("read");
        let mut lines = text.lines().map(str::to_string);
        let header = lines.next().unwrap_or_default();
        let mut rows: Vec<String> = lines.collect();
        let n = rows.len();
        for i in 0..n {
            rows.swap(i, (i * 7919 + 13) % n);
        }
        (header, rows)
    }

    #[test]
    fn a_shuffled_file_freezes_to_the_canonical_snapshot_of_the_sorted_registry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sorted = dir.path().join("sorted.csv");
        generate::write_targets(&sorted, 3000, 7).expect("generate");
        let (header, rows) = shuffled(&sorted);
        let mixed = dir.path().join("mixed.csv");
        std::fs::write(&mixed, format!("{header}\n{}\n", rows.join("\n"))).expect("write");
        let (registry, _) = check(
            std::slice::from_ref(&sorted),
            &[],
            dir.path(),
            &Known::default(),
        )
        .expect("the generated registry reads");
        let want = canonical_targets_csv(&registry.targets);
        for path in [&sorted, &mixed] {
            let work = tempfile::tempdir().expect("tempdir");
            let got = streamed(path, work.path());
            assert_eq!(got.rows, 3000);
            assert!(got.diagnostics.is_empty(), "{:?}", got.diagnostics);
            let snap = got.snapshot.expect("snapshot");
            assert_eq!(std::fs::read(&snap.path).expect("snapshot"), want);
            assert_eq!(snap.sha256, crate::digest::sha256_hex(&want));
            assert_eq!(snap.size, want.len() as u64);
        }
    }

    #[test]
    fn duplicate_ids_and_bad_rows_are_reported_as_the_whole_file_check_reports_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sorted = dir.path().join("sorted.csv");
        generate::write_targets(&sorted, 2000, 3).expect("generate");
        let (header, mut rows) = shuffled(&sorted);
        let first_id = rows[5].split(',').next().unwrap_or_default().to_string();
        let repeated = rows[5].clone();
        rows.insert(1500, repeated.clone());
        rows.push(repeated);
        let undated = (800..rows.len())
            .find(|&i| rows[i].contains(",正常,,"))
            .expect("a row never inspected");
        rows[undated] = rows[undated].replacen(",正常,,", ",正常,2023-02-30,", 1);
        rows[10] = format!("{},坏日期", rows[10]);
        let path = dir.path().join("t.csv");
        std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).expect("write");
        let whole = match check(
            std::slice::from_ref(&path),
            &[],
            Path::new("/nowhere"),
            &Known::default(),
        ) {
            Err(d) => d,
            Ok(_) => panic!("the registry has errors"),
        };
        let work = tempfile::tempdir().expect("tempdir");
        let got = streamed(&path, work.path());
        assert!(got.snapshot.is_none());
        let whole: Vec<String> = render(&whole)
            .into_iter()
            .map(|s| s.replace(&path.display().to_string(), "t.csv"))
            .collect();
        assert_eq!(render(&got.diagnostics), whole);
        assert_eq!(
            whole
                .iter()
                .filter(|d| d.contains(&format!("duplicate target id `{first_id}`")))
                .count(),
            2
        );
    }

    /// A registry in id order with what a pass in order must carry: records quoted over two
    /// lines (some across the cuts of 4 kB blocks), bad rows, ids repeated next to each other,
    /// and a second extra column with a value only in its last row (`filled`) or in none.
    fn in_order(dir: &Path, filled: bool, bad: bool) -> std::path::PathBuf {
        let sorted = dir.join("sorted.csv");
        generate::write_targets(&sorted, 3000, 11).expect("generate");
        let text = std::fs::read_to_string(&sorted).expect("read");
        let mut lines = text.lines();
        let header = format!("{},备注", lines.next().unwrap_or_default());
        let mut rows: Vec<String> = lines.map(|l| format!("{l},")).collect();
        for (i, row) in rows.iter_mut().enumerate() {
            if i % 37 == 5 {
                let mut cells: Vec<String> = row.split(',').map(str::to_string).collect();
                cells[4] = format!("\"{}\n二楼, \"\"东\"\"\"", cells[4]);
                *row = cells.join(",");
            }
        }
        if filled && let Some(last) = rows.last_mut() {
            last.push_str("见附件");
        }
        if bad {
            rows[800] = rows[800].replacen(",正常,,", ",正常,2023-02-30,", 1);
            rows[900] = format!("{},多一列", rows[900]);
            let again = rows[1500].clone();
            rows.insert(1501, again.clone());
            rows.insert(1501, again);
        }
        let path = dir.join("t.csv");
        std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).expect("write");
        path
    }

    /// `path` checked in one pass in order (`None` if that pass gave up) or by runs, keeping
    /// `spill` bytes (of held blocks, or of a run).
    fn one_pass(path: &Path, work: &Path, in_order: bool, spill: usize) -> Option<FileChecked> {
        let known = Known::default();
        let file = RegistryFile::open_as(path, "t.csv".into(), &known, 4096).expect("open");
        let conflicts = HashSet::new();
        let cx = Shared::new(&file, &conflicts, work, spill, &|_| {});
        let out = work.join(if in_order { "ordered.csv" } else { "runs.csv" });
        let found = if in_order {
            let budget = Budget {
                threads: 2,
                spill_bytes: spill,
                block_bytes: 4096,
            };
            ordered::read(&cx, Some(&out), budget).expect("read")?
        } else {
            by_runs(&cx, Some(&out), 2).expect("runs")
        };
        Some(finish(&file, found).expect("finish"))
    }

    fn render(d: &[Diagnostic]) -> Vec<String> {
        d.iter()
            .map(|d| {
                format!(
                    "{:?} {} {:?} {:?}",
                    d.severity, d.message, d.location, d.help
                )
            })
            .collect()
    }

    #[test]
    fn a_file_in_id_order_is_frozen_in_one_pass_as_the_runs_freeze_it() {
        for (filled, bad) in [(true, false), (false, false), (true, true), (false, true)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = in_order(dir.path(), filled, bad);
            let work = tempfile::tempdir().expect("tempdir");
            let ordered = one_pass(&path, work.path(), true, 1 << 20).expect("read in order");
            let runs = one_pass(&path, work.path(), false, 16 << 10).expect("runs");
            assert_eq!(ordered.rows, runs.rows);
            assert_eq!(render(&ordered.diagnostics), render(&runs.diagnostics));
            assert_eq!(
                ordered.diagnostics.is_empty(),
                !bad,
                "{:?}",
                ordered.diagnostics
            );
            assert_eq!(ordered.snapshot.is_some(), !bad);
            if let (Some(o), Some(r)) = (&ordered.snapshot, &runs.snapshot) {
                assert_eq!((&o.sha256, o.size), (&r.sha256, r.size));
                let bytes = std::fs::read(&o.path).expect("snapshot");
                assert_eq!(bytes, std::fs::read(&r.path).expect("snapshot"));
                let header = String::from_utf8_lossy(
                    bytes.split(|&b| b == b'\n').next().unwrap_or_default(),
                )
                .into_owned();
                assert_eq!(header.contains("备注"), filled, "{header}");
            }
        }
        // Blocks held past the budget (the column's one value is in the last row): given up.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = in_order(dir.path(), true, false);
        let work = tempfile::tempdir().expect("tempdir");
        assert!(one_pass(&path, work.path(), true, 16 << 10).is_none());
    }

    #[test]
    fn a_file_out_of_id_order_is_left_to_the_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sorted = dir.path().join("sorted.csv");
        generate::write_targets(&sorted, 3000, 5).expect("generate");
        let (header, rows) = shuffled(&sorted);
        let mixed = dir.path().join("mixed.csv");
        std::fs::write(&mixed, format!("{header}\n{}\n", rows.join("\n"))).expect("write");
        let work = tempfile::tempdir().expect("tempdir");
        assert!(one_pass(&mixed, work.path(), true, 1 << 20).is_none());
        assert!(!work.path().join("ordered.csv").exists());
        let runs = one_pass(&mixed, work.path(), false, 16 << 10).expect("runs");
        assert_eq!(runs.rows, 3000);
        assert!(runs.snapshot.is_some());
    }
}
