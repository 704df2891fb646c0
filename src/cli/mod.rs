//! The command line. Only this module knows clap; each subcommand has its own file.

mod check;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Exit codes, in one place.
pub mod exit {
    /// Everything worked.
    pub const OK: i32 = 0;
    /// The input (rules, registries, results, flags) has problems; nothing was written.
    pub const INVALID: i32 = 1;
    /// The command could not run (I/O, database, internal error).
    pub const FAILED: i32 = 2;
    /// The command ran, but some matters failed (e.g. a hook blew its limits).
    pub const PARTIAL: i32 = 3;
}

#[derive(Debug, Parser)]
#[command(
    name = "suiji",
    version,
    about = "双随机、一公开: rule-driven random inspection plans, verifiable draws and publication",
    long_about = None
)]
pub struct Cli {
    /// Engine config file.
    #[arg(long, global = true, default_value = "config/suiji.toml", env = "SUIJI_CONFIG")]
    pub config: PathBuf,

    /// Log as JSON lines instead of human-readable text (level from RUST_LOG).
    #[arg(long, global = true)]
    pub log_json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config, every rule file and every script; report all problems.
    Check(check::Args),
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::INVALID } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    init_logging(cli.log_json);
    let result = match &cli.command {
        Command::Check(args) => check::run(&cli, args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::FAILED
        }
    }
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Loads the rules or prints every problem; `Err(code)` when loading failed.
pub(crate) fn load_rules(cli: &Cli) -> Result<crate::rules::Loaded, i32> {
    match crate::rules::load(&cli.config) {
        Ok(loaded) => {
            if !loaded.warnings.is_empty() {
                eprint!("{}", crate::diag::render(&loaded.sources, &loaded.warnings));
            }
            Ok(loaded)
        }
        Err(e) => {
            eprint!("{}", e.render());
            let n = e.diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!("{n} problem{} found; nothing was done.", if n == 1 { "" } else { "s" });
            Err(exit::INVALID)
        }
    }
}
