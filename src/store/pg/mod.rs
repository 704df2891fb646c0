//! The store on PostgreSQL, for a shared deployment (several nodes, one database server with
//! its own replication and backups).
//!
//! The same schema versions as SQLite's (`schema`), the same invariants, kept by the server:
//! one active draw per (matter, period) by a partial unique index, permanence and the
//! append-only audit chain by triggers (UPDATE, DELETE and TRUNCATE refused), the chain's head
//! appended under a row lock (`audit_head`) so that writers on several nodes queue instead of
//! forking it. What reaches PostgreSQL so far: the schema and its migrations, a county's data
//! copied in losslessly from SQLite (`copy`), the audit chain (appended, walked and verified
//! with the rows each entry records, `audit`), the counts of every table, and draws — recorded,
//! listed and read back for verification, changed after they are issued, their seeds
//! committed beforehand — through [`super::DrawStore`] (`draws`), so that `suiji draw`,
//! `draws`, `verify`, `change` and `commit` run here; the rule set's approved versions and the
//! changes proposed to them, through [`super::RuleStore`] (`rules`), so that `suiji rules`
//! runs here and draws under two-person approval use the version approved here; the
//! scheduler's events and the service's audit entries through [`super::ServiceStore`], and the
//! scheduler's lease ([`Lease`], `events`), so that `suiji run` runs here on several nodes;
//! results and publications through [`super::ResultStore`] (`results`); console accounts,
//! sessions and failed logins through [`super::UserStore`] (`users`), so that `suiji user`
//! runs here; and all of them together through [`super::ConsoleStore`], with the change marker
//! the console keys what it keeps by (`audit`), so that `suiji serve` runs here on several
//! nodes (`simulate`, `status`, `report` and `publish` read and write here too). A handle is
//! one connection, not shared between threads: the console keeps one per request being
//! answered. Every call that waits on the server may be made from the console's async threads
//! ([`may_block`]).

mod anchors;
pub(crate) mod audit;
mod console;
pub(crate) mod copy;
mod draws;
mod events;
mod registry_files;
mod results;
mod rules;
mod schema;
mod users;

use std::cell::RefCell;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use super::error::{BUSY_TIMEOUT_SECS, R, StoreError, pg_detail};
use super::origin::Origin;

pub use copy::{CarriedFile, Copied, TableCount};
pub use events::Lease;
pub use schema::PG_SCHEMA_VERSION;

/// Whether `text` names a PostgreSQL database (`postgres://…` or `postgresql://…`).
pub fn is_postgres_url(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// An open PostgreSQL database. One connection; each process (or thread) opens its own.
pub struct PgStore {
    client: RefCell<postgres::Client>,
    /// The database and schema this handle is open on.
    place: Place,
    /// The URL without its password (and the schema): what messages show.
    shown: String,
    /// Who writes through this handle, recorded with every audit entry.
    origin: Origin,
    /// This handle's own folder for snapshot files (a registry frozen for a draw, a snapshot
    /// read back for a re-run); removed when the handle is dropped.
    work: tempfile::TempDir,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.shown)
            .finish()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/dbname`), in the schema the
    /// role's `search_path` names (`public`), and brings the schema up to date. A database
    /// with tables of its own but no suiji schema, or one written by a newer suiji, is refused
    /// untouched.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::open_at(&Place::new(url))
    }

    /// As [`PgStore::open`], in the schema `schema` (made when missing): a bureau's own, or
    /// `platform` for the platform's administrators. Its writes are recorded as made by
    /// `origin`. A name that is not a plain identifier is refused before connecting.
    pub fn open_in(url: &str, schema: &str, origin: Origin) -> Result<PgStore, StoreError> {
        PgStore::open_at_as(&Place::in_schema(url, schema)?, origin)
    }

    /// Connects to the database and schema of `place` and brings its schema up to date.
    pub fn open_at(place: &Place) -> Result<PgStore, StoreError> {
        PgStore::open_at_as(place, Origin::of_process())
    }

    /// As [`PgStore::open_at`], its writes recorded as made by `origin`.
    pub fn open_at_as(place: &Place, origin: Origin) -> Result<PgStore, StoreError> {
        let (mut client, shown) = place.connect(|c| c)?;
        may_block(|| schema::migrate(&mut client, place.schema()))
            .map_err(|f| f.into_store(Path::new(&shown)))?;
        let work = work_folder()?;
        Ok(PgStore {
            client: RefCell::new(client),
            place: place.clone(),
            shown,
            origin,
            work,
        })
    }

    /// The database, as messages show it (the URL without its password).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The database and schema this handle is open on.
    pub fn place(&self) -> &Place {
        &self.place
    }

    /// Who writes through this handle.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Runs `f` in one transaction, committed only if `f` succeeds.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> R<T>,
    ) -> Result<T, StoreError> {
        let mut client = self.client.borrow_mut();
        let run = || -> R<T> {
            let mut tx = client.transaction()?;
            let out = f(&mut tx)?;
            tx.commit()?;
            Ok(out)
        };
        may_block(run).map_err(|f| f.into_store(Path::new(&self.shown)))
    }

    /// Runs queries in one read-only, repeatable-read transaction (one consistent view).
    fn read<T>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> R<T>,
    ) -> Result<T, StoreError> {
        let mut client = self.client.borrow_mut();
        let run = || -> R<T> {
            let mut tx = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let out = f(&mut tx)?;
            tx.commit()?;
            Ok(out)
        };
        may_block(run).map_err(|f| f.into_store(Path::new(&self.shown)))
    }

    /// How many rows each table holds, by table name.
    pub fn table_counts(&self) -> Result<Vec<TableCount>, StoreError> {
        self.read(|tx| {
            let names: Vec<String> = tx
                .query(
                    "SELECT table_name::text FROM information_schema.tables
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                     ORDER BY table_name",
                    &[],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut out = Vec::new();
            for name in names
                .into_iter()
                .filter(|n| !copy::PG_ONLY.contains(&n.as_str()))
            {
                let rows: i64 = tx
                    .query_one(&format!("SELECT count(*) FROM \"{name}\""), &[])?
                    .get(0);
                out.push(TableCount { table: name, rows });
            }
            Ok(out)
        })
    }
}

/// Runs `f`, which waits on the server (a handle opened, used or dropped): on a thread that
/// drives a multi-threaded tokio runtime's tasks (the console's request handlers), the thread
/// is handed to blocking work first, since the synchronous client cannot run its own runtime
/// inside another.
pub fn may_block<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Where a PostgreSQL store lives: the database (its URL) and the schema in it. Each bureau
/// of a shared deployment has a schema of its own (`[database] schema`), so its records never
/// meet another's; without one, the schema the role's `search_path` names (`public`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Place {
    url: String,
    schema: Option<String>,
}

impl std::fmt::Debug for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Place {
    /// The database at `url`, in the role's default schema (`public`).
    pub fn new(url: impl Into<String>) -> Place {
        Place {
            url: url.into(),
            schema: None,
        }
    }

    /// The database at `url`, in the schema `schema`; a name that is not a plain identifier
    /// ([`schema_name_problem`]) is refused.
    pub fn in_schema(url: impl Into<String>, schema: &str) -> Result<Place, StoreError> {
        if let Some(problem) = schema_name_problem(schema) {
            return Err(StoreError::invalid(
                "schema",
                format!("`{schema}` cannot be a bureau's schema: {problem}"),
            ));
        }
        Ok(Place {
            url: url.into(),
            schema: Some(schema.to_string()),
        })
    }

    /// The database at `url`, in `schema` when one is named.
    pub fn with(url: impl Into<String>, schema: Option<&str>) -> Result<Place, StoreError> {
        match schema {
            Some(s) => Place::in_schema(url, s),
            None => Ok(Place::new(url)),
        }
    }

    /// The URL, password included.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema named, if any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The database as messages show it: the URL without its password, and the schema.
    pub fn shown(&self) -> String {
        let url = parse(&self.url).map_or_else(|_| "(the URL given)".to_string(), |(_, s)| s);
        match &self.schema {
            Some(s) => format!("{url} (schema {s})"),
            None => url,
        }
    }

    /// A connection to the database, its settings first adjusted by `adjust`, working in this
    /// place's schema (`SET search_path`); and the place as messages show it.
    pub(crate) fn connect(
        &self,
        adjust: impl FnOnce(&mut postgres::Config) -> &mut postgres::Config,
    ) -> Result<(postgres::Client, String), StoreError> {
        let (mut config, _) = parse(&self.url)?;
        adjust(&mut config);
        let shown = self.shown();
        let failed = |e: postgres::Error| StoreError::Connect {
            database: shown.clone(),
            detail: pg_detail(&e),
        };
        let mut client = may_block(|| config.connect(postgres::NoTls)).map_err(failed)?;
        if let Some(schema) = &self.schema {
            may_block(|| client.batch_execute(&format!("SET search_path TO {}", quoted(schema))))
                .map_err(failed)?;
        }
        Ok((client, shown))
    }
}

/// What is wrong with `name` as a schema of suiji's, or `None` when it is a plain identifier:
/// lowercase letters, digits and `_`, not starting with a digit, at most 63 bytes (PostgreSQL's
/// limit), and none of PostgreSQL's own (`pg_*`, `information_schema`).
pub fn schema_name_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some("it is empty");
    };
    if !(first.is_ascii_lowercase() || first == '_') {
        return Some("it must start with a lowercase letter or `_`");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Some("it may hold only lowercase letters, digits and `_`");
    }
    if name.len() > 63 {
        return Some("it is longer than PostgreSQL's 63 bytes");
    }
    if name.starts_with("pg_") || name == "information_schema" {
        return Some("PostgreSQL keeps that name for itself");
    }
    None
}

/// `name` as a quoted SQL identifier.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The connection settings of `url` and the URL as messages show it (no password).
fn parse(url: &str) -> Result<(postgres::Config, String), StoreError> {
    let mut config = postgres::Config::from_str(url).map_err(|e| StoreError::Connect {
        database: "(the URL given)".into(),
        detail: format!(
            "the URL cannot be read ({e}); write it postgres://USER:PASSWORD@HOST:PORT/DATABASE"
        ),
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS));
    }
    config.application_name("suiji");
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    let shown = format!("postgres://{user}{}:{port}/{db}", hosts.join(","));
    Ok((config, shown))
}

/// A handle's own folder for snapshot files, `suiji-pg-<pid>-XXXXXX` in the temporary folder,
/// removed when the handle is dropped. A process killed before that leaves its folder behind:
/// the folders of processes that no longer run are removed first.
fn work_folder() -> Result<tempfile::TempDir, StoreError> {
    let tmp = std::env::temp_dir();
    sweep_dead_work_folders(&tmp);
    tempfile::Builder::new()
        .prefix(&format!("suiji-pg-{}-", std::process::id()))
        .tempdir_in(&tmp)
        .map_err(|source| StoreError::CreateDir { path: tmp, source })
}

/// Removes `suiji-pg-<pid>-*` folders in `tmp` whose process is gone (Linux: no
/// `/proc/<pid>`). Best effort: a folder that cannot be read or removed is left.
fn sweep_dead_work_folders(tmp: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(work_folder_pid) else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The process id in a work folder's name `suiji-pg-<pid>-XXXXXX`.
fn work_folder_pid(name: &str) -> Option<u32> {
    let (pid, rest) = name.strip_prefix("suiji-pg-")?.split_once('-')?;
    (!rest.is_empty()).then_some(())?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{sweep_dead_work_folders, work_folder_pid};

    #[test]
    fn work_folders_are_named_by_their_process() {
        assert_eq!(work_folder_pid("suiji-pg-4242-a1B2c3"), Some(4242));
        assert_eq!(work_folder_pid("suiji-pg-a1B2c3"), None);
        assert_eq!(work_folder_pid("suiji-pg-4242-"), None);
        assert_eq!(work_folder_pid("other-4242-a1B2c3"), None);
    }

    #[test]
    fn the_folders_of_processes_that_are_gone_are_swept() -> Result<(), std::io::Error> {
        let tmp = tempfile::tempdir()?;
        // No process has the largest u32 as its id (Linux's pid_max is at most 2^22).
        let gone = tmp.path().join(format!("suiji-pg-{}-xYz123", u32::MAX));
        let mine = tmp
            .path()
            .join(format!("suiji-pg-{}-xYz123", std::process::id()));
        let unnamed = tmp.path().join("suiji-pg-xYz123");
        for dir in [&gone, &mine, &unnamed] {
            std::fs::create_dir(dir)?;
            std::fs::write(dir.join("a.csv"), "x")?;
        }
        sweep_dead_work_folders(tmp.path());
        if std::path::Path::new("/proc/self").exists() {
            assert!(!gone.exists());
        }
        assert!(mine.exists() && unnamed.exists());
        Ok(())
    }
}
