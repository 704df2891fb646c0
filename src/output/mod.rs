//! Printed outputs: plan documents, task lists, notices and reports.
pub mod credit;
pub mod doc;
pub mod notice;
pub mod pager;
pub mod plan;
pub mod publication;
pub mod report;
pub mod svg;
pub mod tasks;

/// Whether a workbook may be made: `rust_xlsxwriter` (built with its `constant_memory`
/// feature, which the task lists' constant-memory sheets need) makes a temporary file in TMPDIR for
/// each such sheet and fails with a bare temporary-file error, so this is checked first and
/// said in words that name TMPDIR.
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
    use rust_xlsxwriter::{DocProperties, ExcelDateTime};
    let created = ExcelDateTime::from_ymd(
        u16::try_from(created.year()).unwrap_or(1900),
        created.month() as u8,
        created.day() as u8,
    )
    .map_err(|e| e.to_string())?;
    let mut wb = workbook()?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
    Ok(wb)
}

/// A new workbook, checked first with [`workbook_temp_ready`], its parts compressed at
/// [`WORKBOOK_ZIP_LEVEL`].
pub(crate) fn workbook() -> Result<rust_xlsxwriter::Workbook, String> {
    workbook_temp_ready()?;
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.set_zip_compression_level(WORKBOOK_ZIP_LEVEL);
    Ok(wb)
}

/// The deflate level of a workbook's parts: 3, the level Excel itself saves at. Against
/// `rust_xlsxwriter`'s default (6) it takes a third off the time a large task workbook takes to
/// write (at national scale, 367,435 rows in 14 workbooks: 1.3 s against 2.0 s) for files a fifth
/// larger (16.8 MB against 14.1 MB).
pub(crate) const WORKBOOK_ZIP_LEVEL: u8 = 3;

/// Whether two workbooks hold the same parts: the same names in the same order (none twice),
/// each with the same bytes once uncompressed, the same archive comment, and nothing else
/// ([`only_parts`]). Two builds may pack the same parts differently (another compression
/// level, another version of the zip writer), so a workbook rebuilt from the records is
/// compared so (`regenerate`), not byte for byte. Parts are compared a block at a time, never
/// held whole.
pub(crate) fn same_workbook(a: &[u8], b: &[u8]) -> bool {
    use std::io::Cursor;
    let (Ok(mut x), Ok(mut y)) = (
        zip::ZipArchive::new(Cursor::new(a)),
        zip::ZipArchive::new(Cursor::new(b)),
    ) else {
        return false;
    };
    only_parts(a, &mut x)
        && only_parts(b, &mut y)
        && x.len() == y.len()
        && x.comment() == y.comment()
        && (0..x.len()).all(|i| match (x.by_index(i), y.by_index(i)) {
            (Ok(p), Ok(q)) => {
                p.name_raw() == q.name_raw() && p.size() == q.size() && same_stream(p, q)
            }
            _ => false,
        })
}

/// Whether `book`'s bytes are its parts and nothing else, as a zip reader that walks the file
/// from its start and one that goes by its central directory both find them: from the first
/// byte, each part's local header (naming what the directory names), its data and its data
/// descriptor, one right after another in the directory's order; then the directory; then its
/// end record and the comment, to the last byte; no name twice. Nothing hides between the
/// parts or around them. (A workbook has no zip64 records; one that has them is not taken.)
fn only_parts(book: &[u8], z: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>) -> bool {
    let u16_at = |at: u64| -> Option<u64> {
        let at = usize::try_from(at).ok()?;
        Some(u64::from(u16::from_le_bytes(
            book.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let u32_at = |at: u64| -> Option<u64> {
        let at = usize::try_from(at).ok()?;
        Some(u64::from(u32::from_le_bytes(
            book.get(at..at + 4)?.try_into().ok()?,
        )))
    };
    if z.offset() != 0 || z.has_duplicate_names() || z.validate_header_consistency().is_err() {
        return false;
    }
    let mut next = 0u64;
    for i in 0..z.len() {
        let Ok(part) = z.by_index_raw(i) else {
            return false;
        };
        let (Some(data), Some(flags)) = (part.data_start(), u16_at(part.header_start() + 6)) else {
            return false;
        };
        if part.header_start() != next {
            return false;
        }
        // Sizes are read from the file, so every sum saturates (and then meets no offset).
        next = data.saturating_add(part.compressed_size());
        if flags & 0x08 != 0 {
            // The data descriptor: its optional signature, the checksum and the two sizes.
            if u32_at(next) == Some(0x0807_4b50) {
                next = next.saturating_add(4);
            }
            next = next.saturating_add(12);
        }
    }
    let Some(end) = book.len().checked_sub(22 + z.comment().len()) else {
        return false;
    };
    let end = end as u64;
    next == z.central_directory_start()
        && u32_at(end) == Some(0x0605_4b50)
        && u32_at(end + 16) == Some(next)
        && u32_at(end + 12).map(|size| next.saturating_add(size)) == Some(end)
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
        let mut before = b"PK\x03\x04 junk".to_vec();
        before.extend_from_slice(&book);
        assert!(!same_workbook(&book, &before), "bytes before the parts");
        let mut after = book.clone();
        after.extend_from_slice(b"junk");
        assert!(!same_workbook(&book, &after), "bytes after the end record");
        assert!(!same_workbook(&book, b"not a workbook"));
        assert!(!same_workbook(&book, &book[..book.len() / 2]));
    }
}
