//! Where the records live (the SQLite file in the data folder, or a PostgreSQL database named
//! by `--database`, `SUIJI_DATABASE` or `[database] url`), and `suiji db migrate`: a county's
//! SQLite file copied into PostgreSQL, checked table by table and by the audit chain.

use std::path::{Path, PathBuf};

use super::SetupError;
use crate::diag::{Fault, Problem, Report};
use crate::store::pg::{Copied, PgStore, Place, is_postgres_url};
use crate::store::{
    Anchor, AnchorCheck, AuditBreak, AuditLog, AuditReport, Store, StoreError, check_anchors,
};

/// What `db migrate` did and found.
#[derive(Debug)]
pub struct Migrated {
    /// The destination, as messages show it (no password).
    pub database: String,
    /// Per table: rows in the SQLite file and in PostgreSQL.
    pub copied: Copied,
    /// The folder of the snapshots the SQLite file keeps as files.
    pub snapshots: PathBuf,
    /// The chain's entries and head in the SQLite file.
    pub entries: u64,
    pub head: String,
    /// `audit verify` on PostgreSQL after the copy.
    pub after: AuditReport,
}

impl Migrated {
    /// The copy verifies on PostgreSQL with the same head as the SQLite file's.
    pub fn agrees(&self) -> bool {
        matches!(&self.after, AuditReport::Intact { entries, head }
            if *entries == self.entries && *head == self.head)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("`{given}` is not a PostgreSQL URL")]
    NotPostgres { given: String },
    #[error("{} does not exist", path.display())]
    NoSource { path: PathBuf },
    #[error("the audit chain of {} is broken, so it is not copied: {broken}", path.display())]
    SourceBroken { path: PathBuf, broken: AuditBreak },
    #[error("no PostgreSQL database is named")]
    NoDestination,
    #[error(transparent)]
    Anchors(Box<super::anchor::AnchorError>),
    #[error(transparent)]
    Config(Box<SetupError>),
    #[error("the published anchors in {} do not agree with the SQLite file's chain, so nothing is copied: {check}", path.display())]
    AnchorsDisagree {
        path: PathBuf,
        check: Box<AnchorCheck>,
    },
    #[error(
        "`--data` names a data folder of the SQLite database, and a PostgreSQL database is named too"
    )]
    DataFolderOnPostgres,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Problem for DatabaseError {
    fn fault(&self) -> Fault {
        match self {
            DatabaseError::Store(_) | DatabaseError::SourceBroken { .. } => Fault::Failed,
            DatabaseError::Anchors(e) => e.fault(),
            DatabaseError::Config(e) => e.fault(),
            _ => Fault::Invalid,
        }
    }

    fn report(&self) -> Report {
        if let DatabaseError::Config(e) = self {
            return e.report();
        }
        let help: &[&str] = match self {
            DatabaseError::NotPostgres { .. } => {
                &["write postgres://USER:PASSWORD@HOST:5432/DATABASE"]
            }
            DatabaseError::NoSource { .. } => {
                &["give the SQLite file with --from (data/suiji.sqlite3 in a county's project)"]
            }
            DatabaseError::SourceBroken { .. } => &[
                "run `suiji audit verify` on the SQLite data, restore it from a backup, and migrate again",
            ],
            DatabaseError::Anchors(_) => &[
                "give the county's published anchors with --anchors FILE (its out/public/anchors.json)",
            ],
            DatabaseError::AnchorsDisagree { .. } => &[
                "the county's chain was rewritten after these anchors were published, or the file is another county's: check it with `suiji audit verify --against FILE` on the SQLite data and give the right file with --anchors",
            ],
            DatabaseError::NoDestination => &[
                "give it with --to postgres://…, --database, SUIJI_DATABASE or [database] url in the config",
            ],
            DatabaseError::DataFolderOnPostgres => &[
                "on PostgreSQL the draw's snapshots are read from the server: leave out --data (or leave out --database, SUIJI_DATABASE and [database] url to verify against that SQLite data folder)",
            ],
            DatabaseError::Store(_) | DatabaseError::Config(_) => &[],
        };
        Report::error(crate::diag::chain(self), help)
    }
}

/// The PostgreSQL database the command works on: `given` (`--database` or `SUIJI_DATABASE`)
/// when set, else `[database] url` of the config, in the config's `[database] schema` (the
/// bureau's own; `public` without one); `None` for the SQLite file. A config that cannot be
/// read names no database here (the command reports its problems itself); with a database
/// given, its schema is still read from it (`rules::database_schema_alone`).
pub fn configured(config: &Path, given: Option<&str>) -> Result<Option<Place>, DatabaseError> {
    let loaded = crate::rules::load_config(config);
    let url = match given.filter(|u| !u.trim().is_empty()) {
        Some(url) if !is_postgres_url(url) => {
            return Err(DatabaseError::NotPostgres { given: url.into() });
        }
        Some(url) => url.to_string(),
        None => match loaded.as_ref().ok().and_then(|c| c.database_url.clone()) {
            Some(url) => url,
            None => return Ok(None),
        },
    };
    let schema = match loaded {
        Ok(c) => c.database_schema,
        Err(_) if !config.exists() => None,
        Err(e) => schema_of_unreadable(config, e)?,
    };
    Ok(Some(Place::with(url, schema.as_deref())?))
}

/// The `[database] schema` of a config that has other problems (the command reports those
/// itself): read from its TOML alone. A config whose TOML cannot be read, or whose schema is
/// not a plain name, is refused with its problems: the bureau's schema is not known, and no
/// other schema may be used instead.
fn schema_of_unreadable(
    config: &Path,
    problems: crate::rules::LoadError,
) -> Result<Option<String>, DatabaseError> {
    crate::rules::database_schema_alone(config)
        .ok_or_else(|| DatabaseError::Config(Box::new(SetupError::Config(problems))))
}

/// Opens the PostgreSQL database at `place` (migrating its schema), as the audit commands read it.
pub fn open(place: &Place) -> Result<PgStore, DatabaseError> {
    Ok(PgStore::open_at(place)?)
}

/// Copies the SQLite file `from` into the empty PostgreSQL database and schema `to`: every table, the
/// snapshots kept as files beside it (`snapshots/`) and the anchors of its chain published in
/// `anchors` (the county's `out/public/anchors.json`, when it has one), in one transaction,
/// committed only when every count matches and every file its hash; then walks the chain on
/// PostgreSQL. A source whose chain is broken, or whose published anchors it contradicts, is
/// not copied.
pub fn migrate(from: &Path, to: &Place, anchors: Option<&Path>) -> Result<Migrated, DatabaseError> {
    if !is_postgres_url(to.url()) {
        return Err(DatabaseError::NotPostgres { given: to.shown() });
    }
    if !from.is_file() {
        return Err(DatabaseError::NoSource {
            path: from.to_path_buf(),
        });
    }
    let source = Store::open_file_read_only(from)?;
    let (entries, head) = match source.verify_audit()? {
        AuditReport::Intact { entries, head } => (entries, head),
        AuditReport::Broken(broken) => {
            return Err(DatabaseError::SourceBroken {
                path: from.to_path_buf(),
                broken,
            });
        }
    };
    let published = match anchors {
        Some(path) => published_anchors(&source, path)?,
        None => Vec::new(),
    };
    let dest = PgStore::open_at(to)?;
    let copied = dest.copy_from_sqlite(&source, &published)?;
    let after = dest.verify_audit()?;
    Ok(Migrated {
        database: dest.shown().to_string(),
        copied,
        snapshots: source.snapshot_dir(),
        entries,
        head,
        after,
    })
}

/// The anchors published in `path`, each checked against the chain of `source` (every anchored
/// entry there with the anchored hash, as `suiji audit verify --against` checks).
fn published_anchors(source: &Store, path: &Path) -> Result<Vec<Anchor>, DatabaseError> {
    let shown = path.display().to_string();
    let anchors = super::anchor::load(&shown).map_err(|e| DatabaseError::Anchors(Box::new(e)))?;
    let check = check_anchors(source, &anchors)?;
    if !check.is_consistent() {
        return Err(DatabaseError::AnchorsDisagree {
            path: path.to_path_buf(),
            check: Box::new(check),
        });
    }
    Ok(anchors.anchors)
}
