//! The public bundle's frame (docs/draw-algorithm.md V2-9): every row drawn from, read again
//! from the source as the bundle is serialised, so that no more than a window of entries is
//! held at a time. The rows are read once, in position order, by parallel batches that also
//! make each entry's JSON. A frame in id order (`suiji-public-bundle/3`, V2-19) is the
//! order of a registry snapshot: each entry is written into the bundle as it is made. A frame
//! by stratum then id (`/2`) sets each stratum's JSON aside in a temporary file of its own,
//! then copies the files into the bundle stratum by stratum (in a snapshot each stratum's rows
//! come in id order). Rows out of id order (a registry file that is not a snapshot) are read
//! again and sorted: stratum by stratum for a `/2`, all at once for a `/3`.

use std::cell::RefCell;
use std::io::{BufRead as _, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::ser::{Error as _, Serialize, SerializeSeq, Serializer};

use super::rows::RowSource;
use super::{DrawFailure, FramePlace, FramePlaces, Packing, plan};
use crate::draw::bundle::{FrameEntry, PublicBundle};
use crate::draw::manifest::Manifest;
use crate::draw::manifest::{decimal_text, json_string};
use crate::registry::canonical::CellRows;
use crate::registry::source::SetAside;

/// Rows read again at a time (the batches of a stratum are read in parallel).
const BATCH: usize = 4096;

/// Bytes of an entry's JSON made room for (about 180 in the national bench's registry).
const JSON_BYTES: usize = 256;

/// Rows read again (in parallel batches) before their entries are set aside, in order.
const WINDOW: usize = 16 * BATCH;

/// The frame of a draw, serialised as the bundle's `frame`: by stratum (their names' bytes),
/// then id (bytes; rows with the same id in registry order).
pub(super) struct Frame<'a> {
    source: &'a dyn RowSource,
    plans: &'a [plan::StratumPlan],
    /// The rows drawn from, by position, and how each names its stratum and class.
    at: Vec<FramePlace>,
    packing: Packing,
    /// Each stratum's rank in the frame's order.
    rank: Vec<u32>,
    fields: &'a [String],
    /// Each stratum's weights by class as the bundle states them (risk-weighted strata).
    weights: Vec<Option<Vec<String>>>,
    /// Why serialising stopped, if it did.
    failure: Mutex<Option<DrawFailure>>,
    /// Writing a frame in id order stopped at rows out of id order.
    out_of_order: AtomicBool,
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
        FramePlaces { at, packing }: FramePlaces,
        fields: &'a [String],
    ) -> Frame<'a> {
        let mut order: Vec<usize> = (0..plans.len()).collect();
        order.sort_by(|&a, &b| plans[a].name.as_bytes().cmp(plans[b].name.as_bytes()));
        let mut rank = vec![u32::MAX; plans.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r as u32;
        }
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
            packing,
            rank,
            fields,
            weights,
            failure: Mutex::new(None),
            out_of_order: AtomicBool::new(false),
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
        let positions: Vec<u64> = places.iter().map(|&p| self.packing.position(p)).collect();
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
        let packing = &self.packing;
        at.sort_unstable_by_key(|&p| (rank(packing.stratum(p)), packing.position(p)));
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
            .filter_map(|(i, &p)| {
                let (s, class) = self.packing.stratum_class(p);
                let plan = self.plans.get(s as usize)?;
                let entry = FrameEntry {
                    id: cells.cell(i, 0).to_string(),
                    stratum: plan.name.clone(),
                    weight: self.weight(s, class).map(str::to_string),
                    fields: (1..=n).map(|j| cells.cell(i, j).to_string()).collect(),
                    stratum_at: None,
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
        let stratum = |p: &FramePlace| self.packing.stratum(*p);
        for places in at.chunk_by(|a, b| stratum(a) == stratum(b)) {
            out.extend(self.stratum(places)?);
        }
        Ok(out)
    }

    /// Every entry read once, in position order, by parallel batches that make its JSON (as
    /// the bundle states it, after a comma), each window of batches handed to `take` in order
    /// while the next is read; stops with `false` when `take` does.
    fn each_window<F>(&self, places: Places<'_>, mut take: F) -> Result<bool, DrawFailure>
    where
        F: FnMut(&[Batch], &[FramePlace]) -> Result<bool, DrawFailure>,
    {
        use rayon::prelude::*;
        let fields = self.fields.len();
        // The batches' cells and JSON, made here with room for most batches and used again
        // window after window: the threads that read a batch then write into room this thread
        // holds, where buffers made and let go in each of them for each batch were held by the
        // allocator of that thread (at 10M a peak of 764 MiB against 729). Two windows' worth:
        // one is taken while the next is read.
        let room = || -> Vec<Batch> {
            (0..WINDOW / BATCH)
                .map(|_| Batch {
                    cells: CellRows::with_capacity(1 + fields, BATCH, BATCH * CELL_BYTES),
                    json: Vec::with_capacity(BATCH * JSON_BYTES),
                    ends: Vec::with_capacity(BATCH),
                })
                .collect()
        };
        let read = |batches: &mut [Batch], window: &[FramePlace]| {
            batches
                .par_iter_mut()
                .zip(window.par_chunks(BATCH))
                .map(|(b, chunk)| {
                    self.cells_of(chunk, &mut b.cells)?;
                    b.entries(self, chunk, places)
                })
                .collect::<Result<(), DrawFailure>>()
        };
        let windows: Vec<&[FramePlace]> = self.at.chunks(WINDOW).collect();
        let (mut ready, mut next) = (room(), room());
        if let Some(first) = windows.first() {
            read(&mut ready, first)?;
        }
        for (k, window) in windows.iter().enumerate() {
            // This window taken here while the next is read (by the pool's threads).
            let mut read_next = Ok(());
            let taken = match windows.get(k + 1) {
                Some(after) => rayon::in_place_scope(|scope| {
                    scope.spawn(|_| read_next = read(&mut next, after));
                    take(&ready, window)
                }),
                None => take(&ready, window),
            };
            if !taken? {
                return Ok(false);
            }
            read_next?;
            std::mem::swap(&mut ready, &mut next);
        }
        Ok(true)
    }

    /// Every entry read once, in position order, its JSON (as the bundle states it, after a
    /// comma) set aside in its stratum's file (by stratum number); `None` when a stratum's ids
    /// are not in position order. The JSON is made by the threads that read the rows.
    fn set_aside(&self) -> Result<Option<Vec<SetAside>>, DrawFailure> {
        let cannot = |e: std::io::Error| {
            DrawFailure::Io(format!("cannot set the public bundle's frame aside: {e}"))
        };
        let mut aside = Vec::with_capacity(self.plans.len());
        for _ in self.plans {
            aside.push((SetAside::new().map_err(cannot)?, String::new()));
        }
        // Sets a window's entries aside; false when a stratum's ids go down.
        let write = |batches: &[Batch], window: &[FramePlace]| {
            for (b, chunk) in batches.iter().zip(window.chunks(BATCH)) {
                for (i, (&p, json)) in chunk.iter().zip(b.each_json()).enumerate() {
                    let s = self.packing.stratum(p);
                    let Some((out, last)) = aside.get_mut(s as usize) else {
                        continue;
                    };
                    let id = b.cells.cell(i, 0);
                    if id.as_bytes() < last.as_bytes() {
                        return Ok(false);
                    }
                    out.writer().write_all(json).map_err(cannot)?;
                    last.clear();
                    last.push_str(id);
                }
            }
            Ok(true)
        };
        if !self.each_window(None, write)? {
            return Ok(None);
        }
        Ok(Some(aside.into_iter().map(|(out, _)| out).collect()))
    }

    /// Every entry read once, in position order, its JSON written to `out` as it is made,
    /// with a comma between two (none before the first): the frame of a bundle in id order
    /// (`suiji-public-bundle/3`) read from rows in id order (a registry snapshot's). `false`
    /// when the ids go down (rows not in id order): what `out` was given so far must then be
    /// let go ([`Frame::out_of_order`]).
    fn write_by_id(&self, places: Places<'_>, out: &mut impl Write) -> Result<bool, DrawFailure> {
        let cannot = |e: std::io::Error| {
            DrawFailure::Io(format!("cannot write the public bundle's frame: {e}"))
        };
        let mut last = String::new();
        let mut first = true;
        let write = |batches: &[Batch], window: &[FramePlace]| {
            for (b, chunk) in batches.iter().zip(window.chunks(BATCH)) {
                for (i, (&p, json)) in chunk.iter().zip(b.each_json()).enumerate() {
                    let s = self.packing.stratum(p);
                    if self.plans.get(s as usize).is_none() {
                        continue;
                    }
                    let id = b.cells.cell(i, 0);
                    if id.as_bytes() < last.as_bytes() {
                        return Ok(false);
                    }
                    // The first entry's comma left out.
                    let json = match first {
                        true => json.get(1..).unwrap_or_default(),
                        false => json,
                    };
                    first = false;
                    out.write_all(json).map_err(cannot)?;
                    last.clear();
                    last.push_str(id);
                }
            }
            Ok(true)
        };
        self.each_window(places, write)
    }

    /// Copies the entries set aside into `out`, stratum by stratum in the frame's order, with
    /// a comma between two (none before the first).
    fn copy_aside(&self, aside: Vec<SetAside>, out: &mut impl Write) -> std::io::Result<()> {
        let mut order: Vec<(u32, usize)> = (0..aside.len())
            .map(|s| (self.rank.get(s).copied().unwrap_or(u32::MAX), s))
            .collect();
        order.sort_unstable();
        let mut aside: Vec<Option<SetAside>> = aside.into_iter().map(Some).collect();
        let mut first = true;
        for (_, s) in order {
            let Some(file) = aside.get_mut(s).and_then(Option::take) else {
                continue;
            };
            let mut input = file.into_reader()?;
            if first && !input.fill_buf()?.is_empty() {
                // The first entry's comma.
                input.consume(1);
                first = false;
            }
            std::io::copy(&mut input, out)?;
        }
        Ok(())
    }

    /// Serialises the frame's entries read again stratum by stratum (rows out of id order).
    fn serialize_by_stratum<S: SerializeSeq>(&self, seq: &mut S) -> Result<(), S::Error> {
        let at = self.by_stratum();
        let stratum = |p: &FramePlace| self.packing.stratum(*p);
        for places in at.chunk_by(|a, b| stratum(a) == stratum(b)) {
            let entries = self.stratum(places).map_err(|e| self.failed(e))?;
            for e in &entries {
                seq.serialize_element(e)?;
            }
        }
        Ok(())
    }

    /// Keeps `e` as why serialising stopped, and gives it as a serialiser's error.
    fn failed<E: serde::ser::Error>(&self, e: DrawFailure) -> E {
        let said = e.to_string();
        if let Ok(mut f) = self.failure.lock() {
            *f = Some(e);
        }
        E::custom(said)
    }

    /// Writes the public bundle of `m` with this frame to `out` as it is serialised, hashing
    /// it as it is written; returns its SHA-256 (the frame's entries set aside are copied
    /// into `out` as they were made, never serialised again).
    pub(super) fn write_bundle(
        &self,
        (m, selected): (&Manifest, Selections<'_>),
        weighted: bool,
        out: &mut dyn Write,
    ) -> std::io::Result<String> {
        let mut hashing = crate::digest::HashingWriter::new(out);
        {
            let mut buffered = std::io::BufWriter::with_capacity(1 << 20, &mut hashing);
            let shared = Shared(RefCell::new(&mut buffered));
            let places = crate::draw::bundle::compact_frame(m).then(|| self.places_in(m));
            let frame = Written {
                frame: self,
                out: &shared,
                by_id: crate::draw::bundle::frame_by_id(m),
                places: places.as_deref(),
            };
            let selected = WrittenSelections {
                selected,
                out: &shared,
            };
            let b = PublicBundle::of_parts(m, weighted, self.fields, frame, selected);
            serde_json::to_writer(&shared, &b).map_err(std::io::Error::from)?;
            (&shared).flush()?;
        }
        let (hash, _, out) = hashing.finish();
        out.flush()?;
        Ok(hash)
    }

    /// Each stratum's place in `m`'s strata as the entries of a `suiji-public-bundle/4` name
    /// it (by stratum number; `None` for one they do not list).
    fn places_in(&self, m: &Manifest) -> Vec<Option<String>> {
        self.plans
            .iter()
            .map(|p| {
                let at = m.strata.iter().position(|s| s.stratum == p.name);
                at.map(|i| i.to_string())
            })
            .collect()
    }

    /// Why serialising stopped, if it did (reading the rows again failed).
    pub(super) fn failure(&self) -> Option<DrawFailure> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }

    /// Whether writing a frame in id order stopped at rows out of id order (a registry file
    /// that is not a snapshot): the bundle is then made whole, its frame sorted
    /// ([`Frame::entries`], [`PublicBundle::new`]), and written again from its start.
    pub(super) fn out_of_order(&self) -> bool {
        self.out_of_order.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({} rows)", self.at.len())
    }
}

/// The writer a bundle is serialised into, shared by the serialiser and the frame, which
/// writes the JSON of its entries set aside into it itself. The serialiser writes what it
/// makes as it makes it, so the two write in the order of the bundle's bytes.
struct Shared<'w>(RefCell<&'w mut dyn Write>);

impl Write for &Shared<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.borrow_mut().write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

/// A draw's frame as its bundle holds it while [`Frame::write_bundle`] writes it: serialised
/// as the sequence of its entries.
pub(super) struct Written<'f, 'w> {
    frame: &'f Frame<'f>,
    out: &'f Shared<'w>,
    /// The frame in id order alone (`suiji-public-bundle/3` and `/4`), else by stratum then id.
    by_id: bool,
    /// Each entry an array naming its stratum by this place (`suiji-public-bundle/4`).
    places: Places<'f>,
}

/// Each stratum's place in the manifest's strata as text (by stratum number; `None` for one
/// they do not list, which has no entry in the frame), when the frame's entries are arrays that
/// name their stratum by it (`suiji-public-bundle/4`); `None`: objects.
type Places<'a> = Option<&'a [Option<String>]>;

impl Serialize for Written<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.frame;
        if f.at.is_empty() {
            return s.collect_seq(std::iter::empty::<FrameEntry>());
        }
        if self.by_id {
            let seq = s.serialize_seq(Some(f.at.len()))?;
            // The sequence's `[` is written: its entries follow it as they are read, then `]`.
            let mut out = self.out;
            return match f.write_by_id(self.places, &mut out) {
                Ok(true) => seq.end(),
                Ok(false) => {
                    f.out_of_order.store(true, Ordering::Relaxed);
                    Err(S::Error::custom("the frame's rows are not in id order"))
                }
                Err(e) => Err(f.failed(e)),
            };
        }
        let aside = f.set_aside().map_err(|e| f.failed(e))?;
        let mut seq = s.serialize_seq(Some(f.at.len()))?;
        match aside {
            // The sequence's `[` is written: its entries follow it, then its `]`.
            Some(aside) => {
                let mut out = self.out;
                f.copy_aside(aside, &mut out).map_err(|e| {
                    S::Error::custom(format!("cannot copy the frame set aside: {e}"))
                })?;
            }
            None => f.serialize_by_stratum(&mut seq)?,
        }
        seq.end()
    }
}

/// A draw's selection as its bundle holds it while [`Frame::write_bundle`] writes it: the JSON
/// of each [`crate::draw::bundle::PublicSelection`] made by hand, a few thousand at a time, and
/// written into the writer the serialiser writes to.
struct WrittenSelections<'f, 'w> {
    selected: Selections<'f>,
    out: &'f Shared<'w>,
}

/// Where a bundle's selection comes from: the manifest, or the teams being staffed beside the
/// bundle's frame (waited for when the bundle comes to its selection).
#[derive(Clone, Copy)]
pub(super) enum Selections<'f> {
    Ready(&'f [crate::draw::manifest::Selected]),
    Staffing(&'f super::teams::Staffing),
}

impl Serialize for WrittenSelections<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.selected {
            Selections::Ready(selected) => self.write(selected, s),
            Selections::Staffing(staffing) => staffing.with_selected(|staffed| match staffed {
                Ok(selected) => self.write(selected, s),
                Err(e) => Err(S::Error::custom(e)),
            }),
        }
    }
}

impl WrittenSelections<'_, '_> {
    fn write<S: Serializer>(
        &self,
        selected: &[crate::draw::manifest::Selected],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let seq = s.serialize_seq(Some(selected.len()))?;
        // The sequence's `[` is written: its entries follow it, then its `]`.
        let mut out = self.out;
        let mut json = Vec::with_capacity(SELECTIONS_AT_ONCE * SELECTION_BYTES);
        for (w, window) in selected.chunks(SELECTIONS_AT_ONCE).enumerate() {
            json.clear();
            for (i, x) in window.iter().enumerate() {
                if w + i > 0 {
                    json.push(b',');
                }
                crate::draw::bundle::public_selection_json(&mut json, x);
            }
            out.write_all(&json).map_err(S::Error::custom)?;
        }
        seq.end()
    }
}

/// Selections whose JSON is made before it is written.
const SELECTIONS_AT_ONCE: usize = 4096;

/// Bytes of a selection's JSON in a bundle made room for (about 150).
const SELECTION_BYTES: usize = 192;

/// One batch of rows read again: their cells, and the JSON of their entries (each after a
/// comma) one after the other, with where each ends.
struct Batch {
    cells: CellRows,
    json: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    /// Each entry's JSON (after its comma; empty for a row of no stratum), in order.
    fn each_json(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(from, &end)| self.json.get(from..end).unwrap_or_default())
    }

    /// The JSON of the entries of `rows`, whose cells are read: objects, or arrays naming their
    /// stratum by its place in `places`.
    fn entries(
        &mut self,
        frame: &Frame<'_>,
        rows: &[FramePlace],
        places: Places<'_>,
    ) -> Result<(), DrawFailure> {
        self.json.clear();
        self.ends.clear();
        let n = frame.fields.len();
        for (i, &p) in rows.iter().enumerate() {
            let (s, class) = frame.packing.stratum_class(p);
            if let Some(plan) = frame.plans.get(s as usize) {
                self.json.push(b',');
                let fields = (1..=n).map(|j| self.cells.cell(i, j));
                let (id, weight) = (self.cells.cell(i, 0), frame.weight(s, class));
                match places {
                    None => entry_json(&mut self.json, id, &plan.name, weight, fields),
                    Some(places) => {
                        let Some(Some(at)) = places.get(s as usize) else {
                            return Err(DrawFailure::Io(format!(
                                "the public bundle's frame: stratum {:?} is not in the manifest's strata",
                                plan.name
                            )));
                        };
                        compact_entry_json(&mut self.json, id, at, weight, fields);
                    }
                }
            }
            self.ends.push(self.json.len());
        }
        Ok(())
    }
}

/// The JSON of a [`FrameEntry`] of these members, exactly as serde writes it (compact, the
/// members in their order), made without serde: most cells need no escape, and serde's
/// escaping looks at each byte of every cell on its own (a tenth of the sealing's time).
fn entry_json<'e>(
    out: &mut Vec<u8>,
    id: &str,
    stratum: &str,
    weight: Option<&str>,
    fields: impl Iterator<Item = &'e str>,
) {
    out.extend_from_slice(b"{\"id\":");
    json_string(out, id);
    out.extend_from_slice(b",\"stratum\":");
    json_string(out, stratum);
    out.extend_from_slice(b",\"weight\":");
    json_weight(out, weight);
    out.extend_from_slice(b",\"fields\":[");
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_string(out, f);
    }
    out.extend_from_slice(b"]}");
}

/// The JSON of a [`FrameEntry`] written as an array (`suiji-public-bundle/4`), exactly as serde
/// writes it: `[id,at,weight,field…]`.
fn compact_entry_json<'e>(
    out: &mut Vec<u8>,
    id: &str,
    at: &str,
    weight: Option<&str>,
    fields: impl Iterator<Item = &'e str>,
) {
    out.push(b'[');
    json_string(out, id);
    out.push(b',');
    out.extend_from_slice(at.as_bytes());
    out.push(b',');
    json_weight(out, weight);
    for f in fields {
        out.push(b',');
        json_string(out, f);
    }
    out.push(b']');
}

/// A weight as serde writes an `Option<String>`: the decimal as a string, or `null`.
fn json_weight(out: &mut Vec<u8>, weight: Option<&str>) {
    match weight {
        Some(w) => json_string(out, w),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry's JSON as a batch makes it from the cells read is its [`FrameEntry`]'s, as an
    /// object and as an array (`suiji-public-bundle/4`).
    #[test]
    fn an_entry_made_from_its_cells_serialises_as_its_frame_entry() {
        let entries = [
            FrameEntry {
                id: "T1".into(),
                stratum: "平邑街道".into(),
                weight: Some("2.5".into()),
                fields: vec![
                    "宾馆 \"名\"\n".into(),
                    "\u{7f}é/<".into(),
                    "a\\b\t\u{1}".into(),
                ],
                stratum_at: None,
            },
            FrameEntry {
                id: "T2".into(),
                stratum: "平邑\"街道\"".into(),
                weight: None,
                fields: vec![String::new(); 3],
                stratum_at: None,
            },
        ];
        let mut cells = CellRows::with_capacity(4, 2, 64);
        for e in &entries {
            cells.push(&e.id);
            for f in &e.fields {
                cells.push(f);
            }
        }
        for (row, e) in entries.iter().enumerate() {
            let mut json = Vec::new();
            let fields = (1..=3).map(|j| cells.cell(row, j));
            entry_json(
                &mut json,
                cells.cell(row, 0),
                &e.stratum,
                e.weight.as_deref(),
                fields,
            );
            assert_eq!(
                String::from_utf8(json).expect("UTF-8"),
                serde_json::to_string(e).expect("json")
            );
            let at = 10 + row as u32;
            let mut json = Vec::new();
            let fields = (1..=3).map(|j| cells.cell(row, j));
            let id = cells.cell(row, 0);
            compact_entry_json(&mut json, id, &at.to_string(), e.weight.as_deref(), fields);
            let compact = FrameEntry {
                stratum_at: Some(at),
                ..e.clone()
            };
            let text = serde_json::to_string(&compact).expect("json");
            assert_eq!(String::from_utf8(json).expect("UTF-8"), text);
            assert!(
                text.starts_with(&format!("[\"T{}\",{at},", row + 1)),
                "{text}"
            );
            // Read back: the same entry, its stratum named later from the bundle's strata.
            let back: FrameEntry = serde_json::from_str(&text).expect("read back");
            assert_eq!(back.stratum_at, Some(at));
            assert_eq!(
                (back.id, back.weight, back.fields),
                (e.id.clone(), e.weight.clone(), e.fields.clone())
            );
        }
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
