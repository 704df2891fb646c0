//! What a draft would change: the plan's paragraphs and table rows (old beside new), the
//! schedule's dates, and for each changed matter a dry-run draw on the current registry. The
//! engine's own plan, schedule and draw code make both sides.

use std::collections::BTreeMap;

use crate::jobs::SetupError;
use crate::jobs::check::{Facts, Keeper};
use crate::jobs::issue::Frozen;
use crate::rules::Loaded;
use crate::schedule::{DrawKind, ScheduledDraw};

/// One changed line of the plan: a paragraph or a table row (Markdown), old beside new; a side
/// is empty when the line was added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub old: String,
    pub new: String,
}

/// A draw of the year whose dates change (or that appears or goes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateChange {
    pub matter: String,
    pub period: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One stratum of a dry-run draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StratumCount {
    pub stratum: String,
    pub eligible: usize,
    pub drawn: usize,
}

/// A changed matter's first regular draw of the year, dry-run on the current registry, before
/// and after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    pub matter: String,
    pub period: String,
    pub before: Option<Counts>,
    pub after: After,
}

/// What the change makes of a matter's draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// The dry run with the change.
    Drawn(Counts),
    /// The dry run failed (the reason, as the draw says it).
    Failed(String),
    /// The change retires the matter (or its department): no draw of it any more; its past
    /// draws and history are kept. The period is the one it would have drawn next.
    Retired,
}

/// The counts of one dry-run draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub eligible: usize,
    pub drawn: usize,
    pub strata: Vec<StratumCount>,
    /// Inspector assignments the drawn targets need (drawn × team size) and what the
    /// department's qualified, active inspectors can take (their number × workload cap).
    pub needed: usize,
    pub inspectors: usize,
    pub capacity: usize,
    /// Drawn targets left without a team.
    pub unstaffed: usize,
}

/// The preview of a draft.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    pub year: i32,
    pub plan: Vec<Side>,
    pub dates: Vec<DateChange>,
    pub dry_runs: Vec<DryRun>,
}

/// What `new` (the rules with the draft) changes against `old` (the rules as they are) in
/// `year`: both plans rendered by the plan job, both schedules, and a dry-run draw of every
/// matter whose settings differ, on the registry as it is now. The registry's facts are those
/// `keeper` keeps (read once per registry version, with each matter's dry runs): a matter the
/// draft leaves as it is was dry-run by an earlier preview or check, and is not run again.
pub fn preview(
    old: &Loaded,
    new: &Loaded,
    year: i32,
    keeper: &Keeper,
) -> Result<Preview, SetupError> {
    let (old_facts, new_facts) = (keeper.facts(old), keeper.facts(new));
    let md = |l: &Loaded, facts: &Facts| -> Result<String, SetupError> {
        let input = crate::jobs::plan::Input {
            year,
            provisional: false,
            format: crate::output::doc::Format::Md,
            output: None,
            issued: chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default(),
        };
        match crate::jobs::plan::document_on(l, &input, facts) {
            Ok((bytes, _, _)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(crate::jobs::plan::PlanError::Setup(e)) => Err(e),
            Err(e) => Ok(format!("（计划无法生成：{e}）")),
        }
    };
    let plan = changed_lines(&md(old, &old_facts)?, &md(new, &new_facts)?);
    let cal = crate::jobs::load_calendar(new, false)?;
    let (old_schedule, _) = crate::schedule::year_schedule(&old.model, &cal, year);
    let (new_schedule, _) = crate::schedule::year_schedule(&new.model, &cal, year);
    let dates = date_changes(new, &old_schedule, &new_schedule);
    let changed = changed_matters(old, new);
    let dry_runs = if changed.is_empty() {
        Vec::new()
    } else {
        let frozen = new_facts.frozen(new).map_err(SetupError::Registry)?;
        let on = (frozen, &*new_facts);
        changed
            .iter()
            .filter_map(|id| dry_run(old, new, on, id, (&old_schedule, &new_schedule)))
            .collect()
    };
    Ok(Preview {
        year,
        plan,
        dates,
        dry_runs,
    })
}

/// The matters whose settings differ (where they are written in the file does not count).
fn changed_matters(old: &Loaded, new: &Loaded) -> Vec<String> {
    let shape = |m: &crate::rules::model::Matter| {
        let mut m = m.clone();
        m.places = crate::rules::model::Places::default();
        format!("{m:?}")
    };
    new.model
        .matters()
        .filter(|m| old.model.matter(&m.id).is_none_or(|o| shape(o) != shape(m)))
        .map(|m| m.id.clone())
        .collect()
}

/// The registry a preview's dry runs draw from, and the facts they are kept in.
type On<'a> = (&'a Frozen, &'a Facts);

/// The dry runs of matter `id` before and after, on its first regular draw of the year; a
/// matter the change retires has its dry run before and [`After::Retired`].
fn dry_run(
    old: &Loaded,
    new: &Loaded,
    on: On<'_>,
    id: &str,
    (old_schedule, new_schedule): (&[ScheduledDraw], &[ScheduledDraw]),
) -> Option<DryRun> {
    let first = |s: &[ScheduledDraw]| {
        s.iter()
            .find(|d| d.matter == id && d.kind == DrawKind::Regular)
            .cloned()
    };
    let retired = new.model.matter(id).is_some_and(|m| m.retired);
    let Some(draw) = first(new_schedule) else {
        // Retired by the change (a matter retired before has no draw either side: no line).
        let draw = first(old_schedule).filter(|_| retired)?;
        return Some(DryRun {
            matter: crate::rules::names::matter_name(&new.model, id),
            period: draw.period.label_zh(),
            before: counts(old, on, id, &draw).ok(),
            after: After::Retired,
        });
    };
    let before = first(old_schedule).and_then(|d| counts(old, on, id, &d).ok());
    Some(DryRun {
        matter: crate::rules::names::matter_name(&new.model, id),
        period: draw.period.label_zh(),
        before,
        after: match counts(new, on, id, &draw) {
            Ok(c) => After::Drawn(c),
            Err(e) => After::Failed(e),
        },
    })
}

/// One dry-run draw (a fixed seed: only the counts are shown, kept in the facts) and its
/// staffing.
fn counts(
    loaded: &Loaded,
    (frozen, facts): On<'_>,
    id: &str,
    draw: &ScheduledDraw,
) -> Result<Counts, String> {
    let m = loaded.model.matter(id).ok_or_else(|| id.to_string())?;
    let run = facts.dry_run(loaded, frozen, m, draw);
    let c = match &*run {
        Ok(c) => c,
        Err(e) => return Err(e.clone()),
    };
    let inspectors = frozen
        .registry
        .inspectors
        .iter()
        .filter(|i| i.active && i.department == m.department)
        .filter(|i| {
            m.qualifications
                .iter()
                .all(|q| i.qualifications.contains(q))
        })
        .count();
    Ok(Counts {
        eligible: c.eligible,
        drawn: c.drawn,
        strata: c
            .strata
            .iter()
            .map(|(stratum, eligible, drawn)| StratumCount {
                stratum: stratum.clone(),
                eligible: *eligible,
                drawn: *drawn,
            })
            .collect(),
        needed: c.drawn * m.team_size as usize,
        inspectors,
        capacity: inspectors * m.workload_cap as usize,
        unstaffed: c.unstaffed,
    })
}

/// The draws whose issue or due date differs, by matter and period.
fn date_changes(new: &Loaded, old: &[ScheduledDraw], now: &[ScheduledDraw]) -> Vec<DateChange> {
    let key = |d: &ScheduledDraw| (d.matter.clone(), d.period.id.clone());
    let text = |d: &ScheduledDraw| {
        format!(
            "抽取 {}，检查截止 {}，比例 {}",
            d.issue_at.format("%Y-%m-%d %H:%M"),
            d.due,
            d.ratio
        )
    };
    let before: BTreeMap<_, _> = old.iter().map(|d| (key(d), text(d))).collect();
    let after: BTreeMap<_, _> = now.iter().map(|d| (key(d), text(d))).collect();
    let mut keys: Vec<_> = before.keys().chain(after.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(k) != after.get(k))
        .map(|k| DateChange {
            matter: crate::rules::names::matter_name(&new.model, &k.0),
            period: crate::rules::names::period_label(&k.1),
            old: before.get(&k).cloned(),
            new: after.get(&k).cloned(),
        })
        .collect()
}

/// The lines of `new` that are not in `old` and the other way round, aligned by a longest
/// common subsequence: each run of removed lines beside the run of added lines that replaced it.
pub(crate) fn changed_lines(old: &str, new: &str) -> Vec<Side> {
    let a: Vec<&str> = old.lines().filter(|l| !l.trim().is_empty()).collect();
    let b: Vec<&str> = new.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut gone, mut came) = (Vec::new(), Vec::new());
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            pair(&mut out, &mut gone, &mut came);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            came.push(b[j]);
            j += 1;
        } else {
            gone.push(a[i]);
            i += 1;
        }
    }
    pair(&mut out, &mut gone, &mut came);
    out
}

fn pair(out: &mut Vec<Side>, gone: &mut Vec<&str>, came: &mut Vec<&str>) {
    for n in 0..gone.len().max(came.len()) {
        out.push(Side {
            old: gone.get(n).map_or_else(String::new, |s| s.to_string()),
            new: came.get(n).map_or_else(String::new, |s| s.to_string()),
        });
    }
    gone.clear();
    came.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_stands_beside_its_old_self() {
        let sides = changed_lines("a\nb 5%\nc\n", "a\nb 10%\nc\nd\n");
        assert_eq!(
            sides,
            [
                Side {
                    old: "b 5%".into(),
                    new: "b 10%".into()
                },
                Side {
                    old: String::new(),
                    new: "d".into()
                }
            ]
        );
    }
}
