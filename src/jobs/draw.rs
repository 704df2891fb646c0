//! Drawing one matter and period now, on an operator's request (`suiji draw`).

use super::issue::seed::{SeedChoice, resolve};
use super::issue::{Frozen, IssueError, Issued, Request, find_scheduled, issue};
use super::{SetupError, load_calendar, open_store};
use crate::calendar::CalendarError;
use crate::diag::{Fault, Problem, Report};
use crate::rules::Loaded;
use crate::store::pg::PgStore;
use crate::store::{DrawStore, Origin};

/// A draw to make now.
#[derive(Debug, Clone)]
pub struct Input {
    pub matter: String,
    /// Period id: 2023, 2023-H1, 2023-Q2, 2023-05, 2023-chunjie.
    pub period: String,
    pub seed: SeedChoice,
    /// The announced value of the public source this draw's commitment names (`suiji
    /// commit`); when given, it is the seed text and `seed` is not used.
    pub reveal: Option<String>,
    /// Compute and show, but record and write nothing.
    pub dry_run: bool,
    /// Replace the active draw of this matter and period, for this reason.
    pub redraw: Option<String>,
    /// The draw a redraw replaces, as the one who asked saw it (a redraw request's draw):
    /// the redraw is refused if another replaced it meanwhile. `None`: the active draw as this
    /// draw starts.
    pub replaces: Option<i64>,
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
    Reveal(#[from] super::commit::RevealError),
    #[error(
        "a seed typed by the operator is refused on a database of real records: nobody may choose a draw's seed"
    )]
    ChosenSeed { matter: String, period: String },
    #[error(
        "{} {} is committed to draw with the value of {} (commitment #{}): it is drawn with that value, not another seed", .0.matter, .0.period, .0.source, .0.id
    )]
    Committed(Box<crate::store::Commitment>),
    #[error(
        "{matter} {period} takes its seeds from committed public sources: its redraw needs its own commitment, made after the draw it replaces, and that commitment's value"
    )]
    RedrawNeedsCommitment { matter: String, period: String },
    #[error(
        "commitment #{id} was made at {committed_at}, before draw #{draw_id} it would replace ({drawn_at}): a redraw's commitment is made after the draw it replaces"
    )]
    StaleCommitment {
        id: i64,
        committed_at: String,
        draw_id: i64,
        drawn_at: String,
    },
    #[error(transparent)]
    Issue(#[from] IssueError),
}

impl Problem for DrawError {
    fn fault(&self) -> Fault {
        match self {
            DrawError::Setup(e) => e.fault(),
            DrawError::NoPeriod { .. }
            | DrawError::Calendar(_)
            | DrawError::Seed(_)
            | DrawError::Reveal(_)
            | DrawError::ChosenSeed { .. }
            | DrawError::RedrawNeedsCommitment { .. }
            | DrawError::StaleCommitment { .. }
            | DrawError::Committed(_) => Fault::Invalid,
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
            DrawError::Committed(k) => Report::error(
                self.to_string(),
                &[&format!(
                    "once the value is announced ({}): suiji draw {} --period {} --reveal \"VALUE\"",
                    k.source_time, k.matter, k.period
                )],
            ),
            DrawError::ChosenSeed { matter, period } => Report::error(
                self.to_string(),
                &[
                    &format!(
                        "commit to a public source before its value exists: suiji commit {matter} --period {period} --source \"…\" --source-time \"YYYY-MM-DD HH:MM\"; once the value is announced: suiji draw {matter} --period {period} --reveal \"VALUE\""
                    ),
                    "or leave out --seed and --seed-from: the operating system's random source gives the seed, and the public list says it was generated by the system",
                    "typed seeds are accepted only on a simulation database (suiji simulate)",
                ],
            ),
            DrawError::RedrawNeedsCommitment { matter, period } => Report::error(
                self.to_string(),
                &[&format!(
                    "commit before the value exists: suiji commit {matter} --period {period} --redraw --source \"…\" --source-time \"YYYY-MM-DD HH:MM\"; once announced: suiji draw {matter} --period {period} --redraw --reason \"…\" --reveal \"VALUE\""
                )],
            ),
            DrawError::Reveal(super::commit::RevealError::NoCommitment { matter, period }) => {
                Report::error(
                    self.to_string(),
                    &[&format!(
                        "commit first, before the value exists: suiji commit {matter} --period {period} --source \"…\" --source-time \"YYYY-MM-DD HH:MM\""
                    )],
                )
            }
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
    run_on(loaded, input, origin, None)
}

/// As [`run_as`], recorded in the PostgreSQL database `database` when one is given (else in
/// the SQLite file of the data folder): the same checks, history, files and record, through
/// [`DrawStore`].
pub fn run_on(
    loaded: &Loaded,
    input: &Input,
    origin: Option<&Origin>,
    database: Option<&crate::store::pg::Place>,
) -> Result<Drawn, DrawError> {
    super::require_in_force(loaded, &input.matter)?;
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
    let mut store = open_draw_store(loaded, database)?;
    let store = &mut *store;
    // A seed revealed for a commitment is checked against the registry's snapshots, so the
    // registry is confirmed before it; any other draw confirms it before it records.
    let frozen = match input.reveal {
        None => super::issue::freeze_trusting(loaded, store),
        Some(_) => super::issue::freeze(loaded, store),
    }
    .map_err(SetupError::Registry)?;
    // The period named as its draws are recorded, whichever form was typed (V2-15).
    let period = super::commit::recorded_period(store, &input.matter, &scheduled.period.id)
        .map_err(IssueError::Store)?;
    let named = Input {
        period,
        ..input.clone()
    };
    let (seed, seed_source) = seed_of(loaded, store, &frozen, &named)?;
    if let Some(origin) = origin {
        store.set_origin(origin.clone());
    }
    if !input.dry_run {
        super::adopt_on_first_start(store, loaded, &input.now);
    }
    let req = Request {
        algorithm: loaded.model.config.algorithm,
        provisional: super::issue::provisional(&cal, &scheduled),
        exclusions_in_file: super::issue::exclusions_in_file(loaded.model.config.algorithm),
        draw: scheduled,
        seed,
        seed_source,
        actor: input.actor.clone(),
        created_at: input.now.clone(),
        redraw: input.redraw.clone(),
        replaces: replaced_draw(store, &named)?,
        dry_run: input.dry_run,
    };
    let (issued, frozen) = match issue(loaded, store, &frozen, &req) {
        // The target file was not the version it looked like: checked in full, drawn again.
        Err(IssueError::RegistryChanged) => {
            drop(frozen);
            let frozen = super::issue::freeze(loaded, store).map_err(SetupError::Registry)?;
            (issue(loaded, store, &frozen, &req)?, frozen)
        }
        issued => (issued?, frozen),
    };
    if input.reveal.is_some()
        && let Err(e) = super::commit::publish(&loaded.model.config.output_dir, store)
    {
        tracing::warn!("the commitments were not published: {e}");
    }
    Ok(Drawn { issued, frozen })
}

/// The draw a redraw replaces: the one its input names, else the active draw now (so two
/// redraws started together record one); `None` for a first draw.
fn replaced_draw(store: &dyn DrawStore, input: &Input) -> Result<Option<i64>, DrawError> {
    if input.redraw.is_none() || input.replaces.is_some() {
        return Ok(input.replaces);
    }
    let active = store
        .active_draw(&input.matter, &input.period)
        .map_err(IssueError::Store)?;
    Ok(active.map(|d| d.id))
}

/// The database a draw is recorded in: PostgreSQL's at `database`, else the SQLite file; the
/// draw files a crash left staged are put in place (or removed) first, as [`open_store`] does.
pub(crate) fn open_draw_store(
    loaded: &Loaded,
    database: Option<&crate::store::pg::Place>,
) -> Result<Box<dyn DrawStore>, SetupError> {
    let Some(url) = database else {
        return Ok(Box::new(open_store(loaded)?));
    };
    let store = PgStore::open_at(url)?;
    let out = &loaded.model.config.output_dir;
    super::sweep::restore(out, &store);
    super::sweep::orphans(out, &store);
    Ok(Box::new(store))
}

/// The seed of the draw: the revealed value of its commitment, or the seed chosen. On a
/// database of real records nobody chooses the seed: a typed seed (`--seed`, `--seed-from`)
/// is refused there, dry run or not, and kept for simulation databases. A revealed value is
/// never previewed by a dry run.
fn seed_of(
    loaded: &Loaded,
    store: &dyn DrawStore,
    frozen: &Frozen,
    input: &Input,
) -> Result<(crate::draw::Seed, String), DrawError> {
    let simulation = store.is_simulation().map_err(IssueError::Store)?;
    let replaced = match &input.redraw {
        Some(_) => store
            .active_draw(&input.matter, &input.period)
            .map_err(IssueError::Store)?,
        None => None,
    };
    let Some(value) = &input.reveal else {
        if input.seed != SeedChoice::Os && !simulation {
            return Err(DrawError::ChosenSeed {
                matter: input.matter.clone(),
                period: input.period.clone(),
            });
        }
        if let Some(old) = &replaced
            && !simulation
            && (loaded.model.public_seeds(&input.matter)
                || crate::store::commitment_in(&old.record.seed_source).is_some())
        {
            return Err(DrawError::RedrawNeedsCommitment {
                matter: input.matter.clone(),
                period: input.period.clone(),
            });
        }
        if !input.dry_run
            && let Some(k) = super::commit::open_commitment(store, &input.matter, &input.period)
                .map_err(IssueError::Store)?
        {
            return Err(DrawError::Committed(Box::new(k)));
        }
        return resolve(&input.seed).map_err(DrawError::Seed);
    };
    if input.dry_run {
        return Err(DrawError::Seed(
            "a revealed value is used only by the draw that records it: --dry-run cannot preview it".into(),
        ));
    }
    let k = super::commit::open_commitment(store, &input.matter, &input.period)
        .map_err(IssueError::Store)?
        .ok_or_else(|| super::commit::RevealError::NoCommitment {
            matter: input.matter.clone(),
            period: input.period.clone(),
        })?;
    if let Some(old) = &replaced
        && !super::commit::later(&k.committed_at, &old.record.created_at)
    {
        return Err(DrawError::StaleCommitment {
            id: k.id,
            committed_at: k.committed_at.clone(),
            draw_id: old.id,
            drawn_at: old.record.created_at.clone(),
        });
    }
    let used = [
        (
            "target registry snapshot",
            frozen.info.targets_snapshot.as_str(),
        ),
        (
            "inspector registry snapshot",
            frozen.info.inspectors_snapshot.as_str(),
        ),
        ("rules", loaded.model.rules_hash.as_str()),
        ("algorithm", loaded.model.config.algorithm.name()),
    ];
    Ok(super::commit::reveal(&k, value, &input.now, used)?)
}
