//! What the staff console (`suiji serve`) holds a database by, one interface over both: the
//! SQLite file ([`Store`]) and PostgreSQL ([`PgStore`]).
//!
//! The console's pages read and write draws, results, publications, the scheduler's events,
//! rule versions, accounts, redraw requests and registry replacements through
//! [`RecordStore`], [`UserStore`], [`RedrawStore`] and [`RegistryLog`]; what it keeps
//! between requests is keyed by [`ConsoleStore::change_marker`], which moves with every write
//! a page can show, made by any process or node.

use super::pg::PgStore;
use super::{
    RecordStore, Records, RedrawStore, RegistryLog, ServiceStore, Store, StoreError, UserStore,
};

/// The audit actions a kept page never shows and a kept session never depends on: logins
/// open new sessions and count failures, and change nothing a page or a live session shows.
/// They do not move PostgreSQL's change marker, so logging in does not make every node build
/// its pages again.
pub const UNSEEN_ACTIONS: [&str; 3] = ["login.ok", "login.failed", "login.slowed"];

/// A database the console works on.
pub trait ConsoleStore: RecordStore + UserStore + RedrawStore + RegistryLog + Send {
    /// A value that changes whenever a write that a kept page or session may show is
    /// committed, by any connection of any process. On SQLite its `data_version` (any
    /// commit by another connection: ask on a connection that never writes); on PostgreSQL
    /// the last audit entry's number (but for logins, [`UNSEEN_ACTIONS`]) and the last
    /// scheduler event's, which every node reads alike.
    fn change_marker(&self) -> Result<(i64, i64), StoreError>;
    /// Whether the connection may still be used (a PostgreSQL connection the server or the
    /// network ended is not: a pool drops it).
    fn is_open(&self) -> bool;
    /// Each draw's matter, by draw id (superseded draws too).
    fn draw_matters(&self) -> Result<std::collections::HashMap<i64, String>, StoreError>;
}

impl ConsoleStore for Store {
    fn change_marker(&self) -> Result<(i64, i64), StoreError> {
        Ok((self.data_version()?, 0))
    }

    fn is_open(&self) -> bool {
        true
    }

    fn draw_matters(&self) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        Store::draw_matters(self)
    }
}

impl ConsoleStore for PgStore {
    fn change_marker(&self) -> Result<(i64, i64), StoreError> {
        PgStore::change_marker(self)
    }

    fn is_open(&self) -> bool {
        PgStore::is_open(self)
    }

    fn draw_matters(&self) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        PgStore::draw_matters(self)
    }
}

impl Records for Box<dyn ConsoleStore> {
    fn records(&self) -> &dyn RecordStore {
        &**self
    }

    fn into_service(self) -> Box<dyn ServiceStore> {
        self
    }
}
