//! Drawing one matter and period now, on an operator's request (`suiji draw`).

use super::issue::seed::{SeedChoice, resolve};
use super::issue::{Frozen, IssueError, Issued, Request, find_scheduled, issue};
use super::{SetupError, load_calendar, open_store, require_matter};
use crate::calendar::CalendarError;
use crate::diag::{Fault, Problem, Report};
use crate::rules::Loaded;
use crate::store::Origin;

/// A draw to make now.
#[derive(Debug, Clone)]
pub struct Input {
    pub matter: String,
    /// Period id: 2023, 2023-H1, 2023-Q2, 2023-05, 2023-chunjie.
    pub period: String,
    pub seed: SeedChoice,
    /// Compute and show, but record and write nothing.
    pub dry_run: bool,
    /// Replace the active draw of this matter and period, for this reason.
    pub redraw: Option<String>,
    /// Who draws (recorded in the audit log).
    pub actor: String,
    /// Now, "YYYY-MM-DDTHH:MM:SS+08:00".
    pub now: String,
}

/// A draw made (or, on a dry run, computed), with the registry it was drawn from.
#[derive(Debug)]
pub struct Drawn {
    pub issued: Issued,
    pub frozen: Frozen,
}

#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("{matter} has no period `{period}`")]
    NoPeriod {
        matter: String,
        period: String,
        /// The matter's periods in the year asked for, when they could be listed.
        known: Option<(i32, Vec<String>)>,
    },
    #[error("{0}")]
    Calendar(#[from] CalendarError),
    #[error("{0}")]
    Seed(String),
    #[error(transparent)]
    Issue(#[from] IssueError),
}

impl Problem for DrawError {
    fn fault(&self) -> Fault {
        match self {
            DrawError::Setup(e) => e.fault(),
            DrawError::NoPeriod { .. } | DrawError::Calendar(_) | DrawError::Seed(_) => {
                Fault::Invalid
            }
            DrawError::Issue(IssueError::AlreadyDrawn { .. }) => Fault::Invalid,
            DrawError::Issue(_) => Fault::Failed,
        }
    }

    fn report(&self) -> Report {
        match self {
            DrawError::Setup(e) => e.report(),
            DrawError::NoPeriod { known, .. } => match known {
                Some((year, ids)) => Report::error(
                    self.to_string(),
                    &[&format!("its periods in {year} are: {}", ids.join(", "))],
                ),
                None => Report::error(self.to_string(), &[]),
            },
            DrawError::Issue(IssueError::AlreadyDrawn {
                matter,
                period,
                draw_id,
                created_at,
            }) => Report::error(
                format!("{matter} {period} was already drawn (draw #{draw_id}, {created_at})"),
                &[
                    "a draw is never repeated silently; to replace it run with --redraw --reason \"…\" (the old draw is kept and the redraw audited)",
                ],
            ),
            DrawError::Issue(e @ IssueError::Draw { .. }) => Report::error(e.to_string(), &[]),
            other => Report::error(crate::diag::chain(other), &[]),
        }
    }
}

/// Draws targets and teams for one matter and period now: the period's scheduled dates, the
/// registries as they are, the seed given (or the OS's); recorded unless a dry run.
pub fn run(loaded: &Loaded, input: &Input) -> Result<Drawn, DrawError> {
    run_as(loaded, input, None)
}

/// As [`run`], the draw recorded as written by `origin` (the console passes its signed-in
/// user) instead of this process alone.
pub fn run_as(loaded: &Loaded, input: &Input, origin: Option<&Origin>) -> Result<Drawn, DrawError> {
    require_matter(loaded, &input.matter)?;
    let cal = load_calendar(loaded, false)?;
    let Some(scheduled) = find_scheduled(loaded, &cal, &input.matter, &input.period)? else {
        let year: i32 = input
            .period
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or(2023);
        let known = loaded.model.matter(&input.matter).and_then(|m| {
            crate::schedule::matter_schedule(m, &cal, year, loaded.model.config.timezone)
                .ok()
                .map(|all| (year, all.iter().map(|s| s.period.id.clone()).collect()))
        });
        return Err(DrawError::NoPeriod {
            matter: input.matter.clone(),
            period: input.period.clone(),
            known,
        });
    };
    let (seed, seed_source) = resolve(&input.seed).map_err(DrawError::Seed)?;
    let mut store = open_store(loaded)?;
    if let Some(origin) = origin {
        store.set_origin(origin.clone());
    }
    if !input.dry_run {
        super::adopt_on_first_start(&mut store, loaded, &input.now);
    }
    let frozen = super::issue::freeze(loaded, &store).map_err(SetupError::Registry)?;
    let req = Request {
        algorithm: loaded.model.config.algorithm,
        provisional: super::issue::provisional(&cal, &scheduled),
        draw: scheduled,
        seed,
        seed_source,
        actor: input.actor.clone(),
        created_at: input.now.clone(),
        redraw: input.redraw.clone(),
        dry_run: input.dry_run,
    };
    let issued = issue(loaded, &mut store, &frozen, &req)?;
    Ok(Drawn { issued, frozen })
}
