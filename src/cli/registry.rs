//! `suiji registry check` and `suiji gen-registry`.

use std::path::PathBuf;

use super::{Cli, exit, load_rules, render_registry_problems};

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

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<i32> {
    let loaded = or_exit!(load_rules(cli));
    match args.action {
        Action::Check => {
            let cfg = &loaded.model.config;
            let known = crate::registry::Known::from_model(&loaded.model);
            match crate::registry::check(
                &cfg.registries.targets,
                &cfg.registries.inspectors,
                &cfg.root,
                &known,
            ) {
                Ok((registry, warnings)) => {
                    if !warnings.is_empty() {
                        eprint!(
                            "{}",
                            crate::diag::render(&crate::diag::Sources::default(), &warnings)
                        );
                    }
                    let f = crate::jobs::issue::Frozen::new(registry);
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
                Err(diags) => Ok(render_registry_problems(&diags)),
            }
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

pub fn generate(args: &GenArgs) -> anyhow::Result<i32> {
    use anyhow::Context as _;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let t = args.out.join("targets.csv");
    let i = args.out.join("inspectors.csv");
    crate::registry::generate::write_targets(&t, args.targets, args.seed)
        .with_context(|| format!("cannot write {}", t.display()))?;
    crate::registry::generate::write_inspectors(&i, args.inspectors, args.seed)
        .with_context(|| format!("cannot write {}", i.display()))?;
    outln!(
        "wrote {} ({} targets) and {} ({} inspectors)",
        t.display(),
        args.targets,
        i.display(),
        args.inspectors
    );
    Ok(exit::OK)
}
