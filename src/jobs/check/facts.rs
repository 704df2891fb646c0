//! What `check` derives from the registries alone, read once per registry version and kept:
//! the registries' own problems and the registry itself (read and validated in full, then
//! frozen as a draw freezes it), the first rows the hooks' dry run calls them on, each
//! column's values by category (the classes a matter's class ratios are checked against) and
//! the dry runs of each matter as it is written (the check's empty-scope estimate, the plan's
//! counts and a rule preview's dry-run draws). The console keeps one [`Facts`] per registry
//! version in a [`Keeper`] (keyed by the SHA-256 of every registry file, remembered by the
//! file's look, and the values rows may use), so a keystroke's check only reads the edited
//! rules and checks them against facts already read (an edit of only a matter's ratio, team
//! or texts finds its empty-scope estimate kept: they do not change what is in scope or
//! eligible); the plan and preview of an edit dry-run
//! only the matters the edit changed, and submitting and approving it check it against the
//! same facts. `suiji check` and `suiji plan` read fresh facts each run. Both run the same
//! code on the same facts, so they find the same problems with the same places and the same
//! counts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::diag::Diagnostic;
use crate::jobs::held::{Clock, FileHashes};
use crate::jobs::issue::Frozen;
use crate::registry::column::Column;
use crate::registry::{Inspector, Known, Registry, Target};
use crate::rules::Loaded;
use crate::rules::model::Matter;
use crate::schedule::ScheduledDraw;

/// `registry::check`'s answer: the registry frozen with its warnings, or every problem.
pub(super) type Read = Result<(Frozen, Vec<Diagnostic>), Vec<Diagnostic>>;

/// The non-empty values of one column of the targets, by category.
pub(super) type Classes = BTreeMap<String, BTreeSet<String>>;

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
    /// Whether the dry runs draw from the registry's canonical snapshot file (written once to
    /// the database's snapshot folder, where a draw of the same registry finds it): the
    /// console's kept facts do; fresh facts (`suiji check`, `suiji plan`) write nothing and
    /// draw from the rows in memory. Both give the same draw (`tests/stream_equivalence.rs`).
    to_file: bool,
    /// The registry frozen as that file (`None`: it could not be written).
    file: OnceLock<Option<Frozen>>,
}

impl Facts {
    /// The registries read and validated in full (what `suiji registry check` runs).
    pub(super) fn read(&self, loaded: &Loaded) -> &Read {
        self.read.get_or_init(|| {
            let cfg = &loaded.model.config;
            crate::registry::check(
                &cfg.registries.targets,
                &cfg.registries.inspectors,
                &cfg.root,
                &Known::from_model(&loaded.model),
            )
            .map(|(registry, warnings)| (Frozen::new(registry), warnings))
        })
    }

    /// The registry frozen for a dry run, as a draw freezes it in memory
    /// ([`crate::jobs::issue::freeze_registry`]): the same problems when it cannot be (an
    /// empty target registry among them).
    pub fn frozen(&self, loaded: &Loaded) -> Result<&Frozen, Vec<Diagnostic>> {
        let (frozen, warnings) = self.read(loaded).as_ref().map_err(Clone::clone)?;
        let cfg = &loaded.model.config;
        let first = cfg.registries.targets.first().map(|p| p.as_path());
        if let Some(empty) = crate::registry::require_targets(&frozen.registry, first, &cfg.root) {
            return Err(warnings.iter().cloned().chain([empty]).collect());
        }
        Ok(frozen)
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

    /// The values of column `named` (as a matter's `class_field` names it) by category.
    pub(crate) fn classes(&self, registry: &Registry, named: &str) -> Arc<Classes> {
        let mut kept = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            kept.entry(named.to_string())
                .or_insert_with(|| Arc::new(classes_of(registry, named))),
        )
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
        let rows = self.rows_of(loaded, frozen);
        let run = Arc::new(dry_counts(loaded, (frozen, rows), m, first));
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

    /// The frozen registry the dry runs draw their rows from: its snapshot file when these
    /// facts are kept and the file could be written, else `frozen` itself.
    fn rows_of<'a>(&'a self, loaded: &Loaded, frozen: &'a Frozen) -> &'a Frozen {
        if !self.to_file {
            return frozen;
        }
        self.file
            .get_or_init(|| snapshot_file(loaded, frozen).ok())
            .as_ref()
            .unwrap_or(frozen)
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

/// `frozen` (the registry in memory) frozen as its canonical snapshot file in the database's
/// snapshot folder, named by its SHA-256 as a draw's freezing names it; a file already there
/// of that name and size is the same snapshot.
fn snapshot_file(loaded: &Loaded, frozen: &Frozen) -> std::io::Result<Frozen> {
    let dir = crate::store::snapshot_dir_in(&loaded.model.config.data_dir);
    let sha = &frozen.info.targets_snapshot;
    let bytes = &frozen.targets_bytes;
    let path = dir.join(format!("{sha}.csv"));
    let there =
        std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64);
    if !there {
        std::fs::create_dir_all(&dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".work-")
            .tempfile_in(&dir)?;
        std::io::Write::write_all(&mut tmp, bytes)?;
        tmp.persist(&path).map_err(|e| e.error)?;
    }
    let snapshot = crate::registry::SnapshotFile {
        path,
        sha256: sha.clone(),
        size: bytes.len() as u64,
    };
    Ok(Frozen::of_file(
        frozen.registry.inspectors.clone(),
        frozen.registry.sources.clone(),
        frozen.info.targets_rows,
        crate::jobs::issue::FrozenFile {
            snapshot,
            known: Known::from_model(&loaded.model),
        },
    ))
}

/// Matter `m`'s draw `first` dry-run with a fixed seed and no history, its rows drawn from
/// `rows` (`frozen` or the same registry frozen as a file): the same strata, eligible and
/// drawn targets as the draw would have on this registry.
fn dry_counts(
    loaded: &Loaded,
    (frozen, rows): (&Frozen, &Frozen),
    m: &Matter,
    first: &ScheduledDraw,
) -> DryRun {
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
    let man = crate::jobs::issue::compute_counts(loaded, rows, &history, &req)
        .map_err(|e| e.to_string())?;
    let in_scope = frozen
        .registry
        .targets
        .iter()
        .filter(|t| m.categories.contains(&t.category))
        .count();
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

/// The values of column `named` of every target, by the target's category.
pub(super) fn classes_of(registry: &Registry, named: &str) -> Classes {
    let is_extra = |h: &str| registry.targets.iter().any(|t| t.extra.contains_key(h));
    let column = Column::named(named, is_extra);
    let mut out = Classes::new();
    for t in &registry.targets {
        let v = column.value(t);
        if v.is_empty() {
            continue;
        }
        match out.get_mut(&t.category) {
            Some(values) => {
                values.insert(v);
            }
            None => {
                out.insert(t.category.clone(), BTreeSet::from([v]));
            }
        }
    }
    out
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
            to_file: true,
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
