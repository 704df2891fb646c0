//! The team step of `suiji-draw/2` (docs/draw-algorithm.md V2-4): drawn targets are staffed in
//! a random, verifiable order, and each target's team is drawn by a lazily computed, keyed
//! random permutation of the inspectors who still have capacity, so the step costs about one
//! hash per inspector looked at — a few per target — instead of one per inspector in the pool.
//!
//! 1. **Staffing order**: the drawn targets sorted by `key(id)` under
//!    `(suiji-draw/2, "staffing", seed, matter, period, "")`, across all strata.
//! 2. **Pool**: the active inspectors of the allowed departments holding every per-member
//!    qualification, one per id, in byte order of their ids; those whose workload (carried in
//!    plus given in this call) has reached the cap are not available.
//! 3. **Walk**: for a target, with `m` inspectors available, step `j = 0, 1, …` picks
//!    `r = j + uniform(m − j)` from `SHA-256(P_walk ‖ u32be(j) ‖ u32be(a))` and swaps positions
//!    `j` and `r` of the virtual list `0..m` (Fisher–Yates, the swaps kept in a map); the value
//!    now at `j` is the candidate's place among the available inspectors in pool order, found in
//!    a Fenwick tree in O(log pool) without hashing anyone.
//! 4. **Checks**: 回避 (declared, exact or `*` pattern; then the hook), then coverage: a
//!    candidate joins when they cover a need still open (a qualification the team must hold
//!    together, a department not yet represented) or when the team has room to spare.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::team::{Skip, Team, TeamOutcome, TeamTarget};
use super::{Purpose, Ranker, Seed};
use crate::registry::avoid::names_target;
use crate::registry::types::{Inspector, Target};

pub use crate::rules::model::ALGORITHM_V2;

/// What a team of `suiji-draw/2` needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamSpec {
    pub team_size: u32,
    /// Every member holds all of these (as `qualifications` of version 1).
    pub each: Vec<String>,
    /// The members together hold all of these (joint inspections: 食品安全 + 价格 + 广告).
    pub cover: Vec<String>,
    /// Members come from these departments (one for a regular matter; several for a joint
    /// visit).
    pub departments: Vec<String>,
    /// At least one member from each of `departments`.
    pub each_department: bool,
    /// Most targets an inspector gets, counting `carried`.
    pub workload_cap: u32,
    /// Targets already given to an inspector (by id) before this call, e.g. by earlier draws of
    /// the period.
    pub carried: BTreeMap<String, u32>,
}

/// The work the team step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StaffingStats {
    /// SHA-256 evaluations: parameter digests, staffing keys and walk steps.
    pub hashes: u64,
    /// Candidates looked at, over all targets.
    pub steps: u64,
}

/// A Fenwick tree over the pool counting the available inspectors: remove one and find the
/// n-th available in O(log pool).
struct Available {
    tree: Vec<u32>,
    count: usize,
}

impl Available {
    fn new(flags: &[bool]) -> Available {
        let n = flags.len();
        let mut tree = vec![0u32; n + 1];
        for (i, &f) in flags.iter().enumerate() {
            tree[i + 1] += u32::from(f);
            let parent = (i + 1) + ((i + 1) & (i + 1).wrapping_neg());
            if parent <= n {
                tree[parent] += tree[i + 1];
            }
        }
        Available {
            tree,
            count: flags.iter().filter(|&&f| f).count(),
        }
    }

    fn remove(&mut self, index: usize) {
        let mut i = index + 1;
        while i < self.tree.len() {
            self.tree[i] -= 1;
            i += i & i.wrapping_neg();
        }
        self.count -= 1;
    }

    /// The pool index of the `nth` (0-based) available inspector; `nth < count`.
    fn nth(&self, nth: usize) -> usize {
        let n = self.tree.len() - 1;
        let mut step = if n == 0 { 0 } else { 1usize << n.ilog2() };
        let (mut at, mut left) = (0usize, nth as u64);
        while step > 0 {
            let next = at + step;
            if next <= n && u64::from(self.tree[next]) <= left {
                at = next;
                left -= u64::from(self.tree[next]);
            }
            step >>= 1;
        }
        at
    }
}

/// A need of the team still to be met by some member.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Need {
    Qualification(String),
    Department(String),
}

impl Need {
    fn met_by(&self, i: &Inspector) -> bool {
        match self {
            Need::Qualification(q) => i.qualifications.contains(q),
            Need::Department(d) => &i.department == d,
        }
    }

    fn label(&self) -> String {
        match self {
            Need::Qualification(q) => q.clone(),
            Need::Department(d) => format!("部门 {d}"),
        }
    }
}

/// The pool, the loads and what every target's walk shares.
struct Pool<'a> {
    inspectors: Vec<&'a Inspector>,
    load: Vec<u32>,
    /// Every available inspector.
    all: Available,
    /// Per need, the available inspectors who meet it.
    by_need: Vec<Available>,
    spec: &'a TeamSpec,
    needs: Vec<Need>,
    stats: StaffingStats,
}

impl<'a> Pool<'a> {
    fn new(inspectors: &'a [Inspector], spec: &'a TeamSpec) -> Pool<'a> {
        let mut pool: Vec<&Inspector> = inspectors
            .iter()
            .filter(|i| {
                i.active
                    && spec.departments.contains(&i.department)
                    && spec.each.iter().all(|q| i.qualifications.contains(q))
            })
            .collect();
        pool.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
        pool.dedup_by(|b, a| a.id == b.id);
        let load: Vec<u32> = pool
            .iter()
            .map(|i| spec.carried.get(&i.id).copied().unwrap_or(0))
            .collect();
        let flags: Vec<bool> = load.iter().map(|&l| l < spec.workload_cap).collect();
        let needs = needs_of(spec);
        let by_need = needs
            .iter()
            .map(|n| {
                let f: Vec<bool> = pool
                    .iter()
                    .zip(&flags)
                    .map(|(i, &free)| free && n.met_by(i))
                    .collect();
                Available::new(&f)
            })
            .collect();
        Pool {
            inspectors: pool,
            load,
            all: Available::new(&flags),
            by_need,
            spec,
            needs,
            stats: StaffingStats::default(),
        }
    }

    /// The pool index of the next candidate of a walk, or `None` when it has looked at every
    /// inspector of its set.
    fn next(&mut self, walk: &mut Walk<'_>) -> Option<usize> {
        let set = match walk.stream {
            0 => &self.all,
            n => self.by_need.get(n as usize - 1)?,
        };
        let m = set.count;
        if walk.j >= m {
            return None;
        }
        let j = walk.j;
        let r = j + pick(walk, m - j, &mut self.stats);
        let at_j = walk.swaps.get(&j).copied().unwrap_or(j);
        let at_r = walk.swaps.get(&r).copied().unwrap_or(r);
        walk.swaps.insert(r, at_j);
        walk.j += 1;
        self.stats.steps += 1;
        let set = match walk.stream {
            0 => &self.all,
            n => self.by_need.get(n as usize - 1)?,
        };
        Some(set.nth(at_r))
    }

    /// Counts a complete team in the workloads; inspectors reaching the cap leave every set.
    fn take(&mut self, members: &[usize]) {
        for &m in members {
            self.load[m] += 1;
            if self.load[m] == self.spec.workload_cap {
                self.all.remove(m);
                for (n, need) in self.needs.iter().enumerate() {
                    if need.met_by(self.inspectors[m]) {
                        self.by_need[n].remove(m);
                    }
                }
            }
        }
    }
}

/// The needs of a team: the qualifications to cover together, in the order given, then the
/// departments to represent (with `each_department`), each once.
fn needs_of(spec: &TeamSpec) -> Vec<Need> {
    let mut needs: Vec<Need> = Vec::new();
    let quals = spec.cover.iter().map(|q| Need::Qualification(q.clone()));
    let depts = spec
        .departments
        .iter()
        .filter(|_| spec.each_department)
        .map(|d| Need::Department(d.clone()));
    for need in quals.chain(depts) {
        if !needs.contains(&need) {
            needs.push(need);
        }
    }
    needs
}

/// One walk of one target: stream 0 over every available inspector, stream `n + 1` over those
/// meeting need `n`; its virtual Fisher–Yates list is `0..m` with the swaps made so far.
struct Walk<'r> {
    ranker: &'r Ranker,
    stream: u32,
    j: usize,
    swaps: HashMap<usize, usize>,
}

/// A uniform integer in `0..n` for the walk's step `j`: the first 8 bytes of
/// `SHA-256(P ‖ u32be(stream) ‖ u32be(j) ‖ u32be(attempt))` as a big-endian number `x`, taken
/// as `x mod n` unless `x ≥ 2^64 − (2^64 mod n)`, when the next attempt is made (so every
/// value is exactly equally likely).
fn pick(walk: &Walk<'_>, n: usize, stats: &mut StaffingStats) -> usize {
    let n = n as u128;
    let limit = (1u128 << 64) - (1u128 << 64) % n;
    let mut message = [0u8; 12];
    message[..4].copy_from_slice(&walk.stream.to_be_bytes());
    message[4..8].copy_from_slice(&u32::try_from(walk.j).unwrap_or(u32::MAX).to_be_bytes());
    for attempt in 0u32.. {
        message[8..].copy_from_slice(&attempt.to_be_bytes());
        stats.hashes += 1;
        let x = u128::from(walk.ranker.head_of_bytes(&message));
        if x < limit {
            return (x % n) as usize;
        }
    }
    0
}

/// The order in which `ids` (the drawn targets) are staffed: positions sorted by
/// `key(id)` under `(suiji-draw/2, "staffing", seed, matter, period, "")`, then id bytes.
pub fn staffing_order(seed: &Seed, matter: &str, period: &str, ids: &[&str]) -> Vec<usize> {
    let ranker = Ranker::versioned(ALGORITHM_V2, seed, matter, period, "", Purpose::Staffing);
    let mut keyed: Vec<([u8; 32], usize)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (ranker.key(id), i))
        .collect();
    keyed.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| ids[a.1].as_bytes().cmp(ids[b.1].as_bytes()))
            .then(a.1.cmp(&b.1))
    });
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Staffs `targets` (given in any order; the draw's order) as `suiji-draw/2` does, passing each
/// team to `emit` with the target's position, in staffing order. `conflict_hook` gets the
/// inspector and the target's position and answers whether they must be avoided; it is called
/// only for inspectors without a declared conflict. An `Err` counts as a conflict (the pipeline
/// fails the draw on it).
#[allow(clippy::too_many_arguments)]
pub(crate) fn staff(
    seed: &Seed,
    matter: &str,
    period: &str,
    targets: &[TeamTarget],
    inspectors: &[Inspector],
    spec: &TeamSpec,
    conflict_hook: &mut dyn FnMut(&Inspector, usize) -> Result<bool, String>,
    emit: &mut dyn FnMut(usize, Team),
) -> StaffingStats {
    let ids: Vec<&str> = targets.iter().map(|t| t.id).collect();
    let order = staffing_order(seed, matter, period, &ids);
    let mut pool = Pool::new(inspectors, spec);
    pool.stats.hashes += 1 + targets.len() as u64;
    for position in order {
        let target = &targets[position];
        let team = if spec.team_size == 0 {
            Team {
                members: Vec::new(),
                skipped: Vec::new(),
                unstaffed: None,
            }
        } else {
            let ranker =
                Ranker::versioned(ALGORITHM_V2, seed, matter, period, target.id, Purpose::Walk);
            pool.stats.hashes += 1;
            let mut one = OneTarget {
                target,
                position,
                ranker: &ranker,
                members: Vec::new(),
                seen: HashSet::new(),
                skipped: Vec::new(),
            };
            one.staff(&mut pool, conflict_hook)
        };
        emit(position, team);
    }
    pool.stats
}

/// What one target's staffing keeps.
struct OneTarget<'t> {
    target: &'t TeamTarget<'t>,
    position: usize,
    ranker: &'t Ranker,
    members: Vec<usize>,
    /// Inspectors already looked at for this target (each is checked and recorded once).
    seen: HashSet<usize>,
    skipped: Vec<(String, Skip)>,
}

impl<'t> OneTarget<'t> {
    /// The needs first, each from its own walk (the first candidate who passes the checks
    /// meets it, and every other need they meet), then the remaining places from the walk over
    /// everyone.
    fn staff(
        &mut self,
        pool: &mut Pool<'_>,
        hook: &mut dyn FnMut(&Inspector, usize) -> Result<bool, String>,
    ) -> Team {
        let size = pool.spec.team_size as usize;
        let mut open: Vec<bool> = vec![true; pool.needs.len()];
        for n in 0..pool.needs.len() {
            if !open[n] {
                continue;
            }
            if self.members.len() == size {
                let labels = open_labels(&pool.needs, &open);
                return self.fail(format!(
                    "a team of {size} cannot cover {}",
                    labels.join("、")
                ));
            }
            let mut walk = self.walk(n as u32 + 1);
            let Some(index) = self.first_passing(pool, &mut walk, hook) else {
                let tail = counts(&self.skipped, pool.inspectors.len() - pool.all.count);
                let label = pool.needs[n].label();
                return self.fail(format!(
                    "no eligible inspector holds {label} (need {size}): {tail}"
                ));
            };
            for (m, need) in pool.needs.iter().enumerate() {
                open[m] &= !need.met_by(pool.inspectors[index]);
            }
            self.members.push(index);
        }
        let mut walk = self.walk(0);
        while self.members.len() < size {
            let Some(index) = self.first_passing(pool, &mut walk, hook) else {
                let tail = counts(&self.skipped, pool.inspectors.len() - pool.all.count);
                let head = match self.members.len() {
                    0 => "no eligible inspector".to_string(),
                    1 => "only 1 eligible inspector".to_string(),
                    n => format!("only {n} eligible inspectors"),
                };
                return self.fail(format!("{head} (need {size}): {tail}"));
            };
            self.members.push(index);
        }
        pool.take(&self.members);
        Team {
            members: self
                .members
                .iter()
                .map(|&m| pool.inspectors[m].id.clone())
                .collect(),
            skipped: std::mem::take(&mut self.skipped),
            unstaffed: None,
        }
    }

    fn walk(&self, stream: u32) -> Walk<'t> {
        Walk {
            ranker: self.ranker,
            stream,
            j: 0,
            swaps: HashMap::new(),
        }
    }

    /// The walk's next inspector not yet looked at who passes the checks (those who fail are
    /// recorded), or `None` when the walk is exhausted.
    fn first_passing(
        &mut self,
        pool: &mut Pool<'_>,
        walk: &mut Walk<'_>,
        hook: &mut dyn FnMut(&Inspector, usize) -> Result<bool, String>,
    ) -> Option<usize> {
        while let Some(index) = pool.next(walk) {
            if !self.seen.insert(index) {
                continue;
            }
            let inspector = pool.inspectors[index];
            let skip = match inspector
                .conflicts
                .iter()
                .find(|e| names_target(e, self.target.id, self.target.name))
            {
                Some(entry) => Some(Skip::DeclaredConflict {
                    entry: entry.clone(),
                }),
                None => match hook(inspector, self.position) {
                    Ok(true) => Some(Skip::HookConflict { error: None }),
                    Err(e) => Some(Skip::HookConflict { error: Some(e) }),
                    Ok(false) => None,
                },
            };
            match skip {
                Some(s) => self.skipped.push((inspector.id.clone(), s)),
                None => return Some(index),
            }
        }
        None
    }

    fn fail(&mut self, reason: String) -> Team {
        Team {
            members: Vec::new(),
            skipped: std::mem::take(&mut self.skipped),
            unstaffed: Some(reason),
        }
    }
}

fn open_labels(needs: &[Need], open: &[bool]) -> Vec<String> {
    needs
        .iter()
        .zip(open)
        .filter(|(_, o)| **o)
        .map(|(n, _)| n.label())
        .collect()
}

/// "1 回避, 3 at workload cap", or "no other inspector in the pool".
fn counts(skipped: &[(String, Skip)], at_cap: usize) -> String {
    let avoided = skipped.len();
    let parts: Vec<String> = [(avoided, "回避"), (at_cap, "at workload cap")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, label)| format!("{n} {label}"))
        .collect();
    if parts.is_empty() {
        "no other inspector in the pool".to_string()
    } else {
        parts.join(", ")
    }
}

/// `suiji-draw/2`'s teams for `targets` (in the draw's order), returned in staffing order, with
/// the work done. See `staff`; `conflict_hook` answers for (inspector, target).
pub fn assign_teams_v2(
    seed: &Seed,
    matter: &str,
    period: &str,
    targets: &[&Target],
    inspectors: &[Inspector],
    spec: &TeamSpec,
    conflict_hook: &mut dyn FnMut(&Inspector, &Target) -> Result<bool, String>,
) -> (Vec<TeamOutcome>, StaffingStats) {
    let team_targets: Vec<TeamTarget> = targets
        .iter()
        .map(|t| TeamTarget {
            id: &t.id,
            name: &t.name,
        })
        .collect();
    let mut out = Vec::with_capacity(targets.len());
    let stats = staff(
        seed,
        matter,
        period,
        &team_targets,
        inspectors,
        spec,
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
    (out, stats)
}

#[cfg(test)]
mod tests;
