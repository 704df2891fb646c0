//! Pass 1: every row's scope, exclusion and the values its stratum and hooks depend on, reduced to
//! a small "profile" number per row.
//!
//! Cells are interned (raw bytes → small id) per column, so each distinct value is trimmed,
//! decoded and checked once. A profile is (reason, eligible-hook input, stratum input,
//! weight-hook input); rows with the same profile are treated alike by everything that follows,
//! and the hooks run once per distinct input after the pass.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::NaiveDate;

use crate::draw::engine::{CLEAN_RESULTS, History, in_cooldown};
use crate::draw::manifest::HistoryEntry;
use crate::registry::read::known_spelling;
use crate::registry::types::TargetStatus;
use crate::registry::values::{looks_like_scientific, parse_bool, parse_date, parse_status, trim};

use super::scan::Record;

/// FxHash (as in rustc), with a final mix so low bits are usable for buckets.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(SEED);
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

/// `trim` on raw bytes: `None` when they are not UTF-8. Plain ASCII ends need no decoding.
pub(crate) fn trim_bytes(b: &[u8]) -> Option<&str> {
    let plain = |c: u8| c < 0x80 && !matches!(c, 0x09..=0x0d | 0x20);
    match (b.first(), b.last()) {
        (None, _) | (_, None) => Some(""),
        (Some(&f), Some(&l)) if plain(f) && plain(l) => std::str::from_utf8(b).ok(),
        _ => std::str::from_utf8(b).ok().map(trim),
    }
}

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
    /// Category, when in the matter's scope (else `OutOfScope`).
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

/// Raw cell bytes → id, per column, with the check of each value.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    map: FxMap<Box<[u8]>, u32>,
    pub values: Vec<Box<[u8]>>,
    checks: Vec<Check>,
}

impl Interner {
    #[inline]
    fn id(&mut self, b: &[u8], kind: Kind, cx: &Context) -> (u32, Check) {
        if let Some(&id) = self.map.get(b) {
            return (id, self.checks[id as usize]);
        }
        let id = self.values.len() as u32;
        let check = check(b, kind, cx);
        self.values.push(b.into());
        self.checks.push(check);
        self.map.insert(b.into(), id);
        (id, check)
    }
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

/// Why a row is not drawn from, or that it is a candidate; the low codes of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Reason {
    Deregistered = 0,
    Cooldown = 1,
    YearlyCap = 2,
    /// Passed every fixed check; the eligible hook decides.
    Candidate = 3,
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

pub(crate) const NONE: u32 = u32::MAX;

/// A hook's or the stratum's input: the sources of the fields it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeySpec {
    pub sources: Vec<Src>,
}

/// What pass 1 needs to know (shared by the threads).
#[derive(Debug)]
pub(crate) struct Context {
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
    pub history: FxMap<Box<str>, HistoryEntry>,
    pub extras: Vec<usize>,
    pub stratum: KeySpec,
    pub eligible: Option<KeySpec>,
    pub weight: Option<KeySpec>,
    /// The matter's categories, and the categories the registry may use (empty: any).
    pub categories: Vec<String>,
    pub known_categories: std::collections::BTreeSet<String>,
    /// Kind of check per column index.
    pub kinds: Vec<Kind>,
}

impl Context {
    pub(crate) fn new_history(history: &History) -> FxMap<Box<str>, HistoryEntry> {
        history
            .entries
            .iter()
            .map(|(id, h)| (id.as_str().into(), h.clone()))
            .collect()
    }
}

/// A key's fields as interned in one thread: a column value id, the extras tuple id, or nothing.
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
    pub extras: FxMap<Box<[u32]>, u32>,
    pub extras_list: Vec<Box<[u32]>>,
    /// Keys of more than one field.
    tuples: FxMap<Box<[u32]>, u32>,
    pub tuple_list: Vec<Box<[u32]>>,
    profiles: FxMap<Profile, u32>,
    pub profile_list: Vec<Profile>,
    /// Rows per profile.
    pub counts: Vec<u64>,
    /// One code per record: 0 = not in the draw's scope, else profile index + 1.
    pub codes: Vec<u32>,
    /// Rows the registry reader would refuse (file offsets), at most `MAX_FLAGGED`.
    pub flagged: Vec<u64>,
    /// Rows that are not UTF-8 text in a column read.
    pub encoding: Vec<u64>,
    /// History entries of the targets that reached the history checks.
    pub history_used: Vec<(String, HistoryEntry)>,
    pub rows: u64,
    /// Per-row cache of column ids: (generation, id) per column.
    row_ids: Vec<(u64, u32)>,
    generation: u64,
}

/// Rows with problems kept for the report (each thread).
pub(crate) const MAX_FLAGGED: usize = 200;

/// How a key part is spelt out for one source.
impl Pass1 {
    pub(crate) fn new(cx: &Context, expected_rows: usize) -> Pass1 {
        Pass1 {
            columns: (0..cx.width).map(|_| Interner::default()).collect(),
            codes: Vec::with_capacity(expected_rows),
            row_ids: vec![(0, 0); cx.width],
            ..Pass1::default()
        }
    }

    fn flag(&mut self, offset: u64) {
        if self.flagged.len() < MAX_FLAGGED {
            self.flagged.push(offset);
        }
    }

    /// The id and check of column `col` in this row (interned once per row).
    #[inline]
    fn col(&mut self, r: &Record<'_>, col: usize, cx: &Context) -> (u32, Check) {
        let slot = self.row_ids[col];
        if slot.0 == self.generation {
            return (slot.1, self.columns[col].checks[slot.1 as usize]);
        }
        let (id, check) = self.columns[col].id(r.cell(col), cx.kinds[col], cx);
        self.row_ids[col] = (self.generation, id);
        (id, check)
    }

    fn part(&mut self, r: &Record<'_>, src: Src, cx: &Context) -> Result<u32, ()> {
        match src {
            Src::Col(c) => {
                let (id, check) = self.col(r, c, cx);
                match check {
                    Check::Encoding | Check::Invalid => Err(()),
                    _ => Ok(id),
                }
            }
            Src::Extras => {
                let mut ids = Vec::with_capacity(cx.extras.len());
                for &c in &cx.extras {
                    let (id, check) = self.col(r, c, cx);
                    if check == Check::Encoding {
                        return Err(());
                    }
                    ids.push(id);
                }
                let next = self.extras_list.len() as u32;
                let id = *self.extras.entry(ids.clone().into()).or_insert(next);
                if id == next {
                    self.extras_list.push(ids.into());
                }
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
        let mut ids = [0u32; 8];
        let mut many = Vec::new();
        for (i, &src) in spec.sources.iter().enumerate() {
            let id = self.part(r, src, cx)?;
            if i < ids.len() {
                ids[i] = id;
            } else {
                many.push(id);
            }
        }
        let n = spec.sources.len().min(ids.len());
        let mut all: Vec<u32> = ids[..n].to_vec();
        all.extend(many);
        let next = self.tuple_list.len() as u32;
        if let Some(&id) = self.tuples.get(all.as_slice()) {
            return Ok(id);
        }
        self.tuples.insert(all.clone().into(), next);
        self.tuple_list.push(all.into());
        Ok(next)
    }

    /// The parts of a key as interned here (for merging threads).
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

    /// Processes one data record.
    pub(crate) fn row(&mut self, r: &Record<'_>, cx: &Context) {
        self.rows += 1;
        self.generation += 1;
        let code = self.classify(r, cx);
        self.codes.push(code);
    }

    fn classify(&mut self, r: &Record<'_>, cx: &Context) -> u32 {
        if r.width != cx.width {
            // Blank rows are skipped by the reader whatever their width; others are errors.
            if !(0..r.split()).all(|i| trim_bytes(r.cell(i)).is_some_and(str::is_empty))
                || r.width > r.split()
            {
                self.flag(r.offset);
            }
            return 0;
        }
        let (_, cat) = self.col(r, cx.category_col, cx);
        match cat {
            Check::InScope => {}
            Check::OutOfScope => return 0,
            Check::Encoding => {
                self.encoding_problem(r.offset);
                return 0;
            }
            _ => {
                if !self.blank(r) {
                    self.flag(r.offset);
                }
                return 0;
            }
        }
        if let Some(c) = cx.key_area_col {
            match self.col(r, c, cx).1 {
                Check::Bool(true) => {}
                Check::Bool(false) => return 0,
                Check::Encoding => {
                    self.encoding_problem(r.offset);
                    return 0;
                }
                _ => {
                    self.flag(r.offset);
                    return 0;
                }
            }
        }
        let mut reason = Reason::Candidate;
        if let Some(c) = cx.status_col {
            match self.col(r, c, cx).1 {
                Check::Status(TargetStatus::Deregistered) => reason = Reason::Deregistered,
                Check::Status(TargetStatus::Active) => {}
                Check::Encoding => {
                    self.encoding_problem(r.offset);
                    return 0;
                }
                _ => {
                    self.flag(r.offset);
                    return 0;
                }
            }
        }
        if reason == Reason::Candidate {
            match self.fixed_checks(r, cx) {
                Ok(Some(why)) => reason = why,
                Ok(None) => {}
                Err(()) => return 0,
            }
        }
        let stratum = match self.key(r, &cx.stratum, cx) {
            Ok(k) => k,
            Err(()) => return self.bad_cell(r),
        };
        let (mut eligible, mut weight) = (NONE, NONE);
        if reason == Reason::Candidate {
            if let Some(spec) = &cx.eligible {
                match self.key(r, spec, cx) {
                    Ok(k) => eligible = k,
                    Err(()) => return self.bad_cell(r),
                }
            }
            if let Some(spec) = &cx.weight {
                match self.key(r, spec, cx) {
                    Ok(k) => weight = k,
                    Err(()) => return self.bad_cell(r),
                }
            }
        }
        let p = Profile {
            reason,
            eligible,
            stratum,
            weight,
        };
        let next = self.profile_list.len() as u32;
        let id = *self.profiles.entry(p).or_insert(next);
        if id == next {
            self.profile_list.push(p);
            self.counts.push(0);
        }
        self.counts[id as usize] += 1;
        id + 1
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
            let h = cx.history.get(id);
            if let Some(h) = h {
                self.history_used.push((id.to_string(), h.clone()));
            }
            h
        };
        if let Some((date_col, result_col, months)) = cx.cooldown {
            let clean = match result_col {
                Some(c) => match self.col(r, c, cx).1 {
                    Check::Clean(clean) => clean,
                    _ => {
                        self.encoding_problem(r.offset);
                        return Err(());
                    }
                },
                None => false,
            };
            let date = match date_col {
                Some(c) => match self.col(r, c, cx).1 {
                    Check::Date(d) => d,
                    Check::Encoding => {
                        self.encoding_problem(r.offset);
                        return Err(());
                    }
                    _ => {
                        self.flag(r.offset);
                        return Err(());
                    }
                },
                None => None,
            };
            let registry = date.filter(|_| clean);
            let last = registry.max(hist.and_then(|h| h.last_clean));
            if let Some(d) = last
                && in_cooldown(d, months, cx.reference)
            {
                return Ok(Some(Reason::Cooldown));
            }
        }
        if let (Some(cap), Some(h)) = (cx.yearly_cap, hist)
            && h.inspections_this_year >= cap
        {
            return Ok(Some(Reason::YearlyCap));
        }
        Ok(None)
    }

    fn blank(&self, r: &Record<'_>) -> bool {
        (0..r.split()).all(|i| trim_bytes(r.cell(i)).is_some_and(str::is_empty))
    }

    fn bad_cell(&mut self, r: &Record<'_>) -> u32 {
        // A hook or stratum column that is not text: the reader reports encodings and values.
        self.flag(r.offset);
        0
    }

    fn encoding_problem(&mut self, offset: u64) {
        if self.encoding.len() < MAX_FLAGGED {
            self.encoding.push(offset);
        }
    }
}

/// Checks an id as the registry reader does: present, and not a number Excel has mangled.
pub(crate) fn id_ok(id: &str) -> bool {
    !id.is_empty() && !looks_like_scientific(id)
}
