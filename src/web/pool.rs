//! Database connections kept open between requests. Opening one costs more than most pages:
//! SQLite reads the schema again, and when no other connection is open it creates the WAL
//! files and removes them again on close. The console keeps a few open and lends them out.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::{Origin, Store, StoreError};

/// How many idle connections are kept.
const KEEP: usize = 8;

/// Open connections to one database file, waiting to be lent.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    idle: Mutex<Vec<Store>>,
}

impl Pool {
    /// A connection to the database in `data_dir`, its writes recorded as made by `origin`,
    /// given back to the pool when the guard is dropped.
    pub(crate) fn lend(
        self: &Arc<Pool>,
        data_dir: &Path,
        origin: Origin,
    ) -> Result<Pooled, StoreError> {
        Ok(Pooled {
            store: Some(self.take(data_dir, origin)?),
            pool: self.clone(),
        })
    }

    /// As [`Pool::lend`], for a job that keeps the connection (it is not given back).
    pub(crate) fn take(&self, data_dir: &Path, origin: Origin) -> Result<Store, StoreError> {
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            let at = idle
                .iter()
                .position(|s| s.path().parent() == Some(data_dir));
            at.map(|i| idle.swap_remove(i))
        };
        let mut store = match idle {
            Some(s) => s,
            None => Store::open_as(data_dir, origin.clone())?,
        };
        store.set_origin(origin);
        Ok(store)
    }

    fn give_back(&self, store: Store) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < KEEP {
            idle.push(store);
        }
    }
}

/// A lent connection; it goes back to the pool when dropped.
#[derive(Debug)]
pub(crate) struct Pooled {
    /// Always `Some` until the guard is dropped.
    store: Option<Store>,
    pool: Arc<Pool>,
}

impl Deref for Pooled {
    type Target = Store;

    fn deref(&self) -> &Store {
        match &self.store {
            Some(s) => s,
            None => unreachable!("a lent connection is taken back only on drop"),
        }
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Store {
        match &mut self.store {
            Some(s) => s,
            None => unreachable!("a lent connection is taken back only on drop"),
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            self.pool.give_back(store);
        }
    }
}
