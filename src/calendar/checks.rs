//! Checks on the dates of one calendar file: near its year, plausible lengths, make-up
//! working days on weekends, no overlaps, all seven holidays listed.

use std::ops::Range;

use chrono::{Datelike, NaiveDate, Weekday};

use super::Holiday;
use super::parse::{Entry, Parser};

/// Longest run of days off a notice has plausibly given one holiday.
const MAX_DAYS_OFF: i64 = 15;

impl Parser<'_> {
    /// Dates near the file's year, a plausible length, make-up days on weekends. Returns
    /// whether the days off are plausible.
    pub(super) fn check_dates(&mut self, year: i32, e: &Entry) -> bool {
        let near = |d: NaiveDate| {
            d.year() == year
                || (d.year() == year - 1 && d.month() == 12)
                || (d.year() == year + 1 && d.month() == 1)
        };
        let help = format!(
            "a file lists the holidays of one year; only a holiday around the new year may reach into December {} or January {}",
            year - 1,
            year + 1
        );
        let days = (e.end - e.start).num_days() + 1;
        let plausible = near(e.start) && near(e.end) && days <= MAX_DAYS_OFF;
        if !near(e.start) || !near(e.end) {
            self.error_help(
                e.start_span.clone(),
                format!("days off {}…{} reach outside {year}", e.start, e.end),
                format!("not in {year}"),
                help.clone(),
            );
        } else if days > MAX_DAYS_OFF {
            self.error_help(
                e.start_span.clone(),
                format!("{days} days off in a row ({}…{})", e.start, e.end),
                "implausibly long",
                format!("more than {MAX_DAYS_OFF} days off in a row is almost certainly a typo; check `start` and `end`"),
            );
        }
        let mut seen: Vec<NaiveDate> = Vec::new();
        for (d, span) in &e.workdays {
            if !near(*d) {
                self.error_help(
                    span.clone(),
                    format!("make-up working day {d} is outside {year}"),
                    format!("not in {year}"),
                    help.clone(),
                );
            } else if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                self.error_help(
                    span.clone(),
                    format!("make-up working day {d} is a {}", weekday_name(d.weekday())),
                    "not a Saturday or Sunday",
                    "`workdays` lists the weekend days the notice says are worked (调休上班); weekdays are working days anyway",
                );
            } else if e.start <= *d && *d <= e.end {
                self.error_help(
                    span.clone(),
                    format!("make-up working day {d} is one of the holiday's own days off"),
                    format!("inside {}…{}", e.start, e.end),
                    "check the dates against the notice",
                );
            } else if seen.contains(d) {
                self.error(
                    span.clone(),
                    format!("make-up working day {d} is listed twice"),
                    "listed again here",
                );
            }
            seen.push(*d);
        }
        plausible
    }

    /// A holiday listed twice, overlapping days off, a make-up day inside another holiday.
    pub(super) fn check_across_entries(&mut self, entries: &[Entry]) {
        for (i, e) in entries.iter().enumerate() {
            for before in &entries[..i] {
                for (h, span) in &e.holidays {
                    if before.holidays.iter().any(|(b, _)| b == h) {
                        self.error_help(span.clone(), format!("{h} ({}) is listed twice", h.id()), "listed again here", "keep one [[holiday]] block per holiday; for a merged block write id = [\"zhongqiu\", \"guoqing\"]");
                    }
                }
                if e.plausible && before.plausible && e.start <= before.end && before.start <= e.end
                {
                    let names = names(&before.holidays);
                    self.error_help(
                        e.start_span.clone(),
                        format!("days off {}…{} overlap {names} ({}…{})", e.start, e.end, before.start, before.end),
                        "overlaps another holiday",
                        "when the notice merges two holidays, write one block with id = [\"zhongqiu\", \"guoqing\"]",
                    );
                }
            }
            for other in entries
                .iter()
                .filter(|o| o.plausible && !std::ptr::eq(*o, e))
            {
                for (d, span) in &e.workdays {
                    if other.start <= *d && *d <= other.end {
                        self.error(
                            span.clone(),
                            format!(
                                "make-up working day {d} is a day off of {}",
                                names(&other.holidays)
                            ),
                            format!("inside {}…{}", other.start, other.end),
                        );
                    }
                }
            }
        }
    }

    /// Each notice lists all seven holidays.
    pub(super) fn check_all_listed(
        &mut self,
        entries: &[Entry],
        year: i32,
        year_span: Range<usize>,
    ) {
        let missing: Vec<Holiday> = Holiday::ALL
            .into_iter()
            .filter(|h| {
                !entries
                    .iter()
                    .any(|e| e.holidays.iter().any(|(x, _)| x == h))
            })
            .collect();
        if !missing.is_empty() {
            let list: Vec<String> = missing
                .iter()
                .map(|h| format!("{h} ({})", h.id()))
                .collect();
            self.error_help(
                year_span,
                format!("the calendar for {year} does not list {}", list.join(", ")),
                "every notice lists all seven holidays",
                "add a [[holiday]] block for each; for a merged block write id = [\"zhongqiu\", \"guoqing\"]",
            );
        }
    }
}

fn names(holidays: &[(Holiday, Range<usize>)]) -> String {
    holidays
        .iter()
        .map(|(h, _)| h.name_zh())
        .collect::<Vec<_>>()
        .join("、")
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}
