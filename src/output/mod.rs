//! Printed outputs: plan documents, task lists, notices and reports.
pub mod credit;
pub mod doc;
pub mod notice;
pub mod plan;
pub mod publication;
pub mod report;
pub mod svg;
pub mod tasks;

/// Whether a workbook may be made: `rust_xlsxwriter` (built with its `constant_memory`
/// feature, which the task lists' constant-memory sheets need) makes a temporary file in TMPDIR for
/// each such sheet and fails without saying where, so this is checked first and said.
pub(crate) fn workbook_temp_ready() -> Result<(), String> {
    tempfile::tempfile().map(drop).map_err(|e| {
        format!("cannot make a temporary file for a workbook (check that TMPDIR is writable): {e}")
    })
}

/// A new workbook whose recorded creation date is `created` (not the time it is written), so
/// that the same records always make the same bytes; checked first with
/// [`workbook_temp_ready`]. Its parts are compressed at [`WORKBOOK_ZIP_LEVEL`].
pub(crate) fn dated_workbook(
    created: chrono::NaiveDate,
) -> Result<rust_xlsxwriter::Workbook, String> {
    use chrono::Datelike as _;
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};
    workbook_temp_ready()?;
    let created = ExcelDateTime::from_ymd(
        u16::try_from(created.year()).unwrap_or(1900),
        created.month() as u8,
        created.day() as u8,
    )
    .map_err(|e| e.to_string())?;
    let mut wb = Workbook::new();
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
    wb.set_zip_compression_level(WORKBOOK_ZIP_LEVEL);
    Ok(wb)
}

/// The deflate level of a workbook's parts: 3, the level Excel itself saves at. Against
/// `rust_xlsxwriter`'s default (6) it takes a third off the time a large task workbook takes to
/// write (at national scale, 367,435 rows in 14 workbooks: 1.3 s against 2.0 s) for files a fifth
/// larger (16.8 MB against 14.1 MB).
pub(crate) const WORKBOOK_ZIP_LEVEL: u8 = 3;

/// Whether two workbooks hold the same parts: the same names in the same order (none twice),
/// each with the same bytes once uncompressed, and the same archive comment. Two builds may pack the same parts differently (another
/// compression level, another version of the zip writer), so a workbook rebuilt from the
/// records is compared so (`regenerate`), not byte for byte. Parts are compared a block at a
/// time, never held whole.
pub(crate) fn same_workbook(a: &[u8], b: &[u8]) -> bool {
    use std::io::Cursor;
    let (Ok(mut a), Ok(mut b)) = (
        zip::ZipArchive::new(Cursor::new(a)),
        zip::ZipArchive::new(Cursor::new(b)),
    ) else {
        return false;
    };
    let plain = |z: &zip::ZipArchive<Cursor<&[u8]>>| !z.has_duplicate_names();
    plain(&a)
        && plain(&b)
        && a.len() == b.len()
        && a.comment() == b.comment()
        && (0..a.len()).all(|i| match (a.by_index(i), b.by_index(i)) {
            (Ok(x), Ok(y)) => {
                x.name_raw() == y.name_raw() && x.size() == y.size() && same_stream(x, y)
            }
            _ => false,
        })
}

/// Whether two readers give the same bytes to their ends (a read error: not the same).
fn same_stream(mut a: impl std::io::Read, mut b: impl std::io::Read) -> bool {
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let Ok(n) = read_full(&mut a, &mut x) else {
            return false;
        };
        let Ok(m) = read_full(&mut b, &mut y) else {
            return false;
        };
        if n != m || x[..n] != y[..m] {
            return false;
        }
        if n < x.len() {
            return true;
        }
    }
}

/// Reads into `buf` until it is full or the reader ends; how many bytes it read.
fn read_full(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small workbook as a task list is written, deflated at `level`, its first cell `first`.
    fn workbook(level: u8, first: &str) -> Vec<u8> {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).expect("date");
        let mut wb = dated_workbook(day).expect("workbook");
        wb.set_zip_compression_level(level);
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, first).expect("cell");
        for r in 1..200u32 {
            ws.write_string(r, 0, format!("T{r:010}")).expect("cell");
            ws.write_string(r, 1, "平邑县丰阳镇金花路").expect("cell");
        }
        wb.save_to_buffer().expect("saved")
    }

    #[test]
    fn a_workbook_is_the_same_when_its_parts_are_whatever_their_packing() {
        let book = workbook(WORKBOOK_ZIP_LEVEL, "对象编号");
        let packed_again = workbook(9, "对象编号");
        assert_ne!(book, packed_again, "packed at another level: other bytes");
        assert!(same_workbook(&book, &packed_again));
        assert!(same_workbook(&packed_again, &book));
        let one_cell = workbook(WORKBOOK_ZIP_LEVEL, "对象编码");
        assert!(!same_workbook(&book, &one_cell), "a cell changed");
        let longer = workbook(WORKBOOK_ZIP_LEVEL, "对象编号 ");
        assert!(!same_workbook(&book, &longer), "a cell one byte longer");
        assert!(!same_workbook(&book, b"not a workbook"));
        assert!(!same_workbook(&book, &book[..book.len() / 2]));
    }
}
