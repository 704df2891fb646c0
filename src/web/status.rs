//! The status (`suiji status`) the 工作台 and 结果公示 show, computed once per change: while
//! the database, the rules, the calendar and the second stay the same, every request shares
//! one computation. Its publication section (the ledgers of every draw) depends on the day,
//! not the second: it is built again only when the database, the rules, the calendar or the
//! day change.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, NaiveDateTime, Timelike as _};

use super::{App, Fail};
use crate::calendar::Calendar;
use crate::jobs::status::{Input, Publication, Status};
use crate::rules::Loaded;
use crate::store::Store;

/// The last status computed and what it was computed from.
#[derive(Default)]
pub(crate) struct Cache {
    state: Mutex<State>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("status::Cache")
    }
}

#[derive(Default)]
struct State {
    /// A connection that never writes: its `data_version` changes with every commit made
    /// by any other connection, in this process or another.
    watcher: Option<Store>,
    last: Option<Computed>,
    /// The publication section of the last status, and the day it speaks for.
    day: Option<Day>,
}

/// What a status was computed from.
#[derive(Clone)]
struct Key {
    data_dir: PathBuf,
    version: i64,
    loaded: Arc<Loaded>,
    cal: Arc<Calendar>,
    within: u32,
}

impl PartialEq for Key {
    /// The same folder, database version, loaded rules and calendar (the same loading, not
    /// merely equal contents: a reload is a change), and the same horizon.
    fn eq(&self, other: &Key) -> bool {
        self.data_dir == other.data_dir
            && self.version == other.version
            && Arc::ptr_eq(&self.loaded, &other.loaded)
            && Arc::ptr_eq(&self.cal, &other.cal)
            && self.within == other.within
    }
}

struct Day {
    key: Key,
    date: NaiveDate,
    publication: Publication,
}

struct Computed {
    key: Key,
    now: NaiveDateTime,
    status: Arc<Status>,
}

impl App {
    /// The rules and the holiday calendar as their files say now.
    pub(crate) fn rules_and_calendar(&self) -> Result<(Arc<Loaded>, Arc<Calendar>), Fail> {
        self.inner.held.both().map_err(|e| Fail::of(&e))
    }

    /// The status as of `now` (to the second), computed again only when something it is
    /// computed from has changed.
    pub(crate) fn status(
        &self,
        user: Option<&crate::jobs::users::User>,
        now: NaiveDateTime,
        within: u32,
    ) -> Result<Arc<Status>, Fail> {
        let now = now.with_nanosecond(0).unwrap_or(now);
        let (loaded, cal) = self.rules_and_calendar()?;
        let data_dir = loaded.model.config.data_dir.clone();
        // Held while computing: requests that come meanwhile wait and take the result.
        let mut state = self
            .inner
            .status
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let version = state.version(&data_dir)?;
        let key = Key {
            data_dir,
            version,
            loaded,
            cal,
            within,
        };
        if let Some(c) = &state.last
            && c.key == key
            && c.now == now
        {
            return Ok(c.status.clone());
        }
        let known = state
            .day
            .as_ref()
            .filter(|d| d.key == key && d.date == now.date())
            .map(|d| &d.publication);
        let cx = self.context(user)?;
        let input = Input { now, within };
        let status = crate::jobs::status::run_with(&self.config(), cx, &input, known)
            .map_err(|e| Fail::of(&e))?;
        let status = Arc::new(status);
        if known.is_none() {
            state.day = Some(Day {
                key: key.clone(),
                date: now.date(),
                publication: status.publication_part(),
            });
        }
        state.last = Some(Computed {
            key,
            now,
            status: status.clone(),
        });
        Ok(status)
    }
}

impl State {
    /// The watcher's `data_version` (opening the watcher first if needed).
    fn version(&mut self, data_dir: &std::path::Path) -> Result<i64, Fail> {
        if self
            .watcher
            .as_ref()
            .is_none_or(|w| w.path() != data_dir.join(crate::store::DB_FILE))
        {
            self.watcher = None;
            self.last = None;
            self.day = None;
            let watcher = Store::open(data_dir).map_err(|e| Fail::of(&e))?;
            self.watcher = Some(watcher);
        }
        match &self.watcher {
            Some(w) => w.data_version().map_err(|e| Fail::of(&e)),
            None => Err(Fail::Failed("数据库无法打开".into())),
        }
    }
}
