//! The canonical form of a registry: what snapshots archive and hash.
//!
//! UTF-8 CSV without BOM, `\n` line ends, quotes only where needed, English headers in a fixed
//! order. Targets: the fixed columns, then one column per `extra` key (sorted; a target without
//! the key has an empty cell). Inspectors: the fixed columns, then one column per `extra` key
//! (sorted), as targets — an inspector registry without other columns has exactly the fixed
//! header, as before inspectors kept them. Booleans are `true`/`false`, statuses `active`/`deregistered`,
//! dates `YYYY-MM-DD`, lists joined with `;`. Absent optional values are empty cells.
//!
//! Readers never produce empty optional values (`Some("")`), empty extra values or list items
//! containing a separator, so every registry they return round-trips exactly.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::types::{Inspector, Target, TargetStatus};

const TARGET_HEADER: [&str; 11] = [
    "id",
    "name",
    "category",
    "district",
    "address",
    "key_area",
    "class",
    "licence",
    "status",
    "last_inspected",
    "last_result",
];

const INSPECTOR_HEADER: [&str; 8] = [
    "id",
    "name",
    "department",
    "certificate",
    "qualifications",
    "active",
    "area",
    "conflicts",
];

fn writer() -> csv::Writer<Vec<u8>> {
    canonical_writer(Vec::new())
}

fn finish(mut w: csv::Writer<Vec<u8>>, result: csv::Result<()>) -> Vec<u8> {
    // Writing to a Vec cannot fail; an error here would be a bug, so keep what was written.
    let _ = result.and_then(|()| w.flush().map_err(csv::Error::from));
    w.into_inner()
        .unwrap_or_else(|e| e.into_inner().get_ref().clone())
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// Canonical CSV of targets, in the order given (a registry from `load` is sorted by id).
pub fn canonical_targets_csv(targets: &[Target]) -> Vec<u8> {
    let extra_keys: BTreeSet<&str> = targets
        .iter()
        .flat_map(|t| t.extra.keys().map(String::as_str))
        .collect();
    let keys: Vec<&str> = extra_keys.into_iter().collect();
    let mut w = writer();
    let result = (|| -> csv::Result<()> {
        write_target_header(&mut w, &keys)?;
        for t in targets {
            write_target(&mut w, t, &keys)?;
        }
        Ok(())
    })();
    finish(w, result)
}

/// A canonical writer over any output (see [`canonical_targets_csv`]).
pub(crate) fn canonical_writer<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out)
}

/// The canonical header of targets with these extra keys (sorted).
pub(crate) fn write_target_header<W: std::io::Write>(
    w: &mut csv::Writer<W>,
    extra_keys: &[&str],
) -> csv::Result<()> {
    w.write_record(TARGET_HEADER.iter().chain(extra_keys.iter()))
}

/// One target as its canonical record, with a cell for each of `extra_keys` (sorted).
pub(crate) fn write_target<W: std::io::Write>(
    w: &mut csv::Writer<W>,
    t: &Target,
    extra_keys: &[&str],
) -> csv::Result<()> {
    let date = t
        .last_inspected
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let status = match t.status {
        TargetStatus::Active => "active",
        TargetStatus::Deregistered => "deregistered",
    };
    let fixed = [
        t.id.as_str(),
        &t.name,
        &t.category,
        &t.district,
        &t.address,
        bool_text(t.key_area),
        t.class.as_deref().unwrap_or(""),
        t.licence.as_deref().unwrap_or(""),
        status,
        &date,
        t.last_result.as_deref().unwrap_or(""),
    ];
    let extras = extra_keys
        .iter()
        .map(|k| t.extra.get(*k).map_or("", String::as_str));
    w.write_record(fixed.into_iter().chain(extras))
}

/// A target's canonical cells, borrowed: what [`write_target`] writes of it, for writing a line
/// straight into a buffer ([`push_target_line`]) without making the target.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineCells<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub category: &'a str,
    pub district: &'a str,
    pub address: &'a str,
    pub key_area: bool,
    /// Empty when absent.
    pub class: &'a str,
    pub licence: &'a str,
    pub status: TargetStatus,
    pub last_inspected: Option<NaiveDate>,
    pub last_result: &'a str,
}

impl<'a> LineCells<'a> {
    pub(crate) fn of(t: &'a Target) -> LineCells<'a> {
        LineCells {
            id: &t.id,
            name: &t.name,
            category: &t.category,
            district: &t.district,
            address: &t.address,
            key_area: t.key_area,
            class: t.class.as_deref().unwrap_or(""),
            licence: t.licence.as_deref().unwrap_or(""),
            status: t.status,
            last_inspected: t.last_inspected,
            last_result: t.last_result.as_deref().unwrap_or(""),
        }
    }

    /// A row's cells with nothing in them (an active target's, in no key area, never
    /// inspected), to be filled in.
    pub(crate) fn blank() -> LineCells<'a> {
        LineCells {
            id: "",
            name: "",
            category: "",
            district: "",
            address: "",
            key_area: false,
            class: "",
            licence: "",
            status: TargetStatus::Active,
            last_inspected: None,
            last_result: "",
        }
    }

    /// The registry column (of [`crate::registry::read::t`]) of a field
    /// [`LineCells::public`] names; `None` for one it shows empty.
    pub(crate) fn public_column(field: &str) -> Option<usize> {
        use crate::registry::read::t;
        Some(match field {
            "id" => t::ID,
            "name" => t::NAME,
            "category" => t::CATEGORY,
            "district" => t::DISTRICT,
            "address" => t::ADDRESS,
            "licence" => t::LICENCE,
            _ => return None,
        })
    }

    /// The value of public field `field` (a name in the config's `public_fields`): `id`,
    /// `name`, `category`, `district`, `address` or `licence`; empty for any other name.
    pub(crate) fn public(&self, field: &str) -> &'a str {
        match field {
            "id" => self.id,
            "name" => self.name,
            "category" => self.category,
            "district" => self.district,
            "address" => self.address,
            "licence" => self.licence,
            _ => "",
        }
    }
}

/// Rows of text cells held in one buffer, `width` cells a row: what is read of many rows
/// without a string made for each cell.
#[derive(Debug, Default)]
pub(crate) struct CellRows {
    text: String,
    /// Where each cell ends in `text`.
    ends: Vec<usize>,
    width: usize,
}

impl CellRows {
    /// No rows yet, of `width` cells each.
    pub(crate) fn new(width: usize) -> CellRows {
        CellRows {
            width: width.max(1),
            ..CellRows::default()
        }
    }

    /// No rows yet, of `width` cells each, with room for `rows` rows of `bytes` bytes in all.
    pub(crate) fn with_capacity(width: usize, rows: usize, bytes: usize) -> CellRows {
        let width = width.max(1);
        CellRows {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(rows * width),
            width,
        }
    }

    /// No rows, the room kept.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Appends the next cell (the rows are filled cell by cell, row by row).
    pub(crate) fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    /// Appends a row of a target's id and its public fields `fields`.
    pub(crate) fn push_public(&mut self, c: &LineCells<'_>, fields: &[impl AsRef<str>]) {
        self.push(c.id);
        for f in fields {
            self.push(c.public(f.as_ref()));
        }
    }

    /// The bytes of text the cells hold in all.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The number of whole rows.
    pub(crate) fn len(&self) -> usize {
        self.ends.len() / self.width
    }

    /// Writes the cells to `out`, each as its length in bytes (four, little-endian) and its
    /// text, row after row: what [`CellRows::read_from`] reads back, also after several such
    /// writes one after another.
    pub(crate) fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut start = 0;
        for &end in &self.ends {
            let cell = self.text.as_bytes().get(start..end).unwrap_or_default();
            let len = u32::try_from(cell.len()).map_err(std::io::Error::other)?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(cell)?;
            start = end;
        }
        Ok(())
    }

    /// Rows of `width` cells read from what [`CellRows::write_to`] wrote, to its end; a cell
    /// cut short, not UTF-8, or a last row not whole is an error.
    /// Room is made for `bytes` bytes of text at once.
    pub(crate) fn read_from(
        width: usize,
        mut from: impl std::io::Read,
        bytes: usize,
    ) -> std::io::Result<CellRows> {
        use std::io::{Error, ErrorKind, Read as _};
        let mut rows = CellRows::with_capacity(width, 0, bytes);
        let mut cell = Vec::new();
        loop {
            let mut len = [0u8; 4];
            let mut got = 0;
            while got < len.len() {
                match from.read(&mut len[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            match got {
                0 => break,
                4 => {}
                _ => return Err(Error::new(ErrorKind::UnexpectedEof, "a length cut short")),
            }
            cell.clear();
            let len = u64::from(u32::from_le_bytes(len));
            (&mut from).take(len).read_to_end(&mut cell)?;
            if cell.len() as u64 != len {
                return Err(Error::new(ErrorKind::UnexpectedEof, "a cell cut short"));
            }
            let text =
                std::str::from_utf8(&cell).map_err(|e| Error::new(ErrorKind::InvalidData, e))?;
            rows.push(text);
        }
        if !rows.ends.len().is_multiple_of(rows.width) {
            return Err(Error::new(ErrorKind::UnexpectedEof, "a row cut short"));
        }
        Ok(rows)
    }

    /// Cell `j` of row `i` (empty past the end).
    pub(crate) fn cell(&self, i: usize, j: usize) -> &str {
        let at = i * self.width + j;
        let start = match at.checked_sub(1) {
            Some(before) => self.ends.get(before).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(at).copied().unwrap_or(start);
        self.text.get(start..end).unwrap_or("")
    }
}

/// Appends one cell as the canonical writer writes it: quoted (quotes doubled) when it holds a
/// comma, a quote or a line end, as is otherwise.
#[inline]
pub(crate) fn push_cell(out: &mut Vec<u8>, cell: &[u8]) {
    let special =
        memchr::memchr3(b',', b'"', b'\n', cell).is_some() || memchr::memchr(b'\r', cell).is_some();
    if !special {
        out.extend_from_slice(cell);
        return;
    }
    out.push(b'"');
    for part in cell.split_inclusive(|&b| b == b'"') {
        out.extend_from_slice(part);
        if part.last() == Some(&b'"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

/// A date as `YYYY-MM-DD`.
fn push_date(out: &mut Vec<u8>, d: NaiveDate) {
    use chrono::Datelike;
    match u32::try_from(d.year()) {
        Ok(y) if y <= 9999 => {
            let digits = [
                y / 1000,
                y / 100 % 10,
                y / 10 % 10,
                y % 10,
                10,
                d.month() / 10,
                d.month() % 10,
                10,
                d.day() / 10,
                d.day() % 10,
            ];
            out.extend(digits.map(|n| if n == 10 { b'-' } else { b'0' + n as u8 }));
        }
        _ => out.extend_from_slice(d.format("%Y-%m-%d").to_string().as_bytes()),
    }
}

/// One target's canonical record, the bytes [`write_target`] writes for it, appended to `out`:
/// its cells, then one per extra key (the values in the keys' order, empty where it has none).
/// `quoted`: whether a cell may hold a comma, a quote or a line end (false only for cells
/// known to hold none, which are then copied as they are).
pub(crate) fn push_target_line<'e>(
    out: &mut Vec<u8>,
    c: &LineCells<'_>,
    extras: impl Iterator<Item = &'e str>,
    quoted: bool,
) {
    let push_cell = |out: &mut Vec<u8>, cell: &[u8]| {
        if quoted {
            push_cell(out, cell);
        } else {
            out.extend_from_slice(cell);
        }
    };
    for (i, cell) in [c.id, c.name, c.category, c.district, c.address]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push(b',');
        }
        push_cell(out, cell.as_bytes());
    }
    out.push(b',');
    out.extend_from_slice(bool_text(c.key_area).as_bytes());
    for cell in [c.class, c.licence] {
        out.push(b',');
        push_cell(out, cell.as_bytes());
    }
    out.extend_from_slice(match c.status {
        TargetStatus::Active => b",active,",
        TargetStatus::Deregistered => b",deregistered,",
    });
    if let Some(d) = c.last_inspected {
        push_date(out, d);
    }
    out.push(b',');
    push_cell(out, c.last_result.as_bytes());
    for cell in extras {
        out.push(b',');
        push_cell(out, cell.as_bytes());
    }
    out.push(b'\n');
}

/// Canonical CSV of inspectors, in the order given (a registry from `load` is sorted by id).
pub fn canonical_inspectors_csv(inspectors: &[Inspector]) -> Vec<u8> {
    let keys: BTreeSet<&str> = inspectors
        .iter()
        .flat_map(|i| i.extra.keys().map(String::as_str))
        .collect();
    let mut w = writer();
    let result = (|| -> csv::Result<()> {
        w.write_record(INSPECTOR_HEADER.iter().chain(keys.iter()))?;
        for i in inspectors {
            let quals = i.qualifications.join(";");
            let conflicts = i.conflicts.join(";");
            let fixed = [
                i.id.as_str(),
                &i.name,
                &i.department,
                &i.certificate,
                &quals,
                bool_text(i.active),
                &i.area,
                &conflicts,
            ];
            let extra = keys
                .iter()
                .map(|k| i.extra.get(*k).map_or("", String::as_str));
            w.write_record(fixed.into_iter().chain(extra))?;
        }
        Ok(())
    })();
    finish(w, result)
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// Data rows with their line numbers.
type Records = Vec<(u64, csv::StringRecord)>;

/// Reads records, checking the header starts with `fixed` and every row has the header's width.
fn records(bytes: &[u8], fixed: &[&str]) -> Result<(Vec<String>, Records), String> {
    let mut r = reader(bytes);
    let mut rows = r.records();
    let header = match rows.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(format!("line 1: {e}")),
        None => return Err("empty: no header line".into()),
    };
    let header: Vec<String> = header.iter().map(str::to_string).collect();
    if header.len() < fixed.len() || header[..fixed.len()] != *fixed {
        return Err(format!(
            "line 1: header is `{}`, expected it to start with `{}`",
            header.join(","),
            fixed.join(",")
        ));
    }
    let mut out = Vec::new();
    for rec in rows {
        let rec = rec.map_err(|e| e.to_string())?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != header.len() {
            return Err(format!(
                "line {line}: {} fields, expected {}",
                rec.len(),
                header.len()
            ));
        }
        out.push((line, rec));
    }
    Ok((header, out))
}

fn parse_bool(line: u64, s: &str) -> Result<bool, String> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("line {line}: expected true or false, found `{s}`")),
    }
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn list(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(';').map(str::to_string).collect()
    }
}

/// Reads [`canonical_targets_csv`] output back.
pub fn parse_canonical_targets(bytes: &[u8]) -> Result<Vec<Target>, String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rec = csv::StringRecord::new();
    let header = match r.read_record(&mut rec) {
        Ok(true) => target_header(&rec)?,
        Ok(false) => return Err("empty: no header line".into()),
        Err(e) => return Err(format!("line 1: {e}")),
    };
    let extra_keys = &header[TARGET_HEADER.len()..];
    let mut targets = Vec::new();
    loop {
        match r.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(e.to_string()),
        }
        let line = rec.position().map_or(0, |p| p.line());
        check_width(line, rec.len(), header.len())?;
        targets.push(target_of(line, &rec, extra_keys)?);
    }
    Ok(targets)
}

/// The header of a canonical target file, checked to start with the fixed columns.
fn target_header(rec: &csv::StringRecord) -> Result<Vec<String>, String> {
    let header: Vec<String> = rec.iter().map(str::to_string).collect();
    if header.len() < TARGET_HEADER.len() || header[..TARGET_HEADER.len()] != TARGET_HEADER {
        return Err(format!(
            "line 1: header is `{}`, expected it to start with `{}`",
            header.join(","),
            TARGET_HEADER.join(",")
        ));
    }
    Ok(header)
}

fn check_width(line: u64, width: usize, header: usize) -> Result<(), String> {
    if width == header {
        Ok(())
    } else {
        Err(format!("line {line}: {width} fields, expected {header}"))
    }
}

/// Reads the targets of [`canonical_targets_csv`] output whose id `keep` accepts, a row at a
/// time: what it holds is the rows kept, not the snapshot (a national one runs to gigabytes).
///
/// Rows are told apart by their line ends outside quotes (a quote opens or closes a quoted
/// cell; a doubled one inside it opens and closes at once), and a row's id is its first cell:
/// only the rows kept are parsed as CSV, so a pass for a few rows costs little more than
/// reading the bytes.
pub fn read_canonical_targets<R: std::io::Read>(
    read: R,
    keep: impl FnMut(&str) -> bool,
) -> Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    each_canonical_target(read, keep, |t| targets.push(t))?;
    Ok(targets)
}

/// [`read_canonical_targets`], each target kept given to `each` as it is read.
pub fn each_canonical_target<R: std::io::Read>(
    mut read: R,
    mut keep: impl FnMut(&str) -> bool,
    mut each: impl FnMut(Target),
) -> Result<(), String> {
    let mut rows = Rows::default();
    let mut header: Option<Vec<String>> = None;
    let mut chunk = vec![0u8; 1 << 20];
    let mut take = |line: u64, row: &[u8]| -> Result<(), String> {
        let Some(header) = &header else {
            let rec = one_record(line, row)?.unwrap_or_default();
            header = Some(target_header(&rec)?);
            return Ok(());
        };
        // The id is read in place unless quoted.
        let id: std::borrow::Cow<'_, str> = match row.first() {
            Some(b'"') => one_record(line, row)?
                .and_then(|r| r.get(0).map(str::to_string))
                .unwrap_or_default()
                .into(),
            _ => {
                let end = memchr::memchr(b',', row).unwrap_or(row.len());
                std::str::from_utf8(&row[..end])
                    .map_err(|e| format!("line {line}: {e}"))?
                    .into()
            }
        };
        if keep(&id) {
            let rec = one_record(line, row)?.unwrap_or_default();
            check_width(line, rec.len(), header.len())?;
            each(target_of(line, &rec, &header[TARGET_HEADER.len()..])?);
        }
        Ok(())
    };
    loop {
        let n = match read.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.to_string()),
        };
        if n == 0 {
            break;
        }
        rows.split(&chunk[..n], &mut take)?;
    }
    rows.finish(&mut take)?;
    if header.is_none() {
        return Err("empty: no header line".into());
    }
    Ok(())
}

/// The one CSV record of `row` (`None` for an empty row): a row without quotes is its cells
/// between commas; any other is read as CSV.
fn one_record(line: u64, row: &[u8]) -> Result<Option<csv::StringRecord>, String> {
    if row.is_empty() {
        return Ok(None);
    }
    if memchr::memchr(b'"', row).is_none() {
        let text = std::str::from_utf8(row).map_err(|e| format!("line {line}: {e}"))?;
        return Ok(Some(text.split(',').collect()));
    }
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(row.len().max(64))
        .from_reader(row);
    let mut rec = csv::StringRecord::new();
    match r.read_record(&mut rec) {
        Ok(true) => Ok(Some(rec)),
        Ok(false) => Ok(None),
        Err(e) => Err(format!("line {line}: {e}")),
    }
}

/// CSV bytes given a piece at a time, split into rows at the line ends outside quotes.
#[derive(Default)]
struct Rows {
    /// The row begun in an earlier piece.
    pending: Vec<u8>,
    quoted: bool,
    /// Lines before the row begun.
    lines: u64,
    /// Line ends inside the quotes of the row begun.
    inside: u64,
}

impl Rows {
    fn split(
        &mut self,
        piece: &[u8],
        take: &mut impl FnMut(u64, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut start = 0;
        for at in memchr::memchr2_iter(b'"', b'\n', piece) {
            if piece[at] == b'"' {
                self.quoted = !self.quoted;
                continue;
            }
            if self.quoted {
                self.inside += 1;
                continue;
            }
            let line = self.lines + 1;
            if self.pending.is_empty() {
                self.row(line, &piece[start..at], take)?;
            } else {
                let mut row = std::mem::take(&mut self.pending);
                row.extend_from_slice(&piece[start..at]);
                self.row(line, &row, take)?;
            }
            self.lines += 1 + self.inside;
            self.inside = 0;
            start = at + 1;
        }
        self.pending.extend_from_slice(&piece[start..]);
        Ok(())
    }

    fn row(
        &self,
        line: u64,
        row: &[u8],
        take: &mut impl FnMut(u64, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        let row = row.strip_suffix(b"\r").unwrap_or(row);
        if row.is_empty() {
            return Ok(());
        }
        take(line, row)
    }

    /// The last row, when the bytes do not end with a line end.
    fn finish(
        &mut self,
        take: &mut impl FnMut(u64, &[u8]) -> Result<(), String>,
    ) -> Result<(), String> {
        if self.quoted {
            return Err(format!(
                "line {}: a quoted cell is not closed",
                self.lines + 1
            ));
        }
        let row = std::mem::take(&mut self.pending);
        self.row(self.lines + 1, &row, take)
    }
}

/// The target of a canonical row (`line` for errors), its extra cells named by `extra_keys`.
fn target_of(line: u64, r: &csv::StringRecord, extra_keys: &[String]) -> Result<Target, String> {
    let f = |i: usize| r.get(i).unwrap_or("");
    let status = match f(8) {
        "active" => TargetStatus::Active,
        "deregistered" => TargetStatus::Deregistered,
        s => return Err(format!("line {line}: unknown status `{s}`")),
    };
    let last_inspected = match f(9) {
        "" => None,
        s => Some(
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|e| format!("line {line}: date `{s}`: {e}"))?,
        ),
    };
    let extra: BTreeMap<String, String> = extra_keys
        .iter()
        .enumerate()
        .filter_map(|(k, key)| {
            let v = f(TARGET_HEADER.len() + k);
            (!v.is_empty()).then(|| (key.clone(), v.to_string()))
        })
        .collect();
    Ok(Target {
        id: f(0).to_string(),
        name: f(1).to_string(),
        category: f(2).to_string(),
        district: f(3).to_string(),
        address: f(4).to_string(),
        key_area: parse_bool(line, f(5))?,
        class: opt(f(6)),
        licence: opt(f(7)),
        status,
        last_inspected,
        last_result: opt(f(10)),
        extra,
    })
}

/// Reads [`canonical_inspectors_csv`] output back.
pub fn parse_canonical_inspectors(bytes: &[u8]) -> Result<Vec<Inspector>, String> {
    let (header, rows) = records(bytes, &INSPECTOR_HEADER)?;
    let extra_keys = &header[INSPECTOR_HEADER.len()..];
    let mut inspectors = Vec::with_capacity(rows.len());
    for (line, r) in rows {
        let f = |i: usize| r.get(i).unwrap_or("");
        inspectors.push(Inspector {
            id: f(0).to_string(),
            name: f(1).to_string(),
            department: f(2).to_string(),
            certificate: f(3).to_string(),
            qualifications: list(f(4)),
            active: parse_bool(line, f(5))?,
            area: f(6).to_string(),
            conflicts: list(f(7)),
            extra: extra_keys
                .iter()
                .enumerate()
                .map(|(k, key)| (key.clone(), f(INSPECTOR_HEADER.len() + k).to_string()))
                .collect(),
        });
    }
    Ok(inspectors)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::{CellRows, LineCells, canonical_writer, push_target_line, write_target};
    use crate::registry::types::{Target, TargetStatus};

    /// Cells written in batches read back as the rows written, empty cells and every
    /// character kept; a file cut anywhere, or bytes that are not UTF-8, read as an error.
    #[test]
    fn cells_written_in_batches_read_back_whole() {
        let mut out = Vec::new();
        let mut batch = CellRows::new(3);
        let rows = [
            ["T1", "丰阳\"宾馆\"", ""],
            ["T2", "a,b\n\r\u{0}", "𝄞"],
            ["T3", "", "x"],
        ];
        for chunk in rows.chunks(2) {
            batch.clear();
            for row in chunk {
                for cell in row {
                    batch.push(cell);
                }
            }
            batch.write_to(&mut out).expect("written to memory");
        }
        let back = CellRows::read_from(3, out.as_slice(), 0).expect("read back");
        assert_eq!(back.len(), rows.len());
        for (i, row) in rows.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                assert_eq!(back.cell(i, j), *cell);
            }
        }
        // Where each row's bytes end: a cut there reads as the rows before it, anywhere else
        // as an error.
        let mut ends = Vec::new();
        let mut at = 0;
        for row in &rows {
            at += row.iter().map(|c| 4 + c.len()).sum::<usize>();
            ends.push(at);
        }
        for cut in 1..out.len() {
            let read = CellRows::read_from(3, out.get(..cut).unwrap_or_default(), 0);
            match ends.iter().position(|&e| e == cut) {
                Some(i) => assert_eq!(read.map(|r| r.len()).ok(), Some(i + 1)),
                None => assert!(read.is_err(), "cut at {cut} read as whole rows"),
            }
        }
        let mut bad = 2u32.to_le_bytes().to_vec();
        bad.extend_from_slice(&[0xff, 0xfe]);
        assert!(CellRows::read_from(1, bad.as_slice(), 0).is_err());
    }

    /// A reader that gives at most `n` bytes at a time.
    struct Trickle<'a>(&'a [u8], usize);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// Targets read a few at a time, told apart by their line ends outside quotes, are the
    /// targets parsed whole, however the bytes arrive and whatever their cells hold; a file
    /// cut inside a quoted cell is an error.
    #[test]
    fn targets_kept_from_a_stream_are_the_targets_parsed_whole() {
        let awkward = [
            "a,b",
            "say \"hi\"",
            "line\nbreak",
            "cr\rhere",
            "\"",
            "平安\r\n",
        ];
        let mut targets = Vec::new();
        for (i, cell) in awkward.iter().enumerate() {
            let mut extra = std::collections::BTreeMap::new();
            extra.insert("备注".to_string(), (*cell).to_string());
            targets.push(Target {
                id: if i == 2 {
                    format!("T,{i}")
                } else {
                    format!("T{i}")
                },
                name: (*cell).to_string(),
                category: "hotel".into(),
                district: "丰阳镇".into(),
                address: format!("{cell}路{i}号"),
                key_area: i % 2 == 0,
                class: Some("B".into()),
                licence: None,
                status: TargetStatus::Active,
                last_inspected: NaiveDate::from_ymd_opt(2023, 5, 6),
                last_result: Some((*cell).to_string()),
                extra,
            });
        }
        let bytes = super::canonical_targets_csv(&targets);
        let whole = super::parse_canonical_targets(&bytes).expect("parsed whole");
        assert_eq!(whole, targets);
        for n in [1, 2, 3, 7, 64, 1 << 20] {
            let all = super::read_canonical_targets(Trickle(&bytes, n), |_| true);
            assert_eq!(all.as_ref(), Ok(&targets), "{n} bytes at a time");
            let some =
                super::read_canonical_targets(Trickle(&bytes, n), |id| id == "T,2" || id == "T5")
                    .expect("read");
            let ids: Vec<&str> = some.iter().map(|t| t.id.as_str()).collect();
            assert_eq!(ids, ["T,2", "T5"], "{n} bytes at a time");
        }
        let cut = bytes
            .windows(5)
            .position(|w| w == b"\"line")
            .expect("a quoted cell");
        let read = super::read_canonical_targets(&bytes[..cut + 3], |_| true);
        assert!(read.is_err(), "{read:?}");
        assert!(super::read_canonical_targets(&b""[..], |_| true).is_err());
    }

    /// The bytes the csv writer writes for `t`.
    fn by_writer(t: &Target, keys: &[&str]) -> Vec<u8> {
        let mut w = canonical_writer(Vec::new());
        write_target(&mut w, t, keys).expect("write");
        w.into_inner().expect("flush")
    }

    #[test]
    fn a_line_pushed_is_the_line_the_csv_writer_writes() {
        let cells = [
            "",
            "x",
            "平安大酒店",
            "a,b",
            "say \"hi\"",
            "\"",
            "\"\"",
            "line\nbreak",
            "cr\rhere",
            " spaced ",
            "tab\there",
            ",",
            "a\r\n",
            "\u{3000}全角",
        ];
        let dates = [
            None,
            NaiveDate::from_ymd_opt(2023, 5, 6),
            NaiveDate::from_ymd_opt(0, 1, 1),
            NaiveDate::from_ymd_opt(999, 12, 31),
            NaiveDate::from_ymd_opt(9999, 12, 31),
            NaiveDate::from_ymd_opt(10_000, 1, 1),
            NaiveDate::from_ymd_opt(-5, 3, 4),
        ];
        let keys = ["法定代表人", "备注"];
        for (i, &a) in cells.iter().enumerate() {
            for (j, &b) in cells.iter().enumerate() {
                let pick = |k: usize| cells[(i * 7 + j * 3 + k) % cells.len()].to_string();
                let mut extra = std::collections::BTreeMap::new();
                if !b.is_empty() {
                    extra.insert("备注".to_string(), b.to_string());
                }
                let t = Target {
                    id: a.to_string(),
                    name: b.to_string(),
                    category: pick(1),
                    district: pick(2),
                    address: pick(3),
                    key_area: (i + j) % 2 == 0,
                    class: Some(pick(4)).filter(|s| !s.is_empty()),
                    licence: Some(pick(5)).filter(|s| !s.is_empty()),
                    status: if j % 3 == 0 {
                        TargetStatus::Deregistered
                    } else {
                        TargetStatus::Active
                    },
                    last_inspected: dates[(i + j) % dates.len()],
                    last_result: Some(a.to_string()).filter(|s| !s.is_empty()),
                    extra,
                };
                let mut pushed = Vec::new();
                let extras = keys
                    .iter()
                    .map(|k| t.extra.get(*k).map_or("", String::as_str));
                push_target_line(&mut pushed, &LineCells::of(&t), extras, true);
                assert_eq!(pushed, by_writer(&t, &keys), "{t:?}");
            }
        }
    }
}
