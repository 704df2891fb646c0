//! The calendar through the library API: official data 2023–2026, working-day arithmetic,
//! provisional years and the diagnostics for broken calendar files.

use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use suiji::calendar::{Calendar, CalendarError, Holiday, HolidayPeriod};
use suiji::diag::{Sources, render};
use tyme4rs::tyme::holiday::LegalHoliday;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
}

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |x| *x <= to)
}

fn official(
    holiday: Holiday,
    year: i32,
    start: NaiveDate,
    end: NaiveDate,
    makeup_workdays: &[NaiveDate],
) -> HolidayPeriod {
    HolidayPeriod {
        holiday,
        year,
        start,
        end,
        makeup_workdays: makeup_workdays.to_vec(),
        provisional: false,
    }
}

// ---- official data -------------------------------------------------------------------------

#[test]
fn notice_2023() -> TestResult {
    let cal = Calendar::builtin();
    assert_eq!(
        cal.holiday(2023, Holiday::SpringFestival)?,
        official(
            Holiday::SpringFestival,
            2023,
            d(2023, 1, 21),
            d(2023, 1, 27),
            &[d(2023, 1, 28), d(2023, 1, 29)]
        )
    );
    // 中秋节 and 国庆节 were one block: both report all of it.
    let block = [d(2023, 10, 7), d(2023, 10, 8)];
    assert_eq!(
        cal.holiday(2023, Holiday::NationalDay)?,
        official(
            Holiday::NationalDay,
            2023,
            d(2023, 9, 29),
            d(2023, 10, 6),
            &block
        )
    );
    assert_eq!(
        cal.holiday(2023, Holiday::MidAutumn)?,
        official(
            Holiday::MidAutumn,
            2023,
            d(2023, 9, 29),
            d(2023, 10, 6),
            &block
        )
    );
    // 元旦 2023 starts in 2022 and belongs to the 2023 notice.
    assert_eq!(
        cal.holiday(2023, Holiday::NewYear)?,
        official(Holiday::NewYear, 2023, d(2022, 12, 31), d(2023, 1, 2), &[])
    );
    Ok(())
}

#[test]
fn notice_2024() -> TestResult {
    let cal = Calendar::builtin();
    assert_eq!(
        cal.holiday(2024, Holiday::SpringFestival)?,
        official(
            Holiday::SpringFestival,
            2024,
            d(2024, 2, 10),
            d(2024, 2, 17),
            &[d(2024, 2, 4), d(2024, 2, 18)]
        )
    );
    assert!(
        cal.is_working_day(d(2024, 2, 4))?,
        "Sunday 2024-02-04 was worked"
    );
    // 除夕 (Friday 2024-02-09) was not a day off: the notice only encouraged giving it.
    assert!(cal.is_working_day(d(2024, 2, 9))?);
    Ok(())
}

#[test]
fn notice_2025() -> TestResult {
    let cal = Calendar::builtin();
    assert_eq!(
        cal.holiday(2025, Holiday::SpringFestival)?,
        official(
            Holiday::SpringFestival,
            2025,
            d(2025, 1, 28),
            d(2025, 2, 4),
            &[d(2025, 1, 26), d(2025, 2, 8)]
        )
    );
    let merged = [d(2025, 9, 28), d(2025, 10, 11)];
    assert_eq!(
        cal.holiday(2025, Holiday::MidAutumn)?,
        official(
            Holiday::MidAutumn,
            2025,
            d(2025, 10, 1),
            d(2025, 10, 8),
            &merged
        )
    );
    Ok(())
}

#[test]
fn notice_2026() -> TestResult {
    let cal = Calendar::builtin();
    assert_eq!(
        cal.holiday(2026, Holiday::NationalDay)?,
        official(
            Holiday::NationalDay,
            2026,
            d(2026, 10, 1),
            d(2026, 10, 7),
            &[d(2026, 9, 20), d(2026, 10, 10)]
        )
    );
    assert_eq!(cal.holiday(2026, Holiday::SpringFestival)?.days(), 9);
    Ok(())
}

#[test]
fn years_and_sources() -> TestResult {
    let cal = Calendar::builtin();
    assert_eq!(cal.years(), [2023, 2024, 2025, 2026]);
    assert!(cal.is_official(2024) && !cal.is_official(2022) && !cal.is_official(2027));
    assert_eq!(
        cal.source(2023),
        Some("国务院办公厅关于2023年部分节假日安排的通知（国办发明电〔2022〕16号，2022年12月8日）")
    );
    assert_eq!(cal.source(2027), None);
    for year in 2023..=2026 {
        let periods = cal.holidays(year)?;
        assert_eq!(periods.len(), 7, "{year}");
        assert!(
            periods.windows(2).all(|w| w[0].start <= w[1].start),
            "{year} in date order"
        );
        let mut seen: Vec<Holiday> = periods.iter().map(|p| p.holiday).collect();
        seen.sort();
        assert_eq!(seen, Holiday::ALL, "{year}");
        assert!(periods.iter().all(|p| p.year == year && !p.provisional));
    }
    Ok(())
}

/// tyme4rs keeps its own table of the notices: every day of 2023–2026 must agree.
#[test]
fn every_day_agrees_with_tyme4rs() -> TestResult {
    let cal = Calendar::builtin();
    let mut checked = 0;
    for day in days(d(2022, 12, 31), d(2026, 12, 31)) {
        let tyme = match LegalHoliday::from_ymd(
            day.year() as isize,
            day.month() as usize,
            day.day() as usize,
        ) {
            Some(h) => h.is_work(),
            None => !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
        };
        assert_eq!(cal.is_working_day(day)?, tyme, "{day}");
        checked += 1;
    }
    assert_eq!(checked, 1 + 365 * 3 + 366);
    Ok(())
}

#[test]
fn loading_the_folder_matches_the_builtin_calendar() -> TestResult {
    let mut sources = Sources::default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/holidays");
    let loaded = Calendar::load(&dir, &mut sources, false).map_err(|e| render(&sources, &e))?;
    let builtin = Calendar::builtin();
    assert_eq!(loaded.years(), builtin.years());
    for year in builtin.years() {
        assert_eq!(loaded.holidays(year)?, builtin.holidays(year)?);
        assert_eq!(loaded.source(year), builtin.source(year));
    }
    assert!(!loaded.allows_provisional());
    Ok(())
}

// ---- working-day arithmetic ---------------------------------------------------------------

#[test]
fn twenty_working_days_after_2023_09_28() -> TestResult {
    let cal = Calendar::builtin();
    // Thursday 2023-09-28 is the last working day before the block. Off: Sep 29 – Oct 6.
    // Worked: Sat Oct 7 (1), Sun Oct 8 (2), Oct 9–13 (3–7), Oct 16–20 (8–12),
    // Oct 23–27 (13–17), Oct 30, 31 (18, 19), Wed Nov 1 (20).
    assert_eq!(cal.add_working_days(d(2023, 9, 28), 20)?, d(2023, 11, 1));
    assert_eq!(cal.add_working_days(d(2023, 9, 28), 1)?, d(2023, 10, 7));
    assert_eq!(cal.add_working_days(d(2023, 9, 28), 2)?, d(2023, 10, 8));
    assert_eq!(cal.sub_working_days(d(2023, 11, 1), 20)?, d(2023, 9, 28));
    assert_eq!(
        cal.working_days_between(d(2023, 9, 28), d(2023, 11, 1))?,
        20
    );
    Ok(())
}

#[test]
fn next_and_zero_counts() -> TestResult {
    let cal = Calendar::builtin();
    assert_eq!(cal.next_working_day(d(2023, 10, 1))?, d(2023, 10, 7));
    assert_eq!(cal.next_working_day(d(2023, 10, 9))?, d(2023, 10, 9));
    assert_eq!(cal.add_working_days(d(2023, 10, 1), 0)?, d(2023, 10, 7));
    assert_eq!(cal.sub_working_days(d(2023, 10, 1), 0)?, d(2023, 9, 28));
    assert_eq!(cal.sub_working_days(d(2023, 10, 9), 0)?, d(2023, 10, 9));
    Ok(())
}

#[test]
fn add_and_sub_round_trip() -> TestResult {
    let cal = Calendar::builtin();
    for day in days(d(2023, 1, 1), d(2026, 6, 30)) {
        if !cal.is_working_day(day)? {
            continue;
        }
        for n in [1, 3, 10, 20, 60] {
            let later = cal.add_working_days(day, n)?;
            assert!(cal.is_working_day(later)?);
            assert_eq!(
                cal.sub_working_days(later, n)?,
                day,
                "{day} + {n} = {later}"
            );
            assert_eq!(cal.working_days_between(day, later)?, n, "{day} .. {later}");
        }
    }
    Ok(())
}

#[test]
fn working_days_between_counts_after_from_up_to_to() -> TestResult {
    let cal = Calendar::builtin();
    // 2024: 262 weekdays, 19 of them off, 8 Saturdays and Sundays worked.
    assert_eq!(
        cal.working_days_between(d(2023, 12, 31), d(2024, 12, 31))?,
        251
    );
    // January 2024: 23 weekdays, minus 元旦 on Monday the 1st.
    assert_eq!(
        cal.working_days_between(d(2023, 12, 31), d(2024, 1, 31))?,
        22
    );
    // (Fri, Mon]: only Monday.
    assert_eq!(cal.working_days_between(d(2024, 3, 1), d(2024, 3, 4))?, 1);
    assert_eq!(cal.working_days_between(d(2024, 3, 4), d(2024, 3, 4))?, 0);
    assert_eq!(cal.working_days_between(d(2024, 3, 4), d(2024, 3, 1))?, 0);
    Ok(())
}

#[test]
fn nth_working_day_of_a_month() -> TestResult {
    let cal = Calendar::builtin();
    // February 2025 opens with the last days of 春节; Saturday Feb 8 is worked.
    assert_eq!(cal.nth_working_day_of(d(2025, 2, 1), 1)?, d(2025, 2, 5));
    assert_eq!(cal.nth_working_day_of(d(2025, 2, 1), 4)?, d(2025, 2, 8));
    assert_eq!(cal.nth_working_day_of(d(2025, 2, 1), 5)?, d(2025, 2, 10));
    assert_eq!(cal.nth_working_day_of(d(2025, 3, 3), 1)?, d(2025, 3, 3));
    assert_eq!(
        cal.nth_working_day_of(d(2025, 2, 1), 0),
        Err(CalendarError::ZeroNth)
    );
    Ok(())
}

#[test]
fn days_off_reaching_into_the_previous_year() -> TestResult {
    let cal = Calendar::builtin();
    // 2022-12-31 is a day off in the 2023 notice; the rest of 2022 has no data.
    assert_eq!(cal.is_working_day(d(2022, 12, 31)), Ok(false));
    assert_eq!(
        cal.is_working_day(d(2022, 12, 30)),
        Err(CalendarError::NoData { year: 2022 })
    );
    assert_eq!(cal.next_working_day(d(2022, 12, 31))?, d(2023, 1, 3));
    assert_eq!(
        cal.sub_working_days(d(2023, 1, 3), 1),
        Err(CalendarError::NoData { year: 2022 })
    );
    assert_eq!(
        cal.holidays(2022),
        Err(CalendarError::NoData { year: 2022 })
    );
    Ok(())
}

// ---- years without a notice ---------------------------------------------------------------

#[test]
fn year_without_notice_is_an_error() {
    let cal = Calendar::builtin();
    let no_data = Err(CalendarError::NoData { year: 2027 });
    assert_eq!(
        cal.is_working_day(d(2027, 3, 1)),
        no_data.clone().map(|_: ()| true)
    );
    assert_eq!(
        cal.holiday(2027, Holiday::SpringFestival).map(|_| ()),
        no_data.clone()
    );
    assert_eq!(cal.holidays(2027).map(|_| ()), no_data.clone());
    // Counting runs into 2027 and stops there.
    assert_eq!(
        cal.add_working_days(d(2026, 12, 28), 10).map(|_| ()),
        no_data
    );
    let message = CalendarError::NoData { year: 2027 }.to_string();
    assert!(message.contains("config/holidays/2027.toml"), "{message}");
}

#[test]
fn provisional_year() -> TestResult {
    let cal = Calendar::builtin().with_provisional(true);
    assert!(cal.allows_provisional());
    let spring = cal.holiday(2027, Holiday::SpringFestival)?;
    assert_eq!(
        spring,
        HolidayPeriod {
            holiday: Holiday::SpringFestival,
            year: 2027,
            start: d(2027, 2, 5), // 除夕
            end: d(2027, 2, 8),
            makeup_workdays: vec![],
            provisional: true,
        }
    );
    let all = cal.holidays(2027)?;
    assert_eq!(all.len(), 7);
    assert!(all.iter().all(|p| p.provisional && p.year == 2027));
    assert_eq!(cal.holiday(2027, Holiday::NationalDay)?.end, d(2027, 10, 3));
    assert_eq!(cal.holiday(2027, Holiday::LabourDay)?.end, d(2027, 5, 2));
    // Official years stay official.
    assert!(!cal.holiday(2026, Holiday::SpringFestival)?.provisional);
    assert!(!cal.is_official(2027));
    assert_eq!(cal.years(), [2023, 2024, 2025, 2026]);
    // Friday 2027-02-05 is off, Tuesday 2027-02-09 is the first working day after it.
    assert!(!cal.is_working_day(d(2027, 2, 5))?);
    assert_eq!(cal.next_working_day(d(2027, 2, 5))?, d(2027, 2, 9));
    // Counting crosses from official 2026 into provisional 2027: Mon Dec 28 .. Thu Dec 31,
    // then 元旦 (Fri Jan 1) and the weekend, so the 5th is Monday Jan 4.
    assert_eq!(cal.add_working_days(d(2026, 12, 25), 5)?, d(2027, 1, 4));
    assert_eq!(
        cal.is_working_day(d(2300, 1, 5)),
        Err(CalendarError::OutOfRange { year: 2300 })
    );
    Ok(())
}

#[test]
fn provisional_through_load() -> TestResult {
    let mut sources = Sources::default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/holidays");
    let cal = Calendar::load(&dir, &mut sources, true).map_err(|e| render(&sources, &e))?;
    assert!(cal.allows_provisional());
    assert!(cal.holiday(2027, Holiday::Qingming)?.provisional);
    // A year before the data gets a provisional calendar too, but the 2023 notice still
    // decides 2022-12-31.
    assert_eq!(cal.is_working_day(d(2022, 12, 31)), Ok(false));
    assert_eq!(cal.is_working_day(d(2022, 12, 30)), Ok(true));
    Ok(())
}

// ---- broken calendar files ----------------------------------------------------------------

/// A valid file for 2025, to break in the tests below.
const GOOD_2025: &str = r#"year = 2025
source = "国务院办公厅关于2025年部分节假日安排的通知"

[[holiday]]
id = "yuandan"
start = 2025-01-01
end = 2025-01-01

[[holiday]]
id = "chunjie"
start = 2025-01-28
end = 2025-02-04
workdays = [2025-01-26, 2025-02-08]

[[holiday]]
id = "qingming"
start = 2025-04-04
end = 2025-04-06

[[holiday]]
id = "laodong"
start = 2025-05-01
end = 2025-05-05
workdays = [2025-04-27]

[[holiday]]
id = "duanwu"
start = 2025-05-31
end = 2025-06-02

[[holiday]]
id = ["zhongqiu", "guoqing"]
start = 2025-10-01
end = 2025-10-08
workdays = [2025-09-28, 2025-10-11]
"#;

fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is not in the file");
    text.replacen(from, to, 1)
}

/// Loads the files from a temporary folder: the calendar, or the rendered diagnostics with the
/// folder shown as `<dir>`.
fn load(files: &[(&str, &str)], allow_provisional: bool) -> Result<Calendar, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).map_err(|e| e.to_string())?;
    }
    let mut sources = Sources::default();
    Calendar::load(dir.path(), &mut sources, allow_provisional).map_err(|diags| {
        let prefix = format!("{}{}", dir.path().display(), std::path::MAIN_SEPARATOR);
        render(&sources, &diags).replace(&prefix, "<dir>/")
    })
}

fn errors(files: &[(&str, &str)]) -> String {
    match load(files, false) {
        Ok(_) => panic!("expected the calendar files to be rejected"),
        Err(rendered) => rendered,
    }
}

#[test]
fn a_good_file_loads() -> TestResult {
    let cal = load(&[("2025.toml", GOOD_2025)], false)?;
    assert_eq!(cal.years(), [2025]);
    let (mid, national) = (
        cal.holiday(2025, Holiday::MidAutumn)?,
        cal.holiday(2025, Holiday::NationalDay)?,
    );
    assert_eq!(
        (mid.start, mid.end, &mid.makeup_workdays),
        (national.start, national.end, &national.makeup_workdays)
    );
    assert_eq!(national.holiday, Holiday::NationalDay);
    Ok(())
}

#[test]
fn bad_toml() {
    let text = edit(GOOD_2025, "id = \"qingming\"", "id = qingming");
    assert_eq!(
        errors(&[("2025.toml", &text)]),
        r#"error: invalid TOML: string values must be quoted, expected literal string
   ┌─ <dir>/2025.toml:16:6
   │
16 │ id = qingming
   │      ^^^^^^^^ here
   │
   = help: the format is described at the top of each file in config/holidays/

"#
    );
}

#[test]
fn unknown_key_with_suggestion() {
    let text = edit(GOOD_2025, "year = 2025", "yaer = 2025\nyear = 2025");
    assert_eq!(
        errors(&[("2025.toml", &text)]),
        r#"error: unknown key `yaer`
  ┌─ <dir>/2025.toml:1:1
  │
1 │ yaer = 2025
  │ ^^^^ not a key of a calendar file
  │
  = help: did you mean `year`?

"#
    );
    let text = edit(
        GOOD_2025,
        "id = \"yuandan\"\n",
        "id = \"yuandan\"\nstrat = 2025-01-01\n",
    );
    let out = errors(&[("2025.toml", &text)]);
    assert!(
        out.starts_with("error: unknown key `strat`\n  ┌─ <dir>/2025.toml:6:1\n"),
        "{out}"
    );
    assert!(
        out.contains("not a key of [[holiday]]") && out.contains("help: did you mean `start`?"),
        "{out}"
    );
}

#[test]
fn unknown_holiday_id() {
    let text = edit(GOOD_2025, "\"chunjie\"", "\"chunjei\"");
    assert_eq!(
        errors(&[("2025.toml", &text)]),
        r#"error: unknown holiday `chunjei`
   ┌─ <dir>/2025.toml:10:6
   │
10 │ id = "chunjei"
   │      ^^^^^^^^^ not a holiday id
   │
   = help: did you mean `chunjie` (春节)?

"#
    );
}

#[test]
fn end_before_start() {
    let text = edit(GOOD_2025, "end = 2025-06-02", "end = 2025-05-30");
    assert_eq!(
        errors(&[("2025.toml", &text)]),
        r#"error: holiday ends before it starts
   ┌─ <dir>/2025.toml:29:7
   │
29 │ end = 2025-05-30
   │       ^^^^^^^^^^ 2025-05-30 is before the start, 2025-05-31
   │
   = help: `start` is the first day off and `end` the last; for a single day off both are the same date

"#
    );
}

#[test]
fn make_up_day_on_a_weekday() {
    let text = edit(GOOD_2025, "[2025-04-27]", "[2025-04-28]");
    let out = errors(&[("2025.toml", &text)]);
    assert!(
        out.starts_with(
            "error: make-up working day 2025-04-28 is a Monday\n   ┌─ <dir>/2025.toml:24:13\n"
        ),
        "{out}"
    );
    assert!(out.contains("^^^^^^^^^^ not a Saturday or Sunday"), "{out}");
}

#[test]
fn missing_and_duplicate_holidays() {
    let text = edit(GOOD_2025, "id = \"duanwu\"", "id = \"qingming\"");
    let out = errors(&[("2025.toml", &text)]);
    let expected = [
        "error: the calendar for 2025 does not list 端午节 (duanwu)\n  ┌─ <dir>/2025.toml:1:8\n",
        "error: 清明节 (qingming) is listed twice\n   ┌─ <dir>/2025.toml:27:6\n",
    ];
    for e in expected {
        assert!(out.contains(e), "{e} not in\n{out}");
    }
    assert_eq!(out.matches("error:").count(), 2, "{out}");
}

#[test]
fn problems_across_files() {
    // Two files for 2025, and a file whose name does not match its year.
    let out = errors(&[
        ("2025.toml", GOOD_2025),
        ("2025-copy.toml", GOOD_2025),
        ("2024.toml", GOOD_2025),
    ]);
    let expected = [
        "error: this file is named 2024.toml but is about 2025\n  ┌─ <dir>/2024.toml:1:8\n",
        "error: two calendar files for 2025\n  ┌─ <dir>/2025-copy.toml:1:8\n",
        "error: two calendar files for 2025\n  ┌─ <dir>/2025.toml:1:8\n",
    ];
    for e in expected {
        assert!(out.contains(e), "{e} not in\n{out}");
    }
    assert_eq!(out.matches("error:").count(), 3, "{out}");

    // A Saturday one notice has worked and the next one gives off.
    let y2025 = edit(GOOD_2025, "[2025-04-27]", "[2025-04-27, 2025-12-27]");
    let y2026 = include_str!("../config/holidays/2026.toml")
        .replace("start = 2026-01-01", "start = 2025-12-27");
    let out = errors(&[("2025.toml", &y2025), ("2026.toml", &y2026)]);
    assert!(
        out.starts_with(
            "error: make-up working day 2025-12-27 is a day off in <dir>/2026.toml\n   ┌─ <dir>/2025.toml:24:25\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("2026 gives 2025-12-27…2026-01-03 off"),
        "{out}"
    );
}

#[test]
fn every_problem_is_reported() {
    let broken_2025 = edit(
        &edit(
            &edit(GOOD_2025, "\"chunjie\"", "\"chunjei\""),
            "end = 2025-06-02",
            "end = 2025-05-30",
        ),
        "[2025-04-27]",
        "[2025-04-28]",
    );
    let broken_2026 =
        "year = 2026\nsource = \"x\"\n[[holiday]]\nid = \"yuandan\"\nstart = 2026-01-01\n";
    let out = errors(&[
        ("2025.toml", &broken_2025),
        ("2026.toml", broken_2026),
        ("2027.toml", "year = 2027 x"),
    ]);
    let locations: Vec<&str> = out.lines().filter_map(|l| l.split("┌─ ").nth(1)).collect();
    assert_eq!(
        locations,
        [
            "<dir>/2025.toml:10:6",  // unknown holiday
            "<dir>/2025.toml:24:13", // make-up day on a Monday
            "<dir>/2025.toml:29:7",  // end before start
            "<dir>/2026.toml:3:1",   // no `end`
            "<dir>/2027.toml:1:8",   // bad TOML
        ],
        "{out}"
    );
}

#[test]
fn other_file_problems() {
    let cases = [
        (
            edit(GOOD_2025, "end = 2025-01-01\n", ""),
            "[[holiday]] without `end`",
            "2025.toml:4:1",
        ),
        (
            edit(GOOD_2025, "[2025-04-27]", "\"2025-04-27\""),
            "`workdays` must be a list of dates, found string",
            "2025.toml:24:12",
        ),
        (
            edit(
                GOOD_2025,
                "start = 2025-04-04",
                "start = 2025-04-04T08:00:00",
            ),
            "`start` must be a date without a time",
            "2025.toml:17:9",
        ),
        (
            edit(GOOD_2025, "start = 2025-05-31", "start = \"soon\""),
            "`start` is not a valid date",
            "2025.toml:28:9",
        ),
        (
            edit(GOOD_2025, "start = 2025-04-04", "start = 2024-04-04"),
            "days off 2024-04-04…2025-04-06 reach outside 2025",
            "2025.toml:17:9",
        ),
        (
            edit(GOOD_2025, "end = 2025-01-01", "end = 2025-01-20"),
            "20 days off in a row (2025-01-01…2025-01-20)",
            "2025.toml:6:9",
        ),
        (
            edit(GOOD_2025, "[2025-04-27]", "[2025-05-03]"),
            "make-up working day 2025-05-03 is one of the holiday's own days off",
            "2025.toml:24:13",
        ),
        (
            edit(GOOD_2025, "year = 2025", "year = 1066"),
            "year 1066 is out of range",
            "2025.toml:1:8",
        ),
        (
            edit(
                GOOD_2025,
                "id = \"yuandan\"",
                "id = [\"yuandan\", \"元旦\"]",
            ),
            "元旦 is named twice in this `id`",
            "2025.toml:5:18",
        ),
        (
            edit(
                GOOD_2025,
                "start = 2025-01-01\nend = 2025-01-01",
                "start = 2025-01-27\nend = 2025-01-29",
            ),
            "days off 2025-01-28…2025-02-04 overlap 元旦 (2025-01-27…2025-01-29)",
            "2025.toml:11:9",
        ),
        (
            GOOD_2025.replace("[[holiday]]", "[[holidays]]"),
            "unknown key `holidays`",
            "2025.toml:4:3",
        ),
    ];
    for (text, message, location) in cases {
        let out = errors(&[("2025.toml", &text)]);
        let first = out.lines().take(2).collect::<Vec<_>>().join("\n");
        assert!(
            first.starts_with(&format!("error: {message}")),
            "expected {message:?}, got\n{out}"
        );
        assert!(
            first.ends_with(&format!("<dir>/{location}")),
            "expected {location}, got\n{out}"
        );
    }
}

#[test]
fn windows_line_endings_and_byte_order_mark() -> TestResult {
    let text = format!("\u{feff}{}", GOOD_2025.replace('\n', "\r\n"));
    let cal = load(&[("2025.toml", &text)], false)?;
    assert_eq!(
        cal.holiday(2025, Holiday::LabourDay)?.makeup_workdays,
        [d(2025, 4, 27)]
    );
    let broken = text.replacen("\"chunjie\"", "\"chunjei\"", 1);
    assert!(errors(&[("2025.toml", &broken)]).contains("┌─ <dir>/2025.toml:10:6"));
    Ok(())
}

#[test]
fn a_misspelt_key_is_one_problem() {
    let cases = [
        (
            GOOD_2025.replacen("start = 2025-01-01", "strat = 2025-01-01", 1),
            "`strat`",
        ),
        (
            GOOD_2025.replace("[[holiday]]", "[[holidays]]"),
            "`holidays`",
        ),
        (GOOD_2025.replace("source =", "sauce ="), "`sauce`"),
    ];
    for (text, key) in cases {
        let out = errors(&[("2025.toml", &text)]);
        assert!(
            out.starts_with(&format!("error: unknown key {key}")),
            "{out}"
        );
        assert_eq!(out.matches("error:").count(), 1, "{out}");
    }
}

#[test]
fn unreadable_or_empty_folder() {
    let out = errors(&[]);
    assert!(
        out.starts_with("error: no holiday calendar files in "),
        "{out}"
    );
    let mut sources = Sources::default();
    let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/no-such-folder");
    let diags = Calendar::load(&missing, &mut sources, false)
        .err()
        .unwrap_or_default();
    assert_eq!(diags.len(), 1);
    assert!(
        diags[0]
            .message
            .starts_with("cannot read the holiday calendar folder"),
        "{}",
        diags[0].message
    );
}
