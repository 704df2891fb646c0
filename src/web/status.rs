//! The status (`suiji status`) the 工作台 shows, computed once per change: while the database,
//! the rules, the calendar and the second stay the same, every request shares one
//! computation. Its publication section (the ledgers of every draw) depends on the day, not
//! the second: it is built again only when the database, the rules, the calendar or the day
//! change.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, Timelike as _};

use super::keep::{Keep, Source};
use super::{App, Fail};
use crate::calendar::Calendar;
use crate::jobs::status::{Input, Publication, Status};
use crate::rules::Loaded;

/// The last status computed, and the last publication section, with what each was computed
/// from (the source, the horizon in working days, and the second or the day).
#[derive(Debug)]
pub(crate) struct Cache {
    computed: Keep<(Source, u32, NaiveDateTime), Arc<Status>>,
    day: Keep<(Source, u32, NaiveDate), Arc<Publication>>,
}

impl Default for Cache {
    fn default() -> Cache {
        Cache {
            computed: Keep::new(1),
            day: Keep::new(1),
        }
    }
}

impl App {
    /// The rules and the holiday calendar as their files say now.
    pub(crate) fn rules_and_calendar(&self) -> Result<(Arc<Loaded>, Arc<Calendar>), Fail> {
        self.inner.held.both().map_err(|e| Fail::of(&e))
    }

    /// The status as of `now` (to the second), if it is computed already for `source`, without
    /// waiting (see [`Keep::ready`]).
    pub(crate) fn status_ready(
        &self,
        source: &Source,
        now: NaiveDateTime,
        within: u32,
    ) -> Option<Arc<Status>> {
        let now = now.with_nanosecond(0).unwrap_or(now);
        self.inner
            .status
            .computed
            .ready(&(source.clone(), within, now))
    }

    /// The status as of `now` (to the second), computed again only when something it is
    /// computed from has changed.
    pub(crate) fn status(
        &self,
        source: &Source,
        now: NaiveDateTime,
        within: u32,
    ) -> Result<Arc<Status>, Fail> {
        let now = now.with_nanosecond(0).unwrap_or(now);
        let cache = &self.inner.status;
        cache
            .computed
            .get((source.clone(), within, now), |(source, within, now)| {
                let day = (source.clone(), *within, now.date());
                let known = cache.day.kept(&day);
                let cx = self.context_of(source, None)?;
                let input = Input {
                    now: *now,
                    within: *within,
                };
                let status =
                    crate::jobs::status::run_with(&self.config(), cx, &input, known.as_deref())
                        .map_err(|e| Fail::of(&e))?;
                if known.is_none() {
                    cache.day.put(day, Arc::new(status.publication_part()));
                }
                Ok(Arc::new(status))
            })
    }
}
