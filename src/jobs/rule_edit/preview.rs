//! What a draft would change: the plan's paragraphs and table rows (old beside new), the
//! schedule's dates, and for each changed matter a dry-run draw on the current registry. The
//! engine's own plan, schedule and draw code make both sides.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::jobs::SetupError;
use crate::jobs::issue::{Frozen, Request};
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
/// matter whose settings differ, on the registry as it is now (read once).
pub fn preview(old: &Loaded, new: &Loaded, year: i32) -> Result<Preview, SetupError> {
    let md = |l: &Loaded| -> Result<String, SetupError> {
        let input = crate::jobs::plan::Input {
            year,
            provisional: false,
            format: crate::output::doc::Format::Md,
            output: None,
            issued: chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default(),
        };
        match crate::jobs::plan::document(l, &input) {
            Ok((bytes, _, _)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(crate::jobs::plan::PlanError::Setup(e)) => Err(e),
            Err(e) => Ok(format!("（计划无法生成：{e}）")),
        }
    };
    let plan = changed_lines(&md(old)?, &md(new)?);
    let cal = crate::jobs::load_calendar(new, false)?;
    let (old_schedule, _) = crate::schedule::year_schedule(&old.model, &cal, year);
    let (new_schedule, _) = crate::schedule::year_schedule(&new.model, &cal, year);
    let dates = date_changes(new, &old_schedule, &new_schedule);
    let changed = changed_matters(old, new);
    let dry_runs = if changed.is_empty() {
        Vec::new()
    } else {
        let frozen = registry_for_dry_runs(new)?;
        changed
            .iter()
            .filter_map(|id| dry_run(old, new, &frozen, id, (&old_schedule, &new_schedule)))
            .collect()
    };
    Ok(Preview {
        year,
        plan,
        dates,
        dry_runs,
    })
}

/// The registry frozen for the last previews, and what it was frozen from.
struct Kept {
    /// The SHA-256 of every registry file, in order, and the values rows may use.
    key: String,
    frozen: Arc<Frozen>,
}

/// One registry kept between previews (a console previews one registry at a time).
static KEPT: Mutex<Option<Kept>> = Mutex::new(None);

/// The registry the dry runs draw from, frozen as a draw freezes it (a UTF-8 CSV target file
/// checked in bounded memory, its canonical snapshot written by hash to the database's
/// snapshot folder, where a draw of the same registry finds it) and kept while its files and
/// the values they are checked against stay the same: the next preview hashes the files
/// (a tenth of a second for 150 MB) instead of reading them row by row again.
fn registry_for_dry_runs(loaded: &Loaded) -> Result<Arc<Frozen>, SetupError> {
    let cfg = &loaded.model.config;
    let mut key = crate::digest::Hasher::default();
    for file in cfg
        .registries
        .targets
        .iter()
        .chain(&cfg.registries.inspectors)
    {
        let path = cfg.root.join(file);
        // A file that cannot be read is never kept: the freezing says why.
        let Ok(sha) = crate::digest::sha256_file(&path) else {
            return freeze_now(loaded).map(Arc::new);
        };
        key.update(format!("{}\0{sha}\n", path.display()).as_bytes());
    }
    key.update(format!("{:?}", crate::registry::Known::from_model(&loaded.model)).as_bytes());
    let key = key.finish();
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = kept.as_ref().filter(|k| k.key == key) {
        return Ok(Arc::clone(&k.frozen));
    }
    let frozen = Arc::new(freeze_now(loaded)?);
    *kept = Some(Kept {
        key,
        frozen: Arc::clone(&frozen),
    });
    Ok(frozen)
}

fn freeze_now(loaded: &Loaded) -> Result<Frozen, SetupError> {
    let dir = crate::store::snapshot_dir_in(&loaded.model.config.data_dir);
    crate::jobs::issue::freeze_into(loaded, &dir).map_err(SetupError::Registry)
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

/// The dry runs of matter `id` before and after, on its first regular draw of the year; a
/// matter the change retires has its dry run before and [`After::Retired`].
fn dry_run(
    old: &Loaded,
    new: &Loaded,
    frozen: &Frozen,
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
            before: counts(old, frozen, id, draw).ok(),
            after: After::Retired,
        });
    };
    let before = first(old_schedule).and_then(|d| counts(old, frozen, id, d).ok());
    Some(DryRun {
        matter: crate::rules::names::matter_name(&new.model, id),
        period: draw.period.label_zh(),
        before,
        after: match counts(new, frozen, id, draw) {
            Ok(c) => After::Drawn(c),
            Err(e) => After::Failed(e),
        },
    })
}

/// One dry-run draw (a fixed seed: only the counts are shown) and its staffing.
fn counts(
    loaded: &Loaded,
    frozen: &Frozen,
    id: &str,
    draw: ScheduledDraw,
) -> Result<Counts, String> {
    let req = Request {
        algorithm: loaded.model.config.algorithm,
        draw,
        seed: crate::draw::Seed([0; 32]),
        seed_source: "preview".into(),
        actor: "preview".into(),
        created_at: String::new(),
        redraw: None,
        dry_run: true,
        provisional: false,
    };
    let history = crate::draw::pipeline::History::default();
    let man =
        crate::jobs::issue::compute(loaded, frozen, &history, &req).map_err(|e| e.to_string())?;
    let m = loaded.model.matter(id).ok_or_else(|| id.to_string())?;
    let mut drawn: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &man.selected {
        *drawn.entry(s.stratum.as_str()).or_default() += 1;
    }
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
        eligible: man.strata.iter().map(|s| s.eligible).sum(),
        drawn: man.selected.len(),
        strata: man
            .strata
            .iter()
            .map(|s| StratumCount {
                stratum: s.stratum.clone(),
                eligible: s.eligible,
                drawn: drawn.get(s.stratum.as_str()).copied().unwrap_or(0),
            })
            .collect(),
        needed: man.selected.len() * m.team_size as usize,
        inspectors,
        capacity: inspectors * m.workload_cap as usize,
        unstaffed: man.selected.iter().filter(|s| s.team.is_empty()).count(),
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
