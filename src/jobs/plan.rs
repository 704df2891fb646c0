//! The yearly plan (`suiji plan`): every dated draw of the year, with estimated counts, as
//! Markdown, HTML or DOCX.

use std::path::PathBuf;

use super::place::{PlaceError, write_file};
use super::{SetupError, load_calendar, require_year};
use crate::diag::{Diagnostic, Fault, Problem, Report};
use crate::jobs::check::Facts;
use crate::output::doc::{Format, render};
use crate::rules::Loaded;
use crate::rules::names::matter_name;

/// Which year, in which format, to where.
#[derive(Debug, Clone)]
pub struct Input {
    pub year: i32,
    /// Allow a provisional calendar for a year without an official holiday notice.
    pub provisional: bool,
    pub format: Format,
    /// Write here; by default Markdown is returned and the other formats go to
    /// `<output>/plan-YEAR.{html,docx}`.
    pub output: Option<PathBuf>,
    /// Date of issue (the 落款 and the DOCX document properties).
    pub issued: chrono::NaiveDate,
}

/// The plan, written or returned.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Where it was written, or its bytes when it was not.
    pub written: Result<PathBuf, Vec<u8>>,
    /// Matters that could not be scheduled or estimated (the others go on), and warnings.
    pub problems: Vec<Diagnostic>,
    /// The dates come from a provisional calendar (no official holiday notice).
    pub provisional: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("no draw of {year} could be scheduled")]
    NothingScheduled {
        year: i32,
        problems: Vec<Diagnostic>,
    },
    #[error("{0}")]
    Render(String),
    #[error(transparent)]
    Write(#[from] PlaceError),
}

impl Problem for PlanError {
    fn fault(&self) -> Fault {
        match self {
            PlanError::Setup(e) => e.fault(),
            PlanError::NothingScheduled { .. } => Fault::Invalid,
            _ => Fault::Failed,
        }
    }

    fn report(&self) -> Report {
        match self {
            PlanError::Setup(e) => e.report(),
            PlanError::NothingScheduled { year, problems } => Report::of(problems.clone()).closing(
                format!("no draw of {year} could be scheduled; nothing was written."),
            ),
            other => Report::error(crate::diag::chain(other), &[]),
        }
    }
}

/// Builds the year's plan: every draw with its dates, and what each matter's first regular
/// draw would take from the registry as it is now.
pub fn run(loaded: &Loaded, input: &Input) -> Result<Planned, PlanError> {
    let model = &loaded.model;
    let (bytes, problems, official) = document(loaded, input)?;
    let target = match (&input.output, input.format) {
        (Some(p), _) => Some(p.clone()),
        (None, Format::Md) => None,
        (None, f) => Some(model.config.output_dir.join(format!(
            "plan-{}.{}",
            input.year,
            f.extension()
        ))),
    };
    let written = match target {
        Some(path) => {
            write_file(&path, &bytes)?;
            Ok(path)
        }
        None => Err(bytes),
    };
    Ok(Planned {
        written,
        problems,
        provisional: !official,
    })
}

/// As [`document`], with the departments `sees` lets through (by id) only: a department's
/// staff get their department's part of the plan.
pub fn document_for(
    loaded: &Loaded,
    input: &Input,
    sees: impl Fn(&str) -> bool,
) -> Result<(Vec<u8>, Vec<Diagnostic>, bool), PlanError> {
    if loaded.model.departments.iter().all(|d| sees(&d.id)) {
        return document(loaded, input);
    }
    let mut scoped = loaded.clone();
    scoped.model.departments.retain(|d| sees(&d.id));
    document(&scoped, input)
}

/// The plan's bytes in `input.format` (nothing is written), with its problems and whether the
/// year's calendar is official; the registry read now.
pub fn document(
    loaded: &Loaded,
    input: &Input,
) -> Result<(Vec<u8>, Vec<Diagnostic>, bool), PlanError> {
    document_on(loaded, input, &Facts::default())
}

/// [`document`] on the registry as `facts` has it (read when first needed, then kept with
/// each matter's dry run): the same plan as [`document`] for the same registry files, and a
/// matter whose settings are as in a plan made before on these facts is not dry-run again.
pub fn document_on(
    loaded: &Loaded,
    input: &Input,
    facts: &Facts,
) -> Result<(Vec<u8>, Vec<Diagnostic>, bool), PlanError> {
    if loaded.model.matters().any(|m| m.retired) {
        // The plan lists the matters in force only; retired ones keep their draws elsewhere.
        let mut current = loaded.clone();
        current.model = loaded.model.in_force();
        return document_on(&current, input, facts);
    }
    let cal = load_calendar(loaded, input.provisional)?;
    let official = require_year(&cal, input.year)?;
    let model = &loaded.model;
    let (schedule, failed) = crate::schedule::year_schedule(model, &cal, input.year);
    let problem_lines: Vec<String> = failed
        .iter()
        .map(|p| format!("{}：{}", p.matter, p.error))
        .collect();
    let mut problems: Vec<Diagnostic> = problem_lines.iter().map(Diagnostic::error).collect();
    if !problems.is_empty() && schedule.is_empty() {
        return Err(PlanError::NothingScheduled {
            year: input.year,
            problems,
        });
    }
    let estimates = estimate(loaded, &schedule, facts, &mut problems);
    problems.extend(estimates.iter().filter_map(|(id, e)| {
        e.as_ref()
            .err()
            .map(|err| Diagnostic::error(format!("{id}: {err}")))
    }));
    let doc_problems: Vec<String> = failed
        .iter()
        .map(|p| format!("{}：{}", matter_name(model, &p.matter), p.error))
        .collect();
    let mut doc = crate::output::plan::build(
        model,
        &cal,
        input.year,
        &schedule,
        &doc_problems,
        &estimates,
    );
    crate::output::plan::sign(&mut doc, model, input.issued);
    let bytes = render(&doc, input.format).map_err(PlanError::Render)?;
    Ok((bytes, problems, official))
}

/// Dry-runs each matter's first regular draw of the year on the current registry (a fixed seed:
/// only the counts are used). A failing hook fails its own matter; the others go on.
fn estimate(
    loaded: &Loaded,
    schedule: &[crate::schedule::ScheduledDraw],
    facts: &Facts,
    problems: &mut Vec<Diagnostic>,
) -> crate::output::plan::Estimates {
    let frozen = match facts.frozen(loaded) {
        Ok(f) => f,
        Err(diags) => {
            problems.push(Diagnostic::warning(format!(
                "the registry has {} problem(s) (run `suiji registry check`); the plan shows no counts",
                diags.len()
            )));
            return crate::output::plan::Estimates::new();
        }
    };
    problems.extend(crate::jobs::check::fit_problems(
        loaded,
        &frozen.registry,
        facts,
    ));
    let mut out = crate::output::plan::Estimates::new();
    for m in loaded.model.matters() {
        if let Some(first) = first_regular(schedule, m) {
            out.insert(m.id.clone(), estimate_one(loaded, frozen, facts, m, first));
        }
    }
    problems.extend(empty_scopes(&out));
    out
}

/// Matter `m`'s first regular draw in `schedule`.
pub(crate) fn first_regular<'a>(
    schedule: &'a [crate::schedule::ScheduledDraw],
    m: &crate::rules::model::Matter,
) -> Option<&'a crate::schedule::ScheduledDraw> {
    schedule
        .iter()
        .find(|s| s.matter == m.id && s.kind == crate::schedule::DrawKind::Regular)
}

/// The counts of matter `m`'s draw `first`, dry-run on `frozen` (kept in `facts`).
fn estimate_one(
    loaded: &Loaded,
    frozen: &crate::jobs::issue::Frozen,
    facts: &Facts,
    m: &crate::rules::model::Matter,
    first: &crate::schedule::ScheduledDraw,
) -> Result<crate::output::plan::Estimate, String> {
    match &*facts.dry_run(loaded, frozen, m, first) {
        Ok(c) => Ok(crate::output::plan::Estimate {
            period: first.period.label_zh(),
            in_scope: c.in_scope,
            eligible: c.eligible,
            drawn: c.drawn,
        }),
        Err(e) => Err(e.clone()),
    }
}

/// A warning for each matter with targets in its categories of which none is eligible.
pub(crate) fn empty_scopes(estimates: &crate::output::plan::Estimates) -> Vec<Diagnostic> {
    estimates
        .iter()
        .filter_map(|(id, e)| {
            let e = e.as_ref().ok()?;
            (e.in_scope > 0 && e.eligible == 0).then(|| {
                Diagnostic::warning(format!(
                    "{id}: none of the {} targets in its categories is eligible ({}): its draws will draw nobody",
                    e.in_scope, e.period
                ))
                .help("check its eligible hook, cooldown and yearly cap against the registry (`suiji draw --dry-run` shows who is excluded and why)")
            })
        })
        .collect()
}

/// The matters in force (抽查事项清单) of the departments `sees` accepts, as the plan labels them.
pub fn matters(
    loaded: &Loaded,
    sees: impl Fn(&str) -> bool,
) -> Vec<crate::output::plan::MatterSheet> {
    loaded
        .model
        .matters_in_force()
        .filter(|m| sees(&m.department))
        .map(|m| crate::output::plan::matter_sheet(&loaded.model, m))
        .collect()
}
