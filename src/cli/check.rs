//! `suiji check`: validate config, rules and scripts.

use super::{Cli, Failed, exit};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The year the hooks are tried in (their `year` and the dates they see): the current
    /// year in the bureau's time zone when omitted. Check next year's rules in December with
    /// `--year` set to it.
    #[arg(long)]
    pub year: Option<i32>,
    /// Check this platform file and every bureau it names (each as `suiji check --config`).
    #[arg(long, value_name = "FILE")]
    pub platform: Option<std::path::PathBuf>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    let Some(file) = &args.platform else {
        return check_config(&cli.config, args);
    };
    let platform = super::load_platform(file)?;
    outln!(
        "platform: {} ({}), {} bureaus",
        platform.name,
        platform.host,
        platform.bureaus.len()
    );
    for b in &platform.bureaus {
        outln!("bureau {} at {}:", b.bureau.name, b.host);
        check_config(&b.config, args).map_err(|mut f| {
            f.report = f.report.closing(format!(
                "bureau {} ({}) has problems; nothing was done.",
                b.bureau.name,
                b.config.display()
            ));
            f
        })?;
    }
    Ok(exit::OK)
}

/// `suiji check` of one engine config.
fn check_config(config: &std::path::Path, args: &Args) -> Result<i32, Failed> {
    // `check` checks the files on disk, approved or not.
    let loaded = crate::jobs::load_disk_rules(config)?;
    super::warn(&loaded);
    let year = args
        .year
        .unwrap_or_else(|| chrono::Datelike::year(&super::results::today_local(&loaded)));
    crate::jobs::hooks::dry_run(&loaded, year)?;
    let c = crate::jobs::check::run(&loaded)?;
    if !c.warnings.is_empty() {
        eprint!("{}", super::render(&loaded.sources, &c.warnings));
    }
    let joints = match c.joints.len() {
        0 => String::new(),
        1 => ", 1 joint plan".to_string(),
        n => format!(", {n} joint plans"),
    };
    outln!(
        "ok: {} — {} departments, {} matters{joints}, {} hooks; rules {}",
        c.bureau,
        c.departments.len(),
        c.matters,
        c.hooks,
        &c.rules_hash[..12]
    );
    for (id, name, matters) in &c.departments {
        outln!("  {id} {name}: {}", matters.join(", "));
    }
    for (id, name, members) in &c.joints {
        outln!("  joint {id} {name}: {}", members.join(" + "));
    }
    Ok(exit::OK)
}
