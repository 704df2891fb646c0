//! What can go wrong in the store, as data. Every variant that concerns the database file
//! names it and says what to do.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// How long a writer waits for another process's lock before giving up.
pub const BUSY_TIMEOUT_SECS: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data folder {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "{} is damaged or is not a SQLite database ({detail}). suiji has not changed it. \
         Move the file aside (keep it for investigation) and restore the latest backup; \
         if there is none, suiji starts an empty database when the file is missing",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "{} is a SQLite database but not a suiji one ({detail}); point suiji at its own data folder",
        path.display()
    )]
    Foreign { path: PathBuf, detail: String },

    #[error(
        "{} was written by a newer suiji (schema version {found}; this suiji knows versions up to \
         {supported}). Upgrade suiji to use it; this version leaves the file untouched",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error(
        "{} has schema version {found}, older than this suiji's {supported}, and is opened read-only: \
         run a suiji command that writes (e.g. `suiji run --once`) on a writable copy once to upgrade it",
        path.display()
    )]
    OlderSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error(
        "{} stayed locked by another process for {BUSY_TIMEOUT_SECS}s; retry when the other suiji \
         command has finished",
        path.display()
    )]
    Busy { path: PathBuf },

    #[error("database {}: {source}", path.display())]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error(
        "already drawn: draw #{draw_id} (created {created_at}) is the active draw for this matter \
         and period; replacing it needs an explicit redraw with a reason"
    )]
    AlreadyDrawn { draw_id: i64, created_at: String },

    #[error("nothing to redraw: {matter} {period} has no active draw")]
    NothingToRedraw { matter: String, period: String },

    #[error("draw #{draw_id} does not exist")]
    NoSuchDraw { draw_id: i64 },

    #[error("draw #{draw_id} has been superseded by a redraw; use the active draw instead")]
    DrawSuperseded { draw_id: i64 },

    #[error(
        "target {target_id} is not visited under draw #{draw_id}: not selected, or replaced or marked out of scope after the draw"
    )]
    NotInDraw { draw_id: i64, target_id: String },

    #[error(
        "a result for target {target_id}{} of draw #{draw_id} is already recorded",
        checklist_item.as_deref().map(|c| format!(", item {c},")).unwrap_or_default()
    )]
    DuplicateResult {
        draw_id: i64,
        target_id: String,
        checklist_item: Option<String>,
    },

    #[error("snapshot {hash} is not in the archive")]
    NoSuchSnapshot { hash: String },

    #[error(
        "archived snapshot {hash} in {} is damaged ({detail}); restore the database from a backup",
        path.display()
    )]
    SnapshotDamaged {
        path: PathBuf,
        hash: String,
        detail: String,
    },

    #[error("snapshot {hash} is already archived as {existing} data, not {requested}")]
    SnapshotKindConflict {
        hash: String,
        existing: String,
        requested: String,
    },

    #[error(
        "{} holds real records ({records} draws, results, publications and audit entries), so \
         it cannot become a simulation database; simulate in a data folder of its own (set \
         `data_dir` in config/suiji.toml, or copy the project to another folder)",
        path.display()
    )]
    RealRecords { path: PathBuf, records: i64 },

    #[error("invalid {field}: {problem}")]
    Invalid { field: String, problem: String },

    #[error(
        "a draw or a change was recorded meanwhile, so the workload loads this was decided from \
         may have moved; run the command again"
    )]
    LoadsChanged,

    /// The caller's probe stopped a recording in its transaction (nothing was recorded).
    #[error("the draw was not recorded: {0}")]
    Stopped(String),

    #[error(
        "cannot connect to the PostgreSQL database {database}: {detail}. Check that the server \
         runs and answers at that address, that the role and password are right, and the URL \
         given (--database, SUIJI_DATABASE or [database] url in the config)"
    )]
    Connect { database: String, detail: String },

    #[error("PostgreSQL database {database}: {detail}")]
    Postgres { database: String, detail: String },
}

impl StoreError {
    pub(crate) fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        StoreError::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Internal failure: a raw SQLite error (classified once the file name is at hand) or a
/// finished [`StoreError`].
#[derive(Debug)]
pub(crate) enum Fail {
    Sql(rusqlite::Error),
    /// A PostgreSQL error (the database is named once it is at hand).
    Pg(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    /// A stored value that cannot be what the schema allows: the file was edited or damaged.
    pub(crate) fn corrupt(detail: impl Into<String>) -> Self {
        Fail::Store(StoreError::Corrupt {
            path: PathBuf::new(),
            detail: detail.into(),
        })
    }

    pub(crate) fn into_store(self, path: &Path) -> StoreError {
        match self {
            Fail::Store(mut e) => {
                // Errors raised below the Store carry no file name yet: add it.
                match &mut e {
                    StoreError::Corrupt { path: p, .. }
                    | StoreError::Foreign { path: p, .. }
                    | StoreError::NewerSchema { path: p, .. }
                    | StoreError::OlderSchema { path: p, .. }
                    | StoreError::Busy { path: p }
                    | StoreError::RealRecords { path: p, .. }
                        if p.as_os_str().is_empty() =>
                    {
                        *p = path.to_path_buf();
                    }
                    _ => {}
                }
                e
            }
            Fail::Sql(e) => classify(e, path),
            Fail::Pg(e) => StoreError::Postgres {
                database: path.display().to_string(),
                detail: pg_detail(&e),
            },
        }
    }
}

pub(crate) fn classify(e: rusqlite::Error, path: &Path) -> StoreError {
    let path = path.to_path_buf();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path,
            detail: e.to_string(),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy { path },
        _ => match e {
            // A stored value of the wrong type: someone wrote to the file behind suiji's back.
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt {
                path,
                detail: format!("unexpected stored value: {e}"),
            },
            source => StoreError::Database { path, source },
        },
    }
}

/// What the server said: its message (with detail and hint when it gives them), or the client's
/// own error (a lost connection).
pub(crate) fn pg_detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut out = db.message().to_string();
            if let Some(d) = db.detail() {
                out.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                out.push_str(&format!("; {h}"));
            }
            out
        }
        None => {
            let mut out = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                out.push_str(&format!(": {s}"));
                source = s.source();
            }
            out
        }
    }
}

pub(crate) type R<T> = Result<T, Fail>;
