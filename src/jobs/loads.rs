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
        let unreadable = |e: &dyn std::fmt::Display| format!("draw #{}: {e}", head.id);
        let Some(period) = recorded_period(store, head.id).map_err(|e| unreadable(&e))? else {
            continue;
        };
        if period.end < scope.start || scope.end < period.start {
            continue;
        }
        let Some(row) = store.draw(head.id).map_err(|e| cannot(&e))? else {
            continue;
        };
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

/// The period of recorded draw `id` (`None` for an unknown draw), read from its manifest's
/// first members only: reading stops once `period` is read, so a draw whose period does not
/// overlap is decided without its manifest (at national scale a hundred megabytes) being read
/// or held.
fn recorded_period(store: &dyn DrawStore, id: i64) -> Result<Option<PeriodInfo>, String> {
    let mut read = Err(String::new());
    let there = store
        .read_manifest(id, &mut |text, _| read = period_in(text))
        .map_err(|e| e.to_string())?;
    if !there {
        return Ok(None);
    }
    read.map(Some)
}

/// The `period` of the manifest `text`, read no further than it.
fn period_in(text: &mut dyn std::io::Read) -> Result<PeriodInfo, String> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_reader(text);
    let read = serde::de::DeserializeSeed::deserialize(PeriodFirst(&mut found), &mut de);
    match (found, read) {
        (Some(period), _) => Ok(period),
        (None, Ok(())) => Err("the manifest has no period".into()),
        (None, Err(e)) => Err(e.to_string()),
    }
}

/// A manifest's members read until `period`, which is kept; reading then stops (the
/// deserialiser is told so by an error, which [`recorded_period`] does not report).
struct PeriodFirst<'a>(&'a mut Option<PeriodInfo>);

impl<'de> serde::de::DeserializeSeed<'de> for PeriodFirst<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for PeriodFirst<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a manifest")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        while let Some(key) = map.next_key::<String>()? {
            if key == "period" {
                *self.0 = Some(map.next_value()?);
                return Err(A::Error::custom("the period is read: no more is needed"));
            }
            map.next_value::<serde::de::IgnoredAny>()?;
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that fails once `limit` bytes are read: what a manifest read no further than
    /// its period never reaches.
    struct Short<'a> {
        bytes: &'a [u8],
        limit: usize,
    }

    impl std::io::Read for Short<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.limit == 0 {
                return Err(std::io::Error::other("read past the period"));
            }
            let n = buf.len().min(self.bytes.len()).min(self.limit);
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            self.limit -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_manifests_period_is_read_without_what_follows_it() {
        let head = r#"{"format": "suiji-manifest/4", "matter": "zhian.hotel",
            "period": {"id": "2024-H1", "start": "2024-01-01", "end": "2024-06-30"}"#;
        let text = format!(r#"{head}, "selected": [{{"id": "T1"}}]}}"#);
        let mut short = Short {
            bytes: text.as_bytes(),
            limit: head.len(),
        };
        let period = period_in(&mut short).expect("period");
        assert_eq!(period.id, "2024-H1");
        assert_eq!(
            (period.start.to_string(), period.end.to_string()),
            ("2024-01-01".into(), "2024-06-30".into())
        );
        let no_period = period_in(&mut r#"{"matter": "x", "selected": []}"#.as_bytes());
        assert_eq!(no_period.expect_err("none"), "the manifest has no period");
        assert!(period_in(&mut r#"{"matter": "#.as_bytes()).is_err());
        assert!(period_in(&mut r#"{"period": {"id": 3}}"#.as_bytes()).is_err());
    }
}
