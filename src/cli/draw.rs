//! `suiji draw MATTER --period 2023-H1`: one draw, now.

use std::path::PathBuf;

use super::{Cli, Failed, exit, load_rules, now_local};
use crate::jobs::draw::Input;
use crate::jobs::issue::seed::SeedChoice;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Matter id, e.g. zhian.hotel (see `suiji check`).
    pub matter: String,
    /// Period id: 2023, 2023-H1, 2023-Q2, 2023-05, 2023-chunjie (see `suiji schedule`).
    #[arg(long)]
    pub period: String,
    /// Seed: 64 hex digits, or public text to hash (witness digits, a lottery result).
    #[arg(long, conflicts_with = "seed_from")]
    pub seed: Option<String>,
    /// Read the seed text from a file (e.g. a saved lottery result or beacon value).
    #[arg(long, conflicts_with = "reveal")]
    pub seed_from: Option<PathBuf>,
    /// The announced value of the public source committed to with `suiji commit` (the
    /// lottery numbers, the beacon value); accepted only after the source's announced time.
    #[arg(long, conflicts_with = "seed")]
    pub reveal: Option<String>,
    /// Show the draw without recording it or writing files.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace the active draw of this matter and period (kept, marked superseded; audited).
    #[arg(long, requires = "reason")]
    pub redraw: bool,
    /// Why the draw is replaced (required with --redraw).
    #[arg(long)]
    pub reason: Option<String>,
    /// Who draws (recorded in the audit log).
    #[arg(long, default_value = "operator")]
    pub actor: String,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    let input = Input {
        matter: args.matter.clone(),
        period: args.period.clone(),
        seed: match (&args.seed, &args.seed_from) {
            (Some(s), _) => SeedChoice::Given(s.clone()),
            (None, Some(f)) => SeedChoice::File(f.clone()),
            (None, None) => SeedChoice::Os,
        },
        reveal: args.reveal.clone(),
        dry_run: args.dry_run,
        redraw: if args.redraw {
            args.reason.clone()
        } else {
            None
        },
        replaces: None,
        actor: args.actor.clone(),
        now: now_local(&loaded),
    };
    let database = super::db::postgres(cli)?;
    let drawn = crate::jobs::draw::run_on(&loaded, &input, None, database.as_ref())?;
    let issued = &drawn.issued;
    out!(
        "{}",
        super::draws::describe(
            &loaded,
            &drawn.frozen,
            &issued.manifest,
            issued.folder.as_deref()
        )
    );
    match (issued.draw_id, &issued.folder) {
        (Some(id), Some(folder)) => {
            outln!("recorded as draw #{id}; files in {}", folder.display());
            outln!(
                "verify with: suiji verify {}",
                folder.join("manifest.json").display()
            );
        }
        _ => outln!("dry run: nothing recorded, no files written"),
    }
    // The command ends here: its memory goes back with the process, not entry by entry (a
    // national draw's manifest is millions of allocations, a fifth of a second to free).
    std::mem::forget(drawn);
    Ok(exit::OK)
}
