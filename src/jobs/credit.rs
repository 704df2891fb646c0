//! The export for the national enterprise credit publicity system (`suiji publish --credit`):
//! every result published so far (of one year, or all), written as `credit-<year>.csv` and
//! `credit-<year>.xlsx` (`credit-all.*` without a year). It reads the records and records
//! nothing: what it contains was made public by `suiji publish`, which is audited.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::Context;
use crate::output::credit::{CreditExport, export};
use crate::results::ledger::{LedgerError, ledgers_without_lists};
use crate::store::{DrawFilter, Records, StoreError};

/// What to export.
#[derive(Debug, Clone)]
pub struct Input {
    /// Only draws of this year (their period's year).
    pub year: Option<i32>,
    /// Where the files go (default: the output folder's `public/credit`).
    pub to: Option<PathBuf>,
    /// Today (the bureau's time zone): the workbook's creation date.
    pub today: NaiveDate,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub export: CreditExport,
    pub files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot make the workbook: {0}")]
    Workbook(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl crate::diag::Problem for CreditError {
    fn fault(&self) -> crate::diag::Fault {
        crate::diag::Fault::Failed
    }

    fn report(&self) -> crate::diag::Report {
        crate::diag::Report::error(crate::diag::chain(self), &[])
    }
}

/// Builds the export from the records (nothing written).
pub fn build<S: Records>(cx: &Context<S>, year: Option<i32>) -> Result<CreditExport, CreditError> {
    build_for(cx, year, &|_| true)
}

/// As [`build`], of the draws of the departments `sees` accepts (by department id): what a
/// console user limited to one department downloads.
pub fn build_for<S: Records>(
    cx: &Context<S>,
    year: Option<i32>,
    sees: &dyn Fn(&str) -> bool,
) -> Result<CreditExport, CreditError> {
    let filter = year.map(DrawFilter::year).unwrap_or_default();
    let all = ledgers_without_lists(
        cx.store.records(),
        &cx.loaded.model,
        &cx.cal,
        &filter,
        &|l| sees(&l.department),
    )?;
    let bureau = &cx.loaded.model.config.bureau.name;
    Ok(export(bureau, &all, cx.store.records().is_simulation()?))
}

/// Builds the export and writes its two files (each through a temporary file renamed into
/// place, so a reader never sees half a file).
pub fn run<S: Records>(cx: &Context<S>, input: &Input) -> Result<Written, CreditError> {
    let export = build(cx, input.year)?;
    let dir = input.to.clone().unwrap_or_else(|| {
        cx.loaded
            .model
            .config
            .output_dir
            .join("public")
            .join("credit")
    });
    let stem = match input.year {
        Some(y) => format!("credit-{y}"),
        None => "credit-all".to_string(),
    };
    let xlsx = export.xlsx(input.today).map_err(CreditError::Workbook)?;
    let files = [
        (dir.join(format!("{stem}.csv")), export.csv()),
        (dir.join(format!("{stem}.xlsx")), xlsx),
    ];
    for (path, bytes) in &files {
        put(path, bytes)?;
    }
    Ok(Written {
        export,
        files: files.into_iter().map(|(p, _)| p).collect(),
    })
}

fn put(path: &Path, bytes: &[u8]) -> Result<(), CreditError> {
    super::place::write_file(path, bytes).map_err(|e| CreditError::Write {
        path: e.path,
        source: e.source,
    })
}
