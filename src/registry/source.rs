//! A target registry file as a source of rows for a draw over a national-scale registry: the
//! one place that opens, splits, tokenises and reads such a file again.
//!
//! [`RegistryFile::open`] finds the header (with the registry reader's own header logic) and
//! where the data starts; [`RegistryFile::scan`] hands every record of the file to a caller's
//! function, in parallel over byte ranges cut on record boundaries (falling back to one range at
//! a time when a cut fell inside a quoted record); the `*_at` functions read chosen rows again by
//! their offset, through the registry reader itself, so a row read again is exactly the
//! [`Target`] `registry::load` would make of it, and its problems are the reader's diagnostics
//! at this file's line numbers.
//!
//! Records are tokenised as the registry reader's `csv` crate does: lines without a double quote
//! or a stray carriage return (nearly every line of a registry) are split on commas directly; any
//! other record is handed to `csv-core`, the `csv` crate's tokenizer, so both read the same
//! fields. A record ends at `\n`, `\r` or `\r\n` outside quotes, and empty lines are skipped.
//! Only UTF-8 CSV is read (a byte-order mark is allowed; GBK and workbooks are not).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::diag::{Diagnostic, Location};
use crate::registry::Known;
use crate::registry::canonical::{CellRows, LineCells};
use crate::registry::read::{Header, Rows, Sink, target_header, targets};
use crate::registry::types::Target;
use crate::registry::values::trim;

/// Why a registry file could not be read as a draw needs it.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("the target registry has problems ({} found)", .0.len())]
    Registry(Vec<Diagnostic>),
}

/// What the registry reader made of a batch of records (see [`RegistryFile::read_records`]).
pub(crate) struct Batch {
    /// (record index, target).
    pub targets: Vec<(usize, Target)>,
    /// (record index, line within the record, diagnostic).
    pub problems: Vec<(usize, usize, Diagnostic)>,
}

/// Two cells of a row (its id and name), as bytes.
pub(crate) type IdName = (Vec<u8>, Vec<u8>);

/// Bytes read at a time when rows are read again by their offsets (rows of a stratum lie a few
/// kilobytes apart, so one read serves several).
const REREAD_CHUNK: usize = 1 << 16;

/// Ranges are cut smaller than this, so a row's offset in its range fits in 31 bits.
pub(crate) const MAX_RANGE: u64 = (1 << 31) - 1;

const UTF8_HELP: &str = "a draw over a registry file reads UTF-8 CSV only: in Excel choose 另存为 → \"CSV UTF-8(逗号分隔)\", or draw with the registry loaded in full";

/// `bytes` as text, `None` when they are not UTF-8: checked with SIMD (`simdutf8`), as every
/// cell and row of a registry file is when it is read, which `std::str::from_utf8` did at a
/// fraction of the speed on Chinese text.
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(bytes).ok()
}

/// `trim` on a cell's raw bytes: `None` when they are not UTF-8. Plain ASCII ends need no
/// decoding.
#[inline]
pub(crate) fn trim_bytes(b: &[u8]) -> Option<&str> {
    let plain = |c: u8| c < 0x80 && !matches!(c, 0x09..=0x0d | 0x20);
    match (b.first(), b.last()) {
        (None, _) | (_, None) => Some(""),
        (Some(&f), Some(&l)) if plain(f) && plain(l) => utf8(b),
        _ => utf8(b).map(trim),
    }
}

/// `trim` on text whose ends need none (a first and a last character that are not
/// whitespace) without searching, most often told from their first bytes alone.
#[inline]
fn trim_str(s: &str) -> &str {
    let kept = |c: Option<char>| c.is_some_and(|c| !c.is_whitespace() && c != '\u{feff}');
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return s;
    };
    // The last character's first byte: within its last four, text being UTF-8.
    let last_lead = match last {
        0..0x80 => last,
        _ => b
            .iter()
            .rev()
            .take(4)
            .copied()
            .find(|c| c & 0xc0 != 0x80)
            .unwrap_or(last),
    };
    let head = kept_lead(first).unwrap_or_else(|| kept(s.chars().next()));
    if head && kept_lead(last_lead).unwrap_or_else(|| kept(s.chars().next_back())) {
        s
    } else {
        trim(s)
    }
}

/// Whether `trim` keeps a character starting with the byte `lead`: `None` when the byte
/// alone cannot say. The characters it trims beyond ASCII's whitespace (U+0085, U+00A0,
/// U+1680, U+2000 to U+205F, U+3000, U+FEFF) start with 0xC2, 0xE1, 0xE2, 0xE3 or 0xEF;
/// a Chinese character (0xE4 to 0xE9) is kept on sight.
#[inline]
fn kept_lead(lead: u8) -> Option<bool> {
    match lead {
        b'\t'..=b'\r' | b' ' => Some(false),
        0xc2 | 0xe1 | 0xe2 | 0xe3 | 0xef => None,
        _ => Some(true),
    }
}

/// A target registry file, its header found.
#[derive(Debug)]
pub(crate) struct RegistryFile<'a> {
    path: &'a Path,
    display: String,
    known: &'a Known,
    /// The known categories' spellings, looked up for every row (a hash and one comparison,
    /// where the sorted set took several).
    categories: rustc_hash::FxHashSet<&'a str>,
    /// The columns, as the registry reader maps them.
    pub header: Header,
    /// The header record as written, for reading rows again with the registry reader.
    header_raw: Vec<u8>,
    data_start: u64,
    len: u64,
    /// Bytes read at a time by each thread.
    chunk: usize,
    /// The header's own problems that are not errors (misspelt or doubled columns, …).
    pub header_notes: Vec<Diagnostic>,
    /// The extra columns by header (sorted, each once) with their cells in the header's order:
    /// a target's value is the last of them that is not empty (as the reader keeps it).
    extra_cols: Vec<(String, Vec<usize>)>,
}

/// A record the registry reader would make a target of without a word, as that target's
/// canonical cells (borrowed from the record).
pub(crate) struct PlainRow<'r> {
    pub cells: LineCells<'r>,
    /// Whether a cell may need quotes in the canonical line (see [`Record::quoted`]).
    pub quoted: bool,
    text: &'r str,
    record: &'r Record<'r>,
}

impl<'r> PlainRow<'r> {
    /// The row's value under each of the file's extra keys ([`RegistryFile::extra_keys`]),
    /// empty where it has none.
    pub(crate) fn extras<'s>(
        &'s self,
        file: &'s RegistryFile<'_>,
    ) -> impl Iterator<Item = &'r str> + Clone + 's {
        file.extra_cols.iter().map(|(_, cols)| {
            cols.iter()
                .rev()
                .filter_map(|&i| self.record.cell_of(self.text, i).map(trim_str))
                .find(|v| !v.is_empty())
                .unwrap_or("")
        })
    }
}

impl<'a> RegistryFile<'a> {
    /// Opens `path` and finds its header among the first ten non-blank records (as the registry
    /// reader looks for it).
    pub(crate) fn open(
        path: &'a Path,
        known: &'a Known,
        chunk: usize,
    ) -> Result<RegistryFile<'a>, SourceError> {
        Self::open_as(path, path.display().to_string(), known, chunk)
    }

    /// [`RegistryFile::open`], the file named `display` in messages.
    pub(crate) fn open_as(
        path: &'a Path,
        display: String,
        known: &'a Known,
        chunk: usize,
    ) -> Result<RegistryFile<'a>, SourceError> {
        let err = io_error(path);
        let len = std::fs::metadata(path).map_err(&err)?.len();
        let mut file = File::open(path).map_err(&err)?;
        let mut bom = [0u8; 3];
        let got = read_up_to(&mut file, &mut bom).map_err(&err)?;
        let start = if got == 3 && bom == [0xEF, 0xBB, 0xBF] {
            3
        } else {
            0
        };
        let records = head_records(path, start, chunk).map_err(&err)?;
        let head_end = records.last().map_or(start, |r| r.1);
        let mut head = vec![0u8; usize::try_from(head_end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start)).map_err(&err)?;
        file.read_exact(&mut head).map_err(&err)?;
        let text = std::str::from_utf8(&head).map_err(|e| {
            let line = 1 + newlines(&head[..e.valid_up_to()]);
            SourceError::Registry(vec![
                Diagnostic::error("the file is not UTF-8 text".to_string())
                    .at_line(&display, line, None)
                    .help(UTF8_HELP),
            ])
        })?;
        let mut sink = Sink::default();
        let header = target_header(text, &display, 0, &mut sink);
        let Some(header) = header.filter(|_| !sink.has_errors()) else {
            return Err(SourceError::Registry(sink.into_sorted()));
        };
        let header_notes = sink.into_sorted();
        // The header record's line: 1 + the newlines before it.
        let line_of =
            |offset: u64| 1 + newlines(&head[..usize::try_from(offset - start).unwrap_or(0)]);
        let Some((_, data_start, header_raw)) = records
            .into_iter()
            .find(|(offset, _, _)| line_of(*offset) == header.line)
        else {
            return Err(SourceError::Registry(vec![Diagnostic::error(
                "cannot find the header row".to_string(),
            )]));
        };
        let mut extra_cols: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, name) in &header.extras {
            match extra_cols.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
                Ok(at) => extra_cols[at].1.push(*i),
                Err(at) => extra_cols.insert(at, (name.clone(), vec![*i])),
            }
        }
        Ok(RegistryFile {
            path,
            display,
            known,
            categories: known.categories.iter().map(String::as_str).collect(),
            header,
            header_raw,
            data_start,
            len,
            chunk,
            header_notes,
            extra_cols,
        })
    }

    /// Whether `s` is spelt as a known category (any, when none is known).
    #[inline]
    fn known_category(&self, s: &str) -> bool {
        self.categories.is_empty() || self.categories.contains(s)
    }

    /// Where the data (the records after the header) starts, and the file's length.
    pub(crate) fn data(&self) -> (u64, u64) {
        (self.data_start, self.len)
    }

    /// A scanner over this file, reading `chunk` bytes at a time (placed by
    /// [`Scanner::reset`]).
    pub(crate) fn scanner(&self, chunk: usize) -> io::Result<Scanner> {
        Scanner::open(self.path, self.data_start, self.data_start, chunk)
    }

    /// The file as users name it.
    pub(crate) fn display(&self) -> &str {
        &self.display
    }

    /// The line (1-based) of each offset.
    pub(crate) fn lines_of(&self, offsets: &[u64]) -> Result<Vec<usize>, SourceError> {
        lines_at(self.path, offsets).map_err(io_error(self.path))
    }

    /// Records (offset, bytes as written) read by the registry reader as a file of the header
    /// and those records: the targets it makes, each with the index of its record, and its
    /// diagnostics about them, each with the index of its record and the line within it
    /// (0 for a record's first line).
    pub(crate) fn read_records(&self, records: &[(u64, &[u8])]) -> Batch {
        let size: usize = records.iter().map(|(_, r)| r.len() + 1).sum();
        let mut buf = Vec::with_capacity(self.header_raw.len() + 1 + size);
        buf.extend_from_slice(&self.header_raw);
        buf.push(b'\n');
        let first_row_line = 2 + newlines(&self.header_raw);
        let mut starts = Vec::with_capacity(records.len());
        let mut line = first_row_line;
        for (_, raw) in records {
            starts.push(line);
            line += 1 + newlines(raw);
            buf.extend_from_slice(raw);
            buf.push(b'\n');
        }
        let mut sink = Sink::default();
        let mut rows = Rows::default();
        targets(
            &buf,
            self.path,
            &self.display,
            0,
            self.known,
            &mut sink,
            &mut rows,
        );
        let record_of = |line: usize| starts.partition_point(|&s| s <= line).saturating_sub(1);
        let targets = rows
            .items
            .into_iter()
            .zip(rows.origins)
            .map(|(t, o)| (record_of(o.line), t))
            .collect();
        let problems = sink
            .into_sorted()
            .into_iter()
            .filter_map(|d| match d.location {
                Location::Line { line, .. } if line >= first_row_line => {
                    let j = record_of(line);
                    Some((j, line - starts.get(j).copied().unwrap_or(line), d))
                }
                _ => None,
            })
            .collect();
        Batch { targets, problems }
    }

    /// The categories the registry may use.
    pub(crate) fn known(&self) -> &'a Known {
        self.known
    }

    /// The cell index of target field `field` (an index into the reader's field list).
    pub(crate) fn column(&self, field: usize) -> Option<usize> {
        self.header.cols.get(field).copied().flatten()
    }

    /// Hands every data record to `row`, over `threads` byte ranges in as many threads, each
    /// with its own state made by `init(range start)`. Returns each range's state in file
    /// order. If a cut fell inside a quoted record (a range ended elsewhere than where the next
    /// began), the file is read again one range after another.
    pub(crate) fn scan<S: Send>(
        &self,
        threads: usize,
        init: &(dyn Fn(u64, u64) -> S + Sync),
        row: &(dyn Fn(&mut S, &Record<'_>) + Sync),
    ) -> Result<Vec<S>, SourceError> {
        let ranges = self.ranges(threads.max(1))?;
        let one = |&(start, stop): &(u64, u64)| -> Result<(S, u64), SourceError> {
            let mut state = init(start, stop);
            let mut s =
                Scanner::open(self.path, start, stop, self.chunk).map_err(io_error(self.path))?;
            while let Some(r) = s.next(usize::MAX, true).map_err(io_error(self.path))? {
                row(&mut state, &r);
            }
            Ok((state, s.position()))
        };
        let done = parallel(&ranges, one)?;
        if done.iter().zip(&ranges).all(|((_, end), r)| *end == r.1) {
            return Ok(done.into_iter().map(|(s, _)| s).collect());
        }
        drop(done);
        // Sequential ranges, each starting where the previous one really ended.
        let mut out = Vec::new();
        let mut start = self.data_start;
        while start < self.len {
            let stop = (start + MAX_RANGE - (1 << 24)).min(self.len);
            let (state, end) = one(&(start, stop))?;
            out.push(state);
            if end <= start {
                break;
            }
            start = end;
        }
        Ok(out)
    }

    /// Splits the data into `threads` byte ranges that start right after a `\n`.
    fn ranges(&self, threads: usize) -> Result<Vec<(u64, u64)>, SourceError> {
        let err = io_error(self.path);
        let (start, end) = (self.data_start, self.len);
        let size = end.saturating_sub(start);
        // Every range is shorter than 2 GiB (offsets within a range are kept in 31 bits).
        let threads = threads.max(usize::try_from(size / (MAX_RANGE - (1 << 24)) + 1).unwrap_or(1));
        if threads <= 1 || size < (1 << 16) {
            return Ok(vec![(start, end)]);
        }
        let mut file = File::open(self.path).map_err(&err)?;
        let mut cuts = vec![start];
        let mut window = vec![0u8; self.chunk.clamp(4096, 1 << 20)];
        for i in 1..threads as u64 {
            let mut pos = start + size * i / threads as u64;
            let cut = loop {
                file.seek(SeekFrom::Start(pos)).map_err(&err)?;
                let n = read_up_to(&mut file, &mut window).map_err(&err)?;
                if n == 0 {
                    break end;
                }
                if let Some(nl) = memchr::memchr(b'\n', &window[..n]) {
                    break pos + nl as u64 + 1;
                }
                pos += n as u64;
            };
            if cut > *cuts.last().unwrap_or(&start) && cut < end {
                cuts.push(cut);
            }
        }
        cuts.push(end);
        Ok(cuts.windows(2).map(|w| (w[0], w[1])).collect())
    }

    /// The targets of the rows at `offsets` (sorted), exactly as the registry reader makes them;
    /// any problem it finds fails with its diagnostics.
    pub(crate) fn targets_at(&self, offsets: &[u64]) -> Result<Vec<Target>, SourceError> {
        let (rows, diags) = self.read_again(offsets)?;
        if diags.iter().any(Diagnostic::is_error) || rows.len() != offsets.len() {
            return Err(SourceError::Registry(diags));
        }
        Ok(rows)
    }

    /// The id and the public fields `fields` (as [`LineCells::public`] names them) of the rows
    /// at `offsets` into `out` (of `1 + fields.len()` cells a row, emptied first), for a draw's
    /// frame read again from its own snapshot by the places its classifying gave: only those
    /// cells are read again ([`RegistryFile::checked_lines_at`]).
    pub(crate) fn public_cells_at(
        &self,
        offsets: &[u64],
        fields: &[String],
        out: &mut CellRows,
    ) -> Result<(), SourceError> {
        out.clear();
        let wanted: Vec<usize> = std::iter::once(crate::registry::read::t::ID)
            .chain(fields.iter().filter_map(|f| LineCells::public_column(f)))
            .collect();
        let pushed = self.rows_at(offsets, Again::Only(&wanted), &mut |c| {
            out.push_public(c, fields)
        });
        if pushed.is_err() {
            out.clear();
        }
        pushed
    }

    /// Hands `each` the canonical cells of the rows at `offsets`, in their order, without
    /// making their targets: rows plain enough for [`RegistryFile::plain_row`] (every row of
    /// a snapshot) as they are read; from the first that is not, the targets the registry
    /// reader makes of them all (its checks are of the whole), from that row on.
    pub(crate) fn lines_at(
        &self,
        offsets: &[u64],
        each: &mut dyn FnMut(&LineCells<'_>),
    ) -> Result<(), SourceError> {
        self.rows_at(offsets, Again::Whole, each)
    }

    /// [`RegistryFile::lines_at`] for rows of a draw's own registry snapshot read again by the
    /// places its classifying gave (the frame's and the excluded rows): the snapshot was checked
    /// whole as it was frozen, so of each row only the fields `wanted` (of
    /// [`crate::registry::read::t`]) are read, the others left as they default, and only those
    /// are checked. A row is cut at the comma after the last of them when no cell up to there
    /// holds a quote, a carriage return or a line end; any other row is read whole and checked
    /// on its face (`RegistryFile::face`: its width, UTF-8, an id, a name, a category spelt
    /// as a known one) and for the fields wanted; a row that fails either is read by the
    /// registry reader, as [`RegistryFile::lines_at`] reads it.
    pub(crate) fn checked_lines_at(
        &self,
        offsets: &[u64],
        wanted: &[usize],
        each: &mut dyn FnMut(&LineCells<'_>),
    ) -> Result<(), SourceError> {
        self.rows_at(offsets, Again::Only(wanted), each)
    }

    /// [`RegistryFile::lines_at`], each row's cells made as `again` says.
    fn rows_at(
        &self,
        offsets: &[u64],
        again: Again<'_>,
        each: &mut dyn FnMut(&LineCells<'_>),
    ) -> Result<(), SourceError> {
        let err = io_error(self.path);
        let mut s = Scanner::open(self.path, 0, 0, REREAD_CHUNK).map_err(&err)?;
        let head = match again {
            Again::Only(wanted) => wanted
                .iter()
                .filter_map(|&f| self.column(f))
                .max()
                .map_or(1, |c| c + 1),
            Again::Whole => 0,
        };
        let mut plain = 0;
        for &offset in offsets {
            if let Again::Only(wanted) = again
                && let Some(r) = s.head(offset, head).map_err(&err)?
                && let Some(cells) = self.checked_row(&r, wanted)
            {
                each(&cells);
                plain += 1;
                continue;
            }
            s.reset(offset, offset + 1);
            let Some(r) = s.next(usize::MAX, true).map_err(&err)? else {
                break;
            };
            // A row the head did not cut (a quote or line end before the cells wanted) is read
            // whole and checked on its face, as every row of a plain file is, then for the
            // cells wanted.
            let cells = match again {
                _ if r.offset != offset => None,
                Again::Only(wanted) => self.face(&r).and_then(|_| self.checked_row(&r, wanted)),
                Again::Whole => self.plain_row(&r).map(|p| p.cells),
            };
            let Some(cells) = cells else {
                break;
            };
            each(&cells);
            plain += 1;
        }
        if plain == offsets.len() {
            return Ok(());
        }
        for t in self.targets_at(offsets)?.iter().skip(plain) {
            each(&LineCells::of(t));
        }
        Ok(())
    }

    /// The fields `wanted` of record `r` (split as far as the last of them), trimmed and read
    /// as [`RegistryFile::plain_row`] reads them, the others left as they default; `None`
    /// where it would give no row or read them otherwise (an empty name, a category spelt
    /// otherwise than a known one). Nothing else of the record is checked: it was, when this
    /// run read it whole.
    fn checked_row<'r>(&self, r: &Record<'r>, wanted: &[usize]) -> Option<LineCells<'r>> {
        use crate::registry::read::t;
        use crate::registry::values::{parse_bool, parse_date, parse_status};
        let mut c = LineCells::blank();
        // The cells' bytes checked for UTF-8 at once: a cell alone is shorter than the SIMD
        // check's block, so `utf8` would hand it to the scalar check (a tenth of the seal's
        // time at 10M). A cell that does not fall on the text's character boundaries, or a
        // row whose text is not UTF-8 elsewhere, is checked alone.
        let whole = r.fields_text();
        let cell = |i: usize| {
            let bytes = r.field(i)?;
            match whole.and_then(|t| r.cell_of(t, i)) {
                Some(s) => Some(trim_str(s)),
                None => trim_bytes(bytes),
            }
        };
        for &f in wanted {
            let text = match self.column(f) {
                Some(i) => cell(i)?,
                None => "",
            };
            match f {
                // As `face` checks them: the reader makes these cells otherwise, or refuses them.
                t::ID
                    if text.is_empty() || crate::registry::values::looks_like_scientific(text) =>
                {
                    return None;
                }
                t::NAME | t::CATEGORY if text.is_empty() => return None,
                t::CATEGORY if !self.known_category(text) => return None,
                t::ID => c.id = text,
                t::NAME => c.name = text,
                t::CATEGORY => c.category = text,
                t::DISTRICT => c.district = text,
                t::ADDRESS => c.address = text,
                t::KEY_AREA => c.key_area = !text.is_empty() && parse_bool(text)?,
                t::CLASS => c.class = text,
                t::LICENCE => c.licence = text,
                t::STATUS if !text.is_empty() => c.status = parse_status(text)?,
                t::LAST_INSPECTED if !text.is_empty() => {
                    c.last_inspected = Some(parse_date(text).ok()?);
                }
                t::LAST_RESULT => c.last_result = text,
                _ => {}
            }
        }
        Some(c)
    }

    /// The rows at `offsets` as the registry reader reads them (as a file of the header and
    /// those rows): the targets it returns and its diagnostics, with this file's line numbers.
    /// Rows plain enough for [`RegistryFile::plain_target`] (every row of a snapshot) are made
    /// here; if any is not, the reader itself reads them all.
    fn read_again(&self, offsets: &[u64]) -> Result<(Vec<Target>, Vec<Diagnostic>), SourceError> {
        let err = io_error(self.path);
        let mut s = Scanner::open(self.path, 0, 0, REREAD_CHUNK).map_err(&err)?;
        let mut plain = Vec::with_capacity(offsets.len());
        for &offset in offsets {
            s.reset(offset, offset + 1);
            match s.next(usize::MAX, true).map_err(&err)? {
                Some(r) if r.offset == offset => match self.plain_target(&r) {
                    Some(t) => plain.push(t),
                    None => break,
                },
                _ => break,
            }
        }
        if plain.len() == offsets.len() {
            return Ok((plain, Vec::new()));
        }
        drop(plain);
        self.read_by_reader(offsets)
    }

    /// The target the registry reader makes of record `r` (its fields split and counted), when
    /// the reader would make it without a word (see [`RegistryFile::plain_row`]).
    pub(crate) fn plain_target(&self, r: &Record<'_>) -> Option<Target> {
        let p = self.plain_row(r)?;
        let c = &p.cells;
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let extra = self
            .extra_cols
            .iter()
            .zip(p.extras(self))
            .filter(|(_, v)| !v.is_empty())
            .map(|((k, _), v)| (k.clone(), v.to_string()))
            .collect();
        Some(Target {
            id: c.id.to_string(),
            name: c.name.to_string(),
            category: c.category.to_string(),
            district: c.district.to_string(),
            address: c.address.to_string(),
            key_area: c.key_area,
            class: opt(c.class),
            licence: opt(c.licence),
            status: c.status,
            last_inspected: c.last_inspected,
            last_result: opt(c.last_result),
            extra,
        })
    }

    /// What every plain record is checked for, on its face: as many fields as the header, all
    /// UTF-8, nothing under a column without a header, an id (not in scientific notation), a
    /// name and a category spelt as a known one. Its cells, with the id, name and category.
    fn face<'s, 'r>(&'s self, r: &'r Record<'r>) -> Option<(Cells<'r, 's>, [&'r str; 3])> {
        use crate::registry::read::t;
        let h = &self.header;
        if r.width != h.names.len() {
            return None;
        }
        // The fields' bytes are the record's (unquoted): valid UTF-8 when the record is.
        let text = utf8(r.data)?;
        // A value under a column without a header is a warning of the reader's.
        if h.unnamed
            .iter()
            .any(|&u| !r.cell(u).iter().all(u8::is_ascii_whitespace))
        {
            return None;
        }
        let cell = Cells {
            r,
            text,
            cols: &h.cols,
        };
        let (id, name, category) = (cell.get(t::ID)?, cell.get(t::NAME)?, cell.get(t::CATEGORY)?);
        if id.is_empty()
            || crate::registry::values::looks_like_scientific(id)
            || name.is_empty()
            || category.is_empty()
            || !self.known_category(category)
        {
            return None;
        }
        Some((cell, [id, name, category]))
    }

    /// Record `r` (its fields split and counted) as its target's canonical cells, borrowed,
    /// when the registry reader would make a target of it without a word (no error, no
    /// warning): as many fields as the header, all UTF-8, nothing under a column without a
    /// header, an id (not in scientific notation), a name and a category spelt as a known one,
    /// and every yes/no, status and date cell empty or readable. `None` for anything else,
    /// which the reader reads with its diagnostics. The cells are trimmed as the reader trims
    /// them.
    pub(crate) fn plain_row<'r>(&self, r: &'r Record<'r>) -> Option<PlainRow<'r>> {
        use crate::registry::read::t;
        use crate::registry::values::{parse_bool, parse_date, parse_status};
        let h = &self.header;
        let (cell, [id, name, category]) = self.face(r)?;
        let text = cell.text;
        let at = |i: usize| r.cell_of(text, i).map(trim_str);
        let cell = |f: usize| cell.get(f);
        let key_area = match cell(t::KEY_AREA)? {
            "" => false,
            s => parse_bool(s)?,
        };
        let status = match cell(t::STATUS)? {
            "" => crate::registry::types::TargetStatus::Active,
            s => parse_status(s)?,
        };
        let last_inspected = match cell(t::LAST_INSPECTED)? {
            "" => None,
            s => Some(parse_date(s).ok()?),
        };
        if h.extras.iter().any(|(i, _)| at(*i).is_none()) {
            return None;
        }
        let cells = LineCells {
            id,
            name,
            category,
            district: cell(t::DISTRICT)?,
            address: cell(t::ADDRESS)?,
            key_area,
            class: cell(t::CLASS)?,
            licence: cell(t::LICENCE)?,
            status,
            last_inspected,
            last_result: cell(t::LAST_RESULT)?,
        };
        Some(PlainRow {
            cells,
            quoted: r.quoted,
            text,
            record: r,
        })
    }

    /// The header's extra columns by name (sorted; each name once) with the cells under it.
    pub(crate) fn extra_keys(&self) -> impl Iterator<Item = &str> {
        self.extra_cols.iter().map(|(k, _)| k.as_str())
    }

    /// [`RegistryFile::read_again`] through the registry reader.
    fn read_by_reader(
        &self,
        offsets: &[u64],
    ) -> Result<(Vec<Target>, Vec<Diagnostic>), SourceError> {
        let err = io_error(self.path);
        let mut s = Scanner::open(self.path, 0, 0, 4096).map_err(&err)?;
        let mut raws = Vec::with_capacity(offsets.len());
        for &offset in offsets {
            s.reset(offset, offset + 1);
            let raw = s
                .next(0, false)
                .map_err(&err)?
                .map(|r| r.raw.to_vec())
                .unwrap_or_default();
            raws.push(raw);
        }
        let records: Vec<(u64, &[u8])> = offsets
            .iter()
            .zip(&raws)
            .map(|(&o, raw)| (o, raw.as_slice()))
            .collect();
        let batch = self.read_records(&records);
        let targets = batch.targets.into_iter().map(|(_, t)| t).collect();
        if batch.problems.is_empty() {
            return Ok((targets, Vec::new()));
        }
        let file_lines = lines_at(self.path, offsets).map_err(&err)?;
        let diags = batch
            .problems
            .into_iter()
            .map(|(j, within, mut d)| {
                if let (Location::Line { line, .. }, Some(&f)) =
                    (&mut d.location, file_lines.get(j))
                {
                    *line = f + within;
                }
                d
            })
            .collect();
        Ok((targets, diags))
    }

    /// Cells `a` and `b` of the rows at `offsets` (sorted), read in parallel.
    pub(crate) fn cells_at(
        &self,
        offsets: &[u64],
        (a, b): (usize, usize),
        threads: usize,
    ) -> Result<Vec<IdName>, SourceError> {
        let per = offsets.len().div_ceil(threads.max(1)).max(1);
        let parts: Vec<&[u64]> = offsets.chunks(per).collect();
        let split = a.max(b) + 1;
        let out = parallel(&parts, |part| {
            let err = io_error(self.path);
            let mut s = Scanner::open(self.path, 0, 0, 512).map_err(&err)?;
            let mut out = Vec::with_capacity(part.len());
            for &o in part.iter() {
                s.reset(o, o + 1);
                match s.next(split, false).map_err(&err)? {
                    Some(r) => out.push((r.cell(a).to_vec(), r.cell(b).to_vec())),
                    None => out.push((Vec::new(), Vec::new())),
                }
            }
            Ok(out)
        })?;
        Ok(out.into_iter().flatten().collect())
    }

    /// Diagnostics for rows a scan found a problem in: the registry reader's own, for the rows
    /// it refuses (`flagged`), and an encoding error for rows that are not UTF-8 (`encoding`).
    pub(crate) fn problems(&self, mut flagged: Vec<u64>, mut encoding: Vec<u64>) -> SourceError {
        flagged.sort_unstable();
        flagged.dedup();
        encoding.sort_unstable();
        encoding.dedup();
        match self.row_problems(&flagged, &encoding) {
            Ok(diags) => SourceError::Registry(diags),
            Err(e) => e,
        }
    }

    fn row_problems(
        &self,
        flagged: &[u64],
        encoding: &[u64],
    ) -> Result<Vec<Diagnostic>, SourceError> {
        let (_, mut diags) = self.read_again(flagged)?;
        let err = io_error(self.path);
        for line in lines_at(self.path, flagged).map_err(&err)? {
            let reported = diags.iter().any(|d| {
                d.is_error() && matches!(d.location, Location::Line { line: l, .. } if l == line)
            });
            if !reported {
                diags.push(
                    Diagnostic::error("this row cannot be read".to_string())
                        .at_line(&self.display, line, None)
                        .help("check the row against the header with `suiji registry check`"),
                );
            }
        }
        for line in lines_at(self.path, encoding).map_err(&err)? {
            diags.push(
                Diagnostic::error("the row is not UTF-8 text".to_string())
                    .at_line(&self.display, line, None)
                    .help(UTF8_HELP),
            );
        }
        diags.sort_by_key(|d| match d.location {
            Location::Line { line, column, .. } => (line, column.unwrap_or(0)),
            _ => (0, 0),
        });
        Ok(diags)
    }

    /// The error for a file that changed while a draw was reading it.
    pub(crate) fn changed(&self) -> SourceError {
        SourceError::Io {
            path: self.display.clone(),
            source: io::Error::other("the file changed while the draw was reading it"),
        }
    }
}

/// Bytes a draw sets aside while it reads rows (the public bundle's frame, stratum by
/// stratum), in a temporary file removed when it is let go: written through a buffer, then
/// read back from the start.
pub(crate) struct SetAside {
    out: io::BufWriter<File>,
}

impl SetAside {
    pub(crate) fn new() -> io::Result<SetAside> {
        Ok(SetAside {
            out: io::BufWriter::with_capacity(1 << 16, tempfile::tempfile()?),
        })
    }

    /// Where to write what is set aside.
    pub(crate) fn writer(&mut self) -> &mut impl io::Write {
        &mut self.out
    }

    /// What was set aside, from its start.
    pub(crate) fn into_reader(self) -> io::Result<impl io::BufRead> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(io::BufReader::with_capacity(1 << 16, file))
    }
}

/// The first ten non-blank records from `start`: (offset, end, bytes as written).
fn head_records(path: &Path, start: u64, chunk: usize) -> io::Result<Vec<(u64, u64, Vec<u8>)>> {
    let mut scanner = Scanner::open(path, start, u64::MAX, chunk.min(1 << 20))?;
    let mut records = Vec::new();
    let mut non_blank = 0;
    while non_blank < 10 {
        let Some(r) = scanner.next(usize::MAX, false)? else {
            break;
        };
        let blank = (0..r.split()).all(|i| trim_bytes(r.cell(i)).is_some_and(str::is_empty));
        let (offset, raw) = (r.offset, r.raw.to_vec());
        if !blank {
            non_blank += 1;
        }
        records.push((offset, scanner.position(), raw));
    }
    Ok(records)
}

fn newlines(b: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', b).count()
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> SourceError + '_ {
    move |source| SourceError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Runs `f` on every item, each in its own thread (the first on this one).
fn parallel<I: Sync, T: Send>(
    items: &[I],
    f: impl Fn(&I) -> Result<T, SourceError> + Sync,
) -> Result<Vec<T>, SourceError> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items[1..]
            .iter()
            .map(|r| scope.spawn(move || f(r)))
            .collect();
        let mut out = vec![f(&items[0])];
        for h in handles {
            out.push(h.join().unwrap_or_else(|_| {
                Err(SourceError::Io {
                    path: String::new(),
                    source: io::Error::other("a worker thread panicked"),
                })
            }));
        }
        out.into_iter().collect()
    })
}

/// The line (1-based, as the registry reader counts) of each offset.
fn lines_at(path: &Path, offsets: &[u64]) -> io::Result<Vec<usize>> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut out = vec![0usize; offsets.len()];
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut pos, mut lines, mut filled, mut at) = (0u64, 1usize, 0usize, 0usize);
    for i in order {
        let target = offsets[i];
        while pos < target {
            if at == filled {
                filled = read_up_to(&mut file, &mut buf)?;
                at = 0;
                if filled == 0 {
                    break;
                }
            }
            let take = usize::try_from(target - pos)
                .unwrap_or(usize::MAX)
                .min(filled - at);
            lines += newlines(&buf[at..at + take]);
            at += take;
            pos += take as u64;
        }
        out[i] = lines;
    }
    Ok(out)
}

/// What [`cut_head`] found.
enum Head {
    /// The fields end at this index.
    Cut(usize),
    /// A quote, carriage return or line end (or an empty line) before the fields ended.
    Special,
    /// The bytes end before the fields do.
    More,
}

/// Splits the first `n` fields off `bytes` (a record's first bytes; all of the file's rest
/// when `eof`) into `fields`.
fn cut_head(bytes: &[u8], n: usize, fields: &mut Vec<(u32, u32)>, eof: bool) -> Head {
    fields.clear();
    if matches!(bytes.first(), None | Some(b'\n' | b'\r')) {
        return Head::Special;
    }
    let mut from = 0usize;
    let mut end = None;
    for i in memchr::memchr3_iter(b',', b'\n', b'"', bytes) {
        match bytes[i] {
            b',' => {
                fields.push((from as u32, i as u32));
                from = i + 1;
                if fields.len() == n {
                    end = Some(i);
                    break;
                }
            }
            // The record's last field: the fields end with it if it is the `n`th.
            b'\n' if fields.len() + 1 == n => {
                let stop = if i > from && bytes[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                fields.push((from as u32, stop as u32));
                end = Some(stop);
                break;
            }
            _ => return Head::Special,
        }
    }
    let end = match end {
        Some(end) => end,
        // The file's last record, without a line end.
        None if eof && fields.len() + 1 == n => {
            let stop = bytes.len() - usize::from(bytes.ends_with(b"\r"));
            fields.push((from as u32, stop as u32));
            stop
        }
        None if eof => return Head::Special,
        None => return Head::More,
    };
    if memchr::memchr(b'\r', &bytes[..end]).is_some() {
        return Head::Special;
    }
    Head::Cut(end)
}

/// How [`RegistryFile::rows_at`] makes the cells of each row it reads again.
#[derive(Clone, Copy)]
enum Again<'w> {
    /// Every cell, checked as the registry reader checks them ([`RegistryFile::plain_row`]).
    Whole,
    /// Only these fields ([`RegistryFile::checked_row`]).
    Only(&'w [usize]),
}

/// Reads at a file offset without moving a cursor (so threads may share nothing but the path).
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read(buf)
}

/// Where the record at the start of `bytes` ends, found by one search (SIMD) for its line
/// end, a quote or a carriage return; `eof`: no bytes follow `bytes` in the file.
#[derive(Debug, PartialEq)]
enum LineEnd {
    /// A line of `len` bytes that holds no quote or carriage return (so its fields hold no
    /// comma, quote or line end): `consumed` bytes with its line end (`\n` or `\r\n`).
    Plain { len: usize, consumed: usize },
    /// The line holds a quote or a lone carriage return: csv-core tokenises it.
    Special,
    /// The bytes end before the line does.
    More,
}

fn line_end(bytes: &[u8], eof: bool) -> LineEnd {
    let Some(i) = memchr::memchr3(b'\n', b'"', b'\r', bytes) else {
        return match eof {
            true => LineEnd::Plain {
                len: bytes.len(),
                consumed: bytes.len(),
            },
            false => LineEnd::More,
        };
    };
    match (bytes[i], bytes.get(i + 1)) {
        (b'\n', _) => LineEnd::Plain {
            len: i,
            consumed: i + 1,
        },
        (b'\r', Some(b'\n')) => LineEnd::Plain {
            len: i,
            consumed: i + 2,
        },
        // The file's last line, ended by a carriage return alone.
        (b'\r', None) if eof => LineEnd::Plain {
            len: i,
            consumed: i + 1,
        },
        (b'\r', None) => LineEnd::More,
        _ => LineEnd::Special,
    }
}

/// Splits a line that holds no quote or carriage return ([`LineEnd::Plain`]) on commas into
/// `fields` (at most `split`); the number of its commas.
///
/// The line is read eight bytes at a time, each word's commas found at once ([`bytes_eq`]): a
/// row's dozen short cells cost one pass, not a search each.
fn split_commas(line: &[u8], fields: &mut Vec<(u32, u32)>, split: usize) -> usize {
    fields.clear();
    let mut from = 0u32;
    let mut n = 0usize;
    let words = line.chunks_exact(8);
    let tail = words.remainder();
    let mut at = 0u32;
    for word in words {
        let mut word_bytes = [0u8; 8];
        word_bytes.copy_from_slice(word);
        let mut commas = bytes_eq(u64::from_le_bytes(word_bytes), b',');
        while commas != 0 {
            n += 1;
            if fields.len() < split {
                let c = at + commas.trailing_zeros() / 8;
                fields.push((from, c));
                from = c + 1;
            }
            commas &= commas - 1;
        }
        at += 8;
    }
    for &b in tail {
        if b == b',' {
            n += 1;
            if fields.len() < split {
                fields.push((from, at));
                from = at + 1;
            }
        }
        at += 1;
    }
    if fields.len() < split {
        fields.push((from, line.len() as u32));
    }
    n
}

/// The top bit of each byte of `x` (eight bytes, the first lowest) that is `b`, the other
/// bits clear: exact, no borrow runs between the bytes.
fn bytes_eq(x: u64, b: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let v = x ^ (ONES * u64::from(b));
    !(((v & LOW7) + LOW7) | v | LOW7)
}

/// One record: where it starts in the file, its bytes and its fields.
pub(crate) struct Record<'a> {
    /// File offset of the record's first byte.
    pub offset: u64,
    /// The record as written, without its line end.
    pub raw: &'a [u8],
    /// Field bytes (unquoted when the record was quoted), and more bytes after them.
    data: &'a [u8],
    wide: &'a [u8],
    fields: &'a [(u32, u32)],
    /// Number of fields, when counted (see [`Scanner::next`]); 0 otherwise.
    pub width: usize,
    /// Whether the record was tokenised by csv-core (it has a quote or a lone carriage
    /// return); the fields of any other hold no comma, quote or line end.
    pub quoted: bool,
}

impl<'a> Record<'a> {
    /// Field `i`, if it was split off.
    pub fn field(&self, i: usize) -> Option<&'a [u8]> {
        self.fields
            .get(i)
            .and_then(|&(a, b)| self.data.get(a as usize..b as usize))
    }

    /// Field `i`, or empty when the record has no such field.
    pub fn cell(&self, i: usize) -> &'a [u8] {
        self.field(i).unwrap_or_default()
    }

    /// The record's field bytes, at least up to the end of the last field split off, as text:
    /// `None` when they are not UTF-8. Its fields are then [`Record::cell_of`] this text. They
    /// are checked at once, with SIMD, which a field alone, or a row's few first fields, would
    /// be too short for (under 64 bytes, `utf8` hands them to the scalar check): an unquoted
    /// record's text runs on into the bytes read after it, to the first ASCII byte (a
    /// character's start) from the 64th on.
    pub fn fields_text(&self) -> Option<&'a str> {
        const BLOCK: usize = 64;
        let end = self.fields.last().map_or(0, |&(_, b)| b as usize);
        if self.quoted || end >= BLOCK {
            return utf8(self.data.get(..end)?);
        }
        let from = BLOCK.min(self.wide.len());
        let to = self
            .wide
            .get(from..)?
            .iter()
            .position(u8::is_ascii)
            .map_or(self.wide.len(), |p| from + p);
        utf8(self.wide.get(..to.max(end))?)
    }

    /// Field `i` as text, `text` being the record's field bytes as a string
    /// (`std::str::from_utf8(data)`); empty when there is no such field, `None` when it does
    /// not fall on character boundaries (it always does for text made from the same bytes).
    pub fn cell_of<'t>(&self, text: &'t str, i: usize) -> Option<&'t str> {
        match self.fields.get(i) {
            Some(&(a, b)) => text.get(a as usize..b as usize),
            None => Some(""),
        }
    }

    /// Field `i`, and the buffer from its first byte on (at least the field; often more, so
    /// a few words can be loaded at once).
    #[inline]
    pub fn cell_wide(&self, i: usize) -> (&'a [u8], &'a [u8]) {
        match self.fields.get(i) {
            Some(&(a, b)) => (
                self.data.get(a as usize..b as usize).unwrap_or_default(),
                self.wide.get(a as usize..).unwrap_or_default(),
            ),
            None => (&[], &[]),
        }
    }

    /// The number of fields split off.
    pub fn split(&self) -> usize {
        self.fields.len()
    }
}

/// Reads the records that start in `[start, stop)` of a file (the last may run past `stop`).
pub(crate) struct Scanner {
    file: File,
    /// File offset of `buf[0]`.
    base: u64,
    buf: Vec<u8>,
    /// Bytes before this index are consumed.
    at: usize,
    /// Bytes up to this index hold data.
    filled: usize,
    eof: bool,
    stop: u64,
    fields: Vec<(u32, u32)>,
    unquoted: Vec<u8>,
    ends: Vec<usize>,
}

impl Scanner {
    /// A scanner over the records of `path` that start at or after `start` (a record start) and
    /// before `stop`, reading `chunk` bytes at a time.
    pub fn open(path: &Path, start: u64, stop: u64, chunk: usize) -> io::Result<Scanner> {
        let file = File::open(path)?;
        Ok(Scanner {
            file,
            base: start,
            buf: vec![0; chunk.max(256)],
            at: 0,
            filled: 0,
            eof: false,
            stop,
            fields: Vec::with_capacity(32),
            unquoted: Vec::new(),
            ends: Vec::new(),
        })
    }

    /// Moves to the records in `[start, stop)`, keeping buffered bytes when `start` is among them
    /// (so reading rows in offset order costs few reads).
    pub fn reset(&mut self, start: u64, stop: u64) {
        self.stop = stop;
        if start >= self.base && start <= self.base + self.filled as u64 {
            self.at = (start - self.base) as usize;
        } else {
            self.base = start;
            self.at = 0;
            self.filled = 0;
            self.eof = false;
        }
    }

    /// The first offset at or after `at` that follows a `\n` (where a block of records may be
    /// cut), or the end of the file.
    pub fn boundary(&self, at: u64) -> io::Result<u64> {
        let mut buf = [0u8; 4096];
        let mut pos = at.saturating_sub(1);
        loop {
            let n = match read_at(&self.file, &mut buf, pos) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(pos.max(at));
            }
            if let Some(nl) = memchr::memchr(b'\n', &buf[..n]) {
                return Ok((pos + nl as u64 + 1).max(at));
            }
            pos += n as u64;
        }
    }

    /// Where the next record would start: after [`Scanner::next`] returned `None`, the first
    /// record start at or after `stop` (or the end of the file).
    pub fn position(&self) -> u64 {
        self.base + self.at as u64
    }

    /// Moves unconsumed bytes to the front and reads more. False at the end of the file.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.at > 0 {
            self.buf.copy_within(self.at..self.filled, 0);
            self.base += self.at as u64;
            self.filled -= self.at;
            self.at = 0;
        }
        if self.filled == self.buf.len() {
            let more = self.buf.len();
            self.buf.resize(self.buf.len() + more, 0);
        }
        let mut got_any = false;
        while self.filled < self.buf.len() {
            let at = self.base + self.filled as u64;
            match read_at(&self.file, &mut self.buf[self.filled..], at) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => {
                    self.filled += n;
                    got_any = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got_any)
    }

    /// The next record, with its first `split` fields split off; `count` also counts all its
    /// fields (into [`Record::width`]). `None` at the end of the range.
    pub fn next(&mut self, split: usize, count: bool) -> io::Result<Option<Record<'_>>> {
        loop {
            if self.position() >= self.stop {
                return Ok(None);
            }
            if self.at == self.filled && !self.fill()? {
                return Ok(None);
            }
            // Empty lines (and the `\n` of a `\r\n` left by csv-core) are skipped, as csv does.
            let first = self.buf[self.at];
            if first == b'\n' || first == b'\r' {
                self.at += 1;
                continue;
            }
            let avail = &self.buf[self.at..self.filled];
            let (line_len, consumed) = match line_end(avail, self.eof) {
                LineEnd::Plain { len, consumed } => (len, consumed),
                LineEnd::Special => return self.quoted(split),
                LineEnd::More => {
                    self.fill()?;
                    continue;
                }
            };
            let start = self.at;
            let commas = split_commas(&self.buf[start..start + line_len], &mut self.fields, split);
            let line = &self.buf[start..start + line_len];
            let offset = self.position();
            self.at += consumed;
            let width = if count { commas + 1 } else { 0 };
            return Ok(Some(Record {
                offset,
                raw: line,
                data: line,
                wide: &self.buf[start..self.filled],
                fields: &self.fields,
                width,
                quoted: false,
            }));
        }
    }

    /// The first `n` fields of the record taken to start at `offset` (a record start: nothing
    /// here tells one from an offset inside a record), when they hold no quote, carriage return
    /// or line end (the rest of the record is not read): its `raw` and `data` are those fields'
    /// bytes, its width uncounted. `None` when they do, when the line there is empty, or at the
    /// end of the file; [`Scanner::next`] reads such a record.
    pub fn head(&mut self, offset: u64, n: usize) -> io::Result<Option<Record<'_>>> {
        self.reset(offset, offset + 1);
        loop {
            if self.at == self.filled && !self.fill()? {
                return Ok(None);
            }
            let avail = &self.buf[self.at..self.filled];
            match cut_head(avail, n.max(1), &mut self.fields, self.eof) {
                Head::Cut(len) => {
                    let start = self.at;
                    return Ok(Some(Record {
                        offset,
                        raw: &self.buf[start..start + len],
                        data: &self.buf[start..start + len],
                        wide: &self.buf[start..self.filled],
                        fields: &self.fields,
                        width: 0,
                        quoted: false,
                    }));
                }
                Head::Special => return Ok(None),
                Head::More if self.eof => return Ok(None),
                Head::More => {
                    self.fill()?;
                }
            }
        }
    }

    /// A record with quotes (or a lone `\r`), tokenized by csv-core.
    fn quoted(&mut self, split: usize) -> io::Result<Option<Record<'_>>> {
        use csv_core::ReadRecordResult as R;
        loop {
            let mut reader = csv_core::Reader::new();
            if self.unquoted.len() < 1024 {
                self.unquoted.resize(1024, 0);
            }
            if self.ends.len() < 64 {
                self.ends.resize(64, 0);
            }
            let (mut nin, mut nout, mut nend) = (0usize, 0usize, 0usize);
            let input = &self.buf[self.at..self.filled];
            let mut finishing = false;
            let done = loop {
                let rest = if finishing { &[][..] } else { &input[nin..] };
                let (r, i, o, e) =
                    reader.read_record(rest, &mut self.unquoted[nout..], &mut self.ends[nend..]);
                nin += i;
                nout += o;
                nend += e;
                match r {
                    R::InputEmpty if self.eof => finishing = true,
                    R::InputEmpty => break false,
                    R::OutputFull => {
                        let n = self.unquoted.len();
                        self.unquoted.resize(n * 2, 0);
                    }
                    R::OutputEndsFull => {
                        let n = self.ends.len();
                        self.ends.resize(n * 2, 0);
                    }
                    R::Record | R::End => break true,
                }
            };
            if !done {
                // The record runs past the buffer: read more and start it again.
                self.fill()?;
                continue;
            }
            let offset = self.position();
            let start = self.at;
            self.at += nin;
            let mut raw = &self.buf[start..start + nin];
            while let Some(r) = raw.strip_suffix(b"\n").or_else(|| raw.strip_suffix(b"\r")) {
                raw = r;
            }
            self.fields.clear();
            let mut from = 0usize;
            for &end in &self.ends[..nend] {
                if self.fields.len() < split {
                    self.fields.push((from as u32, end as u32));
                }
                from = end;
            }
            return Ok(Some(Record {
                offset,
                raw,
                data: &self.unquoted[..nout],
                wide: &self.unquoted[..nout],
                fields: &self.fields,
                width: nend,
                quoted: true,
            }));
        }
    }
}

/// A record's fields by the registry's column numbers (`crate::registry::read::t`), trimmed as
/// the reader trims them.
#[derive(Clone, Copy)]
struct Cells<'r, 'h> {
    r: &'r Record<'r>,
    /// The record's field bytes as text.
    text: &'r str,
    /// Each column's field, when the header has it.
    cols: &'h [Option<usize>],
}

impl<'r> Cells<'r, '_> {
    /// Column `f`'s cell: empty when the header has no such column, `None` when it does not
    /// fall on characters.
    fn get(&self, f: usize) -> Option<&'r str> {
        match self.cols.get(f).copied().flatten() {
            Some(i) => self.r.cell_of(self.text, i).map(trim_str),
            None => Some(""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line's fields and commas split a byte at a time, the way [`line_end`] and
    /// [`split_commas`] must find them: whether it holds a quote or a carriage return (then it is
    /// not split), its fields (at most `split`) and its commas.
    fn split_slowly(line: &[u8], split: usize) -> (bool, Vec<(u32, u32)>, usize) {
        if line.iter().any(|&b| b == b'"' || b == b'\r') {
            return (true, Vec::new(), 0);
        }
        let mut fields = Vec::new();
        let mut from = 0;
        let commas: Vec<usize> = (0..line.len()).filter(|&i| line[i] == b',').collect();
        for &c in &commas {
            if fields.len() < split {
                fields.push((from as u32, c as u32));
                from = c + 1;
            }
        }
        if fields.len() < split {
            fields.push((from as u32, line.len() as u32));
        }
        (false, fields, commas.len())
    }

    proptest::proptest! {
        /// A line is ended and split word by word as it is byte by byte: the same fields,
        /// commas and quotes or carriage returns, wherever they fall in a word (and bytes one
        /// bit away from them, which a borrow between bytes would take for them), whichever
        /// line end follows it (`\n`, `\r\n`, or a carriage return or nothing at the end of
        /// the file), and more bytes are asked for when the line may go on.
        #[test]
        fn lines_split_by_words_as_by_bytes(
            pieces in proptest::collection::vec(0usize..12, 0..60),
            split in 0usize..20,
            ending in 0usize..4,
        ) {
            const PIECES: [&[u8]; 12] = [
                b",", b",", b"a", b"-", b"\"", b"\r", b"\x00", b"\x01", b"\xac", "检".as_bytes(),
                b"2023-01-05", b"\xff,",
            ];
            const ENDINGS: [&[u8]; 4] = [b"\nnext,row\n", b"\r\nnext", b"\r", b""];
            let line: Vec<u8> = pieces.iter().flat_map(|&p| PIECES[p].iter().copied()).collect();
            let mut bytes = line.clone();
            bytes.extend_from_slice(ENDINGS[ending]);
            // The line as a reader of lines takes it (up to its `\n`, or the file's end), and
            // without the one carriage return that ends it, if one does.
            let (taken, consumed) = match ending {
                0 => (line.clone(), line.len() + 1),
                1 => ([&line[..], b"\r"].concat(), line.len() + 2),
                2 => ([&line[..], b"\r"].concat(), line.len() + 1),
                _ => (line.clone(), line.len()),
            };
            let text = taken.strip_suffix(b"\r").unwrap_or(&taken);
            let (want_special, want_fields, want_commas) = split_slowly(text, split);
            let ended = line_end(&bytes, true);
            if want_special {
                proptest::prop_assert_eq!(ended, LineEnd::Special);
            } else {
                proptest::prop_assert_eq!(ended, LineEnd::Plain { len: text.len(), consumed });
                let mut fields = vec![(7, 7)];
                let commas = split_commas(text, &mut fields, split);
                proptest::prop_assert_eq!(fields, want_fields);
                proptest::prop_assert_eq!(commas, want_commas);
            }
            // Without its line end the line may go on: more bytes are asked for, unless a
            // quote or a carriage return before its last byte already says csv-core reads it.
            let open = line.split_last().is_none_or(|(_, head)| {
                !line.contains(&b'"') && !head.contains(&b'\r')
            });
            if open {
                proptest::prop_assert_eq!(line_end(&line, false), LineEnd::More);
            }
        }
    }

    proptest::proptest! {
        /// The SIMD check says what the standard library says, on any bytes and on text cut
        /// anywhere (inside a character included).
        #[test]
        fn utf8_is_the_standard_check(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
            text in "[a-z名单检查对象é𝄞 ,\"]{0,40}",
            cut in 0usize..200,
        ) {
            proptest::prop_assert_eq!(utf8(&bytes), std::str::from_utf8(&bytes).ok());
            let t = text.as_bytes();
            let t = &t[..cut.min(t.len())];
            proptest::prop_assert_eq!(utf8(t), std::str::from_utf8(t).ok());
        }
    }

    proptest::proptest! {
        /// `trim_str` is `trim`, on text with every kind of whitespace it trims (and
        /// characters sharing their first bytes) at either end.
        #[test]
        fn trim_str_is_trim(
            text in "[ \t\n\x0b\x0c\r\u{85}\u{a0}\u{a1}\u{1680}\u{1681}\u{2000}-\u{200b}\u{2028}\u{2029}\u{202f}\u{205f}\u{2060}\u{3000}\u{3001}\u{feff}\u{fefe}a名é𝄞]{0,8}",
        ) {
            proptest::prop_assert_eq!(trim_str(&text), trim(&text));
        }

        /// A field taken from its record's text checked at once is the field checked alone,
        /// whatever the bytes around it (text cut inside a character, bytes that are not
        /// UTF-8 in this row or the next, quoted rows), read whole or by its first fields.
        #[test]
        fn a_field_of_the_records_text_is_the_field_checked_alone(
            pieces in proptest::collection::vec(0usize..12, 0..400),
            chunk in 8usize..300,
            n in 1usize..4,
        ) {
            const PIECES: [&[u8]; 12] = [
                b"a", b"12", "检查".as_bytes(), "对象名称很长的一段文字".as_bytes(), b",", b",",
                b"\n", b" ", "\u{feff}".as_bytes(), b"\"", b"\xff", b"\xe5\x90",
            ];
            let text: Vec<u8> = pieces.iter().flat_map(|&p| PIECES[p].iter().copied()).collect();
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("t.csv");
            std::fs::write(&path, &text).expect("write");
            let same = |r: &Record<'_>| -> Result<(), proptest::test_runner::TestCaseError> {
                let whole = r.fields_text();
                for i in 0..r.split() {
                    if let Some(c) = whole.and_then(|t| r.cell_of(t, i)) {
                        let alone = r.field(i).and_then(trim_bytes);
                        proptest::prop_assert_eq!(Some(trim_str(c)), alone);
                    }
                }
                Ok(())
            };
            let mut s = Scanner::open(&path, 0, u64::MAX, chunk).expect("open");
            let mut offsets = Vec::new();
            while let Some(r) = s.next(usize::MAX, true).expect("read") {
                offsets.push(r.offset);
                same(&r)?;
            }
            let mut s = Scanner::open(&path, 0, 0, chunk).expect("open");
            for o in offsets {
                if let Some(r) = s.head(o, n).expect("read") {
                    same(&r)?;
                }
            }
        }
    }

    fn records(text: &[u8], chunk: usize) -> Vec<(u64, Vec<String>, usize)> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).expect("write");
        let mut s = Scanner::open(&path, 0, u64::MAX, chunk).expect("open");
        let mut out = Vec::new();
        while let Some(r) = s.next(usize::MAX, true).expect("read") {
            let fields = (0..r.split())
                .map(|i| String::from_utf8_lossy(r.cell(i)).into_owned())
                .collect();
            out.push((r.offset, fields, r.width));
        }
        out
    }

    /// The same records as the `csv` crate (flexible, no headers), which skips empty lines.
    fn with_csv(text: &[u8]) -> Vec<(u64, Vec<String>, usize)> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text);
        let mut out = Vec::new();
        for r in reader.byte_records() {
            let r = r.expect("csv");
            let fields: Vec<String> = r
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            let n = fields.len();
            let mut start = r.position().map_or(0, |p| p.byte());
            while matches!(text.get(start as usize), Some(b'\r' | b'\n')) {
                start += 1;
            }
            out.push((start, fields, n));
        }
        out
    }

    #[test]
    fn agrees_with_the_csv_crate() {
        let cases: &[&[u8]] = &[
            b"a,b,c\n1,2,3\n",
            b"a,b\r\n\r\n1,\"x\ny\"\r\n\"q\"\"q\",z",
            b"a,b\n\n\n,\n  ,x\n",
            b"a,b\rc,d\n1,2",
            b"\"only\"",
            "编号,名称\nT1,\"平安, 大酒店\"\nT2,顺心旅馆\r\n".as_bytes(),
            b"x,\"unterminated\n1,2\n",
        ];
        for text in cases {
            for chunk in [4096, 7, 1] {
                assert_eq!(
                    records(text, chunk),
                    with_csv(text),
                    "{text:?} chunk {chunk}"
                );
            }
        }
    }

    /// Rows read again by their offsets are the reader's own targets, whether they are plain
    /// enough to be made without it or not (and then the reader reads the whole batch).
    #[test]
    fn rows_read_again_are_the_readers_targets() {
        let text = "编号,名称,类别,区域,地址,重点区域,风险等级,许可证号,状态,上次检查日期,上次检查结果,风险\n\
            T1,平安大酒店,hotel,城关,\"人民路 1 号, 东\",是,B,L1,正常,2023/5/6,未发现问题,3\n\
            T2,顺心旅馆,hotel,城关,,false,,,active,2023-05-06,,\n\
            T3, 空格 ,Hotel,城关,,,,,,,,\n\
            T4,注销店,hotel,北区,,0,A,,注销,2023年5月6日 0:00,,1\n\
            T5,坏日期,hotel,北区,,,,,,2023-02-30,,\n\
            9.13713E+17,科学计数,hotel,北区,,,,,,,,\n\
            T7,少一列,hotel\n";
        let (_dir, path, known) = hotel_file(text);
        let file = RegistryFile::open(&path, &known, 4096).expect("open");
        let offsets = offsets_of(&file, &path);
        assert_eq!(offsets.len(), 7);
        let plain: Vec<bool> = offsets
            .iter()
            .map(|&o| {
                let mut s = Scanner::open(&path, o, o + 1, 64).expect("scan");
                let r = s.next(usize::MAX, true).expect("read").expect("row");
                file.plain_target(&r).is_some()
            })
            .collect();
        assert_eq!(plain, [true, true, false, true, false, false, false]);
        for (i, &o) in offsets.iter().enumerate() {
            let again = file.read_again(&[o]).expect("read again");
            let by_reader = file.read_by_reader(&[o]).expect("reader");
            assert_eq!(again.0, by_reader.0, "row {i}");
            assert_eq!(
                again
                    .1
                    .iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>(),
                by_reader
                    .1
                    .iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>(),
                "row {i}"
            );
        }
        let plain_rows = [offsets[0], offsets[1], offsets[3]];
        assert_eq!(
            file.read_again(&plain_rows).expect("plain").0,
            file.read_by_reader(&plain_rows).expect("reader").0
        );
        let (all, diags) = file.read_again(&offsets).expect("all");
        assert_eq!(all, file.read_by_reader(&offsets).expect("reader").0);
        assert!(diags.iter().any(Diagnostic::is_error));
    }

    /// `text` written as a registry file in a temporary folder (kept while the first is), and
    /// the categories it may use: hotels.
    fn hotel_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf, Known) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).expect("write");
        let known = Known {
            categories: ["hotel".to_string()].into(),
            ..Known::default()
        };
        (dir, path, known)
    }

    /// The offset of each row of `file` (at `path`).
    fn offsets_of(file: &RegistryFile, path: &Path) -> Vec<u64> {
        let mut offsets = Vec::new();
        let mut s = Scanner::open(path, file.data_start, u64::MAX, 4096).expect("scan");
        while let Some(r) = s.next(usize::MAX, true).expect("read") {
            offsets.push(r.offset);
        }
        offsets
    }

    /// The public cells of rows read again are the public values of the targets the reader
    /// makes of them, whether the rows are plain or go to the reader, and fail as it fails.
    #[test]
    fn public_cells_read_again_are_the_readers_targets_values() {
        let text = "编号,名称,类别,区域,地址,许可证号\n\
            T1,平安大酒店,hotel,城关,\"人民路 1 号, 东\",L1\n\
            T2, 顺心旅馆 ,hotel,城关,,\n\
            T3,空格,Hotel,北区,北街,L3\n\
            T4,少一列,hotel\n";
        let (_dir, path, known) = hotel_file(text);
        let file = RegistryFile::open(&path, &known, 4096).expect("open");
        let offsets = offsets_of(&file, &path);
        let fields: Vec<String> = ["name", "licence", "district", "address", "other"]
            .map(String::from)
            .to_vec();
        let mut cells = CellRows::new(1 + fields.len());
        for rows in [&offsets[..2], &offsets[2..3], &offsets[..3]] {
            let Ok(targets) = file.targets_at(rows) else {
                assert!(file.public_cells_at(rows, &fields, &mut cells).is_err());
                continue;
            };
            file.public_cells_at(rows, &fields, &mut cells)
                .expect("cells");
            assert_eq!(cells.len(), targets.len());
            for (i, t) in targets.iter().enumerate() {
                let c = LineCells::of(t);
                assert_eq!(cells.cell(i, 0), t.id);
                for (j, f) in fields.iter().enumerate() {
                    assert_eq!(cells.cell(i, j + 1), c.public(f), "row {i} field {f}");
                }
            }
        }
        assert!(file.targets_at(&offsets).is_err());
        assert!(file.public_cells_at(&offsets, &fields, &mut cells).is_err());
    }

    /// Rows read again for their public cells are not checked again for what no public list
    /// shows: a row whose status or last inspection's date the reader refuses (a row no draw
    /// reads again, its file refused before) still gives its public cells; a row whose public
    /// cells the reader reads otherwise (a category spelt differently) goes to the reader.
    #[test]
    fn public_cells_read_again_skip_what_no_public_list_shows() {
        let text = "编号,名称,类别,区域,地址,许可证号,状态,上次检查日期\n\
            T1,平安大酒店,hotel,城关,人民路 1 号,L1,正常,2023-05-06\n\
            T2,坏日期,hotel,北区,北街,,停业整顿中,2023-02-30\n";
        let (_dir, path, known) = hotel_file(text);
        let file = RegistryFile::open(&path, &known, 4096).expect("open");
        let offsets = offsets_of(&file, &path);
        let fields: Vec<String> = ["name", "district", "address"].map(String::from).to_vec();
        let mut cells = CellRows::new(1 + fields.len());
        assert!(file.targets_at(&offsets).is_err());
        file.public_cells_at(&offsets, &fields, &mut cells)
            .expect("cells");
        let row = |i: usize| (0..4).map(|j| cells.cell(i, j)).collect::<Vec<_>>();
        assert_eq!(row(0), ["T1", "平安大酒店", "城关", "人民路 1 号"]);
        assert_eq!(row(1), ["T2", "坏日期", "北区", "北街"]);
        let mut full = Vec::new();
        let all = file.lines_at(&offsets, &mut |c| full.push(c.id.to_string()));
        assert!(all.is_err(), "every cell checked: {full:?}");
    }

    /// A cell as a CSV file writes it: quoted when it holds a comma, quote or line end.
    fn csv_cell(cell: &str) -> String {
        if cell.contains([',', '"', '\r', '\n']) {
            format!("\"{}\"", cell.replace('"', "\"\""))
        } else {
            cell.to_string()
        }
    }

    proptest::proptest! {
        /// A row read again for some of its fields gives those fields as the row read whole
        /// gives them, whatever the cells hold (quotes, commas, line ends, spaces, a category
        /// spelt otherwise, a status or date the reader refuses) and however the lines end.
        #[test]
        fn rows_read_again_for_some_fields_give_them_as_read_whole(
            rows in proptest::collection::vec(
                (
                    "[T0-9 ]{0,4}",
                    "[名单a ,\"\r\n]{0,6}",
                    proptest::sample::select(vec!["hotel", "Hotel", " hotel ", ""]),
                    "[城关 ,\"]{0,4}",
                    proptest::sample::select(vec!["", "正常", "注销", "坏"]),
                    proptest::sample::select(vec!["", "2023-05-06", "2023/5/6", "2023-02-30"]),
                    "[合格 ,]{0,3}",
                ),
                1..6,
            ),
            crlf in proptest::bool::ANY,
            last_line_end in proptest::bool::ANY,
            wanted in proptest::sample::subsequence(
                vec![
                    crate::registry::read::t::ID,
                    crate::registry::read::t::NAME,
                    crate::registry::read::t::CATEGORY,
                    crate::registry::read::t::DISTRICT,
                    crate::registry::read::t::STATUS,
                    crate::registry::read::t::LAST_INSPECTED,
                    crate::registry::read::t::LAST_RESULT,
                ],
                0..=7,
            ),
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("编号,名称,类别,区域,状态,上次检查日期,上次检查结果{end}");
            for (i, (id, name, category, district, status, date, result)) in rows.iter().enumerate() {
                let cells = [id.as_str(), name, category, district, status, date, result];
                let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                text.push_str(&line.join(","));
                if i + 1 < rows.len() || last_line_end {
                    text.push_str(end);
                }
            }
            let (_dir, path, known) = hotel_file(&text);
            let file = RegistryFile::open(&path, &known, 4096).expect("open");
            let offsets = offsets_of(&file, &path);
            let fields = |c: &LineCells<'_>| -> Vec<String> {
                wanted
                    .iter()
                    .map(|&f| match f {
                        crate::registry::read::t::ID => c.id.to_string(),
                        crate::registry::read::t::NAME => c.name.to_string(),
                        crate::registry::read::t::CATEGORY => c.category.to_string(),
                        crate::registry::read::t::DISTRICT => c.district.to_string(),
                        crate::registry::read::t::STATUS => format!("{:?}", c.status),
                        crate::registry::read::t::LAST_INSPECTED => format!("{:?}", c.last_inspected),
                        _ => c.last_result.to_string(),
                    })
                    .collect()
            };
            let mut sets = vec![offsets.clone()];
            sets.extend(offsets.iter().map(|&o| vec![o]));
            for set in sets {
                let mut whole = Vec::new();
                if file.lines_at(&set, &mut |c| whole.push(fields(c))).is_err() {
                    continue;
                }
                let mut some = Vec::new();
                file.checked_lines_at(&set, &wanted, &mut |c| some.push(fields(c)))
                    .expect("read again");
                proptest::prop_assert_eq!(&some, &whole, "{:?}", text);
            }
        }
    }

    /// A record's head is cut where its `n`th field ends, read on as the buffer runs out
    /// (records across the buffer's end), and not cut where a quote, carriage return or line
    /// end comes first; the file's last record may have no line end.
    #[test]
    fn a_head_is_cut_after_its_fields_across_the_buffers_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        let mut text = String::new();
        let mut offsets = Vec::new();
        for i in 0..200 {
            offsets.push(text.len() as u64);
            let name = "名".repeat(i % 7);
            match i % 5 {
                0 => text.push_str(&format!("T{i},{name},\"a,b\",x\r\n")),
                1 => text.push_str(&format!("T{i},\"{name},\",c,x\n")),
                2 => text.push_str(&format!("T{i}\n")),
                _ => text.push_str(&format!("T{i},{name},c,x\n")),
            }
        }
        offsets.push(text.len() as u64);
        text.push_str("T200,名,c");
        std::fs::write(&path, &text).expect("write");
        // A buffer of 256 bytes: most records are read on across its end at some point.
        let mut s = Scanner::open(&path, 0, 0, 256).expect("open");
        for (i, &offset) in offsets.iter().enumerate() {
            let name = "名".repeat(i % 7);
            let head = s.head(offset, 2).expect("read");
            let got = head.map(|r| (r.cell(0).to_vec(), r.cell(1).to_vec(), r.raw.len()));
            let want = match i % 5 {
                _ if i == 200 => Some(("T200".to_string(), "名".to_string())),
                1 | 2 => None,
                _ => Some((format!("T{i}"), name)),
            };
            let want = want.map(|(id, name)| {
                let len = id.len() + 1 + name.len();
                (id.into_bytes(), name.into_bytes(), len)
            });
            assert_eq!(got, want, "record {i}");
        }
        // The last record's third field ends the file; a fourth is not there.
        let last = offsets[200];
        let third = s.head(last, 3).expect("read").map(|r| r.cell(2).to_vec());
        assert_eq!(third, Some(b"c".to_vec()));
        assert!(s.head(last, 4).expect("read").is_none());
        // A line end ends the record's last field (its carriage return left out).
        let first = s.head(0, 4).expect("read").map(|r| r.cell(3).to_vec());
        assert_eq!(first, None, "a quote before the fourth field");
        let plain = s
            .head(offsets[3], 4)
            .expect("read")
            .map(|r| r.cell(3).to_vec());
        assert_eq!(plain, Some(b"x".to_vec()));
    }

    #[test]
    fn stops_at_the_range_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        std::fs::write(&path, b"a,1\nb,2\nc,3\n").expect("write");
        let mut s = Scanner::open(&path, 4, 8, 4096).expect("open");
        let mut ids = Vec::new();
        while let Some(r) = s.next(1, false).expect("read") {
            ids.push(r.cell(0).to_vec());
        }
        assert_eq!(ids, [b"b".to_vec()]);
        assert_eq!(s.position(), 8);
    }
}
