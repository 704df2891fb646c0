//! The records of a byte range of a CSV file, read in chunks.
//!
//! Lines without a double quote or a stray carriage return (nearly every line of a registry) are
//! split on commas directly; any other record is handed to `csv-core`, the tokenizer of the `csv`
//! crate that the registry reader uses, so both read the same fields. As in `csv`, a record ends at
//! `\n`, `\r` or `\r\n` outside quotes, and empty lines are skipped.

use std::fs::File;
use std::io;
use std::path::Path;

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

/// Splits a line (without its line end) on commas into `fields` (at most `split`), counting
/// the commas when `count`. Returns whether the line holds a quote or a carriage return (then
/// it is not split here) and the number of commas.
fn split_line(
    line: &[u8],
    fields: &mut Vec<(u32, u32)>,
    split: usize,
    count: bool,
) -> (bool, usize) {
    fields.clear();
    if memchr::memchr2(b'"', b'\r', line).is_some() {
        return (true, 0);
    }
    let mut from = 0u32;
    let mut commas = memchr::memchr_iter(b',', line);
    let mut n = 0usize;
    while fields.len() < split {
        match commas.next() {
            Some(c) => {
                n += 1;
                let c = c as u32;
                fields.push((from, c));
                from = c + 1;
            }
            None => {
                fields.push((from, line.len() as u32));
                return (false, n);
            }
        }
    }
    if count {
        n += commas.count();
    }
    (false, n)
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
            let (line_len, consumed) = match memchr::memchr(b'\n', avail) {
                Some(nl) => (nl, nl + 1),
                None if !self.eof => {
                    self.fill()?;
                    continue;
                }
                None => (avail.len(), avail.len()),
            };
            let line = &avail[..line_len];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // One scan finds the commas, and any quote or lone carriage return (then the
            // record goes to csv-core).
            let line_len = line.len();
            let start = self.at;
            let (special, commas) = split_line(
                &self.buf[start..start + line_len],
                &mut self.fields,
                split,
                count,
            );
            if special {
                return self.quoted(split);
            }
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
            }));
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
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
