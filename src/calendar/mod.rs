//! China's statutory holidays, adjusted working days (调休) and working-day arithmetic.
//!
//! The official calendar for a year comes from the State Council notice
//! (国务院办公厅关于YYYY年部分节假日安排的通知), kept as `config/holidays/YYYY.toml`
//! (see the comment at the top of those files for the format). A working day is a Monday to
//! Friday that is not a day off of a holiday, or a Saturday or Sunday the notice lists as a
//! make-up working day (调休上班).
//!
//! For a year with no notice yet, questions fail with [`CalendarError::NoData`] unless the
//! calendar allows provisional data ([`Calendar::load`] with `allow_provisional`, or
//! [`Calendar::with_provisional`]); then the year's holidays are computed from the lunar
//! calendar with the statutory minimum days off and no 调休, flagged `provisional`.
//!
//! Merged holidays: when a notice joins two holidays into one block (2023 and 2025: 中秋节 and
//! 国庆节), both [`Holiday`]s get a [`HolidayPeriod`] covering the whole block with the same
//! make-up working days, so `holiday(2023, MidAutumn)` and `holiday(2023, NationalDay)` are both
//! 2023-09-29 to 2023-10-06.

mod checks;
mod files;
mod holiday;
mod parse;
mod provisional;
mod workdays;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;

use crate::diag::{Diagnostic, Sources};

pub use holiday::Holiday;

/// Official holiday data and working-day questions answered from it.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// Years with a State Council notice.
    years: BTreeMap<i32, Official>,
    /// Every date some notice lists: `true` for a make-up working day, `false` for a day off.
    /// Days off may fall in the year before the notice's (元旦).
    listed: BTreeMap<NaiveDate, bool>,
    allow_provisional: bool,
}

#[derive(Debug, Clone)]
struct Official {
    source: String,
    /// One period per holiday, in date order.
    periods: Vec<HolidayPeriod>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// No official data for the year, and provisional calendars were not allowed.
    #[error(
        "no official holiday calendar for {year}: add config/holidays/{year}.toml once the State Council publishes it, or allow a provisional calendar"
    )]
    NoData { year: i32 },
    /// The year has no official data and is too far from today for a provisional calendar.
    #[error(
        "no holiday calendar for {year}: provisional calendars are only computed for {first}–{last}",
        first = provisional::FIRST_YEAR,
        last = provisional::LAST_YEAR
    )]
    OutOfRange { year: i32 },
    /// `nth_working_day_of` was asked for the 0th working day; counting starts at 1.
    #[error("working days are counted from 1: there is no 0th working day")]
    ZeroNth,
}

/// One holiday of one year: its consecutive days off and the weekend days worked in exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayPeriod {
    pub holiday: Holiday,
    /// The year of the notice that lists it (2023's 元旦 starts on 2022-12-31).
    pub year: i32,
    /// First day off.
    pub start: NaiveDate,
    /// Last day off (inclusive).
    pub end: NaiveDate,
    /// Make-up working days (调休上班), in date order.
    pub makeup_workdays: Vec<NaiveDate>,
    /// Computed from the lunar calendar, not taken from a notice.
    pub provisional: bool,
}

impl HolidayPeriod {
    /// Whether `d` is one of the days off.
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start <= d && d <= self.end
    }

    /// Number of consecutive days off, weekends included.
    pub fn days(&self) -> u32 {
        u32::try_from((self.end - self.start).num_days() + 1).unwrap_or(0)
    }
}

impl Calendar {
    /// Reads every `*.toml` in `dir` (one file per year). Reports every problem found in any
    /// file as a located diagnostic; returns `Err` with all of them if there is any.
    pub fn load(
        dir: &Path,
        sources: &mut Sources,
        allow_provisional: bool,
    ) -> Result<Calendar, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let files = files::read_dir(dir, sources, &mut diags);
        let parsed = files::check_all(&files, sources, &mut diags);
        if diags.iter().any(Diagnostic::is_error) {
            return Err(diags);
        }
        Ok(Calendar::from_files(parsed, allow_provisional))
    }

    /// The calendar shipped with suiji (`config/holidays/*.toml` at build time), without
    /// provisional years.
    pub fn builtin() -> Calendar {
        Calendar::from_files(files::builtin(), false)
    }

    /// The same calendar, answering questions about years without a notice from a
    /// provisional calendar (`true`) or with [`CalendarError::NoData`] (`false`).
    pub fn with_provisional(mut self, allow: bool) -> Calendar {
        self.allow_provisional = allow;
        self
    }

    /// Whether years without a notice get a provisional calendar.
    pub fn allows_provisional(&self) -> bool {
        self.allow_provisional
    }

    fn from_files(files: Vec<parse::YearFile>, allow_provisional: bool) -> Calendar {
        let mut years = BTreeMap::new();
        let mut listed = BTreeMap::new();
        for f in files {
            for p in &f.periods {
                for d in p.start.iter_days().take_while(|d| *d <= p.end) {
                    listed.insert(d, false);
                }
                for d in &p.makeup_workdays {
                    listed.insert(*d, true);
                }
            }
            years.insert(
                f.year,
                Official {
                    source: f.source,
                    periods: f.periods,
                },
            );
        }
        Calendar {
            years,
            listed,
            allow_provisional,
        }
    }

    /// Years with official data, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Whether the year's holidays come from a State Council notice.
    pub fn is_official(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The notice the year's data comes from (`None` for a year without one).
    pub fn source(&self, year: i32) -> Option<&str> {
        self.years.get(&year).map(|o| o.source.as_str())
    }

    /// The year's holidays in date order, one per [`Holiday`]: from the notice, or provisional.
    pub fn holidays(&self, year: i32) -> Result<Vec<HolidayPeriod>, CalendarError> {
        if let Some(o) = self.years.get(&year) {
            return Ok(o.periods.clone());
        }
        if self.allow_provisional {
            return provisional::periods(year);
        }
        Err(CalendarError::NoData { year })
    }

    /// One holiday of the year. Both halves of a merged block (2023's 中秋节 and 国庆节) give
    /// the whole block.
    pub fn holiday(&self, year: i32, h: Holiday) -> Result<HolidayPeriod, CalendarError> {
        self.holidays(year)?
            .into_iter()
            .find(|p| p.holiday == h)
            // Files are checked to list all seven holidays, and provisional years compute all.
            .ok_or(CalendarError::NoData { year })
    }
}
