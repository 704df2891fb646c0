//! Target and inspector registries (名录库): reading, validation, snapshots.
//!
//! Registries are read from CSV (UTF-8, UTF-8 with BOM, or GBK as Excel on Chinese Windows saves
//! it) or from the first sheet of a workbook (XLSX). Headers may be Chinese or English; see
//! `docs/registries.md` for the schema. Every problem in every file is reported in one run as a
//! [`Diagnostic`] with file, line and column; a registry with any error is never returned.

pub mod avoid;
pub(crate) mod canonical;
pub mod column;
pub mod generate;
pub(crate) mod read;
mod sample;
pub(crate) mod source;
pub mod stream;
pub(crate) mod table;
pub mod tally;
pub mod types;
pub(crate) mod values;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;

use crate::diag::Diagnostic;
use crate::digest::sha256_hex;

pub use canonical::{
    canonical_inspectors_csv, canonical_targets_csv, each_canonical_target,
    parse_canonical_inspectors, parse_canonical_targets, read_canonical_targets,
};
pub use sample::sample;
pub use stream::SnapshotFile;
pub use types::{Inspector, Registry, Target, TargetStatus};

use read::Rows;
pub(crate) use read::Sink;

/// Values a registry may use. An empty set means "don't check".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// Target category ids, e.g. "hotel".
    pub categories: BTreeSet<String>,
    /// Inspector qualification ids, e.g. "explosives".
    pub qualifications: BTreeSet<String>,
    /// Department ids, e.g. "zhian".
    pub departments: BTreeSet<String>,
}

/// Reads and validates both registries. On success the registry has targets and inspectors
/// sorted by id (the canonical order) and, in `sources`, each file's display path (relative to
/// `root` where possible) with the SHA-256 of its bytes. On failure, every diagnostic found
/// (errors and warnings, in file order).
pub fn load(
    targets: &[PathBuf],
    inspectors: &[PathBuf],
    root: &Path,
    known: &Known,
) -> Result<Registry, Vec<Diagnostic>> {
    check(targets, inspectors, root, known).map(|(registry, _warnings)| registry)
}

/// What `suiji registry check` runs: [`load`], keeping the warnings of a registry that loads.
/// `Ok((registry, warnings))` when there is no error; `Err(diagnostics)` otherwise.
pub fn check(
    targets: &[PathBuf],
    inspectors: &[PathBuf],
    root: &Path,
    known: &Known,
) -> Result<(Registry, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut sink = Sink::default();
    let mut displays = Vec::new();
    let mut sources = Vec::new();

    let mut all_targets: Rows<Target> = Rows::default();
    for path in targets {
        let file = displays.len();
        let display = display_path(root, path);
        if let Some(bytes) = read_bytes(path, &display, file, &mut sink) {
            sources.push((display.clone(), sha256_hex(&bytes)));
            read::targets(
                &bytes,
                path,
                &display,
                file,
                known,
                &mut sink,
                &mut all_targets,
            );
        }
        displays.push(display);
    }
    let mut all_inspectors: Rows<Inspector> = Rows::default();
    for path in inspectors {
        let file = displays.len();
        let display = display_path(root, path);
        if let Some(bytes) = read_bytes(path, &display, file, &mut sink) {
            sources.push((display.clone(), sha256_hex(&bytes)));
            read::inspectors(
                &bytes,
                path,
                &display,
                file,
                known,
                &mut sink,
                &mut all_inspectors,
            );
        }
        displays.push(display);
    }

    target_duplicates(&all_targets, &displays, &mut sink);
    inspector_duplicates(&all_inspectors, &displays, &mut sink);
    unmatched_conflicts(&all_targets, &all_inspectors, &displays, &mut sink);

    if sink.has_errors() {
        return Err(sink.into_sorted());
    }
    let target_columns = std::mem::take(&mut all_targets.columns);
    let mut targets = all_targets.items;
    let mut inspectors = all_inspectors.items;
    drop((all_targets.origins, all_inspectors.origins));
    // Ids are unique by now, so an unstable sort gives the one canonical order.
    targets.par_sort_unstable_by(|a, b| a.id.cmp(&b.id));
    inspectors.par_sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let registry = Registry {
        targets,
        inspectors,
        sources,
        target_columns,
    };
    Ok((registry, sink.into_sorted()))
}

/// A registry that reads without errors, with its warnings; or every problem found.
pub type Checked<T> = Result<(T, Vec<Diagnostic>), Vec<Diagnostic>>;

/// A registry checked as [`check`] checks it, its target file read in bounded memory.
#[derive(Debug)]
pub struct Streamed {
    /// Inspectors sorted by id.
    pub inspectors: Vec<Inspector>,
    /// (file name, sha256 hex) for each file read, targets first.
    pub sources: Vec<(String, String)>,
    pub targets_rows: usize,
    /// The target file's columns, as its header names them (a loaded registry's
    /// [`Registry::target_columns`]).
    pub target_columns: Vec<String>,
    /// The targets' canonical snapshot (the canonical CSV of every target in id order): its
    /// hash and size, and its file when one was asked for (else the path is empty).
    pub snapshot: SnapshotFile,
}

/// Where a streamed check writes: the snapshot file (none: only its hash), a folder for its
/// work files, and whom to tell the rows read so far.
pub struct StreamTo<'a> {
    pub snapshot: Option<&'a Path>,
    pub work: &'a Path,
    pub on_rows: &'a (dyn Fn(u64) + Sync),
}

/// [`check`] for a registry whose targets are one UTF-8 CSV file: the same problems, found with
/// the target file read in parallel in bounded memory (see [`stream`]), and its canonical
/// snapshot written to a file on the way. `None` when the registry is not such a file with rows
/// (several files, a workbook, GBK, a header the reader refuses, no rows): check it with
/// [`check`], which also says what is wrong.
pub fn check_streamed(
    targets: &[PathBuf],
    inspectors: &[PathBuf],
    root: &Path,
    known: &Known,
    to: &StreamTo<'_>,
) -> Option<Checked<Streamed>> {
    let path = one_csv(targets)?;
    let display = display_path(root, path);
    let file = source::RegistryFile::open_as(path, display.clone(), known, 512 << 10).ok()?;
    let BesideTargets {
        inspectors: all_inspectors,
        displays,
        mut sources,
        mut sink,
    } = beside_targets(inspectors, root, known, &display);
    let entries = conflict_entries(&all_inspectors);
    let threads = rayon::current_num_threads().max(1);
    let (checked, sha) = std::thread::scope(|s| {
        let sha = s.spawn(|| crate::digest::sha256_file(path));
        let budget = stream::Budget {
            threads,
            spill_bytes: stream::SPILL_BYTES,
            block_bytes: stream::BLOCK_BYTES,
        };
        let checked =
            stream::check_file(&file, &entries, (to.work, to.snapshot), budget, to.on_rows);
        (checked, sha.join())
    });
    let mut checked = match checked {
        Ok(c) if c.rows == 0 => return None,
        Ok(c) => c,
        Err(source::SourceError::Registry(d)) => return Some(Err(d)),
        Err(e) => return Some(Err(vec![Diagnostic::error(e.to_string())])),
    };
    match sha {
        Ok(Ok(sha)) => sources.insert(0, (display, sha)),
        _ => {
            let d = Diagnostic::error(format!("cannot read `{display}` while checking it"))
                .help("check that the file is readable and not being replaced");
            return Some(Err(vec![d]));
        }
    }
    let found = &checked.conflicts_found;
    report_unmatched(
        &all_inspectors,
        &displays,
        &|c| found.contains(c),
        &mut sink,
    );
    let mut diags = checked.diagnostics;
    diags.extend(sink.into_sorted());
    let snapshot = match checked.snapshot.take() {
        Some(s) if !diags.iter().any(Diagnostic::is_error) => s,
        other => {
            if let Some(s) = other.filter(|s| !s.path.as_os_str().is_empty()) {
                let _ = std::fs::remove_file(&s.path);
            }
            return Some(Err(diags));
        }
    };
    let mut inspectors = all_inspectors.items;
    inspectors.par_sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let mut target_columns = Vec::new();
    read::remember_columns(&mut target_columns, &file.header.names);
    let streamed = Streamed {
        inspectors,
        sources,
        targets_rows: usize::try_from(checked.rows).unwrap_or(usize::MAX),
        target_columns,
        snapshot,
    };
    Some(Ok((streamed, diags)))
}

/// A check of a target file that found nothing to say — no error, no warning, in either
/// registry — kept beside the snapshot it froze to (`jobs::issue::kept`), so that the same bytes
/// checked the same way are not checked a second time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanCheck {
    /// SHA-256 of the target file's bytes as they were checked.
    pub source_sha256: String,
    /// Its rows.
    pub rows: u64,
    /// Everything else the check's outcome depends on ([`check_key`]).
    pub check_key: String,
}

impl CleanCheck {
    /// What a check that found nothing to say (`diagnostics` empty) establishes about the
    /// target file of `sources` (targets first, as every check lists them), of `rows` rows;
    /// `None` when it said anything or read no target file.
    pub fn of(
        sources: &[(String, String)],
        rows: u64,
        known: &Known,
        diagnostics: &[Diagnostic],
    ) -> Option<CleanCheck> {
        let ((shown, sha256), inspectors) = sources.split_first()?;
        if !diagnostics.is_empty() {
            return None;
        }
        Some(CleanCheck {
            source_sha256: sha256.clone(),
            rows,
            check_key: check_key(shown, inspectors, known)?,
        })
    }
}

/// The SHA-256 (hex) of what a check of a target file depends on besides its bytes: this build
/// of suiji (its version and the SHA-256 of its executable, so that a build that checks
/// differently never takes another's word), the file's name as diagnostics show it, the
/// inspector files (each name and SHA-256: their conflict declarations are matched against the
/// targets), and the known categories, qualifications and departments. `None` when the build
/// is not known (its executable cannot be read): then no check is kept or taken.
pub fn check_key(
    target_shown: &str,
    inspectors: &[(String, String)],
    known: &Known,
) -> Option<String> {
    use std::fmt::Write as _;
    let build = this_build()?;
    let mut text = String::from("suiji-registry-check/1\n");
    let _ = writeln!(text, "{} {build}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(text, "{target_shown}");
    for (shown, sha256) in inspectors {
        let _ = writeln!(text, "{shown}\t{sha256}");
    }
    for set in [&known.categories, &known.qualifications, &known.departments] {
        let items: Vec<&str> = set.iter().map(String::as_str).collect();
        let _ = writeln!(text, "{}", items.join("\t"));
    }
    Some(sha256_hex(text.as_bytes()))
}

/// The SHA-256 of this process's executable, read once (`None` when it cannot be read).
fn this_build() -> Option<&'static str> {
    static BUILD: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BUILD
        .get_or_init(|| {
            let exe = std::env::current_exe().ok()?;
            crate::digest::sha256_file(&exe).ok()
        })
        .as_deref()
}

/// The registry as [`check_streamed`] would find it again when its target file is the one
/// `clean` was found of: the inspector files read and checked, and the file's header read,
/// while the file's bytes are hashed on a thread of their own. `Some` when the inspectors read
/// without a word and the [`check_key`] is `clean`'s — the file checked the same way, which
/// said nothing — with `snapshot`, the snapshot that check froze the file to (its sources name
/// the file by the SHA-256 noted), and the hashing, whose [`SourceHashing::is_the_checked`]
/// says whether the bytes are the checked ones too: what is made of the registry before it
/// says so is made of it only on trust. `None` for anything else, which [`check_streamed`]
/// checks in full.
pub fn check_again(
    targets: &[PathBuf],
    inspectors: &[PathBuf],
    root: &Path,
    known: &Known,
    (clean, snapshot): (&CleanCheck, SnapshotFile),
) -> Option<(Streamed, SourceHashing)> {
    let path = one_csv(targets)?;
    let display = display_path(root, path);
    let hashing = SourceHashing::start(path, &clean.source_sha256);
    let read = (|| {
        let file = source::RegistryFile::open_as(path, display.clone(), known, 64 << 10).ok()?;
        if !file.header_notes.is_empty() {
            return None;
        }
        let read = beside_targets(inspectors, root, known, &display);
        let mut target_columns = Vec::new();
        read::remember_columns(&mut target_columns, &file.header.names);
        read.sink
            .items
            .is_empty()
            .then_some((read.inspectors.items, read.sources, target_columns))
    })();
    let (mut inspectors, mut sources, target_columns) = read?;
    if check_key(&display, &sources, known).as_deref() != Some(clean.check_key.as_str()) {
        return None;
    }
    sources.insert(0, (display, clean.source_sha256.clone()));
    inspectors.par_sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let streamed = Streamed {
        inspectors,
        sources,
        targets_rows: usize::try_from(clean.rows).unwrap_or(usize::MAX),
        target_columns,
        snapshot,
    };
    Some((streamed, hashing))
}

/// A target file's bytes being hashed on a thread of its own, to be compared with the SHA-256
/// a check noted of them. Dropped unasked, it stops the hashing.
#[derive(Debug)]
pub struct SourceHashing {
    expected: String,
    /// `None` when the thread could not start (the bytes are hashed when asked, then).
    thread: Option<std::thread::JoinHandle<Option<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    path: PathBuf,
}

impl SourceHashing {
    fn start(path: &Path, expected: &str) -> SourceHashing {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (owned, stopped) = (path.to_path_buf(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("suiji-source-hash".into())
            .spawn(move || {
                let go_on = || !stopped.load(std::sync::atomic::Ordering::Relaxed);
                crate::digest::sha256_file_while(&owned, &go_on)
                    .ok()
                    .flatten()
            })
            .ok();
        SourceHashing {
            expected: expected.to_string(),
            thread,
            stop,
            path: path.to_path_buf(),
        }
    }

    /// Waits for the hash: whether the file's bytes are the ones the check was made of (`false`
    /// too when they could not be read).
    pub fn is_the_checked(mut self) -> bool {
        let hashed = match self.thread.take() {
            Some(thread) => thread.join().ok().flatten(),
            None => crate::digest::sha256_file(&self.path).ok(),
        };
        hashed.as_deref() == Some(self.expected.as_str())
    }
}

impl Drop for SourceHashing {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The target file, when there is one and it is a CSV file.
fn one_csv(targets: &[PathBuf]) -> Option<&PathBuf> {
    let [path] = targets else {
        return None;
    };
    let csv = path.extension().and_then(|e| e.to_str());
    csv.is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        .then_some(path)
}

/// The inspector files read and checked for a check of the target file shown as
/// `target_shown` (file 0 of the diagnostics; the inspector files follow it).
struct BesideTargets {
    inspectors: Rows<Inspector>,
    displays: Vec<String>,
    sources: Vec<(String, String)>,
    sink: Sink,
}

fn beside_targets(
    inspectors: &[PathBuf],
    root: &Path,
    known: &Known,
    target_shown: &str,
) -> BesideTargets {
    let mut sink = Sink::default();
    let mut displays = vec![target_shown.to_string()];
    let mut sources = Vec::new();
    let inspectors = inspector_files(
        inspectors,
        root,
        known,
        (&mut displays, &mut sources),
        &mut sink,
    );
    BesideTargets {
        inspectors,
        displays,
        sources,
        sink,
    }
}

/// Reads the inspector files as [`check`] does (after the target files named in `displays`),
/// with their duplicates.
fn inspector_files(
    inspectors: &[PathBuf],
    root: &Path,
    known: &Known,
    (displays, sources): (&mut Vec<String>, &mut Vec<(String, String)>),
    sink: &mut Sink,
) -> Rows<Inspector> {
    let mut all: Rows<Inspector> = Rows::default();
    for p in inspectors {
        let i = displays.len();
        let shown = display_path(root, p);
        if let Some(bytes) = read_bytes(p, &shown, i, sink) {
            sources.push((shown.clone(), sha256_hex(&bytes)));
            read::inspectors(&bytes, p, &shown, i, known, sink, &mut all);
        }
        displays.push(shown);
    }
    inspector_duplicates(&all, displays, sink);
    all
}

/// An error when a registry that read cleanly has no targets at all: every draw from it would
/// draw nobody. `first` names the first target file.
pub fn require_targets(
    registry: &Registry,
    first: Option<&Path>,
    root: &Path,
) -> Option<Diagnostic> {
    registry.targets.is_empty().then(|| no_targets(first, root))
}

/// The error of a target registry that read cleanly without a row ([`require_targets`]).
pub fn no_targets(first: Option<&Path>, root: &Path) -> Diagnostic {
    let shown = first.map(|p| display_path(root, p)).unwrap_or_default();
    Diagnostic::error("the target registry has no rows: there is nothing to draw from")
        .at_line(shown, 1, None)
        .help("fill in the target registry (检查对象名录库); a draw from an empty registry would be recorded as drawing nobody")
}

/// Reads one target file. Problems (including duplicate ids within the file) are appended to
/// `diags` in line order. Rows are returned in file order, including rows with errors (their bad
/// fields left empty or at the default), so callers must not use the result if any error was added.
pub fn read_targets(
    path: &Path,
    display: &str,
    known: &Known,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Target> {
    read_one(
        path,
        display,
        known,
        diags,
        read::targets,
        target_duplicates,
    )
}

/// Reads one inspector file; see [`read_targets`]. Duplicate ids and certificate numbers within
/// the file are reported.
pub fn read_inspectors(
    path: &Path,
    display: &str,
    known: &Known,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Inspector> {
    read_one(
        path,
        display,
        known,
        diags,
        read::inspectors,
        inspector_duplicates,
    )
}

/// A reader of one registry file's rows (`read::targets` or `read::inspectors`).
type ReadRows<T> = fn(&[u8], &Path, &str, usize, &Known, &mut Sink, &mut Rows<T>);

/// Reads one registry file of either kind, then checks its ids for duplicates.
fn read_one<T>(
    path: &Path,
    display: &str,
    known: &Known,
    diags: &mut Vec<Diagnostic>,
    read_rows: ReadRows<T>,
    duplicates: fn(&Rows<T>, &[String], &mut Sink),
) -> Vec<T> {
    let mut sink = Sink::default();
    let mut rows = Rows::default();
    if let Some(bytes) = read_bytes(path, display, 0, &mut sink) {
        read_rows(&bytes, path, display, 0, known, &mut sink, &mut rows);
    }
    duplicates(&rows, &[display.to_string()], &mut sink);
    diags.extend(sink.into_sorted());
    rows.items
}

fn target_duplicates(rows: &Rows<Target>, displays: &[String], sink: &mut Sink) {
    let what = "target id";
    read::duplicates(rows, |t| &t.id, |o| o.id_col, what, displays, sink);
}

fn inspector_duplicates(rows: &Rows<Inspector>, displays: &[String], sink: &mut Sink) {
    let what = "inspector id";
    read::duplicates(rows, |i| &i.id, |o| o.id_col, what, displays, sink);
    let what = "certificate number";
    read::duplicates(
        rows,
        |i| &i.certificate,
        |o| o.cert_col,
        what,
        displays,
        sink,
    );
}

/// A declared conflict (回避 entry) that names no target has no effect: probably a typo. An
/// entry names a target as `suiji-draw/2` matches it (`avoid::names_target`): its id or exact
/// name, or a `*` pattern matching a whole id or name. Each such entry is a warning at the
/// inspector's 回避 cell.
fn unmatched_conflicts(
    targets: &Rows<Target>,
    inspectors: &Rows<Inspector>,
    displays: &[String],
    sink: &mut Sink,
) {
    // An empty target registry is an error of its own (`require_targets`).
    if targets.items.is_empty() || inspectors.items.iter().all(|i| i.conflicts.is_empty()) {
        return;
    }
    let entries = inspectors
        .items
        .iter()
        .flat_map(|i| i.conflicts.iter().map(|c| c.trim()))
        .filter(|c| !c.is_empty());
    let mut found = ConflictMatches::new(entries);
    for t in &targets.items {
        if found.all_found() {
            break;
        }
        found.visit(&t.id, &t.name);
    }
    report_unmatched(inspectors, displays, &|e| found.names_a_target(e), sink);
}

/// Every distinct 回避 entry an inspector declares (trimmed; empty entries left out).
fn conflict_entries(inspectors: &Rows<Inspector>) -> HashSet<String> {
    inspectors
        .items
        .iter()
        .flat_map(|i| i.conflicts.iter().map(|c| c.trim()))
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// Warns, at the inspector's 回避 cell, of each entry that `found` says names no target.
fn report_unmatched(
    inspectors: &Rows<Inspector>,
    displays: &[String],
    found: &dyn Fn(&str) -> bool,
    sink: &mut Sink,
) {
    for (i, o) in inspectors.items.iter().zip(&inspectors.origins) {
        for c in &i.conflicts {
            let entry = c.trim();
            if entry.is_empty() || found(entry) {
                continue;
            }
            let display = displays.get(o.file()).map_or("", String::as_str);
            let col = o.conflicts_col as usize;
            let d =
                unmatched_conflict(&i.id, entry).at_line(display, o.line, (col > 0).then_some(col));
            sink.push(o.file(), o.line, col, d);
        }
    }
}

/// The warning for a 回避 entry of inspector `inspector` that names no target.
fn unmatched_conflict(inspector: &str, entry: &str) -> Diagnostic {
    if entry.contains('*') {
        Diagnostic::warning(format!(
            "inspector `{inspector}` declares a conflict (回避) with the pattern `{entry}`, which matches no target's id or name"
        ))
        .help("a `*` stands for any run of characters and the pattern must match a whole id or name (`*平安*`: every name containing 平安); correct the pattern, or delete it")
    } else {
        Diagnostic::warning(format!(
            "inspector `{inspector}` declares a conflict (回避) with `{entry}`, which is no target's id or exact name"
        ))
        .help(format!(
            "write the target's id or its exact name as in the target registry; for a deliberate partial match write a pattern, e.g. `*{entry}*`"
        ))
    }
}

/// Which distinct 回避 entries name a target: exact entries looked up, patterns tried on each
/// target until they match (patterns are few; each is tried until its first match).
struct ConflictMatches<'a> {
    exact: HashMap<&'a str, bool>,
    patterns: Vec<(&'a str, bool)>,
    unmatched: usize,
}

impl<'a> ConflictMatches<'a> {
    fn new(entries: impl Iterator<Item = &'a str>) -> ConflictMatches<'a> {
        let mut exact = HashMap::new();
        let mut patterns: Vec<(&str, bool)> = Vec::new();
        for e in entries {
            if e.contains('*') {
                if !patterns.iter().any(|(p, _)| *p == e) {
                    patterns.push((e, false));
                }
            } else {
                exact.insert(e, false);
            }
        }
        let unmatched = patterns.len() + exact.len();
        ConflictMatches {
            exact,
            patterns,
            unmatched,
        }
    }

    fn all_found(&self) -> bool {
        self.unmatched == 0
    }

    fn visit(&mut self, id: &str, name: &str) {
        for key in [id, name] {
            if let Some(f) = self.exact.get_mut(key)
                && !*f
            {
                *f = true;
                self.unmatched -= 1;
            }
        }
        for (p, f) in &mut self.patterns {
            if !*f && avoid::names_target(p, id, name) {
                *f = true;
                self.unmatched -= 1;
            }
        }
    }

    fn names_a_target(&self, entry: &str) -> bool {
        if entry.contains('*') {
            self.patterns.iter().any(|(p, f)| *p == entry && *f)
        } else {
            self.exact.get(entry) == Some(&true)
        }
    }
}

fn read_bytes(path: &Path, display: &str, file: usize, sink: &mut Sink) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            let d = Diagnostic::error(format!("cannot read `{display}`: {e}"))
                .help("check the path in `[registries]` of config/suiji.toml and that the file is readable");
            sink.push(file, 0, 0, d);
            None
        }
    }
}

/// `path` relative to `root` when inside it, with `/` separators.
fn display_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let s = parts.join("/");
    // An absolute path's root component is "/" itself; don't double it.
    s.strip_prefix("//")
        .map_or(s.clone(), |rest| format!("/{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_key_changes_with_whatever_the_check_depends_on_besides_the_bytes() {
        let known = Known {
            categories: ["hotel".to_string()].into(),
            ..Known::default()
        };
        let inspectors = vec![("inspectors.csv".to_string(), "ab".repeat(32))];
        let key = check_key("targets.csv", &inspectors, &known);
        assert_eq!(key, check_key("targets.csv", &inspectors, &known));
        assert_eq!(
            key.as_ref().map(String::len),
            Some(64),
            "the test binary is readable"
        );
        let other_bytes = vec![("inspectors.csv".to_string(), "cd".repeat(32))];
        let more_known = Known {
            categories: ["hotel".to_string(), "internet_cafe".to_string()].into(),
            ..Known::default()
        };
        let departments = Known {
            departments: ["zhian".to_string()].into(),
            ..known.clone()
        };
        for other in [
            check_key("other.csv", &inspectors, &known),
            check_key("targets.csv", &other_bytes, &known),
            check_key("targets.csv", &[], &known),
            check_key("targets.csv", &inspectors, &more_known),
            check_key("targets.csv", &inspectors, &departments),
        ] {
            assert_ne!(other, key);
        }
        // What a check that said anything establishes: nothing.
        let sources = [("targets.csv".to_string(), "ef".repeat(32))];
        assert!(CleanCheck::of(&sources, 3, &known, &[]).is_some());
        let warned = [Diagnostic::warning("a warning".to_string())];
        assert!(CleanCheck::of(&sources, 3, &known, &warned).is_none());
    }

    #[test]
    fn display_paths() {
        let root = Path::new("/srv/suiji");
        assert_eq!(
            display_path(root, Path::new("/srv/suiji/config/registry/targets.csv")),
            "config/registry/targets.csv"
        );
        assert_eq!(display_path(root, Path::new("/tmp/x.csv")), "/tmp/x.csv");
        assert_eq!(display_path(root, Path::new("rel/x.csv")), "rel/x.csv");
    }
}
