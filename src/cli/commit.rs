//! `suiji commit MATTER --period P --source "…" --source-time TIME`: commit to the public
//! source of a draw's seed before its value exists; `suiji draw … --reveal VALUE` draws
//! with it once announced.

use super::{Cli, Failed, exit, load_rules, now_local};
use crate::jobs::commit::Input;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Matter id, e.g. zhian.hotel (see `suiji check`).
    pub matter: String,
    /// Period id: 2025, 2025-H1, 2025-04-01T0900, … (see `suiji schedule`); a cron period
    /// may be written `2025-04-01T09:00` too.
    #[arg(long)]
    pub period: String,
    /// The named public source of the seed, e.g. "中国福利彩票3D 第2025001期开奖号码" or
    /// "drand quicknet round 5012345".
    #[arg(long)]
    pub source: String,
    /// When the source announces its value: 2025-01-02T21:15:00+08:00, or 2025-01-02 21:15
    /// in the bureau's time zone. Must be later than now.
    #[arg(long)]
    pub source_time: String,
    /// Commit for a redraw of the period's active draw (the redraw then reveals this
    /// commitment's value: `suiji draw … --redraw --reason "…" --reveal VALUE`).
    #[arg(long)]
    pub redraw: bool,
    /// Who commits (recorded in the audit log).
    #[arg(long, default_value = "operator")]
    pub actor: String,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    let input = Input {
        matter: args.matter.clone(),
        period: args.period.clone(),
        source: args.source.clone(),
        source_time: args.source_time.clone(),
        actor: args.actor.clone(),
        now: now_local(&loaded),
        redraw: args.redraw,
    };
    let database = super::db::postgres(cli)?;
    let k = crate::jobs::commit::commit_on(&loaded, &input, None, database.as_ref())?;
    outln!(
        "commitment #{} recorded at {}: {} {} will be drawn with the value of {} (announced {})",
        k.id,
        k.committed_at,
        k.matter,
        k.period,
        k.source,
        k.source_time
    );
    if k.period != args.period {
        outln!(
            "period {} recorded as {}, the id its draws are recorded under (docs/draw-algorithm.md V2-15)",
            args.period,
            k.period
        );
    }
    outln!(
        "registry snapshots {} / {}, rules {}, {}",
        k.targets_snapshot,
        k.inspectors_snapshot,
        k.rules_hash,
        k.algorithm
    );
    outln!(
        "published in out/public/commitments.json; once the value is announced: suiji draw {} --period {}{} --reveal \"VALUE\"",
        k.matter,
        k.period,
        if args.redraw {
            " --redraw --reason \"…\""
        } else {
            ""
        }
    );
    Ok(exit::OK)
}
