//! `suiji draw MATTER --period 2023-H1`: one draw, now.

use std::path::PathBuf;

use super::{
    Cli, exit, load_calendar, load_rules, now_local, open_store, render_registry_problems,
};
use crate::jobs::issue::seed::{SeedChoice, resolve};
use crate::jobs::issue::{IssueError, Request, freeze_registry, issue};

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
    #[arg(long)]
    pub seed_from: Option<PathBuf>,
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

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<i32> {
    let loaded = or_exit!(load_rules(cli));
    if loaded.model.matter(&args.matter).is_none() {
        return Ok(super::unknown_matter(&loaded.model, &args.matter));
    }
    let cal = or_exit!(load_calendar(&loaded, false));
    let scheduled =
        match crate::jobs::issue::find_scheduled(&loaded, &cal, &args.matter, &args.period) {
            Ok(Some(s)) => s,
            Ok(None) => {
                eprintln!("error: {} has no period `{}`", args.matter, args.period);
                if let Some(m) = loaded.model.matter(&args.matter) {
                    let year: i32 = args
                        .period
                        .get(..4)
                        .and_then(|y| y.parse().ok())
                        .unwrap_or(2023);
                    if let Ok(all) = crate::schedule::matter_schedule(
                        m,
                        &cal,
                        year,
                        loaded.model.config.timezone,
                    ) {
                        let ids: Vec<String> = all.iter().map(|s| s.period.id.clone()).collect();
                        eprintln!("  = help: its periods in {year} are: {}", ids.join(", "));
                    }
                }
                return Ok(exit::INVALID);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(exit::INVALID);
            }
        };
    let frozen = match freeze_registry(&loaded) {
        Ok(f) => f,
        Err(diags) => return Ok(render_registry_problems(&diags)),
    };
    let choice = match (&args.seed, &args.seed_from) {
        (Some(s), _) => SeedChoice::Given(s.clone()),
        (None, Some(f)) => SeedChoice::File(f.clone()),
        (None, None) => SeedChoice::Os,
    };
    let (seed, seed_source) = match resolve(&choice) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::INVALID);
        }
    };
    let mut store = open_store(&loaded)?;
    let req = Request {
        draw: scheduled,
        seed,
        seed_source,
        actor: args.actor.clone(),
        created_at: now_local(&loaded),
        redraw: if args.redraw {
            args.reason.clone()
        } else {
            None
        },
        dry_run: args.dry_run,
    };
    match issue(&loaded, &mut store, &frozen, &req) {
        Ok(issued) => {
            out!(
                "{}",
                super::draws::describe(&loaded, &frozen, &issued.manifest)
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
            Ok(exit::OK)
        }
        Err(IssueError::AlreadyDrawn {
            matter,
            period,
            draw_id,
            created_at,
        }) => {
            eprintln!("error: {matter} {period} was already drawn (draw #{draw_id}, {created_at})");
            eprintln!(
                "  = help: a draw is never repeated silently; to replace it run with --redraw --reason \"…\" (the old draw is kept and the redraw audited)"
            );
            Ok(exit::INVALID)
        }
        Err(e @ IssueError::Draw { .. }) => {
            eprintln!("error: {e}");
            Ok(exit::FAILED)
        }
        Err(e) => Err(e.into()),
    }
}
