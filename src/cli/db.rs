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

/// Refuses, before anything is opened, `verify --data` (a data folder of the SQLite
/// database) when a PostgreSQL database is named, so no command silently works on a SQLite
/// file instead. Every other command runs on either database.
pub(crate) fn only_what_runs_on_postgres(cli: &Cli) -> Result<(), Failed> {
    let Command::Verify(args) = &cli.command else {
        return Ok(());
    };
    if args.data.is_some() && args.bundle.is_none() && postgres(cli)?.is_some() {
        return Err(DatabaseError::DataFolderOnPostgres.into());
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
