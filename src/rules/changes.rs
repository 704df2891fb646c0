//! What a change to a rule file changes, key by key: the form-level summary an approver reads
//! beside the file-level diff (`matter hotel · ratio: "5%" → "10%"`).

use std::collections::BTreeMap;

/// One key whose value differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// Where: `department`, `matter hotel`, `matter hotel · checklist 2`, … (ids as written).
    pub place: String,
    /// The key (`ratio`, `holiday.ratio`, …).
    pub key: String,
    /// The old value as TOML (`None`: added).
    pub old: Option<String>,
    /// The new value as TOML (`None`: removed).
    pub new: Option<String>,
}

/// The keys whose values differ between two texts of a TOML file; `None` when either text is
/// not TOML (the file-level diff and the check say why). Arrays of tables are matched by
/// their `id` when they have one (matters), else by position.
pub fn changed_keys(old: &str, new: &str) -> Option<Vec<KeyChange>> {
    let old: toml::Table = old.parse().ok()?;
    let new: toml::Table = new.parse().ok()?;
    let mut out = Vec::new();
    tables("", "", &old, &new, &mut out);
    Some(out)
}

fn show(v: &toml::Value) -> String {
    v.to_string()
}

fn tables(
    place: &str,
    prefix: &str,
    old: &toml::Table,
    new: &toml::Table,
    out: &mut Vec<KeyChange>,
) {
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    // Keys in the order of the new table (by name), then the removed ones.
    let mut ordered: Vec<&String> = new.keys().collect();
    ordered.extend(keys.into_iter().filter(|k| !new.contains_key(*k)));
    for key in ordered {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (old.get(key), new.get(key)) {
            (Some(toml::Value::Table(a)), Some(toml::Value::Table(b))) => {
                let here = if place.is_empty() && prefix.is_empty() {
                    key.clone()
                } else {
                    place.to_string()
                };
                let sub = if place.is_empty() && prefix.is_empty() {
                    String::new()
                } else {
                    path
                };
                tables(&here, &sub, a, b, out);
            }
            (Some(toml::Value::Array(a)), Some(toml::Value::Array(b)))
                if is_tables(a) && is_tables(b) =>
            {
                arrays(place, &path, a, b, out);
            }
            (a, b) if a != b => out.push(KeyChange {
                place: if place.is_empty() {
                    "—".into()
                } else {
                    place.to_string()
                },
                key: path,
                old: a.map(show),
                new: b.map(show),
            }),
            _ => {}
        }
    }
}

fn is_tables(a: &[toml::Value]) -> bool {
    !a.is_empty() && a.iter().all(toml::Value::is_table)
}

fn id_of(t: &toml::Table) -> Option<&str> {
    t.get("id").and_then(toml::Value::as_str)
}

fn arrays(
    place: &str,
    path: &str,
    old: &[toml::Value],
    new: &[toml::Value],
    out: &mut Vec<KeyChange>,
) {
    let name = path.rsplit('.').next().unwrap_or(path);
    let label = |i: usize, t: &toml::Table| {
        let what = match id_of(t) {
            Some(id) => format!("{name} {id}"),
            None => format!("{name} {}", i + 1),
        };
        if place.is_empty() {
            what
        } else {
            format!("{place} · {what}")
        }
    };
    let by_id = old
        .iter()
        .chain(new)
        .filter_map(toml::Value::as_table)
        .all(|t| id_of(t).is_some());
    let index = |list: &[toml::Value]| -> BTreeMap<String, (usize, toml::Table)> {
        list.iter()
            .filter_map(toml::Value::as_table)
            .enumerate()
            .map(|(i, t)| {
                let k = if by_id {
                    id_of(t).unwrap_or_default().to_string()
                } else {
                    format!("{i:06}")
                };
                (k, (i, t.clone()))
            })
            .collect()
    };
    let (a, b) = (index(old), index(new));
    let mut keys: Vec<&String> = b.keys().collect();
    keys.sort_by_key(|k| b[*k].0);
    keys.extend(a.keys().filter(|k| !b.contains_key(*k)));
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some((_, x)), Some((i, y))) => tables(&label(*i, y), "", x, y, out),
            (None, Some((i, y))) => out.push(whole(label(*i, y), None, Some(y))),
            (Some((i, x)), None) => out.push(whole(label(*i, x), Some(x), None)),
            (None, None) => {}
        }
    }
}

/// The key of a change of a whole item (a matter or checklist item added or removed).
pub const WHOLE: &str = "（整项）";

/// Matter id → its name, from the new text of a rule file (else the old one).
pub fn matter_names(old: &str, new: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for text in [old, new] {
        let Ok(table) = text.parse::<toml::Table>() else {
            continue;
        };
        let matters = table.get("matter").and_then(toml::Value::as_array);
        for m in matters
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_table)
        {
            let get = |k: &str| m.get(k).and_then(toml::Value::as_str);
            if let (Some(id), Some(name)) = (get("id"), get("name")) {
                out.insert(id.to_string(), name.to_string());
            }
        }
    }
    out
}

fn whole(place: String, old: Option<&toml::Table>, new: Option<&toml::Table>) -> KeyChange {
    KeyChange {
        place,
        key: WHOLE.into(),
        old: old.map(|t| {
            if t.is_empty() {
                String::new()
            } else {
                "…".into()
            }
        }),
        new: new.map(|t| {
            if t.is_empty() {
                String::new()
            } else {
                "…".into()
            }
        }),
    }
}

/// Where the value of a key not written comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The department's `[defaults]`.
    Department,
    /// The engine's default (the rule schema's).
    Engine,
}

/// The value that applies to `key` at `place` (as [`changed_keys`] names them) when it is not
/// written there, in the rule file `text`: a matter's key from the department's `[defaults]`,
/// else the engine's default; `None` when neither gives one (the key is optional).
pub fn inherited(text: &str, place: &str, key: &str) -> Option<(String, Source)> {
    use crate::rules::schema::{self, Section};
    if key == WHOLE || place.contains(" · ") {
        return None;
    }
    let matter = place.starts_with("matter ");
    if matter && key != "retired" {
        let table: toml::Table = text.parse().ok()?;
        let mut at = table.get("defaults");
        for part in key.split('.') {
            at = at.and_then(|v| v.get(part));
        }
        if let Some(v) = at {
            return Some((show(v), Source::Department));
        }
    }
    let section = match key.split_once('.') {
        Some(("holiday", _)) => Section::Holiday,
        Some(("publication", _)) => Section::Publication,
        Some(("hooks", _)) => Section::Hooks,
        Some(_) => return None,
        None if place == "department" => Section::Department,
        None if matter || place == "defaults" => Section::Matter,
        None => return None,
    };
    let name = key.rsplit('.').next().unwrap_or(key);
    schema::get(section, name)
        .filter(|k| !k.default.is_empty())
        .map(|k| (k.default.to_string(), Source::Engine))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_change_is_named_by_its_matter() {
        let old = "[department]\nid = \"zhian\"\n\n[[matter]]\nid = \"hotel\"\nratio = \"5%\"\n\n[[matter]]\nid = \"fire\"\nratio = \"1%\"\n";
        let new = "[department]\nid = \"zhian\"\n\n[[matter]]\nid = \"hotel\"\nratio = \"10%\" # 新\n\n[[matter]]\nid = \"fire\"\nratio = \"1%\"\n[[matter]]\nid = \"new\"\n";
        let changes = changed_keys(old, new).expect("toml");
        assert_eq!(
            changes,
            [
                KeyChange {
                    place: "matter hotel".into(),
                    key: "ratio".into(),
                    old: Some("\"5%\"".into()),
                    new: Some("\"10%\"".into()),
                },
                KeyChange {
                    place: "matter new".into(),
                    key: WHOLE.into(),
                    old: None,
                    new: Some("…".into()),
                },
            ]
        );
        assert_eq!(changed_keys("a = 1", "a = [").map(|c| c.len()), None);
    }

    #[test]
    fn a_key_not_written_names_the_value_that_applies_and_where_it_comes_from() {
        let text = "[department]\nid = \"d\"\n[defaults]\nratio = \"5%\"\nholiday = { ratio = \"20%\" }\n[[matter]]\nid = \"m\"\n";
        assert_eq!(
            inherited(text, "matter m", "ratio"),
            Some(("\"5%\"".into(), Source::Department))
        );
        assert_eq!(
            inherited(text, "matter m", "holiday.ratio"),
            Some(("\"20%\"".into(), Source::Department))
        );
        assert_eq!(
            inherited(text, "matter m", "team_size"),
            Some(("2".into(), Source::Engine))
        );
        assert_eq!(
            inherited(text, "matter m", "holiday.days_before"),
            Some(("7".into(), Source::Engine))
        );
        assert_eq!(
            inherited(text, "department", "order"),
            Some(("100".into(), Source::Engine))
        );
        assert_eq!(inherited(text, "matter m", "cooldown_months"), None);
        assert_eq!(inherited(text, "matter m", WHOLE), None);
        assert_eq!(inherited(text, "matter m · checklist 1", "group"), None);
    }

    #[test]
    fn nested_tables_and_checklists_are_named() {
        let old = "[[matter]]\nid = \"hotel\"\n[matter.holiday]\nratio = \"5%\"\n[[matter.checklist]]\nitem = \"a\"\n";
        let new = "[[matter]]\nid = \"hotel\"\n[matter.holiday]\nratio = \"8%\"\n[[matter.checklist]]\nitem = \"b\"\n";
        let changes = changed_keys(old, new).expect("toml");
        let shown: Vec<String> = changes
            .iter()
            .map(|c| format!("{} / {}", c.place, c.key))
            .collect();
        assert_eq!(
            shown,
            // By key name within a matter (`checklist` before `holiday`).
            [
                "matter hotel · checklist 1 / item",
                "matter hotel / holiday.ratio"
            ]
        );
    }
}
