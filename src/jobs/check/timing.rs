//! Frequencies and issue days that cannot work: a cron that never fires or fires more than
//! [`CRON_CAP`] times a year, an issue day after its period's end.

use crate::calendar::Calendar;
use crate::diag::Diagnostic;
use crate::rules::Loaded;
use crate::schedule::{CRON_CAP, TimingProblem, timing_problems};

/// The timing errors of every matter, over the years the calendar has notices for.
pub(super) fn check(loaded: &Loaded, cal: &Calendar) -> Vec<Diagnostic> {
    let years: Vec<i32> = cal
        .years()
        .into_iter()
        .filter(|y| cal.is_official(*y))
        .collect();
    if years.is_empty() {
        return Vec::new();
    }
    let span = |y: &[i32]| match (y.first(), y.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    };
    let tz = loaded.model.config.timezone;
    let mut out = Vec::new();
    for m in loaded.model.matters() {
        let p = &m.places;
        let place = |d: Diagnostic, at: &Option<std::ops::Range<usize>>| match at {
            Some(r) => d.at(p.file, r.clone()),
            None => d.at(p.file, p.id.clone()),
        };
        for problem in timing_problems(m, cal, &years, tz) {
            let d = match problem {
                TimingProblem::CronNeverFires => place(
                    Diagnostic::error(format!(
                        "the cron of `{}` never fires in {}",
                        m.id,
                        span(&years)
                    ))
                    .label("fires on no day of these years")
                    .help("check the day-of-month, month and year fields (there is no 31 February; a year field in the past never comes)"),
                    &p.frequency,
                ),
                TimingProblem::CronTooOften { year } => place(
                    Diagnostic::error(format!(
                        "the cron of `{}` fires more than {CRON_CAP} times in {year}",
                        m.id
                    ))
                    .label("too many draws")
                    .help(format!("a matter is drawn at most {CRON_CAP} times a year (once a day): check the seconds, minutes and hours fields, e.g. \"0 0 9 * * Mon\" for 09:00 every Monday")),
                    &p.frequency,
                ),
                TimingProblem::IssueAfterEnd { period, issue, end } => place(
                    Diagnostic::error(format!(
                        "`{}` would be issued on {issue}, after its period {period} ended on {end}",
                        m.id
                    ))
                    .label("after the period's end")
                    .help("choose an earlier issue day, e.g. issue = \"working-day:15\" for a monthly matter"),
                    &p.issue,
                ),
            };
            out.push(d);
        }
    }
    out
}
