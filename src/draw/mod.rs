//! The draw core: pure, verifiable random selection of targets and inspector teams.
//!
//! Every draw is a pure function of the algorithm version, a 256-bit [`Seed`], the matter id,
//! the period id, the stratum, the entity ids (and weights) and the sample size `k`. Entities
//! are ranked by a keyed SHA-256 hash of their id ([`Ranker`]), so the result does not depend
//! on row order and adding or removing one entity never reorders the others. Nothing here
//! reads files, the clock, the OS or a random number generator: a third party holding the
//! same inputs re-runs the draw and gets the same bytes. `docs/draw-algorithm.md` specifies
//! the algorithm byte for byte.
//!
//! - [`pipeline::run`]: one draw end to end, over rows in memory or a registry file.
//! - [`rank_uniform`] / [`top_k_uniform`]: equal-probability draws (rank by key).
//! - [`rank_pareto`]: risk-weighted draws, Pareto order sampling (πps).
//! - [`assign_teams`]: inspector teams per drawn target, with 回避 and workload caps.

pub mod bundle;
pub mod changes;
pub mod manifest;
pub(crate) mod pareto;
pub mod pipeline;
pub(crate) mod ranker;
mod seed;
pub(crate) mod select;
pub(crate) mod staffing;
pub(crate) mod team;
pub(crate) mod uniform;

pub use crate::rules::model::Algorithm;
pub use pareto::{
    exact_sum, inclusion_probabilities, rank_pareto, top_k_pareto, try_inclusion_probabilities,
};
pub use ranker::{Purpose, Ranker, uniform_from_key};
pub use seed::{Seed, SeedError};
pub use staffing::{ALGORITHM_V2, StaffingStats, TeamSpec, assign_teams_v2, staffing_order};
pub use team::{Skip, TeamOutcome, TeamRules, assign_teams};
pub use uniform::{rank_uniform, set_uniform_inclusion, top_k_uniform};

/// Names the algorithm; it is hashed into every key, so a future change cannot silently
/// reproduce (or contradict) a draw made under this version.
pub const ALGORITHM_VERSION: &str = crate::rules::model::ALGORITHM_V1;

/// One entity offered to a draw: its registry id and its weight (1.0 for uniform draws).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit<'a> {
    pub id: &'a str,
    pub weight: f64,
}

impl<'a> Unit<'a> {
    /// A unit of weight 1.0.
    pub fn new(id: &'a str) -> Unit<'a> {
        Unit { id, weight: 1.0 }
    }

    pub fn weighted(id: &'a str, weight: f64) -> Unit<'a> {
        Unit { id, weight }
    }
}

/// One unit's place in a draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// Index of the unit in the input slice.
    pub index: usize,
    /// 1 = best. Saturates at `u32::MAX` (more than four billion units).
    pub rank: u32,
    /// The unit's 32-byte key, lowercase hex.
    pub key_hex: String,
    /// The design inclusion probability: k/n for uniform draws once k is known (0.0 from
    /// [`rank_uniform`] until [`set_uniform_inclusion`] is called), λ for Pareto draws.
    pub inclusion_probability: f64,
    /// Taken with certainty (λ = 1; or k ≥ n in a uniform draw).
    pub certain: bool,
}

/// Why a weighted draw could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DrawError {
    #[error("unit `{id}` has weight {weight}: weights must be finite and greater than 0")]
    BadWeight { id: String, weight: f64 },
    #[error("sample size {k} is larger than the {n} units offered")]
    SampleTooLarge { k: usize, n: usize },
    #[error("the weights add up to more than the largest floating-point number")]
    WeightSumOverflow,
}

/// Rank as stored in [`Ranked::rank`]: position + 1, saturating.
pub(crate) fn rank_of(position: usize) -> u32 {
    u32::try_from(position.saturating_add(1)).unwrap_or(u32::MAX)
}

/// Lowercase hex of a key; faster than `hex::encode` (which matters for 10⁷ keys).
pub(crate) fn key_hex(key: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (pair, &b) in out.chunks_exact_mut(2).zip(key) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    // Only ASCII digits and letters were written.
    String::from_utf8_lossy(&out).into_owned()
}

/// Inputs at least this long are hashed and sorted on the rayon pool.
pub(crate) const PARALLEL_THRESHOLD: usize = 4096;
