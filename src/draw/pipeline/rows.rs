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
    /// The cells the detail file needs of each of `excluded`, kept as its row was classified
    /// (none kept by a source whose rows are at hand).
    pub excluded_cells: ExcludedCells,
}

/// The cells the detail file says an excluded row by ([`super::rules::Rules::exclusion_why`]):
/// its id and, for a row a cooldown excludes, its last inspection's date and result (empty
/// when the file has no such column), each row's cells ending at its place in `ends`, split
/// by [`ExcludedCells::SPLIT`]. Kept as the rows are classified, so that a registry's millions
/// of exclusions are not read again for their detail file.
#[derive(Debug, Default)]
pub(crate) struct ExcludedCells {
    pub bytes: Vec<u8>,
    pub ends: Vec<u32>,
    /// Some row's cells could not be kept (not UTF-8, a date the registry reader refuses, past
    /// [`ExcludedCells::MOST`] bytes): none are kept or used.
    pub broken: bool,
}

impl ExcludedCells {
    /// The byte between a row's cells: never in UTF-8 text.
    pub const SPLIT: u8 = 0xff;

    /// The most bytes one worker keeps; past them it keeps none (its rows are read again).
    const MOST: usize = 256 << 20;

    /// Keeps the next row's cells: its id, then, for a row a cooldown excludes, its last
    /// inspection's date and result cells (`cooldown`: those cells, and whether a cooldown
    /// excludes it), each trimmed. The date and result cells of any other row are checked as
    /// the registry reader checks them, not kept: a row whose cells it would refuse leaves the
    /// rows to be read again (which then fails the draw, as it did before cells were kept).
    pub(crate) fn keep(&mut self, id: &[u8], cooldown: Option<([&[u8]; 2], bool)>) {
        use crate::registry::source::trim_bytes;
        if self.broken {
            return;
        }
        let cell = |bytes: &mut Vec<u8>, cell: &[u8]| match trim_bytes(cell) {
            Some(text) => {
                bytes.extend_from_slice(text.as_bytes());
                true
            }
            None => false,
        };
        let mut kept = cell(&mut self.bytes, id);
        match cooldown {
            Some((cells, true)) => {
                for c in cells {
                    self.bytes.push(Self::SPLIT);
                    kept &= cell(&mut self.bytes, c);
                }
            }
            Some(([date, result], false)) => kept &= Self::readable(date, result),
            None => {}
        }
        match u32::try_from(self.bytes.len()) {
            Ok(end) if kept && self.bytes.len() <= Self::MOST => self.ends.push(end),
            _ => {
                // None of this worker's cells will be used: let them go now.
                *self = ExcludedCells {
                    broken: true,
                    ..ExcludedCells::default()
                };
            }
        }
    }

    /// Whether the registry reader reads a last inspection's date and result cells: text, the
    /// date empty or a date.
    fn readable(date: &[u8], result: &[u8]) -> bool {
        use crate::registry::source::trim_bytes;
        let date_read = match trim_bytes(date) {
            Some("") => true,
            Some(text) => crate::registry::values::parse_date(text).is_ok(),
            None => false,
        };
        date_read && trim_bytes(result).is_some()
    }

    /// Row `i`'s cells: its id, and its last inspection's date and result when it was kept
    /// with them.
    pub(crate) fn row(&self, i: usize) -> Option<(&str, Option<(&str, &str)>)> {
        let start = match i.checked_sub(1) {
            Some(before) => *self.ends.get(before)? as usize,
            None => 0,
        };
        let end = *self.ends.get(i)? as usize;
        let mut cells = self.bytes.get(start..end)?.split(|&b| b == Self::SPLIT);
        let id = std::str::from_utf8(cells.next()?).ok()?;
        let rest = match (cells.next(), cells.next()) {
            (Some(date), Some(result)) => Some((
                std::str::from_utf8(date).ok()?,
                std::str::from_utf8(result).ok()?,
            )),
            _ => None,
        };
        Some((id, rest))
    }
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

/// Told the rows a pass over a registry file has classified so far.
pub type OnRows<'a> = dyn Fn(u64) + Sync + 'a;

/// Rows a thread of the classifying pass reads between two counts told to
/// [`Options::on_rows`](super::Options::on_rows).
pub(crate) const ROWS_TOLD: u64 = 1 << 16;

/// Rows to draw from: in memory, or a registry file read in parallel with bounded memory.
pub(crate) trait RowSource: Sync {
    /// Classifies every row (scope, exclusions, hooks, strata) and computes the keys' heads of
    /// the rows drawn from; a source that reads its rows tells `on_rows` how many it has
    /// classified so far as it goes (every [`ROWS_TOLD`] rows a thread reads).
    fn classify(
        &self,
        rules: &Rules<'_>,
        on_rows: Option<&OnRows<'_>>,
    ) -> Result<Classified, DrawFailure>;

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

/// The cells kept of the excluded rows of every batch, one batch after another (each batch's
/// kept where it was made, never copied into one).
#[derive(Debug, Default)]
pub(crate) struct KeptCells {
    parts: Vec<ExcludedCells>,
    /// The number of the first row of each part.
    starts: Vec<usize>,
}

impl KeptCells {
    /// The batches' cells (each with how many excluded rows its batch has), or `None` when
    /// some batch's are not whole.
    pub(crate) fn of(parts: Vec<(ExcludedCells, usize)>) -> Option<KeptCells> {
        if parts.iter().any(|(c, n)| c.broken || c.ends.len() != *n) {
            return None;
        }
        let mut kept = KeptCells::default();
        let mut start = 0;
        for (part, n) in parts {
            kept.starts.push(start);
            kept.parts.push(part);
            start += n;
        }
        Some(kept)
    }

    /// Row `i`'s cells (of all the batches' rows, in order), as [`ExcludedCells::row`].
    pub(crate) fn row(&self, i: usize) -> Option<(&str, Option<(&str, &str)>)> {
        let part = self.starts.partition_point(|&s| s <= i).checked_sub(1)?;
        self.parts.get(part)?.row(i - self.starts.get(part)?)
    }
}

#[cfg(test)]
mod tests {
    use super::{ExcludedCells, KeptCells};

    #[test]
    fn excluded_cells_give_back_each_row_trimmed_and_joined_in_order() {
        let mut a = ExcludedCells::default();
        a.keep(b" T1 ", None);
        let cooldown =
            |date: &'static [u8], result: &'static [u8], kept| Some(([date, result], kept));
        a.keep(b"T2", cooldown(b"2024-01-05", b" \xe6\x97\xa0 ", true));
        a.keep(b"T3", cooldown(b"", b"", true));
        // Another reason's date and result are checked, not kept.
        a.keep(b"T4", cooldown(b"2024-02-01", b"x", false));
        let mut b = ExcludedCells::default();
        b.keep("甲".as_bytes(), None);
        assert_eq!(a.row(0), Some(("T1", None)));
        assert_eq!(a.row(1), Some(("T2", Some(("2024-01-05", "无")))));
        assert_eq!(a.row(2), Some(("T3", Some(("", "")))));
        assert_eq!(a.row(3), Some(("T4", None)));
        assert_eq!(a.row(4), None);
        let none = ExcludedCells::default();
        let kept = KeptCells::of(vec![(a, 4), (none, 0), (b, 1)]).expect("whole");
        let rows: Vec<_> = (0..6).map(|i| kept.row(i)).collect();
        assert_eq!(rows[0], Some(("T1", None)));
        assert_eq!(rows[2], Some(("T3", Some(("", "")))));
        assert_eq!(rows[4], Some(("甲", None)));
        assert_eq!(rows[5], None);
    }

    #[test]
    fn excluded_cells_not_kept_whole_are_not_used() {
        let mut a = ExcludedCells::default();
        a.keep(b"T1", None);
        a.keep(b"\xff\xfe", None);
        a.keep(b"T3", None);
        assert!(a.broken);
        assert!(a.ends.is_empty() && a.bytes.is_empty());
        assert!(KeptCells::of(vec![(a, 3)]).is_none());
        // A date the registry reader refuses, on a row another reason excludes: the rows are
        // read again (and the reader says what is wrong).
        let mut c = ExcludedCells::default();
        c.keep(
            b"T1",
            Some(([b"garbage".as_slice(), b"".as_slice()], false)),
        );
        assert!(c.broken);
        let mut d = ExcludedCells::default();
        d.keep(b"T1", Some(([b"".as_slice(), b"\xff".as_slice()], false)));
        assert!(d.broken);
        // A batch with more excluded rows than cells kept (a source that keeps none).
        let mut b = ExcludedCells::default();
        b.keep(b"T1", None);
        assert!(KeptCells::of(vec![(b, 2)]).is_none());
        assert!(KeptCells::of(vec![(ExcludedCells::default(), 0)]).is_some());
    }
}
