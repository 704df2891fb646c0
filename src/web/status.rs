//! The status (`suiji status`) the 工作台 and 结果公示 show, computed once per change: while
//! the database, the rules, the calendar and the second stay the same, every request shares
//! one computation (the ledgers of every draw).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{NaiveDateTime, Timelike as _};

use super::{App, Fail};
use crate::calendar::Calendar;
use crate::jobs::status::{Input, Status};
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
}

struct Computed {
    data_dir: PathBuf,
    version: i64,
    loaded: Arc<Loaded>,
    cal: Arc<Calendar>,
    now: NaiveDateTime,
    within: u32,
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
        if let Some(c) = &state.last
            && c.data_dir == data_dir
            && c.version == version
            && Arc::ptr_eq(&c.loaded, &loaded)
            && Arc::ptr_eq(&c.cal, &cal)
            && c.now == now
            && c.within == within
        {
            return Ok(c.status.clone());
        }
        let cx = self.context(user)?;
        let input = Input { now, within };
        let status =
            crate::jobs::status::run(&self.config(), cx, &input).map_err(|e| Fail::of(&e))?;
        let status = Arc::new(status);
        state.last = Some(Computed {
            data_dir,
            version,
            loaded,
            cal,
            now,
            within,
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
            let watcher = Store::open(data_dir).map_err(|e| Fail::of(&e))?;
            self.watcher = Some(watcher);
        }
        match &self.watcher {
            Some(w) => w.data_version().map_err(|e| Fail::of(&e)),
            None => Err(Fail::Failed("数据库无法打开".into())),
        }
    }
}
