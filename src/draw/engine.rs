//! One draw, end to end and still pure: scope → exclusions → strata → ranking → teams.
//!
//! Inputs are the matter, the period, the frozen registry, the history of earlier inspections,
//! the seed and the reference date; the output is a [`Manifest`]. Hooks run in the sandbox;
//! a failing hook fails this draw (and only this draw).

use std::collections::{BTreeMap, HashMap};

use chrono::{Months, NaiveDate};

use crate::draw::manifest::{
    Exclusion, HistoryEntry, InspectorSkip, MANIFEST_FORMAT, Manifest, PeriodInfo, RegistryInfo,
    Selected, StratumInfo,
};
use crate::draw::{
    ALGORITHM_VERSION, Purpose, Ranker, Seed, TeamRules, Unit, assign_teams, rank_pareto,
    top_k_uniform,
};
use crate::registry::types::{Inspector, Target, TargetStatus};
use crate::rules::model::{Matter, Ratio};
use crate::schedule::{DrawKind, Period};
use crate::script::{HookError, Sandbox, ctx_map, inspector_map, target_map};

pub(crate) use crate::registry::types::CLEAN_RESULTS;

/// Earlier inspections that exclusions depend on, recorded in the manifest so a verifier
/// sees exactly what the draw saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Target id → (times drawn this year by any matter, last clean inspection date).
    pub entries: BTreeMap<String, HistoryEntry>,
}

/// Everything a draw depends on.
#[derive(Debug, Clone)]
pub struct DrawInput<'a> {
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
    pub targets: &'a [Target],
    pub inspectors: &'a [Inspector],
    pub registry: RegistryInfo,
    pub history: &'a History,
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
}

pub(crate) fn stratum_value(t: &Target, field: &str) -> String {
    match field {
        "district" => t.district.clone(),
        "category" => t.category.clone(),
        "class" => t.class.clone().unwrap_or_default(),
        "key_area" => if t.key_area {
            "重点区域"
        } else {
            "一般区域"
        }
        .to_string(),
        "status" => format!("{:?}", t.status),
        other => t.extra.get(other).cloned().unwrap_or_default(),
    }
}

pub(crate) fn class_of(t: &Target, field: Option<&str>) -> Option<String> {
    match field {
        None | Some("class") => t.class.clone(),
        Some(f) => Some(stratum_value(t, f)).filter(|s| !s.is_empty()),
    }
}

/// A stratum's name and ratio from the target's `stratify_by` value (empty when the matter is
/// not stratified) and its class (when class ratios apply and the target has one).
pub(crate) fn stratum_of(
    m: &Matter,
    base: Ratio,
    value: String,
    class: Option<&str>,
) -> (String, Ratio) {
    let Some(class) = class else {
        return (value, base);
    };
    let ratio = m.class_ratios.get(class).copied().unwrap_or(base);
    let name = if value.is_empty() {
        format!("class={class}")
    } else {
        format!("{value}/class={class}")
    };
    (name, ratio)
}

/// Whether class ratios split the strata of this draw (only regular draws use them).
pub(crate) fn uses_classes(m: &Matter, kind: DrawKind) -> bool {
    !m.class_ratios.is_empty() && matches!(kind, DrawKind::Regular)
}

/// The exclusion record for a deregistered target.
pub(crate) fn deregistered(id: &str) -> Exclusion {
    Exclusion::new(id, "deregistered", "注销/吊销/停业")
}

/// The exclusion record for a target in its cooldown after a clean inspection on `last_clean`.
pub(crate) fn cooldown(id: &str, last_clean: NaiveDate, months: u32) -> Exclusion {
    Exclusion::new(
        id,
        "cooldown",
        &format!("{last_clean} 检查未发现问题，{months} 个月内不再抽取"),
    )
}

/// The exclusion record for a target drawn `times` this year, at or over the cap.
pub(crate) fn yearly_cap(id: &str, times: u32, cap: u32) -> Exclusion {
    Exclusion::new(
        id,
        "yearly_cap",
        &format!("本年已被抽取 {times} 次（上限 {cap}）"),
    )
}

/// The exclusion record for a target the `eligible` hook turned down.
pub(crate) fn not_eligible(id: &str, hook: &crate::script::Hook) -> Exclusion {
    Exclusion::new(
        id,
        "eligible_hook",
        &format!("{} 返回 false", hook.function),
    )
}

/// Whether a clean inspection on `last_clean` still keeps a target out on `reference`.
pub(crate) fn in_cooldown(last_clean: NaiveDate, months: u32, reference: NaiveDate) -> bool {
    last_clean
        .checked_add_months(Months::new(months))
        .is_some_and(|until| until > reference)
}

/// The last clean inspection: the registry's, if its result is clean, or the history's.
pub(crate) fn last_clean(
    last_inspected: Option<NaiveDate>,
    last_result: Option<&str>,
    hist: Option<&HistoryEntry>,
) -> Option<NaiveDate> {
    let from_registry =
        last_inspected.filter(|_| last_result.is_some_and(|r| CLEAN_RESULTS.contains(&r.trim())));
    let from_history = hist.and_then(|h| h.last_clean);
    from_registry.max(from_history)
}

/// The `eligible` hook's answer, or the type error naming `target`.
pub(crate) fn eligible_answer(
    hook: &crate::script::Hook,
    target: &str,
    v: &rhai::Dynamic,
) -> Result<bool, DrawFailure> {
    v.as_bool().map_err(|got| DrawFailure::HookType {
        hook: hook.function.clone(),
        target: target.to_string(),
        got: got.to_string(),
        want: "true or false",
    })
}

/// The `weight` hook's answer as a number, or the type error naming `target`.
pub(crate) fn weight_answer(
    hook: &crate::script::Hook,
    target: &str,
    v: &rhai::Dynamic,
) -> Result<f64, DrawFailure> {
    v.as_float()
        .or_else(|_| v.as_int().map(|i| i as f64))
        .map_err(|got| DrawFailure::HookType {
            hook: hook.function.clone(),
            target: target.to_string(),
            got: got.to_string(),
            want: "a number greater than 0",
        })
}

/// Memoises a hook by the target fields it reads (when known).
struct Memo {
    cache: HashMap<Vec<String>, rhai::Dynamic>,
}

fn memo_key(t: &Target, reads: &[String]) -> Vec<String> {
    reads
        .iter()
        .map(|f| match f.as_str() {
            "id" => t.id.clone(),
            "name" => t.name.clone(),
            "address" => t.address.clone(),
            "licence" => t.licence.clone().unwrap_or_default(),
            "last_inspected" => t.last_inspected.map(|d| d.to_string()).unwrap_or_default(),
            "last_result" => t.last_result.clone().unwrap_or_default(),
            "extra" => format!("{:?}", t.extra),
            other => stratum_value(t, other),
        })
        .collect()
}

impl Memo {
    fn call(
        &mut self,
        sandbox: &Sandbox,
        hook: &crate::script::Hook,
        t: &Target,
        ctx: &rhai::Dynamic,
    ) -> Result<rhai::Dynamic, HookError> {
        let key = hook.reads.as_ref().map(|r| memo_key(t, r));
        if let Some(k) = &key
            && let Some(v) = self.cache.get(k)
        {
            return Ok(v.clone());
        }
        let v = sandbox.call(hook, target_map(t), ctx.clone())?;
        if let Some(k) = key {
            self.cache.insert(k, v.clone());
        }
        Ok(v)
    }
}

/// Runs one draw.
pub fn run(input: &DrawInput<'_>, sandbox: &Sandbox) -> Result<Manifest, DrawFailure> {
    let m = input.matter;
    let holiday_name = match input.kind {
        DrawKind::Holiday(h) => Some(h.name_zh()),
        DrawKind::Regular => None,
    };
    let ctx = ctx_map(
        &m.id,
        &input.period.id,
        input.period.start,
        input.period.end,
        input.reference_date,
        holiday_name,
    );

    // 1. Scope and exclusions, in canonical (id) order.
    let mut order: Vec<&Target> = input
        .targets
        .iter()
        .filter(|t| m.categories.contains(&t.category))
        .collect();
    order.sort_by(|a, b| a.id.cmp(&b.id));
    let mut exclusions = Vec::new();
    let mut eligible: Vec<&Target> = Vec::new();
    let mut memo = Memo {
        cache: HashMap::new(),
    };
    let mut history_used = BTreeMap::new();
    for t in order {
        if input.key_area_only && !t.key_area {
            continue; // outside a key-area window's scope: not an exclusion
        }
        if t.status == TargetStatus::Deregistered {
            exclusions.push(deregistered(&t.id));
            continue;
        }
        let hist = input.history.entries.get(&t.id);
        if let Some(h) = hist {
            history_used.insert(t.id.clone(), h.clone());
        }
        if let Some(months) = m.cooldown_months.filter(|&n| n > 0)
            && let Some(d) = last_clean(t.last_inspected, t.last_result.as_deref(), hist)
            && in_cooldown(d, months, input.reference_date)
        {
            exclusions.push(cooldown(&t.id, d, months));
            continue;
        }
        if let (Some(cap), Some(h)) = (m.yearly_cap, hist)
            && h.inspections_this_year >= cap
        {
            exclusions.push(yearly_cap(&t.id, h.inspections_this_year, cap));
            continue;
        }
        if let Some(hook) = &m.eligible {
            let v = memo.call(sandbox, hook, t, &ctx)?;
            if !eligible_answer(hook, &t.id, &v)? {
                exclusions.push(not_eligible(&t.id, hook));
                continue;
            }
        }
        eligible.push(t);
    }

    // 2. Strata: (stratify_by value, class when class ratios apply).
    let use_classes = uses_classes(m, input.kind);
    let mut strata: BTreeMap<String, (Ratio, Vec<&Target>)> = BTreeMap::new();
    for t in eligible {
        let value = m
            .stratify_by
            .as_deref()
            .map(|f| stratum_value(t, f))
            .unwrap_or_default();
        let class = if use_classes {
            class_of(t, m.class_field.as_deref())
        } else {
            None
        };
        let (name, ratio) = stratum_of(m, input.ratio, value, class.as_deref());
        strata
            .entry(name)
            .or_insert_with(|| (ratio, Vec::new()))
            .1
            .push(t);
    }

    // 3. Rank within each stratum.
    let mut weight_memo = Memo {
        cache: HashMap::new(),
    };
    let mut strata_info = Vec::new();
    let mut selected: Vec<Selected> = Vec::new();
    let mut drawn: Vec<&Target> = Vec::new();
    for (name, (ratio, members)) in &strata {
        let k = ratio.sample_size(members.len());
        let ranker = Ranker::new(&input.seed, &m.id, &input.period.id, name, Purpose::Targets);
        let ranked = match &m.weight {
            Some(hook) => {
                let mut weights = Vec::with_capacity(members.len());
                for t in members {
                    let v = weight_memo.call(sandbox, hook, t, &ctx)?;
                    weights.push(weight_answer(hook, &t.id, &v)?);
                }
                let units: Vec<Unit> = members
                    .iter()
                    .zip(&weights)
                    .map(|(t, w)| Unit::weighted(&t.id, *w))
                    .collect();
                let mut all = rank_pareto(&ranker, &units, k)
                    .map_err(|e| DrawFailure::Weights(e.to_string()))?;
                all.truncate(k);
                all
            }
            None => {
                let units: Vec<Unit> = members.iter().map(|t| Unit::new(&t.id)).collect();
                top_k_uniform(&ranker, &units, k)
            }
        };
        strata_info.push(StratumInfo {
            stratum: name.clone(),
            ratio_ppm: ratio.ppm(),
            eligible: members.len(),
            k,
        });
        for r in ranked {
            let t = members[r.index];
            drawn.push(t);
            selected.push(Selected {
                rank: r.rank,
                stratum: name.clone(),
                target_id: t.id.clone(),
                target_name: t.name.clone(),
                key: r.key_hex,
                inclusion_probability: r.inclusion_probability,
                team: Vec::new(),
                unstaffed: None,
            });
        }
    }

    // 4. Teams, in (stratum, rank) order.
    let rules = TeamRules {
        team_size: m.team_size,
        qualifications: &m.qualifications,
        department: &m.department,
        workload_cap: m.workload_cap,
    };
    let mut conflict = Conflicts::new(m, sandbox);
    let pool = team_pool(input.inspectors, m);
    let teams = assign_teams(
        &input.seed,
        &m.id,
        &input.period.id,
        &drawn,
        &pool,
        &rules,
        &mut |i, t| conflict.call(i, t),
    );
    conflict.finish()?;
    let mut skips = Vec::new();
    for (sel, team) in selected.iter_mut().zip(teams) {
        sel.team = team.members;
        sel.unstaffed = team.unstaffed;
        for (inspector, skip) in team.skipped {
            skips.push(inspector_skip(&sel.target_id, inspector, &skip));
        }
    }

    Ok(manifest(
        input,
        history_used,
        strata_info,
        selected,
        exclusions,
        skips,
    ))
}

/// The matter's `conflict` hook as [`assign_teams`] calls it: the first failure is kept (and
/// fails the draw in [`Conflicts::finish`]); after it, every call reports that failure.
pub(crate) struct Conflicts<'a> {
    hook: Option<&'a crate::script::Hook>,
    sandbox: &'a Sandbox,
    error: Option<HookError>,
}

impl<'a> Conflicts<'a> {
    pub(crate) fn new(m: &'a Matter, sandbox: &'a Sandbox) -> Conflicts<'a> {
        Conflicts {
            hook: m.conflict.as_ref(),
            sandbox,
            error: None,
        }
    }

    /// Whether the matter has a conflict hook at all.
    pub(crate) fn active(&self) -> bool {
        self.hook.is_some()
    }

    pub(crate) fn call(&mut self, i: &Inspector, t: &Target) -> Result<bool, String> {
        let Some(hook) = self.hook else {
            return Ok(false);
        };
        if let Some(e) = &self.error {
            return Err(e.to_string());
        }
        match self.sandbox.call(hook, inspector_map(i), target_map(t)) {
            Ok(v) => v
                .as_bool()
                .map_err(|got| format!("hook `{}` returned {got}, not true/false", hook.function)),
            Err(e) => {
                let text = e.to_string();
                self.error = Some(e);
                Err(text)
            }
        }
    }

    /// Fails the draw if the hook failed.
    pub(crate) fn finish(self) -> Result<(), DrawFailure> {
        match self.error {
            Some(e) => Err(DrawFailure::Hook(e)),
            None => Ok(()),
        }
    }
}

/// Only the department's active, qualified inspectors can serve; others are not listed as skips.
pub(crate) fn team_pool(inspectors: &[Inspector], m: &Matter) -> Vec<Inspector> {
    inspectors
        .iter()
        .filter(|i| {
            i.active
                && i.department == m.department
                && m.qualifications
                    .iter()
                    .all(|q| i.qualifications.contains(q))
        })
        .cloned()
        .collect()
}

/// The manifest's record of an inspector passed over for a target.
pub(crate) fn inspector_skip(
    target_id: &str,
    inspector: String,
    skip: &crate::draw::Skip,
) -> InspectorSkip {
    let detail = match skip {
        crate::draw::Skip::DeclaredConflict { entry } => format!("申报回避：{entry}"),
        crate::draw::Skip::HookConflict { error: Some(e) } => format!("回避脚本出错：{e}"),
        crate::draw::Skip::Unqualified { missing } => {
            format!("缺少资格：{}", missing.join("、"))
        }
        crate::draw::Skip::AtCapacity { load } => format!("本期已承担 {load} 户"),
        other => other.label().to_string(),
    };
    InspectorSkip {
        target_id: target_id.to_string(),
        inspector_id: inspector,
        reason: skip_code(skip).into(),
        detail,
    }
}

/// The manifest of a draw from its parts, sealed with its hash.
pub(crate) fn manifest(
    input: &DrawInput<'_>,
    history_used: BTreeMap<String, HistoryEntry>,
    strata: Vec<StratumInfo>,
    selected: Vec<Selected>,
    exclusions: Vec<Exclusion>,
    inspector_skips: Vec<InspectorSkip>,
) -> Manifest {
    let m = input.matter;
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        algorithm: ALGORITHM_VERSION.into(),
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
        due_date: input.due,
        seed: input.seed.to_hex(),
        seed_source: input.seed_source.into(),
        rules_hash: input.rules_hash.into(),
        registry: input.registry.clone(),
        history: history_used
            .into_iter()
            .map(|(id, mut h)| {
                h.target_id = id;
                h
            })
            .collect(),
        strata,
        selected,
        exclusions,
        inspector_skips,
        manifest_hash: String::new(),
    };
    manifest.seal();
    manifest
}

/// "regular" or "holiday:chunjie".
pub fn kind_label(kind: DrawKind) -> String {
    match kind {
        DrawKind::Regular => "regular".into(),
        DrawKind::Holiday(h) => format!("holiday:{}", h.id()),
    }
}

fn skip_code(s: &crate::draw::Skip) -> &'static str {
    use crate::draw::Skip;
    match s {
        Skip::AlreadyInTeam => "duplicate",
        Skip::Inactive => "inactive",
        Skip::OtherDepartment => "other_department",
        Skip::Unqualified { .. } => "unqualified",
        Skip::DeclaredConflict { .. } => "declared_conflict",
        Skip::HookConflict { .. } => "hook_conflict",
        Skip::AtCapacity { .. } => "workload_cap",
    }
}
