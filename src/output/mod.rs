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
/// every sheet and stops the process when it cannot, so this is checked first and said.
pub(crate) fn workbook_temp_ready() -> Result<(), String> {
    tempfile::tempfile().map(drop).map_err(|e| {
        format!("cannot make a temporary file for a workbook (check that TMPDIR is writable): {e}")
    })
}

/// A new workbook whose recorded creation date is `created` (not the time it is written), so
/// that the same records always make the same bytes; checked first with
/// [`workbook_temp_ready`].
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
    Ok(wb)
}
