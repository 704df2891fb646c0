//! `suiji change replace-target|mark-out-of-scope|replace-inspector|list DRAW …`: changes
//! after a draw (替补, 不在范围, 人员调整), each recorded and audited with its reason; the
//! replacement is the one the draw fixed, never chosen here.

use super::{Cli, Failed, exit};
use crate::jobs::change::{Input, open_on};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ChangeCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ChangeCommand {
    /// Replace a drawn target found closed, moved or out of scope by its stratum's next
    /// substitute in rank order (替补).
    ReplaceTarget(TargetArgs),
    /// Mark a drawn target found outside the scope, without a substitute (不在范围).
    MarkOutOfScope(MarkArgs),
    /// Replace a team member who is ill, transferred or in conflict by the next eligible
    /// inspector in the target's ranking (人员调整).
    ReplaceInspector(InspectorArgs),
    /// A draw's targets and teams as its changes left them, the changes, and the next
    /// substitute of each stratum.
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// The draw: its number (`12` or `#12`, as `suiji draws` lists it) or its 抽取编号 (the
    /// first column of its task list).
    #[arg(value_parser = draw_given)]
    pub draw: DrawGiven,
    /// The drawn target's id.
    pub target: String,
    /// Why, in words (recorded and published with the change).
    #[arg(long)]
    pub reason: String,
    /// Who makes the change (recorded in the audit log).
    #[arg(long, default_value = "operator")]
    pub actor: String,
}

#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    #[command(flatten)]
    pub common: Common,
    /// closed (已注销/停业), moved (已迁出), out-of-scope (不在抽查范围).
    #[arg(long)]
    pub cause: String,
    /// The substitute you expect (as `change list` shows it): refused unless it is the next.
    #[arg(long)]
    pub substitute: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct MarkArgs {
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, clap::Args)]
pub struct InspectorArgs {
    #[command(flatten)]
    pub common: Common,
    /// The team member to replace.
    pub inspector: String,
    /// ill (病假), transferred (调离), conflict (回避, this target only), other.
    #[arg(long)]
    pub cause: String,
    /// The replacement you expect: refused unless it is the next eligible inspector.
    #[arg(long)]
    pub replacement: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The draw: its number or its 抽取编号.
    #[arg(value_parser = draw_given)]
    pub draw: DrawGiven,
}

/// A draw as given on the command line.
#[derive(Debug, Clone)]
pub enum DrawGiven {
    Number(i64),
    /// 抽取编号: the start of its manifest's hash (lowercase hex).
    Ref(String),
}

fn draw_given(given: &str) -> Result<DrawGiven, String> {
    let number = given.strip_prefix('#').unwrap_or(given);
    if let Ok(n) = number.parse() {
        return Ok(DrawGiven::Number(n));
    }
    let hex = given.trim().to_ascii_lowercase();
    if (6..=64).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(DrawGiven::Ref(hex));
    }
    Err(format!(
        "`{given}` is neither a draw number nor an 抽取编号; `suiji draws` lists the numbers (12 or #12), a task list's first column the 抽取编号"
    ))
}

impl DrawGiven {
    /// The draw's number, an 抽取编号 looked up among the recorded draws.
    fn number(&self, store: &dyn crate::store::DrawStore) -> Result<i64, Failed> {
        match self {
            DrawGiven::Number(n) => Ok(*n),
            DrawGiven::Ref(r) => Ok(crate::jobs::change::draw_of_ref(store, r)?),
        }
    }
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let database = super::db::postgres(cli)?;
    let (mut store, tz) = open_on(&cli.config, database.as_ref())?;
    let store = &mut *store;
    let now = chrono::Utc::now()
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    let input = |c: &Common, cause: &str| -> Result<Input, Failed> {
        Ok(Input {
            draw_id: c.draw.number(&*store)?,
            target_id: c.target.clone(),
            inspector_id: None,
            cause: cause.replace('-', "_"),
            no_replacement: false,
            expect: None,
            reason: c.reason.clone(),
            actor: c.actor.clone(),
            now: now.clone(),
        })
    };
    let input = match &args.command {
        ChangeCommand::List(a) => {
            let draw = a.draw.number(&*store)?;
            return list(store, draw);
        }
        ChangeCommand::ReplaceTarget(a) => Input {
            expect: a.substitute.clone(),
            ..input(&a.common, &a.cause)?
        },
        ChangeCommand::MarkOutOfScope(a) => Input {
            no_replacement: true,
            ..input(&a.common, "out_of_scope")?
        },
        ChangeCommand::ReplaceInspector(a) => Input {
            inspector_id: Some(a.inspector.clone()),
            expect: a.replacement.clone(),
            ..input(&a.common, &a.cause)?
        },
    };
    let done = crate::jobs::change::record(store, &input)?;
    let c = &done.change;
    let what = match (&c.inspector_id, &c.replacement) {
        (Some(out), Some(by)) => format!("inspector {out} at {} replaced by {by}", c.target_id),
        (None, Some(by)) => format!("target {} replaced by substitute {by}", c.target_id),
        _ => format!("target {} marked out of scope, not replaced", c.target_id),
    };
    outln!(
        "change #{} of draw #{} recorded at {}: {what} ({}: {})",
        c.id,
        c.draw_id,
        c.changed_at,
        c.cause,
        c.reason
    );
    for x in &done.conflicts {
        let how = if x.declared {
            "declares a 回避 naming"
        } else {
            "has a 回避, by the matter's conflict hook, with"
        };
        outln!(
            "note: team member {} {how} {}: suiji change replace-inspector {} {} {} --cause conflict --reason …",
            x.inspector_id,
            c.replacement.as_deref().unwrap_or_default(),
            c.draw_id,
            c.replacement.as_deref().unwrap_or_default(),
            x.inspector_id
        );
    }
    Ok(exit::OK)
}

/// `change list DRAW`.
fn list(store: &dyn crate::store::DrawStore, id: i64) -> Result<i32, Failed> {
    let d = crate::jobs::change::load(store, id, false)?;
    outln!(
        "draw #{id}: {} {} ({} changes)",
        d.manifest.matter,
        d.manifest.period.id,
        d.changes.len()
    );
    for v in d.state.standing_visits() {
        let stands_in = v
            .replaces
            .as_ref()
            .map(|r| format!(" (substitute for {r})"))
            .unwrap_or_default();
        outln!("  {}{stands_in}: {}", v.target_id, v.team.join(", "));
    }
    let mut strata: Vec<(&str, &str)> = d
        .state
        .standing_visits()
        .map(|v| (v.stratum.as_str(), v.target_id.as_str()))
        .collect();
    strata.sort();
    strata.dedup_by(|a, b| a.0 == b.0);
    for (stratum, any) in strata {
        match d.state.next_substitute(&d.manifest, any) {
            Ok(s) => outln!(
                "next substitute of stratum {stratum:?}: {} (rank {})",
                s.target_id,
                s.rank
            ),
            Err(e) => outln!("next substitute of stratum {stratum:?}: none ({e})"),
        }
    }
    for c in &d.changes {
        outln!(
            "change #{} {} {}: {} {} → {} ({}; {}, {})",
            c.id,
            c.changed_at,
            c.kind,
            c.target_id,
            c.inspector_id.as_deref().unwrap_or(""),
            c.replacement.as_deref().unwrap_or("—"),
            c.cause,
            c.reason,
            c.actor
        );
    }
    Ok(exit::OK)
}
