//! Inspector teams for drawn targets, with conflict-of-interest avoidance (回避) and workload caps.
//!
//! For each target, in the order given (the draw's rank order), the inspectors are ranked by
//! `Ranker(seed, matter, period, stratum = target id, Purpose::Team)` over their ids and walked
//! in rank order; the first `team_size` who pass every check form the team. Everyone passed
//! over before the team is complete is recorded with the first check they failed, so the
//! substitution ("next rank") is deterministic and logged.

use std::collections::HashMap;

use rayon::prelude::*;

use super::select::{Place, draw_order};
use super::{PARALLEL_THRESHOLD, Purpose, Ranker, Seed, Unit};
use crate::registry::types::{Inspector, Target};

/// What a team needs (from the matter).
#[derive(Debug, Clone, Copy)]
pub struct TeamRules<'a> {
    pub team_size: u32,
    /// Every member must hold all of these.
    pub qualifications: &'a [String],
    /// Members must belong to this department (exact match with `Inspector::department`).
    pub department: &'a str,
    /// Most targets one inspector gets in this call (one period); 0 means nobody is available.
    pub workload_cap: u32,
}

/// Why an inspector was passed over for a target. Checked in this order; the first that applies
/// is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// An inspector with the same id is already in this team (duplicate registry row).
    AlreadyInTeam,
    Inactive,
    OtherDepartment,
    Unqualified {
        missing: Vec<String>,
    },
    /// One of the inspector's declared conflicts (this entry) names the target.
    DeclaredConflict {
        entry: String,
    },
    /// The rule's conflict hook said so, or failed (`error`: its message); a failure counts as a
    /// conflict.
    HookConflict {
        error: Option<String>,
    },
    /// Already given `load` targets in this call, the workload cap.
    AtCapacity {
        load: u32,
    },
}

impl Skip {
    /// Short label for logs and notices.
    pub fn label(&self) -> &'static str {
        match self {
            Skip::AlreadyInTeam => "listed twice",
            Skip::Inactive => "inactive",
            Skip::OtherDepartment => "in another department",
            Skip::Unqualified { .. } => "without a required qualification",
            Skip::DeclaredConflict { .. } | Skip::HookConflict { .. } => "回避",
            Skip::AtCapacity { .. } => "at workload cap",
        }
    }
}

/// The team for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamOutcome {
    pub target_id: String,
    /// Inspector ids in pick order; empty when unstaffed, otherwise exactly `team_size` long.
    pub members: Vec<String>,
    /// Inspectors passed over, in rank order, with the reason.
    pub skipped: Vec<(String, Skip)>,
    /// Why nobody was assigned, e.g. "only 1 eligible inspector (need 2): 1 回避, 3 at workload cap".
    pub unstaffed: Option<String>,
}

fn declared_conflict<'a>(inspector: &'a Inspector, target: &TeamTarget) -> Option<&'a String> {
    inspector.conflicts.iter().find(|entry| {
        let e = entry.trim();
        !e.is_empty() && (e == target.id || e == target.name || target.name.contains(e))
    })
}

fn missing_qualifications(inspector: &Inspector, required: &[String]) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for q in required {
        if !inspector.qualifications.contains(q) && !missing.contains(q) {
            missing.push(q.clone());
        }
    }
    missing
}

fn unstaffed_reason(eligible: usize, team_size: u32, skipped: &[(String, Skip)]) -> String {
    let head = match eligible {
        0 => "no eligible inspector".to_string(),
        1 => "only 1 eligible inspector".to_string(),
        n => format!("only {n} eligible inspectors"),
    };
    let order = [
        "listed twice",
        "inactive",
        "in another department",
        "without a required qualification",
        "回避",
        "at workload cap",
    ];
    let counts: Vec<String> = order
        .iter()
        .filter_map(|label| {
            let n = skipped.iter().filter(|(_, s)| s.label() == *label).count();
            (n > 0).then(|| format!("{n} {label}"))
        })
        .collect();
    let tail = if counts.is_empty() {
        "no other inspector in the registry".to_string()
    } else {
        counts.join(", ")
    };
    format!("{head} (need {team_size}): {tail}")
}

/// What team assignment reads of a target: its id (which names the ranking) and its name (for
/// declared conflicts).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TeamTarget<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// For each drawn target in rank order: ranks the inspectors by
/// `Ranker(seed, matter, period, target_id, Purpose::Team)` key over inspector ids, walks them in
/// rank order, skips (and records) anyone already in the team / inactive / in another department
/// / missing a qualification / with a declared conflict (a `conflicts` entry, trimmed and
/// non-empty, equal to the target's id or name or contained in its name) / with a hook conflict
/// / at the workload cap, and takes `team_size`. With fewer available, assigns nobody and
/// reports `unstaffed` with the counts by reason (never a team smaller than `team_size`).
/// `conflict_hook` returns Ok(true) when the inspector must be avoided; an Err counts as a
/// conflict and is recorded with its text. The hook is only called for inspectors who passed
/// the checks before it. Workloads start at 0 and are shared by all targets of the call; only
/// staffed teams count.
pub fn assign_teams(
    seed: &Seed,
    matter: &str,
    period: &str,
    targets: &[&Target],
    inspectors: &[Inspector],
    rules: &TeamRules,
    conflict_hook: &mut dyn FnMut(&Inspector, &Target) -> Result<bool, String>,
) -> Vec<TeamOutcome> {
    let team_targets: Vec<TeamTarget> = targets
        .iter()
        .map(|t| TeamTarget {
            id: &t.id,
            name: &t.name,
        })
        .collect();
    let mut out = Vec::with_capacity(targets.len());
    assign_teams_each(
        seed,
        matter,
        period,
        &team_targets,
        inspectors,
        rules,
        &mut |inspector, i| conflict_hook(inspector, targets[i]),
        &mut |i, team| {
            out.push(TeamOutcome {
                target_id: targets[i].id.clone(),
                members: team.members,
                skipped: team.skipped,
                unstaffed: team.unstaffed,
            })
        },
    );
    out
}

/// A [`TeamOutcome`] without the target's id (the caller knows it by position).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Team {
    pub members: Vec<String>,
    pub skipped: Vec<(String, Skip)>,
    pub unstaffed: Option<String>,
}

/// Targets whose inspector rankings are computed together (in parallel) before their teams are
/// picked one after the other.
const TEAM_BATCH: usize = 2048;

/// With at most this many inspectors every target's ranking is sorted in full; with more, only
/// the first `team_size + PREFIX_SLACK` are sorted, and the rest only if the walk gets there.
const FULL_SORT_MAX: usize = 128;
const PREFIX_SLACK: usize = 16;

/// One target's inspectors in rank order: all of them, or a sorted prefix (`complete` false).
struct TeamOrder {
    order: Vec<u32>,
    complete: bool,
}

/// Buffers reused from one target's ranking to the next.
#[derive(Default)]
struct Scratch {
    order: Vec<(u64, u32)>,
}

fn team_order(ranker: &Ranker, units: &[Unit], prefix: usize, scratch: &mut Scratch) -> TeamOrder {
    // By key (first 8 bytes, then all 32), then id bytes, then position: `by_key`'s order.
    // Whole keys are computed only when the first 8 bytes tie.
    let order = &mut scratch.order;
    order.clear();
    order.extend(units.iter().enumerate().map(|(i, u)| {
        (
            ranker.head_of_bytes(u.id.as_bytes()),
            u32::try_from(i).unwrap_or(u32::MAX),
        )
    }));
    let id = |i: u32| units.get(i as usize).map_or("", |u| u.id);
    let place = |&(_, i): &(u64, u32)| Place {
        certain: false,
        q: 0.0,
        key: ranker.key(id(i)),
        id: id(i).as_bytes(),
        position: u64::from(i),
    };
    let cmp = |a: &(u64, u32), b: &(u64, u32)| {
        a.0.cmp(&b.0).then_with(|| draw_order(&place(a), &place(b)))
    };
    let complete = order.len() <= FULL_SORT_MAX || order.len() <= prefix;
    let take = if complete {
        order.sort_unstable_by(cmp);
        order.len()
    } else {
        order.select_nth_unstable_by(prefix - 1, cmp);
        order[..prefix].sort_unstable_by(cmp);
        prefix
    };
    TeamOrder {
        order: order[..take].iter().map(|&(_, i)| i).collect(),
        complete,
    }
}

/// [`assign_teams`] for targets given by id and name, passing each outcome to `emit` (with the
/// target's position) as soon as it is decided instead of collecting them. `conflict_hook`
/// gets the target's position. The result is exactly that of [`assign_teams`]; the rankings
/// (one hash per inspector per target, the bulk of the work) are computed in parallel batches,
/// the next batch while this thread walks the current one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn assign_teams_each(
    seed: &Seed,
    matter: &str,
    period: &str,
    targets: &[TeamTarget],
    inspectors: &[Inspector],
    rules: &TeamRules,
    conflict_hook: &mut dyn FnMut(&Inspector, usize) -> Result<bool, String>,
    emit: &mut dyn FnMut(usize, Team),
) {
    let mut staffing = Staffing::new(inspectors, rules);
    let team_size = staffing.team_size;
    let units: Vec<Unit> = inspectors.iter().map(|i| Unit::new(&i.id)).collect();
    let prefix = team_size.saturating_add(PREFIX_SLACK).max(1);
    let ranker = |t: &TeamTarget| Ranker::new(seed, matter, period, t.id, Purpose::Team);
    let rank =
        |scratch: &mut Scratch, t: &TeamTarget| team_order(&ranker(t), &units, prefix, scratch);
    let rank_batch = |batch: &[TeamTarget]| -> Vec<TeamOrder> {
        if team_size == 0 {
            Vec::new()
        } else if batch.len() > 1 && units.len().saturating_mul(batch.len()) >= PARALLEL_THRESHOLD {
            batch.par_iter().map_init(Scratch::default, rank).collect()
        } else {
            let mut scratch = Scratch::default();
            batch.iter().map(|t| rank(&mut scratch, t)).collect()
        }
    };
    // Walks one batch's targets in order (the workloads carry over between batches).
    let mut walk = |b: usize, batch: &[TeamTarget], orders: &[TeamOrder]| {
        for (j, target) in batch.iter().enumerate() {
            let position = b * TEAM_BATCH + j;
            let full = || team_order(&ranker(target), &units, usize::MAX, &mut Scratch::default());
            let walked = orders.get(j).map(|first| Walk {
                first,
                full: &full,
                target,
                position,
            });
            let team = staffing.team(walked, conflict_hook);
            emit(position, team);
        }
    };
    let batches: Vec<&[TeamTarget]> = targets.chunks(TEAM_BATCH).collect();
    let mut next: Option<Vec<TeamOrder>> = batches.first().map(|b| rank_batch(b));
    for (b, batch) in batches.iter().enumerate() {
        let orders = next.take().unwrap_or_default();
        let mut upcoming: Option<Vec<TeamOrder>> = None;
        rayon::in_place_scope(|scope| {
            if let Some(following) = batches.get(b + 1) {
                let slot = &mut upcoming;
                let rank_batch = &rank_batch;
                scope.spawn(move |_| *slot = Some(rank_batch(following)));
            }
            walk(b, batch, &orders);
        });
        next = upcoming;
    }
}

/// One target's inspectors to walk: its ranking (a sorted prefix, and the whole ranking
/// on demand), the target and its position.
struct Walk<'a> {
    first: &'a TeamOrder,
    full: &'a dyn Fn() -> TeamOrder,
    target: &'a TeamTarget<'a>,
    position: usize,
}

/// The inspectors and what the walk keeps between targets: workloads per inspector id (rows
/// sharing an id share one, kept by the position of the id's first row) and the checks that
/// depend only on the inspector, made once.
struct Staffing<'a> {
    inspectors: &'a [Inspector],
    rules: &'a TeamRules<'a>,
    team_size: usize,
    owner: Vec<usize>,
    load: Vec<u32>,
    fixed: Vec<Option<Skip>>,
}

impl<'a> Staffing<'a> {
    fn new(inspectors: &'a [Inspector], rules: &'a TeamRules<'a>) -> Staffing<'a> {
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        let owner: Vec<usize> = inspectors
            .iter()
            .enumerate()
            .map(|(i, x)| *first_of.entry(x.id.as_str()).or_insert(i))
            .collect();
        let fixed: Vec<Option<Skip>> = inspectors
            .iter()
            .map(|inspector| {
                if !inspector.active {
                    Some(Skip::Inactive)
                } else if inspector.department != rules.department {
                    Some(Skip::OtherDepartment)
                } else {
                    let missing = missing_qualifications(inspector, rules.qualifications);
                    (!missing.is_empty()).then_some(Skip::Unqualified { missing })
                }
            })
            .collect();
        Staffing {
            inspectors,
            rules,
            team_size: usize::try_from(rules.team_size).unwrap_or(usize::MAX),
            owner,
            load: vec![0; inspectors.len()],
            fixed,
        }
    }

    /// Walks a target's inspectors in rank order and takes the team (or none).
    fn team(
        &mut self,
        walk: Option<Walk<'_>>,
        conflict_hook: &mut dyn FnMut(&Inspector, usize) -> Result<bool, String>,
    ) -> Team {
        let mut members: Vec<usize> = Vec::with_capacity(self.team_size.min(16));
        let mut skipped: Vec<(String, Skip)> = Vec::new();
        if let Some(w) = walk {
            let mut full: Option<TeamOrder> = None;
            let mut at = 0usize;
            while members.len() < self.team_size {
                let next = match w.first.order.get(at) {
                    Some(&i) => Some(i),
                    None if w.first.complete => None,
                    None => full.get_or_insert_with(w.full).order.get(at).copied(),
                };
                let Some(index) = next else { break };
                at += 1;
                let index = index as usize;
                let Some(inspector) = self.inspectors.get(index) else {
                    continue;
                };
                match self.skip(&members, w.target, index, w.position, conflict_hook) {
                    Some(s) => skipped.push((inspector.id.clone(), s)),
                    None => members.push(index),
                }
            }
        }
        self.staff(members, skipped)
    }

    /// Why inspector `index` cannot join `members` on `target`, if they cannot.
    fn skip(
        &self,
        members: &[usize],
        target: &TeamTarget,
        index: usize,
        position: usize,
        conflict_hook: &mut dyn FnMut(&Inspector, usize) -> Result<bool, String>,
    ) -> Option<Skip> {
        let inspector = self.inspectors.get(index)?;
        if members
            .iter()
            .any(|&m| self.inspectors[m].id == inspector.id)
        {
            Some(Skip::AlreadyInTeam)
        } else if let Some(Some(fixed)) = self.fixed.get(index) {
            Some(fixed.clone())
        } else if let Some(entry) = declared_conflict(inspector, target) {
            Some(Skip::DeclaredConflict {
                entry: entry.clone(),
            })
        } else {
            match conflict_hook(inspector, position) {
                Ok(true) => Some(Skip::HookConflict { error: None }),
                Err(e) => Some(Skip::HookConflict { error: Some(e) }),
                Ok(false) => {
                    let l = self.load[self.owner[index]];
                    (l >= self.rules.workload_cap).then_some(Skip::AtCapacity { load: l })
                }
            }
        }
    }

    /// The team of `members` if it is full (counting it in the workloads), else none.
    fn staff(&mut self, mut members: Vec<usize>, skipped: Vec<(String, Skip)>) -> Team {
        let unstaffed = if members.len() < self.team_size {
            let reason = unstaffed_reason(members.len(), self.rules.team_size, &skipped);
            members.clear();
            Some(reason)
        } else {
            for &m in &members {
                self.load[self.owner[m]] += 1;
            }
            None
        };
        Team {
            members: members
                .iter()
                .map(|&m| self.inspectors[m].id.clone())
                .collect(),
            skipped,
            unstaffed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::types::TargetStatus;

    fn target(id: &str, name: &str) -> Target {
        Target {
            id: id.into(),
            name: name.into(),
            category: "hotel".into(),
            district: "d".into(),
            address: String::new(),
            key_area: false,
            class: None,
            licence: None,
            status: TargetStatus::Active,
            last_inspected: None,
            last_result: None,
            extra: Default::default(),
        }
    }

    fn inspector(id: &str, conflicts: &[&str]) -> Inspector {
        Inspector {
            id: id.into(),
            name: format!("name {id}"),
            department: "zhian".into(),
            certificate: String::new(),
            qualifications: vec!["law".into()],
            active: true,
            area: String::new(),
            conflicts: conflicts.iter().map(|s| s.to_string()).collect(),
            extra: Default::default(),
        }
    }

    #[test]
    fn conflicts_caps_and_unstaffed_reason() {
        let t1 = target("T1", "平安大酒店");
        let t2 = target("T2", "顺心旅馆");
        let mut inspectors = vec![
            inspector("a", &["平安"]),
            inspector("b", &[" ", ""]),
            inspector("c", &[]),
            inspector("d", &["T2"]),
        ];
        inspectors[2].active = false;
        let quals = vec!["law".to_string()];
        let rules = TeamRules {
            team_size: 2,
            qualifications: &quals,
            department: "zhian",
            workload_cap: 1,
        };
        let seed = Seed([9u8; 32]);
        let mut calls = 0;
        let mut hook = |_: &Inspector, _: &Target| -> Result<bool, String> {
            calls += 1;
            Ok(false)
        };
        let out = assign_teams(
            &seed,
            "zhian.hotel",
            "2025-Q1",
            &[&t1, &t2],
            &inspectors,
            &rules,
            &mut hook,
        );
        // T1: a has 回避 (平安 in the name), c inactive → b and d.
        let mut m1 = out[0].members.clone();
        m1.sort();
        assert_eq!(m1, ["b", "d"]);
        assert!(out[0].skipped.contains(&(
            "a".into(),
            Skip::DeclaredConflict {
                entry: "平安".into()
            }
        )));
        // T2: b and d at cap (d also declared T2), c inactive, a available → unstaffed.
        assert!(out[1].members.is_empty());
        let reason = out[1].unstaffed.as_deref().expect("unstaffed");
        assert!(
            reason.starts_with("only 1 eligible inspector (need 2): 1 inactive, "),
            "{reason}"
        );
        assert!(reason.contains("at workload cap"), "{reason}");
        assert!(calls >= 3);
    }

    #[test]
    fn hook_errors_are_conflicts() {
        let t = target("T1", "x");
        let inspectors = vec![inspector("a", &[]), inspector("b", &[])];
        let rules = TeamRules {
            team_size: 1,
            qualifications: &[],
            department: "zhian",
            workload_cap: 5,
        };
        let mut hook = |i: &Inspector, _: &Target| -> Result<bool, String> {
            if i.id == "a" {
                Err("boom".into())
            } else {
                Ok(true)
            }
        };
        let out = assign_teams(
            &Seed([0u8; 32]),
            "m",
            "p",
            &[&t],
            &inspectors,
            &rules,
            &mut hook,
        );
        assert!(out[0].members.is_empty());
        assert!(out[0].skipped.contains(&(
            "a".into(),
            Skip::HookConflict {
                error: Some("boom".into())
            }
        )));
        assert_eq!(
            out[0].unstaffed.as_deref(),
            Some("no eligible inspector (need 1): 2 回避")
        );
    }
}
