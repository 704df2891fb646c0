//! `suiji db migrate`: a county's SQLite file copied into PostgreSQL; and the one check of
//! which commands run on PostgreSQL.

use std::path::PathBuf;

use super::{Cli, Command, Failed, exit};
use crate::jobs::database::{self, DatabaseError};
use crate::store::pg::Place;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Copy every table of a SQLite file, and the county's published anchors, into an empty
    /// PostgreSQL database, check the counts table by table and walk the audit chain there.
    Migrate {
        /// The SQLite file (data/suiji.sqlite3).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// The PostgreSQL database (postgres://USER:PASSWORD@HOST/DB); default: --database.
        /// The county goes into the config's `[database] schema` there (default `public`).
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// The county's published anchors of its audit chain, carried into the database's
        /// `anchors` table (default: `public/anchors.json` in the config's output folder,
        /// when it is there).
        #[arg(long, value_name = "FILE")]
        anchors: Option<PathBuf>,
    },
}

/// The PostgreSQL database named by `--database`, `SUIJI_DATABASE` or `[database] url`, in
/// the config's `[database] schema`.
pub(crate) fn postgres(cli: &Cli) -> Result<Option<Place>, Failed> {
    Ok(database::configured(&cli.config, cli.database.as_deref())?)
}

/// Refuses, before anything is opened, a command that does not run on PostgreSQL yet when a
/// PostgreSQL database is named (so no command silently works on the SQLite file instead).
pub(crate) fn only_what_runs_on_postgres(cli: &Cli) -> Result<(), Failed> {
    let runs = match &cli.command {
        Command::Db(_) => return Ok(()),
        Command::Audit(_)
        | Command::Draw(_)
        | Command::Draws(_)
        | Command::Rules(_)
        | Command::Change(_)
        | Command::Commit(_)
        | Command::Result(_)
        | Command::Results(_)
        | Command::Regenerate(_)
        | Command::Run(_)
        | Command::Simulate(_)
        | Command::Status(_)
        | Command::Report(_)
        | Command::Publish(_)
        | Command::Serve(_)
        | Command::User(_) => true,
        Command::Verify(args) => args.data.is_none(),
        _ => false,
    };
    if postgres(cli)?.is_none() {
        return Ok(());
    }
    if !runs {
        return Err(DatabaseError::NotYet {
            command: name(&cli.command).to_string(),
        }
        .into());
    }
    Ok(())
}

pub fn run(cli: &Cli, args: &Args) -> Result<i32, Failed> {
    match &args.action {
        Action::Migrate { from, to, anchors } => {
            let to = match to {
                Some(url) => database::configured(&cli.config, Some(url))?,
                None => postgres(cli)?,
            }
            .ok_or(DatabaseError::NoDestination)?;
            let anchors = anchors.clone().or_else(|| published_anchors(cli));
            let m = database::migrate(from, &to, anchors.as_deref())?;
            outln!("copied {} into {}", from.display(), m.database);
            for (table, source, copied) in &m.copied.tables {
                outln!("  {table:<20} {source:>9} rows in SQLite, {copied:>9} in PostgreSQL");
            }
            if !m.copied.files.is_empty() {
                let bytes: u64 = m.copied.files.iter().map(|f| f.bytes).sum();
                outln!(
                    "  {} snapshot files ({bytes} bytes) from {} into snapshot_files, each matching its hash",
                    m.copied.files.len(),
                    m.snapshots.display()
                );
            }
            if let Some(path) = &anchors {
                outln!(
                    "  {} published anchors from {} into anchors, each naming an entry of the chain",
                    m.copied.anchors,
                    path.display()
                );
            }
            match &m.after {
                crate::store::AuditReport::Intact { entries, head } => {
                    outln!("audit log intact on PostgreSQL: {entries} entries, head {head}")
                }
                crate::store::AuditReport::Broken(b) => {
                    outln!("AUDIT LOG BROKEN on PostgreSQL at {b}")
                }
            }
            if m.agrees() {
                outln!("the chain agrees with the SQLite file's (head {})", m.head);
                Ok(exit::OK)
            } else {
                outln!(
                    "the chain does NOT agree with the SQLite file's ({} entries, head {})",
                    m.entries,
                    m.head
                );
                Ok(exit::FAILED)
            }
        }
    }
}

/// The county's published anchors when the config's output folder holds them.
fn published_anchors(cli: &Cli) -> Option<PathBuf> {
    let config = crate::rules::load_config(&cli.config).ok()?;
    let path = config.output_dir.join(crate::jobs::anchor::ANCHORS_FILE);
    path.is_file().then_some(path)
}

/// The subcommand's name, for messages.
fn name(command: &Command) -> &'static str {
    match command {
        Command::Check(_) => "check",
        Command::Plan(_) => "plan",
        Command::Schedule(_) => "schedule",
        Command::Draw(_) => "draw",
        Command::Change(_) => "change",
        Command::Run(_) => "run",
        Command::Simulate(_) => "simulate",
        Command::Status(_) => "status",
        Command::Draws(_) => "draws",
        Command::Verify(_) => "verify",
        Command::Regenerate(_) => "regenerate",
        Command::Audit(_) => "audit",
        Command::Registry(_) => "registry",
        Command::GenRegistry(_) => "gen-registry",
        Command::Result(_) => "result",
        Command::Results(_) => "results",
        Command::Publish(_) => "publish",
        Command::Report(_) => "report",
        Command::Serve(_) => "serve",
        Command::User(_) => "user",
        Command::Rules(_) => "rules",
        Command::Commit(_) => "commit",
        Command::Db(_) => "db",
    }
}
