//! `suiji report --year 2023`: the year's accountability report (HTML with charts, XLSX).

use std::io::Write as _;
use std::path::PathBuf;

use chrono::NaiveDate;

use super::results::today_local;
use super::{Cli, Failed, exit};
use crate::jobs::report::Input;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Xlsx,
    Both,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The year to report on.
    #[arg(long)]
    pub year: i32,
    /// Which files to write.
    #[arg(long, value_enum, default_value = "both")]
    pub format: ReportFormat,
    /// Folder for the files (default: <output>/reports).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Figures as they stood on this day (default: today). What was not due yet counts as pending.
    #[arg(long)]
    pub today: Option<NaiveDate>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let cx = super::open_read_only(cli)?;
    let input = Input {
        year: args.year,
        as_of: args.today.unwrap_or_else(|| today_local(&cx.loaded)),
        html: matches!(args.format, ReportFormat::Html | ReportFormat::Both),
        xlsx: matches!(args.format, ReportFormat::Xlsx | ReportFormat::Both),
        out: args.out.clone(),
    };
    let report = crate::jobs::report::run(&cx, &input)?;
    if report.provisional {
        super::provisional_warning(args.year);
    }
    render(&report.figures, &report.files, input.as_of)?;
    Ok(exit::OK)
}

fn render(
    f: &crate::results::year::YearFigures,
    written: &[PathBuf],
    as_of: NaiveDate,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} {} as of {as_of}", f.bureau, f.year)?;
    writeln!(
        out,
        "{:<26} {:>5} {:>6} {:>9} {:>7} {:>4} {:>7} {:>7}  {:>8} {:>8}",
        "matter",
        "draws",
        "drawn",
        "inspected",
        "on-time",
        "late",
        "missing",
        "pending",
        "required",
        "achieved"
    )?;
    for d in &f.departments {
        for m in &d.matters {
            let c = &m.counts;
            writeln!(
                out,
                "{:<26} {:>5} {:>6} {:>9} {:>7} {:>4} {:>7} {:>7}  {:>8} {:>8}",
                m.matter,
                m.regular_drawn + m.holiday_drawn,
                c.drawn,
                c.inspected,
                c.on_time,
                c.late,
                c.missing,
                c.pending,
                m.ratio.map_or_else(|| "—".to_string(), |r| r.to_string()),
                m.achieved_ratio
                    .map_or_else(|| "—".to_string(), crate::output::svg::percent)
            )?;
        }
    }
    let c = &f.totals;
    writeln!(
        out,
        "{:<26} {:>5} {:>6} {:>9} {:>7} {:>4} {:>7} {:>7}",
        "total",
        f.draws.len(),
        c.drawn,
        c.inspected,
        c.on_time,
        c.late,
        c.missing,
        c.pending
    )?;
    let planned = f.holidays.iter().filter(|h| h.scheduled.is_some()).count();
    let done = f
        .holidays
        .iter()
        .filter(|h| h.scheduled.is_some() && h.draw_id.is_some())
        .count();
    writeln!(
        out,
        "holiday draws {done} of {planned}; 回避 {}; unstaffed {}",
        f.conflicts.len(),
        f.unstaffed.len()
    )?;
    for p in written {
        writeln!(out, "wrote {}", p.display())?;
    }
    out.flush()
}
