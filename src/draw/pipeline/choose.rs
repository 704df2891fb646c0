//! Selecting: the best k of every stratum with the one bounded top-k, in parallel over the
//! batches; the kept rows' ids and names (kept while classifying, or read from the source);
//! their full keys; the one draw order; ranks and inclusion probabilities.

use rayon::prelude::*;

use super::plan::{Fate, StratumPlan};
use super::rows::{Batch, CAPTURED, Classified, NONE, RowSource};
use super::{DrawFailure, FramePlaces};
use crate::draw::manifest::{Probability, Selected, Substitute};
use crate::draw::ranker::{head, uniform_from_head};
use crate::draw::select::{Cand, Place, TopK, draw_order};
use crate::draw::uniform::uniform_probability;
use crate::draw::{key_hex, rank_of};
use crate::registry::source::trim_bytes;

/// A kept row with its id and name: stratum, rank (once ordered; 0 = not drawn), whether it is
/// a certainty unit, its candidate entry, full key, id and name.
struct Row {
    stratum: u32,
    rank: u32,
    certain: bool,
    cand: Cand,
    key: [u8; 32],
    id: String,
    name: String,
    problem: Option<Problem>,
}

impl Row {
    fn place(&self) -> Place<'_> {
        Place {
            certain: self.certain,
            q: self.cand.q,
            key: self.key,
            id: self.id.as_bytes(),
            position: self.cand.offset,
        }
    }
}

/// The drawn targets in (stratum, rank) order, their rows' positions, and the substitutes.
pub(crate) type Chosen = (Vec<Selected>, Vec<u64>, Vec<Substitute>);

/// The drawn rows in (stratum, rank) order, their positions, and the first `extra[s]`
/// substitutes of every stratum `s` (ranks k + 1, …). `decimal`: probabilities as
/// `suiji-manifest/2` writes them. With `frame`, also where every row drawn from is (the
/// public bundle's frame), taken from the classification as it is let go.
pub(crate) fn select(
    source: &dyn RowSource,
    c: &mut Classified,
    plans: &[StratumPlan],
    fates: &[Fate],
    (extra, decimal, frame): (&[usize], bool, bool),
) -> Result<(Chosen, Option<FramePlaces>), DrawFailure> {
    let kept = best(c, plans, fates, extra);
    // The rows drawn from are no longer needed, nor (once read) the kept ids and names.
    let at = frame
        .then(|| super::frame_positions(c, fates))
        .transpose()?;
    for b in &mut c.batches {
        b.drawn = Vec::new();
    }
    let mut rows = keyed(source, c, plans, kept)?;
    for b in &mut c.batches {
        b.captures = Vec::new();
        b.capture_bytes = Vec::new();
    }
    rows.par_sort_unstable_by(|a, b| {
        a.stratum
            .cmp(&b.stratum)
            .then_with(|| draw_order(&a.place(), &b.place()))
    });
    let mut position = 0usize;
    let mut current = u32::MAX;
    for r in &mut rows {
        if r.stratum != current {
            current = r.stratum;
            position = 0;
        }
        let s = r.stratum as usize;
        r.rank = if position < plans[s].k + extra.get(s).copied().unwrap_or(0) {
            rank_of(position)
        } else {
            0
        };
        position += 1;
    }
    rows.retain(|r| r.rank != 0);
    let (rows, substitutes) = split_substitutes(rows, plans);
    check_drawn(source, &rows)?;
    let drawn_at: Vec<u64> = rows.iter().map(|r| r.cand.offset).collect();
    let mut selected = Vec::with_capacity(rows.len());
    rows.into_par_iter()
        .map(|row| {
            let plan = &plans[row.stratum as usize];
            let p = if plan.pareto {
                plan.classes.get(row.cand.tag as usize).map_or(0.0, |x| x.0)
            } else {
                uniform_probability(plan.n, plan.k.min(plan.n)).0
            };
            let p = if decimal {
                Probability::Decimal(p)
            } else {
                Probability::Number(p)
            };
            Selected {
                rank: row.rank,
                stratum: plan.name.clone(),
                target_id: row.id,
                target_name: row.name,
                key: key_hex(&row.key),
                inclusion_probability: p,
                team: Vec::new(),
                unstaffed: None,
            }
        })
        .collect_into_vec(&mut selected);
    Ok(((selected, drawn_at, substitutes), at))
}

/// The drawn rows (ranks up to k) and the substitutes after them.
fn split_substitutes(rows: Vec<Row>, plans: &[StratumPlan]) -> (Vec<Row>, Vec<Substitute>) {
    // The substitutes (a fifth of the drawn) are taken out; the drawn stay where they are.
    let mut rows = rows;
    let spare: Vec<Row> = rows
        .extract_if(.., |r| (r.rank as usize) > plans[r.stratum as usize].k)
        .collect();
    let substitutes = spare
        .into_iter()
        .map(|r| Substitute {
            stratum: plans[r.stratum as usize].name.clone(),
            rank: r.rank,
            target_id: r.id,
            key: key_hex(&r.key),
        })
        .collect();
    (rows, substitutes)
}

/// Per stratum, the certainty units and the best k of the rest (and rows tied with the k-th):
/// (stratum, certain, candidate), in position order.
fn best(
    c: &Classified,
    plans: &[StratumPlan],
    fates: &[Fate],
    extra: &[usize],
) -> Vec<(usize, bool, Cand)> {
    // Kept ids and names: batch b's are numbered from first[b].
    let mut first = Vec::with_capacity(c.batches.len());
    let mut next = 0u32;
    for b in &c.batches {
        first.push(next);
        next += b.captures.len() as u32;
    }
    let tops: Vec<Vec<(TopK, TopK)>> = c
        .batches
        .par_iter()
        .zip(&first)
        .map(|(b, &first)| offer(b, first, plans, fates, extra))
        .collect();
    let mut merged: Vec<(TopK, TopK)> = Vec::new();
    for t in tops {
        if merged.is_empty() {
            merged = t;
            continue;
        }
        for ((a, b), (x, y)) in t.into_iter().zip(&mut merged) {
            x.merge(a);
            y.merge(b);
        }
    }
    let mut kept: Vec<(usize, bool, Cand)> = merged
        .into_iter()
        .enumerate()
        .flat_map(|(s, (certain, rest))| {
            let certain = certain.finish().into_iter().map(move |c| (s, true, c));
            certain.chain(rest.finish().into_iter().map(move |c| (s, false, c)))
        })
        .collect();
    kept.sort_unstable_by_key(|(_, _, c)| c.offset);
    kept
}

/// One batch's rows offered to its strata's top-k (certainty units, the rest).
fn offer(
    b: &Batch,
    first: u32,
    plans: &[StratumPlan],
    fates: &[Fate],
    extra: &[usize],
) -> Vec<(TopK, TopK)> {
    let mut cursor = first;
    let mut tops: Vec<(TopK, TopK)> = plans
        .iter()
        .enumerate()
        .map(|(s, p)| {
            let certain = p.classes.iter().any(|c| c.1);
            let all = if certain { usize::MAX } else { 0 };
            (
                TopK::new(all),
                TopK::new(p.k + extra.get(s).copied().unwrap_or(0)),
            )
        })
        .collect();
    for row in &b.drawn {
        let (head, offset) = (row.head, b.base + u64::from(row.offset & !CAPTURED));
        let cap = if row.offset & CAPTURED != 0 {
            cursor += 1;
            cursor - 1
        } else {
            NONE
        };
        let Some(&g) = b.map.get(row.profile as usize) else {
            continue;
        };
        let Some(Fate::Drawn(s, class)) = fates.get(g as usize).copied() else {
            continue;
        };
        let plan = &plans[s as usize];
        let (certain, rest) = &mut tops[s as usize];
        let mut cand = Cand {
            q: 0.0,
            head,
            offset,
            tag: class,
            cap,
        };
        if !plan.pareto {
            rest.offer(cand);
            continue;
        }
        let Some(&(lambda, is_certain, odds)) = plan.classes.get(class as usize) else {
            continue;
        };
        if is_certain {
            certain.offer(cand);
            continue;
        }
        cand.q = if lambda == 0.0 {
            f64::INFINITY
        } else {
            let u = uniform_from_head(head);
            (u / (1.0 - u)) / odds
        };
        rest.offer(cand);
    }
    tops
}

/// The id and name of a kept id-and-name number.
fn captured(c: &Classified, cap: u32) -> Option<(&[u8], &[u8])> {
    let mut base = 0u32;
    for b in &c.batches {
        let n = b.captures.len() as u32;
        if cap < base + n {
            let &(at, id_len, name_len) = b.captures.get((cap - base) as usize)?;
            let (at, id_len, name_len) = (at as usize, id_len as usize, name_len as usize);
            return Some((
                b.capture_bytes.get(at..at + id_len)?,
                b.capture_bytes.get(at + id_len..at + id_len + name_len)?,
            ));
        }
        base += n;
    }
    None
}

/// The kept rows with their ids, names and full keys, checked as the registry reader checks
/// those cells (for raw cells) and against the heads computed while classifying.
fn keyed(
    source: &dyn RowSource,
    c: &Classified,
    plans: &[StratumPlan],
    kept: Vec<(usize, bool, Cand)>,
) -> Result<Vec<Row>, DrawFailure> {
    let offsets: Vec<u64> = kept
        .iter()
        .filter(|(_, _, c)| c.cap == NONE)
        .map(|(_, _, c)| c.offset)
        .collect();
    let read = source.id_names(&offsets)?;
    drop(offsets);
    let mut next_read = read.iter();
    let cells: Vec<(&[u8], &[u8])> = kept
        .iter()
        .map(|(_, _, cand)| {
            let got = if cand.cap == NONE {
                next_read.next().map(|(i, n)| (&i[..], &n[..]))
            } else {
                captured(c, cand.cap)
            };
            got.unwrap_or_default()
        })
        .collect();
    let raw = source.raw_cells();
    let mut rows: Vec<Row> = Vec::with_capacity(kept.len());
    kept.par_iter()
        .zip(cells.par_iter())
        .map(|(&(s, certain, cand), &(id, name))| {
            let (tid, tname) = (trim_bytes(id), trim_bytes(name));
            let key = plans[s]
                .ranker
                .key_of_bytes(tid.unwrap_or_default().as_bytes());
            let problem = if tid.is_none() || tname.is_none() {
                Some(Problem::Encoding)
            } else if raw && tname.is_some_and(str::is_empty) {
                Some(Problem::Flagged)
            } else if head(&key) != cand.head {
                Some(Problem::Changed)
            } else {
                None
            };
            Row {
                stratum: s as u32,
                rank: 0,
                certain,
                cand,
                key,
                id: tid.unwrap_or_default().to_string(),
                name: tname.unwrap_or_default().to_string(),
                problem,
            }
        })
        .collect_into_vec(&mut rows);
    if rows.iter().any(|r| r.problem == Some(Problem::Changed)) {
        return Err(source.problems(Vec::new(), Vec::new(), true));
    }
    Ok(rows)
}

/// What is wrong with a kept row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    /// A cell the registry reader refuses (an empty name).
    Flagged,
    /// Not UTF-8.
    Encoding,
    /// Its key is not the one computed while classifying: the file changed.
    Changed,
}

/// Rows the registry reader would refuse are reported (at most this many of each kind).
const MAX_REPORTED: usize = 200;

/// Fails the draw if a drawn row has a cell the registry reader refuses.
fn check_drawn(source: &dyn RowSource, rows: &[Row]) -> Result<(), DrawFailure> {
    let of = |p: Problem| -> Vec<u64> {
        rows.iter()
            .filter(|r| r.problem == Some(p))
            .map(|r| r.cand.offset)
            .take(MAX_REPORTED)
            .collect()
    };
    let (flagged, encoding) = (of(Problem::Flagged), of(Problem::Encoding));
    if flagged.is_empty() && encoding.is_empty() {
        return Ok(());
    }
    Err(source.problems(flagged, encoding, false))
}
