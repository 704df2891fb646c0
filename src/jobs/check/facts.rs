//! What `check` derives from the registries alone, read once per registry version and kept:
//! the registries' own problems and the registry itself (read and validated in full, then
//! frozen as a draw freezes it), the first rows the hooks' dry run calls them on, each
//! column's values by category (the classes a matter's class ratios are checked against) and
//! the empty-scope estimates of each matter as it is written. The console's live check keeps
//! one [`Facts`] per registry version in a [`Keeper`] (keyed by the SHA-256 of every registry
//! file and the values rows may use), so a keystroke's check only reads the edited rules and
//! checks them against facts already read; `suiji check` reads fresh facts each run. Both run
//! the same code on the same facts, so they find the same problems with the same places.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use crate::diag::Diagnostic;
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

/// Estimates kept at most (each edit of a matter adds one; the oldest go first).
const ESTIMATES_KEPT: usize = 256;

/// What the check knows of one version of the registries; each part is read the first time a
/// check needs it (a check stopped by an error before the registries reads none of them).
#[derive(Default)]
pub struct Facts {
    read: OnceLock<Read>,
    sample: OnceLock<(Vec<Target>, Vec<Inspector>)>,
    classes: Mutex<HashMap<String, Arc<Classes>>>,
    estimates: Mutex<Vec<(String, Estimate)>>,
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
    pub(super) fn classes(&self, registry: &Registry, named: &str) -> Arc<Classes> {
        let mut kept = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            kept.entry(named.to_string())
                .or_insert_with(|| Arc::new(classes_of(registry, named))),
        )
    }

    /// The estimate of matter `m`'s draw `first`, kept by everything the dry run reads of the
    /// rules: the config, the draw and the matter as written (its hooks' scripts included;
    /// where it is written in the file does not count).
    pub(super) fn estimate(
        &self,
        loaded: &Loaded,
        frozen: &Frozen,
        m: &Matter,
        first: &ScheduledDraw,
    ) -> Estimate {
        let mut shape = m.clone();
        shape.places = crate::rules::model::Places::default();
        let mut key = crate::digest::Hasher::default();
        key.update(format!("{:?}\0{first:?}\0{shape:?}", loaded.model.config).as_bytes());
        let key = key.finish();
        let mut kept = self.estimates.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, e)) = kept.iter().find(|(k, _)| *k == key) {
            return *e;
        }
        let e = crate::jobs::plan::estimate_one(loaded, frozen, m, first)
            .ok()
            .map(|e| (e.in_scope, e.eligible));
        if kept.len() >= ESTIMATES_KEPT {
            kept.remove(0);
        }
        kept.push((key, e));
        e
    }
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

/// The facts of the registries a rule set reads, kept for one registry version at a time (a
/// console checks against one registry).
#[derive(Default)]
pub struct Keeper {
    kept: Mutex<Option<(String, Arc<Facts>)>>,
}

/// The facts the console's live check keeps.
pub static LIVE: Keeper = Keeper::new();

impl Keeper {
    pub const fn new() -> Keeper {
        Keeper {
            kept: Mutex::new(None),
        }
    }

    /// The facts of the registries `loaded` reads: those kept when the registry files, their
    /// places and the values rows may use are the same as when they were read (their SHA-256
    /// is compared, so a file replaced by another version is read again), else new ones,
    /// which replace them. A registry file that cannot be read is never kept: reading it says
    /// why.
    pub fn facts(&self, loaded: &Loaded) -> Arc<Facts> {
        let Some(key) = key(loaded) else {
            return Arc::new(Facts::default());
        };
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, facts)) = kept.as_ref().filter(|(k, _)| *k == key) {
            return Arc::clone(facts);
        }
        let facts = Arc::new(Facts::default());
        *kept = Some((key, Arc::clone(&facts)));
        facts
    }
}

/// What a version of the registries is known by: the project root, each registry file (its
/// place and the SHA-256 of its bytes) and the values rows may use.
fn key(loaded: &Loaded) -> Option<String> {
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
            let sha = crate::digest::sha256_file(&path).ok()?;
            key.update(format!("{kind}\0{}\0{sha}\n", path.display()).as_bytes());
        }
    }
    key.update(format!("{:?}", Known::from_model(&loaded.model)).as_bytes());
    Some(key.finish())
}
