//! What classifying the rows gives, whatever their source, and the one trait a row source
//! implements.

use std::borrow::Cow;

use super::DrawFailure;
use super::rules::{Answer, Reason, Rules};
use crate::registry::canonical::{CellRows, LineCells};
use crate::registry::source::IdName;
use crate::registry::types::Target;
use crate::rules::model::Share;

/// No index (no hook input, no kept id and name).
pub(crate) const NONE: u32 = u32::MAX;

/// Set in [`Drawn::offset`] when the row's id and name are kept in its [`Batch`].
pub(crate) const CAPTURED: u32 = 1 << 31;

/// Rows treated alike by everything after classifying: their reason, the input of the eligible
/// hook, the stratum and the input of the weight hook (indexes into [`Classified`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Group {
    pub reason: Reason,
    pub eligible: u32,
    pub stratum: u32,
    pub weight: u32,
}

/// A row drawn from: its key's first 8 bytes, its offset from its batch's base (with
/// [`CAPTURED`] set when its id and name were kept), its group in the batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drawn {
    pub head: u64,
    pub offset: u32,
    pub profile: u32,
}

/// The rows one worker classified.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Position of the batch's first row (rows drawn from are numbered from it).
    pub base: u64,
    pub drawn: Vec<Drawn>,
    /// The batch's own group numbers → [`Classified::groups`].
    pub map: Vec<u32>,
    /// Where the kept ids and names are in `capture_bytes`: (start, id length, name length).
    pub captures: Vec<(u32, u32, u32)>,
    pub capture_bytes: Vec<u8>,
    /// Excluded rows (position, the batch's group), while there are at most the listing limit.
    pub excluded: Vec<(u64, u32)>,
}

/// Every row classified: groups with their sizes, strata, the hooks' answers, the rows drawn
/// from with their keys' heads, the history the draw used.
#[derive(Debug, Default)]
pub(crate) struct Classified {
    pub groups: Vec<Group>,
    /// Rows per group.
    pub counts: Vec<u64>,
    /// The smallest id of each group, where tracked (always for groups that may fail the draw
    /// or that class ratios may name).
    pub min_ids: Vec<Option<String>>,
    /// Name and ratio of each stratum input.
    pub strata: Vec<(String, Share)>,
    pub eligible_answers: Vec<Answer<bool>>,
    pub weight_answers: Vec<Answer<f64>>,
    pub batches: Vec<Batch>,
    /// The places, in id order, of the draw history's entries the targets in scope were
    /// checked against ([`super::History::places`]), ascending, each once: the manifest
    /// records those entries (copied from the history when it is sealed, not held meanwhile).
    pub history_used: Vec<u32>,
    /// Rows read, hook calls, workers.
    pub rows: u64,
    pub hook_calls: u64,
    pub threads: usize,
    /// Operations of the `eligible` and `weight` hooks' answers, summed over the rows (the
    /// same whatever was reused and however the rows were split between threads).
    pub operations: u64,
}

impl Classified {
    /// The eligible hook's answer for a group, if it has one.
    pub(crate) fn eligible_of(&self, g: &Group) -> Option<&Answer<bool>> {
        (g.eligible != NONE)
            .then(|| self.eligible_answers.get(g.eligible as usize))
            .flatten()
    }

    /// The weight hook's answer for a group, if it has one.
    pub(crate) fn weight_of(&self, g: &Group) -> Option<&Answer<f64>> {
        (g.weight != NONE)
            .then(|| self.weight_answers.get(g.weight as usize))
            .flatten()
    }

    /// Whether a group's rows are drawn from (passed every check and the eligible hook).
    pub(crate) fn drawn_from(&self, g: &Group) -> bool {
        g.reason == Reason::Candidate && !matches!(self.eligible_of(g), Some(Answer::Ok(false)))
    }
}

/// Rows to draw from: in memory, or a registry file read in parallel with bounded memory.
pub(crate) trait RowSource: Sync {
    /// Classifies every row (scope, exclusions, hooks, strata) and computes the keys' heads of
    /// the rows drawn from.
    fn classify(&self, rules: &Rules<'_>) -> Result<Classified, DrawFailure>;

    /// The id and name cells of the rows at `positions` (ascending).
    fn id_names(&self, positions: &[u64]) -> Result<Vec<IdName>, DrawFailure>;

    /// The targets at `positions` (ascending).
    fn targets(&self, positions: &[u64]) -> Result<Vec<Cow<'_, Target>>, DrawFailure>;

    /// Hands `each` the canonical cells of the targets at `positions` (ascending), in their
    /// order.
    fn each_line(
        &self,
        positions: &[u64],
        each: &mut dyn FnMut(&LineCells<'_>),
    ) -> Result<(), DrawFailure> {
        for t in self.targets(positions)? {
            each(&LineCells::of(&t));
        }
        Ok(())
    }

    /// [`RowSource::each_line`] for rows [`RowSource::classify`] read in this run from a
    /// registry checked whole before (a draw's own snapshot): only the cells of the fields
    /// `wanted` (of [`crate::registry::read::t`]) need be read again and checked, the others
    /// may be left as they default.
    fn each_checked(
        &self,
        positions: &[u64],
        wanted: &[usize],
        each: &mut dyn FnMut(&LineCells<'_>),
    ) -> Result<(), DrawFailure> {
        let _ = wanted;
        self.each_line(positions, each)
    }

    /// The id and the public fields `fields` of the targets at `positions` (ascending) into
    /// `out` (of `1 + fields.len()` cells a row, emptied first): the public bundle's frame.
    fn public_cells(
        &self,
        positions: &[u64],
        fields: &[String],
        out: &mut CellRows,
    ) -> Result<(), DrawFailure> {
        out.clear();
        self.each_line(positions, &mut |c| out.push_public(c, fields))
    }

    /// Whether id and name cells come raw from a file (so they are checked as the registry
    /// reader checks them).
    fn raw_cells(&self) -> bool;

    /// The failure for drawn rows whose cells are refused (`flagged`) or not UTF-8
    /// (`encoding`), or whose key changed (`changed`).
    fn problems(&self, flagged: Vec<u64>, encoding: Vec<u64>, changed: bool) -> DrawFailure;
}
