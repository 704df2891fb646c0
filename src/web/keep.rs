//! What the console keeps between requests, and how it knows a kept thing is still current.
//!
//! Each request first looks at what every kept thing is made from ([`App::seen`]): the held
//! rules and calendar (their files looked at again, `jobs::held`) and the database's version
//! (`ConsoleStore::change_marker`: SQLite's `data_version`, read on one connection that never
//! writes, so that a commit by any connection — of this process or another — changes it; on
//! a shared PostgreSQL database the last audit entry's and scheduler event's numbers, which
//! every write a page shows moves, on whichever node it is made). A kept thing is keyed by that
//! [`Source`] and by whatever else it depends on (the day, the second, what the user may see);
//! [`Keep`] holds the last few and makes a new one when none has the request's key. So any
//! write, rule or calendar change, or new day shows on the very next request.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use super::pool::Place;
use super::{App, Fail};
use crate::calendar::Calendar;
use crate::rules::Loaded;
use crate::store::ConsoleStore;

/// The database's version as one watching connection reads it: `data_version` changes with
/// every commit made by another connection; the watcher's number tells the versions of a
/// connection opened again (another data folder) apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Version {
    watcher: u64,
    data: (i64, i64),
}

/// The database a request finds: where it is, and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Database {
    pub(crate) place: Place,
    pub(crate) version: Version,
}

/// What a request finds, looked at once at its start: the database, and the rules and
/// calendar as held (`None` when the rule files have problems: asking for the rules again
/// reports them).
#[derive(Clone)]
pub(crate) struct Seen {
    pub(crate) db: Database,
    rules: Option<(Arc<Loaded>, Option<Arc<Calendar>>)>,
}

/// What kept things are made from: the database as found, and the rules and calendar as held
/// (`cal` is `None` when the holiday files have problems).
#[derive(Clone)]
pub(crate) struct Source {
    pub(crate) db: Database,
    pub(crate) loaded: Arc<Loaded>,
    cal: Option<Arc<Calendar>>,
}

impl PartialEq for Source {
    /// The same database and version, and the same loading of the rules and calendar (not
    /// merely equal contents: a reload is a change).
    fn eq(&self, other: &Source) -> bool {
        self.db == other.db
            && Arc::ptr_eq(&self.loaded, &other.loaded)
            && match (&self.cal, &other.cal) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

impl Seen {
    /// The source of kept things, or the rules' problems.
    pub(crate) fn source(&self, app: &App) -> Result<Source, Fail> {
        match &self.rules {
            Some((loaded, cal)) => Ok(Source {
                db: self.db.clone(),
                loaded: loaded.clone(),
                cal: cal.clone(),
            }),
            None => Err(app.rules().err().unwrap_or_else(|| {
                Fail::Failed("规则在本次请求中途发生变化，请刷新页面。".into())
            })),
        }
    }
}

impl Source {
    /// The holiday calendar, or its problems.
    pub(crate) fn calendar(&self, app: &App) -> Result<Arc<Calendar>, Fail> {
        match &self.cal {
            Some(cal) => Ok(cal.clone()),
            None => app.rules_and_calendar().map(|(_, cal)| cal),
        }
    }
}

/// The watching connection: its number, where it is open, and the connection.
type Watcher = (u64, Place, Box<dyn ConsoleStore>);

/// The connection that watches the database's version.
#[derive(Default)]
pub(crate) struct Watch {
    watcher: Mutex<Option<Watcher>>,
    opened: AtomicU64,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("keep::Watch")
    }
}

impl Watch {
    /// The version of the database at `place` (opening the watcher first if needed, or again
    /// when the server ended its connection).
    fn version(&self, place: &Place) -> Result<Version, Fail> {
        // Asked from the async threads: a PostgreSQL handle blocks on the server.
        crate::store::pg::may_block(|| self.version_here(place))
    }

    fn version_here(&self, place: &Place) -> Result<Version, Fail> {
        let mut w = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        if w.as_ref()
            .is_none_or(|(_, p, s)| p != place || !s.is_open())
        {
            *w = None;
            let store = place
                .open(crate::store::Origin::of_process())
                .map_err(|e| Fail::of(&e))?;
            let n = self.opened.fetch_add(1, Ordering::Relaxed);
            *w = Some((n, place.clone(), store));
        }
        match &*w {
            Some((watcher, _, s)) => Ok(Version {
                watcher: *watcher,
                data: s.change_marker().map_err(|e| Fail::of(&e))?,
            }),
            None => Err(Fail::Failed("数据库无法打开".into())),
        }
    }
}

impl App {
    /// What this request finds: the rules and calendar as held (their files looked at
    /// again) and the database's version. Cheap while nothing changed: a look at each rule
    /// file and one `PRAGMA` (on PostgreSQL, one small query).
    pub(crate) fn seen(&self) -> Result<Seen, Fail> {
        let rules = self.inner.held.loads().ok();
        let place = match (&self.inner.database, &rules) {
            (Some(url), _) => Place::Server(url.clone()),
            (None, Some((loaded, _))) => Place::Folder(loaded.model.config.data_dir.clone()),
            (None, None) => self.place()?,
        };
        let version = self.inner.watch.version(&place)?;
        Ok(Seen {
            db: Database { place, version },
            rules,
        })
    }
}

/// The last few things made, each with the key it was made for. Made while the holder is
/// locked: requests that come meanwhile for the same thing wait and take it.
pub(crate) struct Keep<K, V> {
    entries: Mutex<VecDeque<(K, V)>>,
    room: usize,
    /// How many things were made (not taken from what was kept).
    made: AtomicUsize,
}

impl<K, V> std::fmt::Debug for Keep<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("keep::Keep")
    }
}

impl<K: PartialEq, V: Clone> Keep<K, V> {
    /// A holder of up to `room` things (the oldest goes first).
    pub(crate) fn new(room: usize) -> Keep<K, V> {
        Keep {
            entries: Mutex::new(VecDeque::with_capacity(room)),
            room: room.max(1),
            made: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<(K, V)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The thing kept for `key`, without waiting: `None` when there is none, and also while
    /// another request is making one (then [`Keep::get`], off the async threads, waits for it).
    pub(crate) fn ready(&self, key: &K) -> Option<V> {
        let entries = match self.entries.try_lock() {
            Ok(e) => e,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// The thing kept for `key`, if any (waiting while another request makes one).
    pub(crate) fn kept(&self, key: &K) -> Option<V> {
        self.lock()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// The thing kept for `key`, or the one `make` makes, then kept.
    pub(crate) fn get(&self, key: K, make: impl FnOnce(&K) -> Result<V, Fail>) -> Result<V, Fail> {
        self.get_if(key, |_| true, make)
    }

    /// As [`Keep::get`], a kept thing counting only while `still` holds of it.
    pub(crate) fn get_if(
        &self,
        key: K,
        still: impl Fn(&V) -> bool,
        make: impl FnOnce(&K) -> Result<V, Fail>,
    ) -> Result<V, Fail> {
        let mut entries = self.lock();
        if let Some(at) = entries.iter().position(|(k, _)| *k == key) {
            if still(&entries[at].1) {
                return Ok(entries[at].1.clone());
            }
            entries.remove(at);
        }
        let made = make(&key)?;
        self.made.fetch_add(1, Ordering::Relaxed);
        Self::push(&mut entries, self.room, key, made.clone());
        Ok(made)
    }

    /// Keeps `value` for `key` (in place of what was kept for it).
    pub(crate) fn put(&self, key: K, value: V) {
        let mut entries = self.lock();
        entries.retain(|(k, _)| *k != key);
        Self::push(&mut entries, self.room, key, value);
    }

    fn push(entries: &mut VecDeque<(K, V)>, room: usize, key: K, value: V) {
        while entries.len() >= room {
            entries.pop_front();
        }
        entries.push_back((key, value));
    }

    /// How many things were made so far (each time none was kept for the key asked).
    pub(crate) fn made(&self) -> usize {
        self.made.load(Ordering::Relaxed)
    }

    /// Forgets everything kept.
    pub(crate) fn forget(&self) {
        self.lock().clear();
    }
}

/// An `Arc` compared by identity: a key part that stands for everything its value was made
/// from (two values made apart are different keys, however equal their contents).
#[derive(Debug)]
pub(crate) struct Same<T>(pub(crate) Arc<T>);

impl<T> Clone for Same<T> {
    fn clone(&self) -> Same<T> {
        Same(self.0.clone())
    }
}

impl<T> PartialEq for Same<T> {
    fn eq(&self, other: &Same<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
