//! Rule editing in the console: a department's files as the editor sees them, a matter's form
//! values, a draft (the full new text of each changed file of the rules folder) checked by
//! exactly what `suiji check` runs, and the preview of what a draft would change
//! (`preview`). Drafts are not kept here: a draft is text the editor sends.

mod preview;

use std::path::{Path, PathBuf};

pub use preview::{After, Counts, DateChange, DryRun, Preview, Side, StratumCount, preview};

use super::SetupError;
use crate::diag::{Diagnostic, Location, Severity, Sources};
use crate::rules::edit::{EditError, MatterValues};
use crate::rules::{Draft, Loaded};

/// One problem the check found, placed for the editor (file, line and column, 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub error: bool,
    pub message: String,
    pub label: Option<String>,
    pub help: Vec<String>,
    /// The file as `suiji check` names it (`rules/zhian.toml`), when it has a place.
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// What the check of a draft found.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub findings: Vec<Finding>,
    /// The rules hash the rule set would have (when it loads).
    pub rules_hash: Option<String>,
}

impl Checked {
    /// No error (warnings may remain): the draft may be submitted.
    pub fn ok(&self) -> bool {
        !self.findings.iter().any(|f| f.error)
    }
}

/// A department's files in the rules folder: its rule file and the scripts its matters use,
/// by file name, with their texts.
#[derive(Debug, Clone)]
pub struct DepartmentFiles {
    pub id: String,
    pub name: String,
    pub rule_file: String,
    pub files: Draft,
}

/// Why a department or matter could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditJobError {
    #[error("没有编号为 {0} 的部门")]
    NoDepartment(String),
    #[error("没有编号为 {0} 的事项")]
    NoMatter(String),
    #[error("无法读取 {0}：{1}")]
    Read(String, std::io::Error),
    #[error("{0}")]
    Edit(#[from] EditError),
    #[error(transparent)]
    Setup(#[from] SetupError),
}

/// The files of department `id` as they are in the rules folder.
pub fn department_files(loaded: &Loaded, id: &str) -> Result<DepartmentFiles, EditJobError> {
    let d = loaded
        .model
        .department(id)
        .ok_or_else(|| EditJobError::NoDepartment(id.to_string()))?;
    let mut names: Vec<std::path::PathBuf> = vec![d.file.clone()];
    for m in &d.matters {
        for h in [&m.eligible, &m.weight, &m.conflict, &m.class_hook]
            .into_iter()
            .flatten()
        {
            names.push(h.script.path.clone());
        }
    }
    let mut files = Draft::new();
    for path in names {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let text =
            std::fs::read_to_string(&path).map_err(|e| EditJobError::Read(name.to_string(), e))?;
        files.insert(name.to_string(), text);
    }
    let rule_file = d
        .file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    Ok(DepartmentFiles {
        id: d.id.clone(),
        name: d.name.clone(),
        rule_file,
        files,
    })
}

/// The year a check and a preview describe: `year` (the current one) when the holiday calendar
/// has an official notice for it, else the nearest year it has one for.
pub fn year_for(loaded: &Loaded, year: i32) -> i32 {
    let Ok(cal) = super::load_calendar(loaded, false) else {
        return year;
    };
    let years: Vec<i32> = cal
        .years()
        .into_iter()
        .filter(|y| cal.is_official(*y))
        .collect();
    if years.contains(&year) {
        return year;
    }
    years
        .into_iter()
        .min_by_key(|y| (y - year).abs())
        .unwrap_or(year)
}

/// The form values of matter `matter` (its id within the department) in `text`.
pub fn matter_values(text: &str, matter: &str) -> Result<MatterValues, EditJobError> {
    crate::rules::edit::matter_values(text, matter).map_err(|e| match e {
        EditError::NoMatter(m) => EditJobError::NoMatter(m),
        other => EditJobError::Edit(other),
    })
}

/// Where the approved rule set a change is based on lives: with `[rules] approval =
/// "two-person"`, the folder of the approved version whose rules hash is `base` (else the
/// latest approved version), staged once under `<data>/rules-approved/`; `None` when the files
/// on disk are that version, when no version is recorded yet, or without approval (the files
/// on disk are then the rules).
pub fn base_dir(config: &Path, base: Option<&str>) -> Result<Option<PathBuf>, SetupError> {
    let Ok(cfg) = crate::rules::load_config(config) else {
        return Ok(None);
    };
    if !cfg.approval.required {
        return Ok(None);
    }
    let store = crate::store::Store::open_read_only(&cfg.data_dir)?;
    let asked = match base {
        Some(hash) => store.rule_version_of_hash(hash)?,
        None => None,
    };
    let Some(version) = asked.map_or_else(|| store.latest_rule_version(), |v| Ok(Some(v)))? else {
        return Ok(None);
    };
    if super::rule_changes::on_disk(&cfg).is_ok_and(|d| d.hash == version.rules_hash) {
        return Ok(None);
    }
    super::rule_changes::staged_version(&cfg.data_dir, &version)
        .map(Some)
        .map_err(|e| {
            SetupError::Store(crate::store::StoreError::invalid(
                "approved rules",
                e.to_string(),
            ))
        })
}

/// The rule set in `base` (a folder of [`base_dir`]), else the files on disk.
pub fn load_base(config: &Path, base: Option<&Path>) -> Result<Loaded, SetupError> {
    match base {
        Some(dir) => crate::rules::load::load_staged(config, dir).map_err(SetupError::Rules),
        None => super::load_disk_rules(config),
    }
}

/// Checks the rule set with `draft` in place of the files of those names: loading (every
/// problem of every file), the hooks on the registries' first rows, then the rules against the
/// calendar and the registries: what `suiji check` runs, in that order. The files the draft
/// does not replace are those of `base` (the approved version the change is based on, a
/// folder of [`base_dir`]), else those on disk. `year` is the year the hooks' context
/// describes (the current one). The loaded draft comes back when it loads.
///
/// What the check derives from the registries is read once per registry version and kept in
/// `keeper` (the console keeps one): a keystroke's check reads only the rules.
pub fn check_kept(
    config: &Path,
    base: Option<&Path>,
    draft: &Draft,
    year: i32,
    keeper: &crate::jobs::check::Keeper,
) -> (Checked, Option<Loaded>) {
    let loaded = match base {
        Some(dir) => crate::rules::load_draft_staged(config, dir, draft),
        None => crate::rules::load_draft(config, draft),
    };
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => {
            let findings = findings(&e.sources, &e.diagnostics);
            return (
                Checked {
                    findings,
                    rules_hash: None,
                },
                None,
            );
        }
    };
    let mut out = Checked {
        findings: findings(&loaded.sources, &loaded.warnings),
        rules_hash: Some(loaded.model.rules_hash.clone()),
    };
    let facts = keeper.facts(&loaded);
    let (targets, inspectors) = facts.sample(&loaded);
    let ran = super::hooks::dry_run_on(&loaded, year, (targets, inspectors))
        .and_then(|()| super::check::run_on(&loaded, &facts));
    match ran {
        Ok(c) => out.findings.extend(findings(&loaded.sources, &c.warnings)),
        Err(e) => out.findings.extend(setup_findings(&loaded.sources, &e)),
    }
    (out, Some(loaded))
}

/// The findings of a setup error of the check.
fn setup_findings(sources: &Sources, e: &SetupError) -> Vec<Finding> {
    match e {
        SetupError::Rules(l) | SetupError::Config(l) => findings(&l.sources, &l.diagnostics),
        SetupError::Calendar {
            sources,
            diagnostics,
        } => findings(sources, diagnostics),
        SetupError::Registry(d) => findings(sources, d),
        other => {
            use crate::diag::Problem;
            vec![Finding {
                error: true,
                message: other.report().render(),
                label: None,
                help: Vec::new(),
                file: None,
                line: None,
                column: None,
            }]
        }
    }
}

/// Diagnostics as findings with their places.
pub fn findings(sources: &Sources, diags: &[Diagnostic]) -> Vec<Finding> {
    diags
        .iter()
        .map(|d| {
            let (file, line, column) = match &d.location {
                Location::None => (None, None, None),
                Location::Span { file, range } => {
                    let (l, c) = sources.line_col(*file, range.start);
                    (Some(sources.name(*file).to_string()), Some(l), Some(c))
                }
                Location::Line { path, line, column } => (Some(path.clone()), Some(*line), *column),
            };
            Finding {
                error: d.severity == Severity::Error,
                message: d.message.clone(),
                label: d.label.clone(),
                help: d.help.clone(),
                file,
                line,
                column,
            }
        })
        .collect()
}

/// `text` with matter `matter`'s values set to `values` (see [`crate::rules::edit::apply`]).
pub fn apply(text: &str, matter: &str, values: &MatterValues) -> Result<String, EditJobError> {
    crate::rules::edit::apply(text, matter, values).map_err(EditJobError::Edit)
}

/// `text` with a new matter (see [`crate::rules::edit::add_matter`]).
pub fn add_matter(text: &str, id: &str, name: &str) -> Result<String, EditJobError> {
    crate::rules::edit::add_matter(text, id, name).map_err(EditJobError::Edit)
}
