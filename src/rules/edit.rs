//! Editing a department file in place (the console's matter form): the values a matter has
//! written, and the file with some of them changed. Everything the edit does not change keeps
//! its bytes: comments, key order, spacing, the other matters (toml_edit). What the new values
//! mean is not judged here: the edited file goes through the reader like any other
//! (`rules::load_draft`), so a form and a text editor get the same messages.

use std::collections::BTreeMap;

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use crate::rules::model::ClassFrequency;
use crate::rules::schema::{self, Kind, Section};

/// One checklist item as the form shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChecklistRow {
    pub id: String,
    pub group: String,
    pub text: String,
}

/// What the form shows of a matter: each schema key's value as text, by form name (`ratio`,
/// `holiday.ratio`, `publication.channel`, `hooks.script`), and the checklist. A key not written
/// in the matter is absent (the form shows the department default beside it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MatterValues {
    pub values: BTreeMap<String, String>,
    pub checklist: Vec<ChecklistRow>,
}

/// The file could not be edited as asked (Chinese, for the form).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("规则文件不是有效的 TOML，请在“高级”页按提示修改：{0}")]
    Syntax(String),
    #[error("规则文件中没有编号为 {0} 的事项")]
    NoMatter(String),
    #[error(
        "“{label}”第 {line} 行“{text}”应写成“等级 = 值”，如 A = 3%（分类比例）或 A = yearly（分类频次）"
    )]
    ClassLine {
        label: &'static str,
        line: usize,
        text: String,
    },
    #[error("事项编号 {0} 已存在")]
    Duplicate(String),
    #[error("规则文件中没有 [department] 表，请在“高级”页补上")]
    NoDepartment,
    #[error("“{0}”是页面地址保留的名称，请换一个事项编号")]
    Reserved(String),
}

/// The form names of the keys of a matter, in schema order: `key`, or `table.key` for the keys
/// of the holiday, publication and hooks tables. The checklist has its own rows.
pub fn form_keys() -> Vec<(String, &'static schema::Key)> {
    let mut out = Vec::new();
    for k in schema::keys(Section::Matter) {
        match k.kind {
            Kind::Table(sub) => {
                for s in schema::keys(sub) {
                    out.push((format!("{}.{}", k.key, s.key), s));
                }
            }
            Kind::Items => {}
            _ => out.push((k.key.to_string(), k)),
        }
    }
    out
}

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| EditError::Syntax(e.message().to_string()))
}

/// The matter tables of a document.
fn matter_mut<'d>(doc: &'d mut DocumentMut, id: &str) -> Result<&'d mut Table, EditError> {
    doc.get_mut("matter")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|a| {
            a.iter_mut()
                .find(|t| t.get("id").and_then(Item::as_str) == Some(id))
        })
        .ok_or_else(|| EditError::NoMatter(id.to_string()))
}

/// A value as the form shows it.
fn shown(item: &Item, kind: Kind) -> String {
    match (kind, item) {
        (Kind::Texts, Item::Value(Value::Array(a))) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join("\n"),
        (Kind::ClassMap | Kind::FrequencyMap, _) => item
            .as_table_like()
            .map(|t| {
                t.iter()
                    .map(|(k, v)| {
                        let v = shown(v, Kind::Text);
                        let v = match ClassFrequency::parse(&v) {
                            Some(f) if kind == Kind::FrequencyMap => f.words_zh().to_string(),
                            _ => v,
                        };
                        format!("{k} = {v}")
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default(),
        (_, Item::Value(Value::String(s))) => s.value().clone(),
        (_, Item::Value(v)) => v.to_string().trim().to_string(),
        _ => item.to_string().trim().to_string(),
    }
}

/// The values the matter `id` of `text` has written, as the form shows them.
pub fn matter_values(text: &str, id: &str) -> Result<MatterValues, EditError> {
    let mut doc = parse(text)?;
    let t = matter_mut(&mut doc, id)?;
    let mut values = BTreeMap::new();
    for (name, key) in form_keys() {
        let item = match name.split_once('.') {
            Some((table, sub)) => t
                .get(table)
                .and_then(Item::as_table_like)
                .and_then(|tt| tt.get(sub)),
            None => t.get(&name),
        };
        if let Some(item) = item {
            values.insert(name, shown(item, key.kind));
        }
    }
    let checklist = t
        .get("checklist")
        .and_then(Item::as_array_of_tables)
        .map(|a| {
            a.iter()
                .map(|i| ChecklistRow {
                    id: i
                        .get("id")
                        .map(|v| shown(v, Kind::Text))
                        .unwrap_or_default(),
                    group: i
                        .get("group")
                        .map(|v| shown(v, Kind::Text))
                        .unwrap_or_default(),
                    text: i
                        .get("text")
                        .map(|v| shown(v, Kind::Text))
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(MatterValues { values, checklist })
}

/// The values the department's `[defaults]` of `text` gives every matter, by form name.
pub fn defaults_values(text: &str) -> Result<MatterValues, EditError> {
    let doc = parse(text)?;
    let Some(t) = doc.get("defaults").and_then(Item::as_table_like) else {
        return Ok(MatterValues::default());
    };
    let mut values = BTreeMap::new();
    for (name, key) in form_keys() {
        let item = match name.split_once('.') {
            Some((table, sub)) => t
                .get(table)
                .and_then(Item::as_table_like)
                .and_then(|tt| tt.get(sub)),
            None => t.get(&name),
        };
        if let Some(item) = item {
            values.insert(name, shown(item, key.kind));
        }
    }
    Ok(MatterValues {
        values,
        checklist: Vec::new(),
    })
}

/// The TOML value for a form text of `kind`. A whole number or a truth value that does not
/// read as one is written as text, so that the reader reports it at its place.
fn value_of(kind: Kind, label: &'static str, text: &str) -> Result<Value, EditError> {
    let text = text.trim();
    Ok(match kind {
        Kind::Integer { .. } => text
            .parse::<i64>()
            .map_or_else(|_| Value::from(text), Value::from),
        Kind::Bool => match text {
            "true" | "是" | "on" => Value::from(true),
            "false" | "否" | "" => Value::from(false),
            other => Value::from(other),
        },
        Kind::Texts => {
            let mut a = Array::new();
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                a.push(line);
            }
            Value::Array(a)
        }
        Kind::ClassMap | Kind::FrequencyMap => {
            let mut t = InlineTable::new();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let Some((class, ratio)) = line.split_once(['=', '＝']) else {
                    return Err(EditError::ClassLine {
                        label,
                        line: n + 1,
                        text: line.to_string(),
                    });
                };
                // A frequency typed in Chinese is written as the rule file's word.
                let value = match ClassFrequency::from_zh(ratio) {
                    Some(f) if kind == Kind::FrequencyMap => f.id(),
                    _ => ratio.trim(),
                };
                t.insert(class.trim().trim_matches('"'), Value::from(value));
            }
            Value::InlineTable(t)
        }
        _ => Value::from(text),
    })
}

/// Sets (or, for an empty text, removes) `key` of `table`, keeping the comment and spacing
/// around the old value and the comment lines above its key (the value replaced in place, the
/// key left as it is written).
fn set(table: &mut dyn toml_edit::TableLike, key: &str, value: Option<Value>) {
    let Some(mut v) = value else {
        table.remove(key);
        return;
    };
    match table.get_mut(key) {
        Some(Item::Value(old)) => {
            *v.decor_mut() = old.decor().clone();
            *old = v;
        }
        Some(old) => *old = Item::Value(v),
        None => {
            v.decor_mut().set_prefix(" ");
            table.insert(key, Item::Value(v));
        }
    }
}

/// `text` with the matter `id`'s values changed to `new` (only the values that differ from
/// what is written are touched) and its checklist replaced by `new.checklist` when it differs.
pub fn apply(text: &str, id: &str, new: &MatterValues) -> Result<String, EditError> {
    let old = matter_values(text, id)?;
    let mut doc = parse(text)?;
    let t = matter_mut(&mut doc, id)?;
    set_values(t, &form_keys(), &old.values, &new.values)?;
    if old.checklist != new.checklist {
        set_checklist(t, &new.checklist);
    }
    Ok(doc.to_string())
}

/// Sets in `t` each of `keys` whose value differs between `old` and `new` (by form name).
fn set_values(
    t: &mut Table,
    keys: &[(String, &'static schema::Key)],
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), EditError> {
    for (name, key) in keys {
        let before = old.get(name).map_or("", String::as_str);
        let after = new.get(name).map_or("", String::as_str);
        if before.trim() == after.trim() {
            continue;
        }
        let value = if after.trim().is_empty() && key.kind != Kind::Bool {
            None
        } else {
            Some(value_of(key.kind, key.label, after)?)
        };
        match name.split_once('.') {
            None => set(t, name, value),
            Some((table, sub)) => set_in(t, table, sub, value),
        }
    }
    Ok(())
}

/// The department-level keys the department form shows (its id is not changed by a form:
/// records and matter ids refer to it).
pub fn header_keys() -> Vec<(String, &'static schema::Key)> {
    schema::keys(Section::Department)
        .filter(|k| k.key != "id")
        .map(|k| (k.key.to_string(), k))
        .collect()
}

/// The keys `[defaults]` takes, by form name: a matter's, but `id`, `name` and `retired`
/// (and the checklist).
pub fn defaults_keys() -> Vec<(String, &'static schema::Key)> {
    form_keys()
        .into_iter()
        .filter(|(n, _)| !matches!(n.as_str(), "id" | "name" | "retired"))
        .collect()
}

/// What the department form shows: the `[department]` values and the `[defaults]` values, as
/// text by form name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderValues {
    pub department: BTreeMap<String, String>,
    pub defaults: BTreeMap<String, String>,
}

/// The `[department]` and `[defaults]` values of `text`, as the department form shows them.
pub fn header_values(text: &str) -> Result<HeaderValues, EditError> {
    let doc = parse(text)?;
    let mut department = BTreeMap::new();
    if let Some(t) = doc.get("department").and_then(Item::as_table_like) {
        for (name, key) in header_keys() {
            if let Some(item) = t.get(&name) {
                department.insert(name, shown(item, key.kind));
            }
        }
    }
    Ok(HeaderValues {
        department,
        defaults: defaults_values(text)?.values,
    })
}

/// `text` with the `[department]` and `[defaults]` values changed to `new` (only those that
/// differ are touched; a `[defaults]` table is added after `[department]` when needed and
/// removed when left empty).
pub fn apply_header(text: &str, new: &HeaderValues) -> Result<String, EditError> {
    let old = header_values(text)?;
    let mut doc = parse(text)?;
    let Some(dept) = doc.get_mut("department").and_then(Item::as_table_mut) else {
        return Err(EditError::NoDepartment);
    };
    set_values(dept, &header_keys(), &old.department, &new.department)?;
    let place = dept.position();
    if old.defaults != new.defaults {
        if doc.get("defaults").and_then(Item::as_table).is_none() {
            let mut t = Table::new();
            t.set_position(place.unwrap_or(0));
            doc.insert("defaults", Item::Table(t));
        }
        let Some(defaults) = doc.get_mut("defaults").and_then(Item::as_table_mut) else {
            return Err(EditError::Syntax("[defaults] 不是表".into()));
        };
        set_values(defaults, &defaults_keys(), &old.defaults, &new.defaults)?;
        if defaults.is_empty() {
            doc.remove("defaults");
        }
    }
    Ok(doc.to_string())
}

/// Sets `table.sub` of the matter: the holiday table is a `[matter.holiday]` table, the others
/// are written inline (`publication = { … }`) when new. A table left empty is removed.
fn set_in(t: &mut Table, table: &str, sub: &str, value: Option<Value>) {
    if t.get(table).and_then(Item::as_table_like).is_none() {
        if value.is_none() {
            return;
        }
        let item = if table == "holiday" {
            Item::Table(Table::new())
        } else {
            Item::Value(Value::InlineTable(InlineTable::new()))
        };
        t.insert(table, item);
    }
    let Some(tt) = t.get_mut(table).and_then(Item::as_table_like_mut) else {
        return;
    };
    set(tt, sub, value);
    if tt.is_empty() {
        t.remove(table);
    }
}

/// Replaces the matter's checklist: items whose id was there keep their table (and its
/// comments), with the text and group set; new items are added; the order is the form's.
fn set_checklist(t: &mut Table, items: &[ChecklistRow]) {
    let old: Vec<Table> = t
        .get("checklist")
        .and_then(Item::as_array_of_tables)
        .map(|a| a.iter().cloned().collect())
        .unwrap_or_default();
    let same_order = old.len() == items.len()
        && old
            .iter()
            .zip(items)
            .all(|(o, n)| o.get("id").and_then(Item::as_str) == Some(n.id.as_str()));
    // Positions order the tables when the file is written: the form's order takes the old
    // items' places, and items beyond them share the last place (ties keep the list's order).
    let mut places: Vec<isize> = old.iter().filter_map(Table::position).collect();
    places.sort_unstable();
    let fallback = places.last().copied().or(t.position()).unwrap_or(0);
    let mut out = toml_edit::ArrayOfTables::new();
    let kept = items
        .iter()
        .filter(|i| !(i.id.trim().is_empty() && i.text.trim().is_empty()));
    for (n, item) in kept.enumerate() {
        let mut table = old
            .iter()
            .find(|o| o.get("id").and_then(Item::as_str) == Some(item.id.trim()))
            .cloned()
            .unwrap_or_default();
        if !same_order {
            table.set_position(places.get(n).copied().unwrap_or(fallback));
        }
        for (key, text) in [
            ("id", &item.id),
            ("group", &item.group),
            ("text", &item.text),
        ] {
            let now = table
                .get(key)
                .map(|v| shown(v, Kind::Text))
                .unwrap_or_default();
            if now.trim() != text.trim() {
                let v = (!text.trim().is_empty()).then(|| Value::from(text.trim()));
                set(&mut table, key, v);
            }
        }
        out.push(table);
    }
    t.insert("checklist", Item::ArrayOfTables(out));
}

/// The text of a new department's rule file: its `[department]` table alone (its matters are
/// added next; until then the check says it has none).
pub fn new_department(id: &str, name: &str) -> String {
    let mut doc = DocumentMut::new();
    let mut t = Table::new();
    t.insert("id", toml_edit::value(id));
    t.insert("name", toml_edit::value(name));
    doc.insert("department", Item::Table(t));
    doc.to_string()
}

/// The matters of `text` as written: id, name (empty when none is written) and whether it is
/// retired; nothing when the text is not TOML.
pub fn matter_list(text: &str) -> Vec<(String, String, bool)> {
    let Ok(doc) = parse(text) else {
        return Vec::new();
    };
    let Some(matters) = doc.get("matter").and_then(Item::as_array_of_tables) else {
        return Vec::new();
    };
    matters
        .iter()
        .filter_map(|t| {
            let id = t.get("id").and_then(Item::as_str)?.to_string();
            let name = t.get("name").and_then(Item::as_str).unwrap_or_default();
            let retired = t.get("retired").and_then(Item::as_bool) == Some(true);
            Some((id, name.to_string(), retired))
        })
        .collect()
}

/// The address of a department's form (`/rules/<department>/department`): no matter added in
/// the console takes this id.
pub const RESERVED: &str = "department";

/// `text` with a new matter `id` named `name` at the end, with one checklist item to fill in.
pub fn add_matter(text: &str, id: &str, name: &str) -> Result<String, EditError> {
    if id == RESERVED {
        return Err(EditError::Reserved(id.to_string()));
    }
    let mut doc = parse(text)?;
    if matter_mut(&mut doc, id).is_ok() {
        return Err(EditError::Duplicate(id.to_string()));
    }
    let mut t = Table::new();
    t.insert("id", toml_edit::value(id));
    t.insert("name", toml_edit::value(name));
    let mut item = Table::new();
    item.insert("id", toml_edit::value(format!("{id}-01")));
    item.insert("text", toml_edit::value("法律法规规定的其他事项"));
    let mut list = toml_edit::ArrayOfTables::new();
    list.push(item);
    t.insert("checklist", Item::ArrayOfTables(list));
    match doc.get_mut("matter").and_then(Item::as_array_of_tables_mut) {
        Some(a) => a.push(t),
        None => {
            let mut a = toml_edit::ArrayOfTables::new();
            a.push(t);
            doc.insert("matter", Item::ArrayOfTables(a));
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[department]\nid = \"d\" # 部门\n\n[[matter]]\nid = \"m\"\nname = \"事项\"   # 名称\nratio = \"5%\"        # 比例\n\n[[matter.checklist]]\nid = \"a\"\ntext = \"甲\"\n[[matter.checklist]]\nid = \"b\"\ntext = \"乙\"\n";

    #[test]
    fn a_changed_value_keeps_its_comment_and_nothing_else_moves() {
        let mut v = matter_values(TEXT, "m").expect("values");
        assert_eq!(v.values.get("ratio").map(String::as_str), Some("5%"));
        v.values.insert("ratio".into(), "10%".into());
        let out = apply(TEXT, "m", &v).expect("apply");
        assert_eq!(out, TEXT.replace("\"5%\"", "\"10%\""));
    }

    #[test]
    fn the_comment_lines_above_a_changed_key_stay() {
        let text = TEXT.replace(
            "ratio = \"5%\"",
            "# 按 2023 年计划：抽查比例 5%\n# （第二行说明）\nratio = \"5%\"",
        );
        let mut v = matter_values(&text, "m").expect("values");
        v.values.insert("ratio".into(), "10%".into());
        let out = apply(&text, "m", &v).expect("apply");
        assert_eq!(out, text.replace("\"5%\"", "\"10%\""));
    }

    #[test]
    fn checklist_items_are_reordered_edited_added_and_removed() {
        let mut v = matter_values(TEXT, "m").expect("values");
        v.checklist.swap(0, 1);
        v.checklist[0].text = "乙乙".into();
        v.checklist.push(ChecklistRow {
            id: "c".into(),
            group: String::new(),
            text: "丙".into(),
        });
        v.checklist.remove(1);
        let out = apply(TEXT, "m", &v).expect("apply");
        let back = matter_values(&out, "m").expect("again");
        let ids: Vec<_> = back.checklist.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(back.checklist[0].text, "乙乙");
        assert!(
            out.starts_with("[department]\nid = \"d\" # 部门\n"),
            "{out}"
        );
    }

    #[test]
    fn a_new_holiday_table_and_an_emptied_key() {
        let mut v = matter_values(TEXT, "m").expect("values");
        v.values.insert("holiday.ratio".into(), "20%".into());
        v.values
            .insert("holiday.holidays".into(), "chunjie\nguoqing".into());
        v.values.remove("ratio");
        let out = apply(TEXT, "m", &v).expect("apply");
        assert!(out.contains("[matter.holiday]"), "{out}");
        assert!(
            out.contains("holidays = [\"chunjie\", \"guoqing\"]"),
            "{out}"
        );
        assert!(!out.contains("5%"), "{out}");
        let back = matter_values(&out, "m").expect("again");
        assert_eq!(
            back.values.get("holiday.ratio").map(String::as_str),
            Some("20%")
        );
    }

    #[test]
    fn the_department_form_edits_the_header_and_the_defaults_in_place() {
        let mut v = header_values(TEXT).expect("values");
        assert!(v.defaults.is_empty());
        v.department.insert("name".into(), "治安大队".into());
        v.department.insert("retired".into(), "true".into());
        v.defaults.insert("ratio".into(), "5%".into());
        let out = apply_header(TEXT, &v).expect("apply");
        assert!(
            out.starts_with(
                "[department]\nid = \"d\" # 部门\nname = \"治安大队\"\nretired = true\n"
            ),
            "{out}"
        );
        let defaults = out.find("[defaults]").expect("defaults");
        assert!(defaults < out.find("[[matter]]").expect("matter"), "{out}");
        assert!(
            out.ends_with(&TEXT[TEXT.find("\n[[matter]]").unwrap_or(0)..]),
            "{out}"
        );
        let back = header_values(&out).expect("again");
        assert_eq!(back, v);
        v.defaults.clear();
        let out = apply_header(&out, &v).expect("apply");
        assert!(!out.contains("[defaults]"), "{out}");
        assert!(matches!(
            add_matter(TEXT, RESERVED, "x"),
            Err(EditError::Reserved(_))
        ));
    }

    #[test]
    fn a_new_department_has_its_header_and_takes_matters() {
        let text = new_department("xiaofang", "消防大队");
        assert_eq!(
            text,
            "[department]\nid = \"xiaofang\"\nname = \"消防大队\"\n"
        );
        let text = add_matter(&text, "jiancha", "消防检查").expect("add");
        assert_eq!(
            matter_list(&text),
            [("jiancha".to_string(), "消防检查".to_string(), false)]
        );
        assert_eq!(matter_list("not = [toml"), []);
    }

    /// 分类频次 reads in Chinese on the form, as the plan words it; saved unchanged it leaves
    /// the file as it was, and a frequency typed in Chinese is written as the file's word.
    #[test]
    fn class_frequencies_read_and_are_typed_in_chinese_and_written_as_words() {
        let text = TEXT.replace(
            "ratio = \"5%\"        # 比例\n",
            "ratio = \"5%\"        # 比例\nclass_frequency = { A = \"biennial\", B = \"yearly\", C = \"half-yearly\" }\n",
        );
        let mut v = matter_values(&text, "m").expect("values");
        assert_eq!(
            v.values.get("class_frequency").map(String::as_str),
            Some("A = 每两年 1 次\nB = 每年 1 次\nC = 每半年 1 次")
        );
        assert_eq!(apply(&text, "m", &v).expect("apply"), text);
        v.values.insert(
            "class_frequency".into(),
            "A = 每两年 1 次（奇数年）\nB = 每年\nC = 每季度 1 次\nD = monthly\nE = 每周".into(),
        );
        let out = apply(&text, "m", &v).expect("apply");
        assert!(
            out.contains(
                "class_frequency = { A = \"biennial\", B = \"yearly\", C = \"quarterly\", D = \"monthly\", E = \"每周\" }"
            ),
            "{out}"
        );
        // 分类比例 is not a frequency: its text is written as typed.
        v.values.insert("class_ratios".into(), "A = 每年".into());
        let out = apply(&text, "m", &v).expect("apply");
        assert!(out.contains("class_ratios = { A = \"每年\" }"), "{out}");
    }

    #[test]
    fn a_bad_class_line_is_refused_and_a_new_matter_is_added() {
        let mut v = matter_values(TEXT, "m").expect("values");
        v.values.insert("class_ratios".into(), "A 3%".into());
        assert!(matches!(
            apply(TEXT, "m", &v),
            Err(EditError::ClassLine { line: 1, .. })
        ));
        let out = add_matter(TEXT, "n", "新事项").expect("add");
        assert!(out.starts_with(TEXT), "{out}");
        assert!(matches!(
            add_matter(&out, "n", "x"),
            Err(EditError::Duplicate(_))
        ));
    }
}
