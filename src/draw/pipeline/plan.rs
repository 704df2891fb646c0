//! Planning the strata from the classified rows' counts and weights: each stratum's size, k
//! and, for risk-weighted draws, λ and the capping (from the weight histogram, exactly what
//! `lambdas` gives unit by unit). Hook failures fail the draw here, in the order a draw over
//! the targets one by one meets them: the eligible hook at the first failing target by id;
//! then, stratum by stratum in name order, the weight hook at the first failing target, then
//! the first non-positive weight, then an overflowing sum.

use std::collections::{BTreeMap, HashMap};

use super::DrawFailure;
use super::rows::{Classified, Group};
use super::rules::{Answer, Reason, Rules, Why};
use crate::draw::pareto::lambdas_by_weight;
use crate::draw::{DrawError, Ranker};
use crate::rules::model::Share;

/// A stratum to draw from.
pub(crate) struct StratumPlan {
    pub name: String,
    pub ratio: Share,
    pub n: usize,
    pub k: usize,
    pub ranker: Ranker,
    /// Per weight class: λ, certain, λ/(1−λ).
    pub classes: Vec<(f64, bool, f64)>,
    /// The weight of each class.
    pub weights: Vec<f64>,
    pub pareto: bool,
}

/// What becomes of a group's rows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fate {
    /// Drawn from: stratum index and weight class.
    Drawn(u32, u32),
    /// Excluded, and the stratum input it would have had.
    Excluded(Why, u32),
}

/// One stratum's rows as counted.
#[derive(Default)]
struct Tally {
    n: u64,
    ratios: BTreeMap<Share, Vec<usize>>,
    weights: BTreeMap<u64, u64>,
    weight_failed: Vec<usize>,
    bad_weight: Vec<usize>,
}

/// The smallest id among `groups`, with its group.
fn min_of<'a>(c: &'a Classified, groups: &[usize]) -> Option<(&'a String, usize)> {
    groups
        .iter()
        .filter_map(|&i| c.min_ids[i].as_ref().map(|id| (id, i)))
        .min()
}

/// Fails the draw if the eligible hook failed for a row that reached it.
pub(crate) fn check_eligible(c: &Classified) -> Result<(), DrawFailure> {
    let failing: Vec<usize> = (0..c.groups.len())
        .filter(|&i| {
            c.counts[i] > 0
                && c.groups[i].reason == Reason::Candidate
                && c.eligible_of(&c.groups[i]).is_some_and(Answer::failed)
        })
        .collect();
    match min_of(c, &failing) {
        Some((id, i)) => match c.eligible_of(&c.groups[i]) {
            Some(a) => Err(a.failure(id)),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

fn tallies(c: &Classified, weighted: bool) -> BTreeMap<&str, Tally> {
    let mut strata: BTreeMap<&str, Tally> = BTreeMap::new();
    for (i, g) in c.groups.iter().enumerate() {
        if c.counts[i] == 0 || !c.drawn_from(g) {
            continue;
        }
        let n = c.counts[i];
        let (name, ratio) = &c.strata[g.stratum as usize];
        let t = strata.entry(name.as_str()).or_default();
        t.n += n;
        t.ratios.entry(*ratio).or_default().push(i);
        if weighted {
            match c.weight_of(g) {
                Some(Answer::Ok(w)) if w.is_finite() && *w > 0.0 => {
                    *t.weights.entry(w.to_bits()).or_insert(0) += n;
                }
                Some(Answer::Ok(_)) => t.bad_weight.push(i),
                _ => t.weight_failed.push(i),
            }
        }
    }
    strata
}

/// The strata to draw from, in name order.
pub(crate) fn strata(c: &Classified, rules: &Rules<'_>) -> Result<Vec<StratumPlan>, DrawFailure> {
    let weighted = rules.matter.weight.is_some();
    let mut plans = Vec::new();
    for (name, t) in &tallies(c, weighted) {
        // A stratum whose rows disagree on the ratio takes its first target's (by id), as
        // the first target met decides; only odd stratum names can disagree.
        let ratio = if t.ratios.len() > 1 {
            t.ratios
                .iter()
                .filter_map(|(r, members)| min_of(c, members).map(|(id, _)| (id, *r)))
                .min()
                .map_or(Share::at_least(rules.input.ratio), |(_, r)| r)
        } else {
            t.ratios
                .keys()
                .next()
                .copied()
                .unwrap_or(Share::at_least(rules.input.ratio))
        };
        let n = usize::try_from(t.n).unwrap_or(usize::MAX);
        let k = ratio.sample_size(n);
        let mut plan = StratumPlan {
            name: name.to_string(),
            ratio,
            n,
            k,
            ranker: rules.ranker(name),
            classes: Vec::new(),
            weights: Vec::new(),
            pareto: weighted,
        };
        if weighted {
            weigh(c, t, &mut plan)?;
        }
        plans.push(plan);
    }
    Ok(plans)
}

/// λ per weight class of a weighted stratum, or the failure its weights cause.
fn weigh(c: &Classified, t: &Tally, plan: &mut StratumPlan) -> Result<(), DrawFailure> {
    if let Some((id, i)) = min_of(c, &t.weight_failed)
        && let Some(a) = c.weight_of(&c.groups[i])
    {
        return Err(a.failure(id));
    }
    if let Some((id, i)) = min_of(c, &t.bad_weight)
        && let Some(Answer::Ok(w)) = c.weight_of(&c.groups[i])
    {
        let e = DrawError::BadWeight {
            id: id.clone(),
            weight: *w,
        };
        return Err(DrawFailure::Weights(e.to_string()));
    }
    let hist: Vec<(f64, u64)> = t
        .weights
        .iter()
        .map(|(&bits, &n)| (f64::from_bits(bits), n))
        .collect();
    let lambdas =
        lambdas_by_weight(&hist, plan.k).map_err(|e| DrawFailure::Weights(e.to_string()))?;
    plan.classes = lambdas
        .into_iter()
        .map(|(l, certain)| (l, certain, l / (1.0 - l)))
        .collect();
    plan.weights = hist.iter().map(|(w, _)| *w).collect();
    Ok(())
}

/// Every group's fate.
pub(crate) fn fates(c: &Classified, plans: &[StratumPlan]) -> Vec<Fate> {
    let index: HashMap<&str, usize> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    c.groups
        .iter()
        .map(|g| match g.reason {
            Reason::Deregistered => Fate::Excluded(Why::Deregistered, g.stratum),
            Reason::Cooldown => Fate::Excluded(Why::Cooldown, g.stratum),
            Reason::YearlyCap => Fate::Excluded(Why::YearlyCap, g.stratum),
            Reason::Candidate if !c.drawn_from(g) => Fate::Excluded(Why::Eligible, g.stratum),
            Reason::Candidate => drawn_fate(c, g, plans, &index),
        })
        .collect()
}

fn drawn_fate(
    c: &Classified,
    g: &Group,
    plans: &[StratumPlan],
    index: &HashMap<&str, usize>,
) -> Fate {
    let name = c.strata[g.stratum as usize].0.as_str();
    let s = index.get(name).copied().unwrap_or(0);
    let class = match c.weight_of(g) {
        Some(Answer::Ok(w)) => plans[s]
            .weights
            .iter()
            .position(|x| x.to_bits() == w.to_bits())
            .unwrap_or(0),
        _ => 0,
    };
    Fate::Drawn(s as u32, class as u32)
}

/// Excluded rows by (stratum name, reason).
pub(crate) fn exclusion_counts<'a>(
    c: &'a Classified,
    fates: &[Fate],
) -> BTreeMap<(&'a str, Why), u64> {
    let mut out: BTreeMap<(&str, Why), u64> = BTreeMap::new();
    for (f, &n) in fates.iter().zip(&c.counts) {
        if let Fate::Excluded(why, s) = f
            && n > 0
        {
            *out.entry((c.strata[*s as usize].0.as_str(), *why))
                .or_insert(0) += n;
        }
    }
    out
}
