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

/// Local time, and waiting for it.
pub trait Clock {
    /// Now, in the bureau's local time.
    fn now(&self) -> NaiveDateTime;
    /// Waits until `until` (or forever when `None`) unless an event arrives first.
    /// Returns `Err(())` when the clock has run out (a simulation past its end).
    #[allow(clippy::result_unit_err)]
    fn wait(
        &mut self,
        until: Option<NaiveDateTime>,
        events: &Receiver<Event>,
    ) -> Result<Option<Event>, ()>;
}

/// Real time in a time zone; sleeps on the event channel (no polling).
pub struct SystemClock {
    pub tz: chrono_tz::Tz,
}

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        chrono::Utc::now().with_timezone(&self.tz).naive_local()
    }

    fn wait(
        &mut self,
        until: Option<NaiveDateTime>,
        events: &Receiver<Event>,
    ) -> Result<Option<Event>, ()> {
        let timeout = match until {
            Some(t) => (t - self.now()).to_std().unwrap_or(Duration::ZERO),
            // Nothing scheduled: wake at least daily to recompute (new year, new calendar).
            None => Duration::from_secs(24 * 3600),
        };
        // Never sleep more than a day at a time, so a clock change is noticed.
        match events.recv_timeout(timeout.min(Duration::from_secs(24 * 3600))) {
            Ok(e) => Ok(Some(e)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(timeout.min(Duration::from_secs(24 * 3600)));
                Ok(None)
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

    fn wait(
        &mut self,
        until: Option<NaiveDateTime>,
        events: &Receiver<Event>,
    ) -> Result<Option<Event>, ()> {
        if let Ok(e) = events.try_recv() {
            return Ok(Some(e));
        }
        match until {
            Some(t) if t <= self.end => {
                self.now = self.now.max(t);
                Ok(None)
            }
            _ => Err(()),
        }
    }
}
