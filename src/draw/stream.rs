//! Streaming draws: one draw straight from a target registry CSV file, for registries too large
//! to load (a national registry of ten million targets is about 1.5 GB of CSV).
//!
//! [`run`] gives **exactly the selection [`engine::run`] gives** for the same registry and
//! parameters: the same strata (names, ratios, sizes, k), the same keys, Pareto λ and capping,
//! ranks and inclusion probabilities, the same teams, inspector skips and history. It never holds
//! the targets as [`Target`] rows:
//!
//! 1. **Pass 1** reads the file once, in parallel over byte ranges split on record boundaries
//!    (`scan`: plain lines are split on commas directly, quoted records go through `csv-core`,
//!    the tokenizer the registry reader uses). It reads only the columns the matter needs
//!    (category, status, the cooldown columns, the stratifying and class fields, the fields
//!    the hooks read, the id) and reduces each row to a *profile* (`profile`): why it is
//!    excluded, or that it is drawn from, plus the interned values of its stratum's and hooks'
//!    inputs. The hooks run once per distinct input, memoised on
//!    [`crate::script::Hook::reads`] (a hook that may read anything is keyed on every field).
//!    For each row drawn from, its key is computed (the stratum's [`Ranker`] is known from the
//!    stratum's input) and 16 bytes are kept: the key's first 8 bytes, the row's offset and its
//!    profile. Rows whose key is small enough that they may well be drawn (U below about three
//!    times their chance of being drawn) also keep their id and name cell, up to 64 MiB a
//!    thread.
//! 2. **Strata**: the profile counts give each stratum's size and k and, for weighted draws,
//!    its weight histogram; λ and the capping depend only on k and the weights, so they are
//!    computed from the histogram (`lambdas_by_weight`, exactly `lambdas` per unit).
//! 3. **Selection** (`select`), in memory and in parallel: per stratum the best k by (Q, key
//!    head), keeping rows tied with the k-th. Their ids and names come from pass 1 or, for the
//!    few not kept there, from reading those rows again by offset; their full keys settle the
//!    exact order (Q, key, id bytes), as `rank_pareto` and `top_k_uniform` order.
//! 4. **Teams** are assigned to the selection in (stratum, rank) order by the engine's own code
//!    (`draw::team`); rows are read again through the registry reader only when the
//!    matter has a `conflict` hook (which sees the whole target).
//!
//! Nothing here reads the clock, the OS's randomness or a random number generator; the only
//! inputs are the file, the draw's parameters and the rules. [`StreamOptions::on_phase`] lets a
//! caller time the phases.
//!
//! # What differs from the engine's manifest
//!
//! - `exclusions`: when more targets are excluded than [`StreamOptions::list_exclusions_up_to`]
//!   (100 000 by default), the list is **summarised**: one entry per (stratum, reason) with an
//!   empty `target_id`, the reason code, and the detail `分层“<stratum>”：<n> 户（名单从略）`,
//!   sorted by stratum, then reason (deregistered, cooldown, yearly_cap, eligible_hook). The
//!   stratum of an excluded target is the one it would have been drawn in. The same counts
//!   are in [`Streamed::exclusion_counts`]. At or below the limit the list is the engine's,
//!   entry for entry (the rows are read again through the registry reader).
//! - `registry` is taken from the input as given: computing the canonical snapshot hash of
//!   ten million rows is the registry freeze's job, not the draw's.
//!
//! Everything else, and so `manifest_hash` whenever the exclusions are listed, is identical.
//!
//! # What is checked
//!
//! The file must be UTF-8 CSV (a byte-order mark is allowed; GBK and workbooks are not read).
//! The header is found and mapped by the registry reader itself. Every column the draw reads
//! is checked in every row in scope as the registry reader checks it (unknown categories,
//! statuses, key-area flags and dates, rows of the wrong width, empty or mangled ids of the
//! targets drawn from, empty names of the targets drawn); a bad row fails the draw with the
//! registry reader's own diagnostics for it, at this file's line. Columns the draw does not
//! read, rows out of scope and duplicate ids are **not** checked: run `suiji registry check`
//! first. If the file changes between the pass and the reading again of the drawn rows, the
//! draw fails (their keys no longer match).
//!
//! A hook failure fails the draw exactly as in the engine: the first failing target by id for
//! the eligible hook; for the weight hook, stratum by stratum in name order, the first failing
//! target, then the first non-positive weight, then an overflowing sum.

mod profile;
mod scan;
mod select;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use rayon::prelude::*;

use crate::diag::{Diagnostic, Location};
use crate::draw::engine::{
    self, DrawFailure, DrawInput, class_of, eligible_answer, stratum_of, stratum_value,
    uses_classes, weight_answer,
};
use crate::draw::manifest::{Exclusion, HistoryEntry, Manifest, Selected, StratumInfo};
use crate::draw::pareto::lambdas_by_weight;
use crate::draw::ranker::uniform_from_head;
use crate::draw::team::{TeamTarget, assign_teams_each};
use crate::draw::uniform::uniform_probability;
use crate::draw::{DrawError, Purpose, Ranker, TeamRules, key_hex, rank_of};
use crate::registry::Known;
use crate::registry::read::{Header, TARGET_FIELDS, t as col};
use crate::registry::types::{Target, TargetStatus};
use crate::registry::values::{parse_bool, parse_date, parse_status};
use crate::rules::model::Ratio;
use crate::script::{Sandbox, ctx_map, target_map};

use profile::{
    Answer, CAPTURED, Context, KeySpec, MAX_FLAGGED, MAX_RANGE, NONE, Oracle, Pass1, Raw, Reason,
    Src, trim_bytes,
};
use scan::Scanner;
use select::{Cand, TopK};

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
    /// Pass 1: reading, scope, exclusions, hooks (once per distinct input) and keys.
    Scan,
    /// Strata, k and λ from the merged counts.
    Hooks,
    /// The bounded selection per stratum, in memory.
    Rank,
    /// Reading the drawn rows again, and teams.
    Teams,
    /// Building and sealing the manifest.
    Manifest,
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
            chunk_bytes: 512 << 10,
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
    if d.key_area_only && column(col::KEY_AREA).is_none() {
        // No key-area column: nobody is in a key area, so a key-area draw has no scope.
        return finish_empty(input, opts);
    }
    let cx = Context {
        width,
        id_col: column(col::ID).unwrap_or(0),
        category_col: column(col::CATEGORY).unwrap_or(0),
        status_col: column(col::STATUS),
        key_area_col: if d.key_area_only {
            column(col::KEY_AREA)
        } else {
            None
        },
        cooldown: m
            .cooldown_months
            .filter(|&n| n > 0)
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
        track_all: use_classes,
        list_up_to: opts.list_exclusions_up_to,
        cooldown_from: None,
        capture_below: {
            let most = m
                .class_ratios
                .values()
                .filter(|_| use_classes)
                .fold(d.ratio.as_f64(), |a, r| a.max(r.as_f64()));
            (3.0 * most).min(1.0)
        },
        weighted: m.weight.is_some(),
        name_col: column(col::NAME).unwrap_or(0),
    };
    let mut cx = cx;
    if let Some((Some(date_col), _, months)) = cx.cooldown {
        let read_elsewhere = [Some(&cx.stratum), cx.eligible.as_ref(), cx.weight.as_ref()]
            .into_iter()
            .flatten()
            .any(|k| k.sources.contains(&Src::Col(date_col)));
        if !read_elsewhere {
            cx.cooldown_from = Some(profile::cooldown_cutoff(months, d.reference_date));
        }
    }
    let cx = cx;
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
    let rules = Rules {
        sandbox,
        input: d,
        use_classes,
        builder: Builder {
            header: h,
            known: input.known,
        },
        ctx,
        stratum: &stratum_key.fields,
        eligible: m
            .eligible
            .as_ref()
            .zip(eligible_key.as_ref().map(|k| &k.fields[..])),
        weight: m
            .weight
            .as_ref()
            .zip(weight_key.as_ref().map(|k| &k.fields[..])),
    };

    // Pass 1, in parallel; one thread if a split point fell inside a quoted record.
    let mut ranges = split(path, &layout, opts.threads.max(1), opts.chunk_bytes)?;
    let mut pass1 = run_pass1(path, &ranges, &cx, &rules, opts.chunk_bytes)?;
    if pass1.iter().zip(&ranges).any(|((_, end), r)| *end != r.1) {
        drop(pass1);
        // Sequential ranges, each starting where the previous one really ended.
        pass1 = Vec::new();
        let mut start = layout.data_start;
        let mut done = Vec::new();
        while start < layout.len {
            let stop = (start + MAX_RANGE - (1 << 24)).min(layout.len);
            let mut one = run_pass1(path, &[(start, stop)], &cx, &rules, opts.chunk_bytes)?;
            let Some((p, end)) = one.pop() else { break };
            done.push((start, end));
            pass1.push((p, end));
            if end <= start {
                break;
            }
            start = end;
        }
        ranges = done;
    }
    let pass1: Vec<Pass1> = pass1.into_iter().map(|(p, _)| p).collect();
    let flagged: Vec<u64> = pass1
        .iter()
        .flat_map(|p| p.flagged.iter().copied())
        .collect();
    let encoding: Vec<u64> = pass1
        .iter()
        .flat_map(|p| p.encoding.iter().copied())
        .collect();
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

    // The threads' profiles, merged.
    phase(Phase::Hooks);
    let mut g = Merged::default();
    for p in &pass1 {
        g.add(p, &cx, eligible_key.as_ref(), weight_key.as_ref());
    }
    let history_used: BTreeMap<String, HistoryEntry> = pass1
        .iter()
        .flat_map(|p| p.history_used.iter().cloned())
        .collect();
    let rows_read: u64 = pass1.iter().map(|p| p.rows).sum();
    let hook_calls: u64 = pass1.iter().map(|p| p.hook_calls).sum();

    // An eligible hook that failed fails the draw at the first such target by id.
    let live = |i: usize| g.counts[i] > 0;
    let eligible_of = |p: &GProfile| -> Option<&Answer<bool>> {
        (p.eligible != NONE)
            .then(|| g.eligible_answers.get(p.eligible as usize))
            .flatten()
    };
    let failing = (0..g.profiles.len())
        .filter(|&i| {
            live(i)
                && g.profiles[i].reason == Reason::Candidate
                && eligible_of(&g.profiles[i]).is_some_and(Answer::failed)
        })
        .filter_map(|i| g.min_ids[i].as_ref().map(|id| (id, i)))
        .min();
    if let Some((id, i)) = failing
        && let Some(a) = eligible_of(&g.profiles[i])
    {
        return Err(StreamError::Draw(a.failure(id)));
    }
    let drawn_from = |p: &GProfile| -> bool {
        p.reason == Reason::Candidate && !matches!(eligible_of(p), Some(Answer::Ok(false)))
    };

    let weight_of = |p: &GProfile| g.weight_answers.get(p.weight as usize);

    // Strata: names and ratios, from each distinct stratum input.
    let stratum_of_key: Vec<(String, Ratio)> = g
        .stratum_keys
        .iter()
        .map(|key| rules.stratum_name(key))
        .collect();

    #[derive(Default)]
    struct Acc {
        n: u64,
        ratios: BTreeMap<Ratio, Vec<usize>>,
        weights: BTreeMap<u64, u64>,
        weight_failed: Vec<usize>,
        bad_weight: Vec<usize>,
    }
    let mut strata: BTreeMap<&str, Acc> = BTreeMap::new();
    for (i, p) in g.profiles.iter().enumerate() {
        if !live(i) || !drawn_from(p) {
            continue;
        }
        let n = g.counts[i];
        let (name, ratio) = &stratum_of_key[p.stratum as usize];
        let acc = strata.entry(name.as_str()).or_default();
        acc.n += n;
        acc.ratios.entry(*ratio).or_default().push(i);
        if m.weight.is_some() {
            match weight_of(p) {
                Some(Answer::Ok(w)) if w.is_finite() && *w > 0.0 => {
                    *acc.weights.entry(w.to_bits()).or_insert(0) += n;
                }
                Some(Answer::Ok(_)) => acc.bad_weight.push(i),
                _ => acc.weight_failed.push(i),
            }
        }
    }
    let min_of = |members: &[usize]| {
        members
            .iter()
            .filter_map(|&i| g.min_ids[i].as_ref().map(|id| (id, i)))
            .min()
    };

    // k, λ and the weight errors, stratum by stratum in name order (as the engine meets them).
    let mut plans: Vec<StratumPlan> = Vec::new();
    for (name, acc) in &strata {
        // A stratum whose rows disagree on the ratio takes its first target's (by id), as
        // the engine's strata map keeps the first; only odd stratum names can disagree.
        let ratio = if acc.ratios.len() > 1 {
            acc.ratios
                .iter()
                .filter_map(|(r, members)| min_of(members).map(|(id, _)| (id, *r)))
                .min()
                .map_or(d.ratio, |(_, r)| r)
        } else {
            acc.ratios.keys().next().copied().unwrap_or(d.ratio)
        };
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
            if let Some((id, i)) = min_of(&acc.weight_failed)
                && let Some(a) = weight_of(&g.profiles[i])
            {
                return Err(StreamError::Draw(a.failure(id)));
            }
            if let Some((id, i)) = min_of(&acc.bad_weight)
                && let Some(Answer::Ok(w)) = weight_of(&g.profiles[i])
            {
                return Err(StreamError::Draw(DrawFailure::Weights(
                    DrawError::BadWeight {
                        id: id.clone(),
                        weight: *w,
                    }
                    .to_string(),
                )));
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

    // Every global profile's fate.
    let stratum_index: HashMap<&str, usize> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let fates: Vec<Fate> = g
        .profiles
        .iter()
        .map(|p| match p.reason {
            Reason::Deregistered => Fate::Excluded(Why::Deregistered, p.stratum),
            Reason::Cooldown => Fate::Excluded(Why::Cooldown, p.stratum),
            Reason::YearlyCap => Fate::Excluded(Why::YearlyCap, p.stratum),
            Reason::Candidate if !drawn_from(p) => Fate::Excluded(Why::Eligible, p.stratum),
            Reason::Candidate => {
                let name = stratum_of_key[p.stratum as usize].0.as_str();
                let s = stratum_index.get(name).copied().unwrap_or(0);
                let class = match weight_of(p) {
                    Some(Answer::Ok(w)) => plans[s]
                        .weights
                        .iter()
                        .position(|x| x.to_bits() == w.to_bits())
                        .unwrap_or(0),
                    _ => 0,
                };
                Fate::Drawn(s as u32, class as u32)
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

    // The selection: per thread, the best k of each stratum among the rows it hashed.
    phase(Phase::Rank);
    let jobs: Vec<usize> = (0..pass1.len()).collect();
    // Captured ids and names: thread t's are numbered from cap_base[t].
    let mut cap_base = Vec::with_capacity(pass1.len());
    let mut next_cap = 0u32;
    for p in &pass1 {
        cap_base.push(next_cap);
        next_cap += p.captures.len() as u32;
    }
    let tops: Vec<Vec<(TopK, TopK)>> = parallel(&jobs, |&t| {
        let p = &pass1[t];
        let map = &g.maps[t];
        let mut cursor = cap_base[t];
        let mut tops: Vec<(TopK, TopK)> = plans
            .iter()
            .map(|p| {
                let certain = p.classes.iter().any(|c| c.1);
                (
                    TopK::new(if certain { usize::MAX } else { 0 }),
                    TopK::new(p.k),
                )
            })
            .collect();
        for row in &p.drawn {
            let (head, offset) = (row.head, p.base + u64::from(row.offset & !CAPTURED));
            let cap = if row.offset & CAPTURED != 0 {
                cursor += 1;
                cursor - 1
            } else {
                NONE
            };
            let Some(&gp) = map.get(row.profile as usize) else {
                continue;
            };
            let Fate::Drawn(s, class) = fates[gp as usize] else {
                continue;
            };
            let plan = &plans[s as usize];
            let (certain, rest) = &mut tops[s as usize];
            if !plan.pareto {
                rest.offer(Cand {
                    q: 0.0,
                    head,
                    offset,
                    tag: 0,
                    cap,
                });
                continue;
            }
            let Some(&(lambda, is_certain, odds)) = plan.classes.get(class as usize) else {
                continue;
            };
            if is_certain {
                certain.offer(Cand {
                    q: 0.0,
                    head,
                    offset,
                    tag: class,
                    cap,
                });
                continue;
            }
            let q = if lambda == 0.0 {
                f64::INFINITY
            } else {
                let u = uniform_from_head(head);
                (u / (1.0 - u)) / odds
            };
            rest.offer(Cand {
                q,
                head,
                offset,
                tag: class,
                cap,
            });
        }
        Ok(tops)
    })?;
    let excluded_rows: Vec<(u64, u32)> = if listed {
        pass1
            .iter()
            .zip(&g.maps)
            .flat_map(|(p, map)| {
                p.excluded
                    .iter()
                    .map(move |&(o, local)| (o, map.get(local as usize).copied().unwrap_or(0)))
            })
            .collect()
    } else {
        Vec::new()
    };
    let captured: Vec<Captured> = pass1
        .into_iter()
        .zip(&cap_base)
        .map(|(p, &base)| (base, p.captures, p.capture_bytes))
        .collect();
    let capture = |cap: u32| -> Option<(&[u8], &[u8])> {
        let t = captured
            .partition_point(|(base, _, _)| *base <= cap)
            .checked_sub(1)?;
        let (base, refs, bytes) = &captured[t];
        let &(at, id_len, name_len) = refs.get((cap - base) as usize)?;
        let (at, id_len, name_len) = (at as usize, id_len as usize, name_len as usize);
        Some((
            bytes.get(at..at + id_len)?,
            bytes.get(at + id_len..at + id_len + name_len)?,
        ))
    };
    let mut merged: Vec<(TopK, TopK)> = Vec::new();
    for t in tops {
        if merged.is_empty() {
            merged = t;
        } else {
            for ((a, b), (x, y)) in t.into_iter().zip(&mut merged) {
                x.merge(a);
                y.merge(b);
            }
        }
    }

    // Read the kept rows again for their ids and names; order them exactly.
    let mut kept: Vec<(usize, bool, Cand)> = merged
        .into_iter()
        .enumerate()
        .flat_map(|(s, (certain, rest))| {
            certain
                .finish()
                .into_iter()
                .map(move |c| (s, true, c))
                .chain(rest.finish().into_iter().map(move |c| (s, false, c)))
        })
        .collect();
    kept.sort_unstable_by_key(|(_, _, c)| c.offset);
    // Rows whose id and name were not kept in pass 1 are read again.
    let offsets: Vec<u64> = kept
        .iter()
        .filter(|(_, _, c)| c.cap == NONE)
        .map(|(_, _, c)| c.offset)
        .collect();
    let read = read_ids_and_names(
        path,
        &offsets,
        cx.id_col,
        column(col::NAME).unwrap_or(0),
        opts.threads.max(1),
    )?;
    drop(offsets);
    let mut next_read = read.iter();
    let cells: Vec<(&[u8], &[u8])> = kept
        .iter()
        .map(|(_, _, c)| {
            let got = if c.cap == NONE {
                next_read.next().map(|(i, n)| (&i[..], &n[..]))
            } else {
                capture(c.cap)
            };
            got.unwrap_or_default()
        })
        .collect();
    // Each kept row with its full key, checked against the head pass 1 computed.
    let mut rows: Vec<Row> = Vec::with_capacity(kept.len());
    kept.par_iter()
        .zip(cells.par_iter())
        .map(|(&(s, certain, cand), &(id, name))| {
            let tid = trim_bytes(id).unwrap_or_default();
            let key = plans[s].ranker.key_of_bytes(tid.as_bytes());
            Row {
                stratum: s as u32,
                rank: 0,
                certain,
                cand,
                key,
                id: tid.to_string(),
                name,
                problem: if trim_bytes(id).is_none() || trim_bytes(name).is_none() {
                    Problem::Encoding
                } else if trim_bytes(name).is_some_and(str::is_empty) {
                    Problem::Flagged
                } else if select::head(&key) != cand.head {
                    Problem::Changed
                } else {
                    Problem::None
                },
            }
        })
        .collect_into_vec(&mut rows);
    drop(kept);
    if rows.iter().any(|r| r.problem == Problem::Changed) {
        return Err(StreamError::Io {
            path: display.clone(),
            source: std::io::Error::other("the file changed while the draw was reading it"),
        });
    }
    // Strata in order, each in the draw order: certainty units, then Q, then key, id bytes,
    // offset. The first k of each are drawn.
    rows.par_sort_unstable_by(|a, b| {
        a.stratum
            .cmp(&b.stratum)
            .then(b.certain.cmp(&a.certain))
            .then(a.cand.q.total_cmp(&b.cand.q))
            .then(a.cand.head.cmp(&b.cand.head))
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()))
            .then(a.cand.offset.cmp(&b.cand.offset))
    });
    let mut position = 0usize;
    let mut current = u32::MAX;
    for r in &mut rows {
        if r.stratum != current {
            current = r.stratum;
            position = 0;
        }
        r.rank = if position < plans[r.stratum as usize].k {
            rank_of(position)
        } else {
            0
        };
        position += 1;
    }
    rows.retain(|r| r.rank != 0);
    let flagged: Vec<u64> = rows
        .iter()
        .filter(|r| r.problem == Problem::Flagged)
        .map(|r| r.cand.offset)
        .collect();
    let encoding: Vec<u64> = rows
        .iter()
        .filter(|r| r.problem == Problem::Encoding)
        .map(|r| r.cand.offset)
        .collect();
    let drawn_at: Vec<u64> = rows.iter().map(|r| r.cand.offset).collect();
    let mut selected: Vec<Selected> = Vec::with_capacity(rows.len());
    rows.into_par_iter()
        .map(|row| {
            let plan = &plans[row.stratum as usize];
            let incl = if plan.pareto {
                plan.classes.get(row.cand.tag as usize).map_or(0.0, |x| x.0)
            } else {
                uniform_probability(plan.n, plan.k.min(plan.n)).0
            };
            Selected {
                rank: row.rank,
                stratum: plan.name.clone(),
                target_id: row.id,
                target_name: trim_bytes(row.name).unwrap_or_default().to_string(),
                key: key_hex(&row.key),
                inclusion_probability: incl,
                team: Vec::new(),
                unstaffed: None,
            }
        })
        .collect_into_vec(&mut selected);
    drop(cells);
    drop(read);
    drop(captured);
    if !flagged.is_empty() || !encoding.is_empty() {
        let (mut flagged, mut encoding) = (flagged, encoding);
        flagged.truncate(MAX_FLAGGED);
        encoding.truncate(MAX_FLAGGED);
        return Err(StreamError::Registry(row_problems(
            path,
            &display,
            &layout,
            input.known,
            flagged,
            encoding,
        )?));
    }
    let reader = RowReader {
        path,
        display: &display,
        layout: &layout,
        known: input.known,
    };

    // Excluded targets, one by one, when there are few.
    let mut exclusions: Vec<Exclusion> = Vec::new();
    if listed && !excluded_rows.is_empty() {
        let mut rows = excluded_rows;
        rows.sort_unstable();
        for batch in rows.chunks(4096) {
            let offsets: Vec<u64> = batch.iter().map(|(o, _)| *o).collect();
            let (targets, diags) = reader.read(&offsets)?;
            if diags.iter().any(Diagnostic::is_error) || targets.len() != batch.len() {
                return Err(StreamError::Registry(diags));
            }
            for (t, &(_, gp)) in targets.iter().zip(batch) {
                let hist = d.history.entries.get(&t.id);
                let e = match fates.get(gp as usize) {
                    Some(Fate::Excluded(Why::Deregistered, _)) => engine::deregistered(&t.id),
                    Some(Fate::Excluded(Why::Cooldown, _)) => {
                        let months = m.cooldown_months.unwrap_or(0);
                        match engine::last_clean(t.last_inspected, t.last_result.as_deref(), hist) {
                            Some(day) => engine::cooldown(&t.id, day, months),
                            None => continue,
                        }
                    }
                    Some(Fate::Excluded(Why::YearlyCap, _)) => engine::yearly_cap(
                        &t.id,
                        hist.map_or(0, |h| h.inspections_this_year),
                        m.yearly_cap.unwrap_or(0),
                    ),
                    Some(Fate::Excluded(Why::Eligible, _)) => match &m.eligible {
                        Some(hook) => engine::not_eligible(&t.id, hook),
                        None => continue,
                    },
                    _ => continue,
                };
                exclusions.push(e);
            }
        }
        exclusions.sort_by(|a, b| a.target_id.cmp(&b.target_id));
    }

    // Teams, in (stratum, rank) order, as the engine assigns them.
    phase(Phase::Teams);
    let team_rules = TeamRules {
        team_size: m.team_size,
        qualifications: &m.qualifications,
        department: &m.department,
        workload_cap: m.workload_cap,
    };
    let pool = engine::team_pool(d.inspectors, m);
    let mut conflicts = engine::Conflicts::new(m, sandbox);
    let team_targets: Vec<TeamTarget> = selected
        .iter()
        .map(|s| TeamTarget {
            id: &s.target_id,
            name: &s.target_name,
        })
        .collect();
    let mut teams: Vec<(Vec<String>, Option<String>)> = Vec::with_capacity(selected.len());
    let mut skips = Vec::new();
    let mut cached: Option<(usize, Target)> = None;
    let mut read_error: Option<StreamError> = None;
    assign_teams_each(
        &d.seed,
        &m.id,
        &d.period.id,
        &team_targets,
        &pool,
        &team_rules,
        &mut |inspector, i| {
            if !conflicts.active() {
                return Ok(false);
            }
            if cached.as_ref().is_none_or(|(at, _)| *at != i) {
                match reader.target(drawn_at[i]) {
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
                skips.push(engine::inspector_skip(
                    &selected[i].target_id,
                    inspector,
                    &skip,
                ));
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
    phase(Phase::Manifest);
    let drawn = selected.len() as u64;
    for (s, (team, unstaffed)) in selected.iter_mut().zip(teams) {
        s.team = team;
        s.unstaffed = unstaffed;
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
    if !listed {
        exclusions = exclusion_counts
            .iter()
            .map(|c| {
                Exclusion::new(
                    "",
                    &c.reason,
                    &format!("分层“{}”：{} 户（名单从略）", c.stratum, c.count),
                )
            })
            .collect();
    }
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
            rows: rows_read,
            in_scope: eligible + excluded,
            eligible,
            excluded,
            drawn,
            hook_calls,
            threads: ranges.len(),
        },
    })
}

/// A kept row with its id and name: its stratum, rank (once ordered; 0 = not drawn), whether
/// it is a certainty unit, its candidate entry, full key, id and name cell, and any problem.
struct Row<'a> {
    stratum: u32,
    rank: u32,
    certain: bool,
    cand: Cand,
    key: [u8; 32],
    id: String,
    name: &'a [u8],
    problem: Problem,
}

/// What is wrong with a drawn row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    None,
    /// A cell the registry reader refuses (an empty name).
    Flagged,
    /// Not UTF-8.
    Encoding,
    /// Its key is not the one pass 1 computed: the file changed.
    Changed,
}

/// The rules as pass 1 asks them: hooks on distinct inputs, and the ranker of a stratum.
struct Rules<'a> {
    sandbox: &'a Sandbox,
    input: &'a DrawInput<'a>,
    use_classes: bool,
    builder: Builder<'a>,
    ctx: rhai::Dynamic,
    stratum: &'a [Field],
    eligible: Option<(&'a crate::script::Hook, &'a [Field])>,
    weight: Option<(&'a crate::script::Hook, &'a [Field])>,
}

impl Rules<'_> {
    /// The name and ratio of the stratum whose input is `key`, as the engine names it.
    fn stratum_name(&self, key: &[Raw]) -> (String, Ratio) {
        let m = self.input.matter;
        let t = self.builder.target(self.stratum, key);
        let value = m
            .stratify_by
            .as_deref()
            .map(|f| stratum_value(&t, f))
            .unwrap_or_default();
        let class = if self.use_classes {
            class_of(&t, m.class_field.as_deref())
        } else {
            None
        };
        stratum_of(m, self.input.ratio, value, class.as_deref())
    }
}

impl Oracle for Rules<'_> {
    fn eligible(&self, key: &[Raw]) -> Answer<bool> {
        let Some((hook, fields)) = self.eligible else {
            return Answer::Ok(true);
        };
        let t = self.builder.target(fields, key);
        match self.sandbox.call(hook, target_map(&t), self.ctx.clone()) {
            Ok(v) => match eligible_answer(hook, "", &v) {
                Ok(b) => Answer::Ok(b),
                Err(e) => Answer::Type(e),
            },
            Err(e) => Answer::Failed(e),
        }
    }

    fn weight(&self, key: &[Raw]) -> Answer<f64> {
        let Some((hook, fields)) = self.weight else {
            return Answer::Ok(1.0);
        };
        let t = self.builder.target(fields, key);
        match self.sandbox.call(hook, target_map(&t), self.ctx.clone()) {
            Ok(v) => match weight_answer(hook, "", &v) {
                Ok(w) => Answer::Ok(w),
                Err(e) => Answer::Type(e),
            },
            Err(e) => Answer::Failed(e),
        }
    }

    fn stratum(&self, key: &[Raw]) -> Ranker {
        let (name, _) = self.stratum_name(key);
        let d = self.input;
        Ranker::new(&d.seed, &d.matter.id, &d.period.id, &name, Purpose::Targets)
    }
}

/// One thread's kept ids and names: the number of its first, their (start, id length, name
/// length), and the bytes.
type Captured = (u32, Vec<(u32, u32, u32)>, Vec<u8>);

/// A row's id and name cells, as bytes.
type IdName = (Vec<u8>, Vec<u8>);

/// The id and name cells of the rows at `offsets` (sorted), read in parallel.
fn read_ids_and_names(
    path: &Path,
    offsets: &[u64],
    id_col: usize,
    name_col: usize,
    threads: usize,
) -> Result<Vec<IdName>, StreamError> {
    let err = io_error(path);
    let per = offsets.len().div_ceil(threads).max(1);
    let parts: Vec<&[u64]> = offsets.chunks(per).collect();
    let split = id_col.max(name_col) + 1;
    let out = parallel(&parts, |part| {
        let mut s = Scanner::open(path, 0, 0, 512).map_err(&err)?;
        let mut out = Vec::with_capacity(part.len());
        for &o in part.iter() {
            s.reset(o, o + 1);
            match s.next(split, false).map_err(&err)? {
                Some(r) => out.push((r.cell(id_col).to_vec(), r.cell(name_col).to_vec())),
                None => out.push((Vec::new(), Vec::new())),
            }
        }
        Ok(out)
    })?;
    Ok(out.into_iter().flatten().collect())
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
    min_ids: Vec<Option<String>>,
    index: HashMap<GProfile, u32>,
    eligible_keys: Vec<Vec<Raw>>,
    eligible_index: HashMap<Vec<Raw>, u32>,
    eligible_answers: Vec<Answer<bool>>,
    weight_keys: Vec<Vec<Raw>>,
    weight_index: HashMap<Vec<Raw>, u32>,
    weight_answers: Vec<Answer<f64>>,
    stratum_keys: Vec<Vec<Raw>>,
    stratum_index: HashMap<Vec<Raw>, u32>,
    /// Per thread: local profile → global profile.
    maps: Vec<Vec<u32>>,
}

fn intern(
    keys: &mut Vec<Vec<Raw>>,
    index: &mut HashMap<Vec<Raw>, u32>,
    key: Vec<Raw>,
) -> (u32, bool) {
    if let Some(&i) = index.get(&key) {
        return (i, false);
    }
    let i = keys.len() as u32;
    keys.push(key.clone());
    index.insert(key, i);
    (i, true)
}

impl Merged {
    fn add(
        &mut self,
        p: &Pass1,
        cx: &Context,
        eligible: Option<&KeyFields>,
        weight: Option<&KeyFields>,
    ) {
        let mut map = Vec::with_capacity(p.profile_list.len());
        for (i, local) in p.profile_list.iter().enumerate() {
            let s = p.raw_key(cx, &cx.stratum, local.stratum);
            let (s, _) = intern(&mut self.stratum_keys, &mut self.stratum_index, s);
            let e = match (eligible, p.eligible_answers.get(local.eligible as usize)) {
                (Some(kf), Some(Some(a))) if local.eligible != NONE => {
                    let k = p.raw_key(cx, &kf.spec, local.eligible);
                    let (e, new) = intern(&mut self.eligible_keys, &mut self.eligible_index, k);
                    if new {
                        self.eligible_answers.push(a.clone());
                    }
                    e
                }
                _ => NONE,
            };
            let w = match (weight, p.weight_answers.get(local.weight as usize)) {
                (Some(kf), Some(Some(a))) if local.weight != NONE => {
                    let k = p.raw_key(cx, &kf.spec, local.weight);
                    let (w, new) = intern(&mut self.weight_keys, &mut self.weight_index, k);
                    if new {
                        self.weight_answers.push(a.clone());
                    }
                    w
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
                self.min_ids.push(None);
            }
            self.counts[id as usize] += p.counts[i];
            if let Some(mine) = &p.min_ids[i] {
                let slot = &mut self.min_ids[id as usize];
                if slot.as_ref().is_none_or(|m| mine < m) {
                    *slot = Some(mine.clone());
                }
            }
            map.push(id);
        }
        self.maps.push(map);
    }
}

/// A draw with nothing in scope.
fn finish_empty(
    input: &StreamInput<'_>,
    opts: &StreamOptions<'_>,
) -> Result<Streamed, StreamError> {
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
    // Every range is shorter than 4 GiB (offsets within a range are kept in 32 bits).
    let threads = threads.max(usize::try_from(size / (MAX_RANGE - (1 << 24)) + 1).unwrap_or(1));
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
    oracle: &dyn Oracle,
    chunk: usize,
) -> Result<Vec<(Pass1, u64)>, StreamError> {
    let one = |&(start, stop): &(u64, u64)| -> Result<(Pass1, u64), StreamError> {
        let err = io_error(path);
        let rows = usize::try_from((stop - start) / 24).unwrap_or(0) + 1024;
        let mut p = Pass1::new(cx, start, rows);
        let mut s = Scanner::open(path, start, stop, chunk).map_err(&err)?;
        while let Some(r) = s.next(usize::MAX, true).map_err(&err)? {
            p.row(&r, cx, oracle);
        }
        Ok((p, s.position()))
    };
    parallel(ranges, one)
}

/// Runs `f` on every item, each in its own thread (the first on this one).
fn parallel<I: Sync, T: Send>(
    ranges: &[I],
    f: impl Fn(&I) -> Result<T, StreamError> + Sync,
) -> Result<Vec<T>, StreamError> {
    if ranges.len() <= 1 {
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
        let mut s = Scanner::open(self.path, 0, 0, 4096).map_err(&err)?;
        for &offset in offsets {
            s.reset(offset, offset + 1);
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
        let mut rows = crate::registry::read::Rows::default();
        crate::registry::read::targets(
            &buf,
            self.path,
            self.display,
            0,
            self.known,
            &mut sink,
            &mut rows,
        );
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
        Ok((rows.items, diags))
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
