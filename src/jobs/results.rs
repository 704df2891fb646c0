//! Inspection results: one at a time (`suiji result`), filled-in task lists imported every
//! row or none (`suiji results import`), and what is recorded (`suiji results list`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;

use super::SetupError;
use crate::diag::{Diagnostic, Fault, Report, count};
use crate::results::entry::{Checked, Checker, DateCell, Problem, RawEntry};
use crate::results::import::read_sheet_each;
use crate::results::pending::Pending;
use crate::rules::Loaded;
use crate::store::{DrawFilter, DrawRow, DrawStore, NewResult, ResultRow, ResultStore, StoreError};

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

/// One target's entries as checked: recorded all together, or refused with every problem.
struct OneChecked {
    draw_id: i64,
    draw: Option<DrawRow>,
    new: Vec<NewResult>,
    unchanged: usize,
    problems: Vec<Problem>,
}

fn record_checked(
    store: &mut dyn ResultStore,
    c: OneChecked,
    now: &str,
    actor: &str,
) -> Result<RecordedOne, ResultsError> {
    if !c.problems.is_empty() {
        return Err(invalid(c.problems, |n| {
            format!("{} found; nothing was recorded.", count(n, "problem"))
        }));
    }
    if !c.new.is_empty() {
        store.record_results_batch(&[(c.draw_id, c.new.clone())], now, actor)?;
    }
    Ok(RecordedOne {
        recorded: c.new.len(),
        unchanged: c.unchanged,
        draw_id: c.draw_id,
        draw: c.draw,
    })
}

/// Adds `found` to `problems` but for those already there: one target's items share its
/// entry's cells, so a problem with the target or the signers is found once per item.
fn once_each(problems: &mut Vec<Problem>, found: Vec<Problem>) {
    for p in found {
        if !problems.contains(&p) {
            problems.push(p);
        }
    }
}

/// Records one target's result for the items given; all of them or none.
pub fn record_one(
    loaded: &Loaded,
    store: &mut dyn ResultStore,
    input: &OneInput,
) -> Result<RecordedOne, ResultsError> {
    let mut checker = Checker::new(&*store, &loaded.model, input.today);
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
            Err(p) => once_each(&mut problems, p),
        }
    }
    let draw = checker.info(draw_id)?.map(|i| i.row.clone());
    let checked = OneChecked {
        draw_id,
        draw,
        new,
        unchanged,
        problems,
    };
    record_checked(store, checked, &input.now, &input.actor)
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
    /// An inspector importing in the console: every row must be for a target on their team.
    pub signer: Option<String>,
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

/// What an import's sheets hold, checked: the problems found, the new results by draw, and
/// the rows skipped (no 检查结果), already recorded and read.
#[derive(Default)]
struct Sheets {
    problems: Vec<Problem>,
    /// The new results by draw, held compact (none kept in a dry run, which counts them).
    batches: Pending,
    new: BTreeMap<i64, usize>,
    skipped: usize,
    unchanged: usize,
    rows: usize,
}

impl Sheets {
    /// Reads the sheet at `path` and checks each of its entries.
    fn check(
        &mut self,
        checker: &mut Checker<'_>,
        input: &ImportInput,
        path: &std::path::Path,
    ) -> Result<(), ResultsError> {
        let label = path.display().to_string();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                self.problems.push(
                    Problem::error(None, format!("cannot read {label}: {e}"))
                        .help("check the file name and that you may read it"),
                );
                return Ok(());
            }
        };
        // Each entry checked as its row is read, and let go: a national draw's sheet holds
        // 1.47 million entries, its new results as many. The sheet's own problems come first,
        // then the entries'.
        let (mut checked, mut failed) = (Vec::new(), None);
        // A row of a task list holds a result per checklist item: its entries are counted
        // as one row.
        let mut last_line = None;
        let mut done = 0usize;
        let mut one = |e: RawEntry| -> Result<(), StoreError> {
            if done > 0 && done.is_multiple_of(PROGRESS_EVERY) {
                tracing::info!(target: "suiji::progress", file = %label, done, "checking the results");
            }
            done += 1;
            let line = e.origin.as_ref().map(|o| o.line);
            if line.is_none() || line != last_line {
                self.rows += 1;
            }
            last_line = line;
            match checker.check(&e)? {
                Ok(Checked::New { draw_id, result }) => {
                    if let Some(p) = not_on_team(checker, input, draw_id, &e)? {
                        checked.push(p);
                    }
                    *self.new.entry(draw_id).or_default() += 1;
                    if !input.dry_run {
                        self.batches.push(draw_id, &result);
                    }
                }
                Ok(Checked::AlreadyRecorded { .. }) => self.unchanged += 1,
                Err(mut p) => checked.append(&mut p),
            }
            Ok(())
        };
        let mut sheet = read_sheet_each(&bytes, path, &label, &mut |e| match one(e) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        self.problems.append(&mut sheet.problems);
        self.problems.append(&mut checked);
        self.skipped += sheet.skipped;
        Ok(())
    }
}

/// Entries checked between two progress lines of an import (a national draw's task list holds
/// about 1.5 million: a result per target and checklist item); a shorter sheet, done at once,
/// says nothing of its progress.
const PROGRESS_EVERY: usize = 250_000;

/// Checks the sheets row by row; with any error nothing is recorded, else every new result
/// is recorded in one transaction. Says how far it is (target `suiji::progress`).
pub fn import(
    loaded: &Loaded,
    store: &mut dyn ResultStore,
    input: &ImportInput,
) -> Result<Imported, ResultsError> {
    let mut sheets = Sheets::default();
    let mut names: BTreeMap<i64, String> = BTreeMap::new();
    {
        let mut checker = Checker::new(&*store, &loaded.model, input.today);
        for path in &input.files {
            sheets.check(&mut checker, input, path)?;
        }
        for id in sheets.new.keys() {
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
    let Sheets {
        problems,
        batches,
        new: counts,
        skipped,
        unchanged,
        rows,
    } = sheets;
    let files = files_label(&input.files);
    if problems.iter().any(|p| !p.warning) {
        return Err(invalid(problems, |n| {
            format!(
                "{} found in {files}; nothing was imported.",
                count(n, "problem")
            )
        }));
    }
    let new: usize = counts.values().sum();
    if !input.dry_run && new > 0 {
        if new >= PROGRESS_EVERY {
            tracing::info!(target: "suiji::progress", results = new, "recording the results");
        }
        store.record_new_results(&batches, &input.now, &input.actor)?;
    }
    Ok(Imported {
        draws: counts
            .iter()
            .map(|(id, n)| {
                let name = names.get(id).cloned();
                (name.unwrap_or_else(|| format!("draw #{id}")), *n)
            })
            .collect(),
        rows,
        unchanged,
        skipped,
        warnings: sorted(problems),
        recorded: !input.dry_run,
    })
}

/// A row for a target whose team the importing inspector is not on.
fn not_on_team(
    checker: &mut Checker<'_>,
    input: &ImportInput,
    draw_id: i64,
    e: &RawEntry,
) -> Result<Option<Problem>, StoreError> {
    let Some(me) = &input.signer else {
        return Ok(None);
    };
    let on_team = checker.info(draw_id)?.is_some_and(|info| {
        info.teams
            .get(&e.target_id)
            .is_some_and(|team| team.iter().any(|(id, _)| id == me))
    });
    Ok((!on_team).then(|| {
        Problem::error(
            e.origin.as_ref(),
            format!("target `{}` is not on your team's list", e.target_id),
        )
        .help("only results for the targets of your own teams can be entered")
    }))
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
    store: &dyn DrawStore,
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

/// One drawn target to inspect, with its checklist and what is recorded so far.
#[derive(Debug, Clone)]
pub struct Task {
    /// The draw, shared by its tasks (its record holds the manifest: a national draw's runs
    /// to a hundred megabytes, not to be copied per task).
    pub draw: std::sync::Arc<DrawRow>,
    pub target_id: String,
    pub target_name: String,
    /// The team: (id, name) in team order.
    pub team: Vec<(String, String)>,
    /// Each checklist item: id, text, and its recorded result.
    pub items: Vec<(String, String, Option<crate::results::entry::Recorded>)>,
}

impl Task {
    /// Every item has a result.
    pub fn complete(&self) -> bool {
        self.items.iter().all(|i| i.2.is_some())
    }

    /// Every item's result is published.
    pub fn published(&self) -> bool {
        self.items
            .iter()
            .all(|i| i.2.as_ref().is_some_and(|r| r.published_at.is_some()))
    }
}

/// The tasks of the active draws whose matter `sees` accepts: with `inspector`, only the
/// targets on whose team that inspector is.
pub fn tasks(
    loaded: &Loaded,
    store: &dyn DrawStore,
    inspector: Option<&str>,
    sees: impl Fn(&str) -> bool,
) -> Result<Vec<Task>, StoreError> {
    let mut checker = Checker::new(store, &loaded.model, NaiveDate::MIN);
    let mut out = Vec::new();
    for draw in store.list_draws(&DrawFilter::default())? {
        let draw = std::sync::Arc::new(draw);
        let department = loaded
            .model
            .matter(&draw.record.matter)
            .map(|m| m.department.clone())
            .unwrap_or_default();
        if !sees(&department) {
            continue;
        }
        let Some(info) = checker.info(draw.id)? else {
            continue;
        };
        let checklist = info.checklist.clone().unwrap_or_default();
        let mut targets: Vec<(&String, &String)> = info.selected.iter().collect();
        targets.sort();
        for (id, name) in targets {
            let team = info.teams.get(id).cloned().unwrap_or_default();
            if inspector.is_some_and(|me| !team.iter().any(|(i, _)| i == me)) {
                continue;
            }
            let items = checklist
                .iter()
                .map(|c| {
                    let r = info.existing.get(id, &c.id);
                    (c.id.clone(), c.text.clone(), r)
                })
                .collect();
            out.push(Task {
                draw: std::sync::Arc::clone(&draw),
                target_id: id.clone(),
                target_name: name.clone(),
                team,
                items,
            });
        }
    }
    Ok(out)
}

/// The inspector `id` as a task list names it, 姓名（工号）, from the inspector registry; an id
/// the registry does not have is refused.
pub fn inspector_label(loaded: &Loaded, id: &str) -> Result<String, ResultsError> {
    match super::users::inspector_names(loaded).get(id) {
        Some(name) => Ok(format!("{name}（{id}）")),
        None => Err(ResultsError::Invalid {
            problems: vec![
                Diagnostic::error(format!("no inspector `{id}` in the inspector registry"))
                    .help("give the 工号 as the inspector registry has it (a task list's 检查人员 cell shows 姓名（工号）)"),
            ],
            closing: String::new(),
        }),
    }
}

/// The tasks a list shows: with `inspector`, that inspector's own not yet published; without,
/// every task of the draws whose matter `sees` accepts.
pub fn listed_tasks(
    loaded: &Loaded,
    store: &dyn DrawStore,
    inspector: Option<&str>,
    sees: impl Fn(&str) -> bool,
) -> Result<Vec<Task>, StoreError> {
    Ok(tasks(loaded, store, inspector, sees)?
        .into_iter()
        .filter(|t| inspector.is_none() || !t.published())
        .collect())
}

/// `tasks` as a task list to fill in and upload (CSV as the draws write theirs, a row per
/// target and checklist item under [`crate::results::TASK_HEADER`], below a line naming `who`
/// it is for, the day `today` it was made and, on a simulation's database, 模拟): each
/// team as the changes after its draw left it, a substitute taken in with its own row, results
/// already recorded filled in (an upload leaves them as they are). Addresses come from the
/// draws' archived registry snapshots, only the tasks' rows read; one that cannot be read
/// leaves them empty.
pub fn task_sheet(
    loaded: &Loaded,
    store: &dyn DrawStore,
    tasks: &[Task],
    (who, today): (&str, NaiveDate),
) -> Result<Vec<u8>, StoreError> {
    let heading = format!(
        "{who}的检查任务表（{today} 导出，检查组为抽取后变更后的）{}",
        if store.is_simulation()? {
            "（模拟）"
        } else {
            ""
        }
    );
    let mut wanted: BTreeMap<&str, std::collections::HashSet<&str>> = BTreeMap::new();
    for t in tasks {
        let snapshot = t.draw.record.targets_snapshot.as_str();
        wanted.entry(snapshot).or_default().insert(&t.target_id);
    }
    let mut address: std::collections::HashMap<String, String> = Default::default();
    for (snapshot, ids) in wanted {
        match super::verify::archived_targets(store, snapshot, |id| ids.contains(id)) {
            Ok(rows) => address.extend(rows.into_iter().map(|r| (r.id, r.address))),
            Err(e) => tracing::warn!(
                "task sheet: the addresses of snapshot {snapshot} cannot be read: {e}"
            ),
        }
    }
    let rows = tasks.iter().flat_map(|t| {
        let r = &t.draw.record;
        let head = [
            crate::results::entry::draw_ref(&t.draw),
            crate::rules::names::matter_name(&loaded.model, &r.matter),
            crate::rules::names::period_label(&r.period),
            t.target_id.clone(),
            t.target_name.clone(),
            address.get(&t.target_id).cloned().unwrap_or_default(),
            crate::results::entry::team_label(&t.team),
        ];
        t.items.iter().map(move |(item, text, done)| {
            let mut row = head.to_vec();
            row.extend([item.clone(), text.clone(), r.due_date.clone()]);
            row.extend(match done {
                Some(d) => [
                    d.category.to_string(),
                    d.inspection_date.to_string(),
                    d.remarks.clone(),
                    d.inspectors_signed.join("、"),
                ],
                None => Default::default(),
            });
            row
        })
    });
    let header = &crate::results::TASK_HEADER;
    Ok(crate::results::safe_cell::headed_csv_rows(
        Some(&heading),
        header,
        rows,
    ))
}

/// One target's results as an inspector enters them: a category per checklist item, the day,
/// remarks, and who signs (the inspector entering them, who must be on the target's team).
#[derive(Debug, Clone)]
pub struct ItemsInput {
    pub draw_id: i64,
    pub target: String,
    /// (checklist item id, category) for each item filled in.
    pub items: Vec<(String, String)>,
    pub date: String,
    pub remarks: String,
    /// The inspector id signing.
    pub inspector: String,
    pub actor: String,
    pub today: NaiveDate,
    pub now: String,
}

/// Records one target's results item by item: all of them or none. The inspector must be on
/// the target's team (the same check as a result sheet's 签名检查人员).
pub fn record_items(
    loaded: &Loaded,
    store: &mut dyn ResultStore,
    input: &ItemsInput,
) -> Result<RecordedOne, ResultsError> {
    let mut checker = Checker::new(&*store, &loaded.model, input.today);
    let base = RawEntry {
        category: String::new(),
        date: DateCell::Text(input.date.clone()),
        remarks: input.remarks.clone(),
        inspectors: input.inspector.clone(),
        ..probe(&input.draw_id.to_string(), &input.target)
    };
    let draw_id = checker
        .resolve(&base)?
        .map_err(|p| invalid(vec![p], |_| String::new()))?;
    let (mut problems, mut new, mut unchanged) = (Vec::new(), Vec::new(), 0);
    for (item, category) in input.items.iter().filter(|(_, c)| !c.trim().is_empty()) {
        let e = RawEntry {
            item: item.clone(),
            category: category.clone(),
            ..base.clone()
        };
        match checker.check(&e)? {
            Ok(Checked::New { result, .. }) => new.push(result),
            Ok(Checked::AlreadyRecorded { .. }) => unchanged += 1,
            Err(p) => once_each(&mut problems, p),
        }
    }
    if new.is_empty() && unchanged == 0 && problems.is_empty() {
        problems.push(Problem::error(
            None,
            "no checklist item has a result category",
        ));
    }
    let draw = checker.info(draw_id)?.map(|i| i.row.clone());
    let checked = OneChecked {
        draw_id,
        draw,
        new,
        unchanged,
        problems,
    };
    record_checked(store, checked, &input.now, &input.actor)
}

/// The national result categories, in their official order.
pub fn categories() -> &'static [&'static str] {
    &crate::results::RESULT_CATEGORIES
}
