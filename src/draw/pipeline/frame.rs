//! The public bundle's frame (docs/draw-algorithm.md V2-9): every row drawn from, read again
//! from the source stratum by stratum as the bundle is serialised, so that no more than one
//! stratum's entries are held at a time.

use std::sync::Mutex;

use serde::ser::{Error as _, Serialize, SerializeSeq as _, Serializer};

use super::rows::RowSource;
use super::{DrawFailure, FramePlace, plan};
use crate::draw::bundle::FrameEntry;

/// Rows read again at a time (the batches of a stratum are read in parallel).
const BATCH: usize = 4096;

/// The frame of a draw, serialised as the bundle's `frame`: by stratum (their names' bytes),
/// then id (bytes; rows with the same id in registry order).
pub(super) struct Frame<'a> {
    source: &'a dyn RowSource,
    plans: &'a [plan::StratumPlan],
    /// The rows drawn from, by stratum in the frame's order, then position.
    at: Vec<FramePlace>,
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
        at.sort_unstable_by_key(|&(p, s, _)| {
            (rank.get(s as usize).copied().unwrap_or(u32::MAX), p)
        });
        Frame {
            source,
            plans,
            at,
            fields,
            failure: Mutex::new(None),
        }
    }

    /// The rows of each stratum in turn.
    fn strata(&self) -> impl Iterator<Item = &[FramePlace]> {
        self.at.chunk_by(|a, b| a.1 == b.1)
    }

    /// One stratum's entries, in the frame's order.
    fn stratum(&self, places: &[FramePlace]) -> Result<Vec<FrameEntry>, DrawFailure> {
        use rayon::prelude::*;
        let (source, plans, fields) = (self.source, self.plans, self.fields);
        let parts: Vec<Result<Vec<FrameEntry>, DrawFailure>> = places
            .par_chunks(BATCH)
            .map(|chunk| {
                let positions: Vec<u64> = chunk.iter().map(|x| x.0).collect();
                let targets = source.targets(&positions)?;
                Ok(targets
                    .iter()
                    .zip(chunk)
                    .filter_map(|(t, &(_, s, class))| {
                        let plan = plans.get(s as usize)?;
                        let weight = plan
                            .pareto
                            .then(|| plan.weights.get(class as usize).copied().unwrap_or(1.0));
                        Some(FrameEntry::of(t, &plan.name, weight, fields))
                    })
                    .collect())
            })
            .collect();
        let mut out = Vec::with_capacity(places.len());
        for part in parts {
            out.extend(part?);
        }
        // Stable: rows with the same id (a registry not checked) keep their registry order.
        out.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
        Ok(out)
    }

    /// Every entry, in the frame's order (a frame held whole).
    pub(super) fn entries(&self) -> Result<Vec<FrameEntry>, DrawFailure> {
        let mut out = Vec::with_capacity(self.at.len());
        for places in self.strata() {
            out.extend(self.stratum(places)?);
        }
        Ok(out)
    }

    /// Why serialising stopped, if it did (reading the rows again failed).
    pub(super) fn failure(&self) -> Option<DrawFailure> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }
}

impl Serialize for Frame<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.at.len()))?;
        for places in self.strata() {
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
