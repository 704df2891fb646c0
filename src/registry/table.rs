//! A registry file as rows of cells, whatever it was saved as: CSV (UTF-8, UTF-8 with BOM, GBK)
//! or a workbook (XLSX and the other formats calamine reads; first sheet).

use std::borrow::Cow;
use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader};
use chrono::NaiveDate;

use super::values::trim;

/// One cell, trimmed. Empty text is [`Cell::Empty`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    Empty,
    Text(Cow<'a, str>),
    /// A workbook date cell: the date, and the text used when the column is not a date column.
    Date(NaiveDate, String),
    /// A cell that cannot be used as it is (an Excel error value, a number Excel has rounded).
    Bad(String),
}

impl Cell<'_> {
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }
}

/// A row of cells; index 0 is the table's first column.
pub(crate) trait Row {
    fn len(&self) -> usize;
    fn cell(&self, i: usize) -> Cell<'_>;
}

struct CsvRow<'r>(&'r csv::StringRecord);

impl Row for CsvRow<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn cell(&self, i: usize) -> Cell<'_> {
        match self.0.get(i).map(trim) {
            None | Some("") => Cell::Empty,
            Some(s) => Cell::Text(Cow::Borrowed(s)),
        }
    }
}

struct SheetRow<'r>(&'r [Data]);

impl Row for SheetRow<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn cell(&self, i: usize) -> Cell<'_> {
        self.0.get(i).map_or(Cell::Empty, data_cell)
    }
}

/// Largest integer an Excel number (an f64) holds exactly.
const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0;

fn data_cell(d: &Data) -> Cell<'_> {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            let s = trim(s);
            if s.is_empty() {
                Cell::Empty
            } else if matches!(d, Data::DateTimeIso(_)) {
                // "2023-05-06T00:00:00" → "2023-05-06 00:00:00", which the date parser accepts.
                Cell::Text(Cow::Owned(s.replacen('T', " ", 1)))
            } else {
                Cell::Text(Cow::Borrowed(s))
            }
        }
        Data::Int(i) => Cell::Text(Cow::Owned(i.to_string())),
        Data::Float(f) => {
            if !f.is_finite() {
                Cell::Bad(format!("the cell holds the number {f}"))
            } else if f.abs() >= EXACT_LIMIT {
                Cell::Bad(format!(
                    "the cell holds the number {f:e}, too long for Excel to keep every digit"
                ))
            } else if f.fract() == 0.0 {
                Cell::Text(Cow::Owned(format!("{}", *f as i64)))
            } else {
                Cell::Text(Cow::Owned(f.to_string()))
            }
        }
        Data::Bool(b) => Cell::Text(Cow::Borrowed(if *b { "true" } else { "false" })),
        Data::DateTime(dt) => {
            if dt.is_duration() {
                return Cell::Text(Cow::Owned(dt.as_f64().to_string()));
            }
            let (y, m, day, h, min, s, _) = dt.to_ymd_hms_milli();
            match NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(day)) {
                Some(date) => {
                    let text = if (h, min, s) == (0, 0, 0) {
                        date.to_string()
                    } else {
                        format!("{date} {h:02}:{min:02}:{s:02}")
                    };
                    Cell::Date(date, text)
                }
                None => Cell::Bad(format!(
                    "the date cell holds an impossible date ({y}-{m}-{day})"
                )),
            }
        }
        Data::Error(e) => Cell::Bad(format!("the cell holds the Excel error {e}")),
    }
}

fn is_blank(row: &dyn Row) -> bool {
    (0..row.len()).all(|i| row.cell(i).is_empty())
}

/// A problem with the file as a whole: the message, the line (if known), and help.
#[derive(Debug)]
pub(crate) struct FileProblem {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub help: Vec<String>,
}

impl FileProblem {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        FileProblem {
            message: message.into(),
            line: None,
            column: None,
            help: vec![help.into()],
        }
    }
}

const SAVE_AS_UTF8: &str =
    "in Excel choose 另存为 → \"CSV UTF-8(逗号分隔)\"; in an editor save the file as UTF-8";

/// A registry file, decoded.
pub(crate) enum Table<'a> {
    Csv(Cow<'a, str>),
    Sheet(calamine::Range<Data>),
}

impl<'a> Table<'a> {
    /// Decodes `bytes`: a workbook (by content or extension), else CSV text — UTF-8 after a BOM,
    /// valid UTF-8, otherwise GBK (as Excel on Chinese Windows saves "CSV (逗号分隔)").
    pub(crate) fn open(bytes: &'a [u8], path: &Path) -> Result<Table<'a>, FileProblem> {
        if is_workbook(bytes, path) {
            return open_workbook(bytes);
        }
        decode_text(bytes).map(Table::Csv)
    }

    /// At least the number of rows (a CSV's line count), to size vectors once.
    pub(crate) fn row_estimate(&self) -> usize {
        match self {
            Table::Csv(text) => text.bytes().filter(|&b| b == b'\n').count() + 1,
            Table::Sheet(range) => range.height(),
        }
    }

    /// 1-based column number of cell index `i`.
    pub(crate) fn column(&self, i: usize) -> usize {
        let first = match self {
            Table::Csv(_) => 0,
            Table::Sheet(range) => range.start().map_or(0, |(_, c)| c as usize),
        };
        first + i + 1
    }

    /// The first `n` non-blank rows as (line, cell texts), for finding the header row.
    pub(crate) fn head(&self, n: usize) -> Result<Vec<(usize, Vec<String>)>, FileProblem> {
        let mut head = Vec::new();
        self.for_each_row(0, &mut |line, row| {
            let cells = (0..row.len())
                .map(|i| match row.cell(i) {
                    Cell::Empty | Cell::Bad(_) => String::new(),
                    Cell::Text(t) => t.into_owned(),
                    Cell::Date(_, t) => t,
                })
                .collect();
            head.push((line, cells));
            head.len() < n
        })?;
        Ok(head)
    }

    /// Calls `f(line, row)` for every non-blank row after line `after`, until `f` returns false.
    pub(crate) fn for_each_row(
        &self,
        after: usize,
        f: &mut dyn FnMut(usize, &dyn Row) -> bool,
    ) -> Result<(), FileProblem> {
        match self {
            Table::Csv(text) => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(text.as_bytes());
                let mut record = csv::StringRecord::new();
                loop {
                    match reader.read_record(&mut record) {
                        Ok(false) => return Ok(()),
                        Ok(true) => {}
                        Err(e) => {
                            let line = e.position().map(|p| p.line() as usize);
                            return Err(FileProblem {
                                line,
                                ..FileProblem::new(
                                    format!("cannot read the CSV: {e}"),
                                    SAVE_AS_UTF8,
                                )
                            });
                        }
                    }
                    let line = record_line(text.as_bytes(), &record);
                    let row = CsvRow(&record);
                    if line <= after || is_blank(&row) {
                        continue;
                    }
                    if !f(line, &row) {
                        return Ok(());
                    }
                }
            }
            Table::Sheet(range) => {
                let first = range.start().map_or(0, |(r, _)| r as usize);
                for (i, cells) in range.rows().enumerate() {
                    let line = first + i + 1;
                    let row = SheetRow(cells);
                    if line <= after || is_blank(&row) {
                        continue;
                    }
                    if !f(line, &row) {
                        break;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The line a CSV record starts on. The reader's position is taken before it skips blank lines
/// (and may sit between the `\r` and `\n` of the previous line end), so count those here.
fn record_line(bytes: &[u8], record: &csv::StringRecord) -> usize {
    let Some(p) = record.position() else {
        return 0;
    };
    let start = usize::try_from(p.byte()).unwrap_or(usize::MAX);
    let skipped = bytes
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .filter(|&&b| b == b'\n')
        .count();
    p.line() as usize + skipped
}

fn is_workbook(bytes: &[u8], path: &Path) -> bool {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    bytes.starts_with(ZIP)
        || bytes.starts_with(OLE)
        || matches!(
            ext.as_deref(),
            Some("xlsx" | "xlsm" | "xlsb" | "xls" | "ods")
        )
}

fn open_workbook(bytes: &[u8]) -> Result<Table<'_>, FileProblem> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
        FileProblem::new(
            format!("cannot open the workbook: {e}"),
            "open it in Excel and save it again as .xlsx, or save it as CSV UTF-8",
        )
    })?;
    match book.worksheet_range_at(0) {
        Some(Ok(range)) => Ok(Table::Sheet(range)),
        Some(Err(e)) => Err(FileProblem::new(
            format!("cannot read the first sheet: {e}"),
            "open it in Excel and save it again as .xlsx, or save it as CSV UTF-8",
        )),
        None => Err(FileProblem::new(
            "the workbook has no sheets",
            "put the registry on the first sheet",
        )),
    }
}

fn decode_text(bytes: &[u8]) -> Result<Cow<'_, str>, FileProblem> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(FileProblem::new(
            "the file is UTF-16 (Excel's \"Unicode 文本\"), which is not read",
            SAVE_AS_UTF8,
        ));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return match std::str::from_utf8(rest) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(e) => Err(bad_bytes(
                "the file starts with a UTF-8 byte order mark, but the bytes here are not UTF-8",
                rest,
                e.valid_up_to(),
                String::from_utf8_lossy(&rest[..e.valid_up_to()]).as_ref(),
            )),
        };
    }
    let utf8_up_to = match std::str::from_utf8(bytes) {
        Ok(s) => return Ok(Cow::Borrowed(s)),
        Err(e) => e.valid_up_to(),
    };
    if let Some(s) = encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(bytes) {
        return Ok(s);
    }
    // Text that is UTF-8 (with Chinese in it) up to a bad byte is a UTF-8 file with a bad
    // byte: point at that byte, not at where reading it as GBK first fails.
    if !bytes[..utf8_up_to].is_ascii() {
        return Err(bad_bytes(
            "the file is UTF-8 text up to here, but the bytes here are not UTF-8",
            bytes,
            utf8_up_to,
            String::from_utf8_lossy(&bytes[..utf8_up_to]).as_ref(),
        ));
    }
    // Find where GBK decoding fails, to point at the line.
    let mut decoder = encoding_rs::GBK.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(
        decoder
            .max_utf8_buffer_length(bytes.len())
            .unwrap_or(bytes.len() * 3),
    );
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    let at = match result {
        encoding_rs::DecoderResult::Malformed(bad, after) => {
            read.saturating_sub(usize::from(bad) + usize::from(after))
        }
        _ => read,
    };
    Err(bad_bytes(
        "the file is neither UTF-8 nor GBK text: the bytes here are valid in neither",
        bytes,
        at,
        &out,
    ))
}

/// A decoding failure at byte `at` of `bytes`; `decoded` is the text before it.
fn bad_bytes(message: &str, bytes: &[u8], at: usize, decoded: &str) -> FileProblem {
    let line = bytes[..at.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    let column = decoded.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    FileProblem {
        line: Some(line),
        column: Some(column),
        ..FileProblem::new(message, SAVE_AS_UTF8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(t: &Table<'_>) -> Vec<(usize, Vec<String>)> {
        t.head(100).unwrap_or_default()
    }

    #[test]
    fn csv_skips_blank_rows_and_keeps_line_numbers() {
        let text = "a,b\n\n1,\"x\ny\"\n,\n2,z\n";
        let crlf = "a,b\r\n\r\n1,2\r\n\r\n\r\n3,4";
        let Ok(t) = Table::open(crlf.as_bytes(), Path::new("t.csv")) else {
            panic!("open failed")
        };
        let lines: Vec<usize> = rows(&t).iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 3, 6]);
        let t = Table::open(text.as_bytes(), Path::new("t.csv")).map_err(|p| p.message);
        let Ok(t) = t else { panic!("open failed") };
        let r = rows(&t);
        assert_eq!(
            r,
            vec![
                (1, vec!["a".into(), "b".into()]),
                (3, vec!["1".into(), "x\ny".into()]),
                (6, vec!["2".into(), "z".into()]),
            ]
        );
    }

    #[test]
    fn gbk_and_bom_and_garbage() {
        let (gbk, _, _) = encoding_rs::GBK.encode("名称\n宾馆\n");
        let Ok(Table::Csv(s)) = Table::open(&gbk, Path::new("t.csv")) else {
            panic!("gbk")
        };
        assert_eq!(s, "名称\n宾馆\n");
        let bom = [&[0xEF, 0xBB, 0xBF][..], "名称\n".as_bytes()].concat();
        let Ok(Table::Csv(s)) = Table::open(&bom, Path::new("t.csv")) else {
            panic!("bom")
        };
        assert_eq!(s, "名称\n");
        let bad = [&b"ab\ncd"[..], &[0x81, 0x20], &b"\n"[..]].concat();
        match Table::open(&bad, Path::new("t.csv")) {
            Err(p) => {
                assert_eq!((p.line, p.column), (Some(2), Some(3)), "{}", p.message);
            }
            Ok(_) => panic!("garbage decoded"),
        }
        assert!(Table::open(&[0xFF, 0xFE, 0x41, 0x00], Path::new("t.csv")).is_err());
    }

    #[test]
    fn excel_numbers() {
        assert_eq!(
            data_cell(&Data::Float(42.0)),
            Cell::Text(Cow::Borrowed("42"))
        );
        assert_eq!(
            data_cell(&Data::Float(2.5)),
            Cell::Text(Cow::Borrowed("2.5"))
        );
        assert!(matches!(data_cell(&Data::Float(9.137e17)), Cell::Bad(_)));
        assert_eq!(data_cell(&Data::String("  ".into())), Cell::Empty);
    }
}
