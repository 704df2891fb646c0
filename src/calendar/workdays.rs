//! Working-day questions: is a date a working day, and counting working days forwards and back.

use chrono::{Datelike, NaiveDate, Weekday};

use super::{Calendar, CalendarError, provisional};

impl Calendar {
    /// Whether `d` is a working day: Monday to Friday and not a day off, or a make-up
    /// working day (调休上班).
    pub fn is_working_day(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        Days::new(self).is_working(d)
    }

    /// `d` itself if it is a working day, else the first working day after it.
    pub fn next_working_day(&self, d: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut days = Days::new(self);
        let mut cur = d;
        while !days.is_working(cur)? {
            cur = step(cur, 1)?;
        }
        Ok(cur)
    }

    /// The `n`-th working day strictly after `d`; for `n = 0`, [`Calendar::next_working_day`].
    pub fn add_working_days(&self, d: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        if n == 0 {
            return self.next_working_day(d);
        }
        Days::new(self).walk(d, n, 1)
    }

    /// The `n`-th working day strictly before `d`; for `n = 0`, `d` itself if it is a working
    /// day, else the last working day before it.
    pub fn sub_working_days(&self, d: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut days = Days::new(self);
        if n == 0 {
            let mut cur = d;
            while !days.is_working(cur)? {
                cur = step(cur, -1)?;
            }
            return Ok(cur);
        }
        days.walk(d, n, -1)
    }

    /// The number of working days in `(from, to]`: after `from`, up to and including `to`.
    /// 0 when `to` is not after `from`.
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<u32, CalendarError> {
        let mut days = Days::new(self);
        let mut count = 0;
        let mut cur = from;
        while cur < to {
            cur = step(cur, 1)?;
            if days.is_working(cur)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// The `n`-th working day on or after `first`, counting from 1 (`n = 1` is
    /// `next_working_day(first)`). `n = 0` is [`CalendarError::ZeroNth`].
    pub fn nth_working_day_of(&self, first: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        if n == 0 {
            return Err(CalendarError::ZeroNth);
        }
        let mut days = Days::new(self);
        let mut cur = first;
        let mut count = 0;
        loop {
            if days.is_working(cur)? {
                count += 1;
                if count == n {
                    return Ok(cur);
                }
            }
            cur = step(cur, 1)?;
        }
    }
}

fn step(d: NaiveDate, dir: i8) -> Result<NaiveDate, CalendarError> {
    let next = if dir > 0 { d.succ_opt() } else { d.pred_opt() };
    next.ok_or(CalendarError::OutOfRange { year: d.year() })
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Answers "is this a working day" for one operation, computing each provisional year once.
struct Days<'a> {
    cal: &'a Calendar,
    /// The provisional year last asked about and its days off (first, last).
    provisional: Option<(i32, Vec<(NaiveDate, NaiveDate)>)>,
}

impl<'a> Days<'a> {
    fn new(cal: &'a Calendar) -> Self {
        Days {
            cal,
            provisional: None,
        }
    }

    fn is_working(&mut self, d: NaiveDate) -> Result<bool, CalendarError> {
        if let Some(&work) = self.cal.listed.get(&d) {
            return Ok(work);
        }
        let year = d.year();
        if self.cal.years.contains_key(&year) {
            return Ok(!is_weekend(d));
        }
        if !self.cal.allow_provisional {
            return Err(CalendarError::NoData { year });
        }
        if is_weekend(d) {
            return Ok(false);
        }
        if self.provisional.as_ref().is_none_or(|(y, _)| *y != year) {
            let off = provisional::periods(year)?
                .into_iter()
                .map(|p| (p.start, p.end))
                .collect();
            self.provisional = Some((year, off));
        }
        let off = self
            .provisional
            .as_ref()
            .map_or(&[][..], |(_, off)| off.as_slice());
        Ok(!off.iter().any(|(start, end)| *start <= d && d <= *end))
    }

    /// The `n`-th working day strictly after (`dir = 1`) or before (`dir = -1`) `d`.
    fn walk(&mut self, d: NaiveDate, n: u32, dir: i8) -> Result<NaiveDate, CalendarError> {
        let mut cur = d;
        let mut count = 0;
        while count < n {
            cur = step(cur, dir)?;
            if self.is_working(cur)? {
                count += 1;
            }
        }
        Ok(cur)
    }
}
