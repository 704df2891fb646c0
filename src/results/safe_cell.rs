//! Cells safe to open in a spreadsheet.
//!
//! A CSV cell that starts with `=`, `+`, `-` or `@` (or a tab or a carriage return) is taken
//! for a formula by Excel, LibreOffice and WPS: a registry name such as
//! `=HYPERLINK("http://…","x")` would become a live link in a citizen's spreadsheet. Every CSV
//! suiji writes ([`csv_document`]) therefore starts such a cell with a single quote `'`, as
//! the OWASP guidance on CSV injection recommends; a spreadsheet shows it as text.
//! [`original`] undoes it when a task list is read back (`suiji results import`), so an
//! imported cell is the text the draw wrote. Only these renderings change: manifests, the
//! archived registry snapshots and everything hashed keep the text as it was.
//!
//! XLSX cells are written as strings (never formulas) and HTML is escaped, so neither needs
//! this.

use std::borrow::Cow;

/// The first characters that make a spreadsheet read a cell as a formula.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as written to a CSV: with a `'` in front when it would start a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The text of a cell [`neutralise`] wrote: without the `'` it added.
pub fn original(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// A CSV file as suiji writes them: UTF-8 with a BOM (so that Excel on Chinese Windows opens it
/// correctly), a header row, every cell [`neutralise`]d.
pub fn csv_document<S: AsRef<str>>(header: &[S], rows: &[Vec<String>]) -> Vec<u8> {
    headed_csv_document(None, header, rows)
}

/// A CSV file as [`csv_document`] writes it, with a first line above the header row when
/// `heading` is given (what a marked draw's files say first: 补抽, 临时, 模拟; see
/// [`crate::schedule::marks::DrawMarks::heading`]). The line is one cell followed by empty
/// ones, as many cells as the header has, so that every line has the same number of fields.
pub fn headed_csv_document<S: AsRef<str>>(
    heading: Option<&str>,
    header: &[S],
    rows: &[Vec<String>],
) -> Vec<u8> {
    headed_csv_rows(heading, header, rows.iter().map(|r| r.as_slice()))
}

/// [`headed_csv_document`] from rows made one at a time (so that a long list need not be held
/// as cells besides its bytes): the same bytes for the same rows.
pub fn headed_csv_rows<S: AsRef<str>, R: AsRef<[String]>>(
    heading: Option<&str>,
    header: &[S],
    rows: impl IntoIterator<Item = R>,
) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a vector cannot fail.
    let _ = write_headed_csv_rows(&mut out, heading, header, rows);
    out
}

/// [`headed_csv_rows`] written to `out` as the rows are made (a long list is never held as
/// bytes either): the same bytes.
pub fn write_headed_csv_rows<S: AsRef<str>, R: AsRef<[String]>>(
    out: &mut dyn std::io::Write,
    heading: Option<&str>,
    header: &[S],
    rows: impl IntoIterator<Item = R>,
) -> std::io::Result<()> {
    out.write_all(&[0xEF, 0xBB, 0xBF])?;
    let mut w = csv::WriterBuilder::new().from_writer(out);
    let mut write = |cells: &mut dyn Iterator<Item = &str>| {
        w.write_record(
            cells
                .map(neutralise)
                .collect::<Vec<_>>()
                .iter()
                .map(|c| c.as_bytes()),
        )
    };
    let header_row = |w: &mut dyn FnMut(&mut dyn Iterator<Item = &str>) -> csv::Result<()>| {
        if let Some(heading) = heading {
            let width = header.len().max(1);
            w(&mut std::iter::once(heading).chain(std::iter::repeat_n("", width - 1)))?;
        }
        w(&mut header.iter().map(AsRef::as_ref))
    };
    header_row(&mut write).map_err(std::io::Error::other)?;
    for r in rows {
        write(&mut r.as_ref().iter().map(String::as_str)).map_err(std::io::Error::other)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_quoted_and_read_back() {
        for cell in [
            "=HYPERLINK(\"http://x\",\"x\")",
            "+1",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            let written = neutralise(cell);
            assert_eq!(written, format!("'{cell}"));
            assert_eq!(original(&written), cell);
        }
        for cell in ["临涧宾馆", "", "'quoted", "a=b", "2023-H1"] {
            assert_eq!(neutralise(cell), cell);
            assert_eq!(original(cell), cell);
        }
    }

    #[test]
    fn documents_have_a_bom_and_no_cell_that_starts_a_formula() {
        let bytes = csv_document(&["名称"], &[vec!["=1+1".into()], vec!["ok".into()]]);
        assert_eq!(bytes, "\u{feff}名称\n'=1+1\nok\n".as_bytes());
        let headed = headed_csv_document(Some("名单（补抽）"), &["名称", "地址"], &[]);
        assert_eq!(headed, "\u{feff}名单（补抽）,\n名称,地址\n".as_bytes());
    }
}
