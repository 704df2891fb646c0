//! `suiji verify MANIFEST|DRAW`: re-run a recorded draw from its archived inputs and compare;
//! `suiji verify --bundle FILE`: check a draw's public bundle (its selection, from its frame)
//! or re-run the whole draw from its audit bundle, without the database.

use std::path::PathBuf;

use super::{Cli, Failed, exit};
use crate::jobs::verify::{Input, Verdict, Which};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A draw's manifest.json, or a draw's number (`12` or `#12`, as `suiji draws` lists it;
    /// an existing file of that name is taken as the manifest).
    #[arg(required_unless_present = "bundle")]
    pub manifest: Option<PathBuf>,
    /// A draw's bundle instead: `bundle.public.json` (the selection is recomputed from its
    /// frame; `exclusions.csv` beside it is checked by its hash) or `bundle.audit.gz` (the
    /// whole draw is re-run from its archived rules and registry snapshots); no database or
    /// project folder is needed. An audit bundle that refers to its target snapshot by hash
    /// finds `<hash>.csv` beside it, or in `snapshots/` of the folder `--data` gives.
    #[arg(long, conflicts_with = "manifest")]
    pub bundle: Option<PathBuf>,
    /// Data folder holding the archived snapshots (default: the config's).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    if let Some(file) = &args.bundle {
        let snapshots = args.data.as_deref().map(crate::store::snapshot_dir_in);
        return bundle(file, snapshots.as_deref());
    }
    let Some(given) = &args.manifest else {
        return Ok(exit::INVALID);
    };
    let number = given
        .to_str()
        .map(|s| s.strip_prefix('#').unwrap_or(s))
        .and_then(|s| s.parse::<i64>().ok());
    let which = match number {
        Some(n) if !given.exists() => Which::Draw(n),
        _ => Which::Manifest(given.clone()),
    };
    let v = crate::jobs::verify::run(&Input {
        which,
        data: args.data.clone(),
        config: cli.config.clone(),
        database: super::db::postgres(cli)?,
    })?;
    let manifest = &v.manifest;
    let code = match &v.verdict {
        Verdict::Identical => {
            let record = match &v.record {
                Some(Ok(d)) => match d.superseded_by {
                    Some(by) => format!("draw #{}, superseded by #{by}", d.id),
                    None => format!("draw #{}", d.id),
                },
                Some(Err(e)) => e.clone(),
                None => String::new(),
            };
            let record = match v.changes {
                0 => record,
                n => {
                    format!("{record}; its {n} changes after the draw each the one its rules give")
                }
            };
            outln!(
                "identical: re-running {} {} from the archived registry and rules gives the recorded draw ({record}; {} targets, manifest {})",
                manifest.matter,
                manifest.period.id,
                manifest.selected.len(),
                &manifest.manifest_hash[..16.min(manifest.manifest_hash.len())]
            );
            if let Some(summary) = &manifest.exclusion_summary {
                match &v.detail_file {
                    // The name only: the output is the same wherever the folder is.
                    Some(path) => outln!(
                        "{} ({} excluded targets) hashes to the recorded {}",
                        path.file_name().unwrap_or_default().to_string_lossy(),
                        summary.rows,
                        &summary.sha256[..16.min(summary.sha256.len())]
                    ),
                    None => outln!(
                        "{} not found beside the manifest: the re-run gives the {} excluded targets with the recorded hash {}",
                        summary.file,
                        summary.rows,
                        &summary.sha256[..16.min(summary.sha256.len())]
                    ),
                }
            }
            exit::OK
        }
        Verdict::Differs(diffs) => {
            outln!("DIFFERS: {} {}", manifest.matter, manifest.period.id);
            for d in diffs {
                outln!("  - {d}");
            }
            exit::INVALID
        }
    };
    // The command ends here: its memory goes back with the process, not entry by entry (a
    // national draw's manifest is millions of allocations, a fifth of a second to free).
    std::mem::forget(v);
    Ok(code)
}

/// `verify --bundle FILE`.
fn bundle(file: &std::path::Path, snapshots: Option<&std::path::Path>) -> Result<i32, Failed> {
    let c = crate::jobs::bundle::check(file, snapshots)?;
    let what = if c.kind == "audit" {
        "re-running the whole draw from its audit bundle gives the recorded draw"
    } else {
        "recomputing the selection from the public bundle's frame gives the selection it states"
    };
    if c.differences.is_empty() && c.unchecked.is_empty() {
        outln!(
            "identical: {} {}: {what} ({} eligible, {} drawn; public bundle {})",
            c.matter,
            c.period,
            c.eligible,
            c.drawn,
            c.public_hash
        );
        return Ok(exit::OK);
    }
    if c.differences.is_empty() {
        // Nothing differs, but not everything was checked: neither identical nor DIFFERS.
        outln!(
            "not fully checked: {} {}: {what} ({} eligible, {} drawn; public bundle {}), but not checked:",
            c.matter,
            c.period,
            c.eligible,
            c.drawn,
            c.public_hash
        );
        for u in &c.unchecked {
            outln!("  - {u}");
        }
        return Ok(exit::FAILED);
    }
    outln!("DIFFERS: {} {} ({} bundle)", c.matter, c.period, c.kind);
    for d in &c.differences {
        outln!("  - {d}");
    }
    for u in &c.unchecked {
        outln!("  - not checked: {u}");
    }
    Ok(exit::INVALID)
}
