//! Rows already in memory (a loaded or frozen registry).

use std::borrow::Cow;
use std::collections::HashMap;

use super::rows::{Batch, CAPTURED, Classified, Drawn, Group, NONE, OnRows, RowSource};
use super::rules::{Answer, Memo, Reason, Rules, in_cooldown, last_clean};
use super::{DrawFailure, HistoryPlaces};
use crate::draw::Ranker;
use crate::draw::manifest::HistoryEntry;
use crate::registry::source::IdName;
use crate::registry::types::{Target, TargetStatus};
use crate::rules::model::{Matter, Share};

/// Targets in memory; a row's position is its index.
pub(crate) struct MemorySource<'a> {
    pub targets: &'a [Target],
}

/// Interns groups, strata and answers while classifying.
#[derive(Default)]
struct Groups {
    index: HashMap<Group, u32>,
    strata: HashMap<(String, Share), u32>,
    rankers: Vec<Ranker>,
    eligible: HashMap<bool, u32>,
    weights: HashMap<u64, u32>,
}

impl Groups {
    fn stratum(&mut self, c: &mut Classified, rules: &Rules<'_>, key: (String, Share)) -> u32 {
        if let Some(&i) = self.strata.get(&key) {
            return i;
        }
        let i = c.strata.len() as u32;
        self.rankers.push(rules.ranker(&key.0));
        c.strata.push(key.clone());
        self.strata.insert(key, i);
        i
    }

    fn group(&mut self, c: &mut Classified, g: Group, id: &str) -> u32 {
        let next = c.groups.len() as u32;
        let i = *self.index.entry(g).or_insert(next);
        if i == next {
            c.groups.push(g);
            c.counts.push(0);
            // Rows come in id order: the first of a group has its smallest id.
            c.min_ids.push(Some(id.to_string()));
        }
        c.counts[i as usize] += 1;
        i
    }
}

impl MemorySource<'_> {
    /// Fails when there are more targets than row positions can number.
    fn fits(&self) -> Result<(), DrawFailure> {
        if self.targets.len() >= CAPTURED as usize {
            return Err(DrawFailure::Io(format!(
                "{} targets are too many to draw from in memory",
                self.targets.len()
            )));
        }
        Ok(())
    }

    /// The places of the targets of the matter's categories, in id order (the order the
    /// history is found in, [`HistoryPlaces::find`]).
    fn in_categories_by_id(&self, m: &Matter) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.targets.len())
            .filter(|&i| m.categories.contains(&self.targets[i].category))
            .collect();
        order.sort_by(|&a, &b| self.targets[a].id.cmp(&self.targets[b].id));
        order
    }

    /// Why an active target in scope is excluded by the fixed checks, if it is; records the
    /// history it was checked against.
    fn fixed_checks(
        &self,
        (rules, history, cursor): (&Rules<'_>, &HistoryPlaces<'_>, &mut usize),
        t: &Target,
        c: &mut Classified,
    ) -> Reason {
        let m = rules.matter;
        if t.status == TargetStatus::Deregistered {
            return Reason::Deregistered;
        }
        let hist: Option<&HistoryEntry> = history.find(&t.id, cursor).map(|(at, h)| {
            c.history_used.push(at);
            h
        });
        if let Some(months) = m.cooldown_months.filter(|&n| n > 0)
            && let Some(d) = last_clean(t.last_inspected, t.last_result.as_deref(), hist)
            && in_cooldown(d, months, rules.input.reference_date)
        {
            return Reason::Cooldown;
        }
        if let (Some(cap), Some(h)) = (m.yearly_cap, hist)
            && h.inspections_this_year >= cap
        {
            return Reason::YearlyCap;
        }
        Reason::Candidate
    }
}

impl RowSource for MemorySource<'_> {
    fn classify(
        &self,
        rules: &Rules<'_>,
        _: Option<&OnRows<'_>>,
    ) -> Result<Classified, DrawFailure> {
        self.fits()?;
        let m = rules.matter;
        let order = self.in_categories_by_id(m);
        let mut c = Classified {
            rows: self.targets.len() as u64,
            threads: 1,
            ..Classified::default()
        };
        let mut g = Groups::default();
        let (mut eligible_memo, mut weight_memo, mut classes) =
            (Memo::new(), Memo::new(), Memo::new());
        let (mut calls, mut operations) = (0u64, 0u64);
        let (mut batch, mut cursor) = (Batch::default(), 0);
        let history = rules.input.history.places();
        for i in order {
            let t = &self.targets[i];
            if rules.input.key_area_only && !t.key_area {
                continue; // outside a key-area window's scope: not an exclusion
            }
            let Some(key) = stratum_key(rules, &mut classes, t, (&mut calls, &mut operations))?
            else {
                continue; // a class this draw does not cover (class_frequency): out of scope
            };
            let stratum = g.stratum(&mut c, rules, key);
            let reason = self.fixed_checks((rules, &history, &mut cursor), t, &mut c);
            let (mut eligible, mut weight) = (NONE, NONE);
            let mut drawn = reason == Reason::Candidate;
            if drawn && m.eligible.is_some() {
                let a =
                    eligible_memo.get(m.eligible.as_ref(), t, (&mut calls, &mut operations), |t| {
                        rules.eligible(t)
                    });
                drawn = matches!(a, Answer::Ok(true));
                let key = a.ok().copied();
                eligible = intern(&mut g.eligible, &mut c.eligible_answers, key, a);
            }
            if drawn && m.weight.is_some() {
                let a = weight_memo.get(m.weight.as_ref(), t, (&mut calls, &mut operations), |t| {
                    rules.weight(t)
                });
                let key = a.ok().map(|w| w.to_bits());
                weight = intern(&mut g.weights, &mut c.weight_answers, key, a);
            }
            let group = g.group(
                &mut c,
                Group {
                    reason,
                    eligible,
                    stratum,
                    weight,
                },
                &t.id,
            );
            if drawn {
                let head = g.rankers[stratum as usize].head_of_bytes(t.id.as_bytes());
                batch.drawn.push(Drawn {
                    head,
                    offset: i as u32,
                    profile: group,
                });
            } else if batch.excluded.len() <= rules.list_up_to {
                batch.excluded.push((i as u64, group));
            }
        }
        batch.map = (0..c.groups.len() as u32).collect();
        c.batches.push(batch);
        c.hook_calls = calls;
        c.operations = operations;
        c.history_used.dedup(); // ascending: the rows come in id order
        Ok(c)
    }

    fn id_names(&self, positions: &[u64]) -> Result<Vec<IdName>, DrawFailure> {
        Ok(positions
            .iter()
            .map(|&p| match self.targets.get(p as usize) {
                Some(t) => (t.id.as_bytes().to_vec(), t.name.as_bytes().to_vec()),
                None => (Vec::new(), Vec::new()),
            })
            .collect())
    }

    fn targets(&self, positions: &[u64]) -> Result<Vec<Cow<'_, Target>>, DrawFailure> {
        positions
            .iter()
            .map(|&p| {
                self.targets
                    .get(p as usize)
                    .map(Cow::Borrowed)
                    .ok_or_else(|| DrawFailure::Io(format!("no target at {p}")))
            })
            .collect()
    }

    fn raw_cells(&self) -> bool {
        false
    }

    fn problems(&self, _: Vec<u64>, _: Vec<u64>, _: bool) -> DrawFailure {
        DrawFailure::Io("targets in memory cannot have unreadable cells".into())
    }
}

/// The stratum of `t`; with a `class` hook, from the hook's answer (memoised by what it reads,
/// its operations counted for `t`), or the draw's failure at `t` when it has none. `None`: `t`
/// is of a class this draw does not cover (`class_frequency`), so out of its scope.
fn stratum_key(
    rules: &Rules<'_>,
    classes: &mut Memo<Option<String>>,
    t: &Target,
    (calls, operations): (&mut u64, &mut u64),
) -> Result<Option<(String, Share)>, DrawFailure> {
    let before = (*calls, *operations);
    let class = if rules.hooked_classes() {
        let hook = rules.matter.class_hook.as_ref();
        match classes.get(hook, t, (&mut *calls, &mut *operations), |t| {
            rules.class_answer(t)
        }) {
            Answer::Ok(class) => class,
            failed => return Err(failed.failure(&t.id)),
        }
    } else {
        rules.column_class(t)
    };
    let class = class.filter(|c| !c.is_empty());
    if !rules.class_due(class.as_deref()) {
        // Out of scope: the class hook's call is not counted, as for any row out of scope.
        (*calls, *operations) = before;
        return Ok(None);
    }
    Ok(Some(rules.stratum_of(t, class)))
}

/// Interns an answer: equal answers share an index; every failure is its own.
fn intern<T, K: std::hash::Hash + Eq>(
    index: &mut HashMap<K, u32>,
    list: &mut Vec<Answer<T>>,
    key: Option<K>,
    a: Answer<T>,
) -> u32 {
    if let Some(k) = &key
        && let Some(&i) = index.get(k)
    {
        return i;
    }
    let i = list.len() as u32;
    list.push(a);
    if let Some(k) = key {
        index.insert(k, i);
    }
    i
}
