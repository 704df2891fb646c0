//! Inspection results: one at a time (`suiji result`), filled-in task lists imported every
//! row or none (`suiji results import`), and what is recorded (`suiji results list`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;

use super::SetupError;
use crate::diag::{Diagnostic, Fault, Report, count};
use crate::results::entry::{Checked, Checker, DateCell, Problem, RawEntry};
use crate::results::import::read_sheet;
use crate::rules::Loaded;
use crate::store::{DrawFilter, DrawRow, NewResult, ResultRow, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The input has problems; nothing was recorded.
    #[error("{closing}")]
    Invalid {
        problems: Vec<Diagnostic>,
        /// The closing line, if any ("2 problems found; nothing was recorded.").
        closing: String,
    },
}

impl crate::diag::Problem for ResultsError {
    fn fault(&self) -> Fault {
        match self {
            ResultsError::Setup(e) => e.fault(),
            ResultsError::Store(_) => Fault::Failed,
            ResultsError::Invalid { .. } => Fault::Invalid,
        }
    }

    fn report(&self) -> Report {
        match self {
            ResultsError::Setup(e) => e.report(),
            ResultsError::Store(e) => e.report(),
            ResultsError::Invalid { problems, closing } => {
                let report = Report::of(problems.clone());
                if closing.is_empty() {
                    report
                } else {
                    report.closing(closing.clone())
                }
            }
        }
    }
}

/// Problems (errors and warnings) in file and line order, as diagnostics.
fn sorted(mut problems: Vec<Problem>) -> Vec<Diagnostic> {
    problems.sort_by(|a, b| {
        let key = |p: &Problem| {
            p.origin
                .as_ref()
                .map(|o| (o.file.clone(), o.line, p.column.unwrap_or(0)))
        };
        key(a).cmp(&key(b))
    });
    problems.iter().map(Problem::to_diagnostic).collect()
}

fn invalid(problems: Vec<Problem>, closing: impl FnOnce(usize) -> String) -> ResultsError {
    let problems = sorted(problems);
    let n = problems.iter().filter(|d| d.is_error()).count();
    ResultsError::Invalid {
        problems,
        closing: closing(n),
    }
}

/// A draw named as the user gives it: its 抽取编号 or its number.
fn probe(draw: &str, target: &str) -> RawEntry {
    RawEntry {
        origin: None,
        draw_ref: draw.to_string(),
        matter: None,
        period: None,
        target_id: target.to_string(),
        item: String::new(),
        category: String::new(),
        date: DateCell::Text(String::new()),
        remarks: String::new(),
        inspectors: String::new(),
        columns: Default::default(),
    }
}

/// One result, for one or several checklist items of one target.
#[derive(Debug, Clone)]
pub struct OneInput {
    /// The draw: its 抽取编号 or its number.
    pub draw: String,
    pub target: String,
    /// Checklist item ids separated by commas, or `all`.
    pub items: String,
    pub category: String,
    /// Day of the inspection, YYYY-MM-DD.
    pub date: String,
    /// The inspectors who signed.
    pub inspectors: String,
    pub remarks: String,
    /// Who enters the result (recorded in the audit log).
    pub actor: String,
    pub today: NaiveDate,
    pub now: String,
}

/// What `record_one` recorded.
#[derive(Debug, Clone)]
pub struct RecordedOne {
    pub recorded: usize,
    /// Items already recorded exactly so.
    pub unchanged: usize,
    pub draw_id: i64,
    pub draw: Option<DrawRow>,
}

/// Records one target's result for the items given; all of them or none.
pub fn record_one(
    loaded: &Loaded,
    store: &mut Store,
    input: &OneInput,
) -> Result<RecordedOne, ResultsError> {
    let mut checker = Checker::new(store, &loaded.model, input.today);
    let base = RawEntry {
        category: input.category.clone(),
        date: DateCell::Text(input.date.clone()),
        remarks: input.remarks.clone(),
        inspectors: input.inspectors.clone(),
        ..probe(&input.draw, &input.target)
    };
    let draw_id = checker
        .resolve(&base)?
        .map_err(|p| invalid(vec![p], |_| String::new()))?;
    let items: Vec<String> = if input.items.trim().eq_ignore_ascii_case("all") {
        checker
            .info(draw_id)?
            .and_then(|i| i.checklist.as_ref())
            .map(|c| c.iter().map(|i| i.id.clone()).collect())
            .unwrap_or_default()
    } else {
        input
            .items
            .split([',', '，', '、'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    if items.is_empty() {
        let d = Diagnostic::error("--item names no checklist item")
            .help("give an item id such as hotel-01, several separated by commas, or `all`");
        return Err(ResultsError::Invalid {
            problems: vec![d],
            closing: String::new(),
        });
    }
    let mut problems = Vec::new();
    let mut new = Vec::new();
    let mut unchanged = 0;
    for item in &items {
        let e = RawEntry {
            item: item.clone(),
            ..base.clone()
        };
        match checker.check(&e)? {
            Ok(Checked::New { result, .. }) => new.push(result),
            Ok(Checked::AlreadyRecorded { .. }) => unchanged += 1,
            Err(mut p) => problems.append(&mut p),
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems, |n| {
            format!("{} found; nothing was recorded.", count(n, "problem"))
        }));
    }
    let draw = checker.info(draw_id)?.map(|i| i.row.clone());
    if !new.is_empty() {
        store.record_results_batch(&[(draw_id, new.clone())], &input.now, &input.actor)?;
    }
    Ok(RecordedOne {
        recorded: new.len(),
        unchanged,
        draw_id,
        draw,
    })
}

/// Result sheets to import.
#[derive(Debug, Clone)]
pub struct ImportInput {
    /// Filled-in task lists: CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX.
    pub files: Vec<PathBuf>,
    /// Check everything and report, but record nothing.
    pub dry_run: bool,
    /// Who imports (recorded in the audit log).
    pub actor: String,
    pub today: NaiveDate,
    pub now: String,
}

/// What an import recorded (or, on a dry run, would record).
#[derive(Debug, Clone)]
pub struct Imported {
    /// Per draw: its name ("draw #3 zhian.hotel 2023-H1 (…)") and the results new to it.
    pub draws: Vec<(String, usize)>,
    /// Filled rows read.
    pub rows: usize,
    /// Rows already recorded exactly so.
    pub unchanged: usize,
    /// Rows without a result, skipped.
    pub skipped: usize,
    /// Non-fatal problems.
    pub warnings: Vec<Diagnostic>,
    pub recorded: bool,
}

impl Imported {
    pub fn new_results(&self) -> usize {
        self.draws.iter().map(|d| d.1).sum()
    }
}

/// Checks the sheets row by row; with any error nothing is recorded, else every new result
/// is recorded in one transaction.
pub fn import(
    loaded: &Loaded,
    store: &mut Store,
    input: &ImportInput,
) -> Result<Imported, ResultsError> {
    let mut problems = Vec::new();
    let mut batches: BTreeMap<i64, Vec<NewResult>> = BTreeMap::new();
    let (mut skipped, mut unchanged, mut rows) = (0, 0, 0);
    let mut names: BTreeMap<i64, String> = BTreeMap::new();
    {
        let mut checker = Checker::new(&*store, &loaded.model, input.today);
        for path in &input.files {
            let label = path.display().to_string();
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(e) => {
                    problems.push(
                        Problem::error(None, format!("cannot read {label}: {e}"))
                            .help("check the file name and that you may read it"),
                    );
                    continue;
                }
            };
            let mut sheet = read_sheet(&bytes, path, &label);
            problems.append(&mut sheet.problems);
            skipped += sheet.skipped;
            for e in &sheet.entries {
                rows += 1;
                match checker.check(e)? {
                    Ok(Checked::New { draw_id, result }) => {
                        batches.entry(draw_id).or_default().push(result);
                    }
                    Ok(Checked::AlreadyRecorded { .. }) => unchanged += 1,
                    Err(mut p) => problems.append(&mut p),
                }
            }
        }
        for id in batches.keys() {
            if let Some(info) = checker.info(*id)? {
                let (m, p, r) = (
                    &info.row.record.matter,
                    &info.row.record.period,
                    &info.draw_ref,
                );
                names.insert(*id, format!("draw #{id} {m} {p} ({r})"));
            }
        }
    }
    let files = files_label(&input.files);
    if problems.iter().any(|p| !p.warning) {
        return Err(invalid(problems, |n| {
            format!(
                "{} found in {files}; nothing was imported.",
                count(n, "problem")
            )
        }));
    }
    let batches: Vec<(i64, Vec<NewResult>)> = batches.into_iter().collect();
    let new: usize = batches.iter().map(|b| b.1.len()).sum();
    if !input.dry_run && new > 0 {
        store.record_results_batch(&batches, &input.now, &input.actor)?;
    }
    Ok(Imported {
        draws: batches
            .iter()
            .map(|(id, r)| {
                let name = names.get(id).cloned();
                (name.unwrap_or_else(|| format!("draw #{id}")), r.len())
            })
            .collect(),
        rows,
        unchanged,
        skipped,
        warnings: sorted(problems),
        recorded: !input.dry_run,
    })
}

/// The files of an import, as named in its messages.
pub fn files_label(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which results to list.
#[derive(Debug, Clone, Default)]
pub struct ListInput {
    /// Only this draw (抽取编号 or number).
    pub draw: Option<String>,
    pub year: Option<i32>,
    pub matter: Option<String>,
    pub today: Option<NaiveDate>,
}

/// A draw's recorded results, with its 抽取编号.
#[derive(Debug, Clone)]
pub struct DrawResults {
    pub draw: DrawRow,
    pub draw_ref: String,
    pub results: Vec<ResultRow>,
}

/// The recorded results of the active draws asked for.
pub fn list(
    loaded: &Loaded,
    store: &Store,
    input: &ListInput,
) -> Result<Vec<DrawResults>, ResultsError> {
    let mut draws = store.list_draws(&DrawFilter {
        matter: input.matter.clone(),
        period_prefix: input.year.map(|y| y.to_string()),
        include_superseded: false,
    })?;
    if let Some(given) = &input.draw {
        let today = input.today.unwrap_or_default();
        let mut checker = Checker::new(store, &loaded.model, today);
        let id = checker
            .resolve(&probe(given, ""))?
            .map_err(|p| invalid(vec![p], |_| String::new()))?;
        draws.retain(|d| d.id == id);
    }
    draws
        .into_iter()
        .map(|d| {
            Ok(DrawResults {
                draw_ref: crate::results::entry::draw_ref(&d),
                results: store.results(d.id)?,
                draw: d,
            })
        })
        .collect()
}
