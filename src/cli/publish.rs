//! `suiji publish`: the public notice of inspection results, per draw, on time.

use chrono::NaiveDate;

use super::results::today_local;
use super::{Cli, Failed, exit, now_local};
use crate::jobs::publish::{Input, Published};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("writes").args(["site", "credit"])))]
pub struct Args {
    /// Publish as of this day (default: today in the bureau's time zone). Results of
    /// inspections that ended later wait for a later publication. Only in a simulation
    /// database (made by `suiji simulate`) or with --dry-run: a real database records the
    /// real day.
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// Only draws of this year.
    #[arg(long)]
    pub year: Option<i32>,
    /// Only this matter.
    #[arg(long)]
    pub matter: Option<String>,
    /// Only this period (e.g. 2023-H1).
    #[arg(long)]
    pub period: Option<String>,
    /// Show what would be published; record and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Who publishes (recorded in the audit log).
    #[arg(long, default_value = "operator")]
    pub actor: String,
    /// Write the public site (the pages `suiji serve` shows under /public: plans, matters,
    /// every draw's list of drawn targets with its public bundle, results notices and the
    /// verification page) as static files, for a bureau's portal; records nothing.
    #[arg(long, conflicts_with = "credit")]
    pub site: bool,
    /// Write the results published so far (of --year, or all) for the national enterprise
    /// credit publicity system (国家企业信用信息公示系统): one row per inspected firm with
    /// 统一社会信用代码, 名称, 检查实施机关, 检查类型, 检查日期, 检查结果, as CSV and XLSX;
    /// records nothing.
    #[arg(long, conflicts_with_all = ["today", "matter", "period", "dry_run"])]
    pub credit: bool,
    /// Where --site or --credit writes (default: the output folder's `site`, or
    /// `public/credit`).
    #[arg(long, requires = "writes")]
    pub to: Option<std::path::PathBuf>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    if args.site {
        return site(cli, args);
    }
    if args.credit {
        return credit(cli, args);
    }
    let loaded = super::load_rules(cli)?;
    let cal = crate::jobs::load_calendar(&loaded, false)?;
    let database = super::db::postgres(cli)?;
    let mut store = crate::jobs::open_result_store(&loaded, database.as_ref())?;
    let input = Input {
        as_of: args.today,
        today: today_local(&loaded),
        now: now_local(&loaded),
        year: args.year,
        matter: args.matter.clone(),
        period: args.period.clone(),
        dry_run: args.dry_run,
        actor: args.actor.clone(),
    };
    // The record is written first; what is printed says what happened.
    let published = crate::jobs::publish::run_on(&loaded, &cal, &mut *store, &input)?;
    render(&published);
    Ok(exit::OK)
}

fn render(p: &Published) {
    if p.draws.is_empty() {
        outln!("nothing new to publish as of {}", p.as_of);
        return;
    }
    for d in &p.draws {
        outln!(
            "{}draw #{} {} {}: {} target{} ({} on time, {} late); notice in {}",
            if p.recorded { "" } else { "would publish " },
            d.draw_id,
            d.matter,
            d.period,
            d.targets,
            if d.targets == 1 { "" } else { "s" },
            d.on_time,
            d.targets - d.on_time,
            d.notice.display()
        );
    }
    if !p.recorded {
        outln!("dry run: nothing recorded, no files written");
        return;
    }
    outln!(
        "published {} draw{} as of {}; index in {}",
        p.draws.len(),
        if p.draws.len() == 1 { "" } else { "s" },
        p.as_of,
        p.index.display()
    );
}

/// `publish --site`: the public site as static files.
fn credit(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let cx = super::open_read_only(cli)?;
    let input = crate::jobs::credit::Input {
        year: args.year,
        to: args.to.clone(),
        today: today_local(&cx.loaded),
    };
    let written = crate::jobs::credit::run(&cx, &input)?;
    let e = &written.export;
    let files: Vec<String> = written
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    outln!(
        "credit publicity export: {} published result{}{} in {}",
        e.rows.len(),
        if e.rows.len() == 1 { "" } else { "s" },
        if e.simulation {
            " (from a simulation database: the files say 模拟 and must not be filed)"
        } else {
            ""
        },
        files.join(" and ")
    );
    if !e.left_out.is_empty() {
        let names: Vec<String> = e
            .left_out
            .iter()
            .map(|l| format!("{}（{}, {}）", l.target_name, l.target_id, l.matter_name))
            .collect();
        let w = crate::diag::Diagnostic::warning(format!(
            "{} published result{} left out: the target's id is not a 统一社会信用代码 \
             (GB 32100-2015), which the credit publicity system needs: {}",
            e.left_out.len(),
            if e.left_out.len() == 1 {
                " is"
            } else {
                "s are"
            },
            names.join("、")
        ))
        .help(
            "these are events or firms without a code: their results are public through the \
             notices (suiji publish); to file a firm, give it its code as its id in the target \
             registry",
        );
        super::say(
            super::Level::Warn,
            &super::render_report(&crate::diag::Report::of(vec![w])),
        );
    }
    Ok(exit::OK)
}

fn site(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let cx = super::open_read_only(cli)?;
    let now = chrono::Utc::now()
        .with_timezone(&cx.loaded.model.config.timezone)
        .naive_local();
    let site = crate::jobs::site::build(&cx, now)?;
    let dir = args
        .to
        .clone()
        .unwrap_or_else(|| cx.loaded.model.config.output_dir.join("site"));
    // Each page written as it is made.
    let mut n = 0;
    crate::web::public::each_file(&site, &mut |rel, bytes| {
        n += 1;
        crate::jobs::site::write_file(&dir, &rel, &bytes)
    })?;
    let bundles = crate::web::public::bundles(&site);
    crate::jobs::site::write_bundles(&dir, &bundles)?;
    n += bundles.len();
    outln!(
        "public site: {n} files in {} ({} draws); open {}",
        dir.display(),
        site.draws().count(),
        dir.join("index.html").display()
    );
    Ok(exit::OK)
}
