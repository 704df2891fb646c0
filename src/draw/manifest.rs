//! The draw manifest: a versioned, self-describing record of one draw that a third party can
//! re-run. This is a stored and published format: change it only with a new `format` value.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub(crate) const MANIFEST_FORMAT: &str = "suiji-manifest/1";

/// The format of `suiji-draw/2` draws: no floating-point number in the hashed bytes
/// (probabilities are decimal strings), `drawn_at`, the classes without a ratio and the
/// substitutes (docs/draw-algorithm.md V2-6).
pub(crate) const MANIFEST_FORMAT_V2: &str = "suiji-manifest/2";

/// `suiji-manifest/2` with the excluded targets moved out of the manifest (docs/draw-algorithm.md
/// V2-17): `exclusions` is empty, and `exclusion_summary` holds their counts by stratum and
/// reason with the SHA-256 and row count of the detail file, `exclusions.csv`, written beside
/// the manifest. What `suiji-draw/2` draws record since; the algorithm is unchanged.
pub(crate) const MANIFEST_FORMAT_V3: &str = "suiji-manifest/3";

/// `suiji-manifest/3` whose public bundle is `suiji-public-bundle/2` (docs/draw-algorithm.md
/// V2-18): the bundle, too, keeps the exclusions' summary and the detail file's hash instead of
/// the list. The manifest's members are version 3's; what `suiji-draw/2` draws record since.
pub(crate) const MANIFEST_FORMAT_V4: &str = "suiji-manifest/4";

/// `suiji-manifest/4` whose public bundle is `suiji-public-bundle/3` (docs/draw-algorithm.md
/// V2-19): the bundle's frame is in id order alone, as a registry snapshot holds its rows, so
/// the bundle is written as its rows are read, never set aside by stratum and copied. The
/// manifest's members are version 4's; what `suiji-draw/2` draws record since.
pub(crate) const MANIFEST_FORMAT_V5: &str = "suiji-manifest/5";

/// `suiji-manifest/5` whose public bundle is `suiji-public-bundle/4` (docs/draw-algorithm.md
/// V2-20): each of the bundle's frame entries is an array, its stratum named by its place in
/// `strata`. The manifest's members are version 5's; what `suiji-draw/2` draws record since.
pub(crate) const MANIFEST_FORMAT_V6: &str = "suiji-manifest/6";

/// Whether a manifest of `format` was recorded since V2-16 (`suiji-manifest/3` and later): one
/// without `carried_loads` carried none in.
pub(crate) fn since_v2_16(format: &str) -> bool {
    format == MANIFEST_FORMAT_V3 || summarised(format)
}

/// Whether a manifest of `format` has a public bundle that keeps the exclusions' summary
/// (`suiji-manifest/4`, `/5` and `/6`, whose bundles are `suiji-public-bundle/2`, `/3` and
/// `/4`).
pub(crate) fn summarised(format: &str) -> bool {
    [MANIFEST_FORMAT_V4, MANIFEST_FORMAT_V5, MANIFEST_FORMAT_V6].contains(&format)
}

/// The name of a `suiji-manifest/3` draw's exclusion detail file, beside its manifest.
pub const EXCLUSIONS_FILE: &str = "exclusions.csv";

/// An inclusion probability as a manifest writes it: a JSON number in `suiji-manifest/1`
/// (written by serde_json, which other JSON libraries do not all reproduce), a decimal string
/// in `suiji-manifest/2`: the shortest digits that read back as the same binary64, in plain
/// positional notation (no exponent, no trailing zeros, no trailing point): `0.05`, `1`,
/// `0.00008828125`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Probability {
    Number(f64),
    Decimal(f64),
}

impl Probability {
    pub fn value(self) -> f64 {
        match self {
            Probability::Number(x) | Probability::Decimal(x) => x,
        }
    }
}

/// The canonical decimal text of a probability (Rust's `Display` for `f64` writes the shortest
/// round-trip digits in positional notation).
pub fn decimal_text(x: f64) -> String {
    format!("{x}")
}

/// `s` as a JSON string, as serde writes it: copied between quotes when no byte of it needs
/// an escape (a quote, a backslash, a control character), else escaped by serde.
pub(crate) fn json_string(out: &mut Vec<u8>, s: &str) {
    // Folded without an early exit, so that the compiler checks many bytes at once.
    let escape = s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if escape {
        // Writing to a vector cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

impl Serialize for Probability {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Probability::Number(x) => s.serialize_f64(x),
            Probability::Decimal(x) => s.serialize_str(&decimal_text(x)),
        }
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Probability, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Probability;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a probability: a number, or a decimal string")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Probability, E> {
                Ok(Probability::Number(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Probability, E> {
                Ok(Probability::Number(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Probability, E> {
                Ok(Probability::Number(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Probability, E> {
                match v.parse::<f64>() {
                    Ok(x) if decimal_text(x) == v => Ok(Probability::Decimal(x)),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a probability in canonical decimal form"
                    ))),
                }
            }
        }
        d.deserialize_any(Visit)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodInfo {
    pub id: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// The registry snapshot a draw used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryInfo {
    /// SHA-256 of the canonical target snapshot (archived in the database).
    pub targets_snapshot: String,
    /// SHA-256 of the canonical inspector snapshot.
    pub inspectors_snapshot: String,
    pub targets_rows: usize,
    pub inspectors_rows: usize,
    /// The files read, with the SHA-256 of their bytes.
    pub sources: Vec<SourceFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub file: String,
    pub sha256: String,
}

/// What the draw knew of a target's earlier inspections.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(default)]
    pub target_id: String,
    /// Times drawn this year (all matters) before this draw.
    pub inspections_this_year: u32,
    /// The last inspection with a clean result.
    pub last_clean: Option<NaiveDate>,
}

/// `suiji-manifest/2`: the load an inspector carries into the draw — the visits they are on, in
/// the teams as the changes left them, of the other standing draws whose period overlaps this
/// draw's (docs/draw-algorithm.md V2-16). The team step starts from these loads, so the
/// workload cap holds across all the draws of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedLoad {
    pub inspector_id: String,
    pub load: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StratumInfo {
    pub stratum: String,
    pub ratio_ppm: u32,
    pub eligible: usize,
    pub k: usize,
    /// `suiji-manifest/2`, a class ratio with an upper bound (`≤ 5%`, `5%–20%`): the bound in
    /// ppm, k = min(⌈n × ratio_ppm⌉, ⌊n × cap_ppm⌋) / 10^6 (docs/draw-algorithm.md V2-11).
    /// Absent otherwise, so manifests without bounds keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_ppm: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selected {
    pub rank: u32,
    pub stratum: String,
    pub target_id: String,
    pub target_name: String,
    /// The ranking key (hex).
    pub key: String,
    pub inclusion_probability: Probability,
    /// Inspector ids, in pick order; empty when unstaffed.
    pub team: Vec<String>,
    pub unstaffed: Option<String>,
}

/// An element of a manifest's lists as the compact JSON serde writes of it, written into `out`
/// (the lists' hashes and digests are made of it).
pub(crate) trait CompactJson: Sync {
    fn compact_json(&self, out: &mut Vec<u8>);
}

impl CompactJson for Selected {
    /// Made by hand, member by member as serde writes them: serde's escaping looks at each
    /// byte of every string on its own (a national draw seals 367,000 selections).
    fn compact_json(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        // Writing to a vector cannot fail.
        let _ = write!(out, "{{\"rank\":{},\"stratum\":", self.rank);
        json_string(out, &self.stratum);
        out.extend_from_slice(b",\"target_id\":");
        json_string(out, &self.target_id);
        out.extend_from_slice(b",\"target_name\":");
        json_string(out, &self.target_name);
        out.extend_from_slice(b",\"key\":");
        json_string(out, &self.key);
        out.extend_from_slice(b",\"inclusion_probability\":");
        match self.inclusion_probability {
            Probability::Number(x) => {
                let _ = serde_json::to_writer(&mut *out, &x);
            }
            Probability::Decimal(x) => json_string(out, &decimal_text(x)),
        }
        out.extend_from_slice(b",\"team\":[");
        for (i, id) in self.team.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_string(out, id);
        }
        out.extend_from_slice(b"],\"unstaffed\":");
        match &self.unstaffed {
            Some(why) => json_string(out, why),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
    }
}

impl CompactJson for HistoryEntry {
    /// Made by hand as serde writes it, the date by serde (a year's later national draws carry
    /// a history of hundreds of thousands of targets).
    fn compact_json(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        out.extend_from_slice(b"{\"target_id\":");
        json_string(out, &self.target_id);
        // Writing to a vector cannot fail.
        let _ = write!(
            out,
            ",\"inspections_this_year\":{},\"last_clean\":",
            self.inspections_this_year
        );
        match &self.last_clean {
            Some(d) => {
                let _ = serde_json::to_writer(&mut *out, d);
            }
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
    }
}

impl CompactJson for Exclusion {
    fn compact_json(&self, out: &mut Vec<u8>) {
        // Serialising this plain struct into a Vec cannot fail.
        let _ = serde_json::to_writer(out, self);
    }
}

impl CompactJson for InspectorSkip {
    fn compact_json(&self, out: &mut Vec<u8>) {
        // Serialising this plain struct into a Vec cannot fail.
        let _ = serde_json::to_writer(out, self);
    }
}

impl CompactJson for Substitute {
    fn compact_json(&self, out: &mut Vec<u8>) {
        // Serialising this plain struct into a Vec cannot fail.
        let _ = serde_json::to_writer(out, self);
    }
}

/// `suiji-manifest/2`: a rank after the sample, in the stratum's draw order — the target that
/// replaces a drawn one found closed or out of scope (替补), in rank order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Substitute {
    pub stratum: String,
    /// k + 1, k + 2, … within the stratum.
    pub rank: u32,
    pub target_id: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub target_id: String,
    /// deregistered | cooldown | yearly_cap | eligible_hook
    pub reason: String,
    pub detail: String,
}

impl Exclusion {
    pub fn new(id: &str, reason: &str, detail: &str) -> Exclusion {
        Exclusion {
            target_id: id.into(),
            reason: reason.into(),
            detail: detail.into(),
        }
    }
}

/// `suiji-manifest/3`: the excluded targets, counted, and the file that lists them
/// (docs/draw-algorithm.md V2-17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionSummary {
    /// The detail file, beside the manifest: `exclusions.csv`.
    pub file: String,
    /// SHA-256 of the detail file's bytes ([`exclusions_csv`]).
    pub sha256: String,
    /// Its rows below the header: one per excluded target.
    pub rows: u64,
    /// Excluded targets by stratum and reason, sorted by stratum, then reason in the order
    /// deregistered, cooldown, yearly_cap, eligible_hook; only non-zero counts.
    pub counts: Vec<ExclusionTally>,
}

/// Excluded targets of one stratum for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionTally {
    pub stratum: String,
    /// deregistered | cooldown | yearly_cap | eligible_hook
    pub reason: String,
    pub count: u64,
}

/// The canonical bytes of a `suiji-manifest/3` draw's detail file (docs/draw-algorithm.md
/// V2-17): UTF-8 with a byte-order mark, lines ending in LF, the header `target_id,reason,detail`,
/// then one line per exclusion in the order given (the draw gives them in target id order).
/// A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'` in front (so
/// no spreadsheet takes it for a formula); a cell holding `,`, `"`, CR or LF is quoted, its `"`
/// doubled.
pub fn exclusions_csv(exclusions: &[Exclusion]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + exclusions.len() * 64);
    // Writing to a vector cannot fail.
    let _ = write_exclusions_csv(&mut out, exclusions);
    out
}

/// [`exclusions_csv`]'s bytes written to `out` (through a buffer) as they are made.
pub fn write_exclusions_csv(
    out: &mut dyn std::io::Write,
    exclusions: &[Exclusion],
) -> std::io::Result<()> {
    let mut csv = ExclusionsCsv::new(out);
    for e in exclusions {
        csv.row(e)?;
    }
    csv.finish().map(|_| ())
}

/// [`exclusions_csv`]'s bytes made a row at a time (the header first) and handed to `out` a
/// buffer at a time, so that a long list is never held whole.
pub struct ExclusionsCsv<W: std::io::Write> {
    out: W,
    buf: Vec<u8>,
    rows: u64,
}

impl<W: std::io::Write> ExclusionsCsv<W> {
    /// The file's header, not yet written.
    pub fn new(out: W) -> ExclusionsCsv<W> {
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(b"\xEF\xBB\xBFtarget_id,reason,detail\n");
        ExclusionsCsv { out, buf, rows: 0 }
    }

    /// One more line.
    pub fn row(&mut self, e: &Exclusion) -> std::io::Result<()> {
        exclusion_line(&mut self.buf, e);
        self.rows += 1;
        self.flush_full()
    }

    /// `rows` more lines, made by [`exclusion_line`].
    pub fn lines(&mut self, lines: &[u8], rows: u64) -> std::io::Result<()> {
        self.buf.extend_from_slice(lines);
        self.rows += rows;
        self.flush_full()
    }

    /// Writes what is waiting once it fills the buffer.
    fn flush_full(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= 1 << 16 {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Lines written so far (below the header).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes what is left; returns `out`.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.write_all(&self.buf)?;
        Ok(self.out)
    }
}

/// The line of `e` in a detail file (its cells, then a line end), appended to `out`.
pub fn exclusion_line(out: &mut Vec<u8>, e: &Exclusion) {
    exclusion_line_of(out, &e.target_id, &e.reason, &e.detail);
}

/// [`exclusion_line`] of an exclusion given by its id, reason and detail.
pub fn exclusion_line_of(out: &mut Vec<u8>, id: &str, reason: &str, detail: &str) {
    fn cell(out: &mut Vec<u8>, text: &str) {
        // As `results::safe_cell::neutralise` (which `draw` does not depend on) does it. The
        // characters looked for are ASCII, which no other character's bytes hold.
        let bytes = text.as_bytes();
        let guarded = matches!(
            bytes.first(),
            Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
        );
        if bytes
            .iter()
            .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
        {
            out.push(b'"');
            if guarded {
                out.push(b'\'');
            }
            out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            if guarded {
                out.push(b'\'');
            }
            out.extend_from_slice(bytes);
        }
    }
    cell(out, id);
    out.push(b',');
    cell(out, reason);
    out.push(b',');
    cell(out, detail);
    out.push(b'\n');
}

/// The exclusions a detail file lists ([`exclusions_csv`]'s bytes read back): `Err` names the
/// line that is not in its canonical form.
pub fn parse_exclusions_csv(bytes: &[u8]) -> Result<Vec<Exclusion>, String> {
    let mut out = Vec::new();
    read_exclusions_csv(bytes, |e| out.push(e))?;
    Ok(out)
}

/// [`parse_exclusions_csv`] a row at a time from `r`, each row given to `each` as it is read (a
/// national draw's 2.6 million are never held).
pub fn read_exclusions_csv(
    mut r: impl std::io::BufRead,
    mut each: impl FnMut(Exclusion),
) -> Result<(), String> {
    let mut record = Vec::new();
    let mut read_line = |record: &mut Vec<u8>| {
        r.read_until(b'\n', record)
            .map_err(|e| format!("cannot be read: {e}"))
    };
    read_line(&mut record)?;
    if record != "\u{feff}target_id,reason,detail\n".as_bytes() {
        return Err(match std::str::from_utf8(&record) {
            Err(e) => format!("not UTF-8: {e}"),
            Ok(_) => "it does not start with the header `target_id,reason,detail`".into(),
        });
    }
    let mut line = 1;
    loop {
        record.clear();
        if read_line(&mut record)? == 0 {
            return Ok(());
        }
        line += 1;
        // A quoted cell may hold line breaks: a record with a quote left open goes on (its
        // quotes counted as its lines come).
        let mut quotes = memchr::memchr_iter(b'"', &record).count();
        while quotes % 2 == 1 {
            let from = record.len();
            if read_line(&mut record)? == 0 {
                break;
            }
            quotes += memchr::memchr_iter(b'"', &record[from..]).count();
        }
        let text = simdutf8::compat::from_utf8(&record)
            .map_err(|e| format!("line {line}: not UTF-8: {e}"))?;
        let mut rest = text;
        let mut cells = Vec::with_capacity(3);
        for last in [false, false, true] {
            let (cell, after) = csv_cell(rest, if last { '\n' } else { ',' })
                .ok_or_else(|| format!("line {line} is not target_id,reason,detail"))?;
            cells.push(cell);
            rest = after;
        }
        let [id, reason, detail] = <[String; 3]>::try_from(cells)
            .ok()
            .filter(|_| rest.is_empty())
            .ok_or_else(|| format!("line {line} is not target_id,reason,detail"))?;
        each(Exclusion {
            target_id: id,
            reason,
            detail,
        });
    }
}

/// One cell of a detail file up to `end`, its quotes and formula guard removed, and the text
/// after `end`.
fn csv_cell(text: &str, end: char) -> Option<(String, &str)> {
    let (raw, rest) = if let Some(quoted) = text.strip_prefix('"') {
        let mut cell = String::new();
        let mut rest = quoted;
        loop {
            let at = rest.find('"')?;
            cell.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            match rest.strip_prefix('"') {
                Some(r) => {
                    cell.push('"');
                    rest = r;
                }
                None => break,
            }
        }
        (cell, rest.strip_prefix(end)?)
    } else {
        let at = text.find(end)?;
        let cell = &text[..at];
        if cell.contains(['"', '\n', ',']) {
            return None;
        }
        (cell.to_string(), &text[at + end.len_utf8()..])
    };
    let guarded = raw
        .strip_prefix('\'')
        .filter(|t| t.starts_with(['=', '+', '-', '@', '\t', '\r']));
    Some((guarded.map_or(raw.clone(), str::to_string), rest))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectorSkip {
    pub target_id: String,
    pub inspector_id: String,
    /// declared_conflict | hook_conflict | workload_cap | duplicate
    pub reason: String,
    pub detail: String,
}

/// One draw, as recorded and published to auditors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub algorithm: String,
    pub bureau: String,
    pub matter: String,
    pub matter_name: String,
    pub department: String,
    pub period: PeriodInfo,
    /// `regular` or `holiday:<id>`.
    pub kind: String,
    pub ratio_ppm: u32,
    pub key_area_only: bool,
    pub reference_date: NaiveDate,
    pub issue_at: String,
    /// `suiji-manifest/2`: when the draw was really made (`issue_at` is when it was scheduled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawn_at: Option<String>,
    pub due_date: NaiveDate,
    /// 256-bit seed, hex.
    pub seed: String,
    /// Where the seed came from ("os", "witness digits: …", "file:…").
    pub seed_source: String,
    /// SHA-256 over the rule and script files.
    pub rules_hash: String,
    pub registry: RegistryInfo,
    pub history: Vec<HistoryEntry>,
    /// `suiji-manifest/2`, draws whose inspectors carry loads in from earlier draws of the
    /// period: those loads, by inspector id (V2-16). Absent when there are none, and in every
    /// manifest made before workload caps counted per period, so those keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried_loads: Option<Vec<CarriedLoad>>,
    pub strata: Vec<StratumInfo>,
    /// `suiji-manifest/2`: class values of drawn-from targets that `class_ratios` gives no
    /// ratio (drawn at `ratio_ppm`), sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes_without_ratio: Option<Vec<String>>,
    /// `suiji-manifest/2`, a regular draw of a matter with `class_frequency` (分类频次,
    /// docs/draw-algorithm.md V2-14): the classes of `class_frequency` whose cycle this draw's
    /// period opens, so covered, sorted. Absent for other draws, whose bytes stay as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes_due: Option<Vec<String>>,
    /// With `classes_due`: the other classes of `class_frequency`, whose targets are out of
    /// this draw's scope (not drawn from, not excluded, not counted), sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes_not_due: Option<Vec<String>>,
    #[serde(deserialize_with = "lists::selected")]
    pub selected: Vec<Selected>,
    /// `suiji-manifest/2`: the first substitutes of every stratum, in (stratum, rank) order.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lists::substitutes"
    )]
    pub substitutes: Option<Vec<Substitute>>,
    /// Every excluded target, in id order; empty in `suiji-manifest/3`, whose detail file lists
    /// them.
    pub exclusions: Vec<Exclusion>,
    /// `suiji-manifest/3`: the excluded targets counted, and the detail file's hash. Absent in
    /// earlier formats, whose bytes stay as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_summary: Option<ExclusionSummary>,
    pub inspector_skips: Vec<InspectorSkip>,
    /// `suiji-manifest/2`, draws made since the public bundle exists: SHA-256 of the draw's
    /// public bundle (`bundle.public.json`, docs/draw-algorithm.md V2-9), which binds the frame
    /// anyone can recompute the selection from to this manifest. Absent in earlier manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_bundle: Option<String>,
    /// SHA-256 of this manifest serialised with this field empty.
    pub manifest_hash: String,
}

/// SHA-256 (hex) of a value's compact JSON, computed while serialising.
fn hash_json<T: Serialize>(value: &T) -> String {
    struct HashWriter(Sha256);
    impl std::io::Write for HashWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, HashWriter(Sha256::new()));
    // Serialising these plain structs cannot fail, and the writer never does.
    let _ = serde_json::to_writer(&mut w, value);
    match w.into_inner() {
        Ok(h) => hex::encode(h.0.finalize()),
        Err(_) => String::new(),
    }
}

/// How the `n`th selection recorded (`a`) and re-run (`b`) differ: the target of each, and
/// every field that is not the same, recorded then re-run.
fn selection_difference(n: usize, a: &Selected, b: &Selected) -> String {
    let mut fields: Vec<String> = Vec::new();
    let shown = |v: &str| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.to_string()
        }
    };
    let mut field = |name: &str, x: String, y: String| {
        if x != y {
            fields.push(format!(
                "{name} recorded {}, re-run {}",
                shown(&x),
                shown(&y)
            ));
        }
    };
    field("rank", a.rank.to_string(), b.rank.to_string());
    field("stratum", a.stratum.clone(), b.stratum.clone());
    field("target", a.target_id.clone(), b.target_id.clone());
    field("name", a.target_name.clone(), b.target_name.clone());
    field("key", a.key.clone(), b.key.clone());
    field(
        "inclusion probability",
        a.inclusion_probability.value().to_string(),
        b.inclusion_probability.value().to_string(),
    );
    field("team", a.team.join("+"), b.team.join("+"));
    field(
        "unstaffed",
        a.unstaffed.clone().unwrap_or_default(),
        b.unstaffed.clone().unwrap_or_default(),
    );
    if fields.is_empty() {
        // Equal values written in another form (a probability as a number or a decimal).
        fields.push("the same values, written in another form".into());
    }
    match a.target_id == b.target_id {
        true => format!("selection #{n} ({}): {}", a.target_id, fields.join("; ")),
        false => format!("selection #{n}: {}", fields.join("; ")),
    }
}

/// How a recorded exclusion summary differs from a re-run's.
fn summary_difference(a: Option<&ExclusionSummary>, b: Option<&ExclusionSummary>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a.counts != b.counts || a.rows != b.rows => format!(
            "exclusions differ: recorded {} ({}), re-run {} ({})",
            a.rows,
            tallies(&a.counts),
            b.rows,
            tallies(&b.counts)
        ),
        (Some(a), Some(b)) => format!(
            "the exclusion detail differs: recorded {} {} with SHA-256 {}, re-run {} {}",
            a.file, a.rows, a.sha256, b.file, b.sha256
        ),
        (a, b) => format!(
            "exclusion summary: recorded {}, re-run {}",
            if a.is_some() { "one" } else { "none" },
            if b.is_some() { "one" } else { "none" }
        ),
    }
}

/// Counts as `<stratum> <reason> <n>; …`.
fn tallies(counts: &[ExclusionTally]) -> String {
    counts
        .iter()
        .map(|c| format!("{} {} {}", c.stratum, c.reason, c.count))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Manifest {
    /// Excluded targets by reason: counted from `exclusions`, or from the summary of a
    /// `suiji-manifest/3` (a summarised `exclusions` entry counts once).
    pub fn excluded_by_reason(&self) -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        match &self.exclusion_summary {
            Some(s) => {
                for c in &s.counts {
                    *out.entry(c.reason.clone()).or_default() += c.count;
                }
            }
            None => {
                for e in &self.exclusions {
                    *out.entry(e.reason.clone()).or_default() += 1;
                }
            }
        }
        out
    }

    /// How the classes of a re-run differ from the recorded ones: those without a ratio, and
    /// those a draw with `class_frequency` covers (docs/draw-algorithm.md V2-14).
    fn class_differences(&self, rerun: &Manifest, out: &mut Vec<String>) {
        if self.classes_without_ratio != rerun.classes_without_ratio {
            out.push(format!(
                "classes without a ratio: recorded {:?}, re-run {:?}",
                self.classes_without_ratio, rerun.classes_without_ratio
            ));
        }
        if (&self.classes_due, &self.classes_not_due)
            != (&rerun.classes_due, &rerun.classes_not_due)
        {
            out.push(format!(
                "classes covered: recorded {:?} (not {:?}), re-run {:?} (not {:?})",
                self.classes_due, self.classes_not_due, rerun.classes_due, rerun.classes_not_due
            ));
        }
    }

    /// The canonical bytes: compact JSON, fields in declaration order, `manifest_hash` empty.
    pub(crate) fn canonical_bytes(&self) -> Vec<u8> {
        let mut copy = self.clone();
        copy.manifest_hash = String::new();
        serde_json::to_vec(&copy).unwrap_or_default()
    }

    /// [`Manifest::compute_hash`] of a manifest held mutably: sealed in place (a long selection
    /// in parallel, never copied), then given back the hash it claims.
    pub(crate) fn content_hash(&mut self) -> String {
        let claimed = std::mem::take(&mut self.manifest_hash);
        self.seal();
        std::mem::replace(&mut self.manifest_hash, claimed)
    }

    pub fn compute_hash(&self) -> String {
        if self.manifest_hash.is_empty() {
            return hash_json(self);
        }
        crate::digest::sha256_hex(&self.canonical_bytes())
    }

    /// Sets `manifest_hash` to [`Manifest::compute_hash`]. The JSON is fed to the hash as it is
    /// written, so a manifest with a million selections is not copied or held as text; a long
    /// selection is serialised in parallel, window by window, and hashed in order.
    pub(crate) fn seal(&mut self) {
        self.seal_with(false);
    }

    /// [`Manifest::seal`], also giving the selection's digest ([`ListDigests`]) when `digest`
    /// asks and it can be made on the way: the bytes of a long selection that the manifest's
    /// hash is fed are the digest's (`None` for a short one, which
    /// [`ListDigests::of_sealed`] digests itself).
    pub(crate) fn seal_with(&mut self, digest: bool) -> Option<ListDigest> {
        self.manifest_hash = String::new();
        if self.selected.len() < 20_000 {
            self.manifest_hash = hash_json(self);
            return None;
        }
        // The manifest without its selection: `…,"selected":[],…`. Inside JSON strings every `"`
        // is escaped, so the first `"selected":[` is the field's.
        let selected = std::mem::take(&mut self.selected);
        let outer = serde_json::to_vec(&*self).unwrap_or_default();
        self.selected = selected;
        const FIELD: &[u8] = b"\"selected\":[";
        let Some(at) = outer.windows(FIELD.len()).position(|w| w == FIELD) else {
            self.manifest_hash = hash_json(self);
            return None;
        };
        let (head, tail) = outer.split_at(at + FIELD.len());
        let mut h = Sha256::new();
        h.update(head);
        let mut d = digest.then(Sha256::new);
        hash_each_json(&self.selected, &mut h, d.as_mut());
        h.update(tail);
        self.manifest_hash = hex::encode(h.finalize());
        d.map(|d| (self.selected.len(), d.finalize().into()))
    }

    /// The manifest as its file (`manifest.json`) holds it: a line per field and per element
    /// of its lists, each element compact.
    pub fn to_file_json(&self) -> String {
        let mut out = Vec::new();
        // Writing to a vector fails only for a map with a key that is not a string, which a
        // manifest has none of.
        let _ = self.write_file_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// [`Manifest::to_file_json`]'s bytes, written to `out` as they are made.
    pub fn write_file_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.write_file_json_from(out, LONG_LISTS)
    }

    /// [`Manifest::write_file_json`], the lists that grow with the registry (the year's
    /// history, the selection, the exclusions a manifest lists and the inspectors' skips) laid
    /// out by hand when they hold `long` elements or more between them: the manifest without
    /// them laid out by serde ([`FileLayout`]), and each of their elements written between, its
    /// compact JSON ([`CompactJson`]) made on the pool's threads, a window at a time, while the
    /// window before is written. Serde escapes strings a byte at a time, on one thread: a
    /// national draw's 367,000 selections took most of the 0.7 s its manifest's file took to
    /// write. The bytes are the same.
    fn write_file_json_from(
        &self,
        out: &mut dyn std::io::Write,
        long: usize,
    ) -> std::io::Result<()> {
        let laid_out = |m: &Manifest, out: &mut dyn std::io::Write| {
            let mut ser = serde_json::Serializer::with_formatter(out, FileLayout::default());
            m.serialize(&mut ser).map_err(std::io::Error::other)
        };
        let lists: [(&str, WriteList<'_>); 4] = [
            ("history", &|out| each_line(&self.history, out)),
            ("selected", &|out| each_line(&self.selected, out)),
            ("exclusions", &|out| each_line(&self.exclusions, out)),
            ("inspector_skips", &|out| {
                each_line(&self.inspector_skips, out)
            }),
        ];
        let held = self.history.len()
            + self.selected.len()
            + self.exclusions.len()
            + self.inspector_skips.len();
        if held < long {
            return laid_out(self, out);
        }
        let mut shell = Vec::new();
        laid_out(&self.without_long_lists(), &mut shell)?;
        // Each list laid out empty, `[]`, on its field's line, in the fields' order; no JSON
        // string holds a line break as it is (it is escaped), so the first such line after the
        // list before is the field's.
        let mut ends = Vec::with_capacity(lists.len());
        let mut from = 0;
        for (name, _) in &lists {
            let field = format!("\n  \"{name}\": [");
            let rest = shell.get(from..).unwrap_or_default();
            let Some(at) = rest
                .windows(field.len())
                .position(|w| w == field.as_bytes())
            else {
                return laid_out(self, out);
            };
            from += at + field.len();
            ends.push(from);
        }
        let mut start = 0;
        for ((_, write), end) in lists.iter().zip(ends) {
            out.write_all(shell.get(start..end).unwrap_or_default())?;
            write(out)?;
            start = end;
        }
        out.write_all(shell.get(start..).unwrap_or_default())
    }

    /// A copy of the manifest without the lists [`Manifest::write_file_json_from`] lays out by
    /// hand (every field named, so that a field added is copied or left out on purpose).
    fn without_long_lists(&self) -> Manifest {
        let Manifest {
            format,
            algorithm,
            bureau,
            matter,
            matter_name,
            department,
            period,
            kind,
            ratio_ppm,
            key_area_only,
            reference_date,
            issue_at,
            drawn_at,
            due_date,
            seed,
            seed_source,
            rules_hash,
            registry,
            history: _,
            carried_loads,
            strata,
            classes_without_ratio,
            classes_due,
            classes_not_due,
            selected: _,
            substitutes,
            exclusions: _,
            exclusion_summary,
            inspector_skips: _,
            public_bundle,
            manifest_hash,
        } = self;
        Manifest {
            format: format.clone(),
            algorithm: algorithm.clone(),
            bureau: bureau.clone(),
            matter: matter.clone(),
            matter_name: matter_name.clone(),
            department: department.clone(),
            period: period.clone(),
            kind: kind.clone(),
            ratio_ppm: *ratio_ppm,
            key_area_only: *key_area_only,
            reference_date: *reference_date,
            issue_at: issue_at.clone(),
            drawn_at: drawn_at.clone(),
            due_date: *due_date,
            seed: seed.clone(),
            seed_source: seed_source.clone(),
            rules_hash: rules_hash.clone(),
            registry: registry.clone(),
            history: Vec::new(),
            carried_loads: carried_loads.clone(),
            strata: strata.clone(),
            classes_without_ratio: classes_without_ratio.clone(),
            classes_due: classes_due.clone(),
            classes_not_due: classes_not_due.clone(),
            selected: Vec::new(),
            substitutes: substitutes.clone(),
            exclusions: Vec::new(),
            exclusion_summary: exclusion_summary.clone(),
            inspector_skips: Vec::new(),
            public_bundle: public_bundle.clone(),
            manifest_hash: manifest_hash.clone(),
        }
    }

    /// Differences between a recorded manifest and a re-run, for `suiji verify`.
    pub fn differences(&self, rerun: &Manifest) -> Vec<String> {
        let mut out = Vec::new();
        macro_rules! cmp {
            ($field:ident) => {
                if self.$field != rerun.$field {
                    out.push(format!(
                        "{}: recorded {:?}, re-run {:?}",
                        stringify!($field),
                        self.$field,
                        rerun.$field
                    ));
                }
            };
        }
        cmp!(algorithm);
        cmp!(matter);
        cmp!(kind);
        cmp!(ratio_ppm);
        cmp!(key_area_only);
        cmp!(rules_hash);
        cmp!(strata);
        cmp!(carried_loads);
        if self.registry.targets_snapshot != rerun.registry.targets_snapshot {
            out.push("targets snapshot hash differs".into());
        }
        if self.registry.inspectors_snapshot != rerun.registry.inspectors_snapshot {
            out.push("inspectors snapshot hash differs".into());
        }
        let n = self.selected.len().max(rerun.selected.len());
        for i in 0..n {
            match (self.selected.get(i), rerun.selected.get(i)) {
                (Some(a), Some(b)) if a == b => {}
                (Some(a), Some(b)) => out.push(selection_difference(i + 1, a, b)),
                (Some(a), None) => out.push(format!(
                    "selection #{}: recorded {}, missing in re-run",
                    i + 1,
                    a.target_id
                )),
                (None, Some(b)) => out.push(format!(
                    "selection #{}: re-run has {}, not recorded",
                    i + 1,
                    b.target_id
                )),
                (None, None) => {}
            }
        }
        if self.substitutes != rerun.substitutes {
            out.push("substitutes differ".into());
        }
        self.class_differences(rerun, &mut out);
        if self.exclusion_summary != rerun.exclusion_summary {
            out.push(summary_difference(
                self.exclusion_summary.as_ref(),
                rerun.exclusion_summary.as_ref(),
            ));
        }
        if self.exclusions != rerun.exclusions {
            out.push(format!(
                "exclusions differ: recorded {}, re-run {}",
                self.exclusions.len(),
                rerun.exclusions.len()
            ));
        }
        if self.inspector_skips != rerun.inspector_skips {
            out.push("inspector skips (回避, workload) differ".into());
        }
        out
    }
}

/// The digests of a manifest's two long lists, its selection and its substitutes: what
/// [`Manifest::digested`] keeps of them. Each is the SHA-256 of its elements' compact JSON
/// with a comma between two (the list's compact JSON without its brackets: what the
/// manifest's own hash is fed of it, [`Manifest::seal_with`]), and their count; equal
/// digests mean equal lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListDigests {
    selected: Option<ListDigest>,
    /// `None`: no substitutes (the field absent).
    substitutes: Option<ListDigest>,
}

/// How a manifest's file lays out its JSON: the manifest's fields one a line, and the members
/// of a field that is an object and the elements of a field that is a list (a selection, a
/// substitute, a stratum) one a line each, indented; what these hold is written compact, as
/// the manifest's hash reads it. A file a person can read a line at a time, and a national
/// draw's a quarter smaller than pretty-printed throughout (every selection took nine lines).
#[derive(Debug, Default)]
pub(crate) struct FileLayout {
    /// The objects and lists open.
    depth: usize,
    /// Whether the innermost object or list laid out a line at a time has a value yet.
    has_value: bool,
}

impl FileLayout {
    /// Objects and lists this deep and shallower are laid out a line at a time.
    const LINES: usize = 2;

    fn open(
        &mut self,
        w: &mut (impl std::io::Write + ?Sized),
        bracket: &[u8],
    ) -> std::io::Result<()> {
        self.depth += 1;
        if self.depth <= Self::LINES {
            self.has_value = false;
        }
        w.write_all(bracket)
    }

    fn close(
        &mut self,
        w: &mut (impl std::io::Write + ?Sized),
        bracket: &[u8],
    ) -> std::io::Result<()> {
        if self.depth <= Self::LINES && self.has_value {
            self.line(w, self.depth - 1)?;
        }
        self.depth = self.depth.saturating_sub(1);
        w.write_all(bracket)
    }

    fn line(&self, w: &mut (impl std::io::Write + ?Sized), indent: usize) -> std::io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..indent {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn item(&mut self, w: &mut (impl std::io::Write + ?Sized), first: bool) -> std::io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        if self.depth <= Self::LINES {
            self.line(w, self.depth)?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for FileLayout {
    fn begin_array<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: std::io::Write + ?Sized>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: std::io::Write + ?Sized>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: std::io::Write + ?Sized>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(if self.depth <= Self::LINES {
            b": "
        } else {
            b":"
        })
    }
    fn end_object_value<W: std::io::Write + ?Sized>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// A list's digest ([`ListDigests`]): its count, and the SHA-256 of its elements.
pub(crate) type ListDigest = (usize, [u8; 32]);

/// Feeds `h` (and `also`) the compact JSON of each of `items` in order, with a comma between
/// two, as serde writes it: window by window, the next window serialised in parallel while
/// this one is hashed, so that a national draw's selection is neither held as text nor
/// serialised on one thread.
fn hash_each_json<T: CompactJson>(items: &[T], h: &mut Sha256, mut also: Option<&mut Sha256>) {
    // Hashing does not fail.
    let _ = each_json(items, b",", &mut |bytes| {
        h.update(bytes);
        if let Some(d) = also.as_deref_mut() {
            d.update(bytes);
        }
        Ok(())
    });
}

/// Hands `take` the compact JSON of each of `items` in order, each after `sep` (which starts
/// with the comma between two elements; the first element's comma left out), window by
/// window: the next window made on the pool's threads while `take` has this one. A national
/// draw's selection is neither held as text nor made on one thread.
fn each_json<T: CompactJson>(
    items: &[T],
    sep: &[u8],
    take: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    const WINDOW: usize = 1 << 14;
    let pieces = rayon::current_num_threads().max(1);
    let serialise = |window: &[T]| -> Vec<Vec<u8>> {
        let per = window.len().div_ceil(pieces).max(1);
        window
            .par_chunks(per)
            .map(|part| {
                let mut out = Vec::with_capacity(part.len() * 256);
                for x in part {
                    out.extend_from_slice(sep);
                    x.compact_json(&mut out);
                }
                out
            })
            .collect()
    };
    // The first element has no comma before it.
    let mut first = true;
    let mut give = |parts: Vec<Vec<u8>>| -> std::io::Result<()> {
        for part in parts {
            let skip = usize::from(std::mem::take(&mut first));
            take(part.get(skip..).unwrap_or_default())?;
        }
        Ok(())
    };
    let mut pending: Option<Vec<Vec<u8>>> = None;
    for window in items.chunks(WINDOW) {
        let ready = pending.take();
        let (mut made, mut given) = (None, Ok(()));
        // `take` (a file being written, say) stays on this thread.
        rayon::in_place_scope(|s| {
            s.spawn(|_| made = Some(serialise(window)));
            given = ready.map_or(Ok(()), &mut give);
        });
        given?;
        pending = made;
    }
    pending.map_or(Ok(()), give)
}

/// Writes one of a manifest's lists laid out by hand into its file.
type WriteList<'a> = &'a dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>;

/// Elements of a manifest's lists, between them, from which its file lays the lists out by
/// hand ([`Manifest::write_file_json`]).
const LONG_LISTS: usize = 20_000;

/// The elements of a list at a manifest's second level as its file lays them out
/// ([`FileLayout`]): each on a line of its own, indented twice, compact, a comma after every
/// one but the last, and the line break before the list's `]`; nothing for an empty list.
fn each_line<T: CompactJson>(items: &[T], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    each_json(items, b",\n    ", &mut |bytes| out.write_all(bytes))?;
    out.write_all(b"\n  ")
}

/// A manifest's two long lists, its selection and its substitutes, taken out of one manifest
/// ([`Manifest::take_lists`]) to be put into another ([`Manifest::put_lists`]).
pub(crate) struct Lists {
    selected: Vec<Selected>,
    substitutes: Option<Vec<Substitute>>,
}

impl Manifest {
    /// Its selection and substitutes taken out (left empty; `substitutes` stays present when
    /// it was): a re-run's, whose lists digest as a recorded manifest's read without them
    /// ([`Manifest::digested`]), are that manifest's lists.
    pub(crate) fn take_lists(&mut self) -> Lists {
        Lists {
            selected: std::mem::take(&mut self.selected),
            substitutes: self.substitutes.as_mut().map(std::mem::take),
        }
    }

    /// `lists` put in place of its own: a manifest read with its lists digested made whole.
    pub(crate) fn put_lists(&mut self, lists: Lists) {
        self.selected = lists.selected;
        self.substitutes = lists.substitutes;
    }
}

impl ListDigests {
    /// How many targets the selection digested lists (0 when it was not digested).
    pub(crate) fn selected_len(&self) -> usize {
        self.selected.map_or(0, |(n, _)| n)
    }

    /// The digests of `m`'s lists, as [`Manifest::digested`] makes them, the selection's
    /// taken from `selected` when it was made as `m` was sealed ([`Manifest::seal_with`];
    /// `None`: digested here), its lists unchanged since.
    pub(crate) fn of_sealed(m: &Manifest, selected: Option<ListDigest>) -> ListDigests {
        let (selected, substitutes) = rayon::join(
            || selected.unwrap_or_else(|| lists::digest(&m.selected)),
            || m.substitutes.as_deref().map(lists::digest),
        );
        ListDigests {
            selected: Some(selected),
            substitutes,
        }
    }
}

impl Manifest {
    /// A manifest's JSON parsed by `parse` (from a reader or from bytes in memory, on this
    /// thread) with its selection and substitutes hashed as they are parsed, never held (a
    /// national draw's run to hundreds of megabytes once parsed): the manifest with both lists
    /// left empty (`substitutes` present if the JSON has them), and their digests. Moving the
    /// lists of a manifest with the same [`ListDigests`] into it gives the manifest parsed.
    pub(crate) fn digested(
        parse: impl FnOnce() -> serde_json::Result<Manifest>,
    ) -> serde_json::Result<(Manifest, ListDigests)> {
        lists::DIGESTS.with(|d| *d.borrow_mut() = Some(ListDigests::default()));
        let m = parse();
        let digests = lists::DIGESTS.with(|d| d.borrow_mut().take());
        m.map(|m| (m, digests.unwrap_or_default()))
    }
}

impl Manifest {
    /// [`Manifest::digested`] of a manifest's text laid out as its files are
    /// ([`FileLayout`]), read a line at a time: each element of the selection and of the
    /// substitutes, compact on a line of its own, hashed as it stands instead of parsed and
    /// written again, and the rest (the manifest with both lists empty) parsed; nothing held
    /// but that rest. `text` is fed every byte read, and `head` is given the text before the
    /// first list. `None` when the text is laid out otherwise or does not parse so, and
    /// [`Manifest::digested`] is to read it. Equal digests still mean equal lists: an element
    /// hashed as it stands has the digest of the element it parses to only when it stands
    /// exactly as that element is written.
    pub(crate) fn digested_lines(
        read: &mut dyn std::io::BufRead,
        mut text: Option<&mut crate::digest::Hasher>,
        head: &mut dyn FnMut(&[u8]),
    ) -> std::io::Result<Option<(Manifest, ListDigests)>> {
        let mut lines = FileLines::default();
        let mut line = Vec::new();
        loop {
            line.clear();
            // A line longer than the rest may hold is not this layout: not read on.
            let limit = FileLines::REST as u64 + 1;
            let mut limited = std::io::Read::take(&mut *read, limit);
            if std::io::BufRead::read_until(&mut limited, b'\n', &mut line)? == 0 {
                break;
            }
            if line.len() > FileLines::REST {
                return Ok(None);
            }
            if let Some(t) = text.as_deref_mut() {
                t.update(&line);
            }
            if lines.take(&line, head).is_none() {
                return Ok(None);
            }
        }
        Ok(lines.finish(head))
    }
}

/// A manifest's file read a line at a time by [`Manifest::digested_lines`].
#[derive(Default)]
struct FileLines {
    /// The text but the lists' elements.
    rest: Vec<u8>,
    /// The lists' digests, as their ends are read.
    taken: ListDigests,
    /// The list whose elements are being read.
    open: Option<OpenList>,
    /// Whether the head (the text before the first list) was handed on.
    headed: bool,
}

/// A list being hashed: which, its digest so far, and whether its last element ended with a
/// comma.
struct OpenList {
    substitutes: bool,
    count: usize,
    hash: Sha256,
    comma: bool,
}

impl FileLines {
    /// The rest held at most: beyond it, a layout this does not know.
    const REST: usize = 64 << 20;

    /// One more line (with its line end); `None` when the text is not laid out so.
    fn take(&mut self, line: &[u8], head: &mut dyn FnMut(&[u8])) -> Option<()> {
        if self.open.is_some() {
            return self.element(line);
        }
        let substitutes = match line {
            b"  \"selected\": [\n" => false,
            b"  \"substitutes\": [\n" => true,
            _ => {
                self.rest.extend_from_slice(line);
                return (self.rest.len() <= Self::REST).then_some(());
            }
        };
        if !std::mem::replace(&mut self.headed, true) {
            head(&self.rest);
        }
        let slot = match substitutes {
            true => &self.taken.substitutes,
            false => &self.taken.selected,
        };
        if slot.is_some() {
            return None;
        }
        self.rest.extend_from_slice(line);
        self.open = Some(OpenList {
            substitutes,
            count: 0,
            hash: Sha256::new(),
            comma: false,
        });
        Some(())
    }

    /// A line of the open list: an element, compact on its line, or the list's end.
    fn element(&mut self, line: &[u8]) -> Option<()> {
        let list = self.open.as_mut()?;
        if line.starts_with(b"  ]") {
            // The list's end: its last element without a comma after it.
            if list.comma || list.count == 0 {
                return None;
            }
            let list = self.open.take()?;
            let digest = Some((list.count, list.hash.finalize().into()));
            match list.substitutes {
                true => self.taken.substitutes = digest,
                false => self.taken.selected = digest,
            }
            self.rest.extend_from_slice(line);
            return Some(());
        }
        let body = line.strip_prefix(b"    ")?.strip_suffix(b"\n")?;
        let (element, comma) = match body.strip_suffix(b",") {
            Some(e) => (e, true),
            None => (body, false),
        };
        // An element on its line, no string left open at the line's end (a JSON string holds no
        // line end: an element split inside one is not this layout).
        let whole = element.first() == Some(&b'{')
            && element.last() == Some(&b'}')
            && ends_outside_strings(element);
        if !whole || (list.count > 0 && !list.comma) {
            return None;
        }
        if list.count > 0 {
            list.hash.update(b",");
        }
        list.hash.update(element);
        list.count += 1;
        list.comma = comma;
        Some(())
    }

    /// The manifest but its lists, parsed, and the lists' digests; `None` when a list is
    /// left open or the rest does not parse.
    fn finish(self, head: &mut dyn FnMut(&[u8])) -> Option<(Manifest, ListDigests)> {
        if self.open.is_some() {
            return None;
        }
        if !self.headed {
            head(&self.rest);
        }
        let (m, mut digests) = Manifest::digested(|| serde_json::from_slice(&self.rest)).ok()?;
        if self.taken.selected.is_some() {
            digests.selected = self.taken.selected;
        }
        if self.taken.substitutes.is_some() {
            digests.substitutes = self.taken.substitutes;
        }
        Some((m, digests))
    }
}

/// Whether `json` (text outside any string at its start) ends outside any string.
fn ends_outside_strings(json: &[u8]) -> bool {
    let mut inside = false;
    let mut at = 0;
    while let Some(i) = json
        .get(at..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        let i = at + i;
        match json[i] {
            // An escape inside a string: the byte after it is not the string's end.
            b'\\' if inside => at = i + 2,
            b'"' => {
                inside = !inside;
                at = i + 1;
            }
            _ => at = i + 1,
        }
    }
    !inside
}

/// How the selection and the substitutes are read: kept, or, inside
/// [`Manifest::digested`], hashed one element at a time and let go.
mod lists {
    use std::cell::RefCell;
    use std::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
    use serde::{Serialize, de::DeserializeOwned};
    use sha2::{Digest, Sha256};

    use super::{ListDigests, Selected, Substitute};

    thread_local! {
        /// Set on this thread while [`super::Manifest::digested`] parses: where the lists'
        /// digests go instead of their elements.
        pub(super) static DIGESTS: RefCell<Option<ListDigests>> = const { RefCell::new(None) };
    }

    /// A list a manifest may read digested, and its digest's place.
    trait Listed: Serialize + DeserializeOwned {
        fn slot(d: &mut ListDigests) -> &mut Option<(usize, [u8; 32])>;
    }

    impl Listed for Selected {
        fn slot(d: &mut ListDigests) -> &mut Option<(usize, [u8; 32])> {
            &mut d.selected
        }
    }

    impl Listed for Substitute {
        fn slot(d: &mut ListDigests) -> &mut Option<(usize, [u8; 32])> {
            &mut d.substitutes
        }
    }

    /// The count and SHA-256 of `items`' compact JSON, one after another (as
    /// [`Digester`] makes them of a list as it is parsed).
    pub(super) fn digest<T: super::CompactJson>(items: &[T]) -> (usize, [u8; 32]) {
        let mut h = Sha256::new();
        super::hash_each_json(items, &mut h, None);
        (items.len(), h.finalize().into())
    }

    #[derive(Default)]
    struct Digester {
        count: usize,
        hash: Sha256,
        buf: Vec<u8>,
    }

    impl Digester {
        fn add<T: Serialize>(&mut self, x: &T) {
            self.buf.clear();
            if self.count > 0 {
                self.buf.push(b',');
            }
            // Serialising these plain structs into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.buf, x);
            self.hash.update(&self.buf);
            self.count += 1;
        }

        fn finish(self) -> (usize, [u8; 32]) {
            (self.count, self.hash.finalize().into())
        }
    }

    struct ListVisitor<T>(PhantomData<T>);

    impl<'de, T: Listed> Visitor<'de> for ListVisitor<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a sequence")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            if DIGESTS.with(|d| d.borrow().is_none()) {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(x) = seq.next_element()? {
                    out.push(x);
                }
                return Ok(out);
            }
            let mut h = Digester::default();
            while let Some(x) = seq.next_element::<T>()? {
                h.add(&x);
            }
            let digest = h.finish();
            DIGESTS.with(|d| {
                if let Some(d) = d.borrow_mut().as_mut() {
                    *T::slot(d) = Some(digest);
                }
            });
            Ok(Vec::new())
        }
    }

    /// A list read as [`ListVisitor`] reads it.
    struct List<T>(Vec<T>);

    impl<'de, T: Listed> Deserialize<'de> for List<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_seq(ListVisitor(PhantomData)).map(List)
        }
    }

    pub(super) fn selected<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Selected>, D::Error> {
        List::deserialize(d).map(|l| l.0)
    }

    pub(super) fn substitutes<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<Substitute>>, D::Error> {
        Option::<List<Substitute>>::deserialize(d).map(|l| l.map(|l| l.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(n: usize) -> Manifest {
        let d = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap_or_default();
        Manifest {
            format: MANIFEST_FORMAT.into(),
            algorithm: "suiji-draw/1".into(),
            bureau: "平邑县公安局 \"selected\":[]".into(),
            matter: "zhian.hotel".into(),
            matter_name: "旅馆业".into(),
            department: "zhian".into(),
            period: PeriodInfo {
                id: "2024-H1".into(),
                start: d,
                end: d,
            },
            kind: "regular".into(),
            ratio_ppm: 50_000,
            key_area_only: false,
            reference_date: d,
            issue_at: "2024-01-02T09:00".into(),
            drawn_at: None,
            due_date: d,
            seed: "00".repeat(32),
            seed_source: "test".into(),
            rules_hash: String::new(),
            registry: RegistryInfo::default(),
            history: Vec::new(),
            carried_loads: None,
            strata: vec![StratumInfo {
                stratum: "\"selected\":[".into(),
                ratio_ppm: 1,
                eligible: n,
                k: n,
                cap_ppm: None,
            }],
            classes_without_ratio: None,
            classes_due: None,
            classes_not_due: None,
            substitutes: None,
            selected: (0..n)
                .map(|i| Selected {
                    rank: i as u32 + 1,
                    stratum: "平邑街道".into(),
                    target_id: format!("T{i:010}"),
                    target_name: format!("旅馆 \"{i}\"\n"),
                    key: format!("{i:064x}"),
                    inclusion_probability: Probability::Number(1.0 / (i as f64 + 3.0)),
                    team: vec![format!("P{i}"), "P2".into()],
                    unstaffed: (i % 7 == 0).then(|| "no eligible inspector".to_string()),
                })
                .collect(),
            exclusions: vec![Exclusion::new("", "cooldown", "分层“x”：3 户")],
            exclusion_summary: None,
            inspector_skips: Vec::new(),
            public_bundle: None,
            manifest_hash: "stale".into(),
        }
    }

    /// A manifest's file is a line per field, per member of an object field and per element of
    /// a list, each element its compact JSON; it reads back as the manifest it was made of, and
    /// hashes as it.
    #[test]
    fn a_manifest_file_is_a_line_per_field_and_per_element() {
        let mut m = manifest(3);
        m.registry.sources = vec![SourceFile {
            file: "a.csv".into(),
            sha256: "ab".into(),
        }];
        m.substitutes = Some(Vec::new());
        m.seal();
        let text = m.to_file_json();
        let back: Manifest = serde_json::from_str(&text).expect("the file reads back");
        assert_eq!(back, m);
        assert_eq!(back.compute_hash(), m.manifest_hash);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"{"));
        assert_eq!(lines.last(), Some(&"}"));
        let at = |line: &str| lines.iter().position(|l| *l == line);
        let selected = at("  \"selected\": [").expect("the selection opens a line");
        for (i, s) in m.selected.iter().enumerate() {
            let mut want = b"    ".to_vec();
            s.compact_json(&mut want);
            if i + 1 < m.selected.len() {
                want.push(b',');
            }
            assert_eq!(lines[selected + 1 + i].as_bytes(), want.as_slice());
        }
        assert_eq!(lines[selected + 1 + m.selected.len()], "  ],");
        // An object field's members a line each, what they hold compact; empty lists as `[]`.
        assert!(at("  \"period\": {").is_some());
        assert!(at("    \"id\": \"2024-H1\",").is_some());
        assert!(at(r#"    "sources": [{"file":"a.csv","sha256":"ab"}]"#).is_some());
        assert!(at("  \"history\": [],").is_some());
        assert!(at("  \"substitutes\": [],").is_some());
    }

    /// A long manifest's file, its history, selection, exclusions and skips laid out by hand,
    /// has the bytes serde lays out: with every list, with some empty, with none, and with
    /// strings that need escapes or look like the lists' own lines.
    #[test]
    fn a_manifest_file_with_long_lists_has_the_bytes_serde_lays_out() {
        let file = |m: &Manifest, long: usize| {
            let mut out = Vec::new();
            m.write_file_json_from(&mut out, long).expect("written");
            out
        };
        let date = NaiveDate::from_ymd_opt(2023, 12, 31);
        let entry = |i: usize| HistoryEntry {
            target_id: format!("T\"{i}\n  \"selected\": ["),
            inspections_this_year: i as u32,
            last_clean: date.filter(|_| i.is_multiple_of(3)),
        };
        let skip = |i: usize| InspectorSkip {
            target_id: format!("T{i}"),
            inspector_id: "P\"1\n  \"exclusions\": [".into(),
            reason: "workload_cap".into(),
            detail: "已达上限 12".into(),
        };
        for (history, selected, listed) in [(40, 50, 30), (0, 50, 0), (40, 0, 1), (0, 0, 0)] {
            let mut m = manifest(selected);
            m.history = (0..history).map(entry).collect();
            m.exclusions = (0..listed)
                .map(|i| Exclusion::new(&format!("T\t{i}"), "cooldown", "上次检查 \"2023\""))
                .collect();
            m.inspector_skips = (0..listed).map(skip).collect();
            m.substitutes = Some(vec![Substitute {
                stratum: "\n  \"history\": [".into(),
                rank: 2,
                target_id: "T1".into(),
                key: "ab".into(),
            }]);
            m.seal();
            let serde = file(&m, usize::MAX);
            assert_eq!(
                file(&m, 0),
                serde,
                "history {history}, selection {selected}"
            );
            let back: Manifest = serde_json::from_slice(&serde).expect("the file reads back");
            assert_eq!(back, m);
        }
        // The history's elements made by hand are serde's.
        for e in (0..4).map(entry) {
            let mut hand = Vec::new();
            e.compact_json(&mut hand);
            assert_eq!(hand, serde_json::to_vec(&e).expect("serialised"));
        }
    }

    /// A selection's JSON made by hand is the JSON serde makes of it: escapes, an empty and a
    /// full team, an unstaffed reason, and both forms of a probability.
    #[test]
    fn a_selection_made_by_hand_is_its_serde_json() {
        let base = Selected {
            rank: 7,
            stratum: "平邑\"街道\"\n".into(),
            target_id: "T\\1\t".into(),
            target_name: "宾馆 <名> \u{1}𝄞".into(),
            key: "0f".repeat(32),
            inclusion_probability: Probability::Decimal(0.1),
            team: vec!["P1".into(), "P\"2".into()],
            unstaffed: None,
        };
        let cases = [
            base.clone(),
            Selected {
                team: Vec::new(),
                unstaffed: Some("无可派人员（回避）".into()),
                inclusion_probability: Probability::Number(0.036350055787044366),
                ..base.clone()
            },
            Selected {
                inclusion_probability: Probability::Number(1.0),
                rank: u32::MAX,
                ..base.clone()
            },
            Selected {
                inclusion_probability: Probability::Decimal(2.0 / 3.0),
                team: vec!["P9".into()],
                ..base
            },
        ];
        for s in &cases {
            let mut json = Vec::new();
            s.compact_json(&mut json);
            assert_eq!(
                String::from_utf8(json).expect("UTF-8"),
                serde_json::to_string(s).expect("json")
            );
        }
    }

    #[test]
    fn the_detail_file_is_canonical_csv() {
        let rows = [
            Exclusion::new("T1", "cooldown", "上次检查 2024-01-02"),
            Exclusion::new("=T2", "eligible_hook", "a, \"b\"\nc"),
            Exclusion::new("T3", "eligible_hook", "+1, \"二\""),
        ];
        let want = "\u{feff}target_id,reason,detail\nT1,cooldown,上次检查 2024-01-02\n'=T2,eligible_hook,\"a, \"\"b\"\"\nc\"\nT3,eligible_hook,\"'+1, \"\"二\"\"\"\n";
        assert_eq!(String::from_utf8_lossy(&exclusions_csv(&rows)), want);
        assert_eq!(
            exclusions_csv(&[]),
            b"\xEF\xBB\xBFtarget_id,reason,detail\n"
        );
        assert_eq!(
            parse_exclusions_csv(&exclusions_csv(&rows)),
            Ok(rows.to_vec())
        );
        assert_eq!(parse_exclusions_csv(&exclusions_csv(&[])), Ok(Vec::new()));
        let cut = "\u{feff}target_id,reason,detail\nT1,cooldown\n";
        assert!(parse_exclusions_csv(cut.as_bytes()).is_err_and(|e| e.contains("line 2")));
    }

    #[test]
    fn a_manifest_parsed_digested_is_the_manifest_without_its_lists() {
        let substitute = Substitute {
            stratum: "平邑街道".into(),
            rank: 4,
            target_id: "T9".into(),
            key: "ab".into(),
        };
        for substitutes in [None, Some(Vec::new()), Some(vec![substitute])] {
            let mut m = manifest(30_001);
            m.substitutes = substitutes;
            let sealed = m.seal_with(true);
            assert!(sealed.is_some());
            let json = m.to_file_json();
            let (mut light, digests) =
                Manifest::digested(|| serde_json::from_reader(json.as_bytes()))
                    .expect("a manifest");
            assert!(light.selected.is_empty());
            assert_eq!(
                light.substitutes.as_ref().map(Vec::len),
                m.substitutes.as_ref().map(|_| 0)
            );
            assert_eq!(digests, ListDigests::of_sealed(&m, sealed));
            assert_eq!(digests, ListDigests::of_sealed(&m, None));
            // Read otherwise, the lists are kept.
            let whole: Manifest = serde_json::from_str(&json).expect("a manifest");
            assert_eq!(whole, m);
            light.selected = m.selected.clone();
            light.substitutes = m.substitutes.clone();
            assert_eq!(light, m);
            // Another list, or a list's element changed, digests otherwise.
            let mut other = m.clone();
            other.selected.swap(0, 1);
            assert_ne!(ListDigests::of_sealed(&other, None), digests);
            other.selected.swap(0, 1);
            other.selected[7].team.pop();
            assert_ne!(ListDigests::of_sealed(&other, None), digests);
            other.selected = m.selected.clone();
            other.substitutes = match &m.substitutes {
                Some(_) => None,
                None => Some(Vec::new()),
            };
            assert_ne!(ListDigests::of_sealed(&other, None), digests);
        }
    }

    /// A manifest's file read a line at a time gives what it gives parsed whole (with
    /// [`Manifest::digested`]), its text's hash and its head, whatever its lists hold; a text
    /// laid out otherwise is left to the parser, or read so where that gives the same.
    #[test]
    fn a_manifest_file_read_a_line_at_a_time_is_the_manifest_digested() {
        let read = |text: &str| {
            let mut hash = crate::digest::Hasher::default();
            let mut head = Vec::new();
            let got = Manifest::digested_lines(&mut text.as_bytes(), Some(&mut hash), &mut |h| {
                head = h.to_vec()
            })
            .expect("read");
            (got, hash.finish(), head)
        };
        let substitute = |rank| Substitute {
            stratum: "平邑街道".into(),
            rank,
            target_id: format!("T{rank}"),
            key: "ab".into(),
        };
        for (n, substitutes) in [
            (0, None),
            (1, Some(Vec::new())),
            (30_001, Some(vec![substitute(4), substitute(5)])),
        ] {
            let mut m = manifest(n);
            m.substitutes = substitutes;
            if let Some(s) = m.selected.first_mut() {
                // A name that holds what stands between two elements.
                s.target_name = "甲},{乙".into();
            }
            m.seal();
            let json = m.to_file_json();
            let want = Manifest::digested(|| serde_json::from_str(&json)).expect("a manifest");
            let (got, hash, head) = read(&json);
            assert_eq!(got, Some(want.clone()), "{n} selected");
            assert_eq!(hash, crate::digest::sha256_hex(json.as_bytes()));
            let before = json
                .find("\n  \"selected\": [\n")
                .map_or(json.len(), |at| at + 1);
            assert_eq!(head, json.as_bytes()[..before]);
            // The whole on one line: parsed.
            let compact = serde_json::to_string(&m).expect("json");
            assert_eq!(read(&compact).0, Some(want.clone()));
            if n == 0 {
                continue;
            }
            // Pretty-printed, an element spans lines: left to the parser.
            let pretty = serde_json::to_string_pretty(&m).expect("json");
            assert_eq!(read(&pretty).0, None);
            // An element written otherwise reads, but digests otherwise; a comma too many or
            // too few, or the list left open, is left to the parser.
            let first = before + json[before..].find("\n    {").expect("an element") + 6;
            let spaced = format!("{} {}", &json[..first], &json[first..]);
            let (got, _, _) = read(&spaced);
            assert_ne!(got.expect("read").1, want.1);
            let last = before + json[before..].find("\n  ]").expect("the list's end");
            let extra = format!("{},{}", &json[..last], &json[last..]);
            assert_eq!(read(&extra).0, None);
            if n > 1 {
                let comma = json[..last].rfind(",\n    {").expect("a comma");
                let missing = format!("{}{}", &json[..comma], &json[comma + 1..]);
                assert_eq!(read(&missing).0, None);
            }
            assert_eq!(read(&json[..last + 1]).0, None);
            // An element split inside a string (the halves joined by a comma would hash as the
            // element): not this layout, left to the parser.
            let inside = first + json[first..].find("甲},{乙").expect("the name") + "甲},".len();
            let split = format!("{}\n    {}", &json[..inside], &json[inside..]);
            assert_eq!(read(&split).0, None);
        }
    }

    #[test]
    fn a_line_ends_outside_strings_only_when_every_string_is_closed() {
        for (json, outside) in [
            (r#"{"a":"x"}"#, true),
            (r#"{"a":"x\"}"}"#, true),
            (r#"{"a":"x\\"}"#, true),
            (r#"{"a":"x"#, false),
            (r#"{"a":"x\""#, false),
            (r#"{"a":"x\\\"}"#, false),
            ("", true),
        ] {
            assert_eq!(
                super::ends_outside_strings(json.as_bytes()),
                outside,
                "{json}"
            );
        }
    }

    #[test]
    fn content_hash_is_compute_hash_and_keeps_the_claimed_hash() {
        for n in [3, 20_000] {
            let mut m = manifest(n);
            let want = m.compute_hash();
            assert_eq!(m.content_hash(), want);
            assert_eq!(m.manifest_hash, "stale");
        }
    }

    #[test]
    fn seal_hashes_the_canonical_bytes() {
        for n in [0, 3, 19_999, 20_000, 70_001] {
            let mut m = manifest(n);
            let want = hex::encode(Sha256::digest(m.canonical_bytes()));
            m.seal();
            assert_eq!(m.manifest_hash, want, "{n} selections");
            assert_eq!(m.compute_hash(), want);
        }
    }
}
