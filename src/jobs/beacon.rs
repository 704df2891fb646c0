//! The public source a matter's seeds come from when the service commits to it by itself
//! (`[seed] name`, `announce`, `commit_days`, `fetch_url` / `fetch_command`): which day's
//! value a draw is committed to, when, and how an announced value is obtained.
//!
//! A draw issued at `issue_at` is committed `commit_days` days before, to the first value
//! announced at or after `issue_at` (and after the commitment itself); once that value's
//! time has passed, the fetcher is asked for it. A fetch that fails, or finds nothing, leaves
//! the draw waiting: no seed is ever made up in its place.

use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::rules::model::{Fetch, PublicSource};

/// The longest value accepted from a fetcher: a lottery result or a beacon's value is short;
/// a page of HTML is not a value.
const MAX_VALUE: usize = 1024;

/// When the draw issued at `issue_at` is committed to its source.
pub fn commit_at(src: &PublicSource, issue_at: NaiveDateTime) -> NaiveDateTime {
    issue_at - Duration::days(i64::from(src.commit_days))
}

/// The day of the value a draw issued at `issue_at`, committed at `now`, is committed to: the
/// first announcement at or after `issue_at` that is later than `now`.
pub fn value_day(src: &PublicSource, issue_at: NaiveDateTime, now: NaiveDateTime) -> NaiveDate {
    let mut day = issue_at.date();
    while day.and_time(src.announce) < issue_at || day.and_time(src.announce) <= now {
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    day
}

/// The announced value of `day` from the fetcher: the body of the answer to an `http://`
/// address, or a program's standard output, trimmed. An error says why there is none.
pub fn fetch(how: &Fetch, day: NaiveDate) -> Result<String, String> {
    let date = day.format("%Y-%m-%d").to_string();
    let fill = |s: &str| s.replace("{date}", &date);
    let bytes = match how {
        Fetch::Url(url) => {
            let url = fill(url);
            let rest = url
                .strip_prefix("http://")
                .ok_or_else(|| format!("{url} is not an http:// address"))?;
            super::anchor::fetch(rest).map_err(|e| format!("{url}: {e}"))?
        }
        Fetch::Command(argv) => {
            let (program, args) = argv.split_first().ok_or("the fetch command is empty")?;
            let out = std::process::Command::new(fill(program))
                .args(args.iter().map(|a| fill(a)))
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| format!("{program}: {e}"))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                return Err(format!(
                    "{program} exited with {}: {}",
                    out.status,
                    err.lines().next().unwrap_or("").trim()
                ));
            }
            out.stdout
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| "the answer is not UTF-8 text".to_string())?;
    let value = text.trim();
    if value.is_empty() {
        return Err("the answer is empty: the value is not announced yet".into());
    }
    if value.len() > MAX_VALUE {
        return Err(format!(
            "the answer has {} bytes, not a value (at most {MAX_VALUE})",
            value.len()
        ));
    }
    Ok(value.to_string())
}

/// How `how` is named in status lines and logs.
pub fn describe(how: &Fetch) -> String {
    match how {
        Fetch::Url(url) => url.clone(),
        Fetch::Command(argv) => argv.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(announce: &str) -> PublicSource {
        PublicSource {
            name: "3D {date}".into(),
            announce: chrono::NaiveTime::parse_from_str(announce, "%H:%M").expect("time"),
            commit_days: 3,
            fetch: None,
        }
    }

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time")
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("day")
    }

    #[test]
    fn a_draw_takes_the_first_value_announced_at_or_after_its_issue_time_and_after_now() {
        let s = src("21:15");
        // Issued at 09:00: that evening's value.
        assert_eq!(
            value_day(&s, t("2025-01-02 09:00"), t("2024-12-30 09:00")),
            d("2025-01-02")
        );
        // Issued after the announcement: the next day's.
        assert_eq!(
            value_day(&s, t("2025-01-02 22:00"), t("2024-12-30 09:00")),
            d("2025-01-03")
        );
        // Committed late, after that evening's value exists: the next one not yet announced.
        assert_eq!(
            value_day(&s, t("2025-01-02 09:00"), t("2025-01-04 21:15")),
            d("2025-01-05")
        );
        assert_eq!(commit_at(&s, t("2025-01-02 09:00")), t("2024-12-30 09:00"));
    }

    #[test]
    fn a_command_fetcher_gives_its_output_trimmed_and_fails_with_the_reason() {
        let echo = Fetch::Command(vec!["echo".into(), " 3 1 7 {date} ".into()]);
        assert_eq!(fetch(&echo, d("2025-01-02")), Ok("3 1 7 2025-01-02".into()));
        let fails = Fetch::Command(vec!["false".into()]);
        assert!(fetch(&fails, d("2025-01-02")).is_err_and(|e| e.contains("false exited")));
        let empty = Fetch::Command(vec!["true".into()]);
        assert!(fetch(&empty, d("2025-01-02")).is_err_and(|e| e.contains("not announced yet")));
        let missing = Fetch::Command(vec!["/nonexistent/fetch-3d".into()]);
        assert!(
            fetch(&missing, d("2025-01-02")).is_err_and(|e| e.contains("/nonexistent/fetch-3d"))
        );
    }
}
