//! The workload loads of a period's draws (docs/draw-algorithm.md V2-16, 同一周期内每名检查人员
//! 的任务上限): the visits each inspector is on, in the teams as the recorded changes (人员调整,
//! 替补) left them, over the standing draws whose period overlaps a given one — now (a draw being
//! issued, a change being made) or as of an entry of the audit log (`verify`, which checks each
//! version-2 draw's `carried_loads` and each change of rule 2 against the records as they stood
//! when it was recorded).

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;

use crate::draw::manifest::{Manifest, PeriodInfo};
use crate::store::{AuditOrder, DrawFilter, DrawStore};

/// Whose loads are counted: every draw but those of `matter` and `period` (the draw itself and
/// the draws a redraw of it replaces), whose period overlaps `start`–`end`.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub matter: &'a str,
    pub period: &'a str,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl<'a> Scope<'a> {
    /// The scope of the draw `m` records.
    pub fn of(m: &'a Manifest) -> Scope<'a> {
        Scope {
            matter: &m.matter,
            period: &m.period.id,
            start: m.period.start,
            end: m.period.end,
        }
    }
}

/// When the loads are counted: now (the active draws with every change), or as of the audit
/// log entry `seq` (the draws recorded before it and not superseded before it, each with the
/// changes recorded before it).
#[derive(Debug, Clone, Copy)]
pub enum AsOf<'a> {
    Now,
    Entry(&'a AuditOrder, i64),
}

/// The loads of the standing visits of every draw in `scope`, by inspector id, counted only
/// for the inspectors in `counted` (every inspector with `None`). Zero loads are absent.
pub fn period_loads(
    store: &dyn DrawStore,
    scope: &Scope<'_>,
    counted: Option<&HashSet<&str>>,
    as_of: AsOf<'_>,
) -> Result<BTreeMap<String, u32>, String> {
    /// What deciding whether a draw overlaps reads of its manifest.
    #[derive(serde::Deserialize)]
    struct Head {
        period: PeriodInfo,
    }
    let filter = DrawFilter {
        include_superseded: matches!(as_of, AsOf::Entry(..)),
        ..DrawFilter::default()
    };
    // The heads first: a draw's manifest (a national draw's runs to a hundred megabytes) is
    // read only when its loads may count, one draw at a time.
    let cannot = |e: &dyn std::fmt::Display| format!("the recorded draws cannot be read: {e}");
    let heads = store.list_draw_heads(&filter).map_err(|e| cannot(&e))?;
    let mut out: BTreeMap<String, u32> = BTreeMap::new();
    for head in heads {
        if head.matter == scope.matter && head.period == scope.period {
            continue;
        }
        if let AsOf::Entry(order, at) = as_of {
            let recorded_before = order.draws.get(&head.id).is_some_and(|&s| s < at);
            let superseded_before = order.supersedes.get(&head.id).is_some_and(|&s| s < at);
            if !recorded_before || superseded_before {
                continue;
            }
        }
        let Some(row) = store.draw(head.id).map_err(|e| cannot(&e))? else {
            continue;
        };
        let unreadable = |e: &dyn std::fmt::Display| format!("draw #{}: {e}", row.id);
        let head: Head =
            serde_json::from_str(&row.record.manifest_json).map_err(|e| unreadable(&e))?;
        if head.period.end < scope.start || scope.end < head.period.start {
            continue;
        }
        let manifest: Manifest =
            serde_json::from_str(&row.record.manifest_json).map_err(|e| unreadable(&e))?;
        let mut changes = store.changes_of(row.id).map_err(|e| unreadable(&e))?;
        if let AsOf::Entry(order, at) = as_of {
            changes.retain(|c| order.changes.get(&c.id).is_some_and(|&s| s < at));
        }
        let state =
            super::change::replay(&manifest, &changes, row.id).map_err(|e| e.to_string())?;
        for (id, n) in state.loads() {
            if counted.is_none_or(|c| c.contains(id)) {
                *out.entry(id.to_string()).or_default() += n;
            }
        }
    }
    Ok(out)
}

/// Loads as the messages show them: `I-002 1, I-003 2`, or `none`.
pub fn shown(loads: &BTreeMap<String, u32>) -> String {
    if loads.is_empty() {
        return "none".into();
    }
    loads
        .iter()
        .map(|(id, n)| format!("{id} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `m`'s recorded `carried_loads` are the loads the records held when the draw was
/// recorded (V2-16 item 2): `None` when they are, or cannot be checked (a version-1 draw, a
/// draw the audit log does not place, a version-2 draw made before V2-16 that records none);
/// the difference otherwise. `counted`: the inspectors of the team's departments in the draw's
/// inspector snapshot. A `suiji-manifest/3` or `/4` draw was made after V2-16, so one without
/// the member carried none, and is checked as carrying none.
pub fn carried_problem(
    store: &dyn DrawStore,
    m: &Manifest,
    draw_id: i64,
    counted: &HashSet<&str>,
) -> Result<Option<String>, String> {
    let since_v2_16 = crate::draw::manifest::since_v2_16(&m.format);
    if m.carried_loads.is_none() && !since_v2_16 {
        return Ok(None);
    }
    let order = store
        .audit_order()
        .map_err(|e| format!("the audit log cannot be read: {e}"))?;
    let Some(&at) = order.draws.get(&draw_id) else {
        return Ok(None);
    };
    let want = period_loads(store, &Scope::of(m), Some(counted), AsOf::Entry(&order, at))?;
    let got: BTreeMap<String, u32> = m
        .carried_loads
        .iter()
        .flatten()
        .map(|c| (c.inspector_id.clone(), c.load))
        .collect();
    Ok((got != want).then(|| {
        format!(
            "carried_loads: the manifest records {}, but the period's other draws as the records \
             held them when this draw was recorded (audit entry {at}) give {}: the draw was not \
             made with the workload loads of its period",
            shown(&got),
            shown(&want)
        )
    }))
}
