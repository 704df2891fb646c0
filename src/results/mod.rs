//! Inspection results and what they add up to.
//!
//! - [`import`] reads a filled-in task list (the `tasks.csv` / `tasks.xlsx` a draw wrote) into
//!   raw entries, one per filled row, each with its file and line.
//! - [`entry`] checks raw entries against the recorded draw they name (the drawn target, its
//!   team, the matter's checklist, the national result categories, the dates) and turns them
//!   into rows for the store. Every problem is collected; callers record nothing unless there
//!   are none.
//! - [`ledger`] works out, per drawn target, whether it was inspected, when its result must be
//!   published and whether it was.
//! - [`pending`] holds the new results of an import, compact, until they are recorded.
//! - [`year`] adds the ledgers of a year up into the figures of the accountability report.
//!
//! Definitions (also in `docs/results.md`):
//!
//! - A target is **inspected** when it has a result for every checklist item of its matter.
//!   Results are always per checklist item (the task list has one row per item); a target that
//!   could not be inspected at all (无法联系, 未发现开展本次抽查涉及的经营活动) gets that
//!   category on every item row.
//! - Its inspection **ends** on the latest 检查日期 among those results.
//! - Its publication **deadline** is `deadline_working_days` (20 unless the rule says otherwise)
//!   working days after that, counted on the holiday calendar with 调休.
//! - It is **published** when all its results are; the publication that published the last
//!   of them is the one that first included it. Published on or before the deadline is
//!   **on time**, after it **late**.
//! - Anything drawn that is not published — not inspected, inspected but not published, no
//!   team drawn — counts as **not done** once its date has passed (the draw's due date for the
//!   inspection, the deadline for the publication); before that it is **pending**.
//! - The changes after a draw decide what is to be inspected: a substitute taken in (替补)
//!   stands in the place of the target it replaced, with the team it took over, and takes
//!   that target's results; a target marked out of scope (不在范围) is drawn but not to be
//!   inspected, in none of the figures but the number drawn.

pub mod entry;
pub mod import;
pub mod ledger;
pub mod pending;
pub mod safe_cell;
pub mod year;

/// The names of the inspectors `ids` as the inspector snapshot of `draw` has them (those it
/// has; none when it cannot be read), by id.
pub fn inspector_names(
    store: &dyn crate::store::DrawStore,
    draw: &crate::store::DrawRow,
    ids: &std::collections::HashSet<&str>,
) -> Vec<(String, String)> {
    if ids.is_empty() {
        return Vec::new();
    }
    let Ok(bytes) = store.get_snapshot(&draw.record.inspectors_snapshot) else {
        return Vec::new();
    };
    let Ok(rows) = crate::registry::parse_canonical_inspectors(&bytes) else {
        return Vec::new();
    };
    rows.into_iter()
        .filter(|i| ids.contains(i.id.as_str()))
        .map(|i| (i.id, i.name))
        .collect()
}

/// The names of the substitutes `changes` took into `draw` (替补), from its archived target
/// snapshot (only their rows kept as it is read); none when it cannot be read, which is
/// logged.
pub fn substitute_names(
    store: &dyn crate::store::DrawStore,
    draw: &crate::store::DrawRow,
    changes: &[crate::store::DrawChange],
) -> std::collections::HashMap<String, String> {
    let ids: std::collections::HashSet<&str> = changes
        .iter()
        .filter(|c| c.kind == "target")
        .filter_map(|c| c.replacement.as_deref())
        .collect();
    if ids.is_empty() {
        return Default::default();
    }
    match archived_targets(store, &draw.record.targets_snapshot, |id| ids.contains(id)) {
        Ok(rows) => rows.into_iter().map(|t| (t.id, t.name)).collect(),
        Err(e) => {
            tracing::warn!("draw #{}: its substitutes' names: {e}", draw.id);
            Default::default()
        }
    }
}

/// The targets of the archived snapshot `hash` whose id `keep` accepts, read a row at a time:
/// from its file beside the database (checked against its hash as it is read), else from the
/// database's copy.
pub(crate) fn archived_targets(
    store: &dyn crate::store::DrawStore,
    hash: &str,
    keep: impl FnMut(&str) -> bool,
) -> Result<Vec<crate::registry::Target>, String> {
    let mut targets = Vec::new();
    each_archived_target(store, hash, keep, |t| targets.push(t))?;
    Ok(targets)
}

/// [`archived_targets`], each target kept given to `each` as it is read.
pub(crate) fn each_archived_target(
    store: &dyn crate::store::DrawStore,
    hash: &str,
    keep: impl FnMut(&str) -> bool,
    each: impl FnMut(crate::registry::Target),
) -> Result<(), String> {
    let unusable = |e: String| format!("the archived targets snapshot {hash} cannot be used: {e}");
    let unreadable = |e: String| format!("targets snapshot unreadable: {e}");
    let Some(path) = store
        .snapshot_file(hash)
        .map_err(|e| unusable(e.to_string()))?
    else {
        let bytes = store
            .get_snapshot(hash)
            .map_err(|e| unusable(e.to_string()))?;
        return crate::registry::each_canonical_target(bytes.as_slice(), keep, each)
            .map_err(unreadable);
    };
    let file = std::fs::File::open(&path)
        .map_err(|e| unusable(format!("cannot read {}: {e}", path.display())))?;
    let mut read = crate::digest::HashingReader::new(file);
    crate::registry::each_canonical_target(&mut read, keep, each).map_err(unreadable)?;
    let (actual, _) = read.finish();
    if actual != hash {
        return Err(unusable(format!("{} hashes to {actual}", path.display())));
    }
    Ok(())
}

/// The national result categories (全国统一的抽查结果类别).
pub(crate) const RESULT_CATEGORIES: [&str; 8] = [
    "未发现问题",
    "未按规定公示应当公示的信息",
    "公示信息隐瞒真实情况弄虚作假",
    "通过登记的住所（经营场所）无法联系",
    "发现问题已责令改正",
    "不配合检查情节严重",
    "未发现开展本次抽查涉及的经营活动",
    "发现问题待后续处理",
];

/// Columns of the task list / result sheet. The last four are filled in by inspectors.
pub const TASK_HEADER: [&str; 14] = [
    "抽取编号",
    "抽查事项",
    "期次",
    "对象编号",
    "对象名称",
    "地址",
    "检查人员",
    "检查项编号",
    "检查内容",
    "完成期限",
    "检查结果",
    "检查日期",
    "备注",
    "签名检查人员",
];

/// The columns of a large draw's compact task list (`output::tasks`): one row per target, and
/// between 检查人员 and 检查日期 one result column per checklist item, headed
/// [`RESULT_COLUMN`] and the item's id and text (`检查结果：hotel-01 办理许可证情况`). The
/// import reads both forms.
pub const COMPACT_TASK_HEADER: [&str; 8] = [
    "抽取编号",
    "对象编号",
    "对象名称",
    "地址",
    "检查人员",
    "检查日期",
    "备注",
    "签名检查人员",
];

/// What a compact task list's result column of a checklist item is headed by, before the
/// item's id.
pub const RESULT_COLUMN: &str = "检查结果：";

pub use crate::registry::types::CLEAN;

/// The national category `text` stands for: exact, or with half-width brackets.
pub(crate) fn normalize_category(text: &str) -> Option<&'static str> {
    let t = crate::registry::values::trim(text)
        .replace('(', "（")
        .replace(')', "）");
    RESULT_CATEGORIES.iter().copied().find(|c| *c == t)
}

/// Values kept once each and shared: a national draw's results repeat a few texts (categories,
/// days, signers, file names) a million times.
pub(crate) struct Interned<T: ?Sized>(std::collections::HashSet<std::sync::Arc<T>>);

impl<T: ?Sized> Default for Interned<T> {
    fn default() -> Self {
        Interned(std::collections::HashSet::new())
    }
}

impl<T: ?Sized + Eq + std::hash::Hash> Interned<T> {
    /// `v` kept: the one kept before when it is equal, else `v`.
    pub(crate) fn of<V: AsRef<T> + Into<std::sync::Arc<T>>>(&mut self, v: V) -> std::sync::Arc<T> {
        if let Some(kept) = self.0.get(v.as_ref()) {
            return std::sync::Arc::clone(kept);
        }
        let kept: std::sync::Arc<T> = v.into();
        self.0.insert(std::sync::Arc::clone(&kept));
        kept
    }
}

/// Values kept once each, named by their place: what a national import holds of each of its
/// 1.47 million results is a few numbers ([`pending::Pending`], the entries seen,
/// [`entry::Checker`]).
pub(crate) struct Places<T: ?Sized> {
    places: rustc_hash::FxHashMap<std::sync::Arc<T>, u32>,
    values: Vec<std::sync::Arc<T>>,
}

impl<T: ?Sized> Clone for Places<T> {
    fn clone(&self) -> Self {
        Places {
            places: self.places.clone(),
            values: self.values.clone(),
        }
    }
}

impl<T: ?Sized> Default for Places<T> {
    fn default() -> Self {
        Places {
            places: rustc_hash::FxHashMap::default(),
            values: Vec::new(),
        }
    }
}

impl<T: ?Sized + Eq + std::hash::Hash> Places<T> {
    /// The place of `v`, kept now if it was not before.
    pub(crate) fn place(&mut self, v: &T) -> u32
    where
        for<'a> std::sync::Arc<T>: From<&'a T>,
    {
        if let Some(&at) = self.places.get(v) {
            return at;
        }
        let at = u32::try_from(self.values.len()).unwrap_or(NONE);
        let kept: std::sync::Arc<T> = std::sync::Arc::from(v);
        self.values.push(std::sync::Arc::clone(&kept));
        self.places.insert(kept, at);
        at
    }

    /// The place of `v`, if it is kept.
    pub(crate) fn find(&self, v: &T) -> Option<u32> {
        self.places.get(v).copied()
    }

    /// The value kept at `place`.
    pub(crate) fn at(&self, place: u32) -> Option<&std::sync::Arc<T>> {
        self.values.get(place as usize)
    }
}

/// No place: a value absent (a result without a checklist item, a file or a line).
pub(crate) const NONE: u32 = u32::MAX;

/// A target's overall result from its item results: 未发现问题 when every item is clean,
/// otherwise each problem category found, in the national order, joined by "；".
pub fn summary_category<'a>(categories: impl IntoIterator<Item = &'a str>) -> String {
    let found: Vec<&str> = categories.into_iter().collect();
    // Most targets have no problem: said without looking for each category.
    if found.iter().all(|c| *c == CLEAN) {
        return if found.is_empty() {
            String::new()
        } else {
            CLEAN.to_string()
        };
    }
    let problems: Vec<&str> = RESULT_CATEGORIES
        .iter()
        .copied()
        .filter(|c| *c != CLEAN && found.contains(c))
        .collect();
    if problems.is_empty() {
        if found.is_empty() {
            String::new()
        } else {
            CLEAN.to_string()
        }
    } else {
        problems.join("；")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_normalise_and_summarise() {
        assert_eq!(
            normalize_category(" 通过登记的住所(经营场所)无法联系 "),
            Some("通过登记的住所（经营场所）无法联系")
        );
        assert_eq!(normalize_category("合格"), None);
        assert_eq!(summary_category(["未发现问题", "未发现问题"]), "未发现问题");
        assert_eq!(
            summary_category(["发现问题待后续处理", "未发现问题", "发现问题已责令改正"]),
            "发现问题已责令改正；发现问题待后续处理"
        );
        assert_eq!(summary_category([]), "");
    }
}
