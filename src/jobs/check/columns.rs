//! The rules against the registries they draw from: every column a matter names
//! (`class_field`, `stratify_by`) must be one the target registry has, and class ratios and
//! class frequencies should name classes that rows have. Problems of the registries themselves (misspelt headers, an
//! empty target file) are reported here too, as `suiji registry check` reports them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::facts::{Classes, Estimate, Facts};
use crate::calendar::Calendar;
use crate::diag::{Diagnostic, did_you_mean};
use crate::jobs::issue::Frozen;
use crate::registry::Registry;
use crate::registry::column::{field_of_header, has_column, usable_names};
use crate::rules::Loaded;
use crate::rules::model::Matter;

/// The registries' problems, then each matter's against the target registry, from `facts`
/// (the registries as read once).
pub(super) fn check(loaded: &Loaded, cal: &Calendar, facts: &Facts) -> Vec<Diagnostic> {
    let cfg = &loaded.model.config;
    let (registries, warnings) = match facts.read(loaded) {
        Ok(r) => r,
        Err(diags) => return diags.clone(),
    };
    let frozen = &registries.frozen;
    let registry = &frozen.registry;
    let mut out = warnings.clone();
    if frozen.info.targets_rows == 0 {
        let first = cfg.registries.targets.first().map(|p| p.as_path());
        out.push(crate::registry::no_targets(first, &cfg.root));
        return out;
    }
    out.extend(fit(loaded, registry, facts));
    if !out.iter().any(Diagnostic::is_error) {
        out.extend(empty_scopes(loaded, cal, frozen, facts));
    }
    out
}

/// Each matter against the target registry (`registry`: its header's columns): the columns it
/// names, the classes it rates (each column's classes read once and kept in `facts`).
pub(super) fn fit(loaded: &Loaded, registry: &Registry, facts: &Facts) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for m in loaded.model.matters() {
        out.extend(matter_columns(m, registry));
        let classes = |named: &str| facts.classes(loaded, named);
        out.extend(class_values(m, registry, classes));
        out.extend(class_frequency_values(m, registry, classes));
    }
    out
}

/// The columns whose classes [`fit`] reads for `loaded`'s matters on a registry of these
/// columns: read with the registries, in the same pass as their categories.
pub(super) fn asked(loaded: &Loaded, registry: &Registry) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in loaded.model.matters() {
        let rated = !m.class_ratios.is_empty() || !m.class_frequency.is_empty();
        let named = m.class_field.as_deref().unwrap_or("class");
        if rated
            && m.class_hook.is_none()
            && has_column(&registry.target_columns, named)
            && !out.iter().any(|n| n == named)
        {
            out.push(named.to_string());
        }
    }
    out
}

/// Matters with targets in their categories of which none is eligible in the first regular
/// draw of any year the calendar has a notice for (each matter dry-run until a year has some).
/// The estimates are kept in `facts` by what they read of each matter.
fn empty_scopes(
    loaded: &Loaded,
    cal: &Calendar,
    frozen: &Frozen,
    facts: &Facts,
) -> Vec<Diagnostic> {
    let years: Vec<i32> = cal
        .years()
        .into_iter()
        .filter(|y| cal.is_official(*y))
        .collect();
    let mut empty: Option<Vec<String>> = None;
    for &year in &years {
        let (schedule, _) = crate::schedule::year_schedule(&loaded.model, cal, year);
        let schedule: Vec<_> = schedule
            .into_iter()
            .filter(|s| empty.as_ref().is_none_or(|e| e.contains(&s.matter)))
            .collect();
        // In matter id order, as the plan's estimates are.
        let mut estimates: BTreeMap<String, Estimate> = BTreeMap::new();
        for m in loaded.model.matters() {
            if let Some(first) = crate::jobs::plan::first_regular(&schedule, m) {
                estimates.insert(m.id.clone(), facts.estimate(loaded, frozen, m, first));
            }
        }
        let now: Vec<String> = estimates
            .iter()
            .filter(|(_, e)| e.is_some_and(|(in_scope, eligible)| in_scope > 0 && eligible == 0))
            .map(|(id, _)| id.clone())
            .collect();
        if now.is_empty() {
            return Vec::new();
        }
        empty = Some(now);
    }
    let (Some(first), Some(last)) = (years.first(), years.last()) else {
        return Vec::new();
    };
    empty
        .unwrap_or_default()
        .into_iter()
        .filter_map(|id| {
            let m = loaded.model.matter(&id)?;
            Some(
                Diagnostic::warning(format!(
                    "`{id}` has targets in its categories, but none is eligible in the first draw of any year {first}–{last}: its draws would draw nobody"
                ))
                .at(m.places.file, m.places.id.clone())
                .label("scope without eligible targets")
                .help("check its eligible hook, cooldown and yearly cap against the registry (`suiji draw --dry-run` lists who is excluded and why)"),
            )
        })
        .collect()
}

/// The classification columns of a registry's header (风险等级, 信用等级, …).
fn class_columns(columns: &[String]) -> Vec<&str> {
    let class = field_of_header("class");
    columns
        .iter()
        .filter(|c| field_of_header(c) == class)
        .map(String::as_str)
        .collect()
}

/// `class_field` and `stratify_by` must name a column of the target registry.
fn matter_columns(m: &Matter, reg: &Registry) -> Vec<Diagnostic> {
    let p = &m.places;
    let mut out = Vec::new();
    let names = usable_names(&reg.target_columns);
    let named = [
        ("class_field", m.class_field.as_deref(), &p.class_field),
        ("stratify_by", m.stratify_by.as_deref(), &p.stratify_by),
    ];
    for (key, name, at) in named {
        let (Some(name), Some(at)) = (name, at) else {
            continue;
        };
        if has_column(&reg.target_columns, name) {
            continue;
        }
        let mut d = Diagnostic::error(format!(
            "`{key}` of `{}` names `{name}`, which is not a column of the target registry",
            m.id
        ))
        .at(p.file, at.clone())
        .label("no such column");
        if let Some(s) = did_you_mean(name, names.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `{s}`?"));
        }
        out.push(d.help(format!(
            "the target registry's columns: {} (or their field names, see docs/registries.md)",
            reg.target_columns.join(", ")
        )));
    }
    if m.class_hook.is_some() {
        return out; // the classes come from the matter's `class` hook, not a column
    }
    let classes = class_columns(&reg.target_columns);
    let at = p
        .class_ratios
        .first()
        .map_or(p.id.clone(), |(_, r)| r.clone());
    if !m.class_ratios.is_empty() && m.class_field.is_none() && classes.is_empty() {
        out.push(
            Diagnostic::error(format!(
                "`{}` has class ratios, but the target registry has no classification column",
                m.id
            ))
            .at(p.file, at.clone())
            .label("no column holds these classes")
            .help("add a column headed 风险等级 or 信用等级 to the target registry, or name the column that holds the classes with class_field = \"…\""),
        );
    }
    if !m.class_ratios.is_empty() && m.class_field.is_none() && classes.len() > 1 {
        out.push(
            Diagnostic::error(format!(
                "`{}` has class ratios, but the target registry has {} classification columns: {}",
                m.id,
                classes.len(),
                classes.join(", ")
            ))
            .at(p.file, at)
            .label("which column's classes?")
            .help(format!(
                "name the column this matter uses, e.g. class_field = \"{}\"",
                classes[0]
            )),
        );
    }
    out
}

/// Class ratios naming classes no target in the matter's scope has: a warning naming them and
/// the classes targets do have. `classes` gives a column's values by category.
fn class_values(
    m: &Matter,
    reg: &Registry,
    classes: impl FnOnce(&str) -> Arc<Classes>,
) -> Vec<Diagnostic> {
    let named = m.class_field.as_deref().unwrap_or("class");
    if m.class_ratios.is_empty()
        || m.class_hook.is_some()
        || !has_column(&reg.target_columns, named)
    {
        return Vec::new();
    }
    let have = classes_in_scope(m, reg, classes);
    let missing: Vec<&str> = m
        .class_ratios
        .keys()
        .filter(|k| !have.contains(*k))
        .map(String::as_str)
        .collect();
    let Some(first) = missing.first() else {
        return Vec::new();
    };
    let p = &m.places;
    let at = p
        .class_ratios
        .iter()
        .find(|(k, _)| k == first)
        .map_or(p.id.clone(), |(_, r)| r.clone());
    let unrated: Vec<&str> = have
        .iter()
        .filter(|v| !m.class_ratios.contains_key(*v))
        .map(String::as_str)
        .collect();
    let quoted = |v: &[&str]| {
        v.iter()
            .map(|x| format!("`{x}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut d = Diagnostic::warning(format!(
        "class ratios of `{}` name {} that no target in its scope has in column `{}`",
        m.id,
        quoted(&missing),
        named
    ))
    .at(p.file, at)
    .label("no target has this class");
    d = if have.is_empty() {
        d.help("no target in scope has a value in this column: every target is drawn at the base ratio")
    } else {
        d.help(format!(
            "targets in scope have: {}",
            quoted(&have.iter().map(String::as_str).collect::<Vec<_>>())
        ))
    };
    if !unrated.is_empty() {
        d = d.help(format!(
            "{} have no class ratio and are drawn at the base ratio {}",
            quoted(&unrated),
            m.ratio
        ));
    }
    vec![d]
}

/// The classes of the matter's class column that targets in its scope have (none without the
/// column); `classes` gives a column's values by category.
fn classes_in_scope(
    m: &Matter,
    reg: &Registry,
    classes: impl FnOnce(&str) -> Arc<Classes>,
) -> BTreeSet<String> {
    let named = m.class_field.as_deref().unwrap_or("class");
    if !has_column(&reg.target_columns, named) {
        return BTreeSet::new();
    }
    let by_category = classes(named);
    m.categories
        .iter()
        .filter_map(|c| by_category.get(c))
        .flatten()
        .cloned()
        .collect()
}

/// `class_frequency` naming a class that neither `class_ratios` nor any target in the matter's
/// scope has (a misspelt class, one the registry does not use): a warning at each such class,
/// since its frequency would never apply. Classes from a `class` hook are known only when it
/// runs, so a matter with one is not checked here.
fn class_frequency_values(
    m: &Matter,
    reg: &Registry,
    classes: impl FnOnce(&str) -> Arc<Classes>,
) -> Vec<Diagnostic> {
    if m.class_frequency.is_empty() || m.class_hook.is_some() {
        return Vec::new();
    }
    let have = classes_in_scope(m, reg, classes);
    let quoted = |v: &mut dyn Iterator<Item = &String>| {
        v.map(|x| format!("`{x}`")).collect::<Vec<_>>().join(", ")
    };
    let p = &m.places;
    p.class_frequency
        .iter()
        .filter(|(class, _)| !m.class_ratios.contains_key(class) && !have.contains(class))
        .map(|(class, at)| {
            let d = Diagnostic::warning(format!(
                "class frequency of `{}` names `{class}`, a class that no target in its scope has and its class ratios do not name",
                m.id
            ))
            .at(p.file, at.clone())
            .label("no target has this class");
            let d = if have.is_empty() {
                d.help("no target in scope has a value in this column")
            } else {
                d.help(format!(
                    "targets in scope have: {}",
                    quoted(&mut have.iter())
                ))
            };
            d.help("correct the class as the registry writes it, or remove it from class_frequency: its frequency never applies")
        })
        .collect()
}
