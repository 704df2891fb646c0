//! Equal-probability draws: rank by key, bytes ascending.

use std::cmp::Ordering;

use rayon::prelude::*;

use super::{PARALLEL_THRESHOLD, Ranked, Ranker, Unit, key_hex, rank_of};

/// A unit's key and its input index.
#[derive(Clone, Copy)]
pub(crate) struct Keyed {
    pub key: [u8; 32],
    pub index: usize,
}

/// The draw order: key bytes ascending, then id bytes ascending, then input index (the last two
/// only matter for equal keys, i.e. duplicate ids, which callers should reject).
pub(crate) fn by_key(units: &[Unit], a: &Keyed, b: &Keyed) -> Ordering {
    // The first 8 bytes as a big-endian integer decide almost every comparison cheaply.
    head(&a.key)
        .cmp(&head(&b.key))
        .then_with(|| a.key.cmp(&b.key))
        .then_with(|| ids(units, a.index).cmp(ids(units, b.index)))
        .then_with(|| a.index.cmp(&b.index))
}

#[inline]
fn head(key: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key[..8]);
    u64::from_be_bytes(first)
}

fn ids<'a>(units: &'a [Unit], index: usize) -> &'a [u8] {
    units.get(index).map_or(&[], |u| u.id.as_bytes())
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

/// Keeps the best `k` (≥ 1) of `buf`, unordered; returns the worst of those kept.
fn prune(units: &[Unit], buf: &mut Vec<Keyed>, k: usize) -> Option<Keyed> {
    if buf.len() > k {
        buf.select_nth_unstable_by(k - 1, |a, b| by_key(units, a, b));
        buf.truncate(k);
        buf.last().copied()
    } else {
        None
    }
}

/// The best `k` (≥ 1) of `part` (which starts at `offset` in `units`), unordered. Candidates are
/// buffered up to max(2k, 1024); when the buffer fills it is cut back to its best k, and from
/// then on a unit ranked after the k-th best so far is not even buffered.
fn best_of(ranker: &Ranker, units: &[Unit], part: &[Unit], offset: usize, k: usize) -> Vec<Keyed> {
    let cap = k.saturating_mul(2).max(1024);
    let mut buf: Vec<Keyed> = Vec::with_capacity(cap.min(part.len()));
    let mut bound: Option<Keyed> = None;
    // The bound's first 8 bytes: a key whose first 8 bytes are larger cannot be in the top k.
    let mut bound_head = u64::MAX;
    for (i, u) in part.iter().enumerate() {
        let key = ranker.key(u.id);
        let h = head(&key);
        if h > bound_head {
            continue;
        }
        let cand = Keyed {
            key,
            index: offset + i,
        };
        if let Some(b) = &bound
            && by_key(units, &cand, b) == Ordering::Greater
        {
            continue;
        }
        buf.push(cand);
        if buf.len() >= cap {
            bound = prune(units, &mut buf, k);
            bound_head = bound.as_ref().map_or(u64::MAX, |b| head(&b.key));
        }
    }
    buf
}

/// The best `k` units in rank order, without sorting the whole input: the input is split into a
/// few pieces per worker thread, each keeps its best k (see `best_of`), and the pieces are
/// merged. Agrees exactly with the first k of [`rank_uniform`]; inclusion probability k/n.
pub fn top_k_uniform(ranker: &Ranker, units: &[Unit], k: usize) -> Vec<Ranked> {
    let k = k.min(units.len());
    if k == 0 {
        return Vec::new();
    }
    let mut best = if units.len() >= PARALLEL_THRESHOLD {
        let pieces = rayon::current_num_threads().max(1) * 2;
        let chunk = units.len().div_ceil(pieces).max(PARALLEL_THRESHOLD);
        units
            .par_chunks(chunk)
            .enumerate()
            .map(|(c, part)| best_of(ranker, units, part, c * chunk, k))
            .reduce(Vec::new, |mut a, mut b| {
                if a.len() < b.len() {
                    std::mem::swap(&mut a, &mut b);
                }
                a.append(&mut b);
                prune(units, &mut a, k);
                a
            })
    } else {
        best_of(ranker, units, units, 0, k)
    };
    prune(units, &mut best, k);
    best.sort_unstable_by(|a, b| by_key(units, a, b));
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
