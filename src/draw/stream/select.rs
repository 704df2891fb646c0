//! Pass 2's bounded selection: the best `k` rows of a stratum by the draw order, kept as
//! (Q, first 8 key bytes, file offset) with the row's id and name, without holding the stratum.

use std::cmp::Ordering;

use crate::draw::Ranker;

/// A candidate row. Its id and name are in the owning [`TopK`]'s arena, one after the other.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cand {
    /// Pareto's Q (0 for uniform draws and certainty units).
    pub q: f64,
    /// The key's first 8 bytes, big-endian.
    pub head: u64,
    pub offset: u64,
    /// The caller's tag (the weight class).
    pub tag: u32,
    at: u32,
    id_len: u32,
    name_len: u32,
}

/// The first 8 bytes of a key as a number: they decide nearly every comparison.
pub(crate) fn head(key: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key[..8]);
    u64::from_be_bytes(first)
}

/// The best `k` candidates offered, by (Q, key, id bytes, file offset) ascending: the order of
/// `rank_pareto` (Q, then `by_key`) and of `rank_uniform` (all Q = 0). Candidates are buffered up
/// to a capacity; a full buffer is cut back to its best `k`, whose worst becomes the bound that
/// later candidates must beat to be buffered at all.
#[derive(Debug)]
pub(crate) struct TopK {
    k: usize,
    cap: usize,
    buf: Vec<Cand>,
    arena: Vec<u8>,
    bound: Option<Cand>,
}

impl TopK {
    pub fn new(k: usize) -> TopK {
        let cap = if k == usize::MAX {
            usize::MAX
        } else {
            k.saturating_add(k / 2).saturating_add(64)
        };
        TopK {
            k,
            cap,
            buf: Vec::new(),
            arena: Vec::new(),
            bound: None,
        }
    }

    fn id<'a>(arena: &'a [u8], c: &Cand) -> &'a [u8] {
        let at = c.at as usize;
        arena.get(at..at + c.id_len as usize).unwrap_or_default()
    }

    fn name<'a>(arena: &'a [u8], c: &Cand) -> &'a [u8] {
        let at = c.at as usize + c.id_len as usize;
        arena.get(at..at + c.name_len as usize).unwrap_or_default()
    }

    fn cmp(ranker: &Ranker, arena: &[u8], a: &Cand, b: &Cand) -> Ordering {
        a.q.total_cmp(&b.q)
            .then(a.head.cmp(&b.head))
            .then_with(|| {
                let (ia, ib) = (Self::id(arena, a), Self::id(arena, b));
                ranker
                    .key_of_bytes(ia)
                    .cmp(&ranker.key_of_bytes(ib))
                    .then_with(|| ia.cmp(ib))
            })
            .then(a.offset.cmp(&b.offset))
    }

    /// Whether a candidate with these values would be buffered.
    #[inline]
    pub fn admits(&self, ranker: &Ranker, q: f64, key: &[u8; 32], id: &[u8], offset: u64) -> bool {
        if self.k == 0 {
            return false;
        }
        let Some(b) = &self.bound else {
            return true;
        };
        q.total_cmp(&b.q)
            .then(head(key).cmp(&b.head))
            .then_with(|| {
                let bid = Self::id(&self.arena, b);
                key.cmp(&ranker.key_of_bytes(bid)).then_with(|| id.cmp(bid))
            })
            .then(offset.cmp(&b.offset))
            == Ordering::Less
    }

    /// Buffers a candidate (call after [`TopK::admits`]).
    #[allow(clippy::too_many_arguments)]
    pub fn push_tagged(
        &mut self,
        ranker: &Ranker,
        q: f64,
        key: &[u8; 32],
        id: &[u8],
        name: &[u8],
        offset: u64,
        tag: u32,
    ) {
        let at = self.arena.len() as u32;
        self.arena.extend_from_slice(id);
        self.arena.extend_from_slice(name);
        self.buf.push(Cand {
            q,
            head: head(key),
            offset,
            tag,
            at,
            id_len: id.len() as u32,
            name_len: name.len() as u32,
        });
        if self.buf.len() >= self.cap {
            self.prune(ranker);
        }
    }

    /// Cuts the buffer back to its best `k` (unordered) and compacts the arena.
    fn prune(&mut self, ranker: &Ranker) {
        if self.buf.len() > self.k && self.k > 0 {
            let arena = &self.arena;
            self.buf
                .select_nth_unstable_by(self.k - 1, |a, b| Self::cmp(ranker, arena, a, b));
            self.buf.truncate(self.k);
            self.bound = self.buf.last().copied();
        } else if self.k == 0 {
            self.buf.clear();
        }
        let mut arena = Vec::with_capacity(self.arena.len().min(self.buf.len() * 48));
        for c in &mut self.buf {
            let len = (c.id_len + c.name_len) as usize;
            let from = c.at as usize;
            c.at = arena.len() as u32;
            arena.extend_from_slice(self.arena.get(from..from + len).unwrap_or_default());
        }
        if let Some(b) = &mut self.bound {
            // The bound is the last kept candidate: point it at the compacted copy.
            if let Some(last) = self.buf.last() {
                *b = *last;
            }
        }
        self.arena = arena;
    }

    /// Adds another thread's candidates for the same stratum.
    pub fn merge(&mut self, ranker: &Ranker, other: TopK) {
        let base = self.arena.len() as u32;
        self.arena.extend_from_slice(&other.arena);
        self.buf.extend(other.buf.into_iter().map(|mut c| {
            c.at += base;
            c
        }));
        self.bound = None;
        if self.buf.len() > self.k {
            self.prune(ranker);
        }
    }

    /// The best `k` in order, as (candidate, id bytes, name bytes).
    pub fn finish(mut self, ranker: &Ranker) -> Vec<(Cand, Vec<u8>, Vec<u8>)> {
        if self.buf.len() > self.k {
            self.prune(ranker);
        }
        let arena = &self.arena;
        self.buf
            .sort_unstable_by(|a, b| Self::cmp(ranker, arena, a, b));
        self.buf
            .iter()
            .map(|c| {
                (
                    *c,
                    Self::id(arena, c).to_vec(),
                    Self::name(arena, c).to_vec(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::{Purpose, Seed, Unit, rank_uniform};

    #[test]
    fn keeps_the_first_k_of_the_full_ranking() {
        let ranker = Ranker::new(&Seed([5u8; 32]), "m", "p", "s", Purpose::Targets);
        let ids: Vec<String> = (0..5000).map(|i| format!("T{i:07}")).collect();
        let units: Vec<Unit> = ids.iter().map(|s| Unit::new(s)).collect();
        let full = rank_uniform(&ranker, &units);
        for k in [0usize, 1, 7, 100, 4999, 5000] {
            let mut a = TopK::new(k);
            let mut b = TopK::new(k);
            for (i, id) in ids.iter().enumerate() {
                let key = ranker.key(id);
                let t = if i % 3 == 0 { &mut a } else { &mut b };
                if t.admits(&ranker, 0.0, &key, id.as_bytes(), i as u64) {
                    t.push_tagged(&ranker, 0.0, &key, id.as_bytes(), b"n", i as u64, 0);
                }
            }
            a.merge(&ranker, b);
            let got: Vec<u64> = a.finish(&ranker).iter().map(|c| c.0.offset).collect();
            let want: Vec<u64> = full.iter().take(k).map(|r| r.index as u64).collect();
            assert_eq!(got, want, "k = {k}");
        }
    }
}
