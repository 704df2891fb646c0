//! The public source a matter's seeds come from when the service commits to it by itself
//! (`[seed] name`, `announce`, `commit_days`, `fetch_url` / `fetch_command`): which day's
//! value a draw is committed to, when, and how an announced value is obtained.
//!
//! A draw issued at `issue_at` is committed `commit_days` days before, to the first value
//! announced at or after `issue_at` (and after the commitment itself); once that value's
//! time has passed, the fetcher is asked for it. A fetch that fails, or finds nothing, leaves
//! the draw waiting: no seed is ever made up in its place.

use std::time::Duration as StdDuration;

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

/// The announced value of `day` from the fetcher, obtained within `limit`: the body of the
/// answer to an `http://` address (connecting and each read waiting at most `limit`), or a
/// program's standard output, trimmed (a program still running at `limit` is killed, with
/// every process it started). An error says why there is none.
pub fn fetch(how: &Fetch, day: NaiveDate, limit: StdDuration) -> Result<String, String> {
    let date = day.format("%Y-%m-%d").to_string();
    let fill = |s: &str| s.replace("{date}", &date);
    let bytes = match how {
        Fetch::Url(url) => {
            let url = fill(url);
            let rest = url
                .strip_prefix("http://")
                .ok_or_else(|| format!("{url} is not an http:// address"))?;
            super::anchor::fetch_within(rest, limit).map_err(|e| format!("{url}: {e}"))?
        }
        Fetch::Command(argv) => {
            let (program, args) = argv.split_first().ok_or("the fetch command is empty")?;
            let args: Vec<String> = args.iter().map(|a| fill(a)).collect();
            run_within(&fill(program), &args, limit)?
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

/// The most output read from a fetch command (more is not a value either way).
const MAX_OUTPUT: u64 = 1 << 20;

/// What the threads watching a fetch command report.
enum Seen {
    /// Its standard output (0) or error (1) closed, with what it held.
    Closed(usize, Vec<u8>),
    /// The time limit has come.
    Limit,
}

/// Runs `program` with `args` (no shell, no standard input) in a process group of its own:
/// its standard output once it has exited with success, or why there is none. At `limit`
/// (a timer thread's signal: the clock is not read here) a program that has not exited, or
/// whose output is still open (a process it started holds it), is killed with its whole
/// group and the fetch fails.
fn run_within(program: &str, args: &[String], limit: StdDuration) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::sync::mpsc::RecvTimeoutError;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let pipes = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ];
    for (n, pipe) in pipes.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(MAX_OUTPUT).read_to_end(&mut bytes);
            }
            let _ = tx.send(Seen::Closed(n, bytes));
        });
    }
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        let _ = tx.send(Seen::Limit);
    });
    let too_long = |child: &mut std::process::Child| {
        kill_group(child);
        format!(
            "{program} did not finish within {} s (fetch_timeout_secs): stopped",
            limit.as_secs_f64()
        )
    };
    let mut closed: [Option<Vec<u8>>; 2] = [None, None];
    while closed.iter().any(Option::is_none) {
        match rx.recv() {
            Ok(Seen::Closed(n, bytes)) => closed[n] = Some(bytes),
            Ok(Seen::Limit) | Err(_) => return Err(too_long(&mut child)),
        }
    }
    // Both outputs are closed: the program is ending (or has closed them and goes on, until
    // the limit).
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => match rx.recv_timeout(StdDuration::from_millis(5)) {
                Ok(Seen::Limit) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(too_long(&mut child));
                }
                Ok(Seen::Closed(..)) | Err(RecvTimeoutError::Timeout) => {}
            },
            Err(e) => return Err(format!("{program}: {e}")),
        }
    };
    let [out, err] = closed;
    if !status.success() {
        let err = String::from_utf8_lossy(err.as_deref().unwrap_or_default()).into_owned();
        return Err(format!(
            "{program} exited with {status}: {}",
            err.lines().next().unwrap_or("").trim()
        ));
    }
    Ok(out.unwrap_or_default())
}

/// Kills `child`'s process group (the fetch command and whatever it started; the group's id
/// is the child's, which stays reserved until the child is reaped below), then the child.
fn kill_group(child: &mut std::process::Child) {
    let group = format!("-{}", child.id());
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &group])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
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
            fetch_timeout: StdDuration::from_secs(60),
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
        let fetch = |how: &Fetch, day| fetch(how, day, StdDuration::from_secs(600));
        let echo = Fetch::Command(vec!["echo".into(), " 3 1 7 {date} ".into()]);
        assert_eq!(fetch(&echo, d("2025-01-02")), Ok("3 1 7 2025-01-02".into()));
        let fails = Fetch::Command(vec![
            "sh".into(),
            "-c".into(),
            "echo 'no such day' >&2; exit 3".into(),
        ]);
        assert!(
            fetch(&fails, d("2025-01-02"))
                .is_err_and(|e| e.contains("sh exited") && e.contains("no such day")),
            "{:?}",
            fetch(&fails, d("2025-01-02"))
        );
        let empty = Fetch::Command(vec!["true".into()]);
        assert!(fetch(&empty, d("2025-01-02")).is_err_and(|e| e.contains("not announced yet")));
        let missing = Fetch::Command(vec!["/nonexistent/fetch-3d".into()]);
        assert!(
            fetch(&missing, d("2025-01-02")).is_err_and(|e| e.contains("/nonexistent/fetch-3d"))
        );
    }

    /// A command that never ends, or that ends but leaves a process holding its output, is
    /// stopped at the limit with every process it started, whatever the limit and however
    /// fast the machine: nothing here ever finishes by itself.
    #[test]
    fn a_command_fetcher_that_does_not_finish_is_killed_at_its_limit() {
        let dir = tempfile::tempdir().expect("dir");
        let pids = dir.path().join("pids");
        let script = format!("echo $$ > {}; sleep 100000 & wait", pids.display());
        let hangs = Fetch::Command(vec!["sh".into(), "-c".into(), script]);
        let e = fetch(&hangs, d("2025-01-02"), StdDuration::from_millis(200))
            .expect_err("it never ends");
        assert!(e.contains("did not finish within 0.2 s"), "{e}");
        // The shell (its id written first thing) was killed and reaped.
        let text = std::fs::read_to_string(&pids).unwrap_or_default();
        if let Some(shell) = text.lines().next() {
            assert!(!std::path::Path::new(&format!("/proc/{shell}")).exists());
        }

        // It exits at once, but a process it left behind keeps its output open.
        let leaves = Fetch::Command(vec![
            "sh".into(),
            "-c".into(),
            "echo 3 1 7; sleep 100000 &".into(),
        ]);
        let e = fetch(&leaves, d("2025-01-02"), StdDuration::from_millis(200))
            .expect_err("its output never closes");
        assert!(e.contains("did not finish within"), "{e}");
    }
}
