//! Changes after a draw (docs/draw-algorithm.md V2-13): which target replaces a drawn one found
//! closed, moved or outside the scope (替补: its stratum's next unused substitute, in rank
//! order), and which inspector replaces a team member who is ill or transferred (人员调整: the
//! next eligible inspector in the target's ranking). Pure: the changes are replayed over the
//! manifest in the order they were made, so `verify` checks each one exactly as it was decided.

use std::collections::{BTreeMap, BTreeSet};

use super::manifest::{Manifest, Substitute};
use super::{Purpose, Ranker, Seed, TeamSpec};
use crate::registry::avoid::names_target;
use crate::registry::types::Inspector;

/// What a change replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A drawn target, by its stratum's next substitute (or marked without one).
    Target,
    /// A team member, by the next eligible inspector.
    Inspector,
}

/// One change, as the draw's replay reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: Kind,
    pub target_id: String,
    /// The member replaced (inspector changes).
    pub inspector_id: Option<String>,
    /// The substitute or inspector taking the place; `None`: marked without replacement.
    pub replacement: Option<String>,
    /// The inspector is unavailable for the whole draw (ill, transferred), not only for this
    /// target (a 回避 found later).
    pub whole_draw: bool,
}

impl Step {
    /// A change as it was recorded: `kind` `inspector` or `target`, its `cause` (`conflict`
    /// takes the inspector off this target only, any other off the whole draw).
    pub fn recorded(
        kind: &str,
        cause: &str,
        target_id: &str,
        inspector_id: Option<&str>,
        replacement: Option<&str>,
    ) -> Step {
        Step {
            kind: if kind == "inspector" {
                Kind::Inspector
            } else {
                Kind::Target
            },
            target_id: target_id.to_string(),
            inspector_id: inspector_id.map(str::to_string),
            replacement: replacement.map(str::to_string),
            whole_draw: cause != "conflict",
        }
    }

    /// The step the change `c` recorded.
    pub fn of_change(c: &crate::store::DrawChange) -> Step {
        Step::recorded(
            &c.kind,
            &c.cause,
            &c.target_id,
            c.inspector_id.as_deref(),
            c.replacement.as_deref(),
        )
    }
}

/// Why a change cannot be made (or, replayed, was not the one the rules give).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("target {0} is not in this draw (neither drawn nor among its substitutes)")]
    UnknownTarget(String),
    #[error("target {0} was not drawn: it is a substitute not taken in")]
    NotDrawn(String),
    #[error("target {target} was already replaced ({by})")]
    AlreadyReplaced { target: String, by: String },
    #[error("stratum {stratum:?} has no substitute left: the manifest lists {listed}, all used")]
    NoSubstituteLeft { stratum: String, listed: usize },
    #[error(
        "this draw records no substitutes ({0} lists none; substitutes came with suiji-draw/2)"
    )]
    NoSubstitutes(String),
    #[error(
        "the next substitute of stratum {stratum:?} in rank order is {want} (rank {rank}), not {got}"
    )]
    WrongOrder {
        stratum: String,
        want: String,
        rank: u32,
        got: String,
    },
    #[error("target {0} has no team (it was left unstaffed)")]
    Unstaffed(String),
    #[error("inspector {inspector} is not on the team of {target}")]
    NotOnTeam { inspector: String, target: String },
    #[error("no eligible inspector is left to replace {inspector} at {target}")]
    NoInspector { inspector: String, target: String },
    #[error("the next eligible inspector for {target} is {want}, not {got}")]
    WrongInspector {
        target: String,
        want: String,
        got: String,
    },
    #[error("the conflict hook failed: {0}")]
    Hook(String),
}

/// A target to visit after the changes so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub target_id: String,
    pub stratum: String,
    pub team: Vec<String>,
    /// The drawn target this substitute stands in for.
    pub replaces: Option<String>,
    /// `None` while the visit stands; `Some(by)` once replaced (`by` the substitute, or `None`
    /// when marked out of scope without one).
    pub replaced: Option<Option<String>>,
}

/// A draw as its changes have left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub visits: Vec<Visit>,
    /// Substitutes taken in, by target id.
    used: BTreeSet<String>,
    /// Inspectors unavailable for the whole draw.
    unavailable: BTreeSet<String>,
    /// Inspectors taken off one target (target id → inspector ids).
    removed: BTreeMap<String, BTreeSet<String>>,
}

impl State {
    /// The draw as recorded, before any change.
    pub fn new(m: &Manifest) -> State {
        State {
            visits: m
                .selected
                .iter()
                .map(|s| Visit {
                    target_id: s.target_id.clone(),
                    stratum: s.stratum.clone(),
                    team: s.team.clone(),
                    replaces: None,
                    replaced: None,
                })
                .collect(),
            used: BTreeSet::new(),
            unavailable: BTreeSet::new(),
            removed: BTreeMap::new(),
        }
    }

    /// The draw `m` as the recorded `steps` left it, each replacement taken as it was recorded
    /// (whether each was the one the rules give is `verify`'s to check); when a step cannot be
    /// replayed at all, the draw as the steps before it left it, with that step's place and why.
    pub fn replayed<'s>(
        m: &Manifest,
        steps: impl IntoIterator<Item = &'s Step>,
    ) -> (State, Option<(usize, Refusal)>) {
        let mut state = State::new(m);
        for (n, step) in steps.into_iter().enumerate() {
            let given = step.replacement.clone().unwrap_or_default();
            if let Err(refusal) = state.apply(m, step, &mut |_, _, _| Ok(given.clone())) {
                return (state, Some((n, refusal)));
            }
        }
        (state, None)
    }

    /// The visit of `target` that stands, or why there is none to change.
    fn standing(&self, m: &Manifest, target: &str) -> Result<usize, Refusal> {
        let found = self.visits.iter().rposition(|v| v.target_id == target);
        match found {
            Some(i) => match &self.visits[i].replaced {
                None => Ok(i),
                Some(by) => Err(Refusal::AlreadyReplaced {
                    target: target.to_string(),
                    by: by.clone().unwrap_or_else(|| "marked out of scope".into()),
                }),
            },
            None if substitutes(m).iter().any(|s| s.target_id == target) => {
                Err(Refusal::NotDrawn(target.to_string()))
            }
            None => Err(Refusal::UnknownTarget(target.to_string())),
        }
    }

    /// The substitute that replaces `target` now: its stratum's first substitute, in rank
    /// order, not taken in yet.
    pub fn next_substitute<'m>(
        &self,
        m: &'m Manifest,
        target: &str,
    ) -> Result<&'m Substitute, Refusal> {
        let i = self.standing(m, target)?;
        if m.substitutes.is_none() {
            return Err(Refusal::NoSubstitutes(m.format.clone()));
        }
        let stratum = &self.visits[i].stratum;
        let listed: Vec<&Substitute> = substitutes(m)
            .iter()
            .filter(|s| &s.stratum == stratum)
            .collect();
        let mut order = listed.clone();
        order.sort_by_key(|s| s.rank);
        order
            .into_iter()
            .find(|s| !self.used.contains(&s.target_id))
            .ok_or(Refusal::NoSubstituteLeft {
                stratum: stratum.clone(),
                listed: listed.len(),
            })
    }

    /// Replaces `target` by `substitute` (the caller checked it is the next one), or marks it
    /// out of scope (`None`). The substitute takes over the team.
    fn replace_target(&mut self, i: usize, substitute: Option<&Substitute>) {
        let team = self.visits[i].team.clone();
        let replaced = self.visits[i].target_id.clone();
        self.visits[i].replaced = Some(substitute.map(|s| s.target_id.clone()));
        if let Some(s) = substitute {
            self.used.insert(s.target_id.clone());
            self.visits.push(Visit {
                target_id: s.target_id.clone(),
                stratum: s.stratum.clone(),
                team,
                replaces: Some(replaced),
                replaced: None,
            });
        }
    }

    /// Applies one change, checking that its replacement is the one the rules give: the next
    /// substitute for a target, `next_inspector` for a member.
    pub fn apply(
        &mut self,
        m: &Manifest,
        step: &Step,
        next_inspector: &mut dyn FnMut(&State, usize, &str) -> Result<String, Refusal>,
    ) -> Result<(), Refusal> {
        let i = self.standing(m, &step.target_id)?;
        match step.kind {
            Kind::Target => {
                let Some(got) = &step.replacement else {
                    self.replace_target(i, None);
                    return Ok(());
                };
                let want = self.next_substitute(m, &step.target_id)?;
                if &want.target_id != got {
                    return Err(Refusal::WrongOrder {
                        stratum: want.stratum.clone(),
                        want: want.target_id.clone(),
                        rank: want.rank,
                        got: got.clone(),
                    });
                }
                self.replace_target(i, Some(want));
                Ok(())
            }
            Kind::Inspector => self.apply_inspector(i, step, next_inspector),
        }
    }

    fn apply_inspector(
        &mut self,
        i: usize,
        step: &Step,
        next_inspector: &mut dyn FnMut(&State, usize, &str) -> Result<String, Refusal>,
    ) -> Result<(), Refusal> {
        let out = step.inspector_id.clone().unwrap_or_default();
        let target = step.target_id.clone();
        let Some(place) = self.member_place(i, &out)? else {
            return Err(Refusal::NotOnTeam {
                inspector: out,
                target,
            });
        };
        let want = next_inspector(self, i, &out)?;
        if let Some(got) = &step.replacement
            && got != &want
        {
            return Err(Refusal::WrongInspector {
                target,
                want,
                got: got.clone(),
            });
        }
        self.visits[i].team[place] = want;
        if step.whole_draw {
            self.unavailable.insert(out.clone());
        }
        self.removed.entry(target).or_default().insert(out);
        Ok(())
    }

    /// Where `inspector` is on visit `i`'s team.
    fn member_place(&self, i: usize, inspector: &str) -> Result<Option<usize>, Refusal> {
        let v = &self.visits[i];
        if v.team.is_empty() {
            return Err(Refusal::Unstaffed(v.target_id.clone()));
        }
        Ok(v.team.iter().position(|x| x == inspector))
    }

    /// How many standing visits each inspector is on.
    pub fn loads(&self) -> BTreeMap<&str, u32> {
        let mut out: BTreeMap<&str, u32> = BTreeMap::new();
        for v in self.visits.iter().filter(|v| v.replaced.is_none()) {
            for x in &v.team {
                *out.entry(x.as_str()).or_default() += 1;
            }
        }
        out
    }

    /// The standing visits.
    pub fn standing_visits(&self) -> impl Iterator<Item = &Visit> {
        self.visits.iter().filter(|v| v.replaced.is_none())
    }
}

fn substitutes(m: &Manifest) -> &[Substitute] {
    m.substitutes.as_deref().unwrap_or(&[])
}

/// What the next eligible inspector must be: the draw's team rules and its inspectors.
pub struct Eligibility<'a> {
    pub spec: &'a TeamSpec,
    pub inspectors: &'a [Inspector],
    /// `suiji-draw/1` matches declared conflicts as substrings of the name (§8), version 2
    /// exactly or with `*` (V2-5).
    pub version_1: bool,
    /// The loads of the period's other draws as they stood when the change was recorded
    /// (change rule 2, docs/draw-algorithm.md V2-16 item 5), counted in place of the manifest's
    /// `carried_loads`; `None`: the manifest's `carried_loads` (rule 1, and version 1's none).
    pub others: Option<&'a BTreeMap<String, u32>>,
}

impl Eligibility<'_> {
    /// The inspector who replaces `out` on visit `i` (target `target_name`): the first, in the
    /// target's ranking (purpose `team`, the draw's version, seed, matter and period, stratum =
    /// the target's id; ties by id), who is active, of one of the departments, holds every
    /// qualification each member must hold, is not on the team, was not taken off this target
    /// nor made unavailable for the draw, has no declared or hook 回避 with the target, is below
    /// the workload cap counting the standing visits and the loads of the period's other draws
    /// ([`Eligibility::others`], else the manifest's `carried_loads`), and with whom the team
    /// still covers every need (qualifications together, one member per department).
    pub fn next(
        &self,
        (m, state, i): (&Manifest, &State, usize),
        out: &str,
        target_name: &str,
        conflict: &mut dyn FnMut(&Inspector) -> Result<bool, String>,
    ) -> Result<String, Refusal> {
        let v = &state.visits[i];
        let seed = Seed::from_hex(&m.seed).map_err(|e| Refusal::Hook(e.to_string()))?;
        let ranker = Ranker::versioned(
            &m.algorithm,
            &seed,
            &m.matter,
            &m.period.id,
            &v.target_id,
            Purpose::Team,
        );
        let mut ranked: Vec<([u8; 32], &Inspector)> = self
            .inspectors
            .iter()
            .map(|x| (ranker.key(&x.id), x))
            .collect();
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let loads = state.loads();
        let load_of = |x: &Inspector| loads.get(x.id.as_str()).copied().unwrap_or(0);
        // The loads of the period's other draws count too (V2-16): as they stood when the change
        // was recorded (rule 2), or as the draw carried them in (rule 1).
        let carried_of = |x: &Inspector| match self.others {
            Some(others) => others.get(&x.id).copied().unwrap_or(0),
            None => m
                .carried_loads
                .iter()
                .flatten()
                .find(|c| c.inspector_id == x.id)
                .map_or(0, |c| c.load),
        };
        let removed = state.removed.get(&v.target_id);
        let rest: Vec<&Inspector> = v
            .team
            .iter()
            .filter(|x| x.as_str() != out)
            .filter_map(|x| self.inspectors.iter().find(|i| &i.id == x))
            .collect();
        for (_, x) in ranked {
            let taken_off = removed.is_some_and(|r| r.contains(&x.id));
            if x.id == out
                || v.team.contains(&x.id)
                || taken_off
                || state.unavailable.contains(&x.id)
                || !self.in_pool(x)
                || load_of(x).saturating_add(carried_of(x)) >= self.spec.workload_cap
                || !self.covers(&rest, x)
                || self.declares(x, &v.target_id, target_name)
            {
                continue;
            }
            if conflict(x).map_err(Refusal::Hook)? {
                continue;
            }
            return Ok(x.id.clone());
        }
        Err(Refusal::NoInspector {
            inspector: out.to_string(),
            target: v.target_id.clone(),
        })
    }

    fn in_pool(&self, x: &Inspector) -> bool {
        x.active
            && self.spec.departments.contains(&x.department)
            && self.spec.each.iter().all(|q| x.qualifications.contains(q))
    }

    /// Whether the team `rest` plus `x` meets every need.
    fn covers(&self, rest: &[&Inspector], x: &Inspector) -> bool {
        let team = || rest.iter().copied().chain(std::iter::once(x));
        let quals = self
            .spec
            .cover
            .iter()
            .all(|q| team().any(|i| i.qualifications.contains(q)));
        let depts = !self.spec.each_department
            || self
                .spec
                .departments
                .iter()
                .all(|d| team().any(|i| &i.department == d));
        quals && depts
    }

    /// Whether one of `x`'s declared conflicts names the target (`id`, `name`).
    pub fn declares(&self, x: &Inspector, id: &str, name: &str) -> bool {
        x.conflicts.iter().any(|entry| {
            let e = entry.trim();
            if e.is_empty() {
                return false;
            }
            if self.version_1 {
                e == id || e == name || name.contains(e)
            } else {
                names_target(e, id, name)
            }
        })
    }
}
