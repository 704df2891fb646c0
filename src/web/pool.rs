//! Database connections kept open between requests. Opening one costs more than most pages:
//! SQLite reads the schema again, and when no other connection is open it creates the WAL
//! files and removes them again on close; a PostgreSQL connection is a new server process and
//! a check of the schema. The console keeps a few open and lends them out, one request (one
//! worker thread) at a time: a connection is never shared between threads.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::pg::PgStore;
use crate::store::{ConsoleStore, Origin, Store, StoreError};

/// How many idle connections are kept.
const KEEP: usize = 8;

/// Where the console's database is: the SQLite file in a data folder, or a PostgreSQL
/// database and schema (a shared deployment: the only state every node shares).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Place {
    Folder(PathBuf),
    Server(crate::store::pg::Place),
}

impl Place {
    /// Opens a connection, its writes recorded as made by `origin`.
    pub(crate) fn open(&self, origin: Origin) -> Result<Box<dyn ConsoleStore>, StoreError> {
        Ok(match self {
            Place::Folder(dir) => Box::new(Store::open_as(dir, origin)?),
            Place::Server(url) => Box::new(PgStore::open_at_as(url, origin)?),
        })
    }
}

/// Open connections, each with the database it is open on, waiting to be lent.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<Vec<(Place, Box<dyn ConsoleStore>)>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("pool::Pool")
    }
}

impl Pool {
    /// A connection to the database at `place`, its writes recorded as made by `origin`,
    /// given back to the pool when the guard is dropped.
    pub(crate) fn lend(
        self: &Arc<Pool>,
        place: &Place,
        origin: Origin,
    ) -> Result<Pooled, StoreError> {
        Ok(Pooled {
            store: Some(self.take(place, origin)?),
            place: place.clone(),
            pool: self.clone(),
        })
    }

    /// As [`Pool::lend`], for a job that keeps the connection (it is not given back).
    pub(crate) fn take(
        &self,
        place: &Place,
        origin: Origin,
    ) -> Result<Box<dyn ConsoleStore>, StoreError> {
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            idle.retain(|(_, s)| s.is_open());
            let at = idle.iter().position(|(p, _)| p == place);
            at.map(|i| idle.swap_remove(i).1)
        };
        let mut store = match idle {
            Some(s) => s,
            None => place.open(origin.clone())?,
        };
        store.set_origin(origin);
        Ok(store)
    }

    fn give_back(&self, place: Place, store: Box<dyn ConsoleStore>) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < KEEP {
            idle.push((place, store));
        }
    }
}

/// A lent connection; it goes back to the pool when dropped.
pub(crate) struct Pooled {
    /// Always `Some` until the guard is dropped.
    store: Option<Box<dyn ConsoleStore>>,
    place: Place,
    pool: Arc<Pool>,
}

impl Deref for Pooled {
    type Target = dyn ConsoleStore;

    fn deref(&self) -> &(dyn ConsoleStore + 'static) {
        match &self.store {
            Some(s) => &**s,
            None => unreachable!("a lent connection is taken back only on drop"),
        }
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut (dyn ConsoleStore + 'static) {
        match &mut self.store {
            Some(s) => &mut **s,
            None => unreachable!("a lent connection is taken back only on drop"),
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            self.pool.give_back(self.place.clone(), store);
        }
    }
}
