//! The public bundle's frame (docs/draw-algorithm.md V2-9): every row drawn from, read again
//! from the source as the bundle is serialised, so that no more than a window of entries is
//! held at a time. The rows are read once, in position order, each stratum's entries set
//! aside in a temporary file of its own, then serialised stratum by stratum from those files;
//! in a registry snapshot (in id order) each stratum's rows come in id order. Rows out of id
//! order (a registry file that is not a snapshot) are read again stratum by stratum and
//! sorted.

use std::sync::Mutex;

use serde::ser::{Error as _, Serialize, SerializeSeq, Serializer};

use super::rows::RowSource;
use super::{DrawFailure, FramePlace, plan};
use crate::draw::bundle::FrameEntry;
use crate::registry::source::SetAside;

/// Rows read again at a time (the batches of a stratum are read in parallel).
const BATCH: usize = 4096;

/// Rows read again (in parallel batches) before their entries are set aside, in order.
const WINDOW: usize = 16 * BATCH;

/// The frame of a draw, serialised as the bundle's `frame`: by stratum (their names' bytes),
/// then id (bytes; rows with the same id in registry order).
pub(super) struct Frame<'a> {
    source: &'a dyn RowSource,
    plans: &'a [plan::StratumPlan],
    /// The rows drawn from, by position.
    at: Vec<FramePlace>,
    /// Each stratum's rank in the frame's order.
    rank: Vec<u32>,
    fields: &'a [String],
    /// Why serialising stopped, if it did.
    failure: Mutex<Option<DrawFailure>>,
}

impl<'a> Frame<'a> {
    pub(super) fn new(
        source: &'a dyn RowSource,
        plans: &'a [plan::StratumPlan],
        mut at: Vec<FramePlace>,
        fields: &'a [String],
    ) -> Frame<'a> {
        let mut order: Vec<usize> = (0..plans.len()).collect();
        order.sort_by(|&a, &b| plans[a].name.as_bytes().cmp(plans[b].name.as_bytes()));
        let mut rank = vec![u32::MAX; plans.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r as u32;
        }
        at.sort_unstable_by_key(|&(p, _, _)| p);
        Frame {
            source,
            plans,
            at,
            rank,
            fields,
            failure: Mutex::new(None),
        }
    }

    /// The rows drawn from by stratum in the frame's order, then position.
    fn by_stratum(&self) -> Vec<FramePlace> {
        let mut at = self.at.clone();
        let rank = |s: u32| self.rank.get(s as usize).copied().unwrap_or(u32::MAX);
        at.sort_unstable_by_key(|&(p, s, _)| (rank(s), p));
        at
    }

    /// The entries of `places` (in their order) as the source gives them, with their strata.
    fn entries_of(&self, places: &[FramePlace]) -> Result<Vec<(u32, FrameEntry)>, DrawFailure> {
        let (plans, fields) = (self.plans, self.fields);
        let positions: Vec<u64> = places.iter().map(|x| x.0).collect();
        let targets = self.source.targets(&positions)?;
        Ok(targets
            .iter()
            .zip(places)
            .filter_map(|(t, &(_, s, class))| {
                let plan = plans.get(s as usize)?;
                let weight = plan
                    .pareto
                    .then(|| plan.weights.get(class as usize).copied().unwrap_or(1.0));
                Some((s, FrameEntry::of(t, &plan.name, weight, fields)))
            })
            .collect())
    }

    /// One stratum's entries, in the frame's order.
    fn stratum(&self, places: &[FramePlace]) -> Result<Vec<FrameEntry>, DrawFailure> {
        use rayon::prelude::*;
        let parts: Vec<Result<Vec<(u32, FrameEntry)>, DrawFailure>> = places
            .par_chunks(BATCH)
            .map(|chunk| self.entries_of(chunk))
            .collect();
        let mut out = Vec::with_capacity(places.len());
        for part in parts {
            out.extend(part?.into_iter().map(|(_, e)| e));
        }
        // Stable: rows with the same id (a registry not checked) keep their registry order.
        out.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
        Ok(out)
    }

    /// Every entry, in the frame's order (a frame held whole).
    pub(super) fn entries(&self) -> Result<Vec<FrameEntry>, DrawFailure> {
        let mut out = Vec::with_capacity(self.at.len());
        let at = self.by_stratum();
        for places in at.chunk_by(|a, b| a.1 == b.1) {
            out.extend(self.stratum(places)?);
        }
        Ok(out)
    }

    /// Every entry read once, in position order, each stratum's set aside in a file of its
    /// own (by stratum number); `None` when a stratum's ids are not in position order.
    fn set_aside(&self) -> Result<Option<Vec<Aside>>, DrawFailure> {
        use rayon::prelude::*;
        let cannot = |e: std::io::Error| {
            DrawFailure::Io(format!("cannot set the public bundle's frame aside: {e}"))
        };
        let mut aside = Vec::with_capacity(self.plans.len());
        for _ in self.plans {
            aside.push((SetAside::new().map_err(cannot)?, String::new(), 0u64));
        }
        for window in self.at.chunks(WINDOW) {
            let parts: Vec<Result<Vec<(u32, FrameEntry)>, DrawFailure>> = window
                .par_chunks(BATCH)
                .map(|chunk| self.entries_of(chunk))
                .collect();
            for part in parts {
                for (s, e) in part? {
                    let Some((out, last, n)) = aside.get_mut(s as usize) else {
                        continue;
                    };
                    if e.id.as_bytes() < last.as_bytes() {
                        return Ok(None);
                    }
                    put(out.writer(), &e).map_err(cannot)?;
                    last.clone_from(&e.id);
                    *n += 1;
                }
            }
        }
        let mut files = Vec::with_capacity(aside.len());
        for (out, _, n) in aside {
            files.push(Aside {
                file: out,
                entries: n,
            });
        }
        Ok(Some(files))
    }

    /// Serialises the entries set aside, stratum by stratum in the frame's order.
    fn serialize_aside<S: SerializeSeq>(
        &self,
        seq: &mut S,
        aside: Vec<Aside>,
    ) -> Result<(), S::Error> {
        let mut order: Vec<(u32, usize)> = (0..aside.len())
            .map(|s| (self.rank.get(s).copied().unwrap_or(u32::MAX), s))
            .collect();
        order.sort_unstable();
        let mut aside: Vec<Option<Aside>> = aside.into_iter().map(Some).collect();
        for (_, s) in order {
            let (Some(Aside { file, entries }), Some(plan)) =
                (aside.get_mut(s).and_then(Option::take), self.plans.get(s))
            else {
                continue;
            };
            let mut input = file
                .into_reader()
                .map_err(|e| S::Error::custom(format!("cannot read the frame set aside: {e}")))?;
            for _ in 0..entries {
                let e = take(&mut input, &plan.name).map_err(|e| {
                    S::Error::custom(format!("cannot read the frame set aside: {e}"))
                })?;
                seq.serialize_element(&e)?;
            }
        }
        Ok(())
    }

    /// Why serialising stopped, if it did (reading the rows again failed).
    pub(super) fn failure(&self) -> Option<DrawFailure> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }
}

impl Serialize for Frame<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.at.len()))?;
        let aside = match self.set_aside() {
            Ok(aside) => aside,
            Err(e) => {
                let said = e.to_string();
                if let Ok(mut f) = self.failure.lock() {
                    *f = Some(e);
                }
                return Err(S::Error::custom(said));
            }
        };
        if let Some(aside) = aside {
            self.serialize_aside(&mut seq, aside)?;
            return seq.end();
        }
        let at = self.by_stratum();
        for places in at.chunk_by(|a, b| a.1 == b.1) {
            let entries = match self.stratum(places) {
                Ok(e) => e,
                Err(e) => {
                    let said = e.to_string();
                    if let Ok(mut f) = self.failure.lock() {
                        *f = Some(e);
                    }
                    return Err(S::Error::custom(said));
                }
            };
            for e in &entries {
                seq.serialize_element(e)?;
            }
        }
        seq.end()
    }
}

impl std::fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({} rows)", self.at.len())
    }
}

/// One stratum's entries set aside, and how many it holds.
struct Aside {
    file: SetAside,
    entries: u64,
}

/// Sets `e` aside (its stratum is its file's): its id, weight and fields, each a length and
/// its bytes.
fn put(out: &mut impl std::io::Write, e: &FrameEntry) -> std::io::Result<()> {
    fn text(out: &mut impl std::io::Write, t: &str) -> std::io::Result<()> {
        out.write_all(&(t.len() as u64).to_le_bytes())?;
        out.write_all(t.as_bytes())
    }
    text(out, &e.id)?;
    match &e.weight {
        Some(w) => {
            out.write_all(&[1])?;
            text(out, w)?;
        }
        None => out.write_all(&[0])?,
    }
    out.write_all(&(e.fields.len() as u64).to_le_bytes())?;
    for f in &e.fields {
        text(out, f)?;
    }
    Ok(())
}

/// The entry [`put`] set aside next, of stratum `stratum`.
fn take(input: &mut impl std::io::BufRead, stratum: &str) -> std::io::Result<FrameEntry> {
    fn number(input: &mut impl std::io::BufRead) -> std::io::Result<u64> {
        let mut n = [0u8; 8];
        input.read_exact(&mut n)?;
        Ok(u64::from_le_bytes(n))
    }
    fn text(input: &mut impl std::io::BufRead) -> std::io::Result<String> {
        let len = usize::try_from(number(input)?).map_err(std::io::Error::other)?;
        let mut bytes = vec![0u8; len];
        input.read_exact(&mut bytes)?;
        String::from_utf8(bytes).map_err(std::io::Error::other)
    }
    let id = text(input)?;
    let mut flag = [0u8; 1];
    input.read_exact(&mut flag)?;
    let weight = if flag[0] == 1 {
        Some(text(input)?)
    } else {
        None
    };
    let n = number(input)?;
    let mut fields = Vec::new();
    for _ in 0..n {
        fields.push(text(input)?);
    }
    Ok(FrameEntry {
        id,
        stratum: stratum.to_string(),
        weight,
        fields,
    })
}
