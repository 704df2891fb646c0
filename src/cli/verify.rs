//! `suiji verify MANIFEST`: re-run a recorded draw from its archived inputs and compare.

use std::path::PathBuf;

use super::{Cli, exit, open_store_at};
use crate::draw::manifest::Manifest;
use crate::jobs::verify::{Verdict, verify_manifest};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A draw's manifest.json.
    pub manifest: PathBuf,
    /// Data folder holding the archived snapshots (default: the config's).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<i32> {
    let text = match std::fs::read_to_string(&args.manifest) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.manifest.display());
            return Ok(exit::INVALID);
        }
    };
    let manifest: Manifest = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            eprintln!(
                "error: {} is not a suiji draw manifest: {e}",
                args.manifest.display()
            );
            return Ok(exit::INVALID);
        }
    };
    let data = match &args.data {
        Some(d) => d.clone(),
        None => match crate::rules::load_config(&cli.config) {
            Ok(config) => config.data_dir,
            Err(_) => crate::rules::config::root_of(&cli.config).join("data"),
        },
    };
    let store = open_store_at(&data)?;
    match verify_manifest(&manifest, &store) {
        Verdict::Identical => {
            let record = match crate::jobs::verify::recorded(&manifest, &store) {
                Ok(d) => match d.superseded_by {
                    Some(by) => format!("draw #{}, superseded by #{by}", d.id),
                    None => format!("draw #{}", d.id),
                },
                Err(e) => e,
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
