//! The embedded SQLite database: archived registry snapshots, draws and their rows, results,
//! publications, the scheduler's log and the hash-chained audit log.
//!
//! One file, `<data_dir>/suiji.sqlite3`, in WAL mode, shared by every suiji process on the
//! machine (the service and the command line). Invariants:
//!
//! - **Exactly once**: a partial unique index allows one active draw per (matter, period); a
//!   redraw marks the old draw superseded (it is kept) in the same transaction.
//! - **Permanence**: triggers refuse UPDATE and DELETE on draws and their rows, snapshots,
//!   publications and the audit log; the only change ever made to a draw is
//!   `status` 'active' → 'superseded'.
//! - **Every write is one IMMEDIATE transaction** that also appends its audit entry, so a
//!   process that dies midway leaves nothing behind and concurrent writers queue.
//! - **The store never reads the clock**: every timestamp is passed in. It reads who writes
//!   (the OS account and host, [`Origin`]) once, when the file is opened.
//! - **A simulation database says so**: `database_facts` marks a database made by
//!   `suiji simulate` ([`Store::mark_simulation`]); only there may times be simulated.
//! - **Its row types are its own**: other modules convert to and from them; nothing here
//!   knows draw or rule internals.

mod anchors;
mod audit;
mod changes;
mod commitments;
mod console_store;
mod draw_store;
mod draws;
mod error;
mod events;
mod facts;
mod origin;
pub mod pg;
mod pieces;
mod records;
mod redraws;
mod registries;
mod result_store;
mod results;
pub mod rows;
mod rule_versions;
mod schema;
mod snapshots;
mod user_store;
mod users;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

pub use anchors::{ANCHORS_FORMAT, Anchor, AnchorCheck, Anchors, check_anchors};
pub use audit::{
    AuditBreak, AuditEntry, AuditProblem, AuditReport, AuditV2, GENESIS_HASH, audit_hash,
    audit_hash_v2,
};
pub use changes::{AuditOrder, CHANGE_RULE, ChangeAudit, Decided, DrawChange, LoadsEpoch};
pub use commitments::{Commitment, CommitmentAudit, commitment_in};
pub use console_store::{ConsoleStore, UNSEEN_ACTIONS};
pub use draw_store::DrawStore;
pub use draws::{
    DrawFilter, DrawHead, DrawRecord, DrawRow, DrawRows, DrawStatus, DrawnTargetRow, EntityKind,
    ExclusionRow, LentRows, NewDraw, Redraw, TargetRowRef, TeamRow, TeamRowRef, UnstaffedRow,
};
pub use error::{BUSY_TIMEOUT_SECS, StoreError};
pub use events::{EventFilter, EventRow, NewEvent, SchedulerEvent, ServiceAudit, ServiceStore};
pub use origin::Origin;
pub use records::{
    DrawAudit, LeaseAudit, PublicationAudit, PublicationRecord, PublishedFile, ResultsAudit,
    RulesReloadAudit, SchedulerAudit, SimulationAudit,
};
pub use redraws::{RedrawAudit, RedrawRow, RedrawStore};
pub use registries::{RegistryAudit, RegistryFile, RegistryLog, RegistryVersion};
pub use result_store::{RecordStore, Records, ResultStore};
pub use results::{
    HeldResults, NewPublication, NewResult, NewResults, PublicationRow, ResultFact, ResultRow,
};
pub use rule_versions::{
    NewRuleChange, NewRuleVersion, RuleChangeAudit, RuleChangeRow, RuleFiles, RuleStep, RuleStore,
    RuleVersionRow,
};
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use snapshots::{SnapshotInfo, SnapshotKind, snapshot_dir_in};
pub use user_store::UserStore;
pub use users::{AccountAudit, NewSession, NewUser, Stamp, UserRow};

use error::{Fail, R, classify};

/// The audit log, read the same way whatever database holds it: the SQLite file ([`Store`])
/// or a PostgreSQL database ([`pg::PgStore`]).
pub trait AuditLog {
    /// Walks the whole chain from the first entry and reports the first broken link: an
    /// entry out of sequence, not following the previous one, not hashing to its hash, or
    /// recording rows that no longer hash to its `rows_hash`.
    fn verify_audit(&self) -> Result<AuditReport, StoreError>;
    /// The seq of the last entry (0 when the log is empty).
    fn audit_last_seq(&self) -> Result<i64, StoreError>;
    /// Up to `limit` entries with `seq > after_seq`, in order.
    fn audit_entries(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
}

impl AuditLog for Store {
    fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        Store::verify_audit(self)
    }

    fn audit_last_seq(&self) -> Result<i64, StoreError> {
        Store::audit_last_seq(self)
    }

    fn audit_entries(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        Store::audit_entries(self, after_seq, limit)
    }
}

/// File name of the database inside the data folder.
pub const DB_FILE: &str = "suiji.sqlite3";

/// An open database. Cheap to open; each process (or thread) opens its own.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Who writes through this handle, recorded with every audit entry.
    origin: Origin,
}

impl Store {
    /// Opens `data_dir/suiji.sqlite3`, creating the folder and the file if missing, and
    /// brings its schema up to date. A damaged file, a foreign SQLite file or one written by
    /// a newer suiji is refused without being changed.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_as(data_dir, Origin::of_process())
    }

    /// As [`Store::open`], its writes recorded as made by `origin`.
    pub fn open_as(data_dir: &Path, origin: Origin) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::CreateDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path).map_err(|e| classify(e, &path))?;
        configure(&mut conn).map_err(|f| f.into_store(&path))?;
        Ok(Store { conn, path, origin })
    }

    /// Who writes through this handle (recorded with every audit entry).
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Records writes from now on as made by `origin` (the console sets its signed-in user).
    pub fn set_origin(&mut self, origin: Origin) {
        self.origin = origin;
    }

    /// Opens `data_dir/suiji.sqlite3` for reading only (SQLite's read-only mode): nothing is
    /// created, migrated or written, so it works on a read-only copy of the data (an
    /// auditor's mount). Where SQLite cannot open a WAL file read-only (its shared-memory file
    /// cannot be created on a read-only file system), the file is opened as immutable: it is
    /// then read as it is, which is what a read-only copy is. A missing file reads as an empty
    /// database (nothing is recorded yet). A file with an older schema is refused, not
    /// migrated.
    pub fn open_read_only(data_dir: &Path) -> Result<Store, StoreError> {
        Store::open_file_read_only(&data_dir.join(DB_FILE))
    }

    /// As [`Store::open_read_only`], given the database file itself.
    pub fn open_file_read_only(path: &Path) -> Result<Store, StoreError> {
        use rusqlite::OpenFlags;
        let path = path.to_path_buf();
        if !path.exists() {
            let mut conn = Connection::open_in_memory().map_err(|e| classify(e, &path))?;
            schema::migrate(&mut conn).map_err(|f| f.into_store(&path))?;
            return Ok(Store {
                conn,
                path,
                origin: Origin::of_process(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut failed = None;
        for mode in ["mode=ro", "immutable=1"] {
            let uri = format!("file:{}?{mode}", uri_path(&path));
            let opened = Connection::open_with_flags(&uri, flags)
                .map_err(Fail::from)
                .and_then(|mut conn| configure_read_only(&mut conn).map(|()| conn));
            match opened {
                Ok(conn) => {
                    return Ok(Store {
                        conn,
                        path,
                        origin: Origin::of_process(),
                    });
                }
                Err(f) => failed = Some(f.into_store(&path)),
            }
        }
        Err(failed.unwrap_or(StoreError::Busy { path }))
    }

    /// SQLite's `PRAGMA data_version`: it changes whenever another connection (another
    /// process, or another handle of this one) has committed a change since this handle last
    /// asked. A handle that never writes thus tells whether anything changed.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.read(|c| {
            Ok(c.prepare_cached("PRAGMA data_version")?
                .query_row([], |r| r.get(0))?)
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs SQLite's full integrity check and the foreign key check; an empty list means the
    /// file is sound. Slow on a big file: meant for `suiji verify`, not for every start.
    pub fn check_integrity(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut problems = Vec::new();
            let mut stmt = c.prepare("PRAGMA integrity_check")?;
            for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
                let line = row?;
                if line != "ok" {
                    problems.push(line);
                }
            }
            let mut stmt = c.prepare("PRAGMA foreign_key_check")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let table: String = r.get(0)?;
                let rowid: Option<i64> = r.get(1)?;
                let parent: String = r.get(2)?;
                problems.push(format!(
                    "{table} row {} refers to a missing {parent} row",
                    rowid.map_or_else(|| "?".to_string(), |id| id.to_string())
                ));
            }
            Ok(problems)
        })
    }

    /// Runs `f` in one IMMEDIATE transaction, committed only if `f` succeeds. Dropping the
    /// transaction on an error (or a panic) rolls everything back.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> R<T>,
    ) -> Result<T, StoreError> {
        let conn = &mut self.conn;
        let run = move || -> R<T> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run().map_err(|f| f.into_store(&self.path))
    }

    /// Runs read-only queries.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> R<T>) -> Result<T, StoreError> {
        f(&self.conn).map_err(|f| f.into_store(&self.path))
    }
}

/// Every row `sql` selects, each read by `row`: the one way the store lists rows of a table.
fn select_all<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> R<Vec<T>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(params, row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<T>>>()?)
}

/// The page size of a database file suiji creates: 16 KiB, not SQLite's 4. A draw at
/// national scale adds about a million rows to its tables in one transaction, nearly all of
/// them at the end of their B-trees; with pages four times larger the inserts split and write
/// a quarter as many pages, and the WAL carries a quarter as many frame headers and
/// checksums (storing a 10M draw's rows: about a fifth less CPU). Files made with smaller
/// pages keep them.
const PAGE_SIZE: i64 = 16384;

fn configure(conn: &mut Connection) -> R<()> {
    conn.busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS))?;
    // Identity first: reading the header is what finds a damaged or foreign file, and a
    // refused file must not have been switched to WAL or migrated.
    let version = schema::check_identity(conn)?;
    // A new file's pages: SQLite takes the size only while the file is still empty (before
    // WAL mode and the first table); a file that has pages keeps its own.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    let mode = enable_wal(conn)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "SQLite refused WAL mode; concurrent readers will wait for writers");
    }
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // A draw's transaction writes a large manifest and tens of thousands of rows at national
    // scale: with SQLite's default 2 MB page cache it spilled pages to the WAL mid-transaction
    // and its statement journals to temporary files (a third of the recording's time at 1M).
    // Up to 32 MiB of cache, and statement journals in memory, keep them out of the disk.
    conn.pragma_update(None, "cache_size", -32768)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    if version < SCHEMA_VERSION {
        schema::migrate(conn)?;
    }
    Ok(())
}

/// A read-only connection: the file's identity checked, nothing written.
fn configure_read_only(conn: &mut Connection) -> R<()> {
    conn.busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS))?;
    let found = schema::check_identity(conn)?;
    if found < schema::READS_FROM {
        return Err(error::Fail::Store(StoreError::OlderSchema {
            path: PathBuf::new(),
            found,
            supported: SCHEMA_VERSION,
        }));
    }
    Ok(())
}

/// A file path as the path part of an SQLite URI (`%`, `?` and `#` escaped).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// Switches the file to WAL mode (a persistent property of the file, so this only does work
/// the first time). SQLite answers "busy" at once, without waiting, when two connections try
/// the switch together, so it is retried here for up to [`BUSY_TIMEOUT_SECS`].
fn enable_wal(conn: &Connection) -> R<String> {
    const PAUSE: Duration = Duration::from_millis(25);
    let tries = BUSY_TIMEOUT_SECS * 1000 / 25;
    let mut tried = 0;
    loop {
        let current: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if current.eq_ignore_ascii_case("wal") {
            return Ok(current);
        }
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
            Ok(mode) => return Ok(mode),
            Err(e)
                if tried < tries
                    && matches!(
                        e.sqlite_error_code(),
                        Some(
                            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                        )
                    ) =>
            {
                tried += 1;
                std::thread::sleep(PAUSE);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Helpers shared by the submodules.
pub(crate) mod util {
    use super::error::{Fail, R, StoreError};

    pub(crate) fn non_empty(field: &str, value: &str) -> R<()> {
        if value.trim().is_empty() {
            return Err(StoreError::invalid(field, "must not be empty").into());
        }
        Ok(())
    }

    /// A calendar date written `YYYY-MM-DD`.
    pub(crate) fn date(field: &str, value: &str) -> R<()> {
        let ok = value.len() == 10 && chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok();
        if !ok {
            return Err(StoreError::invalid(
                field,
                format!("{value:?} is not a date written YYYY-MM-DD"),
            )
            .into());
        }
        Ok(())
    }

    pub(crate) fn lower_hex(field: &str, value: &str) -> R<()> {
        if value.is_empty()
            || !value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(StoreError::invalid(
                field,
                format!("{value:?} is not lowercase hexadecimal"),
            )
            .into());
        }
        Ok(())
    }

    pub(crate) fn to_i64(field: &str, value: u64) -> R<i64> {
        i64::try_from(value)
            .map_err(|_| StoreError::invalid(field, format!("{value} is too large")).into())
    }

    pub(crate) fn to_u64(field: &str, value: i64) -> R<u64> {
        u64::try_from(value)
            .map_err(|_| Fail::corrupt(format!("{field} holds the negative value {value}")))
    }

    pub(crate) fn to_u32(field: &str, value: i64) -> R<u32> {
        u32::try_from(value)
            .map_err(|_| Fail::corrupt(format!("{field} holds the out-of-range value {value}")))
    }
}
