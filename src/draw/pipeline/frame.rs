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
use crate::draw::manifest::decimal_text;
use crate::registry::canonical::CellRows;
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
    /// Each stratum's weights by class as the bundle states them (risk-weighted strata).
    weights: Vec<Option<Vec<String>>>,
    /// Why serialising stopped, if it did.
    failure: Mutex<Option<DrawFailure>>,
}

/// Bytes of a frame row's id and public fields made room for (a row of the national bench's
/// registry has about 120).
const CELL_BYTES: usize = 192;

/// The weight of a class a stratum has no weight for.
const NO_CLASS_WEIGHT: &str = "1";

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
        let weights = plans
            .iter()
            .map(|p| {
                p.pareto
                    .then(|| p.weights.iter().map(|&w| decimal_text(w)).collect())
            })
            .collect();
        Frame {
            source,
            plans,
            at,
            rank,
            fields,
            weights,
            failure: Mutex::new(None),
        }
    }

    /// The weight stratum `s` gives class `class`, as the bundle states it (`None` in an
    /// equal-probability stratum).
    fn weight(&self, s: u32, class: u32) -> Option<&str> {
        let texts = self.weights.get(s as usize)?.as_ref()?;
        Some(
            texts
                .get(class as usize)
                .map_or(NO_CLASS_WEIGHT, String::as_str),
        )
    }

    /// The id and public fields of the rows at `places` (in their order), a row each, into
    /// `cells`.
    fn cells_of(&self, places: &[FramePlace], cells: &mut CellRows) -> Result<(), DrawFailure> {
        let positions: Vec<u64> = places.iter().map(|x| x.0).collect();
        self.source.public_cells(&positions, self.fields, cells)?;
        if cells.len() != places.len() {
            return Err(DrawFailure::Io(format!(
                "the public bundle's frame: {} rows asked for, {} read",
                places.len(),
                cells.len()
            )));
        }
        Ok(())
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
        let mut cells = CellRows::new(1 + self.fields.len());
        self.cells_of(places, &mut cells)?;
        let n = self.fields.len();
        Ok(places
            .iter()
            .enumerate()
            .filter_map(|(i, &(_, s, class))| {
                let plan = self.plans.get(s as usize)?;
                let entry = FrameEntry {
                    id: cells.cell(i, 0).to_string(),
                    stratum: plan.name.clone(),
                    weight: self.weight(s, class).map(str::to_string),
                    fields: (1..=n).map(|j| cells.cell(i, j).to_string()).collect(),
                };
                Some((s, entry))
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
        let fields = self.fields.len();
        // The batches' cells, made here with room for most batches and used again window after
        // window: the threads that read a batch then write into room this thread holds, where
        // buffers made and let go in each of them for each batch were held by the allocator of
        // that thread (at 10M a peak of 764 MiB against 729).
        let mut cells: Vec<CellRows> = (0..WINDOW / BATCH)
            .map(|_| CellRows::with_capacity(1 + fields, BATCH, BATCH * CELL_BYTES))
            .collect();
        for window in self.at.chunks(WINDOW) {
            let read: Vec<Result<(), DrawFailure>> = cells
                .par_iter_mut()
                .zip(window.par_chunks(BATCH))
                .map(|(cells, chunk)| self.cells_of(chunk, cells))
                .collect();
            for ((done, cells), chunk) in read.into_iter().zip(&cells).zip(window.chunks(BATCH)) {
                done?;
                for (i, &(_, s, class)) in chunk.iter().enumerate() {
                    let Some((out, last, n)) = aside.get_mut(s as usize) else {
                        continue;
                    };
                    let id = cells.cell(i, 0);
                    if id.as_bytes() < last.as_bytes() {
                        return Ok(None);
                    }
                    let values = (1..fields + 1).map(|j| cells.cell(i, j));
                    put(out.writer(), id, self.weight(s, class), values).map_err(cannot)?;
                    last.clear();
                    last.push_str(id);
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
            let mut e = Taken::default();
            for _ in 0..entries {
                e.take(&mut input).map_err(|e| {
                    S::Error::custom(format!("cannot read the frame set aside: {e}"))
                })?;
                seq.serialize_element(&e.entry(&plan.name))?;
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

/// Sets an entry aside (its stratum is its file's): its id, weight and fields, each a length
/// and its bytes.
fn put<'v>(
    out: &mut impl std::io::Write,
    id: &str,
    weight: Option<&str>,
    fields: impl ExactSizeIterator<Item = &'v str>,
) -> std::io::Result<()> {
    fn text(out: &mut impl std::io::Write, t: &str) -> std::io::Result<()> {
        out.write_all(&(t.len() as u64).to_le_bytes())?;
        out.write_all(t.as_bytes())
    }
    text(out, id)?;
    match weight {
        Some(w) => {
            out.write_all(&[1])?;
            text(out, w)?;
        }
        None => out.write_all(&[0])?,
    }
    out.write_all(&(fields.len() as u64).to_le_bytes())?;
    for f in fields {
        text(out, f)?;
    }
    Ok(())
}

/// The entry [`put`] set aside, read into buffers used again for the next.
#[derive(Default)]
struct Taken {
    text: String,
    /// The entry's texts as read, one after the other, before they are found UTF-8 (at once:
    /// a check of a few bytes at a time costs more than one of the whole entry).
    piece: Vec<u8>,
    /// The id's, the weight's (if any) and each field's range in `text`.
    id: std::ops::Range<usize>,
    weight: Option<std::ops::Range<usize>>,
    fields: Vec<std::ops::Range<usize>>,
}

impl Taken {
    /// Reads the next entry.
    fn take(&mut self, input: &mut impl std::io::BufRead) -> std::io::Result<()> {
        fn number(input: &mut impl std::io::BufRead) -> std::io::Result<u64> {
            let mut n = [0u8; 8];
            input.read_exact(&mut n)?;
            Ok(u64::from_le_bytes(n))
        }
        fn text(
            input: &mut impl std::io::BufRead,
            piece: &mut Vec<u8>,
        ) -> std::io::Result<std::ops::Range<usize>> {
            let len = usize::try_from(number(input)?).map_err(std::io::Error::other)?;
            let start = piece.len();
            piece.resize(start + len, 0);
            input.read_exact(&mut piece[start..])?;
            Ok(start..piece.len())
        }
        self.piece.clear();
        self.fields.clear();
        let p = &mut self.piece;
        self.id = text(input, p)?;
        let mut flag = [0u8; 1];
        input.read_exact(&mut flag)?;
        self.weight = match flag[0] {
            1 => Some(text(input, p)?),
            _ => None,
        };
        for _ in 0..number(input)? {
            let f = text(input, p)?;
            self.fields.push(f);
        }
        let not_utf8 = || std::io::Error::other("an entry set aside is not UTF-8");
        let whole = crate::registry::source::utf8(&self.piece).ok_or_else(not_utf8)?;
        // Each text was UTF-8 when it was set aside: the whole is, and each range starts and
        // ends on a character.
        let ranges = std::iter::once(&self.id)
            .chain(self.weight.as_ref())
            .chain(&self.fields);
        for r in ranges {
            if !(whole.is_char_boundary(r.start) && whole.is_char_boundary(r.end)) {
                return Err(not_utf8());
            }
        }
        self.text.clear();
        self.text.push_str(whole);
        Ok(())
    }

    /// The entry read, in `stratum`: serialised as its [`FrameEntry`] is.
    fn entry<'e>(&'e self, stratum: &'e str) -> EntryLent<'e> {
        EntryLent {
            id: self.text(&self.id),
            stratum,
            weight: self.weight.as_ref().map(|w| self.text(w)),
            fields: Lent(self),
        }
    }

    fn text(&self, r: &std::ops::Range<usize>) -> &str {
        self.text.get(r.clone()).unwrap_or("")
    }
}

/// A [`FrameEntry`], borrowed: the same members in the same order.
#[derive(serde::Serialize)]
struct EntryLent<'e> {
    id: &'e str,
    stratum: &'e str,
    weight: Option<&'e str>,
    fields: Lent<'e>,
}

/// The fields of a [`Taken`] entry, serialised as a sequence of strings.
struct Lent<'e>(&'e Taken);

impl Serialize for Lent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.fields.iter().map(|r| self.0.text(r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry set aside and taken back serialises as the [`FrameEntry`] it stands for.
    #[test]
    fn an_entry_set_aside_serialises_as_its_frame_entry() {
        let entries = [
            FrameEntry {
                id: "T1".into(),
                stratum: "平邑街道".into(),
                weight: Some("2.5".into()),
                fields: vec!["宾馆 \"名\"\n".into(), String::new(), "a\\b\t\u{1}".into()],
            },
            FrameEntry {
                id: "T2".into(),
                stratum: "平邑街道".into(),
                weight: None,
                fields: Vec::new(),
            },
        ];
        let mut file = Vec::new();
        for e in &entries {
            put(
                &mut file,
                &e.id,
                e.weight.as_deref(),
                e.fields.iter().map(String::as_str),
            )
            .expect("set aside");
        }
        let mut input = &file[..];
        let mut taken = Taken::default();
        for e in &entries {
            taken.take(&mut input).expect("take");
            assert_eq!(
                serde_json::to_string(&taken.entry(&e.stratum)).expect("json"),
                serde_json::to_string(e).expect("json")
            );
        }
        assert!(input.is_empty());
    }

    #[test]
    fn cell_rows_give_back_their_cells() {
        let mut rows = CellRows::with_capacity(2, 1, 4);
        for cell in ["T1", "甲", "T2", ""] {
            rows.push(cell);
        }
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows.cell(0, 0),
                rows.cell(0, 1),
                rows.cell(1, 0),
                rows.cell(1, 1)
            ),
            ("T1", "甲", "T2", "")
        );
        assert_eq!(rows.cell(2, 0), "");
        rows.clear();
        assert_eq!(rows.len(), 0);
    }
}
