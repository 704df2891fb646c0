//! Streaming draws: one draw straight from a target registry CSV file, for registries too large
//! to load (a national registry of ten million targets is about 1.5 GB of CSV).
//!
//! [`run`] gives **exactly the selection [`engine::run`] gives** for the same registry and
//! parameters: the same strata (names, ratios, sizes, k), the same keys, Pareto λ and capping,
//! ranks and inclusion probabilities, the same teams, inspector skips and history. It never holds
//! the targets as [`Target`] rows:
//!
//! 1. **Pass 1** (in parallel over byte ranges of the file split on record boundaries) reads
//!    only the columns the matter needs (category, status, the cooldown columns, the
//!    stratifying and class fields, the fields the hooks read, and the id when there is
//!    history) and reduces each row to a *profile*: why it is excluded or that it is a
//!    candidate, plus the interned values of the stratum's and the hooks' inputs. One `u32` per
//!    row is kept.
//! 2. **Hooks** run once per distinct input (memoised on [`crate::script::Hook::reads`]; a
//!    hook that may read anything is keyed on every field, i.e. run per distinct row). The
//!    strata, their sizes and k, and for weighted draws each stratum's weight histogram follow
//!    from the profile counts; λ and the capping depend only on k and the weights, so they are
//!    computed from the histogram (`lambdas_by_weight`).
//! 3. **Pass 2** reads the file again, hashes the id of every drawn-from row and keeps, per
//!    stratum, only a bounded buffer of the best k by (Q, key) with the row's offset, id and
//!    name.
//! 4. **Teams** are assigned to the selection in (stratum, rank) order by the same code as the
//!    engine; rows are read back by offset only when the matter has a `conflict` hook.
//!
//! # What differs from the engine's manifest
//!
//! - `exclusions`: when more targets are excluded than [`StreamOptions::list_exclusions_up_to`]
//!   (100 000 by default), the list is **summarised**: one entry per (stratum, reason) with an
//!   empty `target_id`, the reason code, and the detail `分层“<stratum>”：<n> 户（名单从略）`,
//!   sorted by stratum then reason (deregistered, cooldown, yearly_cap, eligible_hook). The
//!   stratum of an excluded target is the one it would have been drawn in. The same counts
//!   are in [`Streamed::exclusion_counts`]. At or below the limit the list is the engine's,
//!   entry for entry.
//! - `registry` is taken from the input as given: computing the canonical snapshot hash of
//!   ten million rows is the registry freeze's job, not the draw's.
//!
//! # What is checked
//!
//! The file must be UTF-8 CSV (a byte-order mark is allowed; GBK and workbooks are not read).
//! The header is found and mapped by the registry reader itself. Every column the draw reads
//! is checked in every row in scope as the registry reader checks it (unknown categories,
//! statuses, key-area flags and dates, rows of the wrong width, empty or mangled ids of the
//! targets drawn from, empty names of the targets drawn); a bad row fails the draw with the
//! registry reader's own diagnostics for it. Columns the draw does not read, rows out of scope
//! and duplicate ids are **not** checked: run `suiji registry check` on the registry first.

mod profile;
mod scan;
mod select;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::diag::{Diagnostic, Location};
use crate::draw::engine::{
    self, DrawFailure, DrawInput, class_of, eligible_answer, stratum_of, stratum_value,
    uses_classes, weight_answer,
};
use crate::draw::manifest::{Exclusion, HistoryEntry, Manifest, Selected, StratumInfo};
use crate::draw::pareto::lambdas_by_weight;
use crate::draw::team::{TeamTarget, assign_teams_each};
use crate::draw::uniform::uniform_probability;
use crate::draw::{DrawError, Purpose, Ranker, TeamRules, key_hex, rank_of, uniform_from_key};
use crate::registry::Known;
use crate::registry::read::{Header, TARGET_FIELDS, t as col};
use crate::registry::types::{Target, TargetStatus};
use crate::registry::values::{parse_bool, parse_date, parse_status, trim};
use crate::rules::model::Ratio;
use crate::script::{HookError, Sandbox, ctx_map, target_map};

use profile::{
    Context, Interner, KeySpec, MAX_FLAGGED, NONE, Part, Pass1, Reason, Src, id_ok, trim_bytes,
};
use scan::Scanner;
use select::TopK;

/// A draw over a registry file.
#[derive(Debug, Clone)]
pub struct StreamInput<'a> {
    /// The draw's parameters, as for [`engine::run`]; `draw.targets` is not used (leave it empty).
    pub draw: DrawInput<'a>,
    /// The target registry: one UTF-8 CSV file.
    pub targets_file: &'a Path,
    /// Categories the registry may use (as for `registry::load`; empty: any).
    pub known: &'a Known,
}

/// The stages of a streaming draw, reported to [`StreamOptions::on_phase`] as each begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Pass 1: reading, scope and exclusions.
    Scan,
    /// Hooks, strata, k and λ.
    Hooks,
    /// Pass 2: keys and the bounded selection.
    Rank,
    /// Teams and the manifest.
    Teams,
    /// Finished.
    Done,
}

/// How a streaming draw runs. None of these change its result.
pub struct StreamOptions<'a> {
    /// Threads for the passes over the file (each takes one byte range).
    pub threads: usize,
    /// List excluded targets one by one when there are at most this many; summarise otherwise.
    pub list_exclusions_up_to: usize,
    /// Bytes read at a time by each thread.
    pub chunk_bytes: usize,
    /// Called as each phase begins (e.g. to time them); the draw itself reads no clock.
    pub on_phase: Option<&'a (dyn Fn(Phase) + Sync)>,
}

impl Default for StreamOptions<'_> {
    fn default() -> Self {
        StreamOptions {
            threads: rayon::current_num_threads().max(1),
            list_exclusions_up_to: 100_000,
            chunk_bytes: 4 << 20,
            on_phase: None,
        }
    }
}

impl std::fmt::Debug for StreamOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamOptions")
            .field("threads", &self.threads)
            .field("list_exclusions_up_to", &self.list_exclusions_up_to)
            .field("chunk_bytes", &self.chunk_bytes)
            .finish_non_exhaustive()
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

/// Counts from a streaming draw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Data rows read (blank rows included).
    pub rows: u64,
    /// Targets in the matter's scope (and key area, for key-area draws).
    pub in_scope: u64,
    /// Targets drawn from (in some stratum).
    pub eligible: u64,
    pub excluded: u64,
    pub drawn: u64,
    /// Calls of the eligible and weight hooks.
    pub hook_calls: u64,
    /// Threads the passes used (1 when the file could not be split).
    pub threads: usize,
}

/// A streaming draw's result.
#[derive(Debug, Clone)]
pub struct Streamed {
    pub manifest: Manifest,
    /// Excluded targets by stratum and reason, in the order of the summary.
    pub exclusion_counts: Vec<ExclusionCount>,
    /// Whether `manifest.exclusions` lists every excluded target (else it is the summary).
    pub exclusions_listed: bool,
    pub stats: StreamStats,
}

/// Why a streaming draw could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the target registry has problems ({} found)", .0.len())]
    Registry(Vec<Diagnostic>),
    #[error(transparent)]
    Draw(#[from] DrawFailure),
}

/// A target field as hooks and strata see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Field {
    Id,
    Name,
    Category,
    District,
    Address,
    KeyArea,
    Class,
    Licence,
    Status,
    LastInspected,
    LastResult,
    Extras,
    Extra(String),
}

impl Field {
    /// A field name as `stratum_value` reads it (other names are extra columns).
    fn stratum(name: &str) -> Field {
        match name {
            "district" => Field::District,
            "category" => Field::Category,
            "class" => Field::Class,
            "key_area" => Field::KeyArea,
            "status" => Field::Status,
            other => Field::Extra(other.to_string()),
        }
    }

    /// A field name as the hook memo reads it.
    fn memo(name: &str) -> Field {
        match name {
            "id" => Field::Id,
            "name" => Field::Name,
            "address" => Field::Address,
            "licence" => Field::Licence,
            "last_inspected" => Field::LastInspected,
            "last_result" => Field::LastResult,
            "extra" => Field::Extras,
            other => Field::stratum(other),
        }
    }

    /// Every field (a hook that may read anything).
    fn all() -> Vec<Field> {
        vec![
            Field::Id,
            Field::Name,
            Field::Category,
            Field::District,
            Field::Address,
            Field::KeyArea,
            Field::Class,
            Field::Licence,
            Field::Status,
            Field::LastInspected,
            Field::LastResult,
            Field::Extras,
        ]
    }

    fn column(&self) -> Option<usize> {
        Some(match self {
            Field::Id => col::ID,
            Field::Name => col::NAME,
            Field::Category => col::CATEGORY,
            Field::District => col::DISTRICT,
            Field::Address => col::ADDRESS,
            Field::KeyArea => col::KEY_AREA,
            Field::Class => col::CLASS,
            Field::Licence => col::LICENCE,
            Field::Status => col::STATUS,
            Field::LastInspected => col::LAST_INSPECTED,
            Field::LastResult => col::LAST_RESULT,
            Field::Extras | Field::Extra(_) => return None,
        })
    }
}

/// A key part's raw value, independent of the thread that interned it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Raw {
    Cell(Box<[u8]>),
    Extras(Box<[Box<[u8]>]>),
    Missing,
}

/// The file's layout and the fields the draw reads.
struct Layout {
    header: Header,
    /// The header record as written, for reading rows again with the registry reader.
    header_raw: Vec<u8>,
    data_start: u64,
    len: u64,
}

/// One input key (stratum, eligible or weight) in field terms.
#[derive(Debug, Clone)]
struct KeyFields {
    fields: Vec<Field>,
    spec: KeySpec,
}

impl KeyFields {
    fn new(fields: Vec<Field>, header: &Header) -> KeyFields {
        let sources = fields.iter().map(|f| source(f, header)).collect();
        KeyFields {
            fields,
            spec: KeySpec { sources },
        }
    }
}

fn source(f: &Field, header: &Header) -> Src {
    match f {
        Field::Extras => Src::Extras,
        Field::Extra(name) => header
            .extras
            .iter()
            .find(|(_, h)| h == name)
            .map_or(Src::Missing, |(c, _)| Src::Col(*c)),
        known => known
            .column()
            .and_then(|i| header.cols.get(i).copied().flatten())
            .map_or(Src::Missing, Src::Col),
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> StreamError + '_ {
    move |source| StreamError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Runs one draw over `input.targets_file`. See the module documentation.
pub fn run(
    input: &StreamInput<'_>,
    sandbox: &Sandbox,
    opts: &StreamOptions<'_>,
) -> Result<Streamed, StreamError> {
    let phase = |p: Phase| {
        if let Some(f) = opts.on_phase {
            f(p);
        }
    };
    phase(Phase::Scan);
    let path = input.targets_file;
    let display = path.display().to_string();
    let layout = layout(path, &display, opts)?;
    let d = &input.draw;
    let m = d.matter;
    let use_classes = uses_classes(m, d.kind);

    // What pass 1 reads.
    let h = &layout.header;
    let column = |i: usize| h.cols.get(i).copied().flatten();
    let stratum_fields: Vec<Field> = m
        .stratify_by
        .iter()
        .map(|f| Field::stratum(f))
        .chain(use_classes.then(|| match m.class_field.as_deref() {
            None | Some("class") => Field::Class,
            Some(f) => Field::stratum(f),
        }))
        .collect();
    let hook_fields = |hook: &crate::script::Hook| -> Vec<Field> {
        match &hook.reads {
            Some(reads) => reads.iter().map(|f| Field::memo(f)).collect(),
            None => Field::all(),
        }
    };
    let stratum_key = KeyFields::new(stratum_fields, h);
    let eligible_key = m
        .eligible
        .as_ref()
        .map(|k| KeyFields::new(hook_fields(k), h));
    let weight_key = m.weight.as_ref().map(|k| KeyFields::new(hook_fields(k), h));
    let width = h.names.len();
    let mut kinds = vec![profile::Kind::Text; width];
    let kind_of = [
        (col::CATEGORY, profile::Kind::Category),
        (col::KEY_AREA, profile::Kind::KeyArea),
        (col::STATUS, profile::Kind::Status),
        (col::LAST_INSPECTED, profile::Kind::LastInspected),
        (col::LAST_RESULT, profile::Kind::LastResult),
    ];
    for (f, k) in kind_of {
        if let Some(c) = column(f) {
            kinds[c] = k;
        }
    }
    let cooldown_months = m.cooldown_months.filter(|&n| n > 0);
    let cx = Context {
        width,
        id_col: column(col::ID).unwrap_or(0),
        category_col: column(col::CATEGORY).unwrap_or(0),
        status_col: column(col::STATUS),
        key_area_col: if d.key_area_only {
            Some(column(col::KEY_AREA).unwrap_or(usize::MAX))
        } else {
            None
        },
        cooldown: cooldown_months
            .map(|n| (column(col::LAST_INSPECTED), column(col::LAST_RESULT), n)),
        reference: d.reference_date,
        yearly_cap: m.yearly_cap,
        history: Context::new_history(d.history),
        extras: h.extras.iter().map(|(c, _)| *c).collect(),
        stratum: stratum_key.spec.clone(),
        eligible: eligible_key.as_ref().map(|k| k.spec.clone()),
        weight: weight_key.as_ref().map(|k| k.spec.clone()),
        categories: m.categories.clone(),
        known_categories: input.known.categories.clone(),
        kinds,
    };
    if cx.key_area_col == Some(usize::MAX) {
        // No key-area column: nobody is in a key area, so a key-area draw has no scope.
        return finish_empty(input, &layout, opts);
    }

    // Pass 1, in parallel; one thread if the split point fell inside a quoted record.
    let mut ranges = split(path, &layout, opts.threads.max(1), opts.chunk_bytes)?;
    let mut pass1 = run_pass1(path, &ranges, &cx, opts.chunk_bytes)?;
    if pass1.iter().zip(&ranges).any(|((_, end), r)| *end != r.1) {
        ranges = vec![(layout.data_start, layout.len)];
        pass1 = run_pass1(path, &ranges, &cx, opts.chunk_bytes)?;
    }
    let pass1: Vec<Pass1> = pass1.into_iter().map(|(p, _)| p).collect();
    let problems_flagged: Vec<u64> = pass1.iter().flat_map(|p| p.flagged.clone()).collect();
    let encoding: Vec<u64> = pass1.iter().flat_map(|p| p.encoding.clone()).collect();
    if !problems_flagged.is_empty() || !encoding.is_empty() {
        return Err(StreamError::Registry(row_problems(
            path,
            &display,
            &layout,
            input.known,
            problems_flagged,
            encoding,
        )?));
    }

    // Merge the threads' profiles into global ones.
    phase(Phase::Hooks);
    let mut g = Merged::default();
    for p in &pass1 {
        g.add(
            p,
            &cx,
            &stratum_key,
            eligible_key.as_ref(),
            weight_key.as_ref(),
        );
    }
    let history_used: BTreeMap<String, HistoryEntry> = pass1
        .iter()
        .flat_map(|p| p.history_used.iter().cloned())
        .collect();
    let rows: u64 = pass1.iter().map(|p| p.rows).sum();

    // Hooks, once per distinct input.
    let ctx = ctx_map(
        &m.id,
        &d.period.id,
        d.period.start,
        d.period.end,
        d.reference_date,
        match d.kind {
            crate::schedule::DrawKind::Holiday(h) => Some(h.name_zh()),
            crate::schedule::DrawKind::Regular => None,
        },
    );
    let build = Builder {
        header: h,
        known: input.known,
    };
    let mut hook_calls = 0u64;
    let used = |key: u32, which: fn(&GProfile) -> u32| {
        g.profiles
            .iter()
            .zip(&g.counts)
            .any(|(p, &n)| n > 0 && p.reason == Reason::Candidate && which(p) == key)
    };
    let eligible_answers: Vec<Answer<bool>> = match (&m.eligible, &eligible_key) {
        (Some(hook), Some(kf)) => (0..g.eligible_keys.len())
            .map(|i| {
                if !used(i as u32, |p| p.eligible) {
                    return Answer::Unused;
                }
                hook_calls += 1;
                let t = build.target(&kf.fields, &g.eligible_keys[i]);
                match sandbox.call(hook, target_map(&t), ctx.clone()) {
                    Ok(v) => match eligible_answer(hook, "", &v) {
                        Ok(b) => Answer::Ok(b),
                        Err(e) => Answer::Type(e),
                    },
                    Err(e) => Answer::Failed(e),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    // Which candidates are drawn from: their eligible answer (or no hook).
    let candidate_ok = |p: &GProfile| -> Option<&Answer<bool>> {
        if p.eligible == NONE {
            None
        } else {
            eligible_answers.get(p.eligible as usize)
        }
    };
    let eligible_failed: Vec<bool> = g
        .profiles
        .iter()
        .zip(&g.counts)
        .map(|(p, &n)| {
            n > 0
                && p.reason == Reason::Candidate
                && matches!(candidate_ok(p), Some(Answer::Failed(_) | Answer::Type(_)))
        })
        .collect();
    if eligible_failed.iter().any(|&f| f) {
        let groups: Vec<Option<u32>> = eligible_failed.iter().map(|&f| f.then_some(0)).collect();
        let (min, _) = min_ids(path, &ranges, &pass1, &g, &groups, 1, &cx, opts)?;
        if let Some(Some((id, gp))) = min.first()
            && let Some(a) = candidate_ok(&g.profiles[*gp as usize])
        {
            return Err(StreamError::Draw(a.failure(id)));
        }
    }
    let drawn_from = |p: &GProfile| -> bool {
        p.reason == Reason::Candidate && !matches!(candidate_ok(p), Some(Answer::Ok(false)))
    };

    let weight_answers: Vec<Answer<f64>> = match (&m.weight, &weight_key) {
        (Some(hook), Some(kf)) => (0..g.weight_keys.len())
            .map(|i| {
                let wanted = g
                    .profiles
                    .iter()
                    .zip(&g.counts)
                    .any(|(p, &n)| n > 0 && p.weight == i as u32 && drawn_from(p));
                if !wanted {
                    return Answer::Unused;
                }
                hook_calls += 1;
                let t = build.target(&kf.fields, &g.weight_keys[i]);
                match sandbox.call(hook, target_map(&t), ctx.clone()) {
                    Ok(v) => match weight_answer(hook, "", &v) {
                        Ok(w) => Answer::Ok(w),
                        Err(e) => Answer::Type(e),
                    },
                    Err(e) => Answer::Failed(e),
                }
            })
            .collect(),
        _ => Vec::new(),
    };

    // Strata: names and ratios, from each distinct stratum input.
    let stratum_of_key: Vec<(String, Ratio)> = g
        .stratum_keys
        .iter()
        .map(|key| {
            let t = build.target(&stratum_key.fields, key);
            let value = m
                .stratify_by
                .as_deref()
                .map(|f| stratum_value(&t, f))
                .unwrap_or_default();
            let class = if use_classes {
                class_of(&t, m.class_field.as_deref())
            } else {
                None
            };
            stratum_of(m, d.ratio, value, class.as_deref())
        })
        .collect();

    // Drawn-from rows per stratum name, with their ratios and weights.
    #[derive(Default)]
    struct Acc {
        n: u64,
        ratios: BTreeMap<Ratio, Vec<usize>>,
        weights: BTreeMap<u64, u64>,
        weight_failed: Vec<usize>,
        bad_weight: Vec<usize>,
    }
    let mut strata: BTreeMap<&str, Acc> = BTreeMap::new();
    for (i, (p, &n)) in g.profiles.iter().zip(&g.counts).enumerate() {
        if n == 0 || !drawn_from(p) {
            continue;
        }
        let (name, ratio) = &stratum_of_key[p.stratum as usize];
        let acc = strata.entry(name.as_str()).or_default();
        acc.n += n;
        acc.ratios.entry(*ratio).or_default().push(i);
        if m.weight.is_some() {
            match weight_answers.get(p.weight as usize) {
                Some(Answer::Ok(w)) if w.is_finite() && *w > 0.0 => {
                    *acc.weights.entry(w.to_bits()).or_insert(0) += n;
                }
                Some(Answer::Ok(_)) => acc.bad_weight.push(i),
                _ => acc.weight_failed.push(i),
            }
        }
    }

    // The ratio of a stratum whose rows disagree is that of its first target by id (as the
    // engine's strata map keeps the first); only pathological stratum names can disagree.
    let ambiguous: Vec<&str> = strata
        .iter()
        .filter(|(_, a)| a.ratios.len() > 1)
        .map(|(n, _)| *n)
        .collect();
    let mut ratio_of: BTreeMap<&str, Ratio> = strata
        .iter()
        .filter_map(|(n, a)| a.ratios.keys().next().map(|r| (*n, *r)))
        .collect();
    if !ambiguous.is_empty() {
        let mut groups = vec![None; g.profiles.len()];
        let mut group_ratio = Vec::new();
        for name in &ambiguous {
            for (ratio, members) in &strata[name].ratios {
                for &i in members {
                    groups[i] = Some(group_ratio.len() as u32);
                }
                group_ratio.push((*name, *ratio));
            }
        }
        let (min, _) = min_ids(
            path,
            &ranges,
            &pass1,
            &g,
            &groups,
            group_ratio.len(),
            &cx,
            opts,
        )?;
        for name in &ambiguous {
            let best = group_ratio
                .iter()
                .zip(&min)
                .filter(|((n, _), _)| n == name)
                .filter_map(|((_, r), m)| m.as_ref().map(|(id, _)| (id.clone(), *r)))
                .min();
            if let Some((_, r)) = best {
                ratio_of.insert(name, r);
            }
        }
    }

    // k, λ and the weight errors, stratum by stratum in name order (as the engine meets them).
    let mut plans: Vec<StratumPlan> = Vec::new();
    let mut error_groups: Vec<Option<u32>> = vec![None; g.profiles.len()];
    let mut pending: Vec<(usize, WeightProblem)> = Vec::new();
    for (name, acc) in &strata {
        let ratio = ratio_of.get(name).copied().unwrap_or(d.ratio);
        let n = usize::try_from(acc.n).unwrap_or(usize::MAX);
        let k = ratio.sample_size(n);
        let ranker = Ranker::new(&d.seed, &m.id, &d.period.id, name, Purpose::Targets);
        let mut plan = StratumPlan {
            name: name.to_string(),
            ratio,
            n,
            k,
            ranker,
            classes: Vec::new(),
            weights: Vec::new(),
            pareto: m.weight.is_some(),
        };
        if m.weight.is_some() {
            if !acc.weight_failed.is_empty() {
                for &i in &acc.weight_failed {
                    error_groups[i] = Some(pending.len() as u32);
                }
                pending.push((plans.len(), WeightProblem::Hook));
                plans.push(plan);
                break;
            }
            if !acc.bad_weight.is_empty() {
                for &i in &acc.bad_weight {
                    error_groups[i] = Some(pending.len() as u32);
                }
                pending.push((plans.len(), WeightProblem::Bad));
                plans.push(plan);
                break;
            }
            let hist: Vec<(f64, u64)> = acc
                .weights
                .iter()
                .map(|(&bits, &c)| (f64::from_bits(bits), c))
                .collect();
            let lambdas =
                lambdas_by_weight(&hist, k).map_err(|e| DrawFailure::Weights(e.to_string()))?;
            plan.classes = lambdas
                .into_iter()
                .map(|(l, certain)| (l, certain, l / (1.0 - l)))
                .collect();
            plan.weights = hist.iter().map(|(w, _)| *w).collect();
        }
        plans.push(plan);
    }
    if let Some((_, problem)) = pending.first() {
        let (min, _) = min_ids(path, &ranges, &pass1, &g, &error_groups, 1, &cx, opts)?;
        if let Some(Some((id, gp))) = min.first() {
            let p = &g.profiles[*gp as usize];
            let answer = weight_answers.get(p.weight as usize);
            return Err(StreamError::Draw(match (problem, answer) {
                (WeightProblem::Bad, Some(Answer::Ok(w))) => DrawFailure::Weights(
                    DrawError::BadWeight {
                        id: id.clone(),
                        weight: *w,
                    }
                    .to_string(),
                ),
                (_, Some(a)) => a.failure(id),
                (_, None) => DrawFailure::Weights("weight hook gave no answer".into()),
            }));
        }
    }

    // Every global profile's fate.
    let stratum_index: HashMap<&str, usize> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let fates: Vec<Fate> = g
        .profiles
        .iter()
        .map(|p| {
            let (name, _) = &stratum_of_key[p.stratum as usize];
            match p.reason {
                Reason::Deregistered => Fate::Excluded(Why::Deregistered, p.stratum),
                Reason::Cooldown => Fate::Excluded(Why::Cooldown, p.stratum),
                Reason::YearlyCap => Fate::Excluded(Why::YearlyCap, p.stratum),
                Reason::Candidate if !drawn_from(p) => Fate::Excluded(Why::Eligible, p.stratum),
                Reason::Candidate => {
                    let s = stratum_index.get(name.as_str()).copied().unwrap_or(0);
                    let class = match weight_answers.get(p.weight as usize) {
                        Some(Answer::Ok(w)) => plans[s]
                            .weights
                            .iter()
                            .position(|x| x.to_bits() == w.to_bits())
                            .unwrap_or(0),
                        _ => 0,
                    };
                    Fate::Drawn(s as u32, class as u32)
                }
            }
        })
        .collect();

    // Exclusion counts by stratum and reason.
    let mut excl: BTreeMap<(&str, Why), u64> = BTreeMap::new();
    for (f, &n) in fates.iter().zip(&g.counts) {
        if let Fate::Excluded(why, sk) = f
            && n > 0
        {
            *excl
                .entry((stratum_of_key[*sk as usize].0.as_str(), *why))
                .or_insert(0) += n;
        }
    }
    let excluded: u64 = excl.values().sum();
    let listed = excluded <= opts.list_exclusions_up_to as u64;

    // Pass 2.
    phase(Phase::Rank);
    let needs = Needs {
        id: cx.id_col,
        name: column(col::NAME).unwrap_or(0),
        list: listed.then(|| (column(col::LAST_INSPECTED), column(col::LAST_RESULT))),
    };
    let acts: Vec<Vec<Act>> = pass1
        .iter()
        .zip(&g.maps)
        .map(|(_, map)| {
            std::iter::once(Act::Skip)
                .chain(map.iter().map(|&gp| match fates[gp as usize] {
                    Fate::Drawn(s, c) => Act::Draw(s, c),
                    Fate::Excluded(why, _) if listed => Act::List(why),
                    Fate::Excluded(..) => Act::Skip,
                }))
                .collect()
        })
        .collect();
    let shared = Pass2Shared {
        plans: &plans,
        needs: &needs,
        cx: &cx,
        months: m.cooldown_months.unwrap_or(0),
        cap: m.yearly_cap.unwrap_or(0),
        eligible_hook: m.eligible.as_ref(),
    };
    let outs = run_pass2(path, &ranges, &pass1, &acts, &shared, opts)?;
    drop(pass1);
    let mut flagged: Vec<u64> = Vec::new();
    let mut encoding: Vec<u64> = Vec::new();
    let mut exclusions: Vec<Exclusion> = Vec::new();
    let mut tops: Vec<(TopK, TopK)> = Vec::new();
    for out in outs {
        flagged.extend(out.flagged);
        encoding.extend(out.encoding);
        exclusions.extend(out.exclusions);
        if tops.is_empty() {
            tops = out.tops;
        } else {
            for ((a, b), (plan, (x, y))) in out.tops.into_iter().zip(plans.iter().zip(&mut tops)) {
                x.merge(&plan.ranker, a);
                y.merge(&plan.ranker, b);
            }
        }
    }

    // The selection, in (stratum, rank) order.
    let mut finals: Vec<Final> = Vec::new();
    for (s, (plan, (certain, top))) in plans.iter().zip(tops).enumerate() {
        let mut order = certain.finish(&plan.ranker);
        order.extend(top.finish(&plan.ranker));
        order.truncate(plan.k);
        let (p, _) = uniform_probability(plan.n, plan.k.min(plan.n));
        for (position, (c, id, name)) in order.into_iter().enumerate() {
            let Ok(id) = String::from_utf8(id) else {
                encoding.push(c.offset);
                continue;
            };
            let name = match trim_bytes(&name) {
                Some(n) if !n.is_empty() => n.to_string(),
                Some(_) => {
                    flagged.push(c.offset);
                    continue;
                }
                None => {
                    encoding.push(c.offset);
                    continue;
                }
            };
            let incl = if plan.pareto {
                plan.classes.get(c.tag as usize).map_or(0.0, |x| x.0)
            } else {
                p
            };
            finals.push(Final {
                stratum: s,
                rank: rank_of(position),
                key: plan.ranker.key_of_bytes(id.as_bytes()),
                id,
                name,
                incl,
                offset: c.offset,
            });
        }
    }
    flagged.truncate(MAX_FLAGGED);
    encoding.truncate(MAX_FLAGGED);
    if !flagged.is_empty() || !encoding.is_empty() {
        return Err(StreamError::Registry(row_problems(
            path,
            &display,
            &layout,
            input.known,
            flagged,
            encoding,
        )?));
    }

    // Teams, in (stratum, rank) order, as the engine assigns them.
    phase(Phase::Teams);
    let rules = TeamRules {
        team_size: m.team_size,
        qualifications: &m.qualifications,
        department: &m.department,
        workload_cap: m.workload_cap,
    };
    let pool = engine::team_pool(d.inspectors, m);
    let mut conflicts = engine::Conflicts::new(m, sandbox);
    let team_targets: Vec<TeamTarget> = finals
        .iter()
        .map(|f| TeamTarget {
            id: &f.id,
            name: &f.name,
        })
        .collect();
    let mut teams: Vec<(Vec<String>, Option<String>)> = Vec::with_capacity(finals.len());
    let mut skips = Vec::new();
    let mut cached: Option<(usize, Target)> = None;
    let mut read_error: Option<StreamError> = None;
    let reader = RowReader {
        path,
        display: &display,
        layout: &layout,
        known: input.known,
    };
    assign_teams_each(
        &d.seed,
        &m.id,
        &d.period.id,
        &team_targets,
        &pool,
        &rules,
        &mut |inspector, i| {
            if !conflicts.active() {
                return Ok(false);
            }
            if cached.as_ref().is_none_or(|(at, _)| *at != i) {
                match reader.target(finals[i].offset) {
                    Ok(t) => cached = Some((i, t)),
                    Err(e) => {
                        read_error.get_or_insert(e);
                        return Err("the target's row could not be read again".into());
                    }
                }
            }
            match &cached {
                Some((_, t)) => conflicts.call(inspector, t),
                None => Ok(false),
            }
        },
        &mut |i, outcome| {
            for (inspector, skip) in outcome.skipped {
                skips.push(engine::inspector_skip(&finals[i].id, inspector, &skip));
            }
            teams.push((outcome.members, outcome.unstaffed));
        },
    );
    drop(team_targets);
    if let Some(e) = read_error {
        return Err(e);
    }
    conflicts.finish()?;

    // The manifest.
    let drawn = finals.len() as u64;
    let mut selected = Vec::with_capacity(finals.len());
    for (f, (team, unstaffed)) in finals.into_iter().zip(teams) {
        selected.push(Selected {
            rank: f.rank,
            stratum: plans[f.stratum].name.clone(),
            target_id: f.id,
            target_name: f.name,
            key: key_hex(&f.key),
            inclusion_probability: f.incl,
            team,
            unstaffed,
        });
    }
    let strata_info: Vec<StratumInfo> = plans
        .iter()
        .map(|p| StratumInfo {
            stratum: p.name.clone(),
            ratio_ppm: p.ratio.ppm(),
            eligible: p.n,
            k: p.k,
        })
        .collect();
    let exclusion_counts: Vec<ExclusionCount> = excl
        .iter()
        .map(|((stratum, why), &count)| ExclusionCount {
            stratum: stratum.to_string(),
            reason: why.code().to_string(),
            count,
        })
        .collect();
    let exclusions = if listed {
        exclusions.sort_by(|a, b| a.target_id.cmp(&b.target_id));
        exclusions
    } else {
        exclusion_counts
            .iter()
            .map(|c| {
                Exclusion::new(
                    "",
                    &c.reason,
                    &format!("分层“{}”：{} 户（名单从略）", c.stratum, c.count),
                )
            })
            .collect()
    };
    let eligible: u64 = plans.iter().map(|p| p.n as u64).sum();
    let manifest = engine::manifest(
        &input.draw,
        history_used,
        strata_info,
        selected,
        exclusions,
        skips,
    );
    phase(Phase::Done);
    Ok(Streamed {
        manifest,
        exclusion_counts,
        exclusions_listed: listed,
        stats: StreamStats {
            rows,
            in_scope: eligible + excluded,
            eligible,
            excluded,
            drawn,
            hook_calls,
            threads: ranges.len(),
        },
    })
}

/// A draw with nothing in scope.
fn finish_empty(
    input: &StreamInput<'_>,
    layout: &Layout,
    opts: &StreamOptions<'_>,
) -> Result<Streamed, StreamError> {
    let _ = layout;
    let manifest = engine::manifest(
        &input.draw,
        BTreeMap::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    if let Some(f) = opts.on_phase {
        f(Phase::Done);
    }
    Ok(Streamed {
        manifest,
        exclusion_counts: Vec::new(),
        exclusions_listed: true,
        stats: StreamStats::default(),
    })
}

/// A hook's answer for one distinct input.
enum Answer<T> {
    Ok(T),
    /// The hook failed.
    Failed(HookError),
    /// It answered with the wrong type (the error names no target yet).
    Type(DrawFailure),
    /// No row needed it.
    Unused,
}

impl<T> Answer<T> {
    /// The draw failure this answer causes for target `id`.
    fn failure(&self, id: &str) -> DrawFailure {
        match self {
            Answer::Failed(e) => DrawFailure::Hook(e.clone()),
            Answer::Type(DrawFailure::HookType {
                hook, got, want, ..
            }) => DrawFailure::HookType {
                hook: hook.clone(),
                target: id.to_string(),
                got: got.clone(),
                want,
            },
            Answer::Type(other) => other.clone(),
            Answer::Ok(_) | Answer::Unused => DrawFailure::Weights("no failure".into()),
        }
    }
}

enum WeightProblem {
    Hook,
    Bad,
}

/// Why an excluded row is excluded, in the order the engine checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Why {
    Deregistered,
    Cooldown,
    YearlyCap,
    Eligible,
}

impl Why {
    fn code(self) -> &'static str {
        match self {
            Why::Deregistered => "deregistered",
            Why::Cooldown => "cooldown",
            Why::YearlyCap => "yearly_cap",
            Why::Eligible => "eligible_hook",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Fate {
    /// Drawn from: stratum index and weight class.
    Drawn(u32, u32),
    /// Excluded, and the stratum key it would have had.
    Excluded(Why, u32),
}

/// What pass 2 does with a row.
#[derive(Debug, Clone, Copy)]
enum Act {
    Skip,
    Draw(u32, u32),
    List(Why),
    Group(u32),
}

/// A stratum to draw from.
struct StratumPlan {
    name: String,
    ratio: Ratio,
    n: usize,
    k: usize,
    ranker: Ranker,
    /// Per weight class: λ, certain, λ/(1−λ).
    classes: Vec<(f64, bool, f64)>,
    /// The weight of each class.
    weights: Vec<f64>,
    pareto: bool,
}

/// One drawn target.
struct Final {
    stratum: usize,
    rank: u32,
    key: [u8; 32],
    id: String,
    name: String,
    incl: f64,
    offset: u64,
}

/// A global profile: reason, eligible key, stratum key and weight key (global indexes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct GProfile {
    reason: Reason,
    eligible: u32,
    stratum: u32,
    weight: u32,
}

/// The threads' profiles merged.
#[derive(Default)]
struct Merged {
    profiles: Vec<GProfile>,
    counts: Vec<u64>,
    index: HashMap<GProfile, u32>,
    eligible_keys: Vec<Vec<Raw>>,
    eligible_index: HashMap<Vec<Raw>, u32>,
    weight_keys: Vec<Vec<Raw>>,
    weight_index: HashMap<Vec<Raw>, u32>,
    stratum_keys: Vec<Vec<Raw>>,
    stratum_index: HashMap<Vec<Raw>, u32>,
    /// Per thread: local profile → global profile.
    maps: Vec<Vec<u32>>,
}

fn raw_key(p: &Pass1, cx: &Context, spec: &KeySpec, key: u32) -> Vec<Raw> {
    let cell = |c: usize, id: u32| -> Box<[u8]> {
        p.columns
            .get(c)
            .and_then(|i: &Interner| i.values.get(id as usize))
            .cloned()
            .unwrap_or_default()
    };
    p.parts(spec, key)
        .into_iter()
        .map(|part| match part {
            Part::Cell(c, id) => Raw::Cell(cell(c, id)),
            Part::Extras(id) => Raw::Extras(
                p.extras_list
                    .get(id as usize)
                    .map(|ids| {
                        ids.iter()
                            .zip(&cx.extras)
                            .map(|(&v, &c)| cell(c, v))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            Part::Missing => Raw::Missing,
        })
        .collect()
}

fn intern(keys: &mut Vec<Vec<Raw>>, index: &mut HashMap<Vec<Raw>, u32>, key: Vec<Raw>) -> u32 {
    if let Some(&i) = index.get(&key) {
        return i;
    }
    let i = keys.len() as u32;
    keys.push(key.clone());
    index.insert(key, i);
    i
}

impl Merged {
    fn add(
        &mut self,
        p: &Pass1,
        cx: &Context,
        stratum: &KeyFields,
        eligible: Option<&KeyFields>,
        weight: Option<&KeyFields>,
    ) {
        let mut map = Vec::with_capacity(p.profile_list.len());
        for (local, &count) in p.profile_list.iter().zip(&p.counts) {
            let s = raw_key(p, cx, &stratum.spec, local.stratum);
            let s = intern(&mut self.stratum_keys, &mut self.stratum_index, s);
            let e = match eligible {
                Some(kf) if local.eligible != NONE => {
                    let k = raw_key(p, cx, &kf.spec, local.eligible);
                    intern(&mut self.eligible_keys, &mut self.eligible_index, k)
                }
                _ => NONE,
            };
            let w = match weight {
                Some(kf) if local.weight != NONE => {
                    let k = raw_key(p, cx, &kf.spec, local.weight);
                    intern(&mut self.weight_keys, &mut self.weight_index, k)
                }
                _ => NONE,
            };
            let gp = GProfile {
                reason: local.reason,
                eligible: e,
                stratum: s,
                weight: w,
            };
            let next = self.profiles.len() as u32;
            let id = *self.index.entry(gp).or_insert(next);
            if id == next {
                self.profiles.push(gp);
                self.counts.push(0);
            }
            self.counts[id as usize] += count;
            map.push(id);
        }
        self.maps.push(map);
    }
}

/// Builds the target a hook or a stratum sees from the raw values of the fields it reads (the
/// other fields keep their defaults, which it does not read).
struct Builder<'a> {
    header: &'a Header,
    known: &'a Known,
}

impl Builder<'_> {
    fn target(&self, fields: &[Field], key: &[Raw]) -> Target {
        let mut t = Target {
            id: String::new(),
            name: String::new(),
            category: String::new(),
            district: String::new(),
            address: String::new(),
            key_area: false,
            class: None,
            licence: None,
            status: TargetStatus::Active,
            last_inspected: None,
            last_result: None,
            extra: BTreeMap::new(),
        };
        let text = |b: &[u8]| trim_bytes(b).unwrap_or_default().to_string();
        let opt = |b: &[u8]| Some(text(b)).filter(|s| !s.is_empty());
        for (f, raw) in fields.iter().zip(key) {
            let b: &[u8] = match raw {
                Raw::Cell(b) => b,
                Raw::Missing => &[],
                Raw::Extras(values) => {
                    for ((_, h), v) in self.header.extras.iter().zip(values.iter()) {
                        if let Some(v) = opt(v) {
                            t.extra.insert(h.clone(), v);
                        }
                    }
                    continue;
                }
            };
            match f {
                Field::Id => t.id = text(b),
                Field::Name => t.name = text(b),
                Field::Category => {
                    let c = text(b);
                    t.category = crate::registry::read::known_spelling(&c, &self.known.categories)
                        .unwrap_or(c);
                }
                Field::District => t.district = text(b),
                Field::Address => t.address = text(b),
                Field::KeyArea => t.key_area = parse_bool(&text(b)).unwrap_or(false),
                Field::Class => t.class = opt(b),
                Field::Licence => t.licence = opt(b),
                Field::Status => {
                    t.status = parse_status(&text(b)).unwrap_or(TargetStatus::Active);
                }
                Field::LastInspected => t.last_inspected = parse_date(&text(b)).ok(),
                Field::LastResult => t.last_result = opt(b),
                Field::Extras => {}
                Field::Extra(h) => {
                    if let Some(v) = opt(b) {
                        t.extra.insert(h.clone(), v);
                    }
                }
            }
        }
        t
    }
}

/// Finds the header and where data starts.
fn layout(path: &Path, display: &str, opts: &StreamOptions<'_>) -> Result<Layout, StreamError> {
    let err = io_error(path);
    let len = std::fs::metadata(path).map_err(&err)?.len();
    let mut file = std::fs::File::open(path).map_err(&err)?;
    let mut bom = [0u8; 3];
    let got = read_up_to(&mut file, &mut bom).map_err(&err)?;
    let start = if got == 3 && bom == [0xEF, 0xBB, 0xBF] {
        3
    } else {
        0
    };
    // The first ten non-blank records hold the header (as the registry reader looks for it).
    let mut scanner =
        Scanner::open(path, start, u64::MAX, opts.chunk_bytes.min(1 << 20)).map_err(&err)?;
    let mut records: Vec<(u64, u64, Vec<u8>)> = Vec::new();
    let mut non_blank = 0;
    while non_blank < 10 {
        let Some(r) = scanner.next(usize::MAX, false).map_err(&err)? else {
            break;
        };
        let blank = (0..r.split()).all(|i| trim_bytes(r.cell(i)).is_some_and(str::is_empty));
        let (offset, raw) = (r.offset, r.raw.to_vec());
        if !blank {
            non_blank += 1;
        }
        records.push((offset, scanner.position(), raw));
    }
    let head_end = records.last().map_or(start, |r| r.1);
    let mut head = vec![0u8; usize::try_from(head_end - start).unwrap_or(0)];
    file.seek(SeekFrom::Start(start)).map_err(&err)?;
    file.read_exact(&mut head).map_err(&err)?;
    let text = std::str::from_utf8(&head).map_err(|e| {
        let line = 1 + head[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        StreamError::Registry(vec![
            Diagnostic::error("the file is not UTF-8 text".to_string())
                .at_line(display, line, None)
                .help(UTF8_HELP),
        ])
    })?;
    let mut sink = crate::registry::Sink::default();
    let header = crate::registry::read::target_header(text, display, 0, &mut sink);
    if sink.has_errors() {
        return Err(StreamError::Registry(sink.into_sorted()));
    }
    let Some(header) = header else {
        return Err(StreamError::Registry(sink.into_sorted()));
    };
    // The header record's line: 1 + the newlines before it.
    let line_of = |offset: u64| {
        1 + head[..usize::try_from(offset - start).unwrap_or(0)]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    };
    let Some((_, data_start, header_raw)) = records
        .iter()
        .find(|(offset, _, _)| line_of(*offset) == header.line)
        .cloned()
    else {
        return Err(StreamError::Registry(vec![Diagnostic::error(
            "cannot find the header row".to_string(),
        )]));
    };
    let _ = TARGET_FIELDS;
    Ok(Layout {
        header,
        header_raw,
        data_start,
        len,
    })
}

const UTF8_HELP: &str = "a streaming draw reads UTF-8 CSV only: in Excel choose 另存为 → \"CSV UTF-8(逗号分隔)\", or draw with the registry loaded in full";

fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Splits the data into `threads` byte ranges that start right after a `\n`.
fn split(
    path: &Path,
    layout: &Layout,
    threads: usize,
    chunk: usize,
) -> Result<Vec<(u64, u64)>, StreamError> {
    let err = io_error(path);
    let (start, end) = (layout.data_start, layout.len);
    let size = end.saturating_sub(start);
    if threads <= 1 || size < (1 << 16) {
        return Ok(vec![(start, end)]);
    }
    let mut file = std::fs::File::open(path).map_err(&err)?;
    let mut cuts = vec![start];
    let mut window = vec![0u8; chunk.clamp(4096, 1 << 20)];
    for i in 1..threads as u64 {
        let at = start + size * i / threads as u64;
        let mut pos = at;
        let cut = loop {
            file.seek(SeekFrom::Start(pos)).map_err(&err)?;
            let n = read_up_to(&mut file, &mut window).map_err(&err)?;
            if n == 0 {
                break end;
            }
            if let Some(nl) = memchr::memchr(b'\n', &window[..n]) {
                break pos + nl as u64 + 1;
            }
            pos += n as u64;
        };
        if cut > *cuts.last().unwrap_or(&start) && cut < end {
            cuts.push(cut);
        }
    }
    cuts.push(end);
    Ok(cuts.windows(2).map(|w| (w[0], w[1])).collect())
}

/// Pass 1 over each range in its own thread: (state, where the thread stopped).
fn run_pass1(
    path: &Path,
    ranges: &[(u64, u64)],
    cx: &Context,
    chunk: usize,
) -> Result<Vec<(Pass1, u64)>, StreamError> {
    let one = |&(start, stop): &(u64, u64)| -> Result<(Pass1, u64), StreamError> {
        let err = io_error(path);
        let rows = usize::try_from((stop - start) / 24).unwrap_or(0) + 1024;
        let mut p = Pass1::new(cx, rows);
        let mut s = Scanner::open(path, start, stop, chunk).map_err(&err)?;
        while let Some(r) = s.next(usize::MAX, true).map_err(&err)? {
            p.row(&r, cx);
        }
        Ok((p, s.position()))
    };
    parallel(ranges, one)
}

/// Runs `f` on every range, each in its own thread (the first on this one).
fn parallel<T: Send>(
    ranges: &[(u64, u64)],
    f: impl Fn(&(u64, u64)) -> Result<T, StreamError> + Sync,
) -> Result<Vec<T>, StreamError> {
    if ranges.len() == 1 {
        return ranges.iter().map(&f).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = ranges[1..]
            .iter()
            .map(|r| scope.spawn(move || f(r)))
            .collect();
        let mut out = vec![f(&ranges[0])];
        for h in handles {
            out.push(h.join().unwrap_or_else(|_| {
                Err(StreamError::Io {
                    path: String::new(),
                    source: std::io::Error::other("a worker thread panicked"),
                })
            }));
        }
        out.into_iter().collect()
    })
}

/// Columns pass 2 reads.
struct Needs {
    id: usize,
    name: usize,
    /// When excluded targets are listed: the cooldown columns (for the detail).
    list: Option<(Option<usize>, Option<usize>)>,
}

struct Pass2Shared<'a> {
    plans: &'a [StratumPlan],
    needs: &'a Needs,
    cx: &'a Context,
    /// The matter's cooldown (months) and yearly cap, for exclusion details.
    months: u32,
    cap: u32,
    eligible_hook: Option<&'a crate::script::Hook>,
}

#[derive(Default)]
struct Pass2Out {
    /// Per stratum: (certainty units, the rest).
    tops: Vec<(TopK, TopK)>,
    exclusions: Vec<Exclusion>,
    /// Per group: the smallest id and its global profile.
    groups: Vec<Option<(String, u32)>>,
    flagged: Vec<u64>,
    encoding: Vec<u64>,
}

fn run_pass2(
    path: &Path,
    ranges: &[(u64, u64)],
    pass1: &[Pass1],
    acts: &[Vec<Act>],
    sh: &Pass2Shared<'_>,
    opts: &StreamOptions<'_>,
) -> Result<Vec<Pass2Out>, StreamError> {
    let jobs: Vec<(usize, (u64, u64))> = ranges.iter().copied().enumerate().collect();
    let one =
        |&(t, range): &(usize, (u64, u64))| pass2(path, range, &pass1[t], &acts[t], sh, 0, opts);
    if jobs.len() == 1 {
        return jobs.iter().map(one).collect();
    }
    std::thread::scope(|scope| {
        let one = &one;
        let handles: Vec<_> = jobs[1..]
            .iter()
            .map(|j| scope.spawn(move || one(j)))
            .collect();
        let mut out = vec![one(&jobs[0])];
        for h in handles {
            out.push(h.join().unwrap_or_else(|_| {
                Err(StreamError::Io {
                    path: String::new(),
                    source: std::io::Error::other("a worker thread panicked"),
                })
            }));
        }
        out.into_iter().collect()
    })
}

fn pass2(
    path: &Path,
    (start, stop): (u64, u64),
    p1: &Pass1,
    acts: &[Act],
    sh: &Pass2Shared<'_>,
    groups: usize,
    opts: &StreamOptions<'_>,
) -> Result<Pass2Out, StreamError> {
    let err = io_error(path);
    let needs = sh.needs;
    let mut split = needs.id.max(needs.name) + 1;
    if let Some((a, b)) = needs.list {
        split = split
            .max(a.map_or(0, |c| c + 1))
            .max(b.map_or(0, |c| c + 1));
    }
    let mut out = Pass2Out {
        tops: sh
            .plans
            .iter()
            .map(|p| {
                let certain = p.classes.iter().any(|c| c.1);
                (
                    TopK::new(if certain { usize::MAX } else { 0 }),
                    TopK::new(p.k),
                )
            })
            .collect(),
        groups: vec![None; groups],
        ..Pass2Out::default()
    };
    let mut s = Scanner::open(path, start, stop, opts.chunk_bytes).map_err(&err)?;
    let mut row = 0usize;
    while let Some(r) = s.next(split, false).map_err(&err)? {
        let code = p1.codes.get(row).copied().unwrap_or(0) as usize;
        row += 1;
        let act = acts.get(code).copied().unwrap_or(Act::Skip);
        if matches!(act, Act::Skip) {
            continue;
        }
        let Some(id) = trim_bytes(r.cell(needs.id)) else {
            out.encoding.push(r.offset);
            continue;
        };
        match act {
            Act::Skip => {}
            Act::Draw(st, class) => {
                if !id_ok(id) {
                    if out.flagged.len() < MAX_FLAGGED {
                        out.flagged.push(r.offset);
                    }
                    continue;
                }
                let plan = &sh.plans[st as usize];
                let key = plan.ranker.key_of_bytes(id.as_bytes());
                let (certain, top) = &mut out.tops[st as usize];
                if plan.pareto {
                    let Some(&(lambda, is_certain, odds)) = plan.classes.get(class as usize) else {
                        continue;
                    };
                    if is_certain {
                        certain.push_tagged(
                            &plan.ranker,
                            0.0,
                            &key,
                            id.as_bytes(),
                            r.cell(needs.name),
                            r.offset,
                            class,
                        );
                        continue;
                    }
                    let q = if lambda == 0.0 {
                        f64::INFINITY
                    } else {
                        let u = uniform_from_key(&key);
                        (u / (1.0 - u)) / odds
                    };
                    if top.admits(&plan.ranker, q, &key, id.as_bytes(), r.offset) {
                        top.push_tagged(
                            &plan.ranker,
                            q,
                            &key,
                            id.as_bytes(),
                            r.cell(needs.name),
                            r.offset,
                            class,
                        );
                    }
                } else if top.admits(&plan.ranker, 0.0, &key, id.as_bytes(), r.offset) {
                    top.push_tagged(
                        &plan.ranker,
                        0.0,
                        &key,
                        id.as_bytes(),
                        r.cell(needs.name),
                        r.offset,
                        0,
                    );
                }
            }
            Act::List(why) => {
                let e = match why {
                    Why::Deregistered => engine::deregistered(id),
                    Why::Cooldown => {
                        let (dc, rc) = needs.list.unwrap_or((None, None));
                        let hist = sh.cx.history.get(id);
                        let date = dc
                            .and_then(|c| trim_bytes(r.cell(c)))
                            .and_then(|s| parse_date(s).ok());
                        let result = rc.and_then(|c| trim_bytes(r.cell(c))).map(trim);
                        match engine::last_clean(date, result.filter(|s| !s.is_empty()), hist) {
                            Some(d) => engine::cooldown(id, d, sh.months),
                            None => continue,
                        }
                    }
                    Why::YearlyCap => {
                        let times = sh.cx.history.get(id).map_or(0, |h| h.inspections_this_year);
                        engine::yearly_cap(id, times, sh.cap)
                    }
                    Why::Eligible => match sh.eligible_hook {
                        Some(h) => engine::not_eligible(id, h),
                        None => continue,
                    },
                };
                out.exclusions.push(e);
            }
            Act::Group(g) => {
                if let Some(slot) = out.groups.get_mut(g as usize)
                    && slot.as_ref().is_none_or(|(best, _)| id < best.as_str())
                {
                    let gp = p1_global(code);
                    *slot = Some((id.to_string(), gp));
                }
            }
        }
    }
    Ok(out)
}

/// Local code → local profile index (the caller maps it to the global profile).
fn p1_global(code: usize) -> u32 {
    code.saturating_sub(1) as u32
}

/// The smallest id in each group of global profiles (`groups[profile]`), by one scan; returns
/// per group (id, global profile).
#[allow(clippy::too_many_arguments)]
fn min_ids(
    path: &Path,
    ranges: &[(u64, u64)],
    pass1: &[Pass1],
    g: &Merged,
    groups: &[Option<u32>],
    n: usize,
    cx: &Context,
    opts: &StreamOptions<'_>,
) -> Result<(Vec<Option<(String, u32)>>, ()), StreamError> {
    let acts: Vec<Vec<Act>> = g
        .maps
        .iter()
        .map(|map| {
            std::iter::once(Act::Skip)
                .chain(
                    map.iter()
                        .map(|&gp| match groups.get(gp as usize).copied().flatten() {
                            Some(group) => Act::Group(group),
                            None => Act::Skip,
                        }),
                )
                .collect()
        })
        .collect();
    let needs = Needs {
        id: cx.id_col,
        name: cx.id_col,
        list: None,
    };
    let sh = Pass2Shared {
        plans: &[],
        needs: &needs,
        cx,
        months: 0,
        cap: 0,
        eligible_hook: None,
    };
    let jobs: Vec<(usize, (u64, u64))> = ranges.iter().copied().enumerate().collect();
    let outs = parallel(&jobs.iter().map(|(_, r)| *r).collect::<Vec<_>>(), |r| {
        let t = jobs.iter().position(|(_, x)| x == r).unwrap_or(0);
        pass2(path, *r, &pass1[t], &acts[t], &sh, n, opts).map(|mut o| {
            // Local profile indexes → global.
            for (_, gp) in o.groups.iter_mut().flatten() {
                *gp = g.maps[t].get(*gp as usize).copied().unwrap_or(0);
            }
            o
        })
    })?;
    let mut best: Vec<Option<(String, u32)>> = vec![None; n];
    for o in outs {
        for (b, x) in best.iter_mut().zip(o.groups) {
            if let Some(x) = x
                && b.as_ref().is_none_or(|(id, _)| x.0 < *id)
            {
                *b = Some(x);
            }
        }
    }
    Ok((best, ()))
}

/// Reads rows again, by offset, with the registry reader.
struct RowReader<'a> {
    path: &'a Path,
    display: &'a str,
    layout: &'a Layout,
    known: &'a Known,
}

impl RowReader<'_> {
    /// The target of the row at `offset`, exactly as the registry reader makes it.
    fn target(&self, offset: u64) -> Result<Target, StreamError> {
        let (rows, diags) = self.read(&[offset])?;
        if diags.iter().any(Diagnostic::is_error) {
            return Err(StreamError::Registry(diags));
        }
        rows.into_iter().next().ok_or_else(|| {
            StreamError::Registry(vec![Diagnostic::error(format!(
                "the row at byte {offset} could not be read again"
            ))])
        })
    }

    /// The rows at `offsets` read by the registry reader (as a file of the header and those
    /// rows): the targets it returns and its diagnostics, with this file's line numbers.
    fn read(&self, offsets: &[u64]) -> Result<(Vec<Target>, Vec<Diagnostic>), StreamError> {
        let err = io_error(self.path);
        let newlines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
        let mut buf = self.layout.header_raw.clone();
        buf.push(b'\n');
        let first_row_line = 2 + newlines(&self.layout.header_raw);
        let mut starts = Vec::with_capacity(offsets.len());
        let mut line = first_row_line;
        for &offset in offsets {
            let mut s = Scanner::open(self.path, offset, offset + 1, 1 << 16).map_err(&err)?;
            let raw = s
                .next(0, false)
                .map_err(&err)?
                .map(|r| r.raw.to_vec())
                .unwrap_or_default();
            starts.push(line);
            line += 1 + newlines(&raw);
            buf.extend_from_slice(&raw);
            buf.push(b'\n');
        }
        let mut sink = crate::registry::Sink::default();
        let rows =
            crate::registry::read::targets(&buf, self.path, self.display, 0, self.known, &mut sink);
        let mut diags: Vec<Diagnostic> = sink.into_sorted();
        diags.retain(
            |d| matches!(d.location, Location::Line { line, .. } if line >= first_row_line),
        );
        if !diags.is_empty() {
            let file_lines = lines_at(self.path, offsets).map_err(&err)?;
            for d in &mut diags {
                if let Location::Line { line, .. } = &mut d.location {
                    let j = starts.partition_point(|&s| s <= *line).saturating_sub(1);
                    if let (Some(&s), Some(&f)) = (starts.get(j), file_lines.get(j)) {
                        *line = f + (*line - s);
                    }
                }
            }
        }
        Ok((rows.into_iter().map(|(t, _)| t).collect(), diags))
    }
}

/// The line (1-based, as the registry reader counts) of each offset.
fn lines_at(path: &Path, offsets: &[u64]) -> std::io::Result<Vec<usize>> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut out = vec![0usize; offsets.len()];
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut pos, mut lines, mut filled, mut at) = (0u64, 1usize, 0usize, 0usize);
    for i in order {
        let target = offsets[i];
        while pos < target {
            if at == filled {
                filled = read_up_to(&mut file, &mut buf)?;
                at = 0;
                if filled == 0 {
                    break;
                }
            }
            let take = usize::try_from(target - pos)
                .unwrap_or(usize::MAX)
                .min(filled - at);
            lines += memchr::memchr_iter(b'\n', &buf[at..at + take]).count();
            at += take;
            pos += take as u64;
        }
        out[i] = lines;
    }
    Ok(out)
}

/// Diagnostics for rows pass 1 or 2 found a problem in: the registry reader's own, for the rows
/// it refuses, and an encoding error for rows that are not UTF-8.
fn row_problems(
    path: &Path,
    display: &str,
    layout: &Layout,
    known: &Known,
    mut flagged: Vec<u64>,
    mut encoding: Vec<u64>,
) -> Result<Vec<Diagnostic>, StreamError> {
    flagged.sort_unstable();
    flagged.dedup();
    encoding.sort_unstable();
    encoding.dedup();
    let reader = RowReader {
        path,
        display,
        layout,
        known,
    };
    let (_, mut diags) = reader.read(&flagged)?;
    let err = io_error(path);
    let flagged_lines = lines_at(path, &flagged).map_err(&err)?;
    for line in flagged_lines {
        let reported = diags.iter().any(|d| {
            d.is_error() && matches!(d.location, Location::Line { line: l, .. } if l == line)
        });
        if !reported {
            diags.push(
                Diagnostic::error("this row cannot be read".to_string())
                    .at_line(display, line, None)
                    .help("check the row against the header with `suiji registry check`"),
            );
        }
    }
    for line in lines_at(path, &encoding).map_err(&err)? {
        diags.push(
            Diagnostic::error("the row is not UTF-8 text".to_string())
                .at_line(display, line, None)
                .help(UTF8_HELP),
        );
    }
    diags.sort_by_key(|d| match d.location {
        Location::Line { line, column, .. } => (line, column.unwrap_or(0)),
        _ => (0, 0),
    });
    Ok(diags)
}
