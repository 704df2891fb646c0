//! The draw: one pipeline of phases over a row source.
//!
//! 1. **Classify** (the source): every row's scope, exclusions (deregistered, cooldown, yearly
//!    cap, the `eligible` hook), stratum and weight (the `weight` hook), reduced to groups of
//!    rows treated alike; for each row drawn from, the first 8 bytes of its key.
//! 2. **Plan** (`plan`): each stratum's size and k from the counts; for risk-weighted draws, λ
//!    and the capping from the stratum's weight histogram.
//! 3. **Select** (`choose`): the best k of each stratum with one bounded top-k, their full
//!    keys, and the one draw order (`draw::select::draw_order`).
//! 4. **Teams** (`teams`): inspector teams in (stratum, rank) order, with 回避 and workload caps.
//! 5. **Manifest**: the exclusions (listed, or summarised above a limit; in a
//!    `suiji-manifest/3`, counted, their list going to a detail file whose hash the manifest
//!    records), history, sealed.
//!
//! A [`Source`] is either rows in memory ([`Source::Memory`], a loaded or frozen registry) or a
//! registry file ([`Source::Csv`]) read in parallel with bounded memory: 16 bytes per row drawn
//! from, hooks run once per distinct input, the drawn rows read again at the end (file reading
//! and tokenising live in `registry::source`). Both give the same manifest for the same rows
//! (`tests/stream_equivalence.rs`). Nothing here reads the clock, the OS's randomness or a
//! random number generator.
//!
//! # Exclusions above the listing limit
//!
//! When more targets are excluded than [`Options::list_exclusions_up_to`] (no limit by
//! default), the list is **summarised**: one entry per (stratum, reason) with an empty
//! `target_id`, the reason code, and the detail `分层“<stratum>”：<n> 户（名单从略）`, sorted by
//! stratum, then reason (deregistered, cooldown, yearly_cap, eligible_hook). The stratum of an
//! excluded target is the one it would have been drawn in. The same counts are in
//! [`Drawn::exclusion_counts`].
//!
//! # A registry file
//!
//! The file must be UTF-8 CSV (a byte-order mark is allowed; GBK and workbooks are not read);
//! the header is found and mapped by the registry reader itself. Every column the draw reads
//! is checked in every row in scope as the registry reader checks it; a bad row fails the draw
//! with the registry reader's own diagnostics for it, at the file's line. Columns the draw does
//! not read, rows out of scope and duplicate ids are **not** checked: run
//! `suiji registry check` first. `registry` in the manifest is taken from the input as given.

mod choose;
mod detail;
mod file;
mod frame;
mod memory;
mod plan;
mod rows;
mod rules;
mod teams;
pub(crate) use teams::matter_team;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;

use crate::diag::Diagnostic;
use crate::draw::bundle::PublicBundle;
use crate::draw::manifest::{
    CarriedLoad, EXCLUSIONS_FILE, Exclusion, ExclusionSummary, ExclusionTally, HistoryEntry,
    MANIFEST_FORMAT, MANIFEST_FORMAT_V2, MANIFEST_FORMAT_V3, MANIFEST_FORMAT_V4,
    MANIFEST_FORMAT_V5, MANIFEST_FORMAT_V6, Manifest, PeriodInfo, RegistryInfo,
};
use crate::draw::{Algorithm, Seed, TeamSpec};
use crate::registry::Known;
use crate::registry::canonical::CellRows;
use crate::registry::source::SourceError;
use crate::registry::types::{Inspector, Target};
use crate::rules::model::{Matter, Ratio};
use crate::schedule::{DrawKind, Period};
use crate::script::{HookError, Sandbox};

use plan::Fate;
pub use rows::OnRows;
use rows::{Classified, RowSource};
use rules::Rules;

pub(crate) use crate::registry::types::CLEAN_RESULTS;

/// The draw's history in its entries' id order, borrowed (a national year's later draws have
/// hundreds of thousands): an entry's place, what [`Classified::history_used`] records, is its
/// index. A reader finds a target's entry from where its last search ended
/// ([`HistoryPlaces::find`]): rows that come in id order, as a snapshot's and a registry held
/// in memory come, are matched by walking the ids beside them, a comparison or two per row on
/// memory read in order, where a hash table's probes land on random cache lines (a year's
/// second national draw looks up 9.4 million ids among 367,435).
#[derive(Debug, Default)]
pub(crate) struct HistoryPlaces<'h> {
    ids: Vec<&'h str>,
    entries: Vec<&'h HistoryEntry>,
}

impl<'h> HistoryPlaces<'h> {
    pub(crate) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The entry of target `id` and its place. `cursor` is where the reader's last search
    /// ended (0 before the first): an id past it is found by steps that double from there, any
    /// other by a search of the whole.
    pub(crate) fn find(&self, id: &str, cursor: &mut usize) -> Option<(u32, &'h HistoryEntry)> {
        let ids = &self.ids;
        let from = (*cursor).min(ids.len());
        let at = if from > 0 && ids[from - 1] >= id {
            ids.partition_point(|x| *x < id)
        } else {
            // Every id before `low` sorts before `id`; the first that does not is at most `high`.
            let (mut low, mut high, mut step) = (from, from, 1);
            while high < ids.len() && ids[high] < id {
                low = high + 1;
                high = high.saturating_add(step).min(ids.len());
                step *= 2;
            }
            low + ids[low..high].partition_point(|x| *x < id)
        };
        *cursor = at;
        match (ids.get(at), self.entries.get(at)) {
            (Some(&found), Some(&entry)) if found == id => Some((at as u32, entry)),
            _ => None,
        }
    }
}

/// Earlier inspections that exclusions depend on, recorded in the manifest so a verifier
/// sees exactly what the draw saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Target id → (times drawn this year by any matter, last clean inspection date).
    pub entries: BTreeMap<String, HistoryEntry>,
    /// `suiji-draw/2`: inspector id → the visits they are on in the other standing draws whose
    /// period overlaps this one's (docs/draw-algorithm.md V2-16). The team step starts from
    /// these loads, so a workload cap holds across every draw of a period; the manifest records
    /// them (`carried_loads`) and a re-run takes them from there.
    pub carried: BTreeMap<String, u32>,
}

impl History {
    /// The history a manifest records: its targets' entries and the loads carried in.
    pub fn of_manifest(m: &Manifest) -> History {
        History {
            entries: m
                .history
                .iter()
                .map(|h| (h.target_id.clone(), h.clone()))
                .collect(),
            carried: m
                .carried_loads
                .iter()
                .flatten()
                .map(|c| (c.inspector_id.clone(), c.load))
                .collect(),
        }
    }

    /// Each entry by target id, with its place in the entries' id order (what
    /// [`Classified::history_used`] records).
    pub(crate) fn places(&self) -> HistoryPlaces<'_> {
        HistoryPlaces {
            ids: self.entries.keys().map(String::as_str).collect(),
            entries: self.entries.values().collect(),
        }
    }

    /// The entries at `places` (ascending, as [`History::places`] numbers them), each with
    /// its target id, in id order.
    fn at_places(&self, places: &[u32]) -> Vec<HistoryEntry> {
        let mut wanted = places.iter().copied().peekable();
        let mut out = Vec::with_capacity(places.len());
        for ((id, h), at) in self.entries.iter().zip(0u32..) {
            let Some(&next) = wanted.peek() else {
                break;
            };
            if next == at {
                wanted.next();
                out.push(HistoryEntry {
                    target_id: id.clone(),
                    inspections_this_year: h.inspections_this_year,
                    last_clean: h.last_clean,
                });
            }
        }
        out
    }

    /// A digest of the whole history (SHA-256 over every entry and load, in order): two
    /// histories are equal exactly when their digests are, so a draw may let go of the history
    /// it drew from (a year's later national draw's runs to tens of megabytes) and still tell
    /// whether the records read again give the same.
    pub fn digest(&self) -> [u8; 32] {
        use chrono::Datelike as _;
        use sha2::{Digest as _, Sha256};
        let mut h = Sha256::new();
        let text = |h: &mut Sha256, t: &str| {
            h.update((t.len() as u64).to_be_bytes());
            h.update(t.as_bytes());
        };
        h.update((self.entries.len() as u64).to_be_bytes());
        for (id, e) in &self.entries {
            text(&mut h, id);
            text(&mut h, &e.target_id);
            h.update(e.inspections_this_year.to_be_bytes());
            match e.last_clean {
                Some(d) => {
                    h.update([1]);
                    h.update(d.num_days_from_ce().to_be_bytes());
                }
                None => h.update([0]),
            }
        }
        h.update((self.carried.len() as u64).to_be_bytes());
        for (id, load) in &self.carried {
            text(&mut h, id);
            h.update(load.to_be_bytes());
        }
        h.finalize().into()
    }
}

/// Everything a draw depends on besides its rows.
#[derive(Debug, Clone)]
pub struct DrawInput<'a> {
    /// The algorithm (and manifest format) of the draw: [`Algorithm::LATEST`] for new draws,
    /// the recorded one when re-running.
    pub algorithm: Algorithm,
    pub bureau: &'a str,
    pub matter: &'a Matter,
    pub rules_hash: &'a str,
    pub period: &'a Period,
    pub kind: DrawKind,
    pub ratio: Ratio,
    pub key_area_only: bool,
    pub reference_date: NaiveDate,
    pub issue_at: String,
    pub due: NaiveDate,
    pub seed: Seed,
    pub seed_source: &'a str,
    pub inspectors: &'a [Inspector],
    pub registry: RegistryInfo,
    pub history: &'a History,
    /// `suiji-draw/2`: the team to draw, when not the matter's own (a joint visit: members
    /// from several departments covering qualifications together, loads carried in). `None`:
    /// the matter's department, team size, qualifications and workload cap.
    pub team: Option<TeamSpec>,
    /// `suiji-manifest/2`: when the draw was really made (the issuing job's clock, e.g.
    /// `2025-01-02T09:00:03+08:00`), beside the scheduled `issue_at`; a re-run passes the
    /// recorded value.
    pub drawn_at: String,
    /// `suiji-manifest/3` (with `suiji-draw/2` only): the manifest keeps the excluded targets'
    /// summary and the hash of their detail file, which [`Drawn::excluded`] lists
    /// (docs/draw-algorithm.md V2-17). New draws set it; a re-run sets it when the recorded
    /// manifest is `suiji-manifest/3`.
    pub exclusions_in_file: bool,
}

/// The target rows a draw is made from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Rows in memory (a loaded or frozen registry), in any order.
    Memory(&'a [Target]),
    /// One UTF-8 CSV registry file, read in parallel with bounded memory; `known` holds the
    /// categories it may use (as for `registry::load`; empty: any).
    Csv { path: &'a Path, known: &'a Known },
}

/// Why a draw could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DrawFailure {
    #[error("{0}")]
    Hook(#[from] HookError),
    #[error("hook `{hook}` for target {target} returned {got}: it must return {want}")]
    HookType {
        hook: String,
        target: String,
        got: String,
        want: &'static str,
    },
    #[error("{0}")]
    Weights(String),
    /// The hooks of a draw needed more operations than `[scripts] draw_operations` allows.
    #[error(
        "the hooks of {matter} need more than {budget} operations for this draw (the budget \
         `[scripts] draw_operations` in config/suiji.toml); make the hooks do less work per \
         target, or raise the budget"
    )]
    Budget { matter: String, budget: u64 },
    /// Rows of a registry file the registry reader refuses.
    #[error("the target registry has problems ({} found)", .0.len())]
    Registry(Vec<Diagnostic>),
    /// A registry file that could not be read.
    #[error("{0}")]
    Io(String),
}

impl From<SourceError> for DrawFailure {
    fn from(e: SourceError) -> DrawFailure {
        match e {
            SourceError::Registry(d) => DrawFailure::Registry(d),
            io => DrawFailure::Io(io.to_string()),
        }
    }
}

/// The phases of a draw, reported to [`Options::on_phase`] as each begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading, scope, exclusions, hooks (once per distinct input) and keys.
    Classify,
    /// Strata, k and λ from the counts.
    Plan,
    /// The bounded selection per stratum, and the drawn rows' ids and names.
    Select,
    /// Teams (and excluded rows listed).
    Teams,
    /// Building and sealing the manifest.
    Manifest,
    /// Finished.
    Done,
}

/// Told where the drawn targets' rows are ([`Options::on_selected`]).
pub type OnSelected<'a> = dyn Fn(&[u64]) + Sync + 'a;

/// How a draw runs. None of these change its selection.
pub struct Options<'a> {
    /// Threads for the passes over a registry file (each takes one byte range).
    pub threads: usize,
    /// List excluded targets one by one when there are at most this many; summarise otherwise.
    pub list_exclusions_up_to: usize,
    /// Bytes read at a time by each thread.
    pub chunk_bytes: usize,
    /// Called as each phase begins (e.g. to time them); the draw itself reads no clock.
    pub on_phase: Option<&'a (dyn Fn(Phase) + Sync)>,
    /// Told, while a registry file's rows are classified, how many have been so far (every
    /// 65,536 rows a thread reads): a large draw's progress.
    pub on_rows: Option<&'a OnRows<'a>>,
    /// Also return where the drawn targets' rows are ([`Drawn::drawn_at`]), for the draw's
    /// documents.
    pub keep_drawn: bool,
    /// Called once the drawn targets are chosen, before their teams are made, with where their
    /// rows are (in the selection's order): what the documents read of those rows can be read
    /// beside the teams and the seal, which leave a processor idle part of the time.
    pub on_selected: Option<&'a OnSelected<'a>>,
    /// Also return the selection's digest when it is made as the manifest is sealed
    /// ([`Drawn::selected_digest`]), for `verify`.
    pub digest_selection: bool,
    /// What becomes of the excluded targets a `suiji-manifest/3` or `/4` lists in its detail
    /// file.
    pub exclusions: ExclusionsOut<'a>,
}

/// What becomes of the excluded targets a detail file lists (`suiji-manifest/3`, `/4`). With
/// [`ExclusionsOut::Hash`] or [`ExclusionsOut::Write`], a draw whose bundle does not list them
/// (a `/4`) makes the file's lines as it reads the excluded rows again, in position order,
/// which is id order in a registry snapshot, and never holds them all; rows out of id order
/// (a registry file that is not a snapshot) are listed and sorted first, as with
/// [`ExclusionsOut::Keep`].
#[derive(Clone, Copy)]
pub enum ExclusionsOut<'a> {
    /// Returned in [`Drawn::excluded`].
    Keep,
    /// Hashed only; returned in [`Drawn::excluded`] when there are at most `keep_up_to`.
    Hash { keep_up_to: usize },
    /// Written to `file` (the detail file, empty) as they are made, and hashed; returned in
    /// [`Drawn::excluded`] when there are at most `keep_up_to`.
    Write {
        file: &'a std::cell::RefCell<dyn StagedFile>,
        keep_up_to: usize,
    },
}

/// Where a detail file or a public bundle is written: a writer that can be emptied to start
/// again (when the rows turn out not to be in id order).
pub trait StagedFile: std::io::Write {
    /// Empties it, so that what is written next is all it holds.
    fn restart(&mut self) -> std::io::Result<()>;
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            threads: rayon::current_num_threads().max(1),
            list_exclusions_up_to: usize::MAX,
            chunk_bytes: 512 << 10,
            on_phase: None,
            on_rows: None,
            on_selected: None,
            keep_drawn: false,
            digest_selection: false,
            exclusions: ExclusionsOut::Keep,
        }
    }
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("threads", &self.threads)
            .field("list_exclusions_up_to", &self.list_exclusions_up_to)
            .field("chunk_bytes", &self.chunk_bytes)
            .finish_non_exhaustive()
    }
}

impl Options<'_> {
    fn phase(&self, p: Phase) {
        if let Some(f) = self.on_phase {
            f(p);
        }
    }

    /// Tells [`Options::on_selected`] where the drawn rows are.
    fn selected(&self, drawn_at: &[u64]) {
        if let Some(f) = self.on_selected {
            f(drawn_at);
        }
    }
}

/// Excluded targets of one stratum for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExclusionCount {
    pub stratum: String,
    /// deregistered | cooldown | yearly_cap | eligible_hook
    pub reason: String,
    pub count: u64,
}

/// Counts from a draw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rows read (for a file: data rows, blank ones included).
    pub rows: u64,
    /// Targets in the matter's scope (and key area, for key-area draws).
    pub in_scope: u64,
    /// Targets drawn from (in some stratum).
    pub eligible: u64,
    pub excluded: u64,
    pub drawn: u64,
    /// Calls of the eligible and weight hooks.
    pub hook_calls: u64,
    /// Operations of the eligible and weight hooks' answers, summed over the targets (what
    /// `[scripts] draw_operations` bounds; the same for both row sources).
    pub hook_operations: u64,
    /// Threads the pass over the rows used.
    pub threads: usize,
}

/// A draw's result.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub manifest: Manifest,
    /// Excluded targets by stratum and reason, in the order of the summary.
    pub exclusion_counts: Vec<ExclusionCount>,
    /// Whether every excluded target is listed (in `manifest.exclusions`, or in
    /// [`Drawn::excluded`] for a `suiji-manifest/3`), else `manifest.exclusions` is the summary.
    pub exclusions_listed: bool,
    /// `suiji-manifest/3`, `/4`: every excluded target, in id order, as its detail file lists
    /// them (`manifest.exclusion_summary` holds that file's hash), unless
    /// [`Options::exclusions`] says to keep none or only a few. Empty for other formats.
    pub excluded: Vec<Exclusion>,
    pub stats: Stats,
    /// The public bundle, when asked for ([`run_public`]).
    pub bundle: Option<PublicBundle>,
    /// Where the drawn targets' rows are in the source, in its order, when
    /// [`Options::keep_drawn`] asked: [`drawn_targets`] reads them.
    pub drawn_at: Vec<u64>,
    /// The selection's digest (its count and SHA-256, as `verify` compares lists), when it was
    /// made as the manifest was sealed (a long selection).
    pub selected_digest: Option<(usize, [u8; 32])>,
}

/// What a draw's public bundle needs (docs/draw-algorithm.md V2-9).
#[derive(Debug, Clone, Copy)]
pub struct Public<'a> {
    /// The public fields the bundle's frame repeats (`[publication] frame_fields`).
    pub fields: &'a [String],
    /// Record the bundle's hash in the manifest (`suiji-manifest/2` draws made since bundles
    /// exist; a re-run of an earlier draw does not).
    pub record: bool,
    /// What becomes of the bundle once hashed.
    pub out: BundleOut<'a>,
    /// With a manifest keeping its exclusions in a detail file: the manifest is
    /// `suiji-manifest/4` and the bundle `suiji-public-bundle/2`, keeping their summary (new
    /// draws; a re-run of a `/4`); else `suiji-manifest/3`, whose bundle lists them.
    pub summarised: bool,
    /// With `summarised`: the bundle's frame in id order alone, the manifest
    /// `suiji-manifest/5` and the bundle `suiji-public-bundle/3` (new draws; a re-run of a
    /// `/5`), else by stratum then id (a re-run of a `/4`).
    pub by_id: bool,
    /// With `by_id`: each frame entry an array, the manifest `suiji-manifest/6` and the bundle
    /// `suiji-public-bundle/4` (new draws; a re-run of a `/6`), else an object (a re-run of a
    /// `/5`).
    pub compact: bool,
}

/// What becomes of a draw's public bundle once it is built and hashed.
#[derive(Clone, Copy)]
pub enum BundleOut<'a> {
    /// Returned in [`Drawn::bundle`].
    Keep,
    /// Hashed only (its bytes are never held), then let go.
    Hash,
    /// Written here (the bundle's file, empty) as it is serialised and hashed (its bytes are
    /// never held), then let go.
    Write(&'a std::cell::RefCell<dyn StagedFile>),
}

impl std::fmt::Debug for BundleOut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BundleOut::Keep => "Keep",
            BundleOut::Hash => "Hash",
            BundleOut::Write(_) => "Write",
        })
    }
}

/// Runs one draw over `source`.
pub fn run(
    input: &DrawInput<'_>,
    source: Source<'_>,
    sandbox: &Sandbox,
    opts: &Options<'_>,
) -> Result<Drawn, DrawFailure> {
    run_public(input, source, sandbox, opts, None)
}

/// Runs one draw over `source` and, with `public`, also builds its public bundle: every
/// target drawn from, with its stratum, weight and public fields (read again from the source,
/// after the selection).
pub fn run_public(
    input: &DrawInput<'_>,
    source: Source<'_>,
    sandbox: &Sandbox,
    opts: &Options<'_>,
    public: Option<&Public<'_>>,
) -> Result<Drawn, DrawFailure> {
    let mut rules = Rules::new(input, sandbox, opts.list_exclusions_up_to);
    opts.phase(Phase::Classify);
    match source {
        Source::Memory(targets) => {
            rules.resolve_columns(|h| targets.iter().any(|t| t.extra.contains_key(h)));
            phases(&memory::MemorySource { targets }, &rules, opts, public)
        }
        Source::Csv { path, known } => {
            let file = file::FileSource::open(path, known, opts)?;
            rules.resolve_columns(|h| file.has_extra(h));
            phases(&file, &rules, opts, public)
        }
    }
}

/// The phases after opening the source.
fn phases(
    source: &dyn RowSource,
    rules: &Rules<'_>,
    opts: &Options<'_>,
    public: Option<&Public<'_>>,
) -> Result<Drawn, DrawFailure> {
    let mut c = source.classify(rules, opts.on_rows)?;
    if c.operations > rules.budget() {
        return Err(rules.over_budget());
    }
    opts.phase(Phase::Plan);
    plan::check_eligible(&c)?;
    let plans = plan::strata(&c, rules)?;
    let fates = plan::fates(&c, &plans);
    let counts = exclusion_counts(&c, &fates);
    let excluded: u64 = counts.iter().map(|c| c.count).sum();
    let listed = excluded <= opts.list_exclusions_up_to as u64;
    opts.phase(Phase::Select);
    let v2 = rules.input.algorithm == Algorithm::V2;
    let extra = substitute_counts(&plans, v2);
    let (exclusions, detail) = exclusions(source, rules, (&mut c, &fates), &counts, opts, public)?;
    let ((selected, drawn_at, substitutes), frame_at) = choose::select(
        source,
        &mut c,
        &plans,
        &fates,
        (&extra, v2, public.is_some()),
    )?;
    opts.selected(&drawn_at);
    let in_file = listed && rules.input.exclusions_in_file && v2;
    opts.phase(Phase::Teams);
    let drawn = selected.len() as u64;
    // Staffed beside the bundle's frame (`finish`), which names no team.
    let staffing = teams::Staffing::new(selected);
    let eligible: u64 = plans.iter().map(|p| p.n as u64).sum();
    let stats = Stats {
        rows: c.rows,
        in_scope: eligible + excluded,
        eligible,
        excluded,
        drawn,
        hook_calls: c.hook_calls,
        hook_operations: c.operations,
        threads: c.threads,
    };
    let parts = Parts {
        history: rules.input.history.at_places(&c.history_used),
        strata: strata_info(&plans),
        classes_without_ratio: classes_without_ratio(rules, &plans),
        substitutes,
        exclusions,
        in_file: in_file.then(|| tallies(&counts)),
    };
    let detail = (detail, opts.exclusions);
    let finished = std::thread::scope(|scope| {
        staffing.start(scope, (source, rules), &drawn_at, c.operations);
        opts.phase(Phase::Manifest);
        finish(
            source,
            (rules.input, opts.digest_selection),
            &plans,
            (parts, detail),
            (frame_at.zip(public), &staffing),
        )
    });
    let (manifest, bundle, excluded, selected_digest) = finished?;
    opts.phase(Phase::Done);
    Ok(Drawn {
        manifest,
        bundle,
        excluded,
        exclusion_counts: counts,
        exclusions_listed: listed,
        stats,
        drawn_at: drawn_places(opts, drawn_at),
        selected_digest,
    })
}

/// The excluded targets counted by stratum and reason.
fn exclusion_counts(c: &rows::Classified, fates: &[plan::Fate]) -> Vec<ExclusionCount> {
    plan::exclusion_counts(c, fates)
        .into_iter()
        .map(|((stratum, why), count)| ExclusionCount {
            stratum: stratum.to_string(),
            reason: why.code().to_string(),
            count,
        })
        .collect()
}

/// Where the drawn rows are, in the source's order, when the options ask for them.
fn drawn_places(opts: &Options<'_>, mut drawn_at: Vec<u64>) -> Vec<u64> {
    if !opts.keep_drawn {
        return Vec::new();
    }
    drawn_at.sort_unstable();
    drawn_at
}

/// The rows at `drawn_at` ([`Drawn::drawn_at`]) of `source`, in its order, without the
/// columns only rules read ([`Target::without_extra`]), read 4 096 at a time (`DRAWN_BATCH`),
/// so that no more than a batch of whole rows is held beside them.
pub fn drawn_targets(source: Source<'_>, drawn_at: &[u64]) -> Result<Vec<Target>, DrawFailure> {
    with_rows(source, |source| {
        let mut out = Vec::with_capacity(drawn_at.len());
        for batch in drawn_at.chunks(DRAWN_BATCH) {
            out.extend(source.targets(batch)?.iter().map(|t| t.without_extra()));
        }
        Ok(out)
    })
}

/// The id and the public fields `fields` of the drawn rows at `drawn_at` (ascending), a row
/// each in one buffer: what a draw's documents show of its targets, read again when they are
/// written (so held only meanwhile), without a target or a `String` made for each.
pub(crate) fn drawn_cells(
    source: Source<'_>,
    drawn_at: &[u64],
    fields: &[&str],
) -> Result<CellRows, DrawFailure> {
    let rows = drawn_at.len();
    let cells = CellRows::with_capacity(1 + fields.len(), rows, rows * DRAWN_CELL_BYTES);
    drawn_batches(source, drawn_at, fields, cells, &mut |_| Ok(()))
}

/// [`drawn_cells`] a batch of rows at a time: each batch's cells handed to `each`, then the
/// room used again for the next, so that no more than a batch is held. An error `each` returns
/// stops the reading ([`DrawFailure::Io`]).
pub(crate) fn drawn_cells_each(
    source: Source<'_>,
    drawn_at: &[u64],
    fields: &[&str],
    each: &mut dyn FnMut(&CellRows) -> std::io::Result<()>,
) -> Result<(), DrawFailure> {
    let rows = drawn_at.len().min(DRAWN_BATCH);
    let cells = CellRows::with_capacity(1 + fields.len(), rows, rows * DRAWN_CELL_BYTES);
    drawn_batches(source, drawn_at, fields, cells, &mut |cells| {
        each(cells)?;
        cells.clear();
        Ok(())
    })
    .map(drop)
}

/// The drawn rows' cells read into `cells` a batch at a time, `after` called on them after each
/// batch (which may empty them); what they hold at the end.
fn drawn_batches(
    source: Source<'_>,
    drawn_at: &[u64],
    fields: &[&str],
    mut cells: CellRows,
    after: &mut dyn FnMut(&mut CellRows) -> std::io::Result<()>,
) -> Result<CellRows, DrawFailure> {
    with_rows(source, |source| {
        for batch in drawn_at.chunks(DRAWN_BATCH) {
            source.each_line(batch, &mut |c| cells.push_public(c, fields))?;
            after(&mut cells).map_err(|e| DrawFailure::Io(e.to_string()))?;
        }
        Ok(cells)
    })
}

/// Bytes of a drawn row's id and shown fields made room for (107 on average in the national
/// bench, whose names and addresses are Chinese: room for the rows at once, not twice as much
/// after the buffer doubled).
const DRAWN_CELL_BYTES: usize = 128;

/// `read` over `source` opened as a row source.
fn with_rows<T>(
    source: Source<'_>,
    read: impl FnOnce(&dyn RowSource) -> Result<T, DrawFailure>,
) -> Result<T, DrawFailure> {
    match source {
        Source::Memory(targets) => read(&memory::MemorySource { targets }),
        Source::Csv { path, known } => {
            read(&file::FileSource::open(path, known, &Options::default())?)
        }
    }
}

/// Drawn rows read at a time by [`drawn_targets`] and [`drawn_batches`].
const DRAWN_BATCH: usize = 4096;

/// How many substitutes each stratum lists (none before `suiji-draw/2`).
fn substitute_counts(plans: &[plan::StratumPlan], v2: bool) -> Vec<usize> {
    plans
        .iter()
        .map(|p| if v2 { substitutes_of(p.n, p.k) } else { 0 })
        .collect()
}

/// How many substitutes of a stratum of `n` with `k` drawn `suiji-manifest/2` lists: a fifth
/// of k and two more, at most the rest of the stratum (docs/draw-algorithm.md V2-6.1).
pub(crate) fn substitutes_of(n: usize, k: usize) -> usize {
    n.saturating_sub(k).min(k.div_ceil(5) + 2)
}

/// The class values of the strata drawn at the base ratio because `class_ratios` has none for
/// them, sorted (a stratum is named `class=<c>` or `<value>/class=<c>`).
fn classes_without_ratio(rules: &Rules<'_>, plans: &[plan::StratumPlan]) -> Vec<String> {
    let m = rules.matter;
    let mut out: Vec<String> = plans
        .iter()
        .filter_map(|p| {
            p.name
                .strip_prefix("class=")
                .or_else(|| p.name.rsplit_once("/class=").map(|(_, c)| c))
        })
        .filter(|c| !m.class_ratios.contains_key(*c))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The exclusions the manifest lists (or their summary), or none when a detail file that the
/// public bundle does not list is made as the excluded rows are read again (then returned).
/// Made before the selection, so that what it reads and hashes is never held beside the
/// selected rows and the frame.
fn exclusions(
    source: &dyn RowSource,
    rules: &Rules<'_>,
    (c, fates): (&mut Classified, &[Fate]),
    counts: &[ExclusionCount],
    opts: &Options<'_>,
    public: Option<&Public<'_>>,
) -> Result<(Vec<Exclusion>, Option<detail::Detail>), DrawFailure> {
    let excluded: u64 = counts.iter().map(|c| c.count).sum();
    let listed = excluded <= opts.list_exclusions_up_to as u64;
    let v2 = rules.input.algorithm == Algorithm::V2;
    let in_file = listed && rules.input.exclusions_in_file && v2;
    let streamed = in_file
        && !matches!(opts.exclusions, ExclusionsOut::Keep)
        && public.is_none_or(|p| p.summarised);
    Ok(if streamed {
        let rows = excluded_rows(c);
        let d = detail::stream(source, rules, rows, fates, opts.exclusions)?;
        (Vec::new(), Some(d))
    } else if listed {
        (list_exclusions(source, rules, c, fates)?, None)
    } else {
        (summary(counts), None)
    })
}

/// The excluded rows (position, group), in position order, taken from the classification,
/// with the cells their classifying kept when it kept them all and in that order.
fn excluded_rows(c: &mut Classified) -> detail::Excluded {
    let mut rows: Vec<(u64, u32)> = Vec::new();
    let mut cells = Vec::with_capacity(c.batches.len());
    for b in &mut c.batches {
        let excluded = std::mem::take(&mut b.excluded);
        cells.push((std::mem::take(&mut b.excluded_cells), excluded.len()));
        rows.extend(
            excluded
                .into_iter()
                .map(|(p, local)| (p, b.map.get(local as usize).copied().unwrap_or(0))),
        );
    }
    if rows.is_sorted() {
        return detail::Excluded {
            rows,
            cells: rows::KeptCells::of(cells),
        };
    }
    drop(cells);
    rows.sort_unstable();
    detail::Excluded { rows, cells: None }
}

/// The excluded targets one by one, in id order.
fn list_exclusions(
    source: &dyn RowSource,
    rules: &Rules<'_>,
    c: &mut Classified,
    fates: &[Fate],
) -> Result<Vec<Exclusion>, DrawFailure> {
    let rows = excluded_rows(c);
    detail::listed(source, rules, &rows, fates)
}

/// The strata as the manifest records them.
fn strata_info(plans: &[plan::StratumPlan]) -> Vec<crate::draw::manifest::StratumInfo> {
    plans
        .iter()
        .map(|p| crate::draw::manifest::StratumInfo {
            stratum: p.name.clone(),
            ratio_ppm: p.ratio.ratio.ppm(),
            eligible: p.n,
            k: p.k,
            cap_ppm: p.ratio.cap.map(|c| c.ppm()),
        })
        .collect()
}

/// The counts a `suiji-manifest/3` records in its `exclusion_summary`.
fn tallies(counts: &[ExclusionCount]) -> Vec<ExclusionTally> {
    counts
        .iter()
        .map(|c| ExclusionTally {
            stratum: c.stratum.clone(),
            reason: c.reason.clone(),
            count: c.count,
        })
        .collect()
}

/// One entry per (stratum, reason), in that order.
fn summary(counts: &[ExclusionCount]) -> Vec<Exclusion> {
    counts
        .iter()
        .map(|c| {
            let detail = format!("分层“{}”：{} 户（名单从略）", c.stratum, c.count);
            Exclusion::new("", &c.reason, &detail)
        })
        .collect()
}

/// What a manifest holds besides the draw's parameters.
struct Parts {
    history: Vec<HistoryEntry>,
    strata: Vec<crate::draw::manifest::StratumInfo>,
    classes_without_ratio: Vec<String>,
    substitutes: Vec<crate::draw::manifest::Substitute>,
    exclusions: Vec<Exclusion>,
    /// `suiji-manifest/3`: the exclusion counts, the list going to the detail file.
    in_file: Option<Vec<ExclusionTally>>,
}

/// A row drawn from: its position, stratum and weight class packed in one number as
/// [`FramePlaces::packing`] packs them (a national frame holds millions).
type FramePlace = u64;

/// The rows drawn from, by position, each its stratum and weight class beside
/// ([`Packing`]): 8 bytes a row where the three numbers apart took 16 (at 10M, 59 MB against
/// 118, held from the selection to the end of the seal).
pub(super) struct FramePlaces {
    pub(super) at: Vec<FramePlace>,
    pub(super) packing: Packing,
}

/// How a row's position and its (stratum, weight class) share a [`FramePlace`]: the position
/// in the high bits, as wide as the last row's needs, and in the low bits the pair's number
/// among the pairs drawn from (each distinct pair once, in (stratum, class) order), as wide as
/// their count needs; so places sort by position. Both always fit for a file below 4 GiB (a
/// pair is drawn from at least one row, a row is at least two bytes); a larger file needs
/// fewer pairs than 2^64 over its size (about a billion at 15 GB: a weight hook answering that
/// many different weights).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Packing {
    pair_bits: u32,
    pairs: Vec<(u32, u32)>,
}

impl Packing {
    /// The packing of positions below `positions` with `pairs` (ascending, each once);
    /// `None` when the two need more than 64 bits.
    fn new(positions: u64, pairs: Vec<(u32, u32)>) -> Option<Packing> {
        let bits = |below: u64| u64::BITS - below.saturating_sub(1).leading_zeros();
        let pair_bits = bits(pairs.len() as u64);
        (bits(positions) + pair_bits <= u64::BITS).then_some(Packing { pair_bits, pairs })
    }

    /// The place of a row at `position` whose pair is number `pair` (within the bounds the
    /// packing was made for).
    fn pack(&self, position: u64, pair: u32) -> FramePlace {
        position.checked_shl(self.pair_bits).unwrap_or(0) | u64::from(pair)
    }

    /// The position of the row at `p`.
    pub(super) fn position(&self, p: FramePlace) -> u64 {
        p.checked_shr(self.pair_bits).unwrap_or(0)
    }

    /// The stratum of the row at `p`.
    pub(super) fn stratum(&self, p: FramePlace) -> u32 {
        self.stratum_class(p).0
    }

    /// The stratum and weight class of the row at `p` (a stratum no plan has for a number
    /// the packing does not know, which no place holds).
    pub(super) fn stratum_class(&self, p: FramePlace) -> (u32, u32) {
        let mask = 1u64.checked_shl(self.pair_bits).map_or(u64::MAX, |b| b - 1);
        let pair = usize::try_from(p & mask).unwrap_or(usize::MAX);
        self.pairs.get(pair).copied().unwrap_or((u32::MAX, 0))
    }
}

/// Where each row drawn from is, by position; each batch's rows drawn from are let go once
/// read.
fn frame_positions(c: &mut Classified, fates: &[Fate]) -> Result<FramePlaces, DrawFailure> {
    let drawn = |f: &Fate| match *f {
        Fate::Drawn(s, class) => Some((s, class)),
        _ => None,
    };
    let mut pairs: Vec<(u32, u32)> = fates.iter().filter_map(drawn).collect();
    pairs.sort_unstable();
    pairs.dedup();
    // Each group's pair by number, for the groups drawn from.
    let numbers: Vec<Option<u32>> = fates
        .iter()
        .map(|f| {
            drawn(f)
                .and_then(|p| pairs.binary_search(&p).ok())
                .map(|i| i as u32)
        })
        .collect();
    let position = |base: u64, d: &rows::Drawn| base + u64::from(d.offset & !rows::CAPTURED);
    let end = c
        .batches
        .iter()
        .flat_map(|b| b.drawn.iter().map(|d| position(b.base, d) + 1))
        .max()
        .unwrap_or(0);
    let count = pairs.len();
    let packing = Packing::new(end, pairs).ok_or_else(|| {
        DrawFailure::Io(format!(
            "the rows drawn from cannot be numbered: positions below {end} and {count} different (stratum, weight) pairs need more than 64 bits; give the weight hook fewer different answers"
        ))
    })?;
    // Sized once: grown by doubling, a national frame's copies would add half of it again.
    let mut at = Vec::with_capacity(c.batches.iter().map(|b| b.drawn.len()).sum());
    for b in &mut c.batches {
        for d in &std::mem::take(&mut b.drawn) {
            let Some(&g) = b.map.get(d.profile as usize) else {
                continue;
            };
            if let Some(Some(pair)) = numbers.get(g as usize) {
                at.push(packing.pack(position(b.base, d), *pair));
            }
        }
    }
    at.sort_unstable();
    Ok(FramePlaces { at, packing })
}

/// The manifest, sealed, and the public bundle when asked for (its hash recorded in the
/// manifest when `record` says so and the manifest is `suiji-manifest/2`, `/3` or `/4`); for a
/// `suiji-manifest/3` or `/4`, the excluded targets its detail file lists (the public bundle
/// of a `/3` lists them too, that of a `/4` keeps their summary).
fn finish(
    source: &dyn RowSource,
    (input, digest_selection): (&DrawInput<'_>, bool),
    plans: &[plan::StratumPlan],
    (mut parts, detail): (Parts, (Option<detail::Detail>, ExclusionsOut<'_>)),
    (public, staffing): (Option<(FramePlaces, &Public<'_>)>, &teams::Staffing),
) -> Result<Finished, DrawFailure> {
    let in_file = parts.in_file.take();
    let mut m = manifest(input, parts);
    // A bundle written or hashed as it is serialised waits for the teams only at its end, where
    // it states the selection; one kept whole is made of the manifest with them.
    let beside = public
        .as_ref()
        .is_some_and(|(_, p)| !matches!(p.out, BundleOut::Keep));
    if !beside {
        staffed_into(&mut m, staffing)?;
    }
    let made = bundle_and_detail(
        source,
        (input, plans),
        &mut m,
        (in_file, detail),
        public,
        beside.then_some(staffing),
    );
    // The teams' own failure, if they failed, is the draw's (the bundle stopped at them).
    staffed_into(&mut m, staffing)?;
    let (excluded, bundle) = made?;
    let digest = m.seal_with(digest_selection);
    Ok((m, bundle, excluded, digest))
}

/// The selection staffed, and its skips, put into `m` (once taken, nothing more).
fn staffed_into(m: &mut Manifest, staffing: &teams::Staffing) -> Result<(), DrawFailure> {
    if let Some((selected, skips)) = staffing.take()? {
        m.selected = selected;
        m.inspector_skips = skips;
    }
    Ok(())
}

/// The public bundle of `m` and its exclusions' detail file, in the order its format has them
/// made; `staffing` when the teams are still being staffed (the bundle waits for them).
fn bundle_and_detail(
    source: &dyn RowSource,
    (input, plans): (&DrawInput<'_>, &[plan::StratumPlan]),
    m: &mut Manifest,
    (in_file, detail): (
        Option<Vec<ExclusionTally>>,
        (Option<detail::Detail>, ExclusionsOut<'_>),
    ),
    public: Option<(FramePlaces, &Public<'_>)>,
    staffing: Option<&teams::Staffing>,
) -> Result<(Vec<Exclusion>, Option<PublicBundle>), DrawFailure> {
    // `suiji-manifest/4`: the public bundle, too, keeps the summary (so it is built after it);
    // `/3`: the bundle lists the exclusions the manifest then moves to the detail file.
    let summarised = in_file.is_some() && public.as_ref().is_some_and(|(_, p)| p.summarised);
    let (by_id, compact) = public
        .as_ref()
        .map_or((false, false), |(_, p)| (p.by_id, p.by_id && p.compact));
    let bundle = |m: &mut Manifest| match public {
        Some((at, p)) => public_bundle(source, input, plans, m, (at, p), staffing),
        None => Ok(None),
    };
    Ok(if summarised {
        let format = match (by_id, compact) {
            (true, true) => MANIFEST_FORMAT_V6,
            (true, false) => MANIFEST_FORMAT_V5,
            _ => MANIFEST_FORMAT_V4,
        };
        let excluded = to_detail_file(m, in_file, format, detail)?;
        (excluded, bundle(m)?)
    } else {
        let bundle = bundle(m)?;
        (
            to_detail_file(m, in_file, MANIFEST_FORMAT_V3, detail)?,
            bundle,
        )
    })
}

/// A sealed manifest, its public bundle when kept, the excluded targets of its detail file,
/// and its selection's digest when made as it was sealed.
type Finished = (
    Manifest,
    Option<PublicBundle>,
    Vec<Exclusion>,
    Option<crate::draw::manifest::ListDigest>,
);

/// With `counts` (a manifest keeping its exclusions in a detail file): moves the exclusions
/// out of `m`, which becomes `format` with their summary; returns them (else nothing). The
/// detail file is the one made as its rows were read (`detail.0`), else it is made here of
/// the manifest's exclusions and goes where `detail.1` says.
fn to_detail_file(
    m: &mut Manifest,
    counts: Option<Vec<ExclusionTally>>,
    format: &str,
    detail: (Option<detail::Detail>, ExclusionsOut<'_>),
) -> Result<Vec<Exclusion>, DrawFailure> {
    let Some(counts) = counts else {
        return Ok(Vec::new());
    };
    let made = match detail {
        (Some(made), _) => made,
        (None, out) => detail::of_list(std::mem::take(&mut m.exclusions), out)?,
    };
    m.format = format.into();
    m.exclusion_summary = Some(ExclusionSummary {
        file: EXCLUSIONS_FILE.into(),
        sha256: made.sha256,
        rows: made.rows,
        counts,
    });
    Ok(made.kept)
}

/// The public bundle of `m` (kept, hashed or written as `p` says); its hash recorded in `m`
/// when `p` says so and the draw is `suiji-draw/2`.
fn public_bundle(
    source: &dyn RowSource,
    input: &DrawInput<'_>,
    plans: &[plan::StratumPlan],
    m: &mut Manifest,
    (at, p): (FramePlaces, &Public<'_>),
    staffing: Option<&teams::Staffing>,
) -> Result<Option<PublicBundle>, DrawFailure> {
    let weighted = input.matter.weight.is_some();
    let frame = frame::Frame::new(source, plans, at, p.fields);
    // Written (or only hashed) as it is serialised, its frame read again as it goes (and the
    // teams, when `staffing`, staffed meanwhile).
    let written = |frame: &frame::Frame<'_>, m: &Manifest, out: &mut dyn std::io::Write| {
        let selected = match staffing {
            Some(staffing) => frame::Selections::Staffing(staffing),
            None => frame::Selections::Ready(&m.selected),
        };
        let hash = frame.write_bundle((m, selected), weighted, out);
        match (frame.failure(), hash) {
            (Some(failure), _) => Err(failure),
            (None, Ok(hash)) => Ok(hash),
            (None, Err(e)) => Err(DrawFailure::Io(format!(
                "cannot write the public bundle: {e}"
            ))),
        }
    };
    // A frame in id order over rows that turn out not to be (a registry file that is not a
    // snapshot): the bundle made whole, its frame sorted, and written again from its start.
    let made_whole = |frame: &frame::Frame<'_>, m: &Manifest| {
        Ok::<_, DrawFailure>(PublicBundle::new(m, weighted, p.fields, frame.entries()?))
    };
    // (The teams waited for first, when they are being staffed.)
    let whole = |frame: &frame::Frame<'_>, m: &mut Manifest, out: &mut dyn std::io::Write| {
        if let Some(staffing) = staffing {
            staffed_into(m, staffing)?;
        }
        made_whole(frame, m)?
            .write_hashed(out)
            .map_err(|e| DrawFailure::Io(format!("cannot write the public bundle: {e}")))
    };
    let (hash, kept) = match p.out {
        BundleOut::Keep => {
            let b = made_whole(&frame, m)?;
            (b.hash(), Some(b))
        }
        BundleOut::Hash => match written(&frame, m, &mut std::io::sink()) {
            Err(_) if frame.out_of_order() => (whole(&frame, m, &mut std::io::sink())?, None),
            hash => (hash?, None),
        },
        BundleOut::Write(out) => {
            let mut out = out.borrow_mut();
            match written(&frame, m, &mut *out) {
                Err(_) if frame.out_of_order() => {
                    out.restart().map_err(|e| {
                        DrawFailure::Io(format!("cannot write the public bundle: {e}"))
                    })?;
                    (whole(&frame, m, &mut *out)?, None)
                }
                hash => (hash?, None),
            }
        }
    };
    if p.record && input.algorithm == Algorithm::V2 {
        m.public_bundle = Some(hash);
    }
    Ok(kept)
}

/// The manifest of a draw from its parts, without its selection (staffed beside it) and
/// unsealed (sealed by the caller).
fn manifest(input: &DrawInput<'_>, parts: Parts) -> Manifest {
    let m = input.matter;
    let v2 = input.algorithm == Algorithm::V2;
    let cover = crate::schedule::class_cover(m, input.kind, input.period).filter(|_| v2);
    Manifest {
        format: if v2 {
            MANIFEST_FORMAT_V2
        } else {
            MANIFEST_FORMAT
        }
        .into(),
        algorithm: input.algorithm.name().into(),
        bureau: input.bureau.into(),
        matter: m.id.clone(),
        matter_name: m.name.clone(),
        department: m.department.clone(),
        period: PeriodInfo {
            id: input.period.id.clone(),
            start: input.period.start,
            end: input.period.end,
        },
        kind: kind_label(input.kind),
        ratio_ppm: input.ratio.ppm(),
        key_area_only: input.key_area_only,
        reference_date: input.reference_date,
        issue_at: input.issue_at.clone(),
        drawn_at: v2.then(|| input.drawn_at.clone()),
        due_date: input.due,
        seed: input.seed.to_hex(),
        seed_source: input.seed_source.into(),
        rules_hash: input.rules_hash.into(),
        registry: input.registry.clone(),
        history: parts.history,
        carried_loads: carried_loads(input),
        strata: parts.strata,
        classes_without_ratio: v2.then_some(parts.classes_without_ratio),
        classes_due: cover.as_ref().map(|c| c.due.clone()),
        classes_not_due: cover.map(|c| c.not_due),
        // The selection and its skips: put in once the teams are staffed (`staffed_into`).
        selected: Vec::new(),
        substitutes: v2.then_some(parts.substitutes),
        exclusions: parts.exclusions,
        exclusion_summary: None,
        inspector_skips: Vec::new(),
        public_bundle: None,
        manifest_hash: String::new(),
    }
}

/// The loads carried in, as the manifest records them: by inspector id, only non-zero loads, and
/// only in `suiji-draw/2` (whose team step uses them); absent when there are none.
fn carried_loads(input: &DrawInput<'_>) -> Option<Vec<CarriedLoad>> {
    let loads: Vec<CarriedLoad> = input
        .history
        .carried
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(id, n)| CarriedLoad {
            inspector_id: id.clone(),
            load: *n,
        })
        .collect();
    (input.algorithm == Algorithm::V2 && !loads.is_empty()).then_some(loads)
}

/// "regular" or "holiday:chunjie".
fn kind_label(kind: DrawKind) -> String {
    match kind {
        DrawKind::Regular => "regular".into(),
        DrawKind::Holiday(h) => format!("holiday:{}", h.id()),
    }
}
