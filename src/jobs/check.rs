//! Checking the config, every rule file and every script (`suiji check`), and then the rules
//! against what they will meet: the holiday calendar (`timing`) and the registries
//! (`columns`). Errors stop; warnings are shown and draws still run.

mod columns;
mod facts;
mod timing;

pub use facts::{DryCounts, DryRun, Facts, Keeper};

use super::{SetupError, load_calendar};
use crate::diag::Diagnostic;
use crate::rules::{LoadError, Loaded};

/// The rules as loaded: what they hold.
#[derive(Debug, Clone)]
pub struct Checked {
    pub bureau: String,
    /// Departments in order: id, name and matter ids.
    pub departments: Vec<(String, String, Vec<String>)>,
    pub matters: usize,
    /// Joint plans (联合抽查): id, name, member matter ids.
    pub joints: Vec<(String, String, Vec<String>)>,
    /// Hooks bound (eligibility, weight, conflict).
    pub hooks: usize,
    pub rules_hash: String,
    /// Problems that do not stop a draw (misspelt headers, class ratios no row uses, …).
    pub warnings: Vec<Diagnostic>,
}

/// What `plan` lists of the rules against the registry: columns a matter names that the
/// registry lacks, class ratios no row uses.
pub(crate) fn fit_problems(
    loaded: &Loaded,
    registry: &crate::registry::Registry,
    facts: &Facts,
) -> Vec<Diagnostic> {
    columns::fit(loaded, registry, facts)
}

/// Checks rules that loaded without errors (loading reports every problem; see
/// [`super::load_rules`]) against the holiday calendar and the registries (read now).
pub fn run(loaded: &Loaded) -> Result<Checked, SetupError> {
    run_on(loaded, &Facts::default())
}

/// [`run`] against the registries as `facts` has them (read when first needed, then kept):
/// the same problems at the same places as [`run`] for the same registry files.
pub fn run_on(loaded: &Loaded, facts: &Facts) -> Result<Checked, SetupError> {
    let model = &loaded.model;
    let cal = load_calendar(loaded, false)?;
    let mut diags = timing::check(loaded, &cal);
    diags.extend(columns::check(loaded, &cal, facts));
    if diags.iter().any(Diagnostic::is_error) {
        return Err(SetupError::Rules(LoadError {
            sources: loaded.sources.clone(),
            diagnostics: diags,
        }));
    }
    let hooks = model
        .matters()
        .map(|m| {
            [&m.eligible, &m.weight, &m.conflict, &m.class_hook]
                .iter()
                .filter(|h| h.is_some())
                .count()
        })
        .sum::<usize>();
    Ok(Checked {
        bureau: model.config.bureau.name.clone(),
        departments: model
            .departments
            .iter()
            .map(|d| {
                let matters = d.matters.iter().map(|m| m.id.clone()).collect();
                (d.id.clone(), d.name.clone(), matters)
            })
            .collect(),
        matters: model.departments.iter().map(|d| d.matters.len()).sum(),
        joints: model
            .joints
            .iter()
            .map(|j| {
                let members = j.joint.as_ref().map(|x| x.members.clone());
                (j.id.clone(), j.name.clone(), members.unwrap_or_default())
            })
            .collect(),
        hooks,
        rules_hash: model.rules_hash.clone(),
        warnings: diags,
    })
}
