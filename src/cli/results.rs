//! `suiji result` (one result at a time) and `suiji results import|list`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;

use super::{Cli, Failed, exit, load_rules, now_local, open_store};
use crate::results::entry::{Checked, Checker, DateCell, Problem, RawEntry};
use crate::results::import::read_sheet;
use crate::rules::Loaded;
use crate::store::{DrawFilter, NewResult, Store};

/// `suiji result DRAW TARGET --item … --category … --date … --inspectors …`
#[derive(Debug, clap::Args)]
pub struct ResultArgs {
    /// The draw: its 抽取编号 (first column of its task list) or its number (`suiji draws`).
    pub draw: String,
    /// The target's 对象编号.
    pub target: String,
    /// Checklist item id (e.g. hotel-01); several separated by commas, or `all` for every item.
    #[arg(long)]
    pub item: String,
    /// One of the national result categories, e.g. 未发现问题 or 发现问题已责令改正.
    #[arg(long)]
    pub category: String,
    /// Day of the inspection, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// The inspectors who signed: ids (or names) of the target's team, comma separated.
    #[arg(long)]
    pub inspectors: String,
    /// Remarks (what was found, what was ordered).
    #[arg(long, default_value = "")]
    pub remarks: String,
    /// Who enters the result (recorded in the audit log).
    #[arg(long, default_value = "operator")]
    pub actor: String,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Import filled-in task lists (tasks.csv / tasks.xlsx): every row or none.
    Import {
        /// Result sheets: CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX, with the task list's header.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Check everything and report, but record nothing.
        #[arg(long)]
        dry_run: bool,
        /// Who imports (recorded in the audit log).
        #[arg(long, default_value = "operator")]
        actor: String,
    },
    /// Print recorded results as CSV (UTF-8).
    List {
        /// Only this draw (抽取编号 or number).
        #[arg(long)]
        draw: Option<String>,
        /// Only draws of this year.
        #[arg(long)]
        year: Option<i32>,
        /// Only this matter.
        #[arg(long)]
        matter: Option<String>,
    },
}

/// Today in the bureau's time zone.
pub(crate) fn today_local(loaded: &Loaded) -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&loaded.model.config.timezone)
        .date_naive()
}

/// Prints problems (errors and warnings) in file and line order; returns the error count.
pub(crate) fn print_problems(problems: &mut [Problem]) -> usize {
    problems.sort_by(|a, b| {
        let key = |p: &Problem| {
            p.origin
                .as_ref()
                .map(|o| (o.file.clone(), o.line, p.column.unwrap_or(0)))
        };
        key(a).cmp(&key(b))
    });
    let diags: Vec<_> = problems.iter().map(Problem::to_diagnostic).collect();
    eprint!(
        "{}",
        crate::diag::render(&crate::diag::Sources::default(), &diags)
    );
    problems.iter().filter(|p| !p.warning).count()
}

pub fn run_one(cli: &Cli, args: &ResultArgs) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    let mut store = open_store(&loaded)?;
    let today = today_local(&loaded);
    let mut checker = Checker::new(&store, &loaded.model, today);
    let base = RawEntry {
        origin: None,
        draw_ref: args.draw.clone(),
        matter: None,
        period: None,
        target_id: args.target.clone(),
        item: String::new(),
        category: args.category.clone(),
        date: DateCell::Text(args.date.clone()),
        remarks: args.remarks.clone(),
        inspectors: args.inspectors.clone(),
        columns: Default::default(),
    };
    let draw_id = match checker.resolve(&base)? {
        Ok(id) => id,
        Err(p) => {
            print_problems(&mut [p]);
            return Ok(exit::INVALID);
        }
    };
    let items: Vec<String> = if args.item.trim().eq_ignore_ascii_case("all") {
        checker
            .info(draw_id)?
            .and_then(|i| i.checklist.as_ref())
            .map(|c| c.iter().map(|i| i.id.clone()).collect())
            .unwrap_or_default()
    } else {
        args.item
            .split([',', '，', '、'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    if items.is_empty() {
        eprintln!("error: --item names no checklist item");
        eprintln!(
            "  = help: give an item id such as hotel-01, several separated by commas, or `all`"
        );
        return Ok(exit::INVALID);
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
        let n = print_problems(&mut problems);
        eprintln!(
            "{n} problem{} found; nothing was recorded.",
            if n == 1 { "" } else { "s" }
        );
        return Ok(exit::INVALID);
    }
    let info = checker.info(draw_id)?.map(|i| i.row.clone());
    drop(checker);
    if !new.is_empty() {
        store.record_results_batch(&[(draw_id, new.clone())], &now_local(&loaded), &args.actor)?;
    }
    let what = info.map_or_else(
        || format!("draw #{draw_id}"),
        |d| format!("draw #{} ({} {})", d.id, d.matter, d.period),
    );
    outln!(
        "{} result{} recorded for target {} of {what}{}",
        new.len(),
        if new.len() == 1 { "" } else { "s" },
        args.target.trim(),
        if unchanged > 0 {
            format!("; {unchanged} already recorded exactly so")
        } else {
            String::new()
        }
    );
    Ok(exit::OK)
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    let mut store = open_store(&loaded)?;
    match &args.action {
        Action::Import {
            files,
            dry_run,
            actor,
        } => import(&loaded, &mut store, files, *dry_run, actor),
        Action::List { draw, year, matter } => {
            list(&loaded, &store, draw.as_deref(), *year, matter.clone())
        }
    }
}

fn import(
    loaded: &Loaded,
    store: &mut Store,
    files: &[PathBuf],
    dry_run: bool,
    actor: &str,
) -> Result<i32, Failed> {
    let today = today_local(loaded);
    let mut problems = Vec::new();
    let mut batches: BTreeMap<i64, Vec<NewResult>> = BTreeMap::new();
    let mut skipped = 0;
    let mut unchanged = 0;
    let mut rows = 0;
    let mut draw_names: BTreeMap<i64, String> = BTreeMap::new();
    {
        let mut checker = Checker::new(&*store, &loaded.model, today);
        for path in files {
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
                draw_names.insert(
                    *id,
                    format!(
                        "draw #{id} {} {} ({})",
                        info.row.matter, info.row.period, info.draw_ref
                    ),
                );
            }
        }
    }
    let errors = print_problems(&mut problems);
    let files_label = files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if errors > 0 {
        eprintln!(
            "{errors} problem{} found in {files_label}; nothing was imported.",
            if errors == 1 { "" } else { "s" }
        );
        return Ok(exit::INVALID);
    }
    let new: usize = batches.values().map(Vec::len).sum();
    let batches: Vec<(i64, Vec<NewResult>)> = batches.into_iter().collect();
    if !dry_run && new > 0 {
        store.record_results_batch(&batches, &now_local(loaded), actor)?;
    }
    for (id, rows) in &batches {
        outln!(
            "{}: {} result{}",
            draw_names
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("draw #{id}")),
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        );
    }
    outln!(
        "{} {new} result{} from {rows} filled row{} of {files_label}; {unchanged} already recorded, {skipped} row{} without 检查结果 skipped",
        if dry_run {
            "dry run: would import"
        } else {
            "imported"
        },
        if new == 1 { "" } else { "s" },
        if rows == 1 { "" } else { "s" },
        if skipped == 1 { "" } else { "s" },
    );
    Ok(exit::OK)
}

fn list(
    loaded: &Loaded,
    store: &Store,
    draw: Option<&str>,
    year: Option<i32>,
    matter: Option<String>,
) -> Result<i32, Failed> {
    let mut draws = store.list_draws(&DrawFilter {
        matter,
        period_prefix: year.map(|y| y.to_string()),
        include_superseded: false,
    })?;
    if let Some(given) = draw {
        let mut checker = Checker::new(store, &loaded.model, today_local(loaded));
        let probe = RawEntry {
            origin: None,
            draw_ref: given.to_string(),
            matter: None,
            period: None,
            target_id: String::new(),
            item: String::new(),
            category: String::new(),
            date: DateCell::Text(String::new()),
            remarks: String::new(),
            inspectors: String::new(),
            columns: Default::default(),
        };
        match checker.resolve(&probe)? {
            Ok(id) => draws.retain(|d| d.id == id),
            Err(p) => {
                print_problems(&mut [p]);
                return Ok(exit::INVALID);
            }
        }
    }
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record([
        "draw",
        "抽取编号",
        "抽查事项",
        "期次",
        "对象编号",
        "检查项编号",
        "检查结果",
        "检查日期",
        "签名检查人员",
        "备注",
        "entered_at",
        "entered_by",
        "published_at",
        "source",
    ])?;
    for d in &draws {
        let r#ref = crate::results::entry::draw_ref(d);
        for r in store.results(d.id)? {
            let source = match (&r.source_file, r.source_line) {
                (Some(f), Some(l)) => format!("{f}:{l}"),
                (Some(f), None) => f.clone(),
                _ => String::new(),
            };
            w.write_record([
                d.id.to_string(),
                r#ref.clone(),
                d.matter.clone(),
                d.period.clone(),
                r.target_id,
                r.checklist_item.unwrap_or_default(),
                r.category,
                r.inspection_date,
                r.inspectors_signed.join("、"),
                r.remarks,
                r.entered_at,
                r.entered_by,
                r.published_at.unwrap_or_default(),
                source,
            ])?;
        }
    }
    w.flush()?;
    Ok(exit::OK)
}
