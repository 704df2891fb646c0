//! What a publication on a given day contains: per draw, the inspected targets whose results
//! are not yet public and whose inspection ended on or before that day; and the notice that
//! lists every target of the draw published so far.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::output::notice::{Entries, IndexEntry, NOTICE_FORMAT, Notice, NoticeEntry, NoticeItem};
use crate::output::tasks::public_field;
use crate::registry::Target;
use crate::rules::model::Model;
use crate::schedule::Period;

use crate::results::ledger::{DrawLedger, TargetLedger};

/// Targets of a draw that a publication on `as_of` makes public, and their result ids.
pub fn publishable(l: &DrawLedger, as_of: NaiveDate) -> (Vec<&TargetLedger>, Vec<i64>) {
    let mut targets = Vec::new();
    let mut ids = Vec::new();
    for t in &l.targets {
        let ready = t.complete
            && t.unstaffed.is_none()
            && t.inspection_end.is_some_and(|d| d <= as_of)
            && t.results.iter().any(|r| !r.published);
        if ready {
            ids.extend(t.results.iter().filter(|r| !r.published).map(|r| r.id));
            targets.push(t);
        }
    }
    (targets, ids)
}

/// Folder of a draw's notice under the output folder: `public/<year>/<matter>/<period>`.
pub fn notice_folder(matter: &str, period: &str) -> PathBuf {
    let year = period.get(..4).unwrap_or(period);
    PathBuf::from("public").join(year).join(matter).join(period)
}

fn period_label(l: &DrawLedger) -> String {
    Period {
        id: l.draw.record.period.clone(),
        start: l.manifest.period.start,
        end: l.manifest.period.end,
    }
    .label_zh()
}

/// The targets the notice of a draw shows once the targets in `newly` are published: those
/// published before, and those.
pub fn shown<'a>(l: &'a DrawLedger, newly: &'a HashSet<String>) -> impl Iterator<Item = &'a str> {
    l.targets
        .iter()
        .filter(|t| t.published_on.is_some() || newly.contains(&t.target_id))
        .map(|t| t.target_id.as_str())
}

/// The notice of a draw once the targets in `newly` are published on `as_of`.
pub fn notice<'a>(
    model: &'a Model,
    l: &'a DrawLedger,
    registry: &'a HashMap<String, Target>,
    newly: &HashSet<String>,
    as_of: NaiveDate,
) -> Notice<'a> {
    let matter = model.matter(&l.draw.record.matter);
    let item_text: HashMap<&str, &str> = matter
        .map(|m| {
            m.checklist
                .iter()
                .map(|i| (i.id.as_str(), i.text.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let fields = &model.config.public_fields;
    // The targets shown, with the day each was published; their results are made as written.
    let shown: Vec<(&TargetLedger, NaiveDate)> = l
        .targets
        .iter()
        .filter_map(|t| {
            let published_on = if newly.contains(&t.target_id) {
                Some(as_of)
            } else {
                t.published_on
            };
            Some((t, published_on?))
        })
        .collect();
    let (late, overdue) = late_and_overdue(l, &shown, as_of);
    let order: HashMap<&str, usize> = l
        .items
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let entries = Entries::new(shown.len(), move |i| {
        let (t, published_on) = shown[i];
        NoticeEntry {
            fields: public_values(model, t, registry),
            inspection_date: t.inspection_end.map(|d| d.to_string()).unwrap_or_default(),
            result: t.summary(),
            items: notice_items(t, &item_text, &order),
            published_on: published_on.to_string(),
        }
    });
    Notice {
        format: NOTICE_FORMAT.into(),
        bureau: model.config.bureau.name.clone(),
        department: model
            .department(&l.department)
            .map_or_else(|| l.department.clone(), |d| d.name.clone()),
        matter: l.draw.record.matter.clone(),
        matter_name: l.matter_name.clone(),
        period: l.draw.record.period.clone(),
        period_label: period_label(l),
        draw_id: l.draw.id,
        draw_ref: l.draw_ref.clone(),
        manifest_hash: l.draw.record.manifest_hash.clone(),
        issue_date: l.issue_date.to_string(),
        drawn: l.drawn(),
        out_of_scope: l.out_of_scope,
        channel: matter.map_or_else(String::new, |m| m.publication.channel.clone()),
        deadline_working_days: l.deadline_working_days,
        published_on: as_of.to_string(),
        public_fields: fields.clone(),
        entries,
        marks: l.marks.clone(),
        late,
        overdue,
        due_date: l.due_date.to_string(),
        wording: crate::output::notice::Wording::Counted,
    }
}

/// Of the targets a notice shows (with the day each was published), how many were published
/// after their deadline; of the draw's staffed targets, how many have no complete inspection
/// on `as_of`, past the draw's due date.
fn late_and_overdue(
    l: &DrawLedger,
    shown: &[(&TargetLedger, NaiveDate)],
    as_of: NaiveDate,
) -> (usize, usize) {
    let late = shown
        .iter()
        .filter(|(t, on)| t.deadline.is_some_and(|d| *on > d))
        .count();
    let overdue = l
        .targets
        .iter()
        .filter(|t| !t.inspected_by(as_of) && t.unstaffed.is_none() && as_of > l.due_date)
        .count();
    (late, overdue)
}

/// The config's public fields of a target: from the registry, or (for a target no longer in it)
/// its id and name as drawn.
fn public_values(
    model: &Model,
    t: &TargetLedger,
    registry: &HashMap<String, Target>,
) -> Vec<(String, String)> {
    model
        .config
        .public_fields
        .iter()
        .map(|f| {
            let v = match registry.get(&t.target_id) {
                Some(target) => public_field(model, target, f),
                None => match f.as_str() {
                    "id" => t.target_id.clone(),
                    "name" => t.target_name.clone(),
                    _ => String::new(),
                },
            };
            (f.clone(), v)
        })
        .collect()
}

/// A target's published results per checklist item, in the checklist's order (`order`: an
/// item's place in it).
fn notice_items(
    t: &TargetLedger,
    item_text: &HashMap<&str, &str>,
    order: &HashMap<&str, usize>,
) -> Vec<NoticeItem> {
    let mut items: Vec<NoticeItem> = t
        .results
        .iter()
        .map(|r| {
            let id = r.checklist_item.as_deref().unwrap_or_default().to_string();
            NoticeItem {
                text: item_text
                    .get(id.as_str())
                    .copied()
                    .unwrap_or("")
                    .to_string(),
                item: id,
                result: r.category.to_string(),
            }
        })
        .collect();
    items.sort_by_key(|i| order.get(i.item.as_str()).copied().unwrap_or(usize::MAX));
    items
}

/// The index line of a draw, if anything of it is (or is about to be) published.
pub fn index_entry(
    l: &DrawLedger,
    newly: &HashSet<String>,
    as_of: NaiveDate,
) -> Option<IndexEntry> {
    let published: Vec<NaiveDate> = l
        .targets
        .iter()
        .filter_map(|t| {
            if newly.contains(&t.target_id) {
                Some(as_of)
            } else {
                t.published_on
            }
        })
        .collect();
    let last = published.iter().max()?;
    Some(IndexEntry {
        year: l.draw.record.period.get(..4).unwrap_or("").to_string(),
        matter: l.draw.record.matter.clone(),
        matter_name: l.matter_name.clone(),
        period: l.draw.record.period.clone(),
        period_label: period_label(l),
        drawn: l.drawn(),
        published: published.len(),
        last_published: last.to_string(),
        href: format!(
            "{}/{}/{}",
            l.draw.record.period.get(..4).unwrap_or(""),
            l.draw.record.matter,
            l.draw.record.period
        ),
    })
}
