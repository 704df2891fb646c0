//! The recorded draws (`suiji draws`).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{NaiveDateTime, NaiveTime};

use crate::schedule::marks::DrawMarks;
use crate::store::{DrawFilter, DrawHead, DrawRow, DrawStore, StoreError};

/// A recorded draw, how many targets it lists, and how it was made.
#[derive(Debug, Clone)]
pub struct Listed {
    pub draw: DrawHead,
    pub targets: usize,
    /// When it was really drawn, late (补抽), provisional (临时), simulated (模拟).
    pub marks: DrawMarks,
}

/// The draws the filter selects, in the store's order.
pub fn run(store: &dyn DrawStore, filter: &DrawFilter) -> Result<Vec<Listed>, StoreError> {
    let simulation = store.is_simulation()?;
    let mut listed = Vec::new();
    for draw in store.list_draw_heads(filter)? {
        let known = match known_of(&draw.manifest_hash) {
            Some(known) => known,
            None => {
                let json = store.manifest_json(draw.id)?.unwrap_or_default();
                let known = Known {
                    issue_at: issue_at(&json),
                    targets: store.draw_target_count(draw.id)?,
                };
                remember(&draw.manifest_hash, known);
                known
            }
        };
        listed.push(Listed {
            targets: known.targets,
            marks: DrawMarks::of(
                &draw.created_at,
                scheduled(known.issue_at, &draw.issue_date),
                draw.provisional,
                simulation,
            ),
            draw,
        });
    }
    Ok(listed)
}

/// What a list of draws shows of a draw that its head does not hold: the scheduled issue time
/// (the manifest's `issue_at`) and how many targets it ranked (its `draw_targets` rows, which
/// are the manifest's).
#[derive(Debug, Clone, Copy)]
struct Known {
    issue_at: Option<NaiveDateTime>,
    targets: usize,
}

/// What was read of manifests so far, by manifest hash. A manifest never changes under its
/// hash, nor do the rows recorded from it, so what was read once holds for the life of the
/// process; lists of draws then need not read megabytes of manifests, nor count hundreds of
/// thousands of rows, again on every call.
fn known_cache() -> &'static Mutex<HashMap<String, Known>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Known>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

fn known_of(manifest_hash: &str) -> Option<Known> {
    let cache = known_cache().lock().ok()?;
    cache.get(manifest_hash).copied()
}

fn remember(manifest_hash: &str, known: Known) {
    if let Ok(mut cache) = known_cache().lock() {
        cache.insert(manifest_hash.to_string(), known);
    }
}

/// The manifest's `issue_at`, the scheduled issue time (only that field is read: the rest of
/// the manifest, every drawn target, is skipped).
fn issue_at(manifest_json: &str) -> Option<NaiveDateTime> {
    #[derive(serde::Deserialize)]
    struct IssueAt {
        issue_at: Option<String>,
    }
    serde_json::from_str::<IssueAt>(manifest_json)
        .ok()
        .and_then(|m| m.issue_at)
        .and_then(|s| NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M").ok())
}

/// The scheduled issue time: the manifest's `issue_at`, or the start of the issue day if the
/// manifest cannot say.
fn scheduled(issue_at: Option<NaiveDateTime>, issue_date: &str) -> NaiveDateTime {
    issue_at.unwrap_or_else(|| {
        chrono::NaiveDate::parse_from_str(issue_date, "%Y-%m-%d")
            .unwrap_or_default()
            .and_time(NaiveTime::MIN)
    })
}

/// The marks of a recorded draw: its scheduled issue time is the manifest's `issue_at`
/// (the start of its issue day if the manifest cannot say).
pub fn marks(draw: &DrawRow, simulation: bool) -> DrawMarks {
    DrawMarks::of(
        &draw.record.created_at,
        scheduled(
            issue_at(&draw.record.manifest_json),
            &draw.record.issue_date,
        ),
        draw.record.provisional,
        simulation,
    )
}

/// Everything recorded about one draw, and the files in its folder.
#[derive(Debug, Clone)]
pub struct Detail {
    pub draw: DrawRow,
    pub targets: Vec<crate::store::DrawnTargetRow>,
    pub teams: Vec<crate::store::TeamRow>,
    pub unstaffed: Vec<crate::store::UnstaffedRow>,
    pub exclusions: Vec<crate::store::ExclusionRow>,
    /// Names by id: the draw's inspectors, and every excluded target and inspector (from the
    /// registry snapshots the draw was made from).
    pub names: std::collections::HashMap<String, String>,
    /// The names of the files in the draw's folder (when the folder holds this draw).
    pub files: Vec<String>,
    /// The changes made after the draw (替补, 不在范围, 人员调整), in order; their targets and
    /// inspectors are in `names`.
    pub changes: Vec<crate::store::DrawChange>,
}

/// The draw `id` with its rows and files; `None` when there is no such draw.
pub fn detail(
    loaded: &crate::rules::Loaded,
    store: &dyn crate::store::DrawStore,
    id: i64,
) -> Result<Option<Detail>, StoreError> {
    let Some(draw) = store.draw(id)? else {
        return Ok(None);
    };
    let teams = store.draw_teams(id)?;
    let exclusions = store.draw_exclusions(id)?;
    let changes = store.changes_of(id)?;
    let mut names: std::collections::HashMap<String, String> = teams
        .iter()
        .map(|t| (t.inspector_id.clone(), t.inspector_name.clone()))
        .collect();
    names.extend(excluded_names(store, &draw, &exclusions, &changes));
    let files = files_of(loaded, &draw);
    Ok(Some(Detail {
        changes,
        targets: store.draw_targets(id)?,
        unstaffed: store.draw_unstaffed(id)?,
        exclusions,
        teams,
        names,
        files,
        draw,
    }))
}

fn folder_of(loaded: &crate::rules::Loaded, draw: &DrawRow) -> Option<std::path::PathBuf> {
    let folder = super::issue::draw_folder(
        &loaded.model.config.output_dir,
        &draw.record.matter,
        &draw.record.period,
    );
    let here = super::issue::manifest_hash_in(&folder);
    (here.as_deref() == Some(draw.record.manifest_hash.as_str())).then_some(folder)
}

fn files_of(loaded: &crate::rules::Loaded, draw: &DrawRow) -> Vec<String> {
    let Some(folder) = folder_of(loaded, draw) else {
        return Vec::new();
    };
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// The bytes of one file of draw `id`'s folder, by a name [`detail`] listed.
pub fn file(
    loaded: &crate::rules::Loaded,
    store: &dyn crate::store::DrawStore,
    id: i64,
    name: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(draw) = store.draw(id)? else {
        return Ok(None);
    };
    if !files_of(loaded, &draw).iter().any(|f| f == name) {
        return Ok(None);
    }
    let Some(folder) = folder_of(loaded, &draw) else {
        return Ok(None);
    };
    Ok(std::fs::read(folder.join(name)).ok())
}

pub use crate::results::inspector_names;

/// The names of the excluded targets and inspectors, and of those the changes name, from the
/// draw's archived snapshots (an unreadable snapshot gives no names; the ids are shown then).
fn excluded_names(
    store: &dyn crate::store::DrawStore,
    draw: &DrawRow,
    exclusions: &[crate::store::ExclusionRow],
    changes: &[crate::store::DrawChange],
) -> Vec<(String, String)> {
    use crate::store::EntityKind;
    let wanted = |kind: EntityKind| -> std::collections::HashSet<&str> {
        exclusions
            .iter()
            .filter(|e| e.entity_kind == kind)
            .map(|e| e.entity_id.as_str())
            .collect()
    };
    let (mut targets, mut inspectors) = (wanted(EntityKind::Target), wanted(EntityKind::Inspector));
    for c in changes {
        targets.insert(c.target_id.as_str());
        let named = c.inspector_id.iter().chain(c.replacement.iter());
        if c.kind == "inspector" {
            inspectors.extend(named.map(String::as_str));
        } else {
            targets.extend(named.map(String::as_str));
        }
    }
    let mut out = Vec::new();
    // Only the rows named are kept as the snapshot is read (a national one is gigabytes).
    if !targets.is_empty()
        && let Ok(rows) =
            super::verify::archived_targets(store, &draw.record.targets_snapshot, |id| {
                targets.contains(id)
            })
    {
        out.extend(rows.into_iter().map(|t| (t.id, t.name)));
    }
    out.extend(inspector_names(store, draw, &inspectors));
    out
}
