//! The year's schedule: every draw with its issue time and due date (`suiji schedule`).

use super::{SetupError, load_calendar, require_matter, require_year};
use crate::diag::Diagnostic;
use crate::rules::Loaded;
use crate::schedule::ScheduledDraw;

/// Which year, and which matter.
#[derive(Debug, Clone)]
pub struct Input {
    pub year: i32,
    /// Allow a provisional calendar for a year without an official holiday notice.
    pub provisional: bool,
    pub matter: Option<String>,
}

/// The year's draws in issue order.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub draws: Vec<ScheduledDraw>,
    /// Matters that could not be scheduled (the others go on).
    pub problems: Vec<Diagnostic>,
    /// The dates come from a provisional calendar (no official holiday notice).
    pub provisional: bool,
}

/// Lists every draw of a year, or of one matter.
pub fn run(loaded: &Loaded, input: &Input) -> Result<Schedule, SetupError> {
    let cal = load_calendar(loaded, input.provisional)?;
    let official = require_year(&cal, input.year)?;
    if let Some(m) = &input.matter {
        require_matter(loaded, m)?;
    }
    let (mut draws, problems) = crate::schedule::year_schedule(&loaded.model, &cal, input.year);
    draws.retain(|s| input.matter.as_ref().is_none_or(|m| &s.matter == m));
    Ok(Schedule {
        draws,
        problems: problems
            .iter()
            .map(|p| Diagnostic::error(format!("{}: {}", p.matter, p.error)))
            .collect(),
        provisional: !official,
    })
}
