//! The service's clock, passed in: the system clock for `suiji run`, a simulated one for
//! `suiji simulate` and tests.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use chrono::NaiveDateTime;

/// Something that happened outside the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// SIGHUP or a change in the rule files: validate and switch to the new rules if clean.
    Reload(String),
    /// SIGTERM / SIGINT: finish the draw in progress, then stop.
    Shutdown(String),
}

/// Why a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// The time waited for has come.
    Time,
    /// An event arrived first.
    Event(Event),
    /// The clock has run out (a simulation past its end).
    End,
}

/// Why a reload was asked for when the rule file watcher saw a change.
pub const RULE_FILES_CHANGED: &str = "rule files changed";

/// Local time, and waiting for it.
pub trait Clock {
    /// Now, in the bureau's local time.
    fn now(&self) -> NaiveDateTime;
    /// Waits until `until` (or forever when `None`) unless an event arrives first.
    fn wait(&mut self, until: Option<NaiveDateTime>, events: &Receiver<Event>) -> Wake;
}

/// Real time in a time zone; sleeps on the event channel (no polling).
pub struct SystemClock {
    pub tz: chrono_tz::Tz,
}

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        chrono::Utc::now().with_timezone(&self.tz).naive_local()
    }

    fn wait(&mut self, until: Option<NaiveDateTime>, events: &Receiver<Event>) -> Wake {
        let timeout = match until {
            Some(t) => (t - self.now()).to_std().unwrap_or(Duration::ZERO),
            // Nothing scheduled: wake at least daily to recompute (new year, new calendar).
            None => Duration::from_secs(24 * 3600),
        };
        // Never sleep more than a day at a time, so a clock change is noticed.
        match events.recv_timeout(timeout.min(Duration::from_secs(24 * 3600))) {
            Ok(e) => Wake::Event(e),
            Err(RecvTimeoutError::Timeout) => Wake::Time,
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(timeout.min(Duration::from_secs(24 * 3600)));
                Wake::Time
            }
        }
    }
}

/// A clock that jumps straight to the next wake-up, ending at `end`.
pub struct SimClock {
    pub now: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Clock for SimClock {
    fn now(&self) -> NaiveDateTime {
        self.now
    }

    fn wait(&mut self, until: Option<NaiveDateTime>, events: &Receiver<Event>) -> Wake {
        if let Ok(e) = events.try_recv() {
            return Wake::Event(e);
        }
        match until {
            Some(t) if t <= self.end => {
                self.now = self.now.max(t);
                Wake::Time
            }
            _ => Wake::End,
        }
    }
}

/// The environment variable naming a clock file ([`FileClock`]): a testing aid for several
/// `suiji run` processes sharing one simulated time.
pub const TEST_CLOCK_ENV: &str = "SUIJI_TEST_CLOCK";

/// How often a [`FileClock`] looks at its file while it waits.
const FILE_CLOCK_POLL: Duration = Duration::from_millis(20);

/// A clock read from a file, a testing aid (`SUIJI_TEST_CLOCK=FILE`): the file holds the
/// local time (`2023-03-01T09:00:00`), which a test moves on by rewriting it, so that several
/// processes share one simulated time and nothing depends on the machine's speed; the word
/// `end` ends the clock (the service stops as a simulation does). The service accepts it only
/// on a database marked as a simulation. Between readings it keeps the last time it read (a
/// file being rewritten, or unreadable, does not move it back).
pub struct FileClock {
    path: std::path::PathBuf,
    last: std::cell::Cell<NaiveDateTime>,
}

/// What a clock file says.
enum Reading {
    At(NaiveDateTime),
    End,
}

impl FileClock {
    /// The clock of `path`, which must hold a time now.
    pub fn open(path: &std::path::Path) -> Result<FileClock, String> {
        match read_clock(path) {
            Some(Reading::At(t)) => Ok(FileClock {
                path: path.to_path_buf(),
                last: std::cell::Cell::new(t),
            }),
            _ => Err(format!(
                "{} (from {TEST_CLOCK_ENV}) holds no time: write it as 2023-03-01T09:00:00",
                path.display()
            )),
        }
    }

    /// The file, as messages name the clock.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Reads the file: the time it holds (never earlier than the last), or `None` at its end.
    fn read(&self) -> Option<NaiveDateTime> {
        match read_clock(&self.path) {
            Some(Reading::End) => None,
            Some(Reading::At(t)) => {
                self.last.set(self.last.get().max(t));
                Some(self.last.get())
            }
            None => Some(self.last.get()),
        }
    }
}

fn read_clock(path: &std::path::Path) -> Option<Reading> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    if text == "end" {
        return Some(Reading::End);
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(Reading::At)
}

impl Clock for FileClock {
    fn now(&self) -> NaiveDateTime {
        self.read().unwrap_or_else(|| self.last.get())
    }

    fn wait(&mut self, until: Option<NaiveDateTime>, events: &Receiver<Event>) -> Wake {
        loop {
            match events.recv_timeout(FILE_CLOCK_POLL) {
                Ok(e) => return Wake::Event(e),
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(FILE_CLOCK_POLL),
                Err(RecvTimeoutError::Timeout) => {}
            }
            match self.read() {
                None => return Wake::End,
                Some(now) if until.is_some_and(|t| now >= t) => return Wake::Time,
                Some(_) => {}
            }
        }
    }
}
