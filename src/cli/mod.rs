//! The command line. Only this module knows clap; each subcommand has its own file.

/// Prints a line to stdout; a closed pipe (`suiji draws | head`) ends the process quietly
/// instead of panicking.
macro_rules! outln {
    () => { $crate::cli::emit(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::emit(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Like [`outln!`] without the newline.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::emit(format_args!($($arg)*)) };
}

mod audit;
mod change;
mod check;
mod commit;
mod db;
mod draw;
mod draws;
mod lang;
mod plan;
mod publish;
mod regenerate;
mod registry;
mod report;
mod results;
mod rules;
mod schedule;
mod serve;
mod service;
mod user;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub(crate) use lang::{render, render_report};

/// Exit codes, in one place.
pub mod exit {
    use crate::diag::Fault;

    /// Everything worked.
    pub(crate) const OK: i32 = 0;
    /// The input (rules, registries, results, flags) has problems; nothing was written.
    pub(crate) const INVALID: i32 = 1;
    /// The command could not run (I/O, database, internal error).
    pub const FAILED: i32 = 2;
    /// The command ran, but some matters failed (e.g. a hook blew its limits).
    pub(crate) const PARTIAL: i32 = 3;
    /// `status`: some draws cannot be scheduled (a year without a holiday calendar); the
    /// service will not issue them until that is fixed.
    pub(crate) const UNSCHEDULED: i32 = 4;

    /// The exit status of a failed command.
    pub fn code(fault: Fault) -> i32 {
        match fault {
            Fault::Invalid => INVALID,
            Fault::Failed => FAILED,
        }
    }
}

/// A command that failed: the report to show and how the process ends. Every job's error
/// becomes one, so it is rendered in one place ([`main`]).
#[derive(Debug)]
pub struct Failed {
    pub report: crate::diag::Report,
    pub fault: crate::diag::Fault,
}

impl<E: crate::diag::Problem> From<E> for Failed {
    fn from(e: E) -> Failed {
        Failed {
            report: e.report(),
            fault: e.fault(),
        }
    }
}

/// A failed write to stdout or stderr (the only I/O left to the faces).
impl From<std::io::Error> for Failed {
    fn from(e: std::io::Error) -> Failed {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            quiet_exit();
        }
        Failed {
            report: crate::diag::Report::error(
                format!("cannot write to standard output: {e}"),
                &[],
            ),
            fault: crate::diag::Fault::Failed,
        }
    }
}

impl From<csv::Error> for Failed {
    fn from(e: csv::Error) -> Failed {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => Failed::from(io),
            other => Failed {
                report: crate::diag::Report::error(format!("{other:?}"), &[]),
                fault: crate::diag::Fault::Failed,
            },
        }
    }
}

/// Loads the rules and the calendar and opens the database read-only (the PostgreSQL
/// database when one is named), showing rule warnings: for commands that only read records.
pub(crate) fn open_read_only(
    cli: &Cli,
) -> Result<crate::jobs::Context<Box<dyn crate::store::RecordStore>>, Failed> {
    let database = db::postgres(cli)?;
    let cx = crate::jobs::open_read_only_on(&cli.config, database.as_ref())?;
    warn(&cx.loaded);
    Ok(cx)
}

/// Shows the rules' non-fatal problems.
pub(crate) fn warn(loaded: &crate::rules::Loaded) {
    if !loaded.warnings.is_empty() {
        say(Level::Warn, &render(&loaded.sources, &loaded.warnings));
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "suiji",
    version,
    about = "双随机、一公开: rule-driven random inspection plans, verifiable draws and publication",
    long_about = None
)]
pub(crate) struct Cli {
    /// Engine config file.
    #[arg(
        long,
        global = true,
        default_value = "config/suiji.toml",
        env = "SUIJI_CONFIG"
    )]
    pub config: PathBuf,

    /// The PostgreSQL database of a shared deployment (postgres://USER:PASSWORD@HOST/DB);
    /// without it, `[database] url` of the config, else the SQLite file in the data folder.
    #[arg(long, global = true, env = "SUIJI_DATABASE", value_name = "URL")]
    pub database: Option<String>,

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
    /// Print the yearly plan (Markdown, HTML or DOCX) with every dated draw.
    Plan(plan::Args),
    /// List every draw of a year: matter, period, issue date, due date.
    Schedule(schedule::Args),
    /// Commit to the public source of a draw's seed (a lottery result, a beacon round) before
    /// its value exists; then `draw --reveal VALUE`.
    Commit(commit::Args),
    /// Draw targets and inspector teams for one matter and period, now.
    Draw(draw::Args),
    /// Changes after a draw: a target replaced by its next substitute (替补) or marked out of
    /// scope, an inspector replaced by the next eligible one (人员调整); `list` shows them.
    Change(change::Args),
    /// The service: issue every draw on time, exactly once (SIGHUP or a rule edit reloads rules).
    Run(service::RunArgs),
    /// Run a whole year on a simulated clock, exactly as the service would.
    Simulate(service::SimulateArgs),
    /// Last and next draw per matter, failures and anything overdue.
    Status(service::StatusArgs),
    /// List recorded draws.
    Draws(draws::Args),
    /// Re-run a recorded draw from its manifest and archived inputs; say if it is identical.
    Verify(verify::Args),
    /// Rebuild the draws' folders in out/ from the database, byte for byte.
    Regenerate(regenerate::Args),
    /// The hash-chained audit log.
    Audit(audit::Args),
    /// The target and inspector registries.
    Registry(registry::Args),
    /// Write synthetic registries of any size (for scale tests).
    GenRegistry(registry::GenArgs),
    /// Record one inspection result (per target and checklist item).
    Result(results::ResultArgs),
    /// Inspection results: import filled-in task lists, list what is recorded.
    Results(results::Args),
    /// Publish inspection results: per draw a notice (HTML, CSV, JSON) and an index.
    Publish(publish::Args),
    /// The year's accountability report: HTML with charts and XLSX, from the database.
    Report(report::Args),
    /// The staff console in a browser (with the scheduler running in the same process).
    Serve(serve::Args),
    /// Console accounts: add, list, disable, reset-password.
    User(user::Args),
    /// Rule changes and their approval: status, approve, return, history, diff, rollback.
    Rules(rules::Args),
    /// The database: copy a county's SQLite file into PostgreSQL (`db migrate`).
    Db(db::Args),
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::INVALID
            } else {
                exit::OK
            };
            match lang::flag_error(&e) {
                Some(zh) if e.use_stderr() && lang::lang() == crate::diag::Lang::Zh => {
                    say(Level::Error, &zh);
                }
                _ => {
                    let _ = e.print();
                }
            }
            return code;
        }
    };
    init_logging(cli.log_json);
    if let Err(failed) = db::only_what_runs_on_postgres(&cli) {
        return fail(&failed);
    }
    let result = match &cli.command {
        Command::Check(args) => check::run(&cli, args),
        Command::Plan(args) => plan::run(&cli, args),
        Command::Schedule(args) => schedule::run(&cli, args),
        Command::Commit(args) => commit::run(&cli, args),
        Command::Draw(args) => draw::run(&cli, args),
        Command::Change(args) => change::run(&cli, args),
        Command::Draws(args) => draws::run(&cli, args),
        Command::Run(args) => service::run(&cli, args),
        Command::Simulate(args) => service::simulate(&cli, args),
        Command::Status(args) => service::status(&cli, args),
        Command::Verify(args) => verify::run(&cli, args),
        Command::Regenerate(args) => regenerate::run(&cli, args),
        Command::Audit(args) => audit::run(&cli, args),
        Command::Registry(args) => registry::run(&cli, args),
        Command::GenRegistry(args) => registry::generate(args),
        Command::Result(args) => results::run_one(&cli, args),
        Command::Results(args) => results::run(&cli, args),
        Command::Publish(args) => publish::run(&cli, args),
        Command::Report(args) => report::run(&cli, args),
        Command::Serve(args) => serve::run(&cli, args),
        Command::User(args) => user::run(&cli, args),
        Command::Rules(args) => rules::run(&cli, args),
        Command::Db(args) => db::run(&cli, args),
    };
    match result {
        Ok(code) => code,
        Err(failed) => fail(&failed),
    }
}

/// Shows a failed command's report; returns its exit status.
fn fail(failed: &Failed) -> i32 {
    say(Level::Error, &render_report(&failed.report));
    exit::code(failed.fault)
}

/// Whether standard error speaks JSON lines (`--log-json`).
static JSON_LOG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Logs go to standard error: human-readable text, coloured only on a terminal, or one JSON
/// object per line. A log line that cannot be written (a full disk, a closed stderr) is lost,
/// never a panic.
fn init_logging(json: bool) {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;
    JSON_LOG.store(json, std::sync::atomic::Ordering::Relaxed);
    // Long work over a large registry says how far it got (target `suiji::progress`: rows
    // read, phase) unless RUST_LOG says otherwise.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,suiji::progress=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    let _ = if json {
        builder.json().with_ansi(false).try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}

/// How serious a message on standard error is (its `level` in JSON mode).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Level {
    Error,
    Warn,
    Info,
}

/// One message of the JSON log, in the shape of the log's own lines.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    timestamp: String,
    level: &'static str,
    fields: JsonFields<'a>,
    target: &'static str,
}

#[derive(serde::Serialize)]
struct JsonFields<'a> {
    message: &'a str,
}

/// Writes a message for a person to standard error: as it is, or with `--log-json` as one
/// JSON line like the log's. A failed write (a full disk, a closed stderr) is ignored: the
/// exit status still tells what happened, and the process never panics over it.
pub(crate) fn say(level: Level, text: &str) {
    use std::io::Write as _;
    let line = if JSON_LOG.load(std::sync::atomic::Ordering::Relaxed) {
        let line = JsonLine {
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            level: match level {
                Level::Error => "ERROR",
                Level::Warn => "WARN",
                Level::Info => "INFO",
            },
            fields: JsonFields {
                message: text.trim_end(),
            },
            target: "suiji",
        };
        match serde_json::to_string(&line) {
            Ok(json) => format!("{json}\n"),
            Err(_) => return,
        }
    } else {
        text.to_string()
    };
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(line.as_bytes())
        .and_then(|()| stderr.flush());
}

/// Loads the rules; shows their warnings.
pub(crate) fn load_rules(cli: &Cli) -> Result<crate::rules::Loaded, Failed> {
    let database = db::postgres(cli)?;
    let loaded = crate::jobs::load_rules_on(&cli.config, database.as_ref())?;
    warn(&loaded);
    Ok(loaded)
}

/// Loads and validates a platform file and the bureau configs it names.
pub(crate) fn load_platform(
    file: &std::path::Path,
) -> Result<crate::rules::platform::Platform, Failed> {
    crate::rules::platform::load_platform(file)
        .map_err(|e| Failed::from(crate::jobs::SetupError::Rules(e)))
}

/// Warns that a year's dates come from a provisional calendar.
pub(crate) fn provisional_warning(year: i32) {
    let w = crate::diag::Diagnostic::warning(format!(
        "{year} has no official holiday notice; dates use a PROVISIONAL calendar computed from lunar dates (no 调休)"
    ));
    say(
        Level::Warn,
        &render_report(&crate::diag::Report::of(vec![w])),
    );
}

/// Shows a job's non-fatal problems (matters that failed while the others went on); returns
/// the exit status: [`exit::PARTIAL`] when there were any.
pub(crate) fn with_problems(problems: &[crate::diag::Diagnostic]) -> i32 {
    if !problems.is_empty() {
        let level = if problems.iter().any(crate::diag::Diagnostic::is_error) {
            Level::Error
        } else {
            Level::Warn
        };
        say(level, &render(&crate::diag::Sources::default(), problems));
    }
    if problems.iter().any(crate::diag::Diagnostic::is_error) {
        exit::PARTIAL
    } else {
        exit::OK
    }
}

/// [`with_problems`] for problems that may point into the rule files of `sources`.
pub(crate) fn with_problems_in(
    sources: &crate::diag::Sources,
    problems: &[crate::diag::Diagnostic],
) -> i32 {
    if !problems.is_empty() {
        eprint!("{}", render(sources, problems));
    }
    if problems.iter().any(crate::diag::Diagnostic::is_error) {
        exit::PARTIAL
    } else {
        exit::OK
    }
}

/// Opens the database named by the config alone, read-only, without loading the rules:
/// commands that only read records (draws, audit) keep working while a rule file has
/// problems, and on a read-only copy of the data.
pub(crate) fn open_store_of_config(cli: &Cli) -> Result<crate::store::Store, Failed> {
    Ok(crate::jobs::open_data(&cli.config)?.1)
}

/// The current local time in the bureau's time zone, as recorded in draws and the audit log.
pub(crate) fn now_local(loaded: &crate::rules::Loaded) -> String {
    chrono::Utc::now()
        .with_timezone(&loaded.model.config.timezone)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Writes to stdout. When the reader has gone away (a closed pipe) the process ends quietly
/// with status 0; any other failure to write (a full disk) ends it with a message and
/// status [`exit::FAILED`]: output that did not arrive is never success.
pub(crate) fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        drop(stdout);
        std::process::exit(stdout_failed(e));
    }
}

/// The end of a process whose standard output failed: quiet on a closed pipe, else a message.
pub(crate) fn stdout_failed(e: std::io::Error) -> i32 {
    fail(&Failed::from(e))
}

fn quiet_exit() -> ! {
    std::process::exit(exit::OK)
}
