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
/// feature, which the task lists' low-memory sheets need) makes a temporary file in TMPDIR for
/// every sheet and stops the process when it cannot, so this is checked first and said.
pub(crate) fn workbook_temp_ready() -> Result<(), String> {
    tempfile::tempfile().map(drop).map_err(|e| {
        format!("cannot make a temporary file for a workbook (check that TMPDIR is writable): {e}")
    })
}
