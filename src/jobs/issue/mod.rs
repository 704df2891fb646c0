//! Issuing a draw: freeze the registry, run the draw, record it (one transaction) and place its
//! outputs. Shared by `suiji draw`, the service (`suiji run`) and `suiji simulate`.

mod kept;
pub mod seed;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use crate::calendar::Calendar;
use crate::digest::sha256_hex;
use crate::draw::manifest::{Exclusion, HistoryEntry, Manifest, RegistryInfo, SourceFile};
use crate::draw::pipeline::{
    self, BundleOut, DrawFailure, DrawInput, ExclusionsOut, History, Options, Public, Source,
};
use crate::draw::{Algorithm, Seed};
use crate::jobs::bundle::PUBLIC_FILE;
use crate::jobs::place::{self, Layout, Staging, staging_name};
use crate::jobs::probe;
use crate::output::tasks::{Body, MANIFEST_FILE};
use crate::registry::canonical::CellRows;
use crate::registry::types::{CLEAN_RESULTS, Registry};
use crate::results::year::{EXCLUSIONS_LISTED_UP_TO, EXCLUSIONS_SUMMARISED, EXCLUSIONS_SUMMARY_ID};
use crate::rules::Loaded;
use crate::schedule::marks::DrawMarks;
use crate::schedule::{DrawKind, ScheduledDraw};
use crate::store::{
    DrawFilter, DrawRecord, DrawRow, DrawRows, DrawStore, EntityKind, ExclusionRow, LentRows,
    LoadsEpoch, NewDraw, Redraw, SnapshotKind, StoreError, TargetRowRef, TeamRowRef, UnstaffedRow,
};

/// The registry frozen for drawing: rows plus their canonical snapshots and hashes.
#[derive(Debug, Clone)]
pub struct Frozen {
    /// The registry; without targets when they are in [`Frozen::file`].
    pub registry: Registry,
    /// The targets' canonical snapshot (empty when they are in [`Frozen::file`]).
    pub targets_bytes: Vec<u8>,
    pub inspectors_bytes: Vec<u8>,
    pub info: RegistryInfo,
    /// The targets' canonical snapshot as a file in the database's snapshot folder, which the
    /// draw reads in bounded memory; `None`: the targets are in `registry`.
    pub file: Option<FrozenFile>,
    /// A registry frozen on trust (`freeze_trusting`): its target file taken for the version
    /// a check noted while its bytes are still being hashed. `None`: nothing left to confirm.
    pub unconfirmed: Option<Arc<Unconfirmed>>,
}

/// What is left to confirm of a registry frozen on trust: that its target file's bytes hash to
/// those the noted check was made of, and that nothing wrote the file meanwhile (it looks as it
/// did before it was hashed). Asked once ([`Frozen::confirmed`]), by the draw from it before
/// anything of that draw is recorded or put in place.
#[derive(Debug)]
pub struct Unconfirmed {
    hashing: std::sync::Mutex<Option<crate::registry::SourceHashing>>,
    file: PathBuf,
    look: Option<kept::Look>,
    /// The snapshot it was taken for (its SHA-256).
    snapshot: String,
    outcome: std::sync::OnceLock<bool>,
}

/// A target snapshot frozen as a file, and the values its rows may use.
#[derive(Debug, Clone)]
pub struct FrozenFile {
    pub snapshot: crate::registry::SnapshotFile,
    pub known: crate::registry::Known,
}

impl Frozen {
    pub fn new(mut registry: Registry) -> Frozen {
        crate::registry::types::complete_inspector_columns(&mut registry.inspectors);
        let targets_bytes = crate::registry::canonical_targets_csv(&registry.targets);
        let inspectors_bytes = crate::registry::canonical_inspectors_csv(&registry.inspectors);
        let info = RegistryInfo {
            targets_snapshot: sha256_hex(&targets_bytes),
            inspectors_snapshot: sha256_hex(&inspectors_bytes),
            targets_rows: registry.targets.len(),
            inspectors_rows: registry.inspectors.len(),
            sources: registry
                .sources
                .iter()
                .map(|(file, sha256)| SourceFile {
                    file: file.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
        };
        Frozen {
            registry,
            targets_bytes,
            inspectors_bytes,
            info,
            file: None,
            unconfirmed: None,
        }
    }

    /// [`IssueError::RegistryChanged`] unless [`Frozen::confirmed`]: asked by a draw before
    /// anything of it is recorded or put in place (its staging folder goes with it).
    fn confirm(&self) -> Result<(), IssueError> {
        match self.confirmed() {
            true => Ok(()),
            false => Err(IssueError::RegistryChanged),
        }
    }

    /// Whether the registry is the version it was frozen as: always, but for one frozen on
    /// trust (`freeze_trusting`) whose target file's bytes turned out not to be the noted
    /// ones, or which was written meanwhile (waits for its hashing, the first time).
    pub fn confirmed(&self) -> bool {
        let Some(u) = &self.unconfirmed else {
            return true;
        };
        *u.outcome.get_or_init(|| {
            let hashing = u.hashing.lock().ok().and_then(|mut h| h.take());
            let same = hashing.is_some_and(crate::registry::SourceHashing::is_the_checked)
                && kept::look(&u.file) == u.look;
            if same {
                said_checked_before(self.info.targets_rows, &u.snapshot);
            } else {
                let snapshot = &u.snapshot[..u.snapshot.len().min(12)];
                tracing::info!(
                    target: "suiji::progress",
                    "the target registry's bytes are not the ones checked and frozen before (snapshot {snapshot}): nothing drawn from it is recorded; it is checked in full"
                );
            }
            same
        })
    }

    /// A registry whose targets are the canonical snapshot file `snapshot` of `rows` rows.
    pub fn of_file(
        mut inspectors: Vec<crate::registry::Inspector>,
        sources: Vec<(String, String)>,
        rows: usize,
        file: FrozenFile,
    ) -> Frozen {
        crate::registry::types::complete_inspector_columns(&mut inspectors);
        let inspectors_bytes = crate::registry::canonical_inspectors_csv(&inspectors);
        let info = RegistryInfo {
            targets_snapshot: file.snapshot.sha256.clone(),
            inspectors_snapshot: sha256_hex(&inspectors_bytes),
            targets_rows: rows,
            inspectors_rows: inspectors.len(),
            sources: sources
                .iter()
                .map(|(file, sha256)| SourceFile {
                    file: file.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
        };
        Frozen {
            registry: Registry {
                targets: Vec::new(),
                inspectors,
                sources,
                target_columns: Vec::new(),
            },
            targets_bytes: Vec::new(),
            inspectors_bytes,
            info,
            file: Some(file),
            unconfirmed: None,
        }
    }
}

/// A draw to issue.
#[derive(Debug, Clone)]
pub struct Request {
    /// The algorithm: the config's for new draws, the recorded one when verifying.
    pub algorithm: Algorithm,
    pub draw: ScheduledDraw,
    pub seed: Seed,
    pub seed_source: String,
    /// Who issues it ("scheduler", "simulate", or the operator's name).
    pub actor: String,
    /// Local time of issue, "YYYY-MM-DDTHH:MM:SS+08:00".
    pub created_at: String,
    pub redraw: Option<String>,
    /// The draw a redraw replaces; the redraw is refused if another replaced it meanwhile
    /// (`None`: whichever is active when it is recorded).
    pub replaces: Option<i64>,
    /// Compute and show, but record and write nothing.
    pub dry_run: bool,
    /// The draw's dates come from a provisional calendar (see [`provisional`]).
    pub provisional: bool,
    /// `suiji-manifest/3` or `/4`: the excluded targets go to the draw's `exclusions.csv`, the
    /// manifest keeps their summary and the file's hash (new draws: [`exclusions_in_file`]; a
    /// re-run: as the recorded manifest says). Which of the two: [`BundleAt`].
    pub exclusions_in_file: bool,
}

/// Whether a new draw by `algorithm` keeps its excluded targets in a detail file
/// (`suiji-manifest/4`, docs/draw-algorithm.md V2-17, V2-18): every `suiji-draw/2` draw does;
/// `suiji-draw/1` draws keep `suiji-manifest/1`.
pub fn exclusions_in_file(algorithm: Algorithm) -> bool {
    algorithm == Algorithm::V2
}

/// What the manifest records of the public bundle, and which bundle: its hash or not (`record`:
/// `suiji-manifest/2` and later; false only to re-run a draw made before bundles), and for a
/// draw with a detail file whether the bundle lists the exclusions (`listing`: a re-run of a
/// `suiji-manifest/3`, whose bundle is `suiji-public-bundle/1`) or keeps their summary, then
/// whether its frame is in id order alone (`by_id`: `suiji-manifest/5` and later; else a re-run
/// of a `suiji-manifest/4`, `suiji-public-bundle/2`), and whether each frame entry is an array
/// (`compact`: new draws, `suiji-manifest/6` and `suiji-public-bundle/4`; else a re-run of a
/// `/5`, `suiji-public-bundle/3`).
#[derive(Debug, Clone, Copy)]
pub struct BundleAt {
    pub record: bool,
    pub listing: bool,
    pub by_id: bool,
    pub compact: bool,
}

impl BundleAt {
    /// A new draw's: its hash recorded, the exclusions summarised, the frame in id order, each
    /// entry an array.
    pub const NEW: BundleAt = BundleAt {
        record: true,
        listing: false,
        by_id: true,
        compact: true,
    };

    /// The recorded draw `m`'s, for a re-run.
    pub fn of(m: &Manifest) -> BundleAt {
        BundleAt {
            record: m.public_bundle.is_some(),
            listing: m.format == crate::draw::manifest::MANIFEST_FORMAT_V3,
            by_id: crate::draw::bundle::frame_by_id(m),
            compact: crate::draw::bundle::compact_frame(m),
        }
    }
}

/// Whether a draw's dates come from a provisional calendar: its issue or its due date falls
/// in a year without an official holiday notice.
pub fn provisional(cal: &Calendar, d: &ScheduledDraw) -> bool {
    !cal.is_official(d.issue_at.year()) || !cal.is_official(d.due.year())
}

/// What the draw's documents say about how it was made: when (and when it was due), late or
/// not, from a provisional plan or not, in a simulation or not.
pub fn marks(req: &Request, simulation: bool) -> DrawMarks {
    DrawMarks::of(
        &req.created_at,
        req.draw.issue_at,
        req.provisional,
        simulation,
    )
}

/// A draw that was issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// None on a dry run.
    pub draw_id: Option<i64>,
    pub manifest: Manifest,
    /// Folder holding the draw's files (None on a dry run).
    pub folder: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("no matter `{0}` in the rules")]
    UnknownMatter(String),
    #[error(
        "{matter} {period} was already drawn (draw #{draw_id}, {created_at}); use --redraw --reason TEXT to replace it"
    )]
    AlreadyDrawn {
        matter: String,
        period: String,
        draw_id: i64,
        created_at: String,
    },
    #[error("draw failed for {matter}: {source}")]
    Draw { matter: String, source: DrawFailure },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the draw's files: {0}")]
    Output(String),
    #[error("cannot count the loads the inspectors carry in from the period's other draws: {0}")]
    Loads(String),
    #[error(
        "other draws or changes of the period were recorded while this draw was computed, {0} \
         times in a row; nothing was recorded: run it again"
    )]
    LoadsChanged(usize),
    #[error(
        "the target registry file changed while this draw was computed from it; nothing was \
         recorded: run it again"
    )]
    RegistryChanged,
}

/// What earlier draws and results say about targets, for cooldown and yearly caps. A target's
/// inspection under a draw counts as clean only when it is complete — a result for every
/// checklist item of the draw's matter in `model`, as the results ledger counts it — and every
/// result is clean; a half-finished inspection is not clean, whatever its results so far say.
pub fn history(
    store: &dyn DrawStore,
    model: &crate::rules::model::Model,
    year: i32,
    skip_matter_period: (&str, &str),
) -> Result<History, StoreError> {
    // The heads alone: a draw's manifest (at national scale a hundred megabytes) says nothing
    // the history needs; nor do its rows, but for the ids it selected.
    let draws = store.list_draw_heads(&DrawFilter::default())?;
    let mut drawn: Vec<String> = Vec::new();
    let mut clean: BTreeMap<String, NaiveDate> = BTreeMap::new();
    for d in draws {
        let this_year = d.issue_date.get(..4).and_then(|y| y.parse::<i32>().ok()) == Some(year);
        if this_year && !(d.matter == skip_matter_period.0 && d.period == skip_matter_period.1) {
            drawn.extend(visited_ids(store, d.id)?);
        }
        // A target's inspection under this draw was clean when it has a result for every
        // item of the matter's checklist and every result recorded for it is clean; it
        // happened on the latest of their dates. A matter that left the rules has no
        // checklist to complete.
        let items: Vec<&str> = model
            .matter(&d.matter)
            .map(|m| m.checklist.iter().map(|i| i.id.as_str()).collect())
            .unwrap_or_default();
        let mut per_target: BTreeMap<String, Inspected> = BTreeMap::new();
        for r in store.results(d.id)? {
            let e = per_target.entry(r.target_id.clone()).or_insert(Inspected {
                clean: true,
                on: None,
                items: vec![false; items.len()],
            });
            e.clean &= CLEAN_RESULTS.contains(&r.category.as_str());
            e.on =
                e.on.max(NaiveDate::parse_from_str(&r.inspection_date, "%Y-%m-%d").ok());
            if let Some(i) = items
                .iter()
                .position(|i| r.checklist_item.as_deref() == Some(*i))
            {
                e.items[i] = true;
            }
        }
        for (target, e) in per_target {
            let complete = !e.items.is_empty() && e.items.iter().all(|&had| had);
            if e.clean
                && complete
                && let Some(date) = e.on
            {
                let e = clean.entry(target).or_insert(date);
                *e = (*e).max(date);
            }
        }
    }
    // Each id's count from the ids sorted, the map built at once from them in order.
    drawn.sort_unstable();
    let mut counted: Vec<(String, HistoryEntry)> = Vec::new();
    for id in drawn {
        match counted.last_mut() {
            Some((last, e)) if *last == id => e.inspections_this_year += 1,
            _ => counted.push((
                id,
                HistoryEntry {
                    inspections_this_year: 1,
                    ..HistoryEntry::default()
                },
            )),
        }
    }
    let mut entries: BTreeMap<String, HistoryEntry> = counted.into_iter().collect();
    for (target, date) in clean {
        entries.entry(target).or_default().last_clean = Some(date);
    }
    Ok(History {
        entries,
        carried: BTreeMap::new(),
    })
}

/// The targets draw `id` has its teams visit: those it selected, as the changes recorded after
/// it left them (a substitute taken in, 替补, in the place of the target it replaced; a target
/// marked out of scope left out).
fn visited_ids(store: &dyn DrawStore, id: i64) -> Result<Vec<String>, StoreError> {
    let mut ids = store.selected_target_ids(id)?;
    for c in store
        .changes_of(id)?
        .into_iter()
        .filter(|c| c.kind == "target")
    {
        if let Some(at) = ids.iter().position(|x| *x == c.target_id) {
            match c.replacement {
                Some(by) => ids[at] = by,
                None => {
                    ids.swap_remove(at);
                }
            }
        }
    }
    Ok(ids)
}

/// A target's results under one draw, as the history reads them.
struct Inspected {
    /// Every result so far is clean.
    clean: bool,
    /// The latest 检查日期 among them.
    on: Option<NaiveDate>,
    /// Which of the matter's checklist items have a result.
    items: Vec<bool>,
}

/// The loads `inspectors` carry into the draw `d` (docs/draw-algorithm.md V2-16): for each, the
/// visits they are on — in the teams as the recorded changes (人员调整, 替补) left them — of the
/// standing draws whose period overlaps `d`'s, other than the draw of `d`'s matter and period
/// itself (which a redraw replaces). A draw issued later than one being redrawn counts too, so
/// the cap holds over every standing draw of the period while the later draws stay as recorded.
/// Only inspectors of `departments` are counted (the team's pool is drawn from them).
pub fn carried_loads(
    store: &dyn DrawStore,
    d: &ScheduledDraw,
    departments: &[String],
    inspectors: &[crate::registry::Inspector],
) -> Result<BTreeMap<String, u32>, IssueError> {
    let counted: std::collections::HashSet<&str> = inspectors
        .iter()
        .filter(|i| departments.contains(&i.department))
        .map(|i| i.id.as_str())
        .collect();
    if counted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let scope = super::loads::Scope {
        matter: &d.matter,
        period: &d.period.id,
        start: d.period.start,
        end: d.period.end,
    };
    super::loads::period_loads(store, &scope, Some(&counted), super::loads::AsOf::Now)
        .map_err(IssueError::Loads)
}

/// What the draw `req` starts from: the targets' history and, for `suiji-draw/2`, the loads its
/// inspectors carry in from the period's other draws.
fn draw_history(
    loaded: &Loaded,
    store: &dyn DrawStore,
    frozen: &Frozen,
    req: &Request,
) -> Result<History, IssueError> {
    let d = &req.draw;
    let mut hist = history(
        store,
        &loaded.model,
        d.issue_date().year(),
        (&d.matter, &d.period.id),
    )?;
    if req.algorithm == Algorithm::V2
        && let Some(matter) = loaded.model.matter(&d.matter)
    {
        let spec = joint_team(matter).unwrap_or_else(|| pipeline::matter_team(matter));
        hist.carried = carried_loads(store, d, &spec.departments, &frozen.registry.inspectors)?;
    }
    Ok(hist)
}

/// Runs the draw for `req` (pure), without touching the store.
pub fn compute(
    loaded: &Loaded,
    frozen: &Frozen,
    hist: &History,
    req: &Request,
) -> Result<Manifest, IssueError> {
    compute_public(
        loaded,
        frozen,
        hist,
        req,
        (BundleAt::NEW, BundleOut::Hash, false),
    )
    .map(|(m, ..)| m)
}

/// Runs the draw for `req` (pure) with its public bundle: `at` says what the manifest records of
/// it and which bundle it is, `out` what becomes of it (returned only with
/// [`BundleOut::Keep`]). Also returns the excluded targets a `suiji-manifest/3` or `/4` lists
/// in its detail file, and (when `digest`, as `verify` asks) the selection's digest made as
/// it is sealed.
pub fn compute_public(
    loaded: &Loaded,
    frozen: &Frozen,
    hist: &History,
    req: &Request,
    (at, out, digest): (BundleAt, BundleOut<'_>, bool),
) -> Result<crate::jobs::verify::Rerun, IssueError> {
    // A bundle kept whole is for files made in memory, the detail file's rows with it.
    let excl = match out {
        BundleOut::Keep => ExclusionsOut::Keep,
        _ => ExclusionsOut::Hash { keep_up_to: 0 },
    };
    compute_drawn(
        loaded,
        frozen,
        hist,
        req,
        (at, out, KeepDrawn::No, digest),
        (excl, false),
    )
    .map(|d| (d.manifest, d.bundle, d.excluded, d.selected_digest))
}

/// The re-run of a recorded draw for `req` writing its public bundle into `public` and its
/// detail file's rows into `detail` as they are made, as the draw wrote them ([`draw_staged`]),
/// neither held, and giving where its drawn rows are ([`pipeline::Drawn::drawn_at`]), for the
/// documents, and its selection's digest as it was sealed (`regenerate`).
pub(crate) fn compute_written(
    loaded: &Loaded,
    (frozen, hist): (&Frozen, &History),
    req: &Request,
    at: BundleAt,
    (public, detail): (
        &std::cell::RefCell<dyn pipeline::StagedFile>,
        &std::cell::RefCell<dyn pipeline::StagedFile>,
    ),
) -> Result<pipeline::Drawn, IssueError> {
    compute_drawn(
        loaded,
        frozen,
        hist,
        req,
        (at, BundleOut::Write(public), KeepDrawn::Places(None), true),
        (
            ExclusionsOut::Write {
                file: detail,
                keep_up_to: 0,
            },
            false,
        ),
    )
}

/// [`compute_public`], also returning the drawn targets' rows when `keep_drawn` and the
/// selection's digest when `digest` (for `verify`), the excluded targets of a detail file going
/// where `exclusions` says.
fn compute_drawn(
    loaded: &Loaded,
    frozen: &Frozen,
    hist: &History,
    req: &Request,
    (at, out, keep, digest): (BundleAt, BundleOut<'_>, KeepDrawn<'_>, bool),
    (exclusions, counts_only): (ExclusionsOut<'_>, bool),
) -> Result<pipeline::Drawn, IssueError> {
    let model = &loaded.model;
    let matter = model
        .matter(&req.draw.matter)
        .ok_or_else(|| IssueError::UnknownMatter(req.draw.matter.clone()))?;
    let input = DrawInput {
        algorithm: req.algorithm,
        bureau: &model.config.bureau.name,
        matter,
        rules_hash: &model.rules_hash,
        period: &req.draw.period,
        kind: req.draw.kind,
        ratio: req.draw.ratio,
        key_area_only: req.draw.key_area_only,
        reference_date: req.draw.issue_date(),
        issue_at: req.draw.issue_at.format("%Y-%m-%dT%H:%M").to_string(),
        due: req.draw.due,
        seed: req.seed,
        seed_source: &req.seed_source,
        inspectors: &frozen.registry.inspectors,
        registry: frozen.info.clone(),
        history: hist,
        team: joint_team(matter),
        drawn_at: req.created_at.clone(),
        exclusions_in_file: req.exclusions_in_file,
    };
    // The draw reads the frozen rows (whose snapshot is recorded with the draw): the snapshot
    // file, in bounded memory, or the registry in memory.
    let rows = match &frozen.file {
        Some(f) => Source::Csv {
            path: &f.snapshot.path,
            known: &f.known,
        },
        None => Source::Memory(&frozen.registry.targets),
    };
    let public = Public {
        fields: &model.config.frame_fields,
        record: at.record,
        out,
        summarised: !at.listing,
        by_id: at.by_id,
        compact: at.compact,
    };
    let (log, classified) = draw_progress(&req.draw.matter);
    let large = frozen.info.targets_rows >= PROGRESS_ROWS;
    let on_phase: Option<&(dyn Fn(pipeline::Phase) + Sync)> = large.then_some(&log);
    let on_rows: Option<&pipeline::OnRows<'_>> = large.then_some(&classified);
    let (keep_drawn, on_selected) = match keep {
        KeepDrawn::No => (false, None),
        KeepDrawn::Places(told) => (true, told),
    };
    let opts = Options {
        keep_drawn,
        on_selected,
        digest_selection: digest,
        exclusions,
        on_phase,
        on_rows,
        // Counts only: every exclusion summarised.
        list_exclusions_up_to: if counts_only { 0 } else { usize::MAX },
        ..Options::default()
    };
    let public = (!counts_only).then_some(&public);
    pipeline::run_public(&input, rows, &loaded.sandbox, &opts, public).map_err(|source| {
        IssueError::Draw {
            matter: matter.id.clone(),
            source,
        }
    })
}

/// Whether a draw returns where its drawn rows are ([`pipeline::Drawn::drawn_at`]), for its
/// documents, and whom it tells as soon as they are chosen ([`Options::on_selected`]).
#[derive(Clone, Copy)]
enum KeepDrawn<'a> {
    No,
    Places(Option<&'a pipeline::OnSelected<'a>>),
}

/// A draw's own progress, logged with the rest of a large draw's: each phase as it begins, and
/// each million rows its classifying pass reads.
fn draw_progress(
    matter: &str,
) -> (
    impl Fn(pipeline::Phase) + Sync + '_,
    impl Fn(u64) + Sync + '_,
) {
    let phase = move |p: pipeline::Phase| {
        if let Some(what) = phase_text(p) {
            tracing::info!(target: "suiji::progress", matter = %matter, "{what}");
        }
    };
    let rows = each_million(move |rows| {
        tracing::info!(target: "suiji::progress", matter = %matter, rows, "{CLASSIFYING}");
    });
    (phase, rows)
}

/// The classifying phase as a draw's progress tells it, as it begins and with its rows.
const CLASSIFYING: &str = "drawing: classifying the rows";

/// How a draw's phase is told in its progress (`None`: not told).
fn phase_text(p: pipeline::Phase) -> Option<&'static str> {
    use pipeline::Phase;
    Some(match p {
        Phase::Classify => CLASSIFYING,
        Phase::Plan => "drawing: planning the strata",
        Phase::Select => "drawing: selecting",
        Phase::Teams => "drawing: staffing the teams",
        Phase::Manifest => "drawing: sealing the manifest and the public bundle",
        Phase::Done => return None,
    })
}

/// The draw `req` asks for, for its counts only (a plan's estimate, a rule preview's dry
/// run): the same strata, eligible and drawn targets and teams as [`compute`], without the
/// public bundle (neither built nor hashed) and with the excluded targets counted, not listed.
pub fn compute_counts(
    loaded: &Loaded,
    frozen: &Frozen,
    hist: &History,
    req: &Request,
) -> Result<Manifest, IssueError> {
    compute_drawn(
        loaded,
        frozen,
        hist,
        req,
        (BundleAt::NEW, BundleOut::Hash, KeepDrawn::No, false),
        (ExclusionsOut::Hash { keep_up_to: 0 }, true),
    )
    .map(|d| d.manifest)
}

/// The team of a joint plan's visits (联合抽查): members from every department involved, at
/// least one from each when there are several, together holding every qualification of the
/// member matters; `None` for a department's own matter (its team is the matter's).
pub(crate) fn joint_team(matter: &crate::rules::model::Matter) -> Option<crate::draw::TeamSpec> {
    let j = matter.joint.as_ref()?;
    Some(crate::draw::TeamSpec {
        team_size: matter.team_size,
        each: matter.qualifications.clone(),
        cover: j.cover.clone(),
        departments: j.departments.clone(),
        each_department: j.departments.len() > 1,
        workload_cap: matter.workload_cap,
        carried: BTreeMap::new(),
    })
}

/// The folder of a draw's files.
pub(crate) fn draw_folder(output_dir: &Path, matter: &str, period: &str) -> PathBuf {
    output_dir.join("draws").join(matter).join(period)
}

/// The folder a draw's files are kept in once draw `by` replaced it (a redraw): beside its
/// period's folder, `<period>.superseded-<by>`.
pub(crate) fn superseded_folder(folder: &Path, period: &str, by: i64) -> PathBuf {
    folder.with_file_name(format!("{period}.superseded-{by}"))
}

/// Issues one draw: compute, write files to a temporary folder, record in one transaction,
/// then move the files into place. A crash leaves either a complete draw or none.
pub fn issue(
    loaded: &Loaded,
    store: &mut dyn DrawStore,
    frozen: &Frozen,
    req: &Request,
) -> Result<Issued, IssueError> {
    let model = &loaded.model;
    let recorded = as_recorded(store, req)?;
    let req = recorded.as_ref().unwrap_or(req);
    let d = &req.draw;
    refuse_drawn(&model.config.output_dir, store, req)?;
    let folder = draw_folder(&model.config.output_dir, &d.matter, &d.period.id);
    // A version-2 draw is recorded only with the history and loads the records hold when it is
    // recorded (V2-16): where they stand is read before they are, and checked again inside the
    // recording transaction; a draw or change recorded meanwhile means drawing again.
    let mut attempt = 1;
    let (manifest, committed, draw_id) = loop {
        match draw_and_record(loaded, store, frozen, req, &folder) {
            Ok((manifest, None)) => {
                return Ok(Issued {
                    draw_id: None,
                    manifest,
                    folder: None,
                });
            }
            Ok((manifest, Some((committed, id)))) => break (manifest, committed, id),
            Err(IssueError::LoadsChanged(_)) if attempt < ATTEMPTS => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    // The draw is recorded; put its files in place (an older draw's files are kept aside).
    probe::point("draw.committed");
    let staged_at = committed.dir().to_path_buf();
    if let Err(e) = committed.place(&folder_layout(&folder, &d.period.id, draw_id)) {
        // Another process may have restored them (see `restore_files`) in the meantime.
        if manifest_hash_in(&folder).as_deref() != Some(manifest.manifest_hash.as_str()) {
            return Err(IssueError::Output(format!(
                "draw #{draw_id} is recorded, but its files stay in {}: {}",
                staged_at.display(),
                e.source
            )));
        }
    }
    // The public list is out: anchor the chain's head beside it (where anchors are kept).
    let subject = format!("{} {}", d.matter, d.period.id);
    super::anchor::record_after(
        &model.config.output_dir,
        store,
        &req.created_at,
        "draw",
        &subject,
    );
    Ok(Issued {
        draw_id: Some(draw_id),
        manifest,
        folder: Some(folder),
    })
}

/// Draws `req` from the history and loads the records hold now, stages its files beside
/// `folder` and records it, unless a draw or change recorded meanwhile changed them
/// ([`IssueError::LoadsChanged`], nothing recorded). The manifest, with the staged files and
/// the draw's number once recorded (`None` on a dry run).
fn draw_and_record(
    loaded: &Loaded,
    store: &mut dyn DrawStore,
    frozen: &Frozen,
    req: &Request,
    folder: &Path,
) -> Result<(Manifest, Option<(place::Committed, i64)>), IssueError> {
    let d = &req.draw;
    let phase = |what: &str| {
        if frozen.info.targets_rows >= PROGRESS_ROWS {
            tracing::info!(target: "suiji::progress", matter = %d.matter, period = %d.period.id, "{what}");
        }
    };
    let epoch = match req.algorithm {
        Algorithm::V2 => Some(store.loads_epoch()?),
        Algorithm::V1 => None,
    };
    let hist = draw_history(loaded, store, frozen, req)?;
    std::thread::scope(|scope| {
        // The documents' cells of the drawn rows of a snapshot file, read on a thread of their
        // own from the moment the rows are chosen, beside the teams and the seal, into a
        // temporary file: the seal, where the year's later draws peak, holds none of them.
        let early = EarlyCells::default();
        let read_early = |at: &[u64]| early.start(scope, frozen, at);
        phase("drawing");
        let (staging, drawn) =
            draw_staged(loaded, (frozen, &hist), req, folder, Some(&read_early))?;
        frozen.confirm()?;
        // Only whether the records still give this history is asked from here on: the history
        // itself (an entry per target drawn this year, hundreds of thousands in the year's
        // later draws of a national registry) is let go before the files and the recording.
        let digest = hist.digest();
        drop(hist);
        let pipeline::Drawn {
            manifest,
            excluded,
            drawn_at,
            ..
        } = drawn;
        let Some(staging) = staging else {
            return Ok((manifest, None));
        };
        // Shared with the rows the store reads from it as it records them.
        let manifest = Arc::new(manifest);
        let marks = marks(req, store.is_simulation()?);
        phase("writing the draw's files");
        // The documents have the drawn rows' cells read already (waited for here, read into a
        // file since the rows were chosen), read them again as they start (a draw over the
        // snapshot file), or have the registry's rows in memory.
        let targets = match (early.finish(&d.matter), &frozen.file) {
            (Some(cells), _) => DrawnRows::Spilled(std::sync::Mutex::new(Some(cells))),
            (None, Some(f)) => DrawnRows::At(
                Source::Csv {
                    path: &f.snapshot.path,
                    known: &f.known,
                },
                drawn_at,
            ),
            (None, None) => DrawnRows::All(&frozen.registry.targets),
        };
        let files = Files::new(
            &loaded.model,
            (frozen, targets),
            &manifest,
            (d, &marks),
            &staging,
        )?;
        probe::point("draw.staged");
        let recorded = record_beside(
            store,
            (loaded, frozen, req),
            (&manifest, &excluded),
            (epoch, &digest),
            (&files, &phase),
        );
        let (committed, id) = staging.commit(|| recorded)?;
        let manifest = Arc::try_unwrap(manifest).unwrap_or_else(|m| Manifest::clone(&m));
        Ok((manifest, Some((committed, id))))
    })
}

/// The reading of the drawn rows' cells (what the documents show of them) started as soon as
/// the draw chose them ([`Options::on_selected`]), when it draws from a snapshot file: written
/// a batch at a time into a temporary file (deleted when it is closed), which the documents read
/// back as they start.
#[derive(Default)]
struct EarlyCells<'scope> {
    reading: std::sync::Mutex<Option<CellsReading<'scope>>>,
}

impl Drop for EarlyCells<'_> {
    /// Waits for a reading whose draw went no further (its outcome unused), so that a thread
    /// that stopped unexpectedly is not the scope's panic.
    fn drop(&mut self) {
        if let Some(reading) = self.reading.get_mut().ok().and_then(Option::take) {
            let _ = reading.join();
        }
    }
}

/// The thread reading the drawn rows' cells.
type CellsReading<'scope> =
    std::thread::ScopedJoinHandle<'scope, Result<std::fs::File, DrawFailure>>;

impl<'scope> EarlyCells<'scope> {
    /// Starts reading the cells of the rows at `at` of `frozen`'s snapshot file (none when
    /// the rows are in memory, or a thread cannot start: the documents read them then).
    fn start<'env>(
        &self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        frozen: &'env Frozen,
        at: &[u64],
    ) {
        let Some(f) = &frozen.file else {
            return;
        };
        let source = Source::Csv {
            path: &f.snapshot.path,
            known: &f.known,
        };
        let mut at = at.to_vec();
        let spawned = std::thread::Builder::new()
            .name("suiji-drawn-rows".into())
            .spawn_scoped(scope, move || {
                // Read in the file's order.
                at.sort_unstable();
                let fields = &crate::output::tasks::DrawnCells::FIELDS;
                spill_drawn_cells(source, &at, fields)
            });
        if let (Ok(handle), Ok(mut slot)) = (spawned, self.reading.lock()) {
            *slot = Some(handle);
        }
    }

    /// The file of the cells read, once they are; `None` when no reading was started, or it
    /// failed (logged: a temporary folder full, say, which the workbooks need too), and the
    /// documents then read the rows again themselves, failing the draw if those cannot be read.
    fn finish(&self, matter: &str) -> Option<std::fs::File> {
        let reading = self.reading.lock().ok().and_then(|mut r| r.take())?;
        match reading.join() {
            Ok(Ok(file)) => Some(file),
            Ok(Err(e)) => {
                tracing::warn!(
                    matter,
                    "the drawn rows' cells are read again for the documents: {e}"
                );
                None
            }
            Err(_) => {
                tracing::warn!(
                    matter,
                    "reading the drawn rows' cells stopped unexpectedly; they are read again for the documents"
                );
                None
            }
        }
    }
}

/// The cells of the rows at `at` (ascending) of `source` written into a new temporary file,
/// a batch at a time ([`CellRows::write_to`]), never all held; the file given back at its start.
fn spill_drawn_cells(
    source: Source<'_>,
    at: &[u64],
    fields: &[&str],
) -> Result<std::fs::File, DrawFailure> {
    use std::io::{Seek as _, Write as _};
    let spill = |e: std::io::Error| {
        DrawFailure::Io(format!(
            "a temporary file for the drawn rows' cells (in {}): {e}",
            std::env::temp_dir().display()
        ))
    };
    let mut file = tempfile::tempfile().map_err(spill)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut file);
    pipeline::drawn_cells_each(source, at, fields, &mut |cells| cells.write_to(&mut out))?;
    out.flush().map_err(spill)?;
    drop(out);
    file.rewind().map_err(spill)?;
    Ok(file)
}

/// `req` with its period named as its draws are recorded, when they are recorded under the
/// period's first id (`2023-04-01T09:00`, period ids of version 1) and none under the
/// schedule's (`2023-04-01T0900`): a period keeps the id its first draw recorded, so a redraw,
/// the refusal of a second draw and the history all see its draws (docs/draw-algorithm.md
/// V2-15). `None`: `req` as it is.
fn as_recorded(store: &dyn DrawStore, req: &Request) -> Result<Option<Request>, IssueError> {
    let d = &req.draw;
    let Some(first) = crate::schedule::first_form(&d.period.id) else {
        return Ok(None);
    };
    if store.active_draw(&d.matter, &d.period.id)?.is_some()
        || store.active_draw(&d.matter, &first)?.is_none()
    {
        return Ok(None);
    }
    let mut req = req.clone();
    req.draw.period.id = first;
    Ok(Some(req))
}

/// Draws for `req` and, unless it is a dry run, makes its staging folder beside `folder` first:
/// the draw writes the public bundle into it as it serialises and hashes it. The staging folder
/// goes if the draw fails.
fn draw_staged(
    loaded: &Loaded,
    (frozen, hist): (&Frozen, &History),
    req: &Request,
    folder: &Path,
    on_selected: Option<&pipeline::OnSelected<'_>>,
) -> Result<(Option<Staging>, pipeline::Drawn), IssueError> {
    let keep_drawn = match frozen.file {
        Some(_) => KeepDrawn::Places(on_selected),
        None => KeepDrawn::No,
    };
    if req.dry_run {
        // No documents: nobody to tell.
        let keep_drawn = match keep_drawn {
            KeepDrawn::Places(_) => KeepDrawn::Places(None),
            KeepDrawn::No => KeepDrawn::No,
        };
        let drawn = compute_drawn(
            loaded,
            frozen,
            hist,
            req,
            (BundleAt::NEW, BundleOut::Hash, keep_drawn, false),
            (ExclusionsOut::Hash { keep_up_to: 0 }, false),
        )?;
        return Ok((None, drawn));
    }
    let output = |path: &Path, e: &dyn std::fmt::Display| {
        IssueError::Output(format!("{}: {e}", path.display()))
    };
    let staging = Staging::write(
        folder.with_file_name(staging_name(&req.draw.period.id)),
        &[],
    )
    .map_err(|e| output(&e.path, &e.source))?;
    let path = staging.dir().join(PUBLIC_FILE);
    let file = std::fs::File::create(&path).map_err(|e| output(&path, &e))?;
    let file = std::cell::RefCell::new(file);
    let out = BundleOut::Write(&file);
    // The detail file, written as the excluded rows are read again (a `suiji-manifest/4`);
    // the database lists them only when there are few.
    let detail = staging.dir().join(crate::draw::manifest::EXCLUSIONS_FILE);
    let detail_file = std::fs::File::create(&detail).map_err(|e| output(&detail, &e))?;
    let detail_file = std::cell::RefCell::new(detail_file);
    let exclusions = ExclusionsOut::Write {
        file: &detail_file,
        keep_up_to: EXCLUSIONS_LISTED_UP_TO,
    };
    let drawn = compute_drawn(
        loaded,
        frozen,
        hist,
        req,
        (BundleAt::NEW, out, keep_drawn, false),
        (exclusions, false),
    )?;
    drop(detail_file);
    if drawn.manifest.exclusion_summary.is_none() {
        std::fs::remove_file(&detail).map_err(|e| output(&detail, &e))?;
    }
    Ok((Some(staging), drawn))
}

/// A draw's `exclusions.csv` or public bundle in its staging folder, emptied when the draw
/// starts it again.
impl pipeline::StagedFile for std::fs::File {
    fn restart(&mut self) -> std::io::Result<()> {
        use std::io::Seek as _;
        self.set_len(0)?;
        self.rewind()
    }
}

/// Refuses a period already drawn (unless `req` is a redraw), restoring its files if a crash
/// left them aside.
fn refuse_drawn(output_dir: &Path, store: &dyn DrawStore, req: &Request) -> Result<(), IssueError> {
    let d = &req.draw;
    if req.redraw.is_none()
        && let Some(existing) = store.active_draw(&d.matter, &d.period.id)?
    {
        restore_files(output_dir, &existing);
        return Err(IssueError::AlreadyDrawn {
            matter: d.matter.clone(),
            period: d.period.id.clone(),
            draw_id: existing.id,
            created_at: existing.record.created_at,
        });
    }
    Ok(())
}

/// Why recording the draw `d` failed: drawn by another process in the meantime, or the store.
fn recording_failed(d: &ScheduledDraw, e: StoreError) -> IssueError {
    match e {
        StoreError::AlreadyDrawn {
            draw_id,
            created_at,
        } => IssueError::AlreadyDrawn {
            matter: d.matter.clone(),
            period: d.period.id.clone(),
            draw_id,
            created_at,
        },
        other => IssueError::Store(other),
    }
}

/// What a draw's files are made from, and the staging folder they are written into (which
/// holds its public bundle and detail file already).
struct Files<'a> {
    model: &'a crate::rules::model::Model,
    matter: &'a crate::rules::model::Matter,
    frozen: &'a Frozen,
    targets: DrawnRows<'a>,
    manifest: &'a Manifest,
    marks: &'a DrawMarks,
    staging: &'a Staging,
    /// Whether the manifest's file was written (set once it was, or failed): the documents
    /// start before it is, and the audit bundle, written after them, copies it.
    manifest_written: std::sync::OnceLock<bool>,
}

impl<'a> Files<'a> {
    fn new(
        model: &'a crate::rules::model::Model,
        (frozen, targets): (&'a Frozen, DrawnRows<'a>),
        manifest: &'a Manifest,
        (d, marks): (&ScheduledDraw, &'a DrawMarks),
        staging: &'a Staging,
    ) -> Result<Files<'a>, IssueError> {
        let matter = model
            .matter(&d.matter)
            .ok_or_else(|| IssueError::UnknownMatter(d.matter.clone()))?;
        Ok(Files {
            model,
            matter,
            frozen,
            targets,
            manifest,
            marks,
            staging,
            manifest_written: std::sync::OnceLock::new(),
        })
    }

    /// Writes the manifest's file, which the recording reads and the audit bundle copies
    /// (waiting for it: [`Files::manifest_written`]); its path and SHA-256.
    fn manifest(&self) -> Result<(PathBuf, String), IssueError> {
        let written = self
            .staging
            .add_hashed(Path::new(MANIFEST_FILE), |out| {
                self.manifest.write_file_json(out)
            })
            .map_err(|e| IssueError::Output(format!("{}: {}", e.path.display(), e.source)));
        let _ = self.manifest_written.set(written.is_ok());
        Ok((self.staging.dir().join(MANIFEST_FILE), written?))
    }

    /// Writes the documents (task lists, task sheets, public list, one at a time), then the
    /// audit bundle, from the manifest's file and the folder's public bundle.
    fn documents(&self) -> Result<(), IssueError> {
        let m = self.manifest;
        let failed = |source| IssueError::Draw {
            matter: m.matter.clone(),
            source,
        };
        let targets = match &self.targets {
            DrawnRows::All(rows) => crate::output::tasks::DrawnCells::of_targets(rows),
            DrawnRows::At(source, at) => {
                let fields = &crate::output::tasks::DrawnCells::FIELDS;
                let cells = pipeline::drawn_cells(*source, at, fields).map_err(failed)?;
                crate::output::tasks::DrawnCells::of_cells(cells)
            }
            DrawnRows::Spilled(file) => {
                let taken = file.lock().ok().and_then(|mut f| f.take());
                let file = taken.ok_or_else(|| {
                    IssueError::Output("the drawn rows' cells were taken before".into())
                })?;
                let width = 1 + crate::output::tasks::DrawnCells::FIELDS.len();
                // The file's length: the text and four bytes a cell.
                let len = file.metadata().map_or(0, |m| m.len());
                let room = usize::try_from(len).unwrap_or(0);
                let reader = std::io::BufReader::with_capacity(1 << 20, file);
                let cells = CellRows::read_from(width, reader, room).map_err(|e| {
                    IssueError::Output(format!("reading the drawn rows' cells back: {e}"))
                })?;
                crate::output::tasks::DrawnCells::of_cells(cells)
            }
        };
        crate::output::tasks::documents(
            self.model,
            &m.manifest_hash[..12],
            m,
            self.matter,
            targets,
            &self.frozen.registry.inspectors,
            self.marks,
            &mut |name, body| self.put(name, body),
        )
        .map_err(IssueError::Output)?;
        if !self.manifest_written.wait() {
            return Err(IssueError::Output(format!(
                "{}: not written, so the audit bundle cannot hold it",
                self.staging.dir().join(MANIFEST_FILE).display()
            )));
        }
        let v2 = crate::jobs::bundle::audit_v2(m);
        write_audit_bundle(self.model, self.frozen, self.staging.dir(), v2)
    }

    fn put(&self, name: String, body: Body<'_>) -> Result<(), String> {
        let added = match body {
            Body::Bytes(bytes) => self.staging.add(Path::new(&name), &bytes),
            Body::Written(write) => self.staging.add_written(Path::new(&name), write),
        };
        added.map_err(|e| format!("{}: {}", e.path.display(), e.source))
    }
}

/// The rows a draw's documents show its drawn targets from: all the registry's (in memory),
/// those at these places of a registry file, read when the documents are written, or their
/// cells, read into a temporary file since the draw chose them ([`EarlyCells`]).
enum DrawnRows<'a> {
    All(&'a [crate::registry::Target]),
    At(Source<'a>, Vec<u64>),
    /// Taken by the documents.
    Spilled(std::sync::Mutex<Option<std::fs::File>>),
}

/// A draw's documents, written on a thread of their own while the draw is recorded.
enum Documents<'scope> {
    /// Not started: the recording has not made the draw's row yet.
    Waiting,
    Writing(std::thread::ScopedJoinHandle<'scope, Result<(), IssueError>>),
    Done,
}

impl<'scope> Documents<'scope> {
    fn start<'env>(
        &mut self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        files: &'scope Files<'_>,
    ) where
        'env: 'scope,
    {
        if matches!(self, Documents::Waiting) {
            // Named, so that a profile or `top -H` tells the documents from the recording.
            let spawned = std::thread::Builder::new()
                .name("suiji-documents".into())
                .spawn_scoped(scope, || files.documents());
            // A thread that cannot start leaves the documents to `finish`, on this one.
            if let Ok(handle) = spawned {
                *self = Documents::Writing(handle);
            }
        }
    }

    /// Waits for the documents (writes them here if they were not started); their outcome.
    fn finish(&mut self, files: &Files<'_>) -> Result<(), IssueError> {
        match std::mem::replace(self, Documents::Done) {
            Documents::Waiting => files.documents(),
            Documents::Writing(handle) => handle.join().unwrap_or_else(|_| {
                Err(IssueError::Output(
                    "writing the draw's documents stopped unexpectedly".into(),
                ))
            }),
            Documents::Done => Ok(()),
        }
    }

    /// Waits for documents being written, whose folder is about to go.
    fn abandon(&mut self) {
        if let Documents::Writing(handle) = std::mem::replace(self, Documents::Done) {
            let _ = handle.join();
        }
    }
}

/// Records the draw (see [`record_current`]) while its documents and audit bundle are
/// written on a second thread: from the start of the recording to just before the commit,
/// which waits for them. A
/// draw whose files cannot be written is not recorded (the error is theirs).
fn record_beside(
    store: &mut dyn DrawStore,
    inputs: (&Loaded, &Frozen, &Request),
    (manifest, excluded): (&Arc<Manifest>, &[Exclusion]),
    read: (Option<LoadsEpoch>, &[u8; 32]),
    (files, phase): (&Files<'_>, &dyn Fn(&str)),
) -> Result<i64, IssueError> {
    std::thread::scope(|scope| {
        let mut documents = Documents::Waiting;
        documents.start(scope, files);
        // Says the manifest was not written if its writing never returns, so that the
        // documents' thread, waiting for it, ends.
        let unwritten = Unwritten(&files.manifest_written);
        let written = files.manifest();
        drop(unwritten);
        let (manifest_file, sha256) = match written {
            Ok(written) => written,
            Err(e) => {
                documents.abandon();
                return Err(e);
            }
        };
        phase("recording the draw (its documents written meanwhile)");
        let mut failed = None;
        let recorded = record_current(
            store,
            inputs,
            (manifest, excluded, (&manifest_file, sha256)),
            read,
            &mut |step| {
                if step == "audit" {
                    if let Err(e) = documents.finish(files) {
                        let shown = e.to_string();
                        failed = Some(e);
                        return Err(StoreError::Stopped(shown));
                    }
                    probe::point("draw.recording");
                }
                Ok(())
            },
        );
        documents.abandon();
        match (recorded, failed) {
            (Err(_), Some(e)) => Err(e),
            (recorded, _) => recorded,
        }
    })
}

/// Sets a draw's "manifest written" to false when it goes, unless it was set.
struct Unwritten<'a>(&'a std::sync::OnceLock<bool>);

impl Drop for Unwritten<'_> {
    fn drop(&mut self) {
        let _ = self.0.set(false);
    }
}

/// Writes the audit bundle into `dir` from the draw's files there (the manifest and the public
/// bundle, copied as they are read), the rules archive, and the registry snapshots (the target
/// snapshot copied from its file when the registry was frozen as one). `v2`: a
/// `suiji-audit-bundle/2`, without the public bundle and, when the registry was frozen as a
/// snapshot file (kept by its hash), without the target snapshot.
fn write_audit_bundle(
    model: &crate::rules::model::Model,
    frozen: &Frozen,
    dir: &Path,
    v2: bool,
) -> Result<(), IssueError> {
    let targets = match &frozen.file {
        Some(f) => AuditTargets::File(&f.snapshot.path),
        None => AuditTargets::Bytes(&frozen.targets_bytes),
    };
    let held = (
        model.rules_archive.as_slice(),
        targets,
        frozen.inspectors_bytes.as_slice(),
    );
    write_audit_of((dir, &dir.join(MANIFEST_FILE)), v2, held).map_err(IssueError::Output)
}

/// A draw's target snapshot as its audit bundle holds it: its file (kept by its hash), or its
/// bytes (kept in the database).
#[derive(Clone, Copy)]
pub(crate) enum AuditTargets<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

/// Writes the audit bundle of the draw whose public bundle is in `dir` there, with its manifest
/// (the file `manifest`), rules archive, target snapshot and inspector snapshot (a draw's, or a
/// recorded draw's rebuilt by `regenerate`).
pub(crate) fn write_audit_of(
    (dir, manifest): (&Path, &Path),
    v2: bool,
    (rules, targets, inspectors): (&[u8], AuditTargets<'_>, &[u8]),
) -> Result<(), String> {
    use crate::jobs::bundle::{AUDIT_FILE, Record, write_audit, write_audit_v2};
    let public = dir.join(PUBLIC_FILE);
    let (kept_as_file, targets) = match targets {
        AuditTargets::File(path) => (true, Record::File(path)),
        AuditTargets::Bytes(bytes) => (false, Record::Bytes(bytes)),
    };
    let path = dir.join(AUDIT_FILE);
    let write = |file: std::fs::File| {
        let out = std::io::BufWriter::new(file);
        if v2 {
            let held = [
                Record::File(manifest),
                Record::Bytes(rules),
                Record::Bytes(inspectors),
            ];
            return write_audit_v2(out, held, (!kept_as_file).then_some(targets));
        }
        let held = [
            Record::File(manifest),
            Record::File(&public),
            Record::Bytes(rules),
            targets,
            Record::Bytes(inspectors),
        ];
        write_audit(out, held)
    };
    std::fs::File::create(&path)
        .and_then(write)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// How many times a draw is drawn (or recorded) again when the records its history and loads
/// come from moved while it was computed (another process recorded a draw or a change). Each
/// refusal means another writer recorded something, so writers cannot hold each other back
/// forever: a draw is drawn again at most once for each draw or change recorded meanwhile.
/// Two processes working through a backlog of the same year refuse each other's attempts
/// often, and one process's draw can be refused once for every draw the other records: three
/// attempts, then eight, did not always outlast a backlog of fifteen draws on a loaded
/// machine; sixteen outlast any backlog of up to sixteen draws shared by two processes.
const ATTEMPTS: usize = 16;

/// Records the draw drawn from the history whose digest is `hist` ([`History::digest`]), read
/// when the records stood at `epoch`, with its
/// archived inputs: refused inside the transaction when a draw or change was recorded since.
/// Then the history is read again: the same (a draw or change that does not touch it), the
/// draw is recorded as it is; another, [`IssueError::LoadsChanged`] (it must be drawn again).
fn record_current(
    store: &mut dyn DrawStore,
    (loaded, frozen, req): (&Loaded, &Frozen, &Request),
    (manifest, excluded, manifest_file): (&Arc<Manifest>, &[Exclusion], (&Path, String)),
    (mut epoch, hist): (Option<LoadsEpoch>, &[u8; 32]),
    probe: &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
) -> Result<i64, IssueError> {
    let d = &req.draw;
    for _ in 0..ATTEMPTS {
        match record(
            store,
            loaded,
            frozen,
            req,
            (manifest, excluded, (manifest_file.0, &manifest_file.1)),
            (epoch, &mut *probe),
        ) {
            Err(StoreError::LoadsChanged) => {
                epoch = Some(store.loads_epoch()?);
                if draw_history(loaded, store, frozen, req)?.digest() != *hist {
                    break;
                }
            }
            done => return done.map_err(|e| recording_failed(d, e)),
        }
    }
    Err(IssueError::LoadsChanged(ATTEMPTS))
}

/// Records the draw with its archived inputs, in one transaction; refused with
/// [`StoreError::LoadsChanged`] when a draw or change was recorded since `epoch`.
/// The manifest's text is read from `manifest_file` as it is stored (never held whole).
fn record(
    store: &mut dyn DrawStore,
    loaded: &Loaded,
    frozen: &Frozen,
    req: &Request,
    (manifest, excluded, (manifest_file, sha256)): (&Arc<Manifest>, &[Exclusion], (&Path, &str)),
    (epoch, probe): (
        Option<LoadsEpoch>,
        &mut dyn FnMut(&'static str) -> Result<(), StoreError>,
    ),
) -> Result<i64, StoreError> {
    let rows = frozen.info.targets_rows as u64;
    match &frozen.file {
        Some(f) => store.put_snapshot_file(
            SnapshotKind::Targets,
            rows,
            (&f.snapshot.sha256, f.snapshot.size),
        )?,
        None => store.put_snapshot(SnapshotKind::Targets, rows, &frozen.targets_bytes)?,
    };
    store.put_snapshot(
        SnapshotKind::Inspectors,
        frozen.info.inspectors_rows as u64,
        &frozen.inspectors_bytes,
    )?;
    store.put_snapshot(SnapshotKind::Rules, 1, &loaded.model.rules_archive)?;
    let mut new = new_draw(req, (manifest, excluded, String::new()), frozen);
    new.manifest_file = Some(manifest_file.to_path_buf());
    new.manifest_file_sha256 = Some(sha256.to_string());
    let redraw = match &req.redraw {
        Some(reason) => Redraw::Yes {
            reason: reason.clone(),
            replaces: req.replaces,
        },
        None => Redraw::No,
    };
    store.record_draw_checked(&new, redraw, epoch, probe)
}

/// Where a draw's staged folder goes: the draw's folder, the files of the draw it replaces
/// kept aside as `<period>.superseded-<id>`.
fn folder_layout(folder: &Path, period: &str, draw_id: i64) -> Layout {
    Layout::Folder {
        dest: folder.to_path_buf(),
        aside: superseded_folder(folder, period, draw_id),
    }
}

/// Puts a recorded draw's files in place when a crash between recording the draw and moving
/// its files (or a failed move) left them in a staging folder. Returns whether it moved them.
pub fn restore_files(output_dir: &Path, draw: &DrawRow) -> bool {
    let folder = draw_folder(output_dir, &draw.record.matter, &draw.record.period);
    let Some(parent) = folder.parent() else {
        return false;
    };
    let prefix = format!(".{}.staging-", draw.record.period);
    if manifest_hash_in(&folder).as_deref() == Some(draw.record.manifest_hash.as_str()) {
        // In place already (another process placed it, or it was regenerated): a staged copy
        // of the same draw left by an ended process is removed.
        let hash = draw.record.manifest_hash.as_str();
        place::sweep(parent, &prefix, |staged| {
            manifest_hash_in(staged).as_deref() != Some(hash)
        });
        return false;
    }
    let recorded = Some(draw.record.manifest_hash.as_str());
    let placed = place::restore(parent, &prefix, |staged| {
        (manifest_hash_in(staged).as_deref() == recorded
            && manifest_hash_in(&folder).as_deref() != recorded)
            .then(|| folder_layout(&folder, &draw.record.period, draw.id))
    });
    !placed.is_empty()
}

/// The `manifest_hash` of the manifest.json in `dir`, if there is one: the file parsed as it
/// is read, every other member skipped without being kept (a national draw's manifest is a
/// hundred and fifty megabytes of JSON).
pub(crate) fn manifest_hash_in(dir: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Claimed {
        manifest_hash: String,
    }
    let file = std::fs::File::open(dir.join("manifest.json")).ok()?;
    let read = std::io::BufReader::with_capacity(1 << 16, file);
    serde_json::from_reader::<_, Claimed>(read)
        .ok()
        .map(|c| c.manifest_hash)
}

fn kind_for_store(kind: DrawKind, actor: &str) -> String {
    match kind {
        DrawKind::Holiday(_) => "holiday".into(),
        DrawKind::Regular if actor == "scheduler" || actor == "simulate" => "scheduled".into(),
        DrawKind::Regular => "manual".into(),
    }
}

/// The targets the draw excluded and the inspectors it skipped, as store rows. The excluded
/// targets are those of the manifest, or of its detail file (`excluded`, given when there are
/// at most [`EXCLUSIONS_LISTED_UP_TO`]) for a `suiji-manifest/3` or `/4`. Above
/// [`EXCLUSIONS_LISTED_UP_TO`] of them, one row per reason holds their count (the id `*` and
/// the detail `<n> 户（名单见 exclusions.csv）`); the draw's folder lists them.
fn exclusion_rows(m: &Manifest, excluded: &[Exclusion]) -> Vec<ExclusionRow> {
    let (listed, many) = match &m.exclusion_summary {
        Some(s) => (excluded, s.rows > EXCLUSIONS_LISTED_UP_TO as u64),
        None => (
            &m.exclusions[..],
            m.exclusions.len() > EXCLUSIONS_LISTED_UP_TO,
        ),
    };
    let mut exclusions: Vec<ExclusionRow> = if many {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        match &m.exclusion_summary {
            // The detail file's counts by stratum and reason, summed by reason.
            Some(s) => {
                for t in &s.counts {
                    *counts.entry(t.reason.as_str()).or_default() += t.count;
                }
            }
            None => {
                for e in listed {
                    *counts.entry(e.reason.as_str()).or_default() += 1;
                }
            }
        }
        counts
            .into_iter()
            .map(|(reason, n)| ExclusionRow {
                entity_kind: EntityKind::Target,
                entity_id: EXCLUSIONS_SUMMARY_ID.to_string(),
                reason_code: reason.to_string(),
                detail: format!("{n} {EXCLUSIONS_SUMMARISED}"),
            })
            .collect()
    } else {
        listed
            .iter()
            .map(|e| ExclusionRow {
                entity_kind: EntityKind::Target,
                entity_id: e.target_id.clone(),
                reason_code: e.reason.clone(),
                detail: e.detail.clone(),
            })
            .collect()
    };
    exclusions.extend(m.inspector_skips.iter().map(|s| ExclusionRow {
        entity_kind: EntityKind::Inspector,
        entity_id: s.inspector_id.clone(),
        reason_code: s.reason.clone(),
        detail: format!("{}: {}", s.target_id, s.detail),
    }));
    exclusions
}

/// The store's rows of a draw; `manifest_json`: the manifest's pretty JSON
/// ([`Manifest::to_file_json`]), as its folder's `manifest.json` holds it; `excluded`: the
/// excluded targets of a `suiji-manifest/3` (its detail file's rows). The target and team rows
/// are lent: made from the manifest as they are stored, never all copied.
fn new_draw(
    req: &Request,
    (m, excluded, manifest_json): (&Arc<Manifest>, &[Exclusion], String),
    frozen: &Frozen,
) -> NewDraw {
    let names = frozen
        .registry
        .inspectors
        .iter()
        .map(|i| (i.id.clone(), i.name.clone()))
        .collect();
    let unstaffed = m
        .selected
        .iter()
        .filter_map(|s| {
            s.unstaffed.as_ref().map(|reason| UnstaffedRow {
                target_id: s.target_id.clone(),
                reason: reason.clone(),
            })
        })
        .collect();
    let exclusions = exclusion_rows(m, excluded);
    NewDraw {
        record: DrawRecord {
            matter: m.matter.clone(),
            period: m.period.id.clone(),
            kind: kind_for_store(req.draw.kind, &req.actor),
            algorithm: m.algorithm.clone(),
            seed_hex: m.seed.clone(),
            seed_source: m.seed_source.clone(),
            rules_hash: m.rules_hash.clone(),
            targets_snapshot: frozen.info.targets_snapshot.clone(),
            inspectors_snapshot: frozen.info.inspectors_snapshot.clone(),
            reference_date: m.reference_date.to_string(),
            issue_date: req.draw.issue_date().to_string(),
            due_date: m.due_date.to_string(),
            created_at: req.created_at.clone(),
            actor: req.actor.clone(),
            manifest_json,
            manifest_hash: m.manifest_hash.clone(),
            provisional: req.provisional,
        },
        targets: Vec::new(),
        teams: Vec::new(),
        unstaffed,
        exclusions,
        manifest_file: None,
        manifest_file_sha256: None,
        lent: Some(LentRows(Arc::new(ManifestRows {
            manifest: Arc::clone(m),
            names,
        }))),
    }
}

/// A draw's target rows (its selections) and team rows (their members, with the names the
/// inspector registry gives), made from its manifest as the store reads them.
struct ManifestRows {
    manifest: Arc<Manifest>,
    /// Inspector id → name.
    names: rustc_hash::FxHashMap<String, String>,
}

impl DrawRows for ManifestRows {
    fn targets(&self) -> Box<dyn Iterator<Item = TargetRowRef<'_>> + '_> {
        Box::new(self.manifest.selected.iter().map(|s| TargetRowRef {
            stratum: &s.stratum,
            rank: s.rank,
            target_id: &s.target_id,
            target_name: &s.target_name,
            selected: true,
            substitute: false,
            substitute_for: None,
            rank_key: Some(&s.key),
        }))
    }

    fn teams(&self) -> Box<dyn Iterator<Item = TeamRowRef<'_>> + '_> {
        Box::new(self.manifest.selected.iter().flat_map(move |s| {
            s.team.iter().enumerate().map(move |(pos, id)| TeamRowRef {
                target_id: &s.target_id,
                position: pos as u32,
                inspector_id: id,
                inspector_name: self.names.get(id).map_or("", String::as_str),
            })
        }))
    }
}

/// Loads and freezes the registries named in the config, or returns every problem.
pub fn freeze_registry(loaded: &Loaded) -> Result<Frozen, Vec<crate::diag::Diagnostic>> {
    let cfg = &loaded.model.config;
    let known = crate::registry::Known::from_model(&loaded.model);
    let (registry, warnings) = crate::registry::check(
        &cfg.registries.targets,
        &cfg.registries.inspectors,
        &cfg.root,
        &known,
    )?;
    let first = cfg.registries.targets.first().map(|p| p.as_path());
    if let Some(empty) = crate::registry::require_targets(&registry, first, &cfg.root) {
        return Err(warnings.into_iter().chain([empty]).collect());
    }
    Ok(Frozen::new(registry))
}

/// Registries of at least this many targets have their progress logged (target
/// `suiji::progress`).
pub(crate) const PROGRESS_ROWS: usize = 1_000_000;

/// Freezes the registries for a draw recorded in `store`: a target registry that is one UTF-8
/// CSV file is checked in bounded memory and its canonical snapshot written once, by its hash,
/// to the database's snapshot folder (shared by every draw of that registry version); any
/// other is loaded whole ([`freeze_registry`]).
pub(crate) fn freeze(
    loaded: &Loaded,
    store: &dyn DrawStore,
) -> Result<Frozen, Vec<crate::diag::Diagnostic>> {
    freeze_into(loaded, &store.snapshot_dir())
}

/// [`freeze`], the snapshot written to `dir` (a database's snapshot folder).
pub(crate) fn freeze_into(
    loaded: &Loaded,
    dir: &std::path::Path,
) -> Result<Frozen, Vec<crate::diag::Diagnostic>> {
    freeze_in(loaded, dir, Hash::Now)
}

/// [`freeze`] for a draw, which confirms the registry ([`Frozen::confirmed`]) before it records
/// anything and is drawn again from a registry frozen by [`freeze`] when it is not
/// ([`IssueError::RegistryChanged`]): a target file that looks as it did when a check noted it
/// clean is taken for that version while its bytes are hashed on a thread of their own, beside
/// the draw (a year's later draws of a national registry hash 1.5 GB), instead of before it.
pub(crate) fn freeze_trusting(
    loaded: &Loaded,
    store: &dyn DrawStore,
) -> Result<Frozen, Vec<crate::diag::Diagnostic>> {
    freeze_in(loaded, &store.snapshot_dir(), Hash::Beside)
}

/// Says (target `suiji::progress`) that the target registry, of `rows` rows, is the version
/// frozen before to the snapshot `sha256`, so its rows are not read again.
fn said_checked_before(rows: usize, sha256: &str) {
    // Told on the terminal for a registry large enough to show progress for; a county's
    // (each of a simulated year's draws) only in the log's debug lines.
    let text = format!(
        "the target registry is the version checked and frozen before (snapshot {}): its rows are not read again",
        &sha256[..sha256.len().min(12)]
    );
    if rows >= PROGRESS_ROWS {
        tracing::info!(target: "suiji::progress", rows, "{text}");
    } else {
        tracing::debug!(target: "suiji::progress", rows, "{text}");
    }
}

/// When a target file taken for the version a check noted has its bytes hashed to confirm it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    /// Before the registry is given out.
    Now,
    /// Beside what is made of it: the registry is given out unconfirmed ([`Unconfirmed`]).
    Beside,
}

fn freeze_in(
    loaded: &Loaded,
    dir: &std::path::Path,
    hash: Hash,
) -> Result<Frozen, Vec<crate::diag::Diagnostic>> {
    let what = "checking and freezing the target registry";
    match freeze_streamed_as(loaded, dir, what, hash) {
        None => freeze_registry(loaded),
        Some(result) => result.map(|(frozen, _warnings)| frozen),
    }
}

/// The registries checked as `registry check` checks them, the target file read in bounded
/// memory ([`crate::registry::check_streamed`], its progress logged as `what`), and frozen
/// with the targets' canonical snapshot in `dir`, named by its SHA-256: written there, unless
/// the file looks as it did when it last froze to a snapshot still there and its canonical
/// form hashes to that snapshot's name ([`kept`]: a registry is frozen once per version);
/// with the check's warnings, and the target file's columns as the registry's
/// `target_columns`. `None` when the target registry is not one UTF-8 CSV file with rows:
/// [`freeze_registry`] loads it whole.
pub(crate) fn freeze_streamed(
    loaded: &Loaded,
    dir: &std::path::Path,
    what: &'static str,
) -> Option<crate::registry::Checked<Frozen>> {
    freeze_streamed_as(loaded, dir, what, Hash::Now)
}

fn freeze_streamed_as(
    loaded: &Loaded,
    dir: &std::path::Path,
    what: &'static str,
    hash: Hash,
) -> Option<crate::registry::Checked<Frozen>> {
    let cfg = &loaded.model.config;
    let file = match cfg.registries.targets.as_slice() {
        [one] => Some(one.as_path()),
        _ => None,
    };
    let before = file.and_then(kept::look);
    let noted = file
        .zip(before)
        .and_then(|(f, look)| kept::noted(dir, f, look));
    let again = noted
        .as_ref()
        .zip(file)
        .and_then(|(n, f)| taken_again(loaded, dir, (n, f, before), hash));
    if let Some(frozen) = again {
        return Some(Ok((frozen, Vec::new())));
    }
    // Noted (again) with the check, when it found nothing to say.
    let noting = |frozen: &Frozen, warnings: &[crate::diag::Diagnostic]| {
        if let (Some(f), Some(snapshot)) = (file, &frozen.file) {
            let known = &snapshot.known;
            let rows = frozen.info.targets_rows as u64;
            let clean =
                crate::registry::CleanCheck::of(&frozen.registry.sources, rows, known, warnings);
            kept::note(
                dir,
                f,
                (before, kept::look(f)),
                &snapshot.snapshot,
                clean.as_ref(),
            );
        }
    };
    let written = |frozen: crate::registry::Checked<Option<Frozen>>| {
        frozen.and_then(|(frozen, warnings)| {
            let frozen = frozen.ok_or_else(|| {
                vec![crate::diag::Diagnostic::error(
                    "the registry snapshot was checked but not written",
                )]
            })?;
            noting(&frozen, &warnings);
            Ok((frozen, warnings))
        })
    };
    let Some(noted) = noted else {
        return freeze_pass(loaded, dir, what, None).map(written);
    };
    match freeze_pass(loaded, dir, what, Some(&noted))? {
        Err(e) => Some(Err(e)),
        Ok((Some(frozen), warnings)) => {
            noting(&frozen, &warnings);
            Some(Ok((frozen, warnings)))
        }
        // The file was changed and kept its look: frozen again, written.
        Ok((None, _)) => {
            tracing::info!(target: "suiji::progress", "the target registry changed since its snapshot was noted: freezing it again");
            freeze_pass(loaded, dir, what, None).map(written)
        }
    }
}

/// The registry frozen as the note `n` of the target file `f` says, without its rows read
/// again ([`checked_before`]), when `hash` finds, or is left to find, the file's bytes the
/// checked ones; `before`: how the file looked before it was read.
fn taken_again(
    loaded: &Loaded,
    dir: &std::path::Path,
    (n, f, before): (&kept::Noted, &std::path::Path, Option<kept::Look>),
    hash: Hash,
) -> Option<Frozen> {
    let (mut frozen, hashing) = checked_before(loaded, dir, n)?;
    match hash {
        // Taken only while the file still looks as it did when it was hashed.
        Hash::Now => {
            let same = hashing.is_the_checked() && kept::look(f) == before;
            if same {
                said_checked_before(frozen.info.targets_rows, &n.sha256);
            }
            same.then_some(frozen)
        }
        Hash::Beside => {
            let text = format!(
                "the target registry looks like the version checked and frozen before (snapshot {}): the draw starts from that snapshot while the file's bytes are hashed, and is recorded only if they are the ones checked",
                &n.sha256[..n.sha256.len().min(12)]
            );
            if frozen.info.targets_rows >= PROGRESS_ROWS {
                tracing::info!(target: "suiji::progress", "{text}");
            } else {
                tracing::debug!(target: "suiji::progress", "{text}");
            }
            frozen.unconfirmed = Some(Arc::new(Unconfirmed {
                hashing: std::sync::Mutex::new(Some(hashing)),
                file: f.to_path_buf(),
                look: before,
                snapshot: n.sha256.clone(),
                outcome: std::sync::OnceLock::new(),
            }));
            Some(frozen)
        }
    }
}

/// The registry frozen as `noted` says, without reading its rows, when the note keeps a check
/// that found nothing to say and the target file is the one it checked, checked the same way
/// ([`crate::registry::check_again`]: the inspectors read while its bytes are hashed),
/// with the hashing of its bytes, which must say they are the checked ones before the registry
/// is used for more than a draw not yet recorded; `None` otherwise.
fn checked_before(
    loaded: &Loaded,
    dir: &std::path::Path,
    noted: &kept::Noted,
) -> Option<(Frozen, crate::registry::SourceHashing)> {
    let cfg = &loaded.model.config;
    let clean = noted.clean.as_ref()?;
    let known = crate::registry::Known::from_model(&loaded.model);
    let snapshot = crate::registry::SnapshotFile {
        path: dir.join(format!("{}.csv", noted.sha256)),
        sha256: noted.sha256.clone(),
        size: noted.size,
    };
    let (streamed, hashing) = crate::registry::check_again(
        &cfg.registries.targets,
        &cfg.registries.inspectors,
        &cfg.root,
        &known,
        (clean, snapshot),
    )?;
    let mut frozen = Frozen::of_file(
        streamed.inspectors,
        streamed.sources,
        streamed.targets_rows,
        FrozenFile {
            snapshot: streamed.snapshot,
            known,
        },
    );
    frozen.registry.target_columns = streamed.target_columns;
    Some((frozen, hashing))
}

/// One pass of [`freeze_streamed`]: the snapshot written to `dir` when `noted` is `None`, else
/// only hashed and the snapshot `noted` names used when the hash is its name (`None` when it
/// is not; a pass that writes always gives a registry).
fn freeze_pass(
    loaded: &Loaded,
    dir: &std::path::Path,
    what: &'static str,
    noted: Option<&kept::Noted>,
) -> Option<crate::registry::Checked<Option<Frozen>>> {
    let cfg = &loaded.model.config;
    let known = crate::registry::Known::from_model(&loaded.model);
    let dir = dir.to_path_buf();
    let cannot = |e: std::io::Error| {
        vec![
            crate::diag::Diagnostic::error(format!(
                "cannot write the registry snapshot in {}: {e}",
                dir.display()
            ))
            .help("check that the data folder is writable and has room for a copy of the target registry"),
        ]
    };
    let work = std::fs::create_dir_all(&dir)
        .and_then(|()| tempfile::Builder::new().prefix(".work-").tempdir_in(&dir));
    let work = match work {
        Ok(w) => w,
        Err(e) => return Some(Err(cannot(e))),
    };
    let staged = work.path().join("targets.csv");
    let on_rows = progress(what);
    let to = crate::registry::StreamTo {
        snapshot: noted.is_none().then_some(staged.as_path()),
        work: work.path(),
        on_rows: &on_rows,
    };
    let checked = crate::registry::check_streamed(
        &cfg.registries.targets,
        &cfg.registries.inspectors,
        &cfg.root,
        &known,
        &to,
    )?;
    Some(checked.and_then(|(streamed, warnings)| {
        let mut snapshot = streamed.snapshot;
        let placed = dir.join(format!("{}.csv", snapshot.sha256));
        let file = match noted {
            None => {
                std::fs::rename(&snapshot.path, &placed).map_err(cannot)?;
                snapshot.path = placed;
                Some(FrozenFile { snapshot, known })
            }
            Some(n) if n.sha256 == snapshot.sha256 && n.size == snapshot.size => {
                snapshot.path = placed;
                Some(FrozenFile { snapshot, known })
            }
            Some(_) => None,
        };
        let Some(file) = file else {
            return Ok((None, warnings));
        };
        let mut frozen = Frozen::of_file(
            streamed.inspectors,
            streamed.sources,
            streamed.targets_rows,
            file,
        );
        frozen.registry.target_columns = streamed.target_columns;
        Ok((Some(frozen), warnings))
    }))
}

/// A counter of rows read that logs (target `suiji::progress`) each million.
pub(crate) fn progress(what: &'static str) -> impl Fn(u64) + Sync {
    each_million(move |rows| tracing::info!(target: "suiji::progress", rows, "{what}"))
}

/// A counter of rows read that calls `tell` with each million it passes, once each.
fn each_million(tell: impl Fn(u64) + Sync) -> impl Fn(u64) + Sync {
    let told = std::sync::atomic::AtomicU64::new(0);
    move |rows| {
        let million = rows / PROGRESS_ROWS as u64;
        if million > told.fetch_max(million, std::sync::atomic::Ordering::Relaxed) {
            tell(million * PROGRESS_ROWS as u64);
        }
    }
}

/// Used by callers that need the calendar for a scheduled draw of a matter and period id.
pub(crate) fn find_scheduled(
    loaded: &Loaded,
    cal: &Calendar,
    matter: &str,
    period: &str,
) -> Result<Option<ScheduledDraw>, crate::calendar::CalendarError> {
    let Some(m) = loaded.model.matter(matter) else {
        return Ok(None);
    };
    let year: i32 = period.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    let all = crate::schedule::matter_schedule(m, cal, year, loaded.model.config.timezone)?;
    // Either form of a cron period's id names it (docs/draw-algorithm.md V2-15).
    let key = crate::schedule::period_key(period);
    Ok(all.into_iter().find(|s| s.period.id == key))
}
