//! A draw's public bundle (`suiji-public-bundle/1`, docs/draw-algorithm.md V2-9): everything
//! anyone needs to recompute the selection without the bureau's database — every eligible
//! target's id, stratum and weight as the rules computed them, the public fields the config
//! allows, the exclusions with their reasons, the seed, the strata and the algorithm — and
//! nothing about inspectors. Its SHA-256 (of the file's exact bytes) is recorded in
//! `suiji-manifest/2` manifests as `public_bundle`. This is a published format: change it only
//! with a new `format` value.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::draw::manifest::{
    Exclusion, ExclusionSummary, MANIFEST_FORMAT_V4, MANIFEST_FORMAT_V5, MANIFEST_FORMAT_V6,
    Manifest, PeriodInfo, StratumInfo, decimal_text,
};
use crate::draw::{Algorithm, Purpose, Ranker, Seed, Unit, top_k_pareto, top_k_uniform};
use crate::registry::types::Target;

mod held;
mod read;

pub use read::{ReadBundle, read};

/// The public bundle's file in a draw's folder, beside its public list.
pub const PUBLIC_FILE: &str = "bundle.public.json";

pub const PUBLIC_BUNDLE_FORMAT: &str = "suiji-public-bundle/1";

/// Version 1 with the exclusions as the manifest keeps them (`suiji-manifest/4`,
/// docs/draw-algorithm.md V2-18): `exclusion_summary` (their counts, and the SHA-256 of the
/// detail file `exclusions.csv` that lists them) where version 1 has `exclusions`.
pub const PUBLIC_BUNDLE_FORMAT_V2: &str = "suiji-public-bundle/2";

/// Version 2 with the frame in id order (bytes) alone, not by stratum then id
/// (`suiji-manifest/5`, docs/draw-algorithm.md V2-19): the order a registry snapshot holds its
/// rows in, so a draw writes the frame as it reads them. Every member is version 2's.
pub const PUBLIC_BUNDLE_FORMAT_V3: &str = "suiji-public-bundle/3";

/// Version 3 with each frame entry an array (`suiji-manifest/6`, docs/draw-algorithm.md
/// V2-20): `[id, stratum, weight, field…]`, its stratum named by its place in `strata` (from
/// 0), its public fields following its weight. The same entries in the same order in a quarter
/// fewer bytes. Every member is version 3's.
pub const PUBLIC_BUNDLE_FORMAT_V4: &str = "suiji-public-bundle/4";

/// Whether the bundle of a draw recorded as `m` lists its frame in id order alone
/// (`suiji-public-bundle/3` and `/4`), not by stratum then id.
pub fn frame_by_id(m: &Manifest) -> bool {
    m.format == MANIFEST_FORMAT_V5 || compact_frame(m)
}

/// Whether the bundle of a draw recorded as `m` writes each frame entry as an array
/// (`suiji-public-bundle/4`).
pub fn compact_frame(m: &Manifest) -> bool {
    m.format == MANIFEST_FORMAT_V6
}

/// One eligible target: drawn from, in its stratum, with its weight (risk-weighted draws).
/// Written as an object (`suiji-public-bundle/1` to `/3`) or, when `stratum_at` is set, as
/// the array of version 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameEntry {
    pub id: String,
    pub stratum: String,
    /// The weight the rules gave it, as a decimal (`null` in an equal-probability draw).
    pub weight: Option<String>,
    /// The public fields, in the order of the bundle's `public_fields` (the config's
    /// `[publication] frame_fields`).
    pub fields: Vec<String>,
    /// Its stratum's place in the bundle's `strata` when the entry is written as an array
    /// (version 4); `None`: written as an object.
    pub stratum_at: Option<u32>,
}

impl Serialize for FrameEntry {
    fn serialize<Z: serde::Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        use serde::ser::{SerializeSeq as _, SerializeStruct as _};
        if let Some(at) = self.stratum_at {
            let mut seq = z.serialize_seq(Some(3 + self.fields.len()))?;
            seq.serialize_element(&self.id)?;
            seq.serialize_element(&at)?;
            seq.serialize_element(&self.weight)?;
            for f in &self.fields {
                seq.serialize_element(f)?;
            }
            return seq.end();
        }
        let mut entry = z.serialize_struct("FrameEntry", 4)?;
        entry.serialize_field("id", &self.id)?;
        entry.serialize_field("stratum", &self.stratum)?;
        entry.serialize_field("weight", &self.weight)?;
        entry.serialize_field("fields", &self.fields)?;
        entry.end()
    }
}

impl<'de> Deserialize<'de> for FrameEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FrameEntry, D::Error> {
        d.deserialize_any(EntryVisitor)
    }
}

/// Reads a frame entry written either way: an object, or an array whose stratum
/// [`PublicBundle::parse`] names from `strata`.
struct EntryVisitor;

impl<'de> serde::de::Visitor<'de> for EntryVisitor {
    type Value = FrameEntry;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a frame entry: an object, or an array [id, stratum, weight, field…]")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<FrameEntry, A::Error> {
        use serde::de::Error as _;
        let id: String = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(0, &self))?;
        let at: u32 = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(1, &self))?;
        let weight: Option<String> = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(2, &self))?;
        let mut fields = Vec::new();
        while let Some(f) = seq.next_element::<String>()? {
            fields.push(f);
        }
        Ok(FrameEntry {
            id,
            stratum: String::new(),
            weight,
            fields,
            stratum_at: Some(at),
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<FrameEntry, A::Error> {
        use serde::de::Error as _;
        let (mut id, mut stratum, mut weight, mut fields) = (None, None, None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "id" => id = Some(map.next_value()?),
                "stratum" => stratum = Some(map.next_value()?),
                "weight" => weight = Some(map.next_value()?),
                "fields" => fields = Some(map.next_value()?),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(FrameEntry {
            id: id.ok_or_else(|| A::Error::missing_field("id"))?,
            stratum: stratum.ok_or_else(|| A::Error::missing_field("stratum"))?,
            weight: weight.unwrap_or_default(),
            fields: fields.ok_or_else(|| A::Error::missing_field("fields"))?,
            stratum_at: None,
        })
    }
}

/// One drawn target as the bundle states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSelection {
    pub stratum: String,
    pub rank: u32,
    pub target_id: String,
    pub key: String,
    /// The inclusion probability as a decimal (V2-6.1), whatever the manifest's format.
    pub inclusion_probability: String,
}

/// The public bundle of one draw. Its frame is held (`F`, a vector, as a bundle read back is)
/// or produced as it is serialised (a draw's, read again from its rows stratum by stratum, so
/// that the whole frame is never held); both give the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicBundle<F = Vec<FrameEntry>, S = Vec<PublicSelection>> {
    pub format: String,
    pub algorithm: String,
    pub bureau: String,
    pub matter: String,
    pub matter_name: String,
    pub department: String,
    pub period: PeriodInfo,
    pub kind: String,
    pub ratio_ppm: u32,
    pub key_area_only: bool,
    pub reference_date: NaiveDate,
    pub issue_at: String,
    pub drawn_at: Option<String>,
    pub seed: String,
    pub seed_source: String,
    pub rules_hash: String,
    pub targets_snapshot: String,
    /// `uniform` (equal probability, §6) or `pareto` (risk-weighted, §7).
    pub weighting: String,
    pub public_fields: Vec<String>,
    pub strata: Vec<StratumInfo>,
    /// Every target drawn from, by stratum, then id (bytes).
    pub frame: F,
    /// Version 1: every target in scope not drawn from, with its reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusions: Option<Vec<Exclusion>>,
    /// Version 2: the manifest's summary of them; `exclusions.csv` beside the bundle lists them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_summary: Option<ExclusionSummary>,
    pub selected: S,
}

/// The JSON of manifest selection `s` as a bundle states it, exactly as serde writes its
/// [`PublicSelection`] (compact, members in order), made without serde: most of its text needs
/// no escape, which serde looks for byte by byte.
pub(crate) fn public_selection_json(out: &mut Vec<u8>, s: &crate::draw::manifest::Selected) {
    use crate::draw::manifest::json_string;
    use std::io::Write as _;
    out.extend_from_slice(b"{\"stratum\":");
    json_string(out, &s.stratum);
    // Writing to a vector cannot fail.
    let _ = write!(out, ",\"rank\":{},\"target_id\":", s.rank);
    json_string(out, &s.target_id);
    out.extend_from_slice(b",\"key\":");
    json_string(out, &s.key);
    let p = s.inclusion_probability.value();
    let _ = write!(out, ",\"inclusion_probability\":\"{p}\"}}");
}

/// Whether `value` serialises (compact, as the bundle's canonical form) as `bytes`, compared
/// as it is serialised, stopping at the first byte that differs.
pub(crate) fn written_as(value: &impl Serialize, bytes: &[u8]) -> bool {
    /// Takes what is written as long as it is the next part of `rest`.
    struct Same<'a> {
        rest: &'a [u8],
    }
    impl std::io::Write for Same<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            match self.rest.strip_prefix(buf) {
                Some(rest) => {
                    self.rest = rest;
                    Ok(buf.len())
                }
                None => Err(std::io::Error::other("differs")),
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut same = Same { rest: bytes };
    serde_json::to_writer(&mut same, value).is_ok() && same.rest.is_empty()
}

/// The stated selection of a stratum against the recomputed one, rank by rank.
fn compare(
    stratum: &str,
    stated: &[&PublicSelection],
    ranked: &[crate::draw::Ranked],
    units: &[Unit<'_>],
    k: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..k.max(stated.len()) {
        let got = ranked.get(i).filter(|_| i < k);
        match (stated.get(i), got) {
            (Some(a), Some(b)) => {
                let id = units[b.index].id;
                let p = decimal_text(b.inclusion_probability);
                if a.target_id != id || a.key != b.key_hex || a.inclusion_probability != p {
                    out.push(format!(
                            "stratum {:?} rank {}: the bundle states {} (key {}, p {}), recomputed {id} (key {}, p {p})",
                            stratum, i + 1, a.target_id, a.key, a.inclusion_probability, b.key_hex
                        ));
                }
            }
            (Some(a), None) => out.push(format!(
                "stratum {:?} rank {}: the bundle states {}, recomputed nothing",
                stratum,
                i + 1,
                a.target_id
            )),
            (None, Some(b)) => out.push(format!(
                "stratum {:?} rank {}: recomputed {}, the bundle states nothing",
                stratum,
                i + 1,
                units[b.index].id
            )),
            (None, None) => {}
        }
    }
    out
}

/// A difference for each excluded target (`excluded`: their ids) that is also in the frame.
fn not_in_frame<'a>(frame: &held::Frame, excluded: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut finder = frame.finder();
    excluded
        .filter(|id| finder.contains(id))
        .map(|id| format!("target {id} is both eligible and excluded"))
        .collect()
}

/// A target's public field as the registry holds it (machine files keep ids: `hotel`, not
/// 旅馆业); empty for a field the target lacks.
pub fn public_value(t: &Target, field: &str) -> String {
    crate::registry::canonical::LineCells::of(t)
        .public(field)
        .to_string()
}

impl PublicBundle {
    /// The bundle of a draw: its manifest's public parts, and the frame (in any order).
    pub fn new(
        m: &Manifest,
        weighted: bool,
        public_fields: &[String],
        mut frame: Vec<FrameEntry>,
    ) -> PublicBundle {
        // Stable: rows with the same id (a registry not checked) keep their registry order.
        if frame_by_id(m) {
            frame.sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
        } else {
            frame.sort_by(|a, b| {
                (a.stratum.as_bytes(), a.id.as_bytes())
                    .cmp(&(b.stratum.as_bytes(), b.id.as_bytes()))
            });
        }
        if compact_frame(m) {
            let places: std::collections::HashMap<&str, u32> = (0u32..)
                .zip(&m.strata)
                .map(|(i, s)| (s.stratum.as_str(), i))
                .collect();
            for f in &mut frame {
                f.stratum_at = places.get(f.stratum.as_str()).copied();
            }
        }
        PublicBundle::with_frame(m, weighted, public_fields, frame)
    }

    /// A bundle read whole from its file's `bytes`, each entry of a version 4 frame given the
    /// name of the stratum it is placed in; an entry of another form than its version's, or
    /// placed in no stratum, is an error. (A bundle too large to hold is checked by [`read`].)
    pub fn parse(bytes: &[u8]) -> Result<PublicBundle, String> {
        let mut b: PublicBundle = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        b.held()?;
        for f in &mut b.frame {
            if let Some(s) = f.stratum_at.and_then(|at| b.strata.get(at as usize)) {
                f.stratum = s.stratum.clone();
            }
        }
        Ok(b)
    }

    /// Its frame as a check holds it.
    fn held(&self) -> Result<held::Frame, String> {
        let mut frame = held::HeldFrame::default();
        for f in &self.frame {
            frame.push(&held::Entry::of(f))?;
        }
        frame.place(&self.format, &self.strata)
    }
}

impl<F: Serialize> PublicBundle<F> {
    /// The bundle of a draw with `frame`, which must serialise as the frame's entries in the
    /// order of its version ([`frame_by_id`]): `suiji-public-bundle/3` for a `suiji-manifest/5`
    /// and `/2` for a `/4` (each copies the manifest's exclusion summary), else version 1 (with
    /// the manifest's exclusions).
    pub fn with_frame(
        m: &Manifest,
        weighted: bool,
        public_fields: &[String],
        frame: F,
    ) -> PublicBundle<F> {
        let selected = m
            .selected
            .iter()
            .map(|s| PublicSelection {
                stratum: s.stratum.clone(),
                rank: s.rank,
                target_id: s.target_id.clone(),
                key: s.key.clone(),
                inclusion_probability: decimal_text(s.inclusion_probability.value()),
            })
            .collect();
        PublicBundle::of_parts(m, weighted, public_fields, frame, selected)
    }
}

impl<F: Serialize, S: Serialize> PublicBundle<F, S> {
    /// The bundle of `m` with its frame and selection, which must serialise as the frame's
    /// entries in the order of its version and as `m`'s selection (a draw's, written as they
    /// are made rather than copied: a national draw's run to millions and hundreds of
    /// thousands).
    pub(crate) fn of_parts(
        m: &Manifest,
        weighted: bool,
        public_fields: &[String],
        frame: F,
        selected: S,
    ) -> PublicBundle<F, S> {
        let v2 = crate::draw::manifest::summarised(&m.format);
        PublicBundle {
            format: match m.format.as_str() {
                MANIFEST_FORMAT_V6 => PUBLIC_BUNDLE_FORMAT_V4,
                MANIFEST_FORMAT_V5 => PUBLIC_BUNDLE_FORMAT_V3,
                MANIFEST_FORMAT_V4 => PUBLIC_BUNDLE_FORMAT_V2,
                _ => PUBLIC_BUNDLE_FORMAT,
            }
            .into(),
            algorithm: m.algorithm.clone(),
            bureau: m.bureau.clone(),
            matter: m.matter.clone(),
            matter_name: m.matter_name.clone(),
            department: m.department.clone(),
            period: m.period.clone(),
            kind: m.kind.clone(),
            ratio_ppm: m.ratio_ppm,
            key_area_only: m.key_area_only,
            reference_date: m.reference_date,
            issue_at: m.issue_at.clone(),
            drawn_at: m.drawn_at.clone(),
            seed: m.seed.clone(),
            seed_source: m.seed_source.clone(),
            rules_hash: m.rules_hash.clone(),
            targets_snapshot: m.registry.targets_snapshot.clone(),
            weighting: if weighted { "pareto" } else { "uniform" }.into(),
            public_fields: public_fields.to_vec(),
            strata: m.strata.clone(),
            frame,
            exclusions: (!v2).then(|| m.exclusions.clone()),
            exclusion_summary: m.exclusion_summary.clone().filter(|_| v2),
            selected,
        }
    }

    /// The file's bytes: compact JSON, members in declaration order (as the manifest's
    /// canonical bytes, V2-6.2).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Writes [`PublicBundle::to_bytes`] to `out` as it is serialised (never held whole).
    pub fn write_to(&self, out: impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(out, self).map_err(std::io::Error::from)
    }

    /// Whether [`PublicBundle::to_bytes`] are `bytes`, compared as they are serialised (a
    /// national bundle's 885 MB are never made a second time to be compared), stopping at the
    /// first byte that differs.
    pub fn is_written_as(&self, bytes: &[u8]) -> bool {
        written_as(self, bytes)
    }

    /// SHA-256 of [`PublicBundle::to_bytes`], as the manifest records it, computed as the
    /// bytes are serialised.
    pub fn hash(&self) -> String {
        use std::io::Write as _;
        let mut w = crate::digest::HashingWriter::new(std::io::sink());
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut w);
        // Writing to a sink cannot fail, nor can serialising these plain structs.
        let _ = self.write_to(&mut buffered).and_then(|()| buffered.flush());
        drop(buffered);
        w.finish().0
    }

    /// Writes the bundle to `out` in one pass, hashing it as it is written; returns its
    /// SHA-256, which is [`PublicBundle::hash`].
    pub fn write_hashed(&self, out: impl std::io::Write) -> std::io::Result<String> {
        use std::io::Write as _;
        let mut w = crate::digest::HashingWriter::new(out);
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut w);
        self.write_to(&mut buffered)?;
        buffered.flush()?;
        drop(buffered);
        let (hash, _, mut out) = w.finish();
        out.flush()?;
        Ok(hash)
    }
}

impl PublicBundle {
    /// Recomputes the selection from the frame and returns every way it differs from the
    /// selection the bundle states (empty: the same).
    pub fn check(&self) -> Vec<String> {
        match self.held() {
            Ok(frame) => self.check_with(&frame),
            Err(e) => vec![e],
        }
    }

    /// [`PublicBundle::check`] with the frame `frame` (this bundle's own is not looked at).
    fn check_with(&self, frame: &held::Frame) -> Vec<String> {
        let mut out = Vec::new();
        let Some(algorithm) = Algorithm::from_name(&self.algorithm) else {
            return vec![format!("unknown algorithm `{}`", self.algorithm)];
        };
        let seed = match Seed::from_hex(&self.seed) {
            Ok(s) => s,
            Err(e) => return vec![format!("bad seed: {e}")],
        };
        if let Some(e) = self.format_fault() {
            out.push(e);
        }
        let weighted = match self.weighting.as_str() {
            "uniform" => false,
            "pareto" => true,
            other => return vec![format!("unknown weighting `{other}`")],
        };
        out.extend(frame.twice());
        if let Some(listed) = &self.exclusions {
            out.extend(not_in_frame(
                frame,
                listed.iter().map(|e| e.target_id.as_str()),
            ));
        }
        out.extend(frame.unlisted.iter().cloned());
        let members = frame.members(self.strata.len());
        let mut stated: std::collections::HashMap<&str, Vec<&PublicSelection>> =
            std::collections::HashMap::new();
        for x in &self.selected {
            stated.entry(x.stratum.as_str()).or_default().push(x);
        }
        for (at, s) in self.strata.iter().enumerate() {
            let first = self
                .strata
                .iter()
                .position(|t| t.stratum == s.stratum)
                .unwrap_or(at);
            let stratum = Stratum {
                info: s,
                members: members.get(first).map_or(&[][..], Vec::as_slice),
                bad_weight: frame.bad_weight.get(first).cloned().flatten(),
                stated: stated
                    .get(s.stratum.as_str())
                    .map_or(&[][..], Vec::as_slice),
            };
            out.extend(self.check_stratum(algorithm, &seed, frame, &stratum, weighted));
        }
        let listed: usize = self.strata.iter().map(|s| s.k).sum();
        if listed != self.selected.len() {
            out.push(format!(
                "the strata draw {listed} targets, the bundle lists {} drawn",
                self.selected.len()
            ));
        }
        out
    }

    /// What is wrong with the bundle's format and its way of stating the exclusions, if
    /// anything.
    fn format_fault(&self) -> Option<String> {
        match (
            self.format.as_str(),
            &self.exclusions,
            &self.exclusion_summary,
        ) {
            (PUBLIC_BUNDLE_FORMAT, Some(_), None)
            | (
                PUBLIC_BUNDLE_FORMAT_V2 | PUBLIC_BUNDLE_FORMAT_V3 | PUBLIC_BUNDLE_FORMAT_V4,
                None,
                Some(_),
            ) => None,
            (
                PUBLIC_BUNDLE_FORMAT
                | PUBLIC_BUNDLE_FORMAT_V2
                | PUBLIC_BUNDLE_FORMAT_V3
                | PUBLIC_BUNDLE_FORMAT_V4,
                ..,
            ) => Some(format!(
                "a {} bundle has `exclusions` in version 1, `exclusion_summary` in versions 2 to 4",
                self.format
            )),
            (other, ..) => Some(format!(
                "format `{other}` is none of {PUBLIC_BUNDLE_FORMAT}, {PUBLIC_BUNDLE_FORMAT_V2}, {PUBLIC_BUNDLE_FORMAT_V3} and {PUBLIC_BUNDLE_FORMAT_V4}"
            )),
        }
    }

    /// [`ReadBundle::check_detail`] against `frame`.
    fn check_detail(&self, frame: &held::Frame, r: impl std::io::Read) -> Vec<String> {
        let Some(summary) = &self.exclusion_summary else {
            return Vec::new();
        };
        let mut hashed = crate::digest::HashingReader::new(r);
        let mut rows = 0u64;
        let mut by_reason = std::collections::BTreeMap::<String, (u64, u64)>::new();
        let mut both = Vec::new();
        let mut finder = frame.finder();
        let read = crate::draw::manifest::read_exclusions_csv(
            std::io::BufReader::with_capacity(1 << 20, &mut hashed),
            |e| {
                rows += 1;
                if finder.contains(&e.target_id) {
                    both.push(format!(
                        "target {} is both eligible and excluded",
                        e.target_id
                    ));
                }
                by_reason.entry(e.reason).or_default().1 += 1;
            },
        );
        // A row that is not one stops the reading: the hash is of the whole file all the same.
        if let Err(e) = std::io::copy(&mut hashed, &mut std::io::sink()) {
            return vec![format!("exclusions.csv cannot be read: {e}")];
        }
        let (got, _) = hashed.finish();
        if got != summary.sha256 {
            return vec![format!(
                "exclusions.csv hashes to {got}, the bundle records {}: the file was altered or is another draw's",
                summary.sha256
            )];
        }
        if let Err(e) = read {
            return vec![format!("exclusions.csv cannot be read: {e}")];
        }
        let mut out = Vec::new();
        if rows != summary.rows {
            out.push(format!(
                "exclusions.csv lists {rows} targets, the summary {}",
                summary.rows
            ));
        }
        for c in &summary.counts {
            by_reason.entry(c.reason.clone()).or_default().0 += c.count;
        }
        for (reason, (counted, in_file)) in by_reason {
            if counted != in_file {
                out.push(format!(
                    "the summary counts {counted} excluded for {reason}, exclusions.csv lists {in_file}"
                ));
            }
        }
        out.extend(both);
        out
    }

    fn check_stratum(
        &self,
        algorithm: Algorithm,
        seed: &Seed,
        frame: &held::Frame,
        s: &Stratum<'_>,
        weighted: bool,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let info = s.info;
        let n = s.members.len();
        if n != info.eligible {
            out.push(format!(
                "stratum {:?}: {} eligible stated, {n} in the frame",
                info.stratum, info.eligible
            ));
        }
        let at_least = (n as u128 * u128::from(info.ratio_ppm)).div_ceil(1_000_000);
        let at_most = info
            .cap_ppm
            .map_or(u128::MAX, |c| n as u128 * u128::from(c) / 1_000_000);
        let k = usize::try_from(at_least.min(at_most)).unwrap_or(usize::MAX);
        if k != info.k {
            let cap = info
                .cap_ppm
                .map(|c| format!(", at most {c} ppm"))
                .unwrap_or_default();
            out.push(format!(
                "stratum {:?}: {} eligible at {} ppm{cap} draw {k}, the bundle states {}",
                info.stratum, n, info.ratio_ppm, info.k
            ));
        }
        if let Some(why) = s.bad_weight.as_ref().filter(|_| weighted) {
            out.push(why.clone());
            return out;
        }
        let units: Vec<Unit<'_>> = s
            .members
            .iter()
            .map(|&i| {
                let i = i as usize;
                match weighted {
                    true => Unit::weighted(frame.id(i), frame.weight(i)),
                    false => Unit::new(frame.id(i)),
                }
            })
            .collect();
        let ranker = Ranker::versioned(
            algorithm.name(),
            seed,
            &self.matter,
            &self.period.id,
            &info.stratum,
            Purpose::Targets,
        );
        let k = k.min(n);
        let ranked = match weighted {
            true => top_k_pareto(&ranker, &units, k),
            false => Ok(top_k_uniform(&ranker, &units, k)),
        };
        match ranked {
            Ok(ranked) => out.extend(compare(&info.stratum, s.stated, &ranked, &units, k)),
            Err(e) => out.push(format!("stratum {:?}: {e}", info.stratum)),
        }
        out
    }
}

/// One stratum as a check reads it: its entry in `strata`, its members in the frame (in frame
/// order), what is wrong with the first member's weight if anything, its stated selection.
struct Stratum<'a> {
    info: &'a StratumInfo,
    members: &'a [u32],
    bad_weight: Option<String>,
    stated: &'a [&'a PublicSelection],
}

impl ReadBundle {
    /// [`PublicBundle::check`] of the bundle read.
    pub fn check(&self) -> Vec<String> {
        self.head.check_with(&self.frame)
    }

    /// The number of targets in its frame.
    pub fn eligible(&self) -> usize {
        self.frame.len()
    }

    /// Checks the detail file of a version 2 to 4 bundle (its `exclusions.csv`, read once from
    /// `r`, never held whole): its hash and rows are the summary's, its counts by reason the
    /// summary's, and no target it lists is in the frame. Empty: it checks (a version 1
    /// bundle has none to check).
    pub fn check_detail(&self, r: impl std::io::Read) -> Vec<String> {
        self.head.check_detail(&self.frame, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector of docs/draw-algorithm.md V2-9.2: §9.1's ids, seed, matter and period.
    const VECTOR: &str = include_str!("../../../tests/fixtures/public-bundle-vector.json");

    #[test]
    fn the_vector_reads_back_byte_for_byte_hashes_as_published_and_checks() {
        let b: PublicBundle = serde_json::from_str(VECTOR).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.to_bytes(), VECTOR.as_bytes());
        assert_eq!(
            b.hash(),
            "40434dfcbddc932b92e2ad4a27d884d8b84576b91fdb6f7e270a8344d16f93d2"
        );
        assert_eq!(b.check(), Vec::<String>::new());
        // Streamed while hashed: the same bytes, the same hash.
        let mut streamed = Vec::new();
        let hash = b
            .write_hashed(&mut streamed)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(streamed, VECTOR.as_bytes());
        assert_eq!(hash, b.hash());
        let ranked: Vec<&str> = b.selected.iter().map(|s| s.target_id.as_str()).collect();
        assert_eq!(
            ranked,
            [
                "91440300MA5F000001",
                "91440300MA5F000003",
                "hotel/深圳/福田/0007",
                &"Z".repeat(56)
            ]
        );
    }

    /// The vector as version 4 writes it: each frame entry an array naming its stratum by
    /// its place in `strata`, the exclusions summarised (in the vector's frame order).
    pub(super) fn version_4() -> PublicBundle {
        let mut b: PublicBundle = serde_json::from_str(VECTOR).unwrap_or_else(|e| panic!("{e}"));
        b.format = PUBLIC_BUNDLE_FORMAT_V4.into();
        b.exclusion_summary = Some(ExclusionSummary {
            file: crate::draw::manifest::EXCLUSIONS_FILE.into(),
            sha256: "0".repeat(64),
            rows: 1,
            counts: Vec::new(),
        });
        b.exclusions = None;
        for f in &mut b.frame {
            let at = b.strata.iter().position(|s| s.stratum == f.stratum);
            f.stratum_at = at.map(|i| i as u32);
        }
        b
    }

    /// The vector written as version 4 (each frame entry an array naming its stratum by its
    /// place in `strata`) reads back byte for byte, checks, and names each entry's stratum; an
    /// entry placed in no stratum, or an object in a version 4 frame, is said.
    #[test]
    fn a_version_4_frame_reads_back_names_its_strata_and_checks() {
        let b = version_4();
        let bytes = b.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap_or_else(|e| panic!("{e}"));
        let first = &b.frame[0];
        assert!(
            text.contains(&format!("\"frame\":[[\"{}\",0,", first.id)),
            "{text}"
        );
        let back = PublicBundle::parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, b);
        assert_eq!(back.to_bytes(), bytes);
        assert!(back.is_written_as(&bytes));
        assert!(!back.is_written_as(&bytes[..bytes.len() - 1]));
        let mut longer = bytes.clone();
        longer.push(b' ');
        assert!(!back.is_written_as(&longer));
        let mut other = bytes.clone();
        other[bytes.len() / 2] ^= 1;
        assert!(!back.is_written_as(&other));
        assert_eq!(back.check(), Vec::<String>::new());
        let far = text.replacen(
            &format!("[\"{}\",0,", first.id),
            &format!("[\"{}\",9,", first.id),
            1,
        );
        let e = PublicBundle::parse(far.as_bytes()).expect_err("placed in no stratum");
        assert!(e.contains("placed in stratum 9"), "{e}");
        let mut mixed = b.clone();
        mixed.frame[0].stratum_at = None;
        let e = PublicBundle::parse(&mixed.to_bytes()).expect_err("an object");
        assert!(e.contains("is an object"), "{e}");
        let e = PublicBundle::parse(
            VECTOR
                .replace("public-bundle/1", "public-bundle/4")
                .as_bytes(),
        )
        .expect_err("objects in version 4");
        assert!(e.contains("is an object"), "{e}");
    }

    /// A selection's JSON as the bundle states it, made by hand, is its [`PublicSelection`]'s
    /// as serde writes it, whatever its text and whichever way the manifest keeps its
    /// probability.
    #[test]
    fn a_selection_made_by_hand_is_the_bundles() {
        use crate::draw::manifest::{Probability, Selected};
        for (name, p) in [
            (
                "丰阳\"龙泉\"\n\\\u{1}",
                Probability::Decimal(0.03632573616545167),
            ),
            ("", Probability::Number(1e-7)),
        ] {
            let s = Selected {
                rank: 7,
                stratum: format!("平邑{name}"),
                target_id: format!("T{name}"),
                target_name: name.into(),
                key: "00ff".into(),
                inclusion_probability: p,
                team: vec!["P1".into()],
                unstaffed: None,
            };
            let mut out = Vec::new();
            public_selection_json(&mut out, &s);
            let stated = PublicSelection {
                stratum: s.stratum.clone(),
                rank: s.rank,
                target_id: s.target_id.clone(),
                key: s.key.clone(),
                inclusion_probability: decimal_text(p.value()),
            };
            let serde = serde_json::to_vec(&stated).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&serde)
            );
        }
    }

    #[test]
    fn a_changed_frame_or_selection_is_said() {
        let b: PublicBundle = serde_json::from_str(VECTOR).unwrap_or_else(|e| panic!("{e}"));
        let mut fewer = b.clone();
        fewer.frame.retain(|f| f.id != "X");
        assert!(fewer.check()[0].contains("8 eligible stated, 7 in the frame"));
        let mut swapped = b.clone();
        swapped.selected[3].target_id = "X".into();
        let diffs = swapped.check();
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert!(
            diffs[0].contains("rank 4: the bundle states X"),
            "{diffs:?}"
        );
        let mut twice = b;
        let dup = twice.frame[0].clone();
        twice.frame.push(dup);
        assert!(
            twice
                .check()
                .iter()
                .any(|d| d.contains("in the frame twice"))
        );
    }
}
