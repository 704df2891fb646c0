//! The pass over a registry file: every row's scope and exclusion, the inputs of its stratum and hooks reduced to a
//! small "profile" number, and for each row drawn from, its key.
//!
//! Cells are interned (raw bytes → small id) per column, so each distinct value is trimmed,
//! decoded and checked once. A profile is (reason, eligible-hook input, stratum input,
//! weight-hook input): rows with the same profile are treated alike by everything that follows.
//! The hooks run once per distinct input (per thread), through an [`Oracle`].

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::NaiveDate;

use super::super::rows::{CAPTURED, Drawn, ExcludedCells, NONE};
use super::super::rules::{Answer, Reason, in_cooldown};
use super::super::{CLEAN_RESULTS, HistoryPlaces};
use crate::draw::Ranker;
use crate::draw::manifest::HistoryEntry;
use crate::draw::ranker::uniform_from_head;
use crate::registry::read::known_spelling;
use crate::registry::source::{Record, trim_bytes};
use crate::registry::types::TargetStatus;
use crate::registry::values::{looks_like_scientific, parse_bool, parse_date, parse_status};

/// FxHash (as in rustc), with a final mix so low bits are usable for buckets.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// Where a target field's value comes from in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Src {
    /// A cell index.
    Col(usize),
    /// Every extra column together (the `extra` map).
    Extras,
    /// No such column: the value is empty.
    Missing,
}

/// What the reader makes of a cell's text, checked once per distinct value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Category in the matter's scope (else `OutOfScope`).
    InScope,
    OutOfScope,
    Bool(bool),
    Status(TargetStatus),
    Date(Option<NaiveDate>),
    Clean(bool),
    Text,
    /// Not UTF-8.
    Encoding,
    /// A value the registry reader refuses (reported by reading the row again).
    Invalid,
}

/// How a column's values are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Category,
    KeyArea,
    Status,
    LastInspected,
    LastResult,
    Text,
}

/// An exact key for values of up to 24 bytes: their bytes in three words, and the length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Short {
    w: [u64; 3],
    len: u64,
}

impl Short {
    /// The key of the `len` bytes at the start of `wide`, loading whole words when `wide` has
    /// 24 bytes (the bytes past `len` are masked off).
    #[inline]
    fn load(wide: &[u8], len: usize) -> Option<Short> {
        if len > 24 {
            return None;
        }
        let Some(words) = wide.get(..24) else {
            return Short::of(wide.get(..len).unwrap_or_default());
        };
        let mut w = [0u64; 3];
        for (i, (out, chunk)) in w.iter_mut().zip(words.chunks_exact(8)).enumerate() {
            let mut x = [0u8; 8];
            x.copy_from_slice(chunk);
            let n = len.saturating_sub(i * 8).min(8);
            let mask = if n == 8 {
                u64::MAX
            } else {
                (1u64 << (n * 8)) - 1
            };
            *out = u64::from_le_bytes(x) & mask;
        }
        Some(Short { w, len: len as u64 })
    }

    #[inline]
    fn of(b: &[u8]) -> Option<Short> {
        if b.len() > 24 {
            return None;
        }
        let mut w = [0u64; 3];
        for (i, chunk) in b.chunks(8).enumerate() {
            let mut x = [0u8; 8];
            x[..chunk.len()].copy_from_slice(chunk);
            w[i] = u64::from_le_bytes(x);
        }
        Some(Short {
            w,
            len: b.len() as u64,
        })
    }

    #[inline]
    fn hash(&self) -> u64 {
        (self.w[0] ^ self.w[1].rotate_left(21) ^ self.w[2].rotate_left(42) ^ self.len)
            .wrapping_mul(K)
    }
}

/// Raw cell bytes → id, per column, with the check of each value. Values of up to 24 bytes are
/// found through a small direct-mapped cache of (hash tag, id), checked against the value's
/// exact [`Short`] key, before the map.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    map: FxMap<Box<[u8]>, u32>,
    pub values: Vec<Box<[u8]>>,
    checks: Vec<Check>,
    /// Per value: 0 = cooldown not decided yet, 1 = no, 2 = yes (dates only).
    cool: Vec<u8>,
    /// Per value: its short key (length `u64::MAX` for longer values).
    shorts: Vec<Short>,
    /// (hash tag << 32) | (id + 1); 0 = empty.
    cache: Vec<u64>,
    bits: u32,
}

impl Interner {
    fn new(bits: u32) -> Interner {
        Interner {
            cache: vec![0; 1 << bits],
            bits,
            ..Interner::default()
        }
    }

    #[inline]
    fn id(&mut self, b: &[u8], wide: &[u8], kind: Kind, cx: &Context) -> (u32, Check) {
        let short = Short::load(wide, b.len());
        let mut slot = usize::MAX;
        let mut tag = 0u64;
        if let Some(s) = &short {
            let h = s.hash();
            slot = (h >> (64 - self.bits)) as usize;
            tag = h & 0xffff_ffff;
            let e = self.cache[slot];
            if e >> 32 == tag && e & 0xffff_ffff != 0 {
                let id = (e & 0xffff_ffff) as u32 - 1;
                if self.shorts.get(id as usize) == Some(s) {
                    return (id, self.checks[id as usize]);
                }
            }
        }
        let id = match self.map.get(b) {
            Some(&id) => id,
            None => {
                let id = self.values.len() as u32;
                self.checks.push(check(b, kind, cx));
                self.cool.push(0);
                self.shorts.push(short.unwrap_or(Short {
                    w: [0; 3],
                    len: u64::MAX,
                }));
                self.values.push(b.into());
                self.map.insert(b.into(), id);
                id
            }
        };
        if let Some(e) = self.cache.get_mut(slot) {
            *e = (tag << 32) | (u64::from(id) + 1);
        }
        (id, self.checks[id as usize])
    }
}

/// A date written exactly as `YYYY-MM-DD`: `Some(Ok(yyyymmdd))` if it is a real day,
/// `Some(Err(()))` if not (the reader refuses it), `None` for any other layout.
#[inline]
pub(crate) fn iso_date(b: &[u8]) -> Option<Result<u32, ()>> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let mut n = 0u32;
    for (i, &c) in b.iter().enumerate() {
        if i == 4 || i == 7 {
            continue;
        }
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    let (y, m, d) = (n / 10_000, n / 100 % 100, n % 100);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    Some(if d >= 1 && d <= days { Ok(n) } else { Err(()) })
}

/// The first day (as yyyymmdd) whose clean inspection still keeps a target out on `reference`
/// (`in_cooldown` is monotone in the day, so it holds exactly from this day on).
pub(crate) fn cooldown_cutoff(months: u32, reference: NaiveDate) -> u32 {
    use chrono::Datelike;
    // Before `start`, even the longest months cannot reach `reference`; from the day after
    // `reference`, every day is in cooldown (months > 0).
    let mut d = reference - chrono::Days::new((u64::from(months) + 2) * 31 + 7);
    while !in_cooldown(d, months, reference) && d <= reference {
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
    d.year().max(0) as u32 * 10_000 + d.month() * 100 + d.day()
}

fn check(b: &[u8], kind: Kind, cx: &Context) -> Check {
    let Some(s) = trim_bytes(b) else {
        return Check::Encoding;
    };
    match kind {
        Kind::Category => {
            if s.is_empty() {
                return Check::Invalid;
            }
            match known_spelling(s, &cx.known_categories) {
                Some(c) if cx.categories.contains(&c) => Check::InScope,
                Some(_) => Check::OutOfScope,
                None => Check::Invalid,
            }
        }
        Kind::KeyArea if s.is_empty() => Check::Bool(false),
        Kind::KeyArea => parse_bool(s).map_or(Check::Invalid, Check::Bool),
        Kind::Status if s.is_empty() => Check::Status(TargetStatus::Active),
        Kind::Status => parse_status(s).map_or(Check::Invalid, Check::Status),
        Kind::LastInspected if s.is_empty() => Check::Date(None),
        Kind::LastInspected => parse_date(s).map_or(Check::Invalid, |d| Check::Date(Some(d))),
        Kind::LastResult => Check::Clean(!s.is_empty() && CLEAN_RESULTS.contains(&s)),
        Kind::Text => Check::Text,
    }
}

/// A row's profile in one thread: the reason, and the interned inputs of the eligible hook, the
/// stratum and the weight hook (`NONE` where not used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Profile {
    pub reason: Reason,
    pub eligible: u32,
    pub stratum: u32,
    pub weight: u32,
}

/// A hook's or the stratum's input: the sources of the fields it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeySpec {
    pub sources: Vec<Src>,
}

/// A key part's raw value, independent of the thread that interned it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Raw {
    Cell(Box<[u8]>),
    Extras(Box<[Box<[u8]>]>),
    Missing,
}

/// What the rules say about a distinct input: the hooks' answers and the stratum's ranker.
pub(crate) trait Oracle: Sync {
    fn eligible(&self, key: &[Raw]) -> Answer<bool>;
    fn weight(&self, key: &[Raw]) -> Answer<f64>;
    /// The ranker of the stratum with this input.
    fn stratum(&self, key: &[Raw]) -> Ranker;
    /// Whether targets of the stratum with this input are in the draw's scope (not of a class
    /// the draw does not cover, `class_frequency`).
    fn class_due(&self, key: &[Raw]) -> bool;
}

/// What the pass needs to know (shared by the threads).
#[derive(Debug)]
pub(crate) struct Context<'h> {
    pub width: usize,
    pub id_col: usize,
    pub category_col: usize,
    pub status_col: Option<usize>,
    /// Set for key-area-only draws.
    pub key_area_col: Option<usize>,
    /// (last_inspected, last_result, months) when the matter has a cooldown.
    pub cooldown: Option<(Option<usize>, Option<usize>, u32)>,
    pub reference: NaiveDate,
    pub yearly_cap: Option<u32>,
    /// The draw's history by target id, each entry with its place.
    pub history: HistoryPlaces<'h>,
    pub extras: Vec<usize>,
    pub stratum: KeySpec,
    pub eligible: Option<KeySpec>,
    pub weight: Option<KeySpec>,
    /// The matter's categories, and the categories the registry may use (empty: any).
    pub categories: Vec<String>,
    pub known_categories: std::collections::BTreeSet<String>,
    /// Kind of check per column index.
    pub kinds: Vec<Kind>,
    /// Track the smallest id of every profile drawn from (class ratios can give two strata of
    /// one name different ratios; the first target by id decides).
    pub track_all: bool,
    /// Some class is out of the draw's scope (`class_frequency`): each stratum input is asked.
    pub scopes_classes: bool,
    /// Keep the offsets of at most this many excluded rows (for listing them).
    pub list_up_to: usize,
    /// When nothing but the cooldown reads the last-inspection date: the cooldown's first day
    /// (yyyymmdd), so `YYYY-MM-DD` dates are compared without interning.
    pub cooldown_from: Option<u32>,
    /// Keep the id and name of a row drawn from when its U is below this (times its weight
    /// over the mean weight so far, for weighted draws): about three times its chance of
    /// being drawn, so that most drawn rows need not be read again.
    pub capture_below: f64,
    pub weighted: bool,
    pub name_col: usize,
}

/// A key's fields as interned in one thread.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    Cell(usize, u32),
    Extras(u32),
    Missing,
}

/// One thread's pass-1 state and results.
#[derive(Debug, Default)]
pub(crate) struct Pass1 {
    pub columns: Vec<Interner>,
    /// Extras tuples (value id per extra column).
    extras: FxMap<Box<[u32]>, u32>,
    pub extras_list: Vec<Box<[u32]>>,
    /// Keys of more than one field.
    tuples: FxMap<Box<[u32]>, u32>,
    pub tuple_list: Vec<Box<[u32]>>,
    profiles: FxMap<Profile, u32>,
    pub profile_list: Vec<Profile>,
    /// Rows per profile.
    pub counts: Vec<u64>,
    /// The smallest id of each profile, where tracked (hook failures, bad weights, `track_all`).
    pub min_ids: Vec<Option<String>>,
    track: Vec<bool>,
    /// Answers per local input.
    pub eligible_answers: Vec<Option<Answer<bool>>>,
    pub weight_answers: Vec<Option<Answer<f64>>>,
    /// The operations each answer's call used.
    pub eligible_costs: Vec<u64>,
    pub weight_costs: Vec<u64>,
    /// Operations of the answers, summed over this thread's rows.
    pub operations: u64,
    rankers: Vec<Option<Ranker>>,
    /// Per local stratum input: whether its class is in the draw's scope (asked once).
    class_due: Vec<Option<bool>>,
    pub hook_calls: u64,
    /// Rows drawn from, in file order.
    pub drawn: Vec<Drawn>,
    /// For the rows drawn from whose key is small enough that they may well be drawn: where
    /// their id and name cell are in `capture_bytes` (start, id length, name length), in order.
    pub captures: Vec<(u32, u32, u32)>,
    pub capture_bytes: Vec<u8>,
    weight_sum: f64,
    weight_rows: u64,
    /// File offset of this thread's range (drawn rows' offsets are relative to it).
    pub base: u64,
    /// Excluded rows (offset, profile), while there are at most `list_up_to`.
    pub excluded: Vec<(u64, u32)>,
    /// The detail file's cells of each of `excluded`.
    pub excluded_cells: ExcludedCells,
    pub excluded_total: u64,
    /// Rows the registry reader would refuse (file offsets), at most `MAX_FLAGGED`.
    pub flagged: Vec<u64>,
    /// Rows that are not UTF-8 text in a column read.
    pub encoding: Vec<u64>,
    /// The places (in the history's id order) of the history entries of the targets that
    /// reached the history checks.
    pub history_used: Vec<u32>,
    /// Where this thread's last search of the history ended ([`HistoryPlaces::find`]).
    history_cursor: usize,
    pub rows: u64,
    /// Per-row cache of column ids: (generation, id) per column.
    row_ids: Vec<(u64, u32)>,
    generation: u64,
    /// Direct-mapped cache in front of `profiles`.
    profile_cache: Vec<(Profile, u32)>,
}

/// A row's hook inputs and what they decide.
struct Hooked {
    eligible: u32,
    weight: u32,
    drawn: bool,
    /// Keep the smallest id of its profile (the draw may fail on it, or class ratios need it).
    track: bool,
    row_weight: f64,
}

/// At most this many bytes of ids and names are kept per thread.
const CAPTURE_BYTES: usize = 64 << 20;

/// Rows with problems kept for the report (each thread).
pub(crate) const MAX_FLAGGED: usize = 200;

impl Pass1 {
    pub(crate) fn new(cx: &Context, base: u64, expected_rows: usize) -> Pass1 {
        let columns = (0..cx.width)
            .map(|c| {
                Interner::new(if cx.kinds[c] == Kind::LastInspected {
                    12
                } else {
                    8
                })
            })
            .collect();
        Pass1 {
            columns,
            drawn: Vec::with_capacity(expected_rows),
            base,
            row_ids: vec![(0, 0); cx.width],
            profile_cache: vec![
                (
                    Profile {
                        reason: Reason::Candidate,
                        eligible: NONE,
                        stratum: NONE,
                        weight: NONE,
                    },
                    NONE
                );
                1024
            ],
            ..Pass1::default()
        }
    }

    fn flag(&mut self, offset: u64) {
        if self.flagged.len() < MAX_FLAGGED {
            self.flagged.push(offset);
        }
    }

    /// [`Pass1::flag`], for a caller that then gives up on the row.
    fn refused<T>(&mut self, offset: u64) -> Option<T> {
        self.flag(offset);
        None
    }

    /// [`Pass1::encoding_problem`], for a caller that then gives up on the row.
    fn not_utf8<T>(&mut self, offset: u64) -> Option<T> {
        self.encoding_problem(offset);
        None
    }

    fn encoding_problem(&mut self, offset: u64) {
        if self.encoding.len() < MAX_FLAGGED {
            self.encoding.push(offset);
        }
    }

    /// The id and check of column `col` in this row (interned once per row).
    #[inline]
    fn col(&mut self, r: &Record<'_>, col: usize, cx: &Context) -> (u32, Check) {
        let slot = self.row_ids[col];
        if slot.0 == self.generation {
            return (slot.1, self.columns[col].checks[slot.1 as usize]);
        }
        let (cell, wide) = r.cell_wide(col);
        let (id, check) = self.columns[col].id(cell, wide, cx.kinds[col], cx);
        self.row_ids[col] = (self.generation, id);
        (id, check)
    }

    fn part(&mut self, r: &Record<'_>, src: Src, cx: &Context) -> Result<u32, ()> {
        match src {
            Src::Col(c) => match self.col(r, c, cx) {
                (_, Check::Encoding | Check::Invalid) => Err(()),
                (id, _) => Ok(id),
            },
            Src::Extras => {
                let mut ids = Vec::with_capacity(cx.extras.len());
                for &c in &cx.extras {
                    let (id, check) = self.col(r, c, cx);
                    if check == Check::Encoding {
                        return Err(());
                    }
                    ids.push(id);
                }
                if let Some(&id) = self.extras.get(ids.as_slice()) {
                    return Ok(id);
                }
                let id = self.extras_list.len() as u32;
                self.extras.insert(ids.clone().into(), id);
                self.extras_list.push(ids.into());
                Ok(id)
            }
            Src::Missing => Ok(0),
        }
    }

    fn key(&mut self, r: &Record<'_>, spec: &KeySpec, cx: &Context) -> Result<u32, ()> {
        match spec.sources.as_slice() {
            [] => return Ok(0),
            [one] => return self.part(r, *one, cx),
            _ => {}
        }
        let mut all = Vec::with_capacity(spec.sources.len());
        for &src in &spec.sources {
            all.push(self.part(r, src, cx)?);
        }
        if let Some(&id) = self.tuples.get(all.as_slice()) {
            return Ok(id);
        }
        let id = self.tuple_list.len() as u32;
        self.tuples.insert(all.clone().into(), id);
        self.tuple_list.push(all.into());
        Ok(id)
    }

    /// The parts of a key as interned here.
    pub(crate) fn parts(&self, spec: &KeySpec, key: u32) -> Vec<Part> {
        let ids: Vec<u32> = if spec.sources.len() <= 1 {
            vec![key]
        } else {
            self.tuple_list
                .get(key as usize)
                .map(|t| t.to_vec())
                .unwrap_or_default()
        };
        spec.sources
            .iter()
            .zip(ids)
            .map(|(src, id)| match *src {
                Src::Col(c) => Part::Cell(c, id),
                Src::Extras => Part::Extras(id),
                Src::Missing => Part::Missing,
            })
            .collect()
    }

    /// A key's raw values (independent of this thread's ids).
    pub(crate) fn raw_key(&self, cx: &Context, spec: &KeySpec, key: u32) -> Vec<Raw> {
        let cell = |c: usize, id: u32| -> Box<[u8]> {
            self.columns
                .get(c)
                .and_then(|i| i.values.get(id as usize))
                .cloned()
                .unwrap_or_default()
        };
        self.parts(spec, key)
            .into_iter()
            .map(|part| match part {
                Part::Cell(c, id) => Raw::Cell(cell(c, id)),
                Part::Extras(id) => Raw::Extras(
                    self.extras_list
                        .get(id as usize)
                        .map(|ids| {
                            ids.iter()
                                .zip(&cx.extras)
                                .map(|(&v, &c)| cell(c, v))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                Part::Missing => Raw::Missing,
            })
            .collect()
    }

    /// Processes one data record.
    pub(crate) fn row(&mut self, r: &Record<'_>, cx: &Context, oracle: &dyn Oracle) {
        self.rows += 1;
        self.generation += 1;
        self.classify(r, cx, oracle);
    }

    fn blank(r: &Record<'_>) -> bool {
        (0..r.split()).all(|i| trim_bytes(r.cell(i)).is_some_and(str::is_empty))
    }

    fn classify(&mut self, r: &Record<'_>, cx: &Context, oracle: &dyn Oracle) {
        let history_before = self.history_used.len();
        let Some(reason) = self.scope(r, cx) else {
            return;
        };
        let Ok(stratum) = self.key(r, &cx.stratum, cx) else {
            return self.flag(r.offset);
        };
        if cx.scopes_classes && !self.class_due(cx, oracle, stratum) {
            // Of a class this draw does not cover: out of scope, its history not recorded.
            self.history_used.truncate(history_before);
            return;
        }
        let Some(h) = self.hooks(r, cx, oracle, reason) else {
            return;
        };
        let id = self.profile(Profile {
            reason,
            eligible: h.eligible,
            stratum,
            weight: h.weight,
        });
        self.counts[id as usize] += 1;
        if h.track || self.track[id as usize] {
            self.track[id as usize] = true;
            let Some(tid) = trim_bytes(r.cell(cx.id_col)) else {
                return self.encoding_problem(r.offset);
            };
            let slot = &mut self.min_ids[id as usize];
            if slot.as_deref().is_none_or(|m| tid < m) {
                *slot = Some(tid.to_string());
            }
        }
        if h.drawn {
            self.keep_drawn(r, cx, oracle, stratum, id, h.row_weight);
        } else {
            self.excluded_total += 1;
            if self.excluded.len() <= cx.list_up_to {
                self.excluded.push((r.offset, id));
                let cooldown = cx.cooldown.map(|(date, result, _)| {
                    let cells = [date, result].map(|c| c.map_or(&[][..], |c| r.cell(c)));
                    (cells, reason == Reason::Cooldown)
                });
                self.excluded_cells.keep(r.cell(cx.id_col), cooldown);
            }
        }
    }

    /// Whether the row is in scope and, if so, why it is excluded or that it is a candidate
    /// (None: out of scope, blank, or a problem recorded).
    fn scope(&mut self, r: &Record<'_>, cx: &Context) -> Option<Reason> {
        if r.width != cx.width {
            // Blank rows are skipped by the reader whatever their width; others are errors.
            if !Self::blank(r) {
                self.flag(r.offset);
            }
            return None;
        }
        match self.col(r, cx.category_col, cx).1 {
            Check::InScope => {}
            Check::OutOfScope => return None,
            Check::Encoding => return self.not_utf8(r.offset),
            _ => {
                if !Self::blank(r) {
                    self.flag(r.offset);
                }
                return None;
            }
        }
        if let Some(c) = cx.key_area_col {
            match self.col(r, c, cx).1 {
                Check::Bool(true) => {}
                Check::Bool(false) => return None,
                Check::Encoding => return self.not_utf8(r.offset),
                _ => return self.refused(r.offset),
            }
        }
        if let Some(c) = cx.status_col {
            match self.col(r, c, cx).1 {
                Check::Status(TargetStatus::Deregistered) => return Some(Reason::Deregistered),
                Check::Status(TargetStatus::Active) => {}
                Check::Encoding => return self.not_utf8(r.offset),
                _ => return self.refused(r.offset),
            }
        }
        match self.fixed_checks(r, cx) {
            Ok(why) => Some(why.unwrap_or(Reason::Candidate)),
            Err(()) => None,
        }
    }

    /// The hooks' inputs and answers for a row (None: a problem recorded).
    fn hooks(
        &mut self,
        r: &Record<'_>,
        cx: &Context,
        oracle: &dyn Oracle,
        reason: Reason,
    ) -> Option<Hooked> {
        let mut h = Hooked {
            eligible: NONE,
            weight: NONE,
            drawn: reason == Reason::Candidate,
            track: cx.track_all,
            row_weight: 1.0,
        };
        if reason != Reason::Candidate {
            return Some(h);
        }
        if let Some(spec) = &cx.eligible {
            let Ok(k) = self.key(r, spec, cx) else {
                return self.refused(r.offset);
            };
            h.eligible = k;
            match self.eligible_answer(k, cx, spec, oracle) {
                Answer::Ok(true) => {}
                Answer::Ok(false) => h.drawn = false,
                _ => {
                    h.drawn = false;
                    h.track = true;
                }
            }
        }
        if h.drawn
            && let Some(spec) = &cx.weight
        {
            let Ok(k) = self.key(r, spec, cx) else {
                return self.refused(r.offset);
            };
            h.weight = k;
            match self.weight_answer(k, cx, spec, oracle) {
                Answer::Ok(w) if w.is_finite() && w > 0.0 => h.row_weight = w,
                _ => h.track = true,
            }
        }
        Some(h)
    }

    /// The number of a profile in this thread (a direct-mapped cache in front of the map).
    fn profile(&mut self, p: Profile) -> u32 {
        let slot = ((u64::from(p.stratum)
            ^ u64::from(p.eligible).rotate_left(20)
            ^ u64::from(p.weight).rotate_left(40)
            ^ (p.reason as u64))
            .wrapping_mul(K)
            >> 54) as usize;
        if let Some(&(cached, id)) = self.profile_cache.get(slot)
            && cached == p
            && id != NONE
        {
            return id;
        }
        let next = self.profile_list.len() as u32;
        let id = *self.profiles.entry(p).or_insert(next);
        if id == next {
            self.profile_list.push(p);
            self.counts.push(0);
            self.min_ids.push(None);
            self.track.push(false);
        }
        if let Some(c) = self.profile_cache.get_mut(slot) {
            *c = (p, id);
        }
        id
    }

    /// Whether the class of the local stratum input `stratum` is in the draw's scope.
    fn class_due(&mut self, cx: &Context, oracle: &dyn Oracle, stratum: u32) -> bool {
        let s = stratum as usize;
        if let Some(Some(due)) = self.class_due.get(s) {
            return *due;
        }
        let raw = self.raw_key(cx, &cx.stratum, stratum);
        let due = oracle.class_due(&raw);
        if self.class_due.len() <= s {
            self.class_due.resize(s + 1, None);
        }
        self.class_due[s] = Some(due);
        due
    }

    /// Keeps a row drawn from: its key's head and offset, and its id and name when it may well
    /// be drawn.
    fn keep_drawn(
        &mut self,
        r: &Record<'_>,
        cx: &Context,
        oracle: &dyn Oracle,
        stratum: u32,
        profile: u32,
        row_weight: f64,
    ) {
        let Some(tid) = trim_bytes(r.cell(cx.id_col)) else {
            return self.encoding_problem(r.offset);
        };
        if tid.is_empty() || looks_like_scientific(tid) {
            return self.flag(r.offset);
        }
        let s = stratum as usize;
        if !matches!(self.rankers.get(s), Some(Some(_))) {
            let raw = self.raw_key(cx, &cx.stratum, stratum);
            if self.rankers.len() <= s {
                self.rankers.resize(s + 1, None);
            }
            self.rankers[s] = Some(oracle.stratum(&raw));
        }
        let Some(Some(ranker)) = self.rankers.get(s) else {
            return;
        };
        let head = ranker.head_of_bytes(tid.as_bytes());
        let mut offset = u32::try_from(r.offset - self.base).unwrap_or(u32::MAX) & !CAPTURED;
        let mut below = cx.capture_below;
        if cx.weighted {
            self.weight_sum += row_weight;
            self.weight_rows += 1;
            below *= row_weight * self.weight_rows as f64 / self.weight_sum;
        }
        if uniform_from_head(head) < below && self.capture_bytes.len() < CAPTURE_BYTES {
            let name = r.cell(cx.name_col);
            let at = self.capture_bytes.len() as u32;
            self.capture_bytes.extend_from_slice(tid.as_bytes());
            self.capture_bytes.extend_from_slice(name);
            self.captures
                .push((at, tid.len() as u32, name.len() as u32));
            offset |= CAPTURED;
        }
        self.drawn.push(Drawn {
            head,
            offset,
            profile,
        });
    }

    fn eligible_answer(
        &mut self,
        k: u32,
        cx: &Context,
        spec: &KeySpec,
        oracle: &dyn Oracle,
    ) -> Answer<bool> {
        let i = k as usize;
        if let Some(Some(a)) = self.eligible_answers.get(i) {
            self.operations += self.eligible_costs.get(i).copied().unwrap_or(0);
            return a.clone();
        }
        let raw = self.raw_key(cx, spec, k);
        let a = oracle.eligible(&raw);
        let ops = crate::script::last_operations();
        self.operations += ops;
        self.hook_calls += 1;
        if self.eligible_answers.len() <= i {
            self.eligible_answers.resize(i + 1, None);
            self.eligible_costs.resize(i + 1, 0);
        }
        self.eligible_answers[i] = Some(a.clone());
        self.eligible_costs[i] = ops;
        a
    }

    fn weight_answer(
        &mut self,
        k: u32,
        cx: &Context,
        spec: &KeySpec,
        oracle: &dyn Oracle,
    ) -> Answer<f64> {
        let i = k as usize;
        if let Some(Some(a)) = self.weight_answers.get(i) {
            self.operations += self.weight_costs.get(i).copied().unwrap_or(0);
            return a.clone();
        }
        let raw = self.raw_key(cx, spec, k);
        let a = oracle.weight(&raw);
        let ops = crate::script::last_operations();
        self.operations += ops;
        self.hook_calls += 1;
        if self.weight_answers.len() <= i {
            self.weight_answers.resize(i + 1, None);
            self.weight_costs.resize(i + 1, 0);
        }
        self.weight_answers[i] = Some(a.clone());
        self.weight_costs[i] = ops;
        a
    }

    /// History, cooldown and the yearly cap, for an active target in scope.
    fn fixed_checks(&mut self, r: &Record<'_>, cx: &Context) -> Result<Option<Reason>, ()> {
        let hist = if cx.history.is_empty() {
            None
        } else {
            let Some(id) = trim_bytes(r.cell(cx.id_col)) else {
                self.encoding_problem(r.offset);
                return Err(());
            };
            let h = cx.history.find(id, &mut self.history_cursor);
            h.map(|(at, h)| {
                self.history_used.push(at);
                h
            })
        };
        if let Some(cooldown) = cx.cooldown
            && self.cooling(r, cx, hist, cooldown)?
        {
            return Ok(Some(Reason::Cooldown));
        }
        Ok(self.yearly(cx, hist))
    }

    /// Whether the row is in its cooldown after a clean inspection (the registry's or the
    /// history's).
    fn cooling(
        &mut self,
        r: &Record<'_>,
        cx: &Context,
        hist: Option<&HistoryEntry>,
        (date_col, result_col, months): (Option<usize>, Option<usize>, u32),
    ) -> Result<bool, ()> {
        let clean = match result_col {
            Some(c) if r.cell(c).is_empty() => false,
            Some(c) => match self.col(r, c, cx).1 {
                Check::Clean(clean) => clean,
                _ => {
                    self.encoding_problem(r.offset);
                    return Err(());
                }
            },
            None => false,
        };
        let from_history = hist.and_then(|h| h.last_clean);
        // Dates written YYYY-MM-DD are compared directly when only the cooldown reads them.
        if let (Some(c), Some(from), None) = (date_col, cx.cooldown_from, from_history) {
            let cell = r.cell(c);
            if cell.is_empty() {
                return Ok(false);
            }
            match iso_date(cell) {
                Some(Err(())) => {
                    self.flag(r.offset);
                    return Err(());
                }
                Some(Ok(day)) => return Ok(clean && day >= from),
                None => {}
            }
        }
        let (date, date_id) = match date_col {
            Some(c) => match self.col(r, c, cx) {
                (id, Check::Date(d)) => (d, Some((c, id))),
                (_, Check::Encoding) => {
                    self.encoding_problem(r.offset);
                    return Err(());
                }
                _ => {
                    self.flag(r.offset);
                    return Err(());
                }
            },
            None => (None, None),
        };
        let registry = date.filter(|_| clean);
        Ok(match (registry, from_history, date_id) {
            (Some(d), None, Some((c, id))) => {
                // Decided once per distinct date.
                let cool = &mut self.columns[c].cool[id as usize];
                if *cool == 0 {
                    *cool = if in_cooldown(d, months, cx.reference) {
                        2
                    } else {
                        1
                    };
                }
                *cool == 2
            }
            (reg, hist_date, _) => reg
                .max(hist_date)
                .is_some_and(|d| in_cooldown(d, months, cx.reference)),
        })
    }

    fn yearly(&self, cx: &Context, hist: Option<&HistoryEntry>) -> Option<Reason> {
        match (cx.yearly_cap, hist) {
            (Some(cap), Some(h)) if h.inspections_this_year >= cap => Some(Reason::YearlyCap),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_agree_with_the_reader() {
        for text in [
            "2023-05-06",
            "2024-02-29",
            "2023-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-04-31",
            "0000-01-01",
            "2023/05/06",
            "2023-5-06",
            "2023-05-0x",
            "2100-02-29",
            "2000-02-29",
        ] {
            let b = text.as_bytes();
            let iso = b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
            let want = if iso {
                use chrono::Datelike;
                Some(
                    parse_date(text)
                        .map(|d| d.year() as u32 * 10_000 + d.month() * 100 + d.day())
                        .map_err(|_| ()),
                )
            } else {
                None
            };
            assert_eq!(iso_date(text.as_bytes()), want, "{text}");
        }
    }

    #[test]
    fn cooldown_cutoff_is_the_first_day_in_cooldown() {
        use chrono::Datelike;
        for (y, m, d) in [(2024, 1, 2), (2024, 3, 31), (2023, 8, 31), (2024, 2, 29)] {
            let reference = NaiveDate::from_ymd_opt(y, m, d).expect("date");
            for months in [1, 6, 12, 25] {
                let from = cooldown_cutoff(months, reference);
                let mut day = reference - chrono::Days::new(900);
                while day <= reference + chrono::Days::new(3) {
                    let packed = day.year() as u32 * 10_000 + day.month() * 100 + day.day();
                    assert_eq!(
                        packed >= from,
                        in_cooldown(day, months, reference),
                        "{day} {months} {reference}"
                    );
                    day = day.succ_opt().expect("day");
                }
            }
        }
    }
}
