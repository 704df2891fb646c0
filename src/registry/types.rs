//! Registry rows as the engine sees them, after reading and validation.

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// The national result category of a clean inspection (未发现问题).
pub const CLEAN: &str = "未发现问题";

/// What counts as a clean inspection (for cooldown): in a result, the national category
/// [`CLEAN`]; in a registry's `last_result` column, also `clean` as English registries write it.
pub const CLEAN_RESULTS: &[&str] = &[CLEAN, "clean"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetStatus {
    Active,
    Deregistered,
}

/// One row of the target registry (检查对象名录库).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub id: String,
    pub name: String,
    /// Registry category, e.g. "hotel"; rules name these.
    pub category: String,
    pub district: String,
    pub address: String,
    /// In a key area (重点区域).
    pub key_area: bool,
    /// Risk or credit class, e.g. "A".."D" or "high"; rules map it to ratios.
    pub class: Option<String>,
    pub licence: Option<String>,
    pub status: TargetStatus,
    pub last_inspected: Option<NaiveDate>,
    pub last_result: Option<String>,
    /// Other columns, by header, for rules to read.
    pub extra: BTreeMap<String, String>,
}

impl Target {
    /// The row with its registry columns only, without the other columns rules read (`extra`):
    /// what a draw's documents show of a drawn target (its task rows and public fields), kept
    /// for every drawn target of a national draw without a map per row.
    pub fn without_extra(&self) -> Target {
        Target {
            id: self.id.clone(),
            name: self.name.clone(),
            category: self.category.clone(),
            district: self.district.clone(),
            address: self.address.clone(),
            key_area: self.key_area,
            class: self.class.clone(),
            licence: self.licence.clone(),
            status: self.status,
            last_inspected: self.last_inspected,
            last_result: self.last_result.clone(),
            extra: BTreeMap::new(),
        }
    }
}

/// One row of the inspector registry (执法检查人员名录库).
#[derive(Debug, Clone, PartialEq)]
pub struct Inspector {
    pub id: String,
    pub name: String,
    /// Department id, e.g. "zhian".
    pub department: String,
    pub certificate: String,
    pub qualifications: Vec<String>,
    pub active: bool,
    pub area: String,
    /// Declared conflicts of interest: target ids or organisation names (回避).
    pub conflicts: Vec<String>,
    /// The registry's other columns, by header (`former_employer`, `原工作单位`), for the
    /// hooks: every column of the registry is a key of every inspector (an empty cell `""`;
    /// see [`complete_inspector_columns`]). Kept in the canonical snapshot.
    pub extra: BTreeMap<String, String>,
}

/// Gives every inspector every extra column any of them has (an empty cell as `""`), so that a
/// registry of several files reaches the hooks, and is written to and read back from its
/// snapshot, with the same fields for everyone.
pub fn complete_inspector_columns(inspectors: &mut [Inspector]) {
    let keys: std::collections::BTreeSet<String> = inspectors
        .iter()
        .flat_map(|i| i.extra.keys().cloned())
        .collect();
    if keys.is_empty() {
        return;
    }
    for i in inspectors.iter_mut() {
        if i.extra.len() == keys.len() {
            continue;
        }
        for k in &keys {
            i.extra.entry(k.clone()).or_default();
        }
    }
}

/// Both registries, frozen, with the SHA-256 of each source file's bytes.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub targets: Vec<Target>,
    pub inspectors: Vec<Inspector>,
    /// (file name, sha256 hex) for each file read.
    pub sources: Vec<(String, String)>,
    /// The target files' column headers as written (each once); empty for a registry read
    /// back from a snapshot.
    pub target_columns: Vec<String>,
}
