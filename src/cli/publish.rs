//! `suiji publish`: the public notice of inspection results, per draw, on time.

use chrono::NaiveDate;

use super::results::today_local;
use super::{Cli, Failed, exit, now_local};
use crate::jobs::publish::{Input, Published};

#[derive(Debug, clap::Args)]
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
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let mut cx = super::open(cli)?;
    let input = Input {
        as_of: args.today,
        today: today_local(&cx.loaded),
        now: now_local(&cx.loaded),
        year: args.year,
        matter: args.matter.clone(),
        period: args.period.clone(),
        dry_run: args.dry_run,
        actor: args.actor.clone(),
    };
    // The record is written first; what is printed says what happened.
    let published = crate::jobs::publish::run(&mut cx, &input)?;
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
