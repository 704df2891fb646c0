//! `suiji publish`: the public notice of inspection results, per draw, on time.

use chrono::NaiveDate;

use super::results::today_local;
use super::{Cli, Failed, exit, now_local};
use crate::jobs::publish::{Input, Published};
use crate::results::ledger::ledgers;
use crate::rules::Loaded;
use crate::store::{DrawFilter, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Publish as of this day (default: today in the bureau's time zone). Results of
    /// inspections that ended later wait for a later publication; used to replay a past year.
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

/// The publication part of `suiji status`: inspected results due for publication within
/// `within` working days, and everything overdue (an inspection not done by the draw's due
/// date, a result not published by its deadline, a target with no team). Prints the section;
/// returns the number of overdue lines.
pub(crate) fn status_section(
    loaded: &Loaded,
    cal: &crate::calendar::Calendar,
    store: &Store,
    today: NaiveDate,
    within: u32,
) -> anyhow::Result<usize> {
    use crate::results::ledger::State;
    let all = ledgers(store, &loaded.model, cal, &DrawFilter::default())?;
    let horizon = cal.add_working_days(today, within)?;
    outln!();
    outln!(
        "publication of results (deadlines falling within {within} working days, and everything overdue)"
    );
    let mut overdue = 0;
    let mut lines = 0;
    let mut later = 0;
    let mut awaiting_inspection = 0;
    for l in all.iter().filter(|l| l.issue_date <= today) {
        let name = format!("#{} {} {}", l.draw.id, l.draw.matter, l.draw.period);
        let mut due_soon: Vec<NaiveDate> = Vec::new();
        let mut late_pub: Vec<NaiveDate> = Vec::new();
        let (mut not_inspected, mut unstaffed) = (0, 0);
        for t in &l.targets {
            match t.state(l.due_date, today) {
                State::AwaitingPublication => match t.deadline {
                    Some(d) if d <= horizon => due_soon.push(d),
                    _ => later += 1,
                },
                State::PublicationOverdue => late_pub.extend(t.deadline),
                State::InspectionOverdue => not_inspected += 1,
                State::Unstaffed => unstaffed += 1,
                State::NotInspected | State::Partial => awaiting_inspection += 1,
                State::OnTime | State::Late => {}
            }
        }
        if let Some(first) = late_pub.iter().min() {
            overdue += 1;
            lines += 1;
            outln!(
                "  OVERDUE    {name}: {} inspected target{} not published; deadline {first} passed — counts as not done",
                late_pub.len(),
                if late_pub.len() == 1 { "" } else { "s" }
            );
        }
        if not_inspected > 0 {
            overdue += 1;
            lines += 1;
            outln!(
                "  OVERDUE    {name}: {not_inspected} of {} drawn targets without complete results; inspections were due {}",
                l.targets.len(),
                l.due_date
            );
        }
        if unstaffed > 0 {
            overdue += 1;
            lines += 1;
            outln!(
                "  UNSTAFFED  {name}: {unstaffed} drawn target{} with no team — cannot be inspected under this draw",
                if unstaffed == 1 { "" } else { "s" }
            );
        }
        if let Some(first) = due_soon.iter().min() {
            lines += 1;
            let left = cal.working_days_between(today, *first)?;
            outln!(
                "  DUE        {name}: {} inspected target{} to publish, the first by {first} ({left} working day{} left)",
                due_soon.len(),
                if due_soon.len() == 1 { "" } else { "s" },
                if left == 1 { "" } else { "s" }
            );
        }
    }
    if lines == 0 {
        outln!("  nothing overdue, nothing due within {within} working days");
    }
    outln!(
        "  ({later} inspected target{} due for publication later; {awaiting_inspection} awaiting inspection)",
        if later == 1 { "" } else { "s" }
    );
    Ok(overdue)
}
