//! Changes to the rule set and their approval (规则变更、法制审核、历史、回退).
//!
//! A change is a department's new files over a base version: `(department, the full new text
//! of every file it changes, the base rules hash)`, files named as in a rules archive
//! (`rules/zhian.toml`, `rules/zhian.rhai`, `config/holidays/2025.toml`,
//! `config/suiji.toml`). It is saved as a draft, submitted (checked exactly as `suiji check`
//! checks, on the whole rule set with the change applied; a change with errors stays a
//! draft), and approved by someone else (or returned with a comment). Approval records the
//! next version of the rule set (every file and its rules hash, the hash draw manifests
//! record) and then writes the changed files into place, each atomically.
//!
//! With `[rules] approval = "two-person"` draws use only the latest approved version
//! ([`super::load_rules`]): files changed on disk outside the console are an unapproved change
//! ([`Status::outside`]) until someone approves them ([`approve_outside`]). On the first start
//! (no version yet) the files on disk are adopted as version 1 ([`adopt`]), recorded with who
//! started.
//!
//! Who acts is passed in ([`Who`]): `web:NAME` for a console user, `cli:USER` for the OS
//! account running `suiji rules`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::diag::{Fault, Problem, Report};
use crate::rules::Loaded;
use crate::rules::model::{Algorithm, Config};
use crate::store::{
    NewRuleChange, NewRuleVersion, RuleChangeRow, RuleStep, RuleStore, RuleVersionRow, StoreError,
};

use super::SetupError;
use super::check::Keeper;

/// Files by archive path → their text.
pub type Files = crate::store::RuleFiles;

/// Who does a step and when (the bureau's local time, as every record).
#[derive(Debug, Clone)]
pub struct Who {
    /// `web:NAME` (console) or `cli:USER` (OS account).
    pub actor: String,
    pub at: String,
}

impl Who {
    /// The year of `at` (the year the hooks' dry run checks).
    pub fn year(&self) -> i32 {
        self.at
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or(2023)
    }

    fn step(&self) -> RuleStep<'_> {
        RuleStep {
            actor: &self.actor,
            at: &self.at,
        }
    }
}

/// The author recorded for files changed on disk outside the console.
pub const OUTSIDE: &str = "outside";

/// A rule set: its files and its rules hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    pub files: Files,
    pub hash: String,
}

/// A draft to save: a new change (`id` None) or new content for the author's own draft.
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: Option<i64>,
    /// The department the change is about (its id, as in its rule file).
    pub department: String,
    /// The full new text of every file it changes or adds.
    pub files: Files,
    /// Files it removes (a department retired with its file removed; rollbacks).
    pub removed: Vec<String>,
    /// The rules hash of the approved version the editor started from.
    pub base_hash: String,
}

/// One line of a file's diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Same(String),
    Removed(String),
    Added(String),
    /// Unchanged lines left out between two changes.
    Gap(usize),
}

/// How one file differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    /// `None`: the file is new.
    pub old: Option<String>,
    /// `None`: the file is removed.
    pub new: Option<String>,
    /// The lines, with three of context around each change.
    pub lines: Vec<Line>,
}

/// A change as shown: the row, the files it was made from and the diff against them.
#[derive(Debug, Clone)]
pub struct ChangeView {
    pub row: RuleChangeRow,
    /// The version the change was made from (`None` when its hash is no version's).
    pub base: Option<RuleVersionRow>,
    /// Base → change.
    pub diff: Vec<FileDiff>,
    /// What stands in its way: files changed since its base by an approved version or
    /// another submitted change (each with the diff between the base and that content).
    pub conflicts: Vec<Conflict>,
}

/// A file changed by someone else since a change's base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub path: String,
    /// `Some(id)`: another submitted change; `None`: the latest approved version.
    pub change: Option<i64>,
    pub by: String,
    /// Base → the other content.
    pub diff: FileDiff,
}

/// Where the rule set stands: the latest approved version, the files on disk, what differs.
#[derive(Debug, Clone)]
pub struct Status {
    pub required: bool,
    pub self_approval: bool,
    pub latest: Option<RuleVersionRow>,
    pub disk: RuleSet,
    /// Latest approved → disk: files changed outside the console, not used until approved.
    pub outside: Vec<FileDiff>,
    /// Submitted changes waiting for a decision, oldest first.
    pub pending: Vec<RuleChangeRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no rule change #{0}")]
    NoChange(i64),
    #[error("no rule version {0}")]
    NoVersion(i64),
    #[error("`{0}` is not a version number or `disk`")]
    BadVersion(String),
    #[error("no approved rule version has the hash {0}")]
    UnknownBase(String),
    #[error("no approved rule version yet")]
    NothingApproved,
    #[error("`{0}` is not a file of the rule set")]
    BadPath(String),
    #[error("rule change #{id} is {state}, not {want}")]
    State {
        id: i64,
        state: String,
        want: &'static str,
    },
    #[error("rule change #{0} changes nothing")]
    Empty(i64),
    #[error("the author of a change cannot approve it")]
    OwnChange,
    #[error("only {author} can edit or submit rule change #{id}")]
    NotAuthor { id: i64, author: String },
    #[error("returning a change needs a comment")]
    NoComment,
    #[error("rule change #{id} conflicts with changes made since its base")]
    Conflict { id: i64, conflicts: Vec<Conflict> },
    #[error("the files on disk are the approved version; there is nothing to approve")]
    NoOutsideChange,
    #[error("the files on disk changed again while being approved; look at them again")]
    Moved,
    #[error("the rule set with this change has problems")]
    Invalid(Box<SetupError>),
    #[error("cannot read or write the rule files: {0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Problem for ChangeError {
    fn fault(&self) -> Fault {
        match self {
            ChangeError::Io(_) | ChangeError::Store(_) => Fault::Failed,
            ChangeError::Invalid(e) => e.fault(),
            _ => Fault::Invalid,
        }
    }

    fn report(&self) -> Report {
        match self {
            ChangeError::Invalid(e) => e.report(),
            ChangeError::Conflict { conflicts, .. } => {
                let files: Vec<String> = conflicts
                    .iter()
                    .map(|c| format!("{} (changed by {})", c.path, c.by))
                    .collect();
                let help = format!(
                    "these files changed since the change was made: {}; start again from the latest version",
                    files.join(", ")
                );
                Report::error(self.to_string(), &[&help])
            }
            ChangeError::NothingApproved => Report::error(
                self.to_string(),
                &["run `suiji rules approve` to approve the files on disk as the first version"],
            ),
            ChangeError::NoOutsideChange | ChangeError::Moved => {
                Report::error(self.to_string(), &["run `suiji rules status` to see them"])
            }
            other => Report::error(crate::diag::chain(other), &[]),
        }
    }
}

fn io(e: impl std::fmt::Display) -> ChangeError {
    ChangeError::Io(e.to_string())
}

/// The rules hash of `files` under the config's algorithm (the hash a draw would record).
pub fn hash_of(files: &Files, algorithm: Algorithm) -> String {
    let bytes: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    let packed = crate::rules::archive::pack_set(&bytes, algorithm == Algorithm::V2);
    crate::rules::archive::hash(&packed)
}

/// The rule set on disk (the config, holiday files, rule files and scripts).
pub fn on_disk(cfg: &Config) -> Result<RuleSet, ChangeError> {
    let raw = crate::rules::archive::read_set(&cfg.path, &cfg.holidays_dir, &cfg.rules_dir)
        .map_err(io)?;
    let mut files = Files::new();
    for (name, bytes) in raw {
        let text = String::from_utf8(bytes)
            .map_err(|_| ChangeError::Io(format!("{name} is not UTF-8 text")))?;
        files.insert(name, text);
    }
    let hash = hash_of(&files, cfg.algorithm);
    Ok(RuleSet { files, hash })
}

/// Whether `path` names a file of the rule set: `config/suiji.toml`,
/// `config/holidays/<name>.toml`, `rules/<name>.toml` or `rules/<name>.rhai` (a plain name).
pub fn is_rule_path(path: &str) -> bool {
    if path == "config/suiji.toml" {
        return true;
    }
    let plain = |name: &str, exts: &[&str]| {
        !name.is_empty()
            && !name.starts_with('.')
            && !name.contains(['/', '\\'])
            && exts
                .iter()
                .any(|e| name.ends_with(e) && name.len() > e.len())
    };
    match (
        path.strip_prefix("config/holidays/"),
        path.strip_prefix("rules/"),
    ) {
        (Some(name), _) => plain(name, &[".toml"]),
        (_, Some(name)) => plain(name, &[".toml", ".rhai"]),
        _ => false,
    }
}

/// Where an archive path lives on disk under the config.
fn disk_path(cfg: &Config, path: &str) -> Result<PathBuf, ChangeError> {
    if !is_rule_path(path) {
        return Err(ChangeError::BadPath(path.to_string()));
    }
    Ok(if path == "config/suiji.toml" {
        cfg.path.clone()
    } else if let Some(name) = path.strip_prefix("config/holidays/") {
        cfg.holidays_dir.join(name)
    } else {
        cfg.rules_dir.join(path.trim_start_matches("rules/"))
    })
}

/// `base` with a change's files written over it and its removed files left out.
pub fn apply(base: &Files, files: &Files, removed: &[String]) -> Files {
    let mut out = base.clone();
    for r in removed {
        out.remove(r);
    }
    out.extend(files.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// The latest approved version.
pub fn latest(store: &dyn RuleStore) -> Result<Option<RuleVersionRow>, ChangeError> {
    Ok(store.latest_rule_version()?)
}

/// Every approved version, newest first.
pub fn history(store: &dyn RuleStore) -> Result<Vec<RuleVersionRow>, ChangeError> {
    Ok(store.rule_versions()?)
}

/// Version `id`.
pub fn version(store: &dyn RuleStore, id: i64) -> Result<RuleVersionRow, ChangeError> {
    store.rule_version(id)?.ok_or(ChangeError::NoVersion(id))
}

/// The version a draw made with `rules_hash` used, if it was approved.
pub fn version_of_hash(
    store: &dyn RuleStore,
    hash: &str,
) -> Result<Option<RuleVersionRow>, ChangeError> {
    Ok(store.rule_version_of_hash(hash)?)
}

/// Every change, newest first.
pub fn list(store: &dyn RuleStore) -> Result<Vec<RuleChangeRow>, ChangeError> {
    Ok(store.rule_changes()?)
}

/// Checks a whole rule set exactly as `suiji check` does (loading, the hooks' dry run for
/// `year`, then the calendar and the registries), from a staged copy: nothing on disk is touched. Diagnostics name the files as
/// in the project (`rules/zhian.toml:12:9`).
///
/// What the check derives from the registries is taken from `keeper`: the facts kept for the
/// registry files as they are now (read again when a file changed since they were read, so a
/// rule set the registry no longer fits is refused).
pub fn check_set(
    config_path: &Path,
    files: &Files,
    year: i32,
    keeper: &Keeper,
) -> Result<Loaded, SetupError> {
    let staged = stage(files).map_err(|e| {
        SetupError::Registry(vec![crate::diag::Diagnostic::error(format!(
            "cannot stage the rule set to check it: {e}"
        ))])
    })?;
    let loaded =
        crate::rules::load::load_staged(config_path, staged.path()).map_err(SetupError::Rules)?;
    let facts = keeper.facts(&loaded);
    let (targets, inspectors) = facts.sample(&loaded);
    super::hooks::dry_run_on(&loaded, year, (targets, inspectors))?;
    super::check::run_on(&loaded, &facts)?;
    Ok(loaded)
}

fn stage(files: &Files) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    write_tree(dir.path(), files)?;
    Ok(dir)
}

/// Writes `files` under `dir` as an archive unpacks them.
fn write_tree(dir: &Path, files: &Files) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("rules"))?;
    std::fs::create_dir_all(dir.join("config/holidays"))?;
    for (name, text) in files {
        if !is_rule_path(name) {
            continue;
        }
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

/// The folder holding version `v`'s files as an archive unpacks them:
/// `<data>/rules-approved/<rules hash>/`, written once (into a temporary folder renamed into
/// place) and reused. Where the data folder cannot be written (a read-only copy), a
/// temporary folder.
pub fn staged_version(data_dir: &Path, v: &RuleVersionRow) -> std::io::Result<PathBuf> {
    let home = data_dir.join("rules-approved");
    let dir = home.join(&v.rules_hash);
    if dir.join("config/suiji.toml").is_file() {
        return Ok(dir);
    }
    let fresh = std::fs::create_dir_all(&home).and_then(|()| {
        tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(&home)
    });
    match fresh {
        Ok(tmp) => {
            write_tree(tmp.path(), &v.files)?;
            let staged = tmp.keep();
            match std::fs::rename(&staged, &dir) {
                Ok(()) => Ok(dir),
                // Another process placed the same version first.
                Err(_) if dir.join("config/suiji.toml").is_file() => {
                    let _ = std::fs::remove_dir_all(&staged);
                    Ok(dir)
                }
                Err(e) => Err(e),
            }
        }
        Err(_) => {
            let tmp = tempfile::Builder::new().prefix("suiji-rules-").tempdir()?;
            write_tree(tmp.path(), &v.files)?;
            Ok(tmp.keep())
        }
    }
}

/// Notes the latest approved version in `<data>/rules-approved/latest.toml`: a running
/// service watches that folder and reloads, also when the approval wrote no rule file (files
/// changed outside the console, approved where they are). A failure is logged; the service
/// then finds the version at its next wake-up.
fn mark_latest(data_dir: &Path, version: i64, hash: &str) {
    let home = data_dir.join("rules-approved");
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&home)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&home)?;
        let text = format!("version = {version}\nrules_hash = \"{hash}\"\n");
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        tmp.persist(home.join("latest.toml"))?;
        Ok(())
    };
    if let Err(e) = write() {
        tracing::warn!(
            "cannot note the approved rule version in {}: {e}",
            home.display()
        );
    }
}

/// Saves a draft (new, or the author's own draft or returned change). Audited
/// (`rules.draft`). Returns the change's id.
pub fn save_draft(store: &mut dyn RuleStore, draft: &Draft, who: &Who) -> Result<i64, ChangeError> {
    for path in draft.files.keys().chain(draft.removed.iter()) {
        if !is_rule_path(path) {
            return Err(ChangeError::BadPath(path.clone()));
        }
    }
    if store.rule_version_of_hash(&draft.base_hash)?.is_none() {
        return Err(ChangeError::UnknownBase(draft.base_hash.clone()));
    }
    if let Some(id) = draft.id {
        let row = store.rule_change(id)?.ok_or(ChangeError::NoChange(id))?;
        if row.author != who.actor {
            return Err(ChangeError::NotAuthor {
                id,
                author: row.author,
            });
        }
        if !matches!(row.state.as_str(), "draft" | "returned") {
            return Err(ChangeError::State {
                id,
                state: row.state,
                want: "a draft",
            });
        }
    }
    let change = NewRuleChange {
        department: &draft.department,
        kind: "edit",
        files: &draft.files,
        removed: &draft.removed,
        base_hash: &draft.base_hash,
        rollback_of: None,
    };
    Ok(store.save_rule_change(draft.id, &change, who.step())?)
}

/// A change with its base, diff and conflicts.
pub fn change(store: &dyn RuleStore, id: i64) -> Result<ChangeView, ChangeError> {
    let row = store.rule_change(id)?.ok_or(ChangeError::NoChange(id))?;
    let base = store.rule_version_of_hash(&row.base_hash)?;
    let base_files = base.as_ref().map(|b| b.files.clone()).unwrap_or_default();
    let new = apply(&base_files, &row.files, &row.removed);
    let diff = diff(&base_files, &new);
    let conflicts = if matches!(row.state.as_str(), "approved") {
        Vec::new()
    } else {
        conflicts(store, &row, &base_files)?
    };
    Ok(ChangeView {
        row,
        base,
        diff,
        conflicts,
    })
}

/// Files of `row` that changed since its base: in the latest approved version, or in another
/// submitted change.
fn conflicts(
    store: &dyn RuleStore,
    row: &RuleChangeRow,
    base: &Files,
) -> Result<Vec<Conflict>, ChangeError> {
    let touched: BTreeSet<&String> = row.files.keys().chain(row.removed.iter()).collect();
    let mut out = Vec::new();
    if let Some(latest) = store.latest_rule_version()?
        && latest.rules_hash != row.base_hash
    {
        for path in &touched {
            if base.get(*path) != latest.files.get(*path) {
                out.push(Conflict {
                    path: (*path).clone(),
                    change: None,
                    by: format!("version {} ({})", latest.id, latest.author),
                    diff: file_diff(path, base.get(*path), latest.files.get(*path)),
                });
            }
        }
    }
    for other in store.rule_changes()? {
        if other.id == row.id || other.state != "submitted" {
            continue;
        }
        for path in other.files.keys().chain(other.removed.iter()) {
            if touched.contains(path) {
                out.push(Conflict {
                    path: path.clone(),
                    change: Some(other.id),
                    by: other.author.clone(),
                    diff: file_diff(path, base.get(path), other.files.get(path)),
                });
            }
        }
    }
    Ok(out)
}

fn require_state(row: &RuleChangeRow, want: &'static str) -> Result<(), ChangeError> {
    if row.state == want {
        Ok(())
    } else {
        Err(ChangeError::State {
            id: row.id,
            state: row.state.clone(),
            want,
        })
    }
}

/// What a submitted change became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Waiting for an approver.
    Waiting,
    /// Approved at once (`approval = "none"`), as this version.
    Approved(Approved),
}

/// Submits a draft for approval: refused with the conflicting diffs when a file it changes
/// was changed since its base (an approved version, another submitted change), and when the
/// rule set with the change has errors (the draft stays a draft). With `approval = "none"`
/// the change is approved at once by its author. Audited (`rules.submit`).
pub fn submit(
    store: &mut dyn RuleStore,
    cfg: &Config,
    id: i64,
    who: &Who,
    keeper: &Keeper,
) -> Result<Submitted, ChangeError> {
    let view = change(store, id)?;
    let row = &view.row;
    if row.author != who.actor {
        return Err(ChangeError::NotAuthor {
            id,
            author: row.author.clone(),
        });
    }
    if row.state != "draft" && row.state != "returned" {
        return Err(ChangeError::State {
            id,
            state: row.state.clone(),
            want: "a draft",
        });
    }
    if view.diff.is_empty() {
        return Err(ChangeError::Empty(id));
    }
    if !view.conflicts.is_empty() {
        return Err(ChangeError::Conflict {
            id,
            conflicts: view.conflicts,
        });
    }
    let base = view
        .base
        .ok_or_else(|| ChangeError::UnknownBase(row.base_hash.clone()))?;
    check_set(
        &cfg.path,
        &apply(&base.files, &row.files, &row.removed),
        who.year(),
        keeper,
    )
    .map_err(|e| ChangeError::Invalid(Box::new(e)))?;
    store.move_rule_change(id, &row.state, "submitted", None, who.step())?;
    if cfg.approval.required {
        return Ok(Submitted::Waiting);
    }
    Ok(Submitted::Approved(decide(
        store,
        cfg,
        id,
        who,
        (true, keeper),
    )?))
}

/// Returns a submitted change to its author with a comment. Audited (`rules.return`).
pub fn return_change(
    store: &mut dyn RuleStore,
    id: i64,
    comment: &str,
    who: &Who,
) -> Result<(), ChangeError> {
    let row = store.rule_change(id)?.ok_or(ChangeError::NoChange(id))?;
    require_state(&row, "submitted")?;
    if comment.trim().is_empty() {
        return Err(ChangeError::NoComment);
    }
    store.move_rule_change(
        id,
        "submitted",
        "returned",
        Some(comment.trim()),
        who.step(),
    )?;
    Ok(())
}

/// An approval: the version recorded and the files written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    pub version: i64,
    pub rules_hash: String,
    /// The files written into place (archive paths), and those removed.
    pub written: Vec<String>,
    pub removed: Vec<String>,
}

/// Approves a submitted change: never by its author (unless `self_approval`), never over a
/// change made since its base. Checks the resulting rule set as `suiji check` does, records
/// it as the next version (`rules.approve`), then writes the changed files into place, each
/// atomically (a temporary file renamed over the old one). Files changed on disk outside
/// the console stay as they are, and stay unapproved.
pub fn approve(
    store: &mut dyn RuleStore,
    cfg: &Config,
    id: i64,
    who: &Who,
    keeper: &Keeper,
) -> Result<Approved, ChangeError> {
    decide(store, cfg, id, who, (false, keeper))
}

fn decide(
    store: &mut dyn RuleStore,
    cfg: &Config,
    id: i64,
    who: &Who,
    (by_author, keeper): (bool, &Keeper),
) -> Result<Approved, ChangeError> {
    let view = change(store, id)?;
    let row = &view.row;
    require_state(row, "submitted")?;
    if !by_author && row.author == who.actor && !cfg.approval.self_approval {
        return Err(ChangeError::OwnChange);
    }
    let conflicts: Vec<Conflict> = view
        .conflicts
        .into_iter()
        .filter(|c| c.change.is_none())
        .collect();
    if !conflicts.is_empty() {
        return Err(ChangeError::Conflict { id, conflicts });
    }
    let latest = store
        .latest_rule_version()?
        .ok_or(ChangeError::NothingApproved)?;
    let files = apply(&latest.files, &row.files, &row.removed);
    check_set(&cfg.path, &files, who.year(), keeper)
        .map_err(|e| ChangeError::Invalid(Box::new(e)))?;
    let rules_hash = hash_of(&files, cfg.algorithm);
    let kind = if row.kind == "rollback" {
        "rollback"
    } else {
        "edit"
    };
    let new = NewRuleVersion {
        rules_hash: &rules_hash,
        files: &files,
        kind,
        author: &row.author,
    };
    let version = store
        .approve_rule_change(id, &new, Some(latest.id), who.step())?
        .ok_or(ChangeError::Moved)?;
    write_files(cfg, &row.files, &row.removed)?;
    mark_latest(&cfg.data_dir, version, &rules_hash);
    Ok(Approved {
        version,
        rules_hash,
        written: row.files.keys().cloned().collect(),
        removed: row.removed.clone(),
    })
}

/// Writes files into place, each through a temporary file in the same folder renamed over
/// the old one, and removes `removed`.
fn write_files(cfg: &Config, files: &Files, removed: &[String]) -> Result<(), ChangeError> {
    for (name, text) in files {
        let path = disk_path(cfg, name)?;
        let dir = path
            .parent()
            .ok_or_else(|| ChangeError::BadPath(name.clone()))?;
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&path).map_err(io)?;
    }
    for name in removed {
        let path = disk_path(cfg, name)?;
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(())
}

/// Proposes going back to version `to`: a change (itself needing approval) whose files are
/// those of `to` that differ from the latest version. Audited (`rules.rollback`), then
/// submitted. Returns the change's id.
pub fn rollback(
    store: &mut dyn RuleStore,
    cfg: &Config,
    to: i64,
    who: &Who,
    keeper: &Keeper,
) -> Result<i64, ChangeError> {
    let target = version(store, to)?;
    let latest = store
        .latest_rule_version()?
        .ok_or(ChangeError::NothingApproved)?;
    let files: Files = target
        .files
        .iter()
        .filter(|(k, v)| latest.files.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let removed: Vec<String> = latest
        .files
        .keys()
        .filter(|k| !target.files.contains_key(*k))
        .cloned()
        .collect();
    let change = NewRuleChange {
        department: "",
        kind: "rollback",
        files: &files,
        removed: &removed,
        base_hash: &latest.rules_hash,
        rollback_of: Some(to),
    };
    let id = store.save_rule_change(None, &change, who.step())?;
    if files.is_empty() && removed.is_empty() {
        return Err(ChangeError::Empty(id));
    }
    submit(store, cfg, id, who, keeper)?;
    Ok(id)
}

/// Where the rule set stands (see [`Status`]).
pub fn status(store: &dyn RuleStore, cfg: &Config) -> Result<Status, ChangeError> {
    let latest = store.latest_rule_version()?;
    let disk = on_disk(cfg)?;
    let outside = match &latest {
        Some(v) if v.rules_hash != disk.hash => diff(&v.files, &disk.files),
        _ => Vec::new(),
    };
    let mut pending: Vec<RuleChangeRow> = store
        .rule_changes()?
        .into_iter()
        .filter(|c| c.state == "submitted")
        .collect();
    pending.reverse();
    Ok(Status {
        required: cfg.approval.required,
        self_approval: cfg.approval.self_approval,
        latest,
        disk,
        outside,
        pending,
    })
}

/// Approves the files on disk as the next version when they differ from the latest approved
/// one (changed outside the console): checked as `suiji check` checks, recorded with the
/// author `outside` and the approver `who`. `seen` is the disk hash the approver looked at;
/// when the files changed since, nothing is recorded ([`ChangeError::Moved`]).
pub fn approve_outside(
    store: &mut dyn RuleStore,
    cfg: &Config,
    seen: Option<&str>,
    who: &Who,
    keeper: &Keeper,
) -> Result<Approved, ChangeError> {
    let latest = store
        .latest_rule_version()?
        .ok_or(ChangeError::NothingApproved)?;
    let disk = on_disk(cfg)?;
    if disk.hash == latest.rules_hash {
        return Err(ChangeError::NoOutsideChange);
    }
    if seen.is_some_and(|h| h != disk.hash) {
        return Err(ChangeError::Moved);
    }
    check_set(&cfg.path, &disk.files, who.year(), keeper)
        .map_err(|e| ChangeError::Invalid(Box::new(e)))?;
    let changed: Vec<String> = diff(&latest.files, &disk.files)
        .into_iter()
        .map(|d| d.path)
        .collect();
    let new = NewRuleVersion {
        rules_hash: &disk.hash,
        files: &disk.files,
        kind: "outside",
        author: OUTSIDE,
    };
    let version = store
        .record_rule_version(&new, Some(latest.id), who.step())?
        .ok_or(ChangeError::Moved)?;
    mark_latest(&cfg.data_dir, version, &disk.hash);
    Ok(Approved {
        version,
        rules_hash: disk.hash,
        written: changed,
        removed: Vec::new(),
    })
}

/// The first start: with no version recorded yet, the files on disk (which loaded and were
/// checked by the caller) become version 1, adopted by `who` (`rules.adopt`). Returns the
/// version recorded, or `None` when there already is one.
pub fn adopt(
    store: &mut dyn RuleStore,
    cfg: &Config,
    who: &Who,
) -> Result<Option<i64>, ChangeError> {
    if store.latest_rule_version()?.is_some() {
        return Ok(None);
    }
    let disk = on_disk(cfg)?;
    let new = NewRuleVersion {
        rules_hash: &disk.hash,
        files: &disk.files,
        kind: "adopted",
        author: &who.actor,
    };
    Ok(store.record_rule_version(&new, None, who.step())?)
}

/// How `old` and `new` differ, file by file (paths in byte order); unchanged files are left out.
pub fn diff(old: &Files, new: &Files) -> Vec<FileDiff> {
    let paths: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    paths
        .into_iter()
        .filter(|p| old.get(*p) != new.get(*p))
        .map(|p| file_diff(p, old.get(p), new.get(p)))
        .collect()
}

/// One file's diff, with three lines of context around each change.
pub fn file_diff(path: &str, old: Option<&String>, new: Option<&String>) -> FileDiff {
    let (a, b) = (
        old.map(String::as_str).unwrap_or(""),
        new.map(String::as_str).unwrap_or(""),
    );
    let text = similar::TextDiff::from_lines(a, b);
    let mut lines = Vec::new();
    for (i, group) in text.grouped_ops(3).iter().enumerate() {
        if i > 0 {
            lines.push(Line::Gap(0));
        }
        for op in group {
            for change in text.iter_changes(op) {
                let s = change.value().trim_end_matches(['\n', '\r']).to_string();
                lines.push(match change.tag() {
                    similar::ChangeTag::Equal => Line::Same(s),
                    similar::ChangeTag::Delete => Line::Removed(s),
                    similar::ChangeTag::Insert => Line::Added(s),
                });
            }
        }
    }
    FileDiff {
        path: path.to_string(),
        old: old.cloned(),
        new: new.cloned(),
        lines,
    }
}

/// A unified diff as text (`--- a/…`, `+++ b/…`, `-`/`+`/` ` lines), for the command line.
pub fn unified(diffs: &[FileDiff]) -> String {
    let mut out = String::new();
    for d in diffs {
        let from = if d.old.is_some() {
            format!("a/{}", d.path)
        } else {
            "/dev/null".into()
        };
        let to = if d.new.is_some() {
            format!("b/{}", d.path)
        } else {
            "/dev/null".into()
        };
        out.push_str(&format!("--- {from}\n+++ {to}\n"));
        for line in &d.lines {
            match line {
                Line::Same(s) => out.push_str(&format!(" {s}\n")),
                Line::Removed(s) => out.push_str(&format!("-{s}\n")),
                Line::Added(s) => out.push_str(&format!("+{s}\n")),
                Line::Gap(_) => out.push_str("@@\n"),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_paths_are_plain_names_in_the_three_folders() {
        for ok in [
            "config/suiji.toml",
            "config/holidays/2025.toml",
            "rules/zhian.toml",
            "rules/zhian.rhai",
        ] {
            assert!(is_rule_path(ok), "{ok}");
        }
        for bad in [
            "rules/../x.toml",
            "rules/sub/x.toml",
            "rules/.toml",
            "rules/x.txt",
            "config/holidays/x.rhai",
            "/etc/passwd",
            "config/other.toml",
            "rules/",
        ] {
            assert!(!is_rule_path(bad), "{bad}");
        }
    }

    #[test]
    fn a_diff_shows_changed_lines_with_context_and_new_and_removed_files() {
        let old: Files = [
            (
                "rules/a.toml".to_string(),
                "1\n2\n3\n4\n5\n6\n7\n8\n9\n".to_string(),
            ),
            ("rules/gone.toml".to_string(), "x\n".to_string()),
        ]
        .into();
        let new: Files = [
            (
                "rules/a.toml".to_string(),
                "1\n2\n3\n4\nfive\n6\n7\n8\n9\n".to_string(),
            ),
            ("rules/new.toml".to_string(), "y\n".to_string()),
        ]
        .into();
        let d = diff(&old, &new);
        let paths: Vec<&str> = d.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["rules/a.toml", "rules/gone.toml", "rules/new.toml"]);
        assert_eq!(
            d[0].lines,
            [
                Line::Same("2".into()),
                Line::Same("3".into()),
                Line::Same("4".into()),
                Line::Removed("5".into()),
                Line::Added("five".into()),
                Line::Same("6".into()),
                Line::Same("7".into()),
                Line::Same("8".into()),
            ]
        );
        assert_eq!(d[1].new, None);
        assert_eq!(d[2].old, None);
        let text = unified(&d);
        assert!(
            text.contains("--- a/rules/gone.toml\n+++ /dev/null\n-x\n"),
            "{text}"
        );
    }

    #[test]
    fn the_hash_of_files_is_the_hash_of_the_same_files_packed_from_disk() {
        let dir = tempfile::tempdir().expect("tmp");
        let files: Files = [
            ("config/suiji.toml".to_string(), "a = 1\n".to_string()),
            (
                "config/holidays/2025.toml".to_string(),
                "year = 2025\n".to_string(),
            ),
            ("rules/x.toml".to_string(), "b = 2\n".to_string()),
        ]
        .into();
        write_tree(dir.path(), &files).expect("write");
        let p = dir.path();
        let v2 = crate::rules::archive::pack_v2(
            &p.join("config/suiji.toml"),
            &p.join("config/holidays"),
            &p.join("rules"),
        )
        .expect("pack");
        assert_eq!(
            hash_of(&files, Algorithm::V2),
            crate::rules::archive::hash(&v2)
        );
        let v1 = crate::rules::archive::pack(&p.join("config/suiji.toml"), &p.join("rules"))
            .expect("pack");
        assert_eq!(
            hash_of(&files, Algorithm::V1),
            crate::rules::archive::hash(&v1)
        );
    }
}
