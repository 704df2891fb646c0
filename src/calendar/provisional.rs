//! Provisional holidays for a year without a State Council notice, from the lunar calendar.
//!
//! Days off are the statutory minimum of the 全国年节及纪念日放假办法 as revised in 2024:
//! 元旦 1 day (Jan 1), 春节 4 days from 除夕 (lunar new year's eve), 清明节 1 day (the solar
//! term), 劳动节 2 days (May 1–2), 端午节 1 day (lunar 5/5), 中秋节 1 day (lunar 8/15), 国庆节
//! 3 days (Oct 1–3). There is no 调休: the real notice will usually move days around.

use chrono::{Days, NaiveDate};
use tyme4rs::tyme::lunar::LunarDay;
use tyme4rs::tyme::solar::{SolarDay, SolarTerm};

use super::{CalendarError, Holiday, HolidayPeriod};

/// Years a provisional calendar is computed for.
pub(super) const FIRST_YEAR: i32 = 1901;
pub(super) const LAST_YEAR: i32 = 2199;

/// The year's seven holidays in date order, flagged provisional.
pub(super) fn periods(year: i32) -> Result<Vec<HolidayPeriod>, CalendarError> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Err(CalendarError::OutOfRange { year });
    }
    let out_of_range = || CalendarError::OutOfRange { year };
    let y = year as isize;
    let fixed = |month, day| NaiveDate::from_ymd_opt(year, month, day).ok_or_else(out_of_range);
    let lunar = |month, day| {
        LunarDay::new(y, month, day)
            .ok()
            .and_then(|l| naive(l.get_solar_day()))
            .ok_or_else(out_of_range)
    };
    let new_year = lunar(1, 1)?;
    let eve = new_year
        .checked_sub_days(Days::new(1))
        .ok_or_else(out_of_range)?;
    let qingming =
        naive(SolarTerm::from_name(y, "清明").get_solar_day()).ok_or_else(out_of_range)?;

    let mut periods = vec![
        period(Holiday::NewYear, year, fixed(1, 1)?, 1),
        period(Holiday::SpringFestival, year, eve, 4),
        period(Holiday::Qingming, year, qingming, 1),
        period(Holiday::LabourDay, year, fixed(5, 1)?, 2),
        period(Holiday::DragonBoat, year, lunar(5, 5)?, 1),
        period(Holiday::MidAutumn, year, lunar(8, 15)?, 1),
        period(Holiday::NationalDay, year, fixed(10, 1)?, 3),
    ];
    periods.sort_by_key(|p| (p.start, p.end, p.holiday));
    Ok(periods)
}

fn period(holiday: Holiday, year: i32, start: NaiveDate, days: u64) -> HolidayPeriod {
    HolidayPeriod {
        holiday,
        year,
        start,
        end: start.checked_add_days(Days::new(days - 1)).unwrap_or(start),
        makeup_workdays: Vec::new(),
        provisional: true,
    }
}

fn naive(d: SolarDay) -> Option<NaiveDate> {
    let year = i32::try_from(d.get_year()).ok()?;
    let month = u32::try_from(d.get_month()).ok()?;
    let day = u32::try_from(d.get_day()).ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn lunar_and_solar_term_dates() -> Result<(), CalendarError> {
        let p = periods(2027)?;
        let get = |h| p.iter().find(|p| p.holiday == h).map(|p| (p.start, p.end));
        assert_eq!(
            get(Holiday::SpringFestival),
            Some((date(2027, 2, 5), date(2027, 2, 8)))
        );
        assert_eq!(
            get(Holiday::Qingming),
            Some((date(2027, 4, 5), date(2027, 4, 5)))
        );
        assert_eq!(
            get(Holiday::DragonBoat),
            Some((date(2027, 6, 9), date(2027, 6, 9)))
        );
        assert_eq!(
            get(Holiday::MidAutumn),
            Some((date(2027, 9, 15), date(2027, 9, 15)))
        );
        assert_eq!(
            get(Holiday::LabourDay),
            Some((date(2027, 5, 1), date(2027, 5, 2)))
        );
        assert_eq!(
            get(Holiday::NationalDay),
            Some((date(2027, 10, 1), date(2027, 10, 3)))
        );
        assert!(
            p.iter()
                .all(|p| p.provisional && p.makeup_workdays.is_empty())
        );
        assert!(p.windows(2).all(|w| w[0].start <= w[1].start));
        Ok(())
    }

    #[test]
    fn matches_known_years() -> Result<(), CalendarError> {
        // Lunar dates of years with notices: 除夕 2025-01-28, 清明 2024-04-04, 端午 2023-06-22,
        // 中秋 2023-09-29, 除夕 2026-02-16.
        let start = |year, h| -> Result<Option<NaiveDate>, CalendarError> {
            Ok(periods(year)?
                .into_iter()
                .find(|p| p.holiday == h)
                .map(|p| p.start))
        };
        assert_eq!(
            start(2025, Holiday::SpringFestival)?,
            Some(date(2025, 1, 28))
        );
        assert_eq!(start(2024, Holiday::Qingming)?, Some(date(2024, 4, 4)));
        assert_eq!(start(2023, Holiday::DragonBoat)?, Some(date(2023, 6, 22)));
        assert_eq!(start(2023, Holiday::MidAutumn)?, Some(date(2023, 9, 29)));
        assert_eq!(
            start(2026, Holiday::SpringFestival)?,
            Some(date(2026, 2, 16))
        );
        Ok(())
    }

    #[test]
    fn range_is_enforced() {
        assert_eq!(periods(1900), Err(CalendarError::OutOfRange { year: 1900 }));
        assert_eq!(periods(2200), Err(CalendarError::OutOfRange { year: 2200 }));
        assert!(periods(FIRST_YEAR).is_ok());
        assert!(periods(LAST_YEAR).is_ok());
    }
}
