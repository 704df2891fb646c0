//! Periods of a year and the draws they call for: one source of truth for `plan`, `schedule`,
//! `simulate` and the service.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::calendar::{Calendar, CalendarError, Holiday};
use crate::rules::model::{Frequency, HolidayRule, IssueAt, Matter, Model, OnHoliday, Ratio};
pub use crate::rules::names::{first_form, period_key};

/// The classes of a matter's `class_frequency` a regular draw covers (分类频次,
/// docs/draw-algorithm.md V2-14): `due`, whose cycle the draw's period opens, and `not_due`,
/// whose targets are out of the draw's scope. Both sorted by their bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassCover {
    pub due: Vec<String>,
    pub not_due: Vec<String>,
}

impl ClassCover {
    /// As the plan and schedule print it: `覆盖 A、B、C、D 类` or `覆盖 D 类（A、B、C 类本期不抽）`.
    pub fn label_zh(&self) -> String {
        let join = |v: &[String]| v.join("、");
        match (self.due.is_empty(), self.not_due.is_empty()) {
            (_, true) => format!("覆盖 {} 类", join(&self.due)),
            (true, false) => format!("{} 类本期不抽", join(&self.not_due)),
            (false, false) => format!(
                "覆盖 {} 类（{} 类本期不抽）",
                join(&self.due),
                join(&self.not_due)
            ),
        }
    }
}

/// What a draw of `m` of `kind` for `period` covers of its `class_frequency`; `None` when the
/// matter has none or the draw is a holiday window (which does not use classes).
pub fn class_cover(m: &Matter, kind: DrawKind, period: &Period) -> Option<ClassCover> {
    if m.class_frequency.is_empty() || kind != DrawKind::Regular {
        return None;
    }
    let (due, not_due): (Vec<_>, Vec<_>) = m
        .class_frequency
        .iter()
        .partition(|(_, f)| f.opens_cycle(period.start, m.biennial_start));
    let names = |v: Vec<(&String, _)>| v.into_iter().map(|(c, _)| c.clone()).collect();
    Some(ClassCover {
        due: names(due),
        not_due: names(not_due),
    })
}

/// The most draws a cron may call for in a year (one a day). `check` refuses a cron that fires
/// more often rather than cutting it short.
pub const CRON_CAP: usize = 366;

/// Fire times kept per year at most, whatever the cron (a cron past [`CRON_CAP`] fails `check`).
const CRON_HARD_LIMIT: usize = 10_000;

/// Time of day at which regular and holiday draws are issued (local time).
pub(crate) const ISSUE_TIME: (u32, u32) = (9, 0);

/// What kind of draw a scheduled entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DrawKind {
    /// The matter's regular draw for a period of its frequency.
    Regular,
    /// A holiday-intensified draw (重大节假日加强抽查).
    Holiday(Holiday),
}

/// A period a draw covers, e.g. "2023-H1" from 2023-01-01 to 2023-06-30.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub id: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// The name staff read (2023年上半年); see [`crate::rules::names::period_label`].
    pub fn label_zh(&self) -> String {
        crate::rules::names::period_label(&self.id)
    }
}

/// One draw of the year's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledDraw {
    pub matter: String,
    pub kind: DrawKind,
    pub period: Period,
    /// Local date and time the draw is issued.
    pub issue_at: NaiveDateTime,
    /// Inspections due by this date.
    pub due: NaiveDate,
    pub ratio: Ratio,
    pub key_area_only: bool,
}

impl ScheduledDraw {
    pub fn issue_date(&self) -> NaiveDate {
        self.issue_at.date()
    }
}

/// The periods of `year` for a frequency (cron: one period per fire time).
pub fn periods(
    freq: &Frequency,
    year: i32,
    tz: chrono_tz::Tz,
) -> Vec<(Period, Option<NaiveDateTime>)> {
    let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(year, m, day).unwrap_or(NaiveDate::MIN);
    let month_end = |m: u32| {
        let next = if m == 12 {
            d(12, 31) + Duration::days(1)
        } else {
            d(m + 1, 1)
        };
        next - Duration::days(1)
    };
    let p = |id: String, start, end| (Period { id, start, end }, None);
    match freq {
        Frequency::Yearly => vec![p(format!("{year}"), d(1, 1), d(12, 31))],
        Frequency::HalfYearly => vec![
            p(format!("{year}-H1"), d(1, 1), d(6, 30)),
            p(format!("{year}-H2"), d(7, 1), d(12, 31)),
        ],
        Frequency::Quarterly => (1..=4)
            .map(|q| p(format!("{year}-Q{q}"), d(q * 3 - 2, 1), month_end(q * 3)))
            .collect(),
        Frequency::Monthly => (1..=12)
            .map(|m| p(format!("{year}-{m:02}"), d(m, 1), month_end(m)))
            .collect(),
        Frequency::Cron { schedule, .. } => {
            use chrono::TimeZone;
            let Some(start) = tz.with_ymd_and_hms(year, 1, 1, 0, 0, 0).earliest() else {
                return Vec::new();
            };
            let fires = cron_fires(schedule, start, year, CRON_HARD_LIMIT);
            // A period is named by its fire time to the minute; to the second only when the
            // cron fires more than once in that minute, so every period has its own name. The
            // time has no `:` (period ids of version 2, docs/draw-algorithm.md V2-15): the id is
            // a folder name on every OS.
            let minute = |t: &NaiveDateTime| t.format("%Y-%m-%dT%H%M").to_string();
            let shares_minute = |i: usize| {
                let m = minute(&fires[i]);
                (i > 0 && minute(&fires[i - 1]) == m)
                    || fires.get(i + 1).is_some_and(|n| minute(n) == m)
            };
            fires
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let end = fires.get(i + 1).map_or(d(12, 31), |n| {
                        if n.date() > t.date() {
                            n.date() - Duration::days(1)
                        } else {
                            n.date()
                        }
                    });
                    (
                        Period {
                            id: if shares_minute(i) {
                                t.format("%Y-%m-%dT%H%M%S").to_string()
                            } else {
                                minute(t)
                            },
                            start: t.date(),
                            end,
                        },
                        Some(*t),
                    )
                })
                .collect()
        }
    }
}

/// The fire times of a cron in `year` from `start` (the year's first instant), at most `limit`.
fn cron_fires(
    schedule: &cron::Schedule,
    start: chrono::DateTime<chrono_tz::Tz>,
    year: i32,
    limit: usize,
) -> Vec<NaiveDateTime> {
    schedule
        .after(&(start - Duration::seconds(1)))
        .map(|t| t.naive_local())
        .take_while(|t| t.year() == year)
        .take(limit)
        .collect()
}

/// How many times a cron fires in `year`, counting up to `CRON_CAP + 1`.
pub fn cron_fire_count(schedule: &cron::Schedule, year: i32, tz: chrono_tz::Tz) -> usize {
    use chrono::TimeZone;
    match tz.with_ymd_and_hms(year, 1, 1, 0, 0, 0).earliest() {
        Some(start) => cron_fires(schedule, start, year, CRON_CAP + 1).len(),
        None => 0,
    }
}

fn at(date: NaiveDate) -> NaiveDateTime {
    date.and_time(NaiveTime::from_hms_opt(ISSUE_TIME.0, ISSUE_TIME.1, 0).unwrap_or_default())
}

/// Every draw of `matter` in `year`, regular and holiday, in issue order.
pub fn matter_schedule(
    m: &Matter,
    cal: &Calendar,
    year: i32,
    tz: chrono_tz::Tz,
) -> Result<Vec<ScheduledDraw>, CalendarError> {
    let mut out = Vec::new();
    for (period, fire) in periods(&m.frequency, year, tz) {
        let issue_at = match fire {
            Some(t)
                if m.on_holiday == OnHoliday::NextWorkingDay
                    && !cal.is_working_day(t.date())? =>
            {
                cal.next_working_day(t.date())?.and_time(t.time())
            }
            Some(t) => t,
            None => {
                let date = match m.issue_at {
                    IssueAt::WorkingDay(n) => cal.nth_working_day_of(period.start, n)?,
                    IssueAt::Day(n) => {
                        let day =
                            NaiveDate::from_ymd_opt(period.start.year(), period.start.month(), n)
                                .unwrap_or(period.start);
                        cal.next_working_day(day)?
                    }
                };
                at(date)
            }
        };
        let due = if m.due_working_days > 0 {
            cal.add_working_days(issue_at.date(), m.due_working_days)?
        } else if period.end <= issue_at.date() {
            issue_at.date()
        } else {
            last_working_day(cal, period.end, issue_at.date())?
        };
        out.push(ScheduledDraw {
            matter: m.id.clone(),
            kind: DrawKind::Regular,
            period,
            issue_at,
            due,
            ratio: m.ratio,
            key_area_only: false,
        });
    }
    if let Some(rule) = &m.holiday {
        holiday_draws(m, rule, cal, year, &mut out)?;
    }
    out.sort_by(|a, b| {
        a.issue_at
            .cmp(&b.issue_at)
            .then(a.period.id.cmp(&b.period.id))
    });
    Ok(out)
}

/// The holiday-intensified draws a matter's holiday rule calls for in `year`.
fn holiday_draws(
    m: &Matter,
    rule: &HolidayRule,
    cal: &Calendar,
    year: i32,
    out: &mut Vec<ScheduledDraw>,
) -> Result<(), CalendarError> {
    let mut seen_starts = Vec::new();
    for &h in &rule.holidays {
        let hp = cal.holiday(year, h)?;
        if seen_starts.contains(&hp.start) {
            continue; // e.g. 2023: 中秋 and 国庆 are one block; one draw covers both.
        }
        seen_starts.push(hp.start);
        let issue = if rule.working_days {
            cal.sub_working_days(hp.start, rule.days_before.max(1))?
        } else {
            let mut d = hp.start - Duration::days(i64::from(rule.days_before));
            // Land on a working day at or before the computed day, so staff are at work.
            while !cal.is_working_day(d)? {
                d -= Duration::days(1);
            }
            d
        };
        let due = if rule.due_working_days > 0 {
            cal.add_working_days(issue, rule.due_working_days)?
        } else {
            hp.end
        };
        out.push(ScheduledDraw {
            matter: m.id.clone(),
            kind: DrawKind::Holiday(h),
            period: Period {
                id: format!("{year}-{}", h.id()),
                start: issue,
                end: hp.end,
            },
            issue_at: at(issue),
            due,
            ratio: rule.ratio,
            key_area_only: rule.key_area_only,
        });
    }
    Ok(())
}

/// The last working day on or before `end` (but not before `floor`).
fn last_working_day(
    cal: &Calendar,
    end: NaiveDate,
    floor: NaiveDate,
) -> Result<NaiveDate, CalendarError> {
    let d = cal.sub_working_days(end + Duration::days(1), 1)?;
    Ok(d.max(floor))
}

/// What makes a matter's timing unworkable in a year (`check` refuses each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimingProblem {
    /// The cron fires in none of the years asked about.
    CronNeverFires,
    /// The cron fires more than [`CRON_CAP`] times in `year`.
    CronTooOften { year: i32 },
    /// The issue day of a period falls after the period's end.
    IssueAfterEnd {
        period: String,
        issue: NaiveDate,
        end: NaiveDate,
    },
}

/// The timing problems of `m` over `years` (the years the calendar has notices for).
pub fn timing_problems(
    m: &Matter,
    cal: &Calendar,
    years: &[i32],
    tz: chrono_tz::Tz,
) -> Vec<TimingProblem> {
    let mut out = Vec::new();
    if let Frequency::Cron { schedule, .. } = &m.frequency {
        let counts: Vec<(i32, usize)> = years
            .iter()
            .map(|&y| (y, cron_fire_count(schedule, y, tz)))
            .collect();
        if counts.iter().all(|(_, n)| *n == 0) {
            out.push(TimingProblem::CronNeverFires);
        }
        if let Some((year, _)) = counts.iter().find(|(_, n)| *n > CRON_CAP) {
            out.push(TimingProblem::CronTooOften { year: *year });
        }
        return out;
    }
    for &year in years {
        for (period, _) in periods(&m.frequency, year, tz) {
            let issue = match m.issue_at {
                IssueAt::WorkingDay(n) => cal.nth_working_day_of(period.start, n),
                IssueAt::Day(n) => cal.next_working_day(
                    NaiveDate::from_ymd_opt(period.start.year(), period.start.month(), n)
                        .unwrap_or(period.start),
                ),
            };
            if let Ok(issue) = issue
                && issue > period.end
            {
                out.push(TimingProblem::IssueAfterEnd {
                    period: period.id,
                    issue,
                    end: period.end,
                });
                return out;
            }
        }
    }
    out
}

/// A matter whose schedule could not be computed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleProblem {
    pub matter: String,
    pub error: CalendarError,
}

/// The whole year's schedule for every matter in force (retired ones are not drawn), in issue order, with any matter that failed.
pub fn year_schedule(
    model: &Model,
    cal: &Calendar,
    year: i32,
) -> (Vec<ScheduledDraw>, Vec<ScheduleProblem>) {
    let mut all = Vec::new();
    let mut problems = Vec::new();
    for m in model.matters_in_force() {
        match matter_schedule(m, cal, year, model.config.timezone) {
            Ok(mut s) => all.append(&mut s),
            Err(error) => problems.push(ScheduleProblem {
                matter: m.id.clone(),
                error,
            }),
        }
    }
    all.sort_by(|a, b| {
        a.issue_at
            .cmp(&b.issue_at)
            .then(a.matter.cmp(&b.matter))
            .then(a.period.id.cmp(&b.period.id))
    });
    (all, problems)
}

#[cfg(test)]
mod class_frequency_tests {
    use super::*;
    use crate::rules::model::ClassFrequency;

    /// docs/draw-algorithm.md V2-14's vector: the classes each quarter of 2024–2026 covers.
    #[test]
    fn a_period_covers_the_classes_whose_cycle_it_opens() {
        let freq = [
            ("A", ClassFrequency::Biennial),
            ("B", ClassFrequency::Yearly),
            ("C", ClassFrequency::HalfYearly),
            ("D", ClassFrequency::Quarterly),
        ];
        let due = |start: &str| -> Vec<&str> {
            let d = NaiveDate::parse_from_str(start, "%Y-%m-%d").expect("date");
            freq.iter()
                .filter(|(_, f)| f.opens_cycle(d, None))
                .map(|(c, _)| *c)
                .collect()
        };
        assert_eq!(due("2024-01-01"), ["A", "B", "C", "D"]);
        assert_eq!(due("2024-04-01"), ["D"]);
        assert_eq!(due("2024-07-01"), ["C", "D"]);
        assert_eq!(due("2024-10-01"), ["D"]);
        assert_eq!(due("2025-01-01"), ["B", "C", "D"]);
        assert_eq!(due("2026-01-01"), ["A", "B", "C", "D"]);
        // Only a period starting on a month's first day opens a cycle.
        assert_eq!(due("2024-01-02"), Vec::<&str>::new());
        let day = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).expect("date");
        assert!(ClassFrequency::Monthly.opens_cycle(day(2025, 5), None));
        // Before year 0 the count still works (rem_euclid).
        assert!(ClassFrequency::Biennial.opens_cycle(day(-2, 1), None));
    }

    /// `biennial_start` moves the two-year cycles to the years it names, and nothing else.
    #[test]
    fn biennial_start_names_the_first_year_of_the_two_year_cycles() {
        let day = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).expect("date");
        let due =
            |y: i32, first: Option<i32>| ClassFrequency::Biennial.opens_cycle(day(y, 1), first);
        let years =
            |first: Option<i32>| -> Vec<i32> { (2024..=2029).filter(|y| due(*y, first)).collect() };
        assert_eq!(years(None), [2024, 2026, 2028]);
        assert_eq!(years(Some(2025)), [2025, 2027, 2029]);
        assert_eq!(
            years(Some(2023)),
            [2025, 2027, 2029],
            "only the parity of the year counts"
        );
        assert_eq!(
            years(Some(2026)),
            years(None),
            "an even first year is the default"
        );
        assert!(!ClassFrequency::Biennial.opens_cycle(day(2025, 7), Some(2025)));
        for f in [
            ClassFrequency::Yearly,
            ClassFrequency::HalfYearly,
            ClassFrequency::Quarterly,
            ClassFrequency::Monthly,
        ] {
            for (y, m) in [(2025, 1), (2025, 4), (2025, 7), (2026, 10), (2026, 3)] {
                assert_eq!(
                    f.opens_cycle(day(y, m), Some(2025)),
                    f.opens_cycle(day(y, m), None)
                );
            }
        }
        assert_eq!(
            ClassFrequency::Biennial.label_zh(Some(2025)),
            "每两年 1 次（奇数年：2025、2027、2029…）"
        );
        assert_eq!(
            ClassFrequency::Biennial.label_zh(None),
            "每两年 1 次（偶数年）"
        );
    }

    #[test]
    fn the_cover_reads_in_chinese() {
        let c = ClassCover {
            due: vec!["D".into()],
            not_due: vec!["A".into(), "B".into(), "C".into()],
        };
        assert_eq!(c.label_zh(), "覆盖 D 类（A、B、C 类本期不抽）");
        let all = ClassCover {
            due: vec!["A".into(), "B".into()],
            not_due: vec![],
        };
        assert_eq!(all.label_zh(), "覆盖 A、B 类");
    }
}
