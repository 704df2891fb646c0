//! The one draw order and the one bounded top-k.
//!
//! [`draw_order`] is how every ranking in a draw is ordered: certainty units first, then Q
//! ascending (0 for equal-probability draws), then the key's bytes, then the id's bytes, then
//! the position. [`TopK`] keeps the best `k` rows of a stratum by the start of that order (Q,
//! then the key's first 8 bytes) as (Q, head, position, tag) without holding the stratum. Two
//! rows compare equal there only if their Q and key heads are equal (for distinct ids, a 2⁻⁶⁴
//! event). Rows tied with the k-th are all kept, so the exact order can be settled with
//! [`draw_order`] once the few rows kept have their full keys and ids.

use std::cmp::Ordering;

use super::ranker::head;

/// A row's place in the draw order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    /// Taken with certainty (λ = 1).
    pub certain: bool,
    /// Pareto's Q (0 for uniform draws and certainty units).
    pub q: f64,
    pub key: [u8; 32],
    pub id: &'a [u8],
    /// Its position in the input (only matters for duplicate ids).
    pub position: u64,
}

/// The draw order: certainty units first, then Q ascending, then key bytes ascending (the first
/// 8 as a big-endian number first, which decides almost every comparison cheaply), then id
/// bytes, then position.
#[inline]
pub(crate) fn draw_order(a: &Place<'_>, b: &Place<'_>) -> Ordering {
    b.certain
        .cmp(&a.certain)
        .then_with(|| a.q.total_cmp(&b.q))
        .then_with(|| head(&a.key).cmp(&head(&b.key)))
        .then_with(|| a.key.cmp(&b.key))
        .then_with(|| a.id.cmp(b.id))
        .then(a.position.cmp(&b.position))
}

/// A candidate row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cand {
    /// Pareto's Q (0 for uniform draws and certainty units).
    pub q: f64,
    /// The key's first 8 bytes, big-endian.
    pub head: u64,
    pub offset: u64,
    /// The caller's tag (the weight class).
    pub tag: u32,
    /// The caller's reference to the row's id and name, if kept.
    pub cap: u32,
}

impl Cand {
    fn cmp_head(&self, other: &Cand) -> Ordering {
        self.q.total_cmp(&other.q).then(self.head.cmp(&other.head))
    }

    fn cmp_offset(&self, other: &Cand) -> Ordering {
        self.cmp_head(other).then(self.offset.cmp(&other.offset))
    }
}

/// The best `k` candidates by (Q, head), and every candidate tied with the k-th. Candidates are
/// buffered up to a capacity; a full buffer is cut back, and the k-th's (Q, head) becomes the
/// bound later candidates must not exceed to be buffered at all.
#[derive(Debug)]
pub(crate) struct TopK {
    k: usize,
    cap: usize,
    buf: Vec<Cand>,
    bound: Option<(f64, u64)>,
}

impl TopK {
    /// Keeps the best `k`; `usize::MAX` keeps everything.
    pub fn new(k: usize) -> TopK {
        let cap = if k == usize::MAX {
            usize::MAX
        } else {
            k.saturating_add(k / 2).saturating_add(64)
        };
        TopK {
            k,
            cap,
            // Sized once up to 2 MiB: grown by doubling, the buffer would reach up to twice
            // its bound, each step's old copy freed on a worker thread (a national draw's
            // strata keep some 50 000 candidates each, in every batch).
            buf: Vec::with_capacity(cap.min(1 << 16)),
            bound: None,
        }
    }

    /// Offers a candidate.
    #[inline]
    pub(crate) fn offer(&mut self, c: Cand) {
        if self.k == 0 {
            return;
        }
        if let Some((q, h)) = self.bound
            && c.q.total_cmp(&q).then(c.head.cmp(&h)) == Ordering::Greater
        {
            return;
        }
        self.buf.push(c);
        if self.buf.len() >= self.cap {
            self.prune();
        }
    }

    /// Cuts the buffer back to its best `k` and the candidates tied with the k-th.
    fn prune(&mut self) {
        if self.k == 0 {
            self.buf.clear();
            return;
        }
        if self.buf.len() <= self.k {
            return;
        }
        let k = self.k;
        self.buf.select_nth_unstable_by(k - 1, Cand::cmp_offset);
        let kth = self.buf[k - 1];
        let mut keep = k;
        for i in k..self.buf.len() {
            if self.buf[i].cmp_head(&kth) == Ordering::Equal {
                self.buf.swap(keep, i);
                keep += 1;
            }
        }
        self.buf.truncate(keep);
        self.bound = Some((kth.q, kth.head));
    }

    /// Adds another thread's candidates for the same stratum.
    pub fn merge(&mut self, other: TopK) {
        self.buf.extend(other.buf);
        self.bound = None;
        self.prune();
    }

    /// The best `k` and the rows tied with the k-th, unordered.
    pub fn finish(mut self) -> Vec<Cand> {
        self.prune();
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_k_and_ties() {
        let mut x = 88172645463325252u64;
        let mut rows = Vec::new();
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few distinct heads, so ties are common.
            rows.push(Cand {
                q: 0.0,
                head: x % 3000,
                offset: i,
                tag: 0,
                cap: 0,
            });
        }
        let mut sorted = rows.clone();
        sorted.sort_by(Cand::cmp_offset);
        for k in [0usize, 1, 5, 100, 7000, 20_000] {
            let mut a = TopK::new(k);
            let mut b = TopK::new(k);
            for (i, c) in rows.iter().enumerate() {
                if i % 3 == 0 { a.offer(*c) } else { b.offer(*c) }
            }
            a.merge(b);
            let mut got = a.finish();
            got.sort_by(Cand::cmp_offset);
            let want: Vec<Cand> = match k {
                0 => Vec::new(),
                _ => {
                    let kth = sorted[k.min(sorted.len()) - 1];
                    sorted
                        .iter()
                        .enumerate()
                        .filter(|(i, c)| *i < k || c.cmp_head(&kth) == Ordering::Equal)
                        .map(|(_, c)| *c)
                        .collect()
                }
            };
            assert_eq!(got, want, "k = {k}");
        }
    }
}
