//! `suiji schedule --year 2023`: every draw of the year with its dates.

use std::io::Write;

use super::{Cli, exit, load_calendar, load_rules};
use crate::schedule::DrawKind;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The year to list.
    #[arg(long)]
    pub year: i32,
    /// For a year without an official holiday notice, use a provisional calendar computed from
    /// lunar dates (clearly marked as provisional).
    #[arg(long)]
    pub provisional: bool,
    /// Only this matter (e.g. zhian.hotel).
    #[arg(long)]
    pub matter: Option<String>,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<i32> {
    let loaded = or_exit!(load_rules(cli));
    let cal = or_exit!(load_calendar(&loaded, args.provisional));
    or_exit!(super::require_year(&cal, args.year));
    let model = &loaded.model;
    if let Some(m) = &args.matter
        && model.matter(m).is_none()
    {
        return Ok(super::unknown_matter(model, m));
    }
    let (schedule, problems) = crate::schedule::year_schedule(model, &cal, args.year);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<17} {:<26} {:<16} {:<16} {:>6} {:<8} {:<10}",
        "issue", "matter", "period", "kind", "ratio", "scope", "due"
    )?;
    for s in schedule
        .iter()
        .filter(|s| args.matter.as_ref().is_none_or(|m| &s.matter == m))
    {
        let kind = match s.kind {
            DrawKind::Regular => "regular".to_string(),
            DrawKind::Holiday(h) => format!("holiday:{}", h.id()),
        };
        writeln!(
            out,
            "{:<17} {:<26} {:<16} {:<16} {:>6} {:<8} {:<10}",
            s.issue_at.format("%Y-%m-%d %H:%M"),
            s.matter,
            s.period.id,
            kind,
            s.ratio.to_string(),
            if s.key_area_only { "key-area" } else { "all" },
            s.due
        )?;
    }
    for p in &problems {
        eprintln!("error: {}: {}", p.matter, p.error);
    }
    Ok(if problems.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    })
}
