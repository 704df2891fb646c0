//! `suiji registry check` and `suiji gen-registry`.

use std::path::PathBuf;

use super::{Cli, Failed, exit, load_rules};
use crate::diag::Report;
use crate::jobs::registry::GenInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Read the registries named in the config and report every bad row.
    Check,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    match args.action {
        Action::Check => {
            let checked = crate::jobs::registry::check(&loaded)?;
            if !checked.warnings.is_empty() {
                super::say(
                    super::Level::Warn,
                    &super::render_report(&Report::of(checked.warnings)),
                );
            }
            let f = &checked.frozen;
            outln!(
                "ok: {} targets, {} inspectors; snapshot {} / {}",
                f.info.targets_rows,
                f.info.inspectors_rows,
                &f.info.targets_snapshot[..12],
                &f.info.inspectors_snapshot[..12]
            );
            for (file, sha) in &f.registry.sources {
                outln!("  {file}  sha256 {}", &sha[..16.min(sha.len())]);
            }
            Ok(exit::OK)
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct GenArgs {
    /// Number of targets to generate.
    #[arg(long)]
    pub targets: u64,
    /// Number of inspectors.
    #[arg(long, default_value_t = 200)]
    pub inspectors: u64,
    /// Generator seed (synthetic data only; not a draw seed).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder (targets.csv and inspectors.csv).
    #[arg(long, default_value = "out/generated")]
    pub out: PathBuf,
}

pub fn generate(args: &GenArgs) -> Result<i32, Failed> {
    let written = crate::jobs::registry::generate(&GenInput {
        targets: args.targets,
        inspectors: args.inspectors,
        seed: args.seed,
        out: args.out.clone(),
    })?;
    outln!(
        "wrote {} ({} targets) and {} ({} inspectors)",
        written.targets.display(),
        args.targets,
        written.inspectors.display(),
        args.inspectors
    );
    Ok(exit::OK)
}
