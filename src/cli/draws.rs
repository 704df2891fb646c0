//! `suiji draws`: the recorded draws; and the text description of a draw.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Cli, Failed, exit, open_store_of_config};
use crate::draw::manifest::Manifest;
use crate::jobs::issue::Frozen;
use crate::rules::Loaded;
use crate::store::DrawFilter;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only draws of this year.
    #[arg(long)]
    pub year: Option<i32>,
    /// Only this matter.
    #[arg(long)]
    pub matter: Option<String>,
    /// Include draws superseded by a redraw.
    #[arg(long)]
    pub all: bool,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let store: Box<dyn crate::store::DrawStore> = match super::db::postgres(cli)? {
        Some(url) => Box::new(crate::jobs::database::open(&url)?),
        None => Box::new(open_store_of_config(cli)?),
    };
    let filter = DrawFilter {
        matter: args.matter.clone(),
        period_prefix: args.year.map(|y| y.to_string()),
        include_superseded: args.all,
    };
    let draws = crate::jobs::draws::run(&*store, &filter)?;
    outln!(
        "{:>5}  {:<26} {:<14} {:<10} {:<16}  {:<10} {:>7}  {:<10} {:<10} {:<12}",
        "id",
        "matter",
        "period",
        "kind",
        "drawn",
        "scheduled",
        "targets",
        "status",
        "marks",
        "seed source"
    );
    for listed in &draws {
        let (d, n, m) = (&listed.draw, listed.targets, &listed.marks);
        outln!(
            "{:>5}  {:<26} {:<14} {:<10} {:<16}  {:<10} {:>7}  {:<10} {:<10} {}",
            d.id,
            d.matter,
            d.period,
            d.kind,
            m.drawn_at,
            d.issue_date,
            n,
            d.status.as_str(),
            m.words(),
            d.seed_source
        );
    }
    outln!(
        "{} draw{}",
        draws.len(),
        if draws.len() == 1 { "" } else { "s" }
    );
    Ok(exit::OK)
}

/// Drawn targets above which the console lists only the first [`LISTED_FIRST`] of them and
/// says where the full list is: a national draw (367 435 targets at 10M) is a file, not a
/// terminal's scrollback.
pub(crate) const LISTED_UP_TO: usize = 1_000;

/// How many drawn targets a draw above [`LISTED_UP_TO`] lists on the console.
const LISTED_FIRST: usize = 20;

/// A draw as text: counts per stratum, exclusions by reason, the drawn targets and teams (the
/// first [`LISTED_FIRST`] of more than [`LISTED_UP_TO`], then where the full list is: the task
/// list in `folder`, or nowhere for a dry run).
pub(crate) fn describe(
    loaded: &Loaded,
    frozen: &Frozen,
    m: &Manifest,
    folder: Option<&std::path::Path>,
) -> String {
    let names: HashMap<&str, &str> = frozen
        .registry
        .inspectors
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let mut out = String::new();
    let matter_name = loaded
        .model
        .matter(&m.matter)
        .map_or(m.matter_name.as_str(), |x| x.name.as_str());
    let _ = writeln!(
        out,
        "{} — {} {} ({})",
        m.matter, matter_name, m.period.id, m.kind
    );
    let _ = writeln!(
        out,
        "seed {} ({}), algorithm {}",
        m.seed, m.seed_source, m.algorithm
    );
    let _ = writeln!(
        out,
        "registry {} ({} targets), rules {}",
        &m.registry.targets_snapshot[..12],
        m.registry.targets_rows,
        &m.rules_hash[..12]
    );
    let by_reason = m.excluded_by_reason();
    let eligible: usize = m.strata.iter().map(|s| s.eligible).sum();
    let excluded: Vec<String> = by_reason.iter().map(|(r, n)| format!("{n} {r}")).collect();
    let _ = writeln!(
        out,
        "eligible {eligible}; excluded {}",
        if excluded.is_empty() {
            "none".to_string()
        } else {
            excluded.join(", ")
        }
    );
    for s in &m.strata {
        let label = if s.stratum.is_empty() {
            "(all)"
        } else {
            s.stratum.as_str()
        };
        let _ = writeln!(
            out,
            "  stratum {label}: {} eligible, draw {} at {:.4}%",
            s.eligible,
            s.k,
            f64::from(s.ratio_ppm) / 10_000.0
        );
    }
    selected(&mut out, &names, m, folder);
    out
}

/// The drawn targets and their teams (or the first of many, and where the rest are), then the
/// counts.
fn selected(
    out: &mut String,
    names: &HashMap<&str, &str>,
    m: &Manifest,
    folder: Option<&std::path::Path>,
) {
    let listed = if m.selected.len() > LISTED_UP_TO {
        LISTED_FIRST
    } else {
        m.selected.len()
    };
    let _ = writeln!(
        out,
        "{:>4}  {:<14} {:<20} {:<30} team",
        "rank", "stratum", "target", "name"
    );
    for s in &m.selected[..listed] {
        let team = if let Some(reason) = &s.unstaffed {
            format!("UNSTAFFED: {reason}")
        } else {
            s.team
                .iter()
                .map(|id| format!("{}({id})", names.get(id.as_str()).copied().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let _ = writeln!(
            out,
            "{:>4}  {:<14} {:<20} {:<30} {team}",
            s.rank, s.stratum, s.target_id, s.target_name
        );
    }
    if listed < m.selected.len() {
        let rest = m.selected.len() - listed;
        let _ = match folder {
            Some(folder) => writeln!(
                out,
                "… and {rest} more, not listed here: every drawn target with its team is in {} (public fields: public.csv; the record: manifest.json)",
                folder.join("tasks.csv").display()
            ),
            None => writeln!(
                out,
                "… and {rest} more, not listed here (a dry run writes no files; the draw itself lists them in its tasks.csv)"
            ),
        };
    }
    let unstaffed = m.selected.iter().filter(|s| s.unstaffed.is_some()).count();
    let avoided = m
        .inspector_skips
        .iter()
        .filter(|s| s.reason.ends_with("conflict"))
        .count();
    let _ = writeln!(
        out,
        "{} drawn, {unstaffed} unstaffed, {avoided} 回避 skips",
        m.selected.len()
    );
}
