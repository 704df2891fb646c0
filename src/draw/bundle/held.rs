//! A public bundle's frame as a check needs it: every entry's id, stratum and weight in a few
//! flat vectors (a national frame's 7 million entries in some 24 bytes each beside their ids),
//! the public fields left out once each entry's bytes are checked. Built an entry at a time as
//! a bundle is read ([`super::read`]) or from a bundle held whole ([`super::PublicBundle::check`]),
//! then placed in the bundle's strata ([`HeldFrame::place`]).

use std::collections::HashMap;

use super::{FrameEntry, PUBLIC_BUNDLE_FORMAT_V4};

/// A frame entry as a check reads it, borrowed from the bytes it was read from or from a
/// [`FrameEntry`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entry<'a> {
    pub id: &'a str,
    pub stratum: Placed<'a>,
    /// Its weight as written, and as a number if it is one.
    pub weight: Option<&'a str>,
    pub value: Option<f64>,
}

/// How an entry names its stratum: by its place in `strata` (an array entry) or by its name
/// (an object).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Placed<'a> {
    At(u32),
    Named(&'a str),
}

impl<'a> Entry<'a> {
    pub(crate) fn of(f: &'a FrameEntry) -> Entry<'a> {
        let weight = f.weight.as_deref();
        Entry {
            id: &f.id,
            stratum: match f.stratum_at {
                Some(at) => Placed::At(at),
                None => Placed::Named(&f.stratum),
            },
            weight,
            value: weight.and_then(|w| w.parse().ok()),
        }
    }

    /// An array entry read by hand from its bytes when they are the canonical form of one
    /// without an escaped character (every entry of a draw's own bundle): `["id",0,"2","…"]`
    /// or with `null` for the weight. `None`: not such an entry (serde reads it).
    pub(crate) fn canonical_array(raw: &'a [u8]) -> Option<Entry<'a>> {
        if raw.iter().any(|&b| b == b'\\' || b < 0x20) {
            return None;
        }
        let text = simdutf8::basic::from_utf8(raw).ok()?;
        let rest = text.strip_prefix("[\"")?;
        let (id, rest) = rest.split_once('"')?;
        let rest = rest.strip_prefix(',')?;
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let (at, rest) = rest.split_at(digits);
        if at.is_empty() || (at.len() > 1 && at.starts_with('0')) {
            return None;
        }
        let at: u32 = at.parse().ok()?;
        let rest = rest.strip_prefix(',')?;
        let (weight, mut rest) = match rest.strip_prefix("null") {
            Some(r) => (None, r),
            None => {
                let (w, r) = rest.strip_prefix('"')?.split_once('"')?;
                (Some(w), r)
            }
        };
        // The public fields: each a string.
        while let Some(r) = rest.strip_prefix(",\"") {
            rest = r.split_once('"')?.1;
        }
        (rest == "]").then_some(Entry {
            id,
            stratum: Placed::At(at),
            weight,
            value: weight.and_then(|w| w.parse().ok()),
        })
    }
}
use crate::draw::manifest::StratumInfo;

/// No stratum: an object entry naming a stratum the bundle's `strata` do not list.
const NOWHERE: u32 = u32::MAX;

/// The entries as read, their strata not yet placed: an array entry's by its place in `strata`,
/// an object entry's by its stratum's name (numbered as first met).
#[derive(Debug, Default)]
pub(crate) struct HeldFrame {
    ids: String,
    ends: Vec<u32>,
    raw: Vec<u32>,
    weights: Weights,
    names: HashMap<String, u32>,
    /// The first entry, for each raw stratum, whose weight is missing or not a number: its
    /// position and what a weighted check says of it.
    bad_weight: HashMap<u32, (usize, String)>,
    first_array: Option<(usize, String)>,
    first_object: Option<(usize, String)>,
}

impl HeldFrame {
    /// Adds the next entry; a frame of more than 2³² − 1 entries, or whose ids take more than
    /// 4 GiB, is an error.
    pub(crate) fn push(&mut self, e: &Entry<'_>) -> Result<(), String> {
        let at = self.ends.len();
        let end = u32::try_from(self.ids.len() + e.id.len())
            .ok()
            .filter(|_| at < u32::MAX as usize)
            .ok_or_else(|| {
                format!(
                    "the frame has more than {} entries or 4 GiB of ids: more than a bundle can hold",
                    u32::MAX
                )
            })?;
        let raw = match e.stratum {
            Placed::At(place) => {
                if self.first_array.is_none() {
                    self.first_array = Some((at, e.id.to_string()));
                }
                place
            }
            Placed::Named(name) => {
                if self.first_object.is_none() {
                    self.first_object = Some((at, e.id.to_string()));
                }
                let next = u32::try_from(self.names.len()).unwrap_or(NOWHERE);
                match self.names.get(name) {
                    Some(&n) => n,
                    None => *self.names.entry(name.to_string()).or_insert(next),
                }
            }
        };
        let weight = match (e.weight, e.value) {
            (Some(_), Some(v)) => Ok(v),
            (Some(w), None) => Err(format!("target {}: weight `{w}` is not a number", e.id)),
            (None, _) => Err(format!("target {} has no weight in a weighted draw", e.id)),
        };
        let weight = weight.map_or_else(
            |why| {
                self.bad_weight.entry(raw).or_insert((at, why));
                None
            },
            Some,
        );
        self.ids.push_str(e.id);
        self.ends.push(end);
        self.raw.push(raw);
        self.weights.push(weight);
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Places every entry in the stratum `strata` list for it (the first of that name, as a
    /// check looks a stratum's members up by name). An entry of another form than `format`'s,
    /// or placed past the end of `strata`, is an error naming the first such entry.
    pub(crate) fn place(self, format: &str, strata: &[StratumInfo]) -> Result<Frame, String> {
        let by_raw = self.strata_by_raw(format, strata)?;
        let placed = |raw: u32| by_raw.get(raw as usize).copied().unwrap_or(NOWHERE);
        let mut bad: Vec<Option<(usize, String)>> = vec![None; strata.len()];
        for (raw, (at, why)) in self.bad_weight {
            let s = placed(raw) as usize;
            if let Some(slot) = bad.get_mut(s)
                && slot.as_ref().is_none_or(|(first, _)| at < *first)
            {
                *slot = Some((at, why));
            }
        }
        let names: HashMap<u32, &str> = self.names.iter().map(|(n, r)| (*r, n.as_str())).collect();
        let mut place = self.raw;
        let mut unlisted = Vec::new();
        for (i, p) in place.iter_mut().enumerate() {
            let raw = *p;
            *p = placed(raw);
            if *p == NOWHERE {
                let id = &self.ids[start(&self.ends, i)..end(&self.ends, i)];
                let name = names.get(&raw).copied().unwrap_or_default();
                unlisted.push(format!(
                    "target {id} is in stratum {name:?}, which the strata do not list"
                ));
            }
        }
        Ok(Frame {
            ids: self.ids,
            ends: self.ends,
            place,
            weights: self.weights,
            bad_weight: bad.into_iter().map(|b| b.map(|(_, why)| why)).collect(),
            unlisted,
            order: None,
        }
        .ordered())
    }

    /// What each raw stratum is placed as (see [`HeldFrame::place`]).
    fn strata_by_raw(&self, format: &str, strata: &[StratumInfo]) -> Result<Vec<u32>, String> {
        let compact = format == PUBLIC_BUNDLE_FORMAT_V4;
        let mut first_of: HashMap<&str, u32> = HashMap::new();
        for (i, s) in (0u32..).zip(strata) {
            first_of.entry(s.stratum.as_str()).or_insert(i);
        }
        let canonical: Vec<u32> = strata
            .iter()
            .map(|s| first_of.get(s.stratum.as_str()).copied().unwrap_or(NOWHERE))
            .collect();
        if compact {
            // An object entry's raw stratum numbers its name: the first such entry is said
            // whatever its number.
            let past = self.raw.iter().position(|&r| r as usize >= strata.len());
            let object = self.first_object.as_ref().map(|o| o.0);
            match (object, past) {
                (Some(o), p) if p.is_none_or(|p| o <= p) => {
                    let id = self.first_object.as_ref().map_or("", |o| o.1.as_str());
                    return Err(format!(
                        "frame entry {} ({id}) is an object; a {format} bundle's entries are arrays",
                        o + 1
                    ));
                }
                (_, Some(p)) => {
                    return Err(format!(
                        "frame entry {} ({}) is placed in stratum {}, but `strata` lists {}",
                        p + 1,
                        self.id(p),
                        self.raw[p],
                        strata.len()
                    ));
                }
                _ => {}
            }
            Ok(canonical)
        } else {
            if let Some((at, id)) = &self.first_array {
                return Err(format!(
                    "frame entry {} ({id}) is an array; a {format} bundle's entries are objects",
                    at + 1
                ));
            }
            let mut by_raw = vec![NOWHERE; self.names.len()];
            for (name, raw) in &self.names {
                if let Some(slot) = by_raw.get_mut(*raw as usize) {
                    *slot = first_of.get(name.as_str()).copied().unwrap_or(NOWHERE);
                }
            }
            Ok(by_raw)
        }
    }

    fn id(&self, i: usize) -> &str {
        &self.ids[start(&self.ends, i)..end(&self.ends, i)]
    }
}

fn start(ends: &[u32], i: usize) -> usize {
    if i == 0 { 0 } else { ends[i - 1] as usize }
}

fn end(ends: &[u32], i: usize) -> usize {
    ends[i] as usize
}

/// A frame placed in its strata.
#[derive(Debug)]
pub(crate) struct Frame {
    ids: String,
    ends: Vec<u32>,
    /// Each entry's stratum (its place in `strata`), or [`NOWHERE`].
    place: Vec<u32>,
    weights: Weights,
    /// For each stratum, what a weighted check says of its first entry without a usable weight.
    pub bad_weight: Vec<Option<String>>,
    /// An entry in a stratum the strata do not list, each said, in frame order.
    pub unlisted: Vec<String>,
    /// The entries in id order (bytes, then position) when the frame is not in it already.
    order: Option<Vec<u32>>,
}

impl Frame {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn id(&self, i: usize) -> &str {
        &self.ids[start(&self.ends, i)..end(&self.ends, i)]
    }

    /// Its weight (NaN: none, or not a number).
    pub(crate) fn weight(&self, i: usize) -> f64 {
        self.weights.get(i)
    }

    /// Sorts the entries by id unless they are in that order already (as a version 3 or 4
    /// bundle lists them).
    fn ordered(mut self) -> Frame {
        let n = self.len();
        if (1..n).all(|i| self.id(i - 1).as_bytes() <= self.id(i).as_bytes()) {
            return self;
        }
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by(|&a, &b| {
            self.id(a as usize)
                .as_bytes()
                .cmp(self.id(b as usize).as_bytes())
                .then(a.cmp(&b))
        });
        self.order = Some(order);
        self
    }

    /// The entry at `rank` in id order.
    fn by_id(&self, rank: usize) -> usize {
        self.order.as_ref().map_or(rank, |o| o[rank] as usize)
    }

    /// "target … is in the frame twice" for every entry whose id an earlier entry has, in
    /// frame order.
    pub(crate) fn twice(&self) -> Vec<String> {
        let mut again: Vec<usize> = (1..self.len())
            .filter(|&r| self.id(self.by_id(r - 1)) == self.id(self.by_id(r)))
            .map(|r| self.by_id(r))
            .collect();
        again.sort_unstable();
        again
            .into_iter()
            .map(|i| format!("target {} is in the frame twice", self.id(i)))
            .collect()
    }

    /// A way to look ids up in the frame, fastest when they are asked for in id order (as a
    /// detail file lists them).
    pub(crate) fn finder(&self) -> Finder<'_> {
        Finder { frame: self, at: 0 }
    }

    /// The id at `rank` in id order.
    fn id_by_rank(&self, rank: usize) -> &[u8] {
        self.id(self.by_id(rank)).as_bytes()
    }

    /// Each stratum's entries, in frame order.
    pub(crate) fn members(&self, strata: usize) -> Vec<Vec<u32>> {
        let mut counts = vec![0usize; strata];
        for &p in &self.place {
            if let Some(c) = counts.get_mut(p as usize) {
                *c += 1;
            }
        }
        let mut out: Vec<Vec<u32>> = counts.into_iter().map(Vec::with_capacity).collect();
        for (i, &p) in (0u32..).zip(&self.place) {
            if let Some(m) = out.get_mut(p as usize) {
                m.push(i);
            }
        }
        out
    }
}

/// Each entry's weight by its number in a table of the distinct weights (a risk-weighted draw's
/// weights are a handful of classes): 4 bytes an entry, not 8.
#[derive(Debug, Default)]
struct Weights {
    of: Vec<u32>,
    table: Vec<f64>,
    numbered: rustc_hash::FxHashMap<u64, u32>,
}

impl Weights {
    fn push(&mut self, w: Option<f64>) {
        let n = match w {
            None => u32::MAX,
            Some(w) => {
                let next = u32::try_from(self.table.len()).unwrap_or(u32::MAX);
                let n = *self.numbered.entry(w.to_bits()).or_insert(next);
                if n == next {
                    self.table.push(w);
                }
                n
            }
        };
        self.of.push(n);
    }

    fn get(&self, i: usize) -> f64 {
        self.of
            .get(i)
            .and_then(|&n| self.table.get(n as usize))
            .copied()
            .unwrap_or(f64::NAN)
    }
}

/// Looks ids up in a frame: from where the last one was found, by steps that double, then by
/// halves (ids asked for in order are found in a few comparisons each; any other is found by
/// halving the whole frame).
pub(crate) struct Finder<'a> {
    frame: &'a Frame,
    /// The rank (in id order) of the first id not below the last one asked for.
    at: usize,
}

impl Finder<'_> {
    /// Whether an entry has the id `id`.
    pub(crate) fn contains(&mut self, id: &str) -> bool {
        let id = id.as_bytes();
        let n = self.frame.len();
        let mut lo = if self.at > 0 && self.frame.id_by_rank(self.at - 1) >= id {
            0
        } else {
            self.at
        };
        // Steps that double from `lo`, until one reaches an id not below `id`.
        let mut step = 1;
        let mut hi = lo;
        while hi < n && self.frame.id_by_rank(hi) < id {
            lo = hi + 1;
            hi = hi.saturating_add(step).min(n);
            step *= 2;
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.frame.id_by_rank(mid) < id {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.at = lo;
        lo < n && self.frame.id_by_rank(lo) == id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry read by hand is the one serde reads, and is read by hand only when its bytes
    /// are the canonical form serde writes.
    #[test]
    fn an_entry_is_read_by_hand_only_in_its_canonical_form() {
        for raw in [
            r#"["T1",0,"2","丰阳\"宾馆"]"#,
            r#"["T1",0,"2","丰阳宾馆"]"#,
            r#"["T1",17,null]"#,
            r#"["","0","x","a","b"]"#,
            r#"["T1",4294967295,"1.5","a",""]"#,
        ] {
            let serde: Option<FrameEntry> = serde_json::from_str(raw).ok();
            let by_hand = Entry::canonical_array(raw.as_bytes());
            match (&serde, by_hand) {
                (Some(f), Some(e)) => {
                    assert_eq!(e, Entry::of(f), "{raw}");
                    assert!(super::super::written_as(f, raw.as_bytes()), "{raw}");
                }
                (Some(f), None) => assert!(raw.contains('\\'), "{raw}: {f:?}"),
                (None, e) => assert_eq!(e, None, "{raw}"),
            }
        }
        for loose in [
            r#"["T1", 0,"2"]"#,
            r#"["T1",00,"2"]"#,
            r#"["T\u0031",0,"2"]"#,
            r#"["T1",0,2]"#,
            r#"["T1",0,"2",]"#,
            r#"["T1",0,"2"] "#,
            r#"["T1",4294967296,"2"]"#,
            r#"{"id":"T1","stratum":"a","weight":null,"fields":[]}"#,
        ] {
            assert_eq!(Entry::canonical_array(loose.as_bytes()), None, "{loose}");
        }
    }
}
