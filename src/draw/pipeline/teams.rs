//! Teams for the drawn targets with 回避 and workload caps: `suiji-draw/1` in (stratum, rank)
//! order (`draw::team`), `suiji-draw/2` in staffing order (`draw::staffing`); the `conflict`
//! hook sees the whole target, read from the source.

use std::borrow::Cow;

use super::rows::RowSource;
use super::rules::Rules;
use super::{DrawFailure, DrawInput};
use crate::draw::manifest::{InspectorSkip, Selected};
use crate::draw::staffing::staff;
use crate::draw::team::{Team, TeamTarget, assign_teams_each};
use crate::draw::{Algorithm, Skip, TeamRules, TeamSpec};
use crate::registry::types::{Inspector, Target};
use crate::rules::model::Matter;
use crate::script::{Sandbox, inspector_map, target_map};

/// Assigns the teams of `selected` (whose rows are at `drawn_at`); returns the skips.
pub(crate) fn assign(
    source: &dyn RowSource,
    rules: &Rules<'_>,
    selected: &mut [Selected],
    drawn_at: &[u64],
    spent: u64,
) -> Result<Vec<InspectorSkip>, DrawFailure> {
    let m = rules.matter;
    let d = rules.input;
    let mut conflicts = Conflicts::new(rules, spent);
    let team_targets: Vec<TeamTarget> = selected
        .iter()
        .map(|s| TeamTarget {
            id: &s.target_id,
            name: &s.target_name,
        })
        .collect();
    let mut teams: Vec<(Vec<String>, Option<String>)> = vec![(Vec::new(), None); selected.len()];
    let mut skips = Vec::new();
    let mut cached: Option<(usize, Cow<'_, Target>)> = None;
    let mut read_error: Option<DrawFailure> = None;
    let mut conflict = |inspector: &Inspector, i: usize| -> Result<bool, String> {
        if !conflicts.active() {
            return Ok(false);
        }
        if cached.as_ref().is_none_or(|(at, _)| *at != i) {
            let got = drawn_at.get(i).map(|&p| source.targets(&[p]));
            match got {
                Some(Ok(mut t)) if t.len() == 1 => cached = t.pop().map(|t| (i, t)),
                Some(Err(e)) => {
                    read_error.get_or_insert(e);
                    return Err("the target's row could not be read again".into());
                }
                _ => return Err("the target's row could not be read again".into()),
            }
        }
        match &cached {
            Some((_, t)) => conflicts.call(inspector, t),
            None => Ok(false),
        }
    };
    let mut emit = |i: usize, outcome: Team| {
        for (inspector, skip) in outcome.skipped {
            skips.push(inspector_skip(team_targets[i].id, inspector, &skip));
        }
        if let Some(slot) = teams.get_mut(i) {
            *slot = (outcome.members, outcome.unstaffed);
        }
    };
    dispatch(d, m, &team_targets, &mut conflict, &mut emit);
    if let Some(e) = read_error {
        return Err(e);
    }
    conflicts.finish()?;
    drop(team_targets);
    for (s, (team, unstaffed)) in selected.iter_mut().zip(teams) {
        s.team = team;
        s.unstaffed = unstaffed;
    }
    Ok(skips)
}

/// Staffs `targets` with the draw's algorithm.
fn dispatch(
    d: &DrawInput<'_>,
    m: &Matter,
    team_targets: &[TeamTarget],
    conflict: &mut dyn FnMut(&Inspector, usize) -> Result<bool, String>,
    emit: &mut dyn FnMut(usize, Team),
) {
    match d.algorithm {
        Algorithm::V1 => {
            let team_rules = TeamRules {
                team_size: m.team_size,
                qualifications: &m.qualifications,
                department: &m.department,
                workload_cap: m.workload_cap,
            };
            let pool = team_pool(d.inspectors, m);
            assign_teams_each(
                &d.seed,
                &m.id,
                &d.period.id,
                team_targets,
                &pool,
                &team_rules,
                conflict,
                emit,
            );
        }
        Algorithm::V2 => {
            let mut spec = d.team.clone().unwrap_or_else(|| matter_team(m));
            // Loads carried in from the period's other draws count towards the cap (V2-16).
            for (id, n) in d.history.carried.iter().filter(|(_, n)| **n > 0) {
                let load = spec.carried.entry(id.clone()).or_default();
                *load = load.saturating_add(*n);
            }
            staff(
                &d.seed,
                &m.id,
                &d.period.id,
                team_targets,
                d.inspectors,
                &spec,
                conflict,
                emit,
            );
        }
    }
}

/// The matter's `conflict` hook as the team draw calls it: the first failure — the hook throws,
/// answers anything but true or false, or the draw's operations budget is spent — is kept and
/// fails the draw in [`Conflicts::finish`]; after it, every call reports that failure.
///
/// The team step calls the hook in one fixed order, so the operations it counts (added to what
/// the `eligible` and `weight` answers used) are the same on every run of the draw.
struct Conflicts<'a> {
    hook: Option<&'a crate::script::Hook>,
    sandbox: &'a Sandbox,
    spent: u64,
    budget: u64,
    over_budget: DrawFailure,
    error: Option<DrawFailure>,
}

impl<'a> Conflicts<'a> {
    fn new(rules: &Rules<'a>, spent: u64) -> Conflicts<'a> {
        Conflicts {
            hook: rules.matter.conflict.as_ref(),
            sandbox: rules.sandbox,
            spent,
            budget: rules.budget(),
            over_budget: rules.over_budget(),
            error: None,
        }
    }

    /// Whether the matter has a conflict hook at all.
    fn active(&self) -> bool {
        self.hook.is_some()
    }

    fn call(&mut self, i: &Inspector, t: &Target) -> Result<bool, String> {
        let Some(hook) = self.hook else {
            return Ok(false);
        };
        if let Some(e) = &self.error {
            return Err(e.to_string());
        }
        let answer = self.sandbox.call(hook, inspector_map(i), target_map(t));
        self.spent = self.spent.saturating_add(crate::script::last_operations());
        let failure = match answer {
            _ if self.spent > self.budget => self.over_budget.clone(),
            Ok(v) => match v.as_bool() {
                Ok(conflict) => return Ok(conflict),
                // Any answer but true or false fails the draw, as for `eligible` and `weight`.
                Err(got) => DrawFailure::HookType {
                    hook: hook.function.clone(),
                    target: t.id.clone(),
                    got: got.to_string(),
                    want: "true or false",
                },
            },
            Err(e) => DrawFailure::Hook(e),
        };
        let text = failure.to_string();
        self.error = Some(failure);
        Err(text)
    }

    /// Fails the draw if the hook failed.
    fn finish(self) -> Result<(), DrawFailure> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// A regular matter's team in `suiji-draw/2`: its department, every member holding its
/// qualifications, nothing to cover together.
pub(crate) fn matter_team(m: &Matter) -> TeamSpec {
    TeamSpec {
        team_size: m.team_size,
        each: m.qualifications.clone(),
        cover: Vec::new(),
        departments: vec![m.department.clone()],
        each_department: false,
        workload_cap: m.workload_cap,
        carried: Default::default(),
    }
}

/// Only the department's active, qualified inspectors can serve; others are not listed as skips.
fn team_pool(inspectors: &[Inspector], m: &Matter) -> Vec<Inspector> {
    inspectors
        .iter()
        .filter(|i| {
            i.active
                && i.department == m.department
                && m.qualifications
                    .iter()
                    .all(|q| i.qualifications.contains(q))
        })
        .cloned()
        .collect()
}

/// The manifest's record of an inspector passed over for a target.
fn inspector_skip(target_id: &str, inspector: String, skip: &Skip) -> InspectorSkip {
    let detail = match skip {
        Skip::DeclaredConflict { entry } => format!("申报回避：{entry}"),
        Skip::HookConflict { error: Some(e) } => format!("回避脚本出错：{e}"),
        Skip::Unqualified { missing } => format!("缺少资格：{}", missing.join("、")),
        Skip::AtCapacity { load } => format!("本期已承担 {load} 户"),
        other => other.label().to_string(),
    };
    InspectorSkip {
        target_id: target_id.to_string(),
        inspector_id: inspector,
        reason: skip_code(skip).into(),
        detail,
    }
}

fn skip_code(s: &Skip) -> &'static str {
    match s {
        Skip::AlreadyInTeam => "duplicate",
        Skip::Inactive => "inactive",
        Skip::OtherDepartment => "other_department",
        Skip::Unqualified { .. } => "unqualified",
        Skip::DeclaredConflict { .. } => "declared_conflict",
        Skip::HookConflict { .. } => "hook_conflict",
        Skip::AtCapacity { .. } => "workload_cap",
    }
}

/// A draw's selection with its teams, and the inspectors skipped for 回避.
pub(super) type Staffed = (Vec<Selected>, Vec<InspectorSkip>);

/// The teams of a draw's selection staffed on a thread of their own ([`assign`]), while the
/// public bundle's frame, which names no team, is read again and written: the bundle waits
/// for them only where it states the selection, at its end.
pub(super) struct Staffing {
    state: std::sync::Mutex<StaffingState>,
    ready: std::sync::Condvar,
}

enum StaffingState {
    /// Not begun: the selection to staff.
    Waiting(Vec<Selected>),
    Running,
    Done(Result<Staffed, DrawFailure>),
    Taken,
}

impl Staffing {
    pub(super) fn new(selected: Vec<Selected>) -> Staffing {
        Staffing {
            state: std::sync::Mutex::new(StaffingState::Waiting(selected)),
            ready: std::sync::Condvar::new(),
        }
    }

    /// Staffs the selection on a thread of `scope` (here, if that thread cannot start).
    pub(super) fn start<'scope>(
        &'scope self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        (source, rules): (&'scope dyn RowSource, &'scope Rules<'_>),
        drawn_at: &'scope [u64],
        spent: u64,
    ) {
        let staff = move || self.staff(source, rules, drawn_at, spent);
        // Named, so that a profile or `top -H` tells the teams from the bundle.
        let spawned = std::thread::Builder::new()
            .name("suiji-teams".into())
            .spawn_scoped(scope, staff);
        if spawned.is_err() {
            self.staff(source, rules, drawn_at, spent);
        }
    }

    fn staff(&self, source: &dyn RowSource, rules: &Rules<'_>, drawn_at: &[u64], spent: u64) {
        let taken = match self.lock() {
            Some(mut state) => match std::mem::replace(&mut *state, StaffingState::Running) {
                StaffingState::Waiting(selected) => Some(selected),
                other => {
                    *state = other;
                    None
                }
            },
            None => None,
        };
        let Some(mut selected) = taken else {
            return;
        };
        // Said done even if the staffing stops unexpectedly, so that no one waits for ever.
        let unfinished = Unfinished(self);
        let done = assign(source, rules, &mut selected, drawn_at, spent).map(|s| (selected, s));
        std::mem::forget(unfinished);
        self.finish(done);
    }

    fn finish(&self, done: Result<Staffed, DrawFailure>) {
        if let Some(mut state) = self.lock() {
            *state = StaffingState::Done(done);
        }
        self.ready.notify_all();
    }

    fn lock(&self) -> Option<std::sync::MutexGuard<'_, StaffingState>> {
        self.state.lock().ok()
    }

    /// Waits for the teams; `with` is given the staffed selection, or why it failed.
    pub(super) fn with_selected<T>(
        &self,
        with: impl FnOnce(Result<&[Selected], &DrawFailure>) -> T,
    ) -> T {
        let stopped = stopped();
        let Some(mut state) = self.lock() else {
            return with(Err(&stopped));
        };
        while matches!(*state, StaffingState::Waiting(_) | StaffingState::Running) {
            state = match self.ready.wait(state) {
                Ok(state) => state,
                Err(_) => return with(Err(&stopped)),
            };
        }
        match &*state {
            StaffingState::Done(Ok((selected, _))) => with(Ok(selected)),
            StaffingState::Done(Err(e)) => with(Err(e)),
            _ => with(Err(&stopped)),
        }
    }

    /// Waits for the teams and takes them (`None` once they were taken).
    pub(super) fn take(&self) -> Result<Option<Staffed>, DrawFailure> {
        self.with_selected(|_| ());
        let mut state = self.lock().ok_or_else(stopped)?;
        match std::mem::replace(&mut *state, StaffingState::Taken) {
            StaffingState::Done(done) => done.map(Some),
            StaffingState::Taken => Ok(None),
            _ => Err(stopped()),
        }
    }
}

/// Says a staffing done, and failed, when it goes before it was forgotten.
struct Unfinished<'a>(&'a Staffing);

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        self.0.finish(Err(stopped()));
    }
}

/// Why the teams are missing when their staffing ended without saying how.
fn stopped() -> DrawFailure {
    DrawFailure::Io("the teams' staffing stopped unexpectedly".into())
}
