//! The year's accountability report (`suiji report`): HTML with charts and XLSX, from the
//! database.

use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};

use super::place::{PlaceError, write_file};
use super::{Context, SetupError, require_year};
use crate::diag::{Fault, Problem, Report};
use crate::results::ledger::LedgerError;
use crate::results::year::{YearFigures, year_figures, year_figures_of};
use crate::store::Records;

/// Which year, as of which day, and which files.
#[derive(Debug, Clone)]
pub struct Input {
    pub year: i32,
    /// Figures as they stood on this day.
    pub as_of: NaiveDate,
    pub html: bool,
    pub xlsx: bool,
    /// Folder for the files (default: `<output>/reports`).
    pub out: Option<PathBuf>,
}

/// The year's figures and the files written.
#[derive(Debug)]
pub struct Written {
    pub figures: YearFigures,
    pub files: Vec<PathBuf>,
    /// The dates come from a provisional calendar (no official holiday notice).
    pub provisional: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("--today {as_of} is before {year} began: nothing of that year had happened")]
    BeforeYear { year: i32, as_of: chrono::NaiveDate },
    #[error("cannot build the workbook: {0}")]
    Workbook(String),
    #[error(transparent)]
    Write(#[from] PlaceError),
}

impl Problem for ReportError {
    fn fault(&self) -> Fault {
        match self {
            ReportError::Setup(e) => e.fault(),
            ReportError::BeforeYear { .. } => Fault::Invalid,
            _ => Fault::Failed,
        }
    }

    fn report(&self) -> Report {
        match self {
            ReportError::Setup(e) => e.report(),
            ReportError::BeforeYear { year, .. } => Report::error(
                self.to_string(),
                &[&format!(
                    "give a day of {year} or later with --today; the report of {year} in place is left as it is"
                )],
            ),
            other => Report::error(crate::diag::chain(other), &[]),
        }
    }
}

/// Computes the year's figures and writes the report files asked for.
pub fn run<S: Records>(cx: &Context<S>, input: &Input) -> Result<Written, ReportError> {
    // A report as of a day before its year is all zeros: refused, so that it does not take
    // the place of the year's report.
    if input.as_of.year() < input.year {
        return Err(ReportError::BeforeYear {
            year: input.year,
            as_of: input.as_of,
        });
    }
    let official = require_year(&cx.cal, input.year)?;
    let figures = year_figures(
        cx.store.records(),
        &cx.loaded.model,
        &cx.cal,
        input.year,
        input.as_of,
    )?;
    let dir = input
        .out
        .clone()
        .unwrap_or_else(|| cx.loaded.model.config.output_dir.join("reports"));
    let mut files = Vec::new();
    if input.html {
        let path = dir.join(format!("report-{}.html", input.year));
        write_file(&path, crate::output::report::html(&figures).as_bytes())?;
        files.push(path);
    }
    if input.xlsx {
        let bytes = crate::output::report::xlsx(&figures)
            .map_err(|e| ReportError::Workbook(e.to_string()))?;
        let path = dir.join(format!("report-{}.xlsx", input.year));
        write_file(&path, &bytes)?;
        files.push(path);
    }
    Ok(Written {
        figures,
        files,
        provisional: !official,
    })
}

/// The year's figures and the report as bytes (HTML, or XLSX when `xlsx`), nothing written.
/// Only the departments `sees` lets through (by id) are counted: a department's staff get
/// their department's report.
pub fn document<S: Records>(
    cx: &Context<S>,
    year: i32,
    as_of: NaiveDate,
    xlsx: bool,
    sees: &dyn Fn(&str) -> bool,
) -> Result<(YearFigures, Vec<u8>), ReportError> {
    require_year(&cx.cal, year)?;
    let figures = year_figures_of(
        cx.store.records(),
        &cx.loaded.model,
        &cx.cal,
        year,
        as_of,
        sees,
    )?;
    let bytes = if xlsx {
        crate::output::report::xlsx(&figures).map_err(|e| ReportError::Workbook(e.to_string()))?
    } else {
        crate::output::report::html(&figures).into_bytes()
    };
    Ok((figures, bytes))
}
