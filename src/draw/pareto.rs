//! Risk-weighted draws: Pareto order sampling (Rosén 1997).
//!
//! Target inclusion probabilities λ_i = k'·w_i / Σw over the units not yet certain, capping at
//! 1 until no unit exceeds it. Units with λ = 1 are taken with certainty; the others are ranked
//! by Q_i = [U_i/(1−U_i)] / [λ_i/(1−λ_i)] and the k' smallest taken. Unlike
//! Efraimidis–Spirakis keys (U^(1/w)), this gives inclusion probabilities that are very close
//! to λ even when k/n is large. See `docs/draw-algorithm.md` for the exact float operations.

use std::cmp::Ordering;

use rayon::prelude::*;

use super::ranker::{uniform_from_head, uniform_from_key};
use super::select::draw_order;
use super::uniform::{Keyed, keys};
use super::{DrawError, PARALLEL_THRESHOLD, Ranked, Ranker, Unit, key_hex, rank_of};

/// The sum of `values` rounded once, correctly (round-half-even), from the exact real sum:
/// Shewchuk's algorithm as in Python's `math.fsum`, whose result it matches bit for bit. So the
/// sum does not depend on the order of the values. `None` if a value is not finite or the sum
/// overflows.
pub fn exact_sum(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut partials: Vec<f64> = Vec::new();
    for value in values {
        if !value.is_finite() {
            return None;
        }
        let mut x = value;
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        if !x.is_finite() {
            return None;
        }
        partials.truncate(i);
        if x != 0.0 {
            partials.push(x);
        }
    }
    let mut n = partials.len();
    let mut hi = 0.0;
    if n > 0 {
        n -= 1;
        hi = partials[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = partials[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        // Half-even rounding across partials (as CPython's fsum).
        if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            let yr = x - hi;
            if y == yr {
                hi = x;
            }
        }
    }
    Some(hi)
}

/// λ for every unit and whether it is certain (λ = 1). Weights must already be valid.
fn lambdas(weights: &[f64], k: usize) -> Result<(Vec<f64>, Vec<bool>), DrawError> {
    let n = weights.len();
    let k = k.min(n);
    let mut lambda = vec![0.0; n];
    let mut certain = vec![false; n];
    let mut taken = 0usize;
    loop {
        let rest = || (0..n).filter(|&i| !certain[i]);
        let kk = k.saturating_sub(taken);
        let left = n - taken;
        if kk == 0 {
            rest().for_each(|i| lambda[i] = 0.0);
            break;
        }
        if kk == left {
            for i in 0..n {
                lambda[i] = 1.0;
                certain[i] = true;
            }
            break;
        }
        let sum = exact_sum(rest().map(|i| weights[i])).ok_or(DrawError::WeightSumOverflow)?;
        let kf = kk as f64;
        let mut capped = Vec::new();
        for i in rest() {
            let l = (kf * weights[i]) / sum;
            lambda[i] = l;
            if l >= 1.0 {
                capped.push(i);
            }
        }
        if capped.is_empty() {
            break;
        }
        for i in capped {
            lambda[i] = 1.0;
            certain[i] = true;
            taken += 1;
        }
    }
    Ok((lambda, certain))
}

/// The exact sum of `count` copies of each weight, rounded once (what [`exact_sum`] gives for the
/// units themselves): each `count × w` is split exactly into a rounded product and its error
/// (by a fused multiply-add), and those are summed. Weights so small that the error term could
/// underflow are summed unit by unit instead.
fn class_sum<'a>(classes: impl Iterator<Item = &'a (f64, u64)> + Clone) -> Option<f64> {
    const TINY: f64 = 1.0e-270;
    if classes.clone().any(|&(w, _)| w < TINY) {
        return exact_sum(
            classes.flat_map(|&(w, c)| {
                std::iter::repeat_n(w, usize::try_from(c).unwrap_or(usize::MAX))
            }),
        );
    }
    let mut parts = Vec::new();
    for &(w, c) in classes {
        let cf = c as f64;
        let p = cf * w;
        if !p.is_finite() {
            return None;
        }
        parts.push(p);
        parts.push(cf.mul_add(w, -p));
    }
    exact_sum(parts)
}

/// λ and certainty for units grouped by weight: `classes` holds (weight, number of units with it),
/// weights valid and distinct. Gives each class exactly what `lambdas` gives each of its units
/// (units of equal weight are treated alike in every round of the capping loop), so a draw over
/// millions of units needs only their weight histogram.
pub(crate) fn lambdas_by_weight(
    classes: &[(f64, u64)],
    k: usize,
) -> Result<Vec<(f64, bool)>, DrawError> {
    let n: u64 = classes.iter().map(|c| c.1).sum();
    let k = (k as u64).min(n);
    let mut lambda = vec![0.0; classes.len()];
    let mut certain = vec![false; classes.len()];
    let mut taken = 0u64;
    loop {
        let kk = k.saturating_sub(taken);
        let left = n - taken;
        if kk == 0 {
            for (l, _) in lambda.iter_mut().zip(&certain).filter(|(_, c)| !**c) {
                *l = 0.0;
            }
            break;
        }
        if kk == left {
            lambda.iter_mut().for_each(|l| *l = 1.0);
            certain.iter_mut().for_each(|c| *c = true);
            break;
        }
        let rest = classes
            .iter()
            .zip(&certain)
            .filter(|(_, c)| !**c)
            .map(|(x, _)| x);
        let sum = class_sum(rest).ok_or(DrawError::WeightSumOverflow)?;
        let kf = kk as f64;
        let mut capped = Vec::new();
        for (i, &(w, _)) in classes.iter().enumerate() {
            if certain[i] {
                continue;
            }
            let l = (kf * w) / sum;
            lambda[i] = l;
            if l >= 1.0 {
                capped.push(i);
            }
        }
        if capped.is_empty() {
            break;
        }
        for i in capped {
            lambda[i] = 1.0;
            certain[i] = true;
            taken += classes[i].1;
        }
    }
    Ok(lambda.into_iter().zip(certain).collect())
}

fn check_weight(id: &str, weight: f64) -> Result<(), DrawError> {
    if weight.is_finite() && weight > 0.0 {
        Ok(())
    } else {
        Err(DrawError::BadWeight {
            id: id.to_string(),
            weight,
        })
    }
}

/// Pareto target inclusion probabilities λ for a draw of `k` (capped at the number of weights):
/// λ_i = k'·w_i/Σw, units reaching 1 fixed at 1 and the rest recomputed, until none exceeds 1.
/// They sum to k (up to rounding) and none exceeds 1. Returns NaN for every unit if a weight is
/// not finite and positive or the weights' sum overflows; [`try_inclusion_probabilities`] says why.
pub fn inclusion_probabilities(weights: &[f64], k: usize) -> Vec<f64> {
    try_inclusion_probabilities(weights, k).unwrap_or_else(|_| vec![f64::NAN; weights.len()])
}

/// [`inclusion_probabilities`], reporting invalid weights (by position, as `#i`) and overflow.
pub fn try_inclusion_probabilities(weights: &[f64], k: usize) -> Result<Vec<f64>, DrawError> {
    for (i, &w) in weights.iter().enumerate() {
        check_weight(&format!("#{i}"), w)?;
    }
    lambdas(weights, k).map(|(l, _)| l)
}

/// Pareto πps draw of `k`: certainty units first (by key), then the rest by Q ascending (ties by
/// key, then id bytes). All units are returned in order; the first `k` are the sample and the
/// rest are "next rank" substitutes. Errors on a non-finite or non-positive weight (naming the
/// unit), on k > n, and if the weights' sum overflows.
pub fn rank_pareto(ranker: &Ranker, units: &[Unit], k: usize) -> Result<Vec<Ranked>, DrawError> {
    for u in units {
        check_weight(u.id, u.weight)?;
    }
    if k > units.len() {
        return Err(DrawError::SampleTooLarge { k, n: units.len() });
    }
    let weights: Vec<f64> = units.iter().map(|u| u.weight).collect();
    let (lambda, certain) = lambdas(&weights, k)?;

    struct Entry {
        keyed: Keyed,
        certain: bool,
        q: f64,
    }
    let entry = |keyed: Keyed| {
        let i = keyed.index;
        let q = if certain[i] {
            0.0
        } else if lambda[i] == 0.0 {
            f64::INFINITY
        } else {
            let u = uniform_from_key(&keyed.key);
            (u / (1.0 - u)) / (lambda[i] / (1.0 - lambda[i]))
        };
        Entry {
            keyed,
            certain: certain[i],
            q,
        }
    };
    let keyed = keys(ranker, units);
    let cmp = |a: &Entry, b: &Entry| -> Ordering {
        draw_order(
            &a.keyed.place(units, a.certain, a.q),
            &b.keyed.place(units, b.certain, b.q),
        )
    };
    let mut entries: Vec<Entry>;
    if units.len() >= PARALLEL_THRESHOLD {
        entries = keyed.into_par_iter().map(entry).collect();
        entries.par_sort_unstable_by(cmp);
    } else {
        entries = keyed.into_iter().map(entry).collect();
        entries.sort_unstable_by(cmp);
    }
    let ranked = |(position, e): (usize, &Entry)| Ranked {
        index: e.keyed.index,
        rank: rank_of(position),
        key_hex: key_hex(&e.keyed.key),
        inclusion_probability: lambda[e.keyed.index],
        certain: e.certain,
    };
    Ok(if entries.len() >= PARALLEL_THRESHOLD {
        entries.par_iter().enumerate().map(ranked).collect()
    } else {
        entries.iter().enumerate().map(ranked).collect()
    })
}

/// The first `k` of [`rank_pareto`] (same errors, same order, same keys and λ) without
/// ranking the whole input: the best by (Q, the key's head) kept by the one bounded top-k
/// (`uniform::best_k`), then put in the draw order.
pub fn top_k_pareto(ranker: &Ranker, units: &[Unit], k: usize) -> Result<Vec<Ranked>, DrawError> {
    for u in units {
        check_weight(u.id, u.weight)?;
    }
    if k > units.len() {
        return Err(DrawError::SampleTooLarge { k, n: units.len() });
    }
    if k == 0 {
        return Ok(Vec::new());
    }
    let weights: Vec<f64> = units.iter().map(|u| u.weight).collect();
    let (lambda, certain) = lambdas(&weights, k)?;
    drop(weights);
    let q = |i: usize, head: u64| {
        if certain[i] {
            0.0
        } else if lambda[i] == 0.0 {
            f64::INFINITY
        } else {
            let u = uniform_from_head(head);
            (u / (1.0 - u)) / (lambda[i] / (1.0 - lambda[i]))
        }
    };
    let mut best: Vec<(Keyed, f64)> = super::uniform::best_k(ranker, units, k, &q)
        .into_iter()
        .map(|keyed| {
            let q = q(keyed.index, super::ranker::head(&keyed.key));
            (keyed, q)
        })
        .collect();
    best.sort_unstable_by(|a, b| {
        draw_order(
            &a.0.place(units, certain[a.0.index], a.1),
            &b.0.place(units, certain[b.0.index], b.1),
        )
    });
    best.truncate(k);
    Ok(best
        .iter()
        .enumerate()
        .map(|(position, (e, _))| Ranked {
            index: e.index,
            rank: rank_of(position),
            key_hex: key_hex(&e.key),
            inclusion_probability: lambda[e.index],
            certain: certain[e.index],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::{Purpose, Seed};

    #[test]
    fn exact_sum_is_correctly_rounded_and_order_free() {
        // Values from CPython's fsum tests.
        assert_eq!(exact_sum([1e-16, 1.0, 1e16]), Some(10000000000000002.0));
        assert_eq!(exact_sum([0.1; 10]), Some(1.0));
        assert_eq!(
            exact_sum([1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]),
            Some(1e-100)
        );
        assert_eq!(
            exact_sum([2.0f64.powi(53), -0.5, -2.0f64.powi(-54)]),
            Some(2.0f64.powi(53) - 1.0)
        );
        assert_eq!(exact_sum(std::iter::empty()), Some(0.0));
        assert_eq!(exact_sum([f64::MAX, f64::MAX]), None);
        assert_eq!(exact_sum([1.0, f64::NAN]), None);
        let mut v: Vec<f64> = (1..200).map(|i| 1.0 / f64::from(i)).collect();
        let a = exact_sum(v.iter().copied());
        v.reverse();
        assert_eq!(a, exact_sum(v.iter().copied()));
    }

    #[test]
    fn capping() {
        let l = inclusion_probabilities(&[1.0, 1.0, 1.0, 100.0], 2);
        assert_eq!(l, vec![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 1.0]);
        assert_eq!(inclusion_probabilities(&[1.0, 2.0], 2), vec![1.0, 1.0]);
        assert_eq!(inclusion_probabilities(&[1.0, 2.0], 5), vec![1.0, 1.0]);
        assert_eq!(inclusion_probabilities(&[1.0, 2.0], 0), vec![0.0, 0.0]);
        assert!(
            inclusion_probabilities(&[1.0, -2.0], 1)
                .iter()
                .all(|x| x.is_nan())
        );
        assert_eq!(
            try_inclusion_probabilities(&[1.0, 0.0], 1),
            Err(DrawError::BadWeight {
                id: "#1".into(),
                weight: 0.0
            })
        );
        assert_eq!(inclusion_probabilities(&[], 0), Vec::<f64>::new());
    }

    #[test]
    fn lambdas_by_weight_match_lambdas_per_unit() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for case in 0..400 {
            let distinct = 1 + (next() % 6) as usize;
            let mut classes: Vec<(f64, u64)> = Vec::new();
            while classes.len() < distinct {
                let w = match next() % 4 {
                    0 => (1 + next() % 9) as f64,
                    1 => (next() % 1000) as f64 / 7.0 + 0.01,
                    2 => 1e-300 * (1 + next() % 5) as f64,
                    _ => 0.1 * (1 + next() % 30) as f64,
                };
                if classes.iter().all(|c| c.0 != w) {
                    classes.push((w, 1 + next() % if case % 2 == 0 { 5 } else { 200 }));
                }
            }
            let weights: Vec<f64> = classes
                .iter()
                .flat_map(|&(w, c)| std::iter::repeat_n(w, c as usize))
                .collect();
            for k in [
                0,
                1,
                2,
                weights.len() / 3,
                weights.len() / 2,
                weights.len(),
                weights.len() + 2,
            ] {
                let (lambda, certain) = lambdas(&weights, k).expect("valid");
                let by_class = lambdas_by_weight(&classes, k).expect("valid");
                let mut at = 0;
                for (&(_, c), &(l, cert)) in classes.iter().zip(&by_class) {
                    for i in at..at + c as usize {
                        assert_eq!(lambda[i].to_bits(), l.to_bits(), "case {case} k {k}");
                        assert_eq!(certain[i], cert, "case {case} k {k}");
                    }
                    at += c as usize;
                }
            }
        }
        assert_eq!(
            lambdas_by_weight(&[(f64::MAX, 2), (1.0, 1)], 1),
            Err(DrawError::WeightSumOverflow)
        );
    }

    /// The bounded top-k gives the first k of the full ranking, certainty units included,
    /// below and above the size where the work is split between threads.
    #[test]
    fn top_k_pareto_is_the_first_k_of_rank_pareto() {
        let ranker = Ranker::new(&Seed([5u8; 32]), "m", "p", "s", Purpose::Targets);
        let n = 3 * super::PARALLEL_THRESHOLD + 17;
        let ids: Vec<String> = (0..n).map(|i| format!("id-{i}")).collect();
        // A few heavy units are taken with certainty in the larger draws.
        let units: Vec<Unit> = ids
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let w = if i % 997 == 0 {
                    3000.0
                } else {
                    [1.0, 2.5, 4.0][i % 3]
                };
                Unit::weighted(s, w)
            })
            .collect();
        for k in [0, 1, 5, 300, 4096, 9000, n] {
            let full = rank_pareto(&ranker, &units, k).unwrap_or_else(|e| panic!("{e}"));
            let top = top_k_pareto(&ranker, &units, k).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(top.len(), k);
            assert!(k < 9000 || top.iter().any(|t| t.certain), "{k}");
            for (t, f) in top.iter().zip(&full) {
                assert_eq!(t, f, "{k}");
            }
        }
        assert!(top_k_pareto(&ranker, &units, n + 1).is_err());
    }

    #[test]
    fn errors_name_the_unit() {
        let r = Ranker::new(&Seed([0u8; 32]), "m", "p", "", Purpose::Targets);
        let units = [Unit::weighted("a", 1.0), Unit::weighted("b", f64::NAN)];
        assert!(
            matches!(rank_pareto(&r, &units, 1), Err(DrawError::BadWeight { id, .. }) if id == "b")
        );
        let units = [Unit::weighted("a", 1.0)];
        assert_eq!(
            rank_pareto(&r, &units, 2),
            Err(DrawError::SampleTooLarge { k: 2, n: 1 })
        );
        let units = [
            Unit::weighted("a", f64::MAX),
            Unit::weighted("b", f64::MAX),
            Unit::new("c"),
        ];
        assert_eq!(
            rank_pareto(&r, &units, 1),
            Err(DrawError::WeightSumOverflow)
        );
    }

    /// Inclusion frequencies over many seeds for 10 units, k = 4, weights 1,1,2,2,…,5,5 (λ from
    /// 0.133 to 0.667, no capping). Pareto matches λ; Efraimidis–Spirakis keys (U^(1/w), take
    /// the largest) drawn from the same U do not. With 40 000 draws, observed (mean of each
    /// weight's pair):
    ///
    /// | w | λ      | Pareto | E–S    |
    /// |---|--------|--------|--------|
    /// | 1 | 0.1333 | 0.1319 | 0.1592 |
    /// | 2 | 0.2667 | 0.2664 | 0.2973 |
    /// | 3 | 0.4000 | 0.3974 | 0.4224 |
    /// | 4 | 0.5333 | 0.5352 | 0.5199 |
    /// | 5 | 0.6667 | 0.6691 | 0.6012 |
    ///
    /// Pareto's largest error is 0.0026 (its known approximation, about 0.002 here, plus sampling
    /// noise, σ ≈ 0.0017 per pair); E–S is off by 0.065 for the heaviest units, 0.026 for the
    /// lightest. A Python simulation with 400 000 draws gives Pareto within 0.002 and E–S
    /// 0.603 / 0.159 for w = 5 / 1.
    #[test]
    fn pareto_inclusion_frequencies_match_lambda() {
        let weights = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0];
        let ids: Vec<String> = (0..weights.len()).map(|i| format!("unit-{i}")).collect();
        let units: Vec<Unit> = ids
            .iter()
            .zip(weights)
            .map(|(id, w)| Unit::weighted(id, w))
            .collect();
        let k = 4;
        let lambda = inclusion_probabilities(&weights, k);
        let draws = 40_000;
        let mut pareto = [0u32; 10];
        let mut es = [0u32; 10];
        let seed = Seed::from_text("pareto simulation");
        for d in 0..draws {
            let ranker = Ranker::new(&seed, "sim", &d.to_string(), "", Purpose::Targets);
            let ranked = rank_pareto(&ranker, &units, k).expect("valid weights");
            for r in &ranked[..k] {
                pareto[r.index] += 1;
            }
            let mut keys: Vec<(f64, usize)> = units
                .iter()
                .enumerate()
                .map(|(i, u)| (ranker.uniform(u.id).powf(1.0 / u.weight), i))
                .collect();
            keys.sort_by(|a, b| b.0.total_cmp(&a.0));
            for &(_, i) in &keys[..k] {
                es[i] += 1;
            }
        }
        let mut worst_pareto = 0.0f64;
        let mut worst_es = 0.0f64;
        for i in (0..10).step_by(2) {
            let p = f64::from(pareto[i] + pareto[i + 1]) / 2.0 / f64::from(draws);
            let e = f64::from(es[i] + es[i + 1]) / 2.0 / f64::from(draws);
            println!(
                "w={} λ={:.4} pareto={p:.4} es={e:.4}",
                weights[i], lambda[i]
            );
            worst_pareto = worst_pareto.max((p - lambda[i]).abs());
            worst_es = worst_es.max((e - lambda[i]).abs());
        }
        assert!(worst_pareto < 0.01, "Pareto off by {worst_pareto}");
        assert!(
            worst_es > 0.05,
            "E–S expected to miss λ, off by only {worst_es}"
        );
    }
}
