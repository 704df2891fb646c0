//! The draw's rules for one row, whatever its source: scope, exclusions, strata, and the
//! hooks' answers. Both row sources classify with these functions, so the two cannot disagree
//! on what a row is.

use std::collections::HashMap;

use chrono::{Months, NaiveDate};

use super::{CLEAN_RESULTS, DrawFailure, DrawInput};
use crate::draw::manifest::HistoryEntry;
use crate::draw::{Purpose, Ranker};
use crate::registry::canonical::LineCells;
use crate::registry::column::Column;
use crate::registry::types::Target;
use crate::rules::model::{Matter, Share};
use crate::schedule::DrawKind;
use crate::script::{Hook, HookError, Sandbox, ctx_map, target_map};

/// The draw's parameters as classifying a row needs them.
pub(crate) struct Rules<'a> {
    pub input: &'a DrawInput<'a>,
    pub matter: &'a Matter,
    pub sandbox: &'a Sandbox,
    /// The `ctx` map hooks see.
    pub ctx: rhai::Dynamic,
    /// Whether classes split the strata of this draw (class ratios or class frequencies).
    pub use_classes: bool,
    /// The classes of `class_frequency` this draw does not cover: their targets are out of its
    /// scope (docs/draw-algorithm.md V2-14).
    pub not_due: std::collections::BTreeSet<String>,
    /// The column strata are split by (`stratify_by`), if any.
    pub stratify: Option<Column>,
    /// The column holding the class (`class_field`; the registry's class by default).
    pub class: Column,
    /// Keep the positions of at most this many excluded rows (plus one, to know there are more).
    pub list_up_to: usize,
    /// Operations the hook calls made so far (on every thread): once past the draw's budget,
    /// no hook is called any more (the draw fails, whichever row is next).
    pub spent: std::sync::atomic::AtomicU64,
}

impl<'a> Rules<'a> {
    pub(crate) fn new(input: &'a DrawInput<'a>, sandbox: &'a Sandbox, list_up_to: usize) -> Self {
        let m = input.matter;
        // Class frequencies are a rule of version 2 (its manifest records what a draw covers).
        let by_frequency =
            !m.class_frequency.is_empty() && input.algorithm == crate::draw::Algorithm::V2;
        let holiday = match input.kind {
            DrawKind::Holiday(h) => Some(h.name_zh()),
            DrawKind::Regular => None,
        };
        let ctx = ctx_map(
            &m.id,
            &input.period.id,
            input.period.start,
            input.period.end,
            input.reference_date,
            holiday,
        );
        Rules {
            input,
            matter: m,
            sandbox,
            ctx,
            use_classes: (!m.class_ratios.is_empty() || by_frequency)
                && matches!(input.kind, DrawKind::Regular),
            not_due: crate::schedule::class_cover(m, input.kind, input.period)
                .filter(|_| by_frequency)
                .map(|c| c.not_due.into_iter().collect())
                .unwrap_or_default(),
            stratify: None,
            class: Column::named("class", |_| false),
            list_up_to,
            spent: std::sync::atomic::AtomicU64::new(0),
        }
        .with_columns(|_| false)
    }

    fn with_columns(mut self, is_extra: impl Fn(&str) -> bool) -> Self {
        self.resolve_columns(is_extra);
        self
    }

    /// Resolves `stratify_by` and `class_field` against the registry drawn from, given which
    /// extra columns it has (see `registry::column`).
    pub(crate) fn resolve_columns(&mut self, is_extra: impl Fn(&str) -> bool) {
        let m = self.matter;
        self.stratify = m
            .stratify_by
            .as_deref()
            .map(|f| Column::named(f, &is_extra));
        self.class = Column::named(m.class_field.as_deref().unwrap_or("class"), &is_extra);
    }

    /// The per-draw operations budget of the hooks (`[scripts] draw_operations`).
    pub(crate) fn budget(&self) -> u64 {
        self.sandbox.limits().draw_operations
    }

    /// The failure of a draw whose hooks need more than the budget.
    pub(crate) fn over_budget(&self) -> DrawFailure {
        DrawFailure::Budget {
            matter: self.matter.id.clone(),
            budget: self.budget(),
        }
    }

    /// Calls `hook`, unless the hook calls already made used up the budget (`None` then).
    fn ask(
        &self,
        hook: &Hook,
        a: rhai::Dynamic,
        b: rhai::Dynamic,
    ) -> Option<Result<rhai::Dynamic, HookError>> {
        use std::sync::atomic::Ordering::Relaxed;
        if self.spent.load(Relaxed) > self.budget() {
            return None;
        }
        let v = self.sandbox.call(hook, a, b);
        self.spent
            .fetch_add(crate::script::last_operations(), Relaxed);
        Some(v)
    }

    /// The name and ratio of a target's stratum: its `stratify_by` value (empty when the matter
    /// is not stratified) and its class (when class ratios apply and the target has one).
    pub(crate) fn stratum(&self, t: &Target) -> (String, Share) {
        self.stratum_of(t, self.column_class(t))
    }

    /// The class of `t` from the class column, when classes apply and come from a column.
    pub(crate) fn column_class(&self, t: &Target) -> Option<String> {
        (self.use_classes && self.matter.class_hook.is_none()).then(|| self.class.value(t))
    }

    /// Whether a target of class `class` is in this draw's scope: not of a class of
    /// `class_frequency` whose cycle this draw does not open (V2-14). No class: in scope.
    pub(crate) fn class_due(&self, class: Option<&str>) -> bool {
        class.is_none_or(|c| !self.not_due.contains(c))
    }

    /// Whether some class is out of this draw's scope.
    pub(crate) fn scopes_classes(&self) -> bool {
        !self.not_due.is_empty()
    }

    /// Whether the class of this draw's class ratios comes from the matter's `class` hook.
    pub(crate) fn hooked_classes(&self) -> bool {
        self.use_classes && self.matter.class_hook.is_some()
    }

    /// The `class` hook's answer for `t`: its class, `None` for `()` or empty text.
    pub(crate) fn class_answer(&self, t: &Target) -> Answer<Option<String>> {
        let Some(hook) = &self.matter.class_hook else {
            return Answer::Ok(None);
        };
        let Some(answer) = self.ask(hook, target_map(t), self.ctx.clone()) else {
            return Answer::Type(self.over_budget());
        };
        match answer {
            Ok(v) if v.is_unit() => Answer::Ok(None),
            Ok(v) => match v.into_string() {
                Ok(s) => Answer::Ok(Some(s).filter(|s| !s.is_empty())),
                Err(got) => Answer::Type(type_error(hook, got, "a class (text) or ()")),
            },
            Err(e) => Answer::Failed(e),
        }
    }

    /// The name and ratio of `t`'s stratum when its class is `class` (not empty; `None`
    /// when it has none or class ratios do not apply).
    pub(crate) fn stratum_of(&self, t: &Target, class: Option<String>) -> (String, Share) {
        let m = self.matter;
        let value = self
            .stratify
            .as_ref()
            .map(|c| c.value(t))
            .unwrap_or_default();
        let Some(class) = class.filter(|s| !s.is_empty()) else {
            return (value, Share::at_least(self.input.ratio));
        };
        let ratio = m
            .class_ratios
            .get(&class)
            .copied()
            .unwrap_or(Share::at_least(self.input.ratio));
        let name = if value.is_empty() {
            format!("class={class}")
        } else {
            format!("{value}/class={class}")
        };
        (name, ratio)
    }

    /// The ranker of the stratum named `name`.
    pub(crate) fn ranker(&self, name: &str) -> Ranker {
        let d = self.input;
        Ranker::versioned(
            d.algorithm.name(),
            &d.seed,
            &self.matter.id,
            &d.period.id,
            name,
            Purpose::Targets,
        )
    }

    /// The `eligible` hook's answer for `t` (true without a hook).
    pub(crate) fn eligible(&self, t: &Target) -> Answer<bool> {
        let Some(hook) = &self.matter.eligible else {
            return Answer::Ok(true);
        };
        let Some(answer) = self.ask(hook, target_map(t), self.ctx.clone()) else {
            return Answer::Type(self.over_budget());
        };
        match answer {
            Ok(v) => match v.as_bool() {
                Ok(b) => Answer::Ok(b),
                Err(got) => Answer::Type(type_error(hook, got, "true or false")),
            },
            Err(e) => Answer::Failed(e),
        }
    }

    /// The `weight` hook's answer for `t` (1 without a hook).
    pub(crate) fn weight(&self, t: &Target) -> Answer<f64> {
        let Some(hook) = &self.matter.weight else {
            return Answer::Ok(1.0);
        };
        let Some(answer) = self.ask(hook, target_map(t), self.ctx.clone()) else {
            return Answer::Type(self.over_budget());
        };
        match answer {
            Ok(v) => match v.as_float().or_else(|_| v.as_int().map(|i| i as f64)) {
                Ok(w) => Answer::Ok(w),
                Err(got) => Answer::Type(type_error(hook, got, "a number greater than 0")),
            },
            Err(e) => Answer::Failed(e),
        }
    }

    /// The fields (of [`crate::registry::read::t`]) [`Rules::exclusion_why`] reads: the id, and
    /// the last inspection's date and result when a cooldown excludes.
    pub(crate) fn exclusion_fields(&self) -> &'static [usize] {
        use crate::registry::read::t;
        match self.matter.cooldown_months {
            Some(_) => &[t::ID, t::LAST_INSPECTED, t::LAST_RESULT],
            None => &[t::ID],
        }
    }

    /// Why the excluded target `t` is excluded, as the detail file says it (`why`: its group's
    /// reason): the reason, its detail written into `detail` (emptied first); `None` when there
    /// is nothing to say (a cooldown with no clean inspection, an eligibility hook not there).
    /// The target's history is looked up only for the reasons that read it (a cooldown, the
    /// yearly cap): most excluded rows of a national draw are excluded for others.
    pub(crate) fn exclusion_why(
        &self,
        t: &LineCells<'_>,
        why: Why,
        detail: &mut String,
    ) -> Option<&'static str> {
        let hist = || self.input.history.entries.get(t.id);
        use std::fmt::Write as _;
        let m = self.matter;
        detail.clear();
        // Writing into a `String` cannot fail.
        Some(match why {
            Why::Deregistered => {
                detail.push_str("注销/吊销/停业");
                "deregistered"
            }
            Why::Cooldown => {
                let months = m.cooldown_months.unwrap_or(0);
                let result = Some(t.last_result).filter(|r| !r.is_empty());
                let day = last_clean(t.last_inspected, result, hist())?;
                let _ = write!(detail, "{day} 检查未发现问题，{months} 个月内不再抽取");
                "cooldown"
            }
            Why::YearlyCap => {
                let times = hist().map_or(0, |h| h.inspections_this_year);
                let cap = m.yearly_cap.unwrap_or(0);
                let _ = write!(detail, "本年已被抽取 {times} 次（上限 {cap}）");
                "yearly_cap"
            }
            Why::Eligible => {
                let hook = m.eligible.as_ref()?;
                let _ = write!(detail, "{} 返回 false", hook.function);
                "eligible_hook"
            }
        })
    }
}

fn type_error(hook: &Hook, got: &str, want: &'static str) -> DrawFailure {
    DrawFailure::HookType {
        hook: hook.function.clone(),
        target: String::new(),
        got: got.to_string(),
        want,
    }
}

/// A target field's value as strata and class ratios see it.
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

/// Why a row in scope is not drawn from, in the order the checks are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Why {
    Deregistered,
    Cooldown,
    YearlyCap,
    Eligible,
}

impl Why {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Why::Deregistered => "deregistered",
            Why::Cooldown => "cooldown",
            Why::YearlyCap => "yearly_cap",
            Why::Eligible => "eligible_hook",
        }
    }
}

/// Why a row is not drawn from, or that it passed the fixed checks (the eligible hook decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Reason {
    Deregistered = 0,
    Cooldown = 1,
    YearlyCap = 2,
    Candidate = 3,
}

/// A hook's answer for one distinct input.
#[derive(Debug, Clone)]
pub(crate) enum Answer<T> {
    Ok(T),
    /// The hook failed.
    Failed(HookError),
    /// It answered with the wrong type (the failure names no target yet).
    Type(DrawFailure),
}

impl<T> Answer<T> {
    pub fn failed(&self) -> bool {
        !matches!(self, Answer::Ok(_))
    }

    /// The value answered, if the hook answered one.
    pub fn ok(&self) -> Option<&T> {
        match self {
            Answer::Ok(v) => Some(v),
            _ => None,
        }
    }

    /// The draw failure this answer causes for target `id`.
    pub fn failure(&self, id: &str) -> DrawFailure {
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
            Answer::Ok(_) => DrawFailure::Weights("no failure".into()),
        }
    }
}

/// A hook's answers memoised by the target fields it reads (when they are known), each with the
/// operations its call used.
pub(crate) struct Memo<T> {
    cache: HashMap<Vec<String>, (Answer<T>, u64)>,
}

impl<T: Clone> Memo<T> {
    pub(crate) fn new() -> Memo<T> {
        Memo {
            cache: HashMap::new(),
        }
    }

    /// The answer for `t`, asking `ask` only for inputs not seen before. Counts the calls, and
    /// adds the operations of the answer's call to `operations` (for every target, so the total
    /// does not depend on what was reused).
    pub(crate) fn get(
        &mut self,
        hook: Option<&Hook>,
        t: &Target,
        counts: (&mut u64, &mut u64),
        ask: impl FnOnce(&Target) -> Answer<T>,
    ) -> Answer<T> {
        let (calls, operations) = counts;
        let key = hook.and_then(|h| h.reads.as_ref()).map(|r| memo_key(t, r));
        if let Some(k) = &key
            && let Some((v, ops)) = self.cache.get(k)
        {
            *operations += ops;
            return v.clone();
        }
        *calls += u64::from(hook.is_some());
        let v = ask(t);
        let ops = if hook.is_some() {
            crate::script::last_operations()
        } else {
            0
        };
        *operations += ops;
        if let Some(k) = key {
            self.cache.insert(k, (v.clone(), ops));
        }
        v
    }
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
