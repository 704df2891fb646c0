//! Equal-probability draws: rank by key, bytes ascending.

use std::cmp::Ordering;

use rayon::prelude::*;

use super::select::{Cand, Place, TopK, draw_order};
use super::{PARALLEL_THRESHOLD, Ranked, Ranker, Unit, key_hex, rank_of};

/// A unit's key and its input index.
#[derive(Clone, Copy)]
pub(crate) struct Keyed {
    pub key: [u8; 32],
    pub index: usize,
}

impl Keyed {
    /// Its place in the draw order (`certain` and `q` as the draw gives them).
    pub(crate) fn place<'a>(&self, units: &'a [Unit], certain: bool, q: f64) -> Place<'a> {
        Place {
            certain,
            q,
            key: self.key,
            id: units.get(self.index).map_or(&[], |u| u.id.as_bytes()),
            position: self.index as u64,
        }
    }
}

/// The draw order of an equal-probability draw ([`draw_order`] with Q = 0).
pub(crate) fn by_key(units: &[Unit], a: &Keyed, b: &Keyed) -> Ordering {
    draw_order(&a.place(units, false, 0.0), &b.place(units, false, 0.0))
}

pub(crate) fn keys(ranker: &Ranker, units: &[Unit]) -> Vec<Keyed> {
    let one = |(index, u): (usize, &Unit)| Keyed {
        key: ranker.key(u.id),
        index,
    };
    if units.len() >= PARALLEL_THRESHOLD {
        units.par_iter().enumerate().map(one).collect()
    } else {
        units.iter().enumerate().map(one).collect()
    }
}

fn to_ranked(sorted: &[Keyed], probability: f64, certain: bool) -> Vec<Ranked> {
    let one = |(position, k): (usize, &Keyed)| Ranked {
        index: k.index,
        rank: rank_of(position),
        key_hex: key_hex(&k.key),
        inclusion_probability: probability,
        certain,
    };
    if sorted.len() >= PARALLEL_THRESHOLD {
        sorted.par_iter().enumerate().map(one).collect()
    } else {
        sorted.iter().enumerate().map(one).collect()
    }
}

/// Uniform draw: ranks all units by key (bytes ascending) and returns them ALL in rank order
/// (rank 1 = best), so callers take the first k and have "next rank" substitutes. Weights are
/// ignored. `inclusion_probability` is 0.0 (k is not known here) until
/// [`set_uniform_inclusion`] fills it in. Parallel for large inputs.
pub fn rank_uniform(ranker: &Ranker, units: &[Unit]) -> Vec<Ranked> {
    let mut keyed = keys(ranker, units);
    if keyed.len() >= PARALLEL_THRESHOLD {
        keyed.par_sort_unstable_by(|a, b| by_key(units, a, b));
    } else {
        keyed.sort_unstable_by(|a, b| by_key(units, a, b));
    }
    to_ranked(&keyed, 0.0, false)
}

/// Records a uniform draw of `k` from `n` units: every unit's inclusion probability is k/n
/// (capped at 1), and all are certain when k ≥ n.
pub fn set_uniform_inclusion(ranked: &mut [Ranked], n: usize, k: usize) {
    let (p, certain) = uniform_probability(n, k);
    for r in ranked {
        r.inclusion_probability = p;
        r.certain = certain;
    }
}

pub(crate) fn uniform_probability(n: usize, k: usize) -> (f64, bool) {
    if n == 0 || k >= n {
        (1.0, true)
    } else {
        (k as f64 / n as f64, false)
    }
}

/// A unit's Pareto Q from its position in the input and its key's head (0 in an
/// equal-probability draw).
pub(crate) type QOf<'a> = &'a (dyn Fn(usize, u64) -> f64 + Sync);

/// The best `k` of `part` (which starts at `offset` in the input) by the one bounded top-k.
fn best_of(ranker: &Ranker, part: &[Unit], offset: usize, k: usize, q: QOf<'_>) -> TopK {
    let mut top = TopK::new(k);
    for (i, u) in part.iter().enumerate() {
        let head = ranker.head_of_bytes(u.id.as_bytes());
        top.offer(Cand {
            q: q(offset + i, head),
            head,
            offset: (offset + i) as u64,
            tag: 0,
            cap: 0,
        });
    }
    top
}

/// The best `k` units by (Q, the key's head) and those tied with the k-th, with their full
/// keys, unordered, without sorting the whole input: the input is split into a few pieces per
/// worker thread, each keeps its best k, and the pieces are merged.
pub(crate) fn best_k(ranker: &Ranker, units: &[Unit], k: usize, q: QOf<'_>) -> Vec<Keyed> {
    let top = if units.len() >= PARALLEL_THRESHOLD {
        let pieces = rayon::current_num_threads().max(1) * 2;
        let chunk = units.len().div_ceil(pieces).max(PARALLEL_THRESHOLD);
        units
            .par_chunks(chunk)
            .enumerate()
            .map(|(c, part)| best_of(ranker, part, c * chunk, k, q))
            .reduce_with(|mut a, b| {
                a.merge(b);
                a
            })
    } else {
        Some(best_of(ranker, units, 0, k, q))
    };
    top.map(TopK::finish)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| {
            let index = usize::try_from(c.offset).ok()?;
            let key = ranker.key(units.get(index)?.id);
            Some(Keyed { key, index })
        })
        .collect()
}

/// The best `k` units in rank order (`best_k`, the few kept put in the draw order by their
/// full keys). Agrees exactly with the first k of [`rank_uniform`]; inclusion probability k/n.
pub fn top_k_uniform(ranker: &Ranker, units: &[Unit], k: usize) -> Vec<Ranked> {
    let k = k.min(units.len());
    if k == 0 {
        return Vec::new();
    }
    let mut best = best_k(ranker, units, k, &|_, _| 0.0);
    best.sort_unstable_by(|a, b| by_key(units, a, b));
    best.truncate(k);
    let (p, certain) = uniform_probability(units.len(), k);
    to_ranked(&best, p, certain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::{Purpose, Seed};

    #[test]
    fn top_k_matches_full_rank_across_the_parallel_threshold() {
        let ranker = Ranker::new(&Seed([3u8; 32]), "m", "p", "", Purpose::Targets);
        let ids: Vec<String> = (0..3 * PARALLEL_THRESHOLD + 17)
            .map(|i| format!("id-{i}"))
            .collect();
        let units: Vec<Unit> = ids.iter().map(|s| Unit::new(s)).collect();
        let full = rank_uniform(&ranker, &units);
        for k in [0, 1, 5, 4095, 4096, 9000, units.len(), units.len() + 3] {
            let top = top_k_uniform(&ranker, &units, k);
            assert_eq!(top.len(), k.min(units.len()));
            for (t, f) in top.iter().zip(&full) {
                assert_eq!((t.index, t.rank, &t.key_hex), (f.index, f.rank, &f.key_hex));
            }
        }
    }

    #[test]
    fn duplicate_ids_fall_back_to_input_order() {
        let ranker = Ranker::new(&Seed([3u8; 32]), "m", "p", "", Purpose::Targets);
        let units = [Unit::new("a"), Unit::new("a")];
        let r = rank_uniform(&ranker, &units);
        assert_eq!((r[0].index, r[1].index), (0, 1));
    }
}
