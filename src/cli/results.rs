//! `suiji result` (one result at a time) and `suiji results import|list`.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::{Cli, Failed, exit, load_rules, now_local};
use crate::diag::Report;
use crate::jobs::results::{ImportInput, ListInput, OneInput, files_label};
use crate::rules::Loaded;

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
    /// Write the tasks as they stand as a task list to fill in and import (CSV, UTF-8 with a
    /// BOM): a row per target and checklist item, the teams and substitutes as the changes after
    /// each draw left them, results already recorded filled in.
    Tasks {
        /// Only the targets on whose team this inspector (工号) is, those published left out.
        #[arg(long)]
        inspector: Option<String>,
        /// Write the list to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
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

/// The database results are recorded in: PostgreSQL's when one is named, else the SQLite file.
fn open_results(cli: &Cli, loaded: &Loaded) -> Result<Box<dyn crate::store::ResultStore>, Failed> {
    let database = super::db::postgres(cli)?;
    Ok(crate::jobs::open_result_store(loaded, database.as_ref())?)
}

pub(crate) fn run_one(cli: &Cli, args: &ResultArgs) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    let mut store = open_results(cli, &loaded)?;
    let input = OneInput {
        draw: args.draw.clone(),
        target: args.target.clone(),
        items: args.item.clone(),
        category: args.category.clone(),
        date: args.date.clone(),
        inspectors: args.inspectors.clone(),
        remarks: args.remarks.clone(),
        actor: args.actor.clone(),
        today: today_local(&loaded),
        now: now_local(&loaded),
    };
    let one = crate::jobs::results::record_one(&loaded, &mut *store, &input)?;
    let what = one.draw.map_or_else(
        || format!("draw #{}", one.draw_id),
        |d| format!("draw #{} ({} {})", d.id, d.record.matter, d.record.period),
    );
    outln!(
        "{} result{} recorded for target {} of {what}{}",
        one.recorded,
        if one.recorded == 1 { "" } else { "s" },
        args.target.trim(),
        if one.unchanged > 0 {
            format!("; {} already recorded exactly so", one.unchanged)
        } else {
            String::new()
        }
    );
    Ok(exit::OK)
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    let mut store = open_results(cli, &loaded)?;
    match &args.action {
        Action::Import {
            files,
            dry_run,
            actor,
        } => {
            let input = ImportInput {
                files: files.clone(),
                dry_run: *dry_run,
                actor: actor.clone(),
                signer: None,
                today: today_local(&loaded),
                now: now_local(&loaded),
            };
            let imported = crate::jobs::results::import(&loaded, &mut *store, &input)?;
            render_import(&imported, files);
            Ok(exit::OK)
        }
        Action::Tasks { inspector, out } => {
            let inspector = inspector.as_deref().map(str::trim);
            let who = match inspector {
                Some(id) => crate::jobs::results::inspector_label(&loaded, id)?,
                None => "全部检查组".to_string(),
            };
            let tasks = crate::jobs::results::listed_tasks(&loaded, &*store, inspector, |_| true)?;
            let today = today_local(&loaded);
            let sheet = crate::jobs::results::task_sheet(&loaded, &*store, &tasks, (&who, today))?;
            let rows: usize = tasks.iter().map(|t| t.items.len()).sum();
            match out {
                Some(path) => {
                    crate::jobs::place::write_file(path, &sheet)?;
                    outln!(
                        "{} task{} ({rows} row{}) written to {}",
                        tasks.len(),
                        if tasks.len() == 1 { "" } else { "s" },
                        if rows == 1 { "" } else { "s" },
                        path.display()
                    );
                }
                None => {
                    use std::io::Write as _;
                    std::io::stdout().lock().write_all(&sheet)?;
                }
            }
            Ok(exit::OK)
        }
        Action::List { draw, year, matter } => {
            let input = ListInput {
                draw: draw.clone(),
                year: *year,
                matter: matter.clone(),
                today: Some(today_local(&loaded)),
            };
            let listed = crate::jobs::results::list(&loaded, &*store, &input)?;
            write_list(&listed)?;
            Ok(exit::OK)
        }
    }
}

fn render_import(imported: &crate::jobs::results::Imported, files: &[PathBuf]) {
    if !imported.warnings.is_empty() {
        super::say(
            super::Level::Warn,
            &super::render_report(&Report::of(imported.warnings.clone())),
        );
    }
    for (name, n) in &imported.draws {
        outln!("{name}: {n} result{}", if *n == 1 { "" } else { "s" });
    }
    let (new, rows, skipped) = (imported.new_results(), imported.rows, imported.skipped);
    outln!(
        "{} {new} result{} from {rows} filled row{} of {}; {} already recorded, {skipped} row{} without 检查结果 skipped",
        if imported.recorded {
            "imported"
        } else {
            "dry run: would import"
        },
        if new == 1 { "" } else { "s" },
        if rows == 1 { "" } else { "s" },
        files_label(files),
        imported.unchanged,
        if skipped == 1 { "" } else { "s" },
    );
}

fn write_list(listed: &[crate::jobs::results::DrawResults]) -> Result<(), Failed> {
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
    for listed in listed {
        let (d, r#ref) = (&listed.draw, &listed.draw_ref);
        for r in listed.results.clone() {
            let source = match (&r.source_file, r.source_line) {
                (Some(f), Some(l)) => format!("{f}:{l}"),
                (Some(f), None) => f.clone(),
                _ => String::new(),
            };
            w.write_record(
                [
                    d.id.to_string(),
                    r#ref.clone(),
                    d.record.matter.clone(),
                    d.record.period.clone(),
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
                ]
                .iter()
                .map(|c| crate::results::safe_cell::neutralise(c).into_owned()),
            )?;
        }
    }
    w.flush()?;
    Ok(())
}
