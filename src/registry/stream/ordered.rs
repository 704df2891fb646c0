//! A target file whose ids are in order (as a registry exported sorted by id is), frozen as it
//! is read: every thread reads blocks of the file (cut after a line end) with the same
//! [`Worker`] the runs use, and this thread takes the blocks back in file order, checks that
//! each starts where the one before ended and that the ids do not go down, and writes the
//! lines straight into the snapshot's hash (and file) — no runs, no merge. Equal ids next to
//! each other are duplicates, found as the merge finds them. The header names only the extra
//! columns some row has a value in, so blocks are held until every extra column has had a value
//! (at once, in a registry whose first rows fill every column). Anything else — an id lower
//! than the one before, a cut inside a quoted record, more held than the spill budget — stops
//! the pass, and the caller reads the file again by runs: the same rows, diagnostics and
//! snapshot either way.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};

use super::{Budget, Entry, Found, Out, Shared, Worker, kept_columns, slice};
use crate::diag::Diagnostic;
use crate::registry::source::{Scanner, SourceError};

/// Problems found in rows: (offset, line within the record, diagnostic), in file order.
type Problems = Vec<(u64, usize, Diagnostic)>;

/// Bytes a block's scanner reads at a time.
const SCAN_CHUNK: usize = 256 << 10;

/// One block's rows as a worker kept them (ids and canonical lines, in file order).
#[derive(Default)]
struct Block {
    /// Where its first record starts, and where the record after its last starts.
    start: u64,
    end: u64,
    ids: Vec<u8>,
    lines: Vec<u8>,
    entries: Vec<Entry>,
    problems: Problems,
    seen: Vec<bool>,
}

/// The blocks between the workers and this thread.
struct Queue {
    /// The next block to hand out, and the blocks taken back so far.
    next: usize,
    taken: usize,
    ready: BTreeMap<usize, Result<Block, SourceError>>,
    stop: bool,
    /// Blocks taken back, their buffers to reuse.
    spare: Vec<Block>,
}

struct Line {
    q: Mutex<Queue>,
    cv: Condvar,
    blocks: usize,
    /// Blocks read ahead of the one taken back, at most.
    window: usize,
    block_bytes: u64,
}

impl Line {
    fn lock(&self) -> Option<MutexGuard<'_, Queue>> {
        self.q.lock().ok()
    }

    /// The next block to read and buffers for it; `None` when all are handed out or the pass
    /// stopped.
    fn hand_out(&self) -> Option<(usize, Block)> {
        let mut q = self.lock()?;
        loop {
            if q.stop || q.next >= self.blocks {
                return None;
            }
            if q.next < q.taken + self.window {
                let j = q.next;
                q.next += 1;
                let spare = q.spare.pop().unwrap_or_default();
                return Some((j, spare));
            }
            q = self.cv.wait(q).ok()?;
        }
    }

    fn put(&self, j: usize, block: Result<Block, SourceError>) {
        if let Some(mut q) = self.lock() {
            q.ready.insert(j, block);
        }
        self.cv.notify_all();
    }

    /// Block `j` once read; `None` when the pass stopped.
    fn take_back(&self, j: usize) -> Option<Result<Block, SourceError>> {
        let mut q = self.lock()?;
        loop {
            if let Some(b) = q.ready.remove(&j) {
                return Some(b);
            }
            if q.stop {
                return None;
            }
            q = self.cv.wait(q).ok()?;
        }
    }

    /// One block more taken back; its buffers (when given) to reuse.
    fn done(&self, spare: Option<Block>) {
        if let Some(mut q) = self.lock() {
            q.taken += 1;
            q.spare.extend(spare);
        }
        self.cv.notify_all();
    }

    fn halt(&self) {
        if let Some(mut q) = self.lock() {
            q.stop = true;
        }
        self.cv.notify_all();
    }
}

/// Stops the pass if a worker ends by a panic, so that nobody waits for its block.
struct HaltOnPanic<'a>(&'a Line);

impl Drop for HaltOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.halt();
        }
    }
}

/// Reads the file in blocks in order and freezes it as it goes; `None` when the file cannot be
/// frozen so (see the module's text), and the caller reads it by runs.
pub(super) fn read(
    cx: &Shared<'_>,
    snapshot: Option<&Path>,
    budget: Budget,
) -> Result<Option<Found>, SourceError> {
    let (start, end) = cx.file.data();
    let size = budget.block_bytes.max(1);
    let threads = budget.threads.max(1);
    let line = Line {
        q: Mutex::new(Queue {
            next: 0,
            taken: 0,
            ready: BTreeMap::new(),
            stop: false,
            spare: Vec::new(),
        }),
        cv: Condvar::new(),
        blocks: usize::try_from(end.saturating_sub(start).div_ceil(size)).unwrap_or(usize::MAX),
        window: 2 * threads + 2,
        block_bytes: size,
    };
    let mut freeze = Freeze::new(cx, snapshot, start);
    let (taken, workers) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(|| work(cx, &line))).collect();
        let taken = take_all(&mut freeze, &line);
        line.halt();
        let workers: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        (taken, workers)
    });
    let mut rows = 0;
    let mut found = HashSet::new();
    for w in workers {
        let w = match w {
            Ok(Ok(w)) => w,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(freeze.io(io::Error::other("a worker thread panicked"))),
        };
        rows += w.rows;
        found.extend(w.found);
    }
    if !taken? {
        freeze.abandon();
        return Ok(None);
    }
    let (problems, merged) = freeze.finish().map_err(|e| cx_io(cx, e))?;
    Ok(Some(Found {
        rows,
        found,
        problems,
        merged,
    }))
}

fn cx_io(cx: &Shared<'_>, source: io::Error) -> SourceError {
    SourceError::Io {
        path: cx.file.display().to_string(),
        source,
    }
}

/// Takes every block back in order; false when the pass stopped.
fn take_all(freeze: &mut Freeze<'_, '_>, line: &Line) -> Result<bool, SourceError> {
    for j in 0..line.blocks {
        let Some(block) = line.take_back(j) else {
            return Ok(false);
        };
        let block = match block {
            Ok(b) => b,
            Err(e) => {
                line.halt();
                return Err(e);
            }
        };
        match freeze.take(block) {
            Ok(Some(spare)) => line.done(spare),
            Ok(None) => {
                line.halt();
                return Ok(false);
            }
            Err(e) => {
                line.halt();
                return Err(freeze.io(e));
            }
        }
    }
    Ok(true)
}

/// A worker: reads the blocks handed out until none is left.
fn work(cx: &Shared<'_>, line: &Line) -> Result<Worker, SourceError> {
    let _halt = HaltOnPanic(line);
    let mut w = Worker::new(cx.extra_keys.len(), false);
    let mut s = match cx.file.scanner(SCAN_CHUNK) {
        Ok(s) => s,
        Err(e) => {
            line.halt();
            return Err(cx_io(cx, e));
        }
    };
    while let Some((j, spare)) = line.hand_out() {
        let block = read_block(cx, &mut w, &mut s, (j, line.block_bytes), spare);
        if block.is_err() {
            line.put(j, block);
            line.halt();
            break;
        }
        line.put(j, block);
    }
    Ok(w)
}

/// Block `j` of `size` bytes (cut after a line end): its rows kept into `b`'s buffers.
fn read_block(
    cx: &Shared<'_>,
    w: &mut Worker,
    s: &mut Scanner,
    (j, size): (usize, u64),
    mut b: Block,
) -> Result<Block, SourceError> {
    let (data, _) = cx.file.data();
    let cut = |s: &Scanner, k: u64| match k {
        0 => Ok(data),
        k => s.boundary(data.saturating_add(k.saturating_mul(size))),
    };
    let j = j as u64;
    let io = |e| cx_io(cx, e);
    b.start = cut(s, j).map_err(io)?;
    let stop = cut(s, j + 1).map_err(io)?;
    s.reset(b.start, stop);
    while let Some(r) = s.next(usize::MAX, true).map_err(io)? {
        w.push(cx, &r);
    }
    w.batch(cx);
    if let Some(e) = w.failed.take() {
        return Err(io(e));
    }
    b.end = s.position();
    for (kept, buf) in [(&mut w.ids, &mut b.ids), (&mut w.lines, &mut b.lines)] {
        buf.clear();
        std::mem::swap(kept, buf);
    }
    b.entries.clear();
    std::mem::swap(&mut w.entries, &mut b.entries);
    b.problems = std::mem::take(&mut w.problems);
    b.seen.clear();
    b.seen.resize(w.extra_seen.len(), false);
    std::mem::swap(&mut w.extra_seen, &mut b.seen);
    Ok(b)
}

/// The snapshot being frozen from the blocks taken back in order.
struct Freeze<'c, 'a> {
    cx: &'c Shared<'a>,
    snapshot: Option<&'c Path>,
    /// Open once the header is known.
    out: Option<Out>,
    /// Blocks held until then (each with whether its ids strictly ascend), and their bytes.
    held: Vec<(Block, bool)>,
    held_bytes: usize,
    seen: Vec<bool>,
    /// Where the next block must start.
    expect: u64,
    /// The last id taken back.
    last: Option<Vec<u8>>,
    problems: Problems,
}

impl<'c, 'a> Freeze<'c, 'a> {
    fn new(cx: &'c Shared<'a>, snapshot: Option<&'c Path>, start: u64) -> Freeze<'c, 'a> {
        Freeze {
            cx,
            snapshot,
            out: None,
            held: Vec::new(),
            held_bytes: 0,
            seen: vec![false; cx.extra_keys.len()],
            expect: start,
            last: None,
            problems: Vec::new(),
        }
    }

    fn io(&self, e: io::Error) -> SourceError {
        cx_io(self.cx, e)
    }

    /// Takes the next block in file order. `Some` (buffers to reuse, when the block is not
    /// held) to go on, `None` when the file cannot be frozen in this pass.
    fn take(&mut self, mut b: Block) -> io::Result<Option<Option<Block>>> {
        if b.start != self.expect {
            return Ok(None);
        }
        self.expect = b.end;
        let Some(strict) = self.ascends(&b) else {
            return Ok(None);
        };
        if let Some(e) = b.entries.last() {
            let id = slice(&b.ids, e.id);
            let last = self.last.get_or_insert_with(Vec::new);
            last.clear();
            last.extend_from_slice(id);
        }
        for (all, s) in self.seen.iter_mut().zip(&b.seen) {
            *all |= *s;
        }
        self.problems.append(&mut b.problems);
        if let Some(out) = &mut self.out {
            write_block(out, &b, strict)?;
            return Ok(Some(Some(b)));
        }
        self.held_bytes += b.lines.len() + b.ids.len();
        self.held.push((b, strict));
        if self.seen.iter().all(|s| *s) {
            self.open(&vec![true; self.seen.len()])?;
        } else if self.held_bytes > self.cx.spill_bytes {
            return Ok(None);
        }
        Ok(Some(None))
    }

    /// Whether the block's ids do not go down from the last one taken back (`None` if they
    /// do), and whether they strictly ascend.
    fn ascends(&self, b: &Block) -> Option<bool> {
        let mut prev = self.last.as_deref();
        let mut strict = true;
        for e in &b.entries {
            let id = slice(&b.ids, e.id);
            if let Some(p) = prev {
                match p.cmp(id) {
                    Ordering::Greater => return None,
                    Ordering::Equal => strict = false,
                    Ordering::Less => {}
                }
            }
            prev = Some(id);
        }
        Some(strict)
    }

    /// Opens the snapshot with the extra columns `seen` and writes the blocks held.
    fn open(&mut self, seen: &[bool]) -> io::Result<()> {
        let (keys, drop) = kept_columns(&self.cx.extra_keys, seen);
        let mut out = Out::new(self.snapshot, &keys, &drop)?;
        for (b, strict) in std::mem::take(&mut self.held) {
            write_block(&mut out, &b, strict)?;
        }
        self.held_bytes = 0;
        self.out = Some(out);
        Ok(())
    }

    /// The problems found, in file order, and the snapshot.
    fn finish(mut self) -> io::Result<(Problems, super::Merged)> {
        if self.out.is_none() {
            let seen = self.seen.clone();
            self.open(&seen)?;
        }
        let merged = match self.out.take() {
            Some(out) => out.finish()?,
            None => return Err(io::Error::other("the snapshot was not opened")),
        };
        Ok((self.problems, merged))
    }

    /// Removes what was written of the snapshot (the file is read again by runs).
    fn abandon(mut self) {
        if self.out.take().is_some()
            && let Some(path) = self.snapshot
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A block's rows into the snapshot: its lines at once when its ids strictly ascend from the
/// last one written and no column is left out, else row by row.
fn write_block(out: &mut Out, b: &Block, strict: bool) -> io::Result<()> {
    let (Some(first), Some(last)) = (b.entries.first(), b.entries.last()) else {
        return Ok(());
    };
    let after = out.last_id().is_none_or(|l| l < slice(&b.ids, first.id));
    if strict && after && out.drop.is_empty() {
        return out.rows_at_once(slice(&b.ids, last.id), last.offset, &b.lines);
    }
    for e in &b.entries {
        out.row(slice(&b.ids, e.id), e.offset, slice(&b.lines, e.line))?;
    }
    Ok(())
}
