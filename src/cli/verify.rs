//! `suiji verify MANIFEST|DRAW`: re-run a recorded draw from its archived inputs and compare.

use std::path::PathBuf;

use super::{Cli, Failed, exit};
use crate::jobs::verify::{Input, Verdict, Which};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A draw's manifest.json, or a draw's number (`12` or `#12`, as `suiji draws` lists it;
    /// an existing file of that name is taken as the manifest).
    pub manifest: PathBuf,
    /// Data folder holding the archived snapshots (default: the config's).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let number = args
        .manifest
        .to_str()
        .map(|s| s.strip_prefix('#').unwrap_or(s))
        .and_then(|s| s.parse::<i64>().ok());
    let which = match number {
        Some(n) if !args.manifest.exists() => Which::Draw(n),
        _ => Which::Manifest(args.manifest.clone()),
    };
    let v = crate::jobs::verify::run(&Input {
        which,
        data: args.data.clone(),
        config: cli.config.clone(),
    })?;
    let manifest = &v.manifest;
    match &v.verdict {
        Verdict::Identical => {
            let record = match &v.record {
                Some(Ok(d)) => match d.superseded_by {
                    Some(by) => format!("draw #{}, superseded by #{by}", d.id),
                    None => format!("draw #{}", d.id),
                },
                Some(Err(e)) => e.clone(),
                None => String::new(),
            };
            outln!(
                "identical: re-running {} {} from the archived registry and rules gives the recorded draw ({record}; {} targets, manifest {})",
                manifest.matter,
                manifest.period.id,
                manifest.selected.len(),
                &manifest.manifest_hash[..16.min(manifest.manifest_hash.len())]
            );
            Ok(exit::OK)
        }
        Verdict::Differs(diffs) => {
            outln!("DIFFERS: {} {}", manifest.matter, manifest.period.id);
            for d in diffs {
                outln!("  - {d}");
            }
            Ok(exit::INVALID)
        }
    }
}
