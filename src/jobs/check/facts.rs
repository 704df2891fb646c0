//! What `check` derives from the registries alone, read once per registry version and kept:
//! the registries' own problems and the registry itself (checked as `suiji registry check`
//! checks it and frozen as a draw freezes it: a target registry that is one UTF-8 CSV file is
//! read in bounded memory, its canonical snapshot written to a file on the way), the targets
//! of each category and each column's values by category (the classes a matter's class ratios
//! are checked against; one pass over the snapshot file), the first rows the hooks' dry run
//! calls them on, and the dry runs of each matter as it is written (the check's empty-scope
//! estimate, the plan's counts and a rule preview's dry-run draws), each drawn from the
//! snapshot file as a draw draws. No target is held in memory, whatever the registry's size.
//!
//! Fresh facts (`suiji check`, `suiji plan`) write the snapshot into a temporary folder (in
//! `TMPDIR`), removed when the facts are dropped: checking writes nothing into the project. The
//! console keeps one [`Facts`] per registry version in a [`Keeper`] (keyed by the SHA-256 of
//! every registry file, remembered by the file's look, and the values rows may use), and its
//! snapshot is written once to the database's snapshot folder, where a draw of that registry
//! version finds the same file (to a temporary folder when that one cannot be written to). So a keystroke's check only reads the edited
//! rules and checks them against facts already read (an edit of only a matter's ratio, team
//! or texts finds its empty-scope estimate kept: they do not change what is in scope or
//! eligible); the plan and preview of an edit dry-run
//! only the matters the edit changed, and submitting and approving it check it against the
//! same facts. Both run the same
//! code on the same facts, so they find the same problems with the same places and the same
//! counts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::diag::Diagnostic;
use crate::jobs::held::{Clock, FileHashes};
use crate::jobs::issue::Frozen;
use crate::registry::{Inspector, Known, Target};
use crate::rules::Loaded;
use crate::rules::model::Matter;
use crate::schedule::ScheduledDraw;

/// The registries' check: the registries read with their warnings, or every problem.
pub(super) type Read = Result<(Registries, Vec<Diagnostic>), Vec<Diagnostic>>;

/// The registries as the check read them.
pub(super) struct Registries {
    /// Frozen, the targets in their snapshot file (in memory only when there are none), the
    /// target file's columns as `target_columns`.
    pub frozen: Frozen,
    /// Targets of each category.
    by_category: BTreeMap<String, usize>,
    /// The temporary folder of fresh facts' snapshot, removed with them.
    _temporary: Option<tempfile::TempDir>,
}

/// The non-empty values of one column of the targets, by category.
pub(super) type Classes = crate::registry::tally::Values;

/// A matter's first regular draw dry-run: targets in its categories, of them eligible (`None`:
/// the dry run failed).
pub(super) type Estimate = Option<(usize, usize)>;

/// The counts of one dry-run draw of a matter (a fixed seed: only the counts are used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryCounts {
    /// Targets in the matter's categories.
    pub in_scope: usize,
    pub eligible: usize,
    pub drawn: usize,
    /// Each stratum: its name, its eligible and its drawn targets.
    pub strata: Vec<(String, usize, usize)>,
    /// Drawn targets left without a team.
    pub unstaffed: usize,
}

/// A dry run's counts, or why the draw failed (as the draw says it).
pub type DryRun = Result<DryCounts, String>;

/// Dry runs kept at most (each edit of a matter adds one; the oldest go first).
const DRY_RUNS_KEPT: usize = 256;

/// What the check knows of one version of the registries; each part is read the first time a
/// check needs it (a check stopped by an error before the registries reads none of them).
#[derive(Default)]
pub struct Facts {
    read: OnceLock<Read>,
    sample: OnceLock<(Vec<Target>, Vec<Inspector>)>,
    classes: Mutex<HashMap<String, Arc<Classes>>>,
    dry_runs: Mutex<Vec<(String, Arc<DryRun>)>>,
    /// The estimates of the dry runs made, by [`scope_key`]: what a check needs of a matter
    /// whose edit changed only how many are drawn or who inspects them.
    estimates: Mutex<Vec<(String, Estimate)>>,
    /// How many dry runs were made (not found kept).
    ran: AtomicUsize,
    /// Whether the registry's snapshot is written to the database's snapshot folder, where a
    /// draw of the same registry finds it (the console's kept facts); else (`suiji check`,
    /// `suiji plan`) to a temporary folder removed with the facts.
    kept: bool,
}

impl Facts {
    /// The registries read and validated in full (what `suiji registry check` runs), frozen,
    /// and their targets counted by category (with the values of the columns `loaded`'s
    /// class ratios and class frequencies read, kept for [`Facts::classes`]).
    pub(super) fn read(&self, loaded: &Loaded) -> &Read {
        self.read.get_or_init(|| {
            let (registries, warnings) = read_registries(loaded, self.kept)?;
            let asked = super::columns::asked(loaded, &registries.frozen.registry);
            let mut registries = registries;
            if let Some(file) = &registries.frozen.file {
                let tally = crate::registry::tally::tally(&file.snapshot.path, &file.known, &asked)
                    .map_err(|e| vec![unreadable(&file.snapshot.path, &e)])?;
                registries.by_category = tally.by_category;
                let mut kept = self.classes.lock().unwrap_or_else(|e| e.into_inner());
                for (named, values) in asked.into_iter().zip(tally.values) {
                    kept.insert(named, Arc::new(values));
                }
            }
            Ok((registries, warnings))
        })
    }

    /// The registry frozen for a dry run, as a draw freezes it (`jobs::issue::freeze`):
    /// the same problems when it cannot be (an empty target registry among them).
    pub fn frozen(&self, loaded: &Loaded) -> Result<&Frozen, Vec<Diagnostic>> {
        let (registries, warnings) = self.read(loaded).as_ref().map_err(Clone::clone)?;
        if let Some(empty) = no_targets(loaded, &registries.frozen) {
            return Err(warnings.iter().cloned().chain([empty]).collect());
        }
        Ok(&registries.frozen)
    }

    /// The first [`crate::jobs::hooks::SAMPLE_LINES`] lines of each registry file, read.
    pub fn sample(&self, loaded: &Loaded) -> &(Vec<Target>, Vec<Inspector>) {
        self.sample.get_or_init(|| {
            let cfg = &loaded.model.config;
            crate::registry::sample(
                &cfg.registries.targets,
                &cfg.registries.inspectors,
                &cfg.root,
                &Known::from_model(&loaded.model),
                crate::jobs::hooks::SAMPLE_LINES,
            )
        })
    }

    /// The values of column `named` (as a matter's `class_field` names it) by category: those
    /// read with the registries, else read now from the snapshot file (one pass) and kept
    /// (empty, and not kept, when the file cannot be read; the dry runs say why).
    pub(crate) fn classes(&self, loaded: &Loaded, named: &str) -> Arc<Classes> {
        if let Some(found) = self.kept_classes(named) {
            return found;
        }
        let file = match self.read(loaded) {
            Ok((r, _)) => r.frozen.file.as_ref(),
            Err(_) => None,
        };
        let Some(file) = file else {
            return Arc::new(Classes::new());
        };
        let asked = [named.to_string()];
        let tally = crate::registry::tally::tally(&file.snapshot.path, &file.known, &asked);
        let Some(values) = tally.ok().and_then(|t| t.values.into_iter().next()) else {
            return Arc::new(Classes::new());
        };
        let mut kept = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            kept.entry(named.to_string())
                .or_insert_with(|| Arc::new(values)),
        )
    }

    fn kept_classes(&self, named: &str) -> Option<Arc<Classes>> {
        let kept = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(named).map(Arc::clone)
    }

    /// The check's estimate of matter `m`'s draw `first`: targets in scope and eligible.
    pub(super) fn estimate(
        &self,
        loaded: &Loaded,
        frozen: &Frozen,
        m: &Matter,
        first: &ScheduledDraw,
    ) -> Estimate {
        let scope = scope_key(loaded, m, first);
        if let Some(found) = self.kept_estimate(&scope) {
            return found;
        }
        // The dry run keeps its estimate under `scope`.
        estimate_of(&self.dry_run(loaded, frozen, m, first))
    }

    fn kept_estimate(&self, scope: &str) -> Option<Estimate> {
        let kept = self.estimates.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().find(|(k, _)| k == scope).map(|(_, e)| *e)
    }

    /// Matter `m`'s draw `first` dry-run on `frozen` (these facts' registry), kept by
    /// everything the dry run reads of the rules: the config, the draw and the matter as
    /// written (its hooks' scripts included; where it is written in the file does not count).
    pub fn dry_run(
        &self,
        loaded: &Loaded,
        frozen: &Frozen,
        m: &Matter,
        first: &ScheduledDraw,
    ) -> Arc<DryRun> {
        let mut shape = m.clone();
        shape.places = crate::rules::model::Places::default();
        let key = run_key(loaded, &shape, first);
        if let Some(found) = self.kept_run(&key) {
            return found;
        }
        // Run unlocked: the dry runs of other matters go on meanwhile.
        let in_scope = self.in_scope(loaded, m);
        let run = Arc::new(dry_counts(loaded, frozen, in_scope, first));
        self.ran.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.dry_runs.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= DRY_RUNS_KEPT {
            kept.remove(0);
        }
        kept.push((key, Arc::clone(&run)));
        drop(kept);
        let mut estimates = self.estimates.lock().unwrap_or_else(|e| e.into_inner());
        let scope = scope_key(loaded, m, first);
        if !estimates.iter().any(|(k, _)| *k == scope) {
            if estimates.len() >= DRY_RUNS_KEPT {
                estimates.remove(0);
            }
            estimates.push((scope, estimate_of(&run)));
        }
        run
    }

    fn kept_run(&self, key: &str) -> Option<Arc<DryRun>> {
        let kept = self.dry_runs.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .find(|(k, _)| k == key)
            .map(|(_, r)| Arc::clone(r))
    }

    /// Targets in matter `m`'s categories.
    fn in_scope(&self, loaded: &Loaded, m: &Matter) -> usize {
        let Ok((registries, _)) = self.read(loaded) else {
            return 0;
        };
        let categories: BTreeSet<&String> = m.categories.iter().collect();
        categories
            .into_iter()
            .filter_map(|c| registries.by_category.get(c))
            .sum()
    }

    /// How many dry runs these facts made (each one not found kept).
    pub fn dry_runs_made(&self) -> usize {
        self.ran.load(Ordering::Relaxed)
    }
}

/// A dry run's estimate: its targets in scope and eligible (`None` when it failed).
fn estimate_of(run: &DryRun) -> Estimate {
    run.as_ref().ok().map(|c| (c.in_scope, c.eligible))
}

/// What a dry run is kept by: the config, the draw and `shape` (the matter as written, its
/// place in the file left out).
fn run_key(loaded: &Loaded, shape: &Matter, first: &ScheduledDraw) -> String {
    let mut key = crate::digest::Hasher::default();
    key.update(format!("{:?}\0{first:?}\0{shape:?}", loaded.model.config).as_bytes());
    key.finish()
}

/// What decides matter `m`'s targets in scope and eligible on draw `first`: the dry run's key
/// without the settings that only decide how many of the eligible are drawn and who inspects
/// them (the ratio, the team: its size, qualifications, workload cap and 回避 hook) or that
/// no draw reads (the checklist, the publication and the texts). Scope and exclusions are
/// decided before the sample is sized (docs/draw-algorithm.md §1.1), so a check of an edit
/// of only those settings finds its estimate kept from a dry run of any of them.
fn scope_key(loaded: &Loaded, m: &Matter, first: &ScheduledDraw) -> String {
    let mut shape = m.clone();
    shape.places = crate::rules::model::Places::default();
    shape.ratio = crate::rules::model::Ratio::FULL;
    shape.team_size = 0;
    shape.qualifications.clear();
    shape.workload_cap = 0;
    shape.conflict = None;
    shape.checklist.clear();
    shape.publication.channel.clear();
    shape.publication.deadline_working_days = 0;
    shape.name.clear();
    shape.legal_basis.clear();
    shape.scope_text.clear();
    shape.note = None;
    let mut first = first.clone();
    first.ratio = crate::rules::model::Ratio::FULL;
    run_key(loaded, &shape, &first)
}

/// The registries checked and frozen for the facts: the target snapshot written to the
/// database's snapshot folder (`kept`) or to a temporary folder of their own. A target registry
/// that is not one UTF-8 CSV file (a workbook, GBK, several files) is loaded whole to be
/// checked, as `registry check` and a draw load it, then its snapshot written the same way and
/// the rows let go.
fn read_registries(
    loaded: &Loaded,
    kept: bool,
) -> Result<(Registries, Vec<Diagnostic>), Vec<Diagnostic>> {
    let cfg = &loaded.model.config;
    let snapshots = crate::store::snapshot_dir_in(&cfg.data_dir);
    // Kept facts whose snapshot folder cannot be written to (a read-only copy of the data)
    // use a temporary folder as fresh facts do.
    let writable =
        || std::fs::create_dir_all(&snapshots).is_ok() && tempfile::tempfile_in(&snapshots).is_ok();
    let temporary = if kept && writable() {
        None
    } else {
        let made = tempfile::Builder::new().prefix("suiji-check-").tempdir();
        Some(made.map_err(|e| vec![no_temporary(&e)])?)
    };
    let dir = match &temporary {
        Some(t) => t.path().to_path_buf(),
        None => snapshots,
    };
    let read = |frozen: Frozen, warnings| {
        let registries = Registries {
            frozen,
            by_category: BTreeMap::new(),
            _temporary: temporary,
        };
        Ok((registries, warnings))
    };
    let what = "checking the target registry";
    if let Some(streamed) = crate::jobs::issue::freeze_streamed(loaded, &dir, what) {
        let (frozen, warnings) = streamed?;
        return read(frozen, warnings);
    }
    let (registry, warnings) = crate::registry::check(
        &cfg.registries.targets,
        &cfg.registries.inspectors,
        &cfg.root,
        &Known::from_model(&loaded.model),
    )?;
    let frozen = Frozen::new(registry);
    if frozen.registry.targets.is_empty() {
        return read(frozen, warnings);
    }
    let on_file = snapshot_file(loaded, &dir, frozen).map_err(|e| {
        vec![
            Diagnostic::error(format!(
                "cannot write the registry snapshot in {}: {e}",
                dir.display()
            ))
            .help(
                "check that the folder is writable and has room for a copy of the target registry",
            ),
        ]
    })?;
    read(on_file, warnings)
}

/// The error of a temporary folder that cannot be made.
fn no_temporary(e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(format!(
        "cannot make a temporary folder for a copy of the target registry: {e}"
    ))
    .help("check that the temporary folder (TMPDIR) is writable and has room for a copy of the target registry")
}

/// The error of a snapshot file that cannot be read again.
fn unreadable(path: &std::path::Path, e: &crate::registry::source::SourceError) -> Diagnostic {
    if let crate::registry::source::SourceError::Registry(d) = e
        && let [one] = d.as_slice()
    {
        return one.clone();
    }
    Diagnostic::error(format!(
        "cannot read the registry snapshot {}: {e}",
        path.display()
    ))
    .help("check that nothing removes or changes files in that folder while suiji reads it")
}

/// The error of a registry that read cleanly without a target.
fn no_targets(loaded: &Loaded, frozen: &Frozen) -> Option<Diagnostic> {
    let cfg = &loaded.model.config;
    let first = cfg.registries.targets.first().map(|p| p.as_path());
    (frozen.info.targets_rows == 0).then(|| crate::registry::no_targets(first, &cfg.root))
}

/// `frozen` (the registry in memory) frozen as its canonical snapshot file in `dir`, named by
/// its SHA-256 as a draw's freezing names it (a file already there of that name and size is
/// the same snapshot), the targets let go.
fn snapshot_file(
    loaded: &Loaded,
    dir: &std::path::Path,
    frozen: Frozen,
) -> std::io::Result<Frozen> {
    let sha = &frozen.info.targets_snapshot;
    let bytes = &frozen.targets_bytes;
    let path = dir.join(format!("{sha}.csv"));
    let there =
        std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64);
    if !there {
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new().prefix(".work-").tempfile_in(dir)?;
        std::io::Write::write_all(&mut tmp, bytes)?;
        tmp.persist(&path).map_err(|e| e.error)?;
    }
    let snapshot = crate::registry::SnapshotFile {
        path,
        sha256: sha.clone(),
        size: bytes.len() as u64,
    };
    let registry = frozen.registry;
    let mut on_file = Frozen::of_file(
        registry.inspectors,
        registry.sources,
        frozen.info.targets_rows,
        crate::jobs::issue::FrozenFile {
            snapshot,
            known: Known::from_model(&loaded.model),
        },
    );
    on_file.registry.target_columns = registry.target_columns;
    Ok(on_file)
}

/// Draw `first` dry-run with a fixed seed and no history over `frozen` (the registry frozen as
/// its snapshot file; `in_scope` targets in the matter's categories): the
/// same strata, eligible and drawn targets as the draw would have on this registry.
fn dry_counts(loaded: &Loaded, frozen: &Frozen, in_scope: usize, first: &ScheduledDraw) -> DryRun {
    let req = crate::jobs::issue::Request {
        algorithm: loaded.model.config.algorithm,
        draw: first.clone(),
        seed: crate::draw::Seed([0; 32]),
        seed_source: "dry run".into(),
        actor: "dry run".into(),
        created_at: String::new(),
        redraw: None,
        replaces: None,
        dry_run: true,
        provisional: false,
        exclusions_in_file: crate::jobs::issue::exclusions_in_file(loaded.model.config.algorithm),
    };
    let history = crate::draw::pipeline::History::default();
    let man = crate::jobs::issue::compute_counts(loaded, frozen, &history, &req)
        .map_err(|e| e.to_string())?;
    let mut drawn: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &man.selected {
        *drawn.entry(s.stratum.as_str()).or_default() += 1;
    }
    Ok(DryCounts {
        in_scope,
        eligible: man.strata.iter().map(|s| s.eligible).sum(),
        drawn: man.selected.len(),
        strata: man
            .strata
            .iter()
            .map(|s| {
                let d = drawn.get(s.stratum.as_str()).copied().unwrap_or(0);
                (s.stratum.clone(), s.eligible, d)
            })
            .collect(),
        unstaffed: man.selected.iter().filter(|s| s.team.is_empty()).count(),
    })
}

/// The facts of the registries a rule set reads, kept for the last two registry versions (a
/// console checks against one registry; a preview of an edit that changes the values rows may
/// use compares facts of two).
pub struct Keeper {
    kept: Mutex<Vec<(String, Arc<Facts>)>>,
    /// Each registry file's SHA-256, taken again only when the file's look changed.
    files: FileHashes,
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeper")
            .field("hashed", &self.hashed())
            .finish_non_exhaustive()
    }
}

/// Registry versions whose facts are kept at once.
const VERSIONS_KEPT: usize = 2;

impl Keeper {
    /// Nothing kept yet; `clock` tells the time of day the files' times are compared with.
    pub fn new(clock: Clock) -> Keeper {
        Keeper {
            kept: Mutex::new(Vec::new()),
            files: FileHashes::new(clock),
        }
    }

    /// How many times a registry file's bytes were hashed (when its look alone could not say
    /// it is unchanged).
    pub fn hashed(&self) -> usize {
        self.files.hashed()
    }

    /// The SHA-256 of the file at `path`, taken again only when its look changed (`None`: it
    /// cannot be read).
    pub fn sha_of(&self, path: &std::path::Path) -> Option<String> {
        self.files.sha_of(path)
    }

    /// The facts of the registries `loaded` reads: those kept when the registry files, their
    /// places and the values rows may use are the same as when they were read, else new ones,
    /// which replace the oldest kept. A file is known by its SHA-256, taken again whenever its
    /// look (size, inode, modification and change times) differs from when it was last taken
    /// or it had not settled then ([`crate::jobs::held::SETTLE`]), so a file replaced by
    /// another version is read again on the next use. A registry file that cannot be read is
    /// never kept: reading it says why.
    pub fn facts(&self, loaded: &Loaded) -> Arc<Facts> {
        let Some(key) = self.key(loaded) else {
            return Arc::new(Facts::default());
        };
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = kept.iter().position(|(k, _)| *k == key) {
            let found = kept.remove(at);
            let facts = Arc::clone(&found.1);
            kept.push(found);
            return facts;
        }
        let facts = Arc::new(Facts {
            kept: true,
            ..Facts::default()
        });
        if kept.len() >= VERSIONS_KEPT {
            kept.remove(0);
        }
        kept.push((key, Arc::clone(&facts)));
        facts
    }

    /// What a version of the registries is known by: the project root, each registry file
    /// (its place and the SHA-256 of its bytes) and the values rows may use.
    fn key(&self, loaded: &Loaded) -> Option<String> {
        let cfg = &loaded.model.config;
        let mut key = crate::digest::Hasher::default();
        key.update(format!("{}\n", cfg.root.display()).as_bytes());
        let files = [
            ("targets", &cfg.registries.targets),
            ("inspectors", &cfg.registries.inspectors),
        ];
        for (kind, paths) in files {
            for file in paths {
                let path = cfg.root.join(file);
                let sha = self.files.sha_of(&path)?;
                key.update(format!("{kind}\0{}\0{sha}\n", path.display()).as_bytes());
            }
        }
        key.update(format!("{:?}", Known::from_model(&loaded.model)).as_bytes());
        Some(key.finish())
    }
}
