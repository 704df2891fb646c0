//! `suiji schedule --year 2023`: every draw of the year with its dates.

use std::io::Write;

use super::{Cli, Failed, load_rules};
use crate::jobs::schedule::Input;
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

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    let schedule = crate::jobs::schedule::run(
        &loaded,
        &Input {
            year: args.year,
            provisional: args.provisional,
            matter: args.matter.clone(),
        },
    )?;
    if schedule.provisional {
        super::provisional_warning(args.year);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<17} {:<26} {:<16} {:<16} {:>6} {:<8} {:<10} frequency",
        "issue", "matter", "period", "kind", "ratio", "scope", "due"
    )?;
    for s in &schedule.draws {
        let kind = match s.kind {
            DrawKind::Regular => "regular".to_string(),
            DrawKind::Holiday(h) => format!("holiday:{}", h.id()),
        };
        // How often, in the words of the plan (never cron text).
        let frequency = match s.kind {
            DrawKind::Regular => match loaded.model.matter(&s.matter) {
                None => String::new(),
                Some(m) => match crate::schedule::class_cover(m, s.kind, &s.period) {
                    Some(cover) => format!("{}；{}", m.frequency.label_zh(), cover.label_zh()),
                    None => m.frequency.label_zh(),
                },
            },
            DrawKind::Holiday(h) => format!("{}前加强抽查", h.name_zh()),
        };
        writeln!(
            out,
            "{:<17} {:<26} {:<16} {:<16} {:>6} {:<8} {:<10} {}",
            s.issue_at.format("%Y-%m-%d %H:%M"),
            s.matter,
            s.period.id,
            kind,
            s.ratio.to_string(),
            if s.key_area_only { "key-area" } else { "all" },
            s.due,
            frequency
        )?;
    }
    out.flush()?;
    Ok(super::with_problems(&schedule.problems))
}
