//! The draw manifest: a versioned, self-describing record of one draw that a third party can
//! re-run. This is a stored and published format: change it only with a new `format` value.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const MANIFEST_FORMAT: &str = "suiji-manifest/1";

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StratumInfo {
    pub stratum: String,
    pub ratio_ppm: u32,
    pub eligible: usize,
    pub k: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selected {
    pub rank: u32,
    pub stratum: String,
    pub target_id: String,
    pub target_name: String,
    /// The ranking key (hex).
    pub key: String,
    pub inclusion_probability: f64,
    /// Inspector ids, in pick order; empty when unstaffed.
    pub team: Vec<String>,
    pub unstaffed: Option<String>,
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
    /// "regular" or "holiday:<id>".
    pub kind: String,
    pub ratio_ppm: u32,
    pub key_area_only: bool,
    pub reference_date: NaiveDate,
    pub issue_at: String,
    pub due_date: NaiveDate,
    /// 256-bit seed, hex.
    pub seed: String,
    /// Where the seed came from ("os", "witness digits: …", "file:…").
    pub seed_source: String,
    /// SHA-256 over the rule and script files.
    pub rules_hash: String,
    pub registry: RegistryInfo,
    pub history: Vec<HistoryEntry>,
    pub strata: Vec<StratumInfo>,
    pub selected: Vec<Selected>,
    pub exclusions: Vec<Exclusion>,
    pub inspector_skips: Vec<InspectorSkip>,
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

impl Manifest {
    /// The canonical bytes: compact JSON, fields in declaration order, `manifest_hash` empty.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut copy = self.clone();
        copy.manifest_hash = String::new();
        serde_json::to_vec(&copy).unwrap_or_default()
    }

    pub fn compute_hash(&self) -> String {
        if self.manifest_hash.is_empty() {
            return hash_json(self);
        }
        hex::encode(Sha256::digest(self.canonical_bytes()))
    }

    /// Sets `manifest_hash` to [`Manifest::compute_hash`]. The JSON is fed to the hash as it is
    /// written, so a manifest with a million selections is not copied or held as text.
    pub fn seal(&mut self) {
        self.manifest_hash = String::new();
        self.manifest_hash = hash_json(self);
    }

    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
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
                (Some(a), Some(b)) => out.push(format!(
                    "selection #{}: recorded {} (team {}), re-run {} (team {})",
                    i + 1,
                    a.target_id,
                    a.team.join("+"),
                    b.target_id,
                    b.team.join("+")
                )),
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
