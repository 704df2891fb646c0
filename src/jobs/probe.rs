//! Named points in the jobs that record something (a draw, a publication), where a test can
//! stop the process as a crash would, or watch the job pass.
//!
//! A job that stages files, commits a record and then places the files passes three points:
//! `JOB.staged` (files written to the staging folder, nothing recorded), `JOB.recording`
//! (inside the transaction: every row and the audit entry written, not committed) and
//! `JOB.committed` (the record committed, the files not yet in place). `regenerate`, which
//! records nothing, passes `regenerate.documents` (a draw's documents written into its staging
//! folder, its audit bundle and manifest not yet). [`POINTS`] lists them.
//!
//! With `SUIJI_ABORT_AT=POINT` in its environment a process kills itself (`SIGKILL`, as
//! `kill -9` would: no destructor runs, nothing is rolled back or flushed) the first time it
//! reaches the point; `POINT@N` stops it the N-th time. Without the variable a point does
//! nothing. With `SUIJI_PROBE_LOG` set, it says each point it passes on standard error
//! (`suiji: passed POINT`), so that a test can act as it goes on: kill it just after a point,
//! wherever it happens to be then. In-process tests watch the points of their own thread with
//! [`watching`].

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the point where the process stops.
pub const ABORT_ENV: &str = "SUIJI_ABORT_AT";

/// The environment variable that makes a process say each point it passes.
pub const LOG_ENV: &str = "SUIJI_PROBE_LOG";

/// Every point, in the order a job reaches them.
pub const POINTS: &[&str] = &[
    "draw.staged",
    "draw.recording",
    "draw.committed",
    "publish.staged",
    "publish.recording",
    "publish.committed",
    "regenerate.documents",
];

/// The point to stop at and at which passing (1 = the first).
fn target() -> Option<&'static (String, u64)> {
    static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let spec = std::env::var(ABORT_ENV).ok()?;
            let (name, nth) = match spec.split_once('@') {
                Some((name, n)) => (name, n.trim().parse().ok().filter(|n| *n > 0)?),
                None => (spec.as_str(), 1),
            };
            Some((name.trim().to_string(), nth))
        })
        .as_ref()
}

static PASSED: AtomicU64 = AtomicU64::new(0);

/// Whether the points passed are said on standard error ([`LOG_ENV`]).
fn logged() -> bool {
    static LOGGED: OnceLock<bool> = OnceLock::new();
    *LOGGED.get_or_init(|| std::env::var_os(LOG_ENV).is_some())
}

type Watch = Box<dyn FnMut(&'static str)>;

thread_local! {
    static WATCH: RefCell<Option<Watch>> = const { RefCell::new(None) };
}

/// The job has reached `name` (one of [`POINTS`]).
pub fn point(name: &'static str) {
    debug_assert!(POINTS.contains(&name), "unknown probe point {name}");
    if let Some((at, nth)) = target()
        && at == name
        && PASSED.fetch_add(1, Ordering::SeqCst) + 1 == *nth
    {
        let _ = writeln!(std::io::stderr(), "suiji: stopped at {name} ({ABORT_ENV})");
        // As `kill -9`: the process ends here, in whatever state its files and database are.
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGKILL);
        std::process::abort();
    }
    if logged() {
        let _ = writeln!(std::io::stderr(), "suiji: passed {name}");
    }
    WATCH.with(|w| {
        if let Ok(mut w) = w.try_borrow_mut()
            && let Some(f) = w.as_mut()
        {
            f(name);
        }
    });
}

/// Runs `body` with `watch` called at every point this thread passes, then removes it.
pub fn watching<T>(watch: impl FnMut(&'static str) + 'static, body: impl FnOnce() -> T) -> T {
    struct Unwatch(Option<Watch>);
    impl Drop for Unwatch {
        fn drop(&mut self) {
            let old = self.0.take();
            WATCH.with(|w| *w.borrow_mut() = old);
        }
    }
    let old = WATCH.with(|w| w.borrow_mut().replace(Box::new(watch)));
    let _restore = Unwatch(old);
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_watched_on_this_thread_only_while_watching() {
        let seen = std::rc::Rc::new(RefCell::new(Vec::new()));
        let log = seen.clone();
        watching(
            move |p| log.borrow_mut().push(p),
            || {
                point("draw.staged");
                std::thread::spawn(|| point("draw.recording"))
                    .join()
                    .expect("thread");
                point("draw.committed");
            },
        );
        point("publish.staged");
        assert_eq!(*seen.borrow(), ["draw.staged", "draw.committed"]);
    }
}
