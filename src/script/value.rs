//! The read-only data a hook sees. Documented field by field in docs/rules.md.

use std::collections::BTreeMap;
use std::sync::Arc;

use rhai::{Dynamic, Engine, FLOAT, INT, ImmutableString, Map};

use crate::registry::types::{Inspector, Target, TargetStatus};

/// `target.extra`: the registry's other columns by header. Reading a column the row leaves
/// empty, or one the registry does not have, gives `()`; a plain decimal number is a number.
#[derive(Debug, Clone, Default)]
pub struct Extra(Arc<BTreeMap<String, Dynamic>>);

impl Extra {
    fn get(&mut self, name: &str) -> Dynamic {
        self.0.get(name).cloned().unwrap_or(Dynamic::UNIT)
    }
}

pub(super) fn register(engine: &mut Engine) {
    // Scripts get plain maps, strings and numbers, and `extra`, which reads like a map.
    engine
        .register_type_with_name::<Extra>("extra")
        .register_indexer_get(|e: &mut Extra, name: ImmutableString| e.get(&name))
        .register_fn("contains", |e: &mut Extra, name: ImmutableString| {
            e.0.contains_key(name.as_str())
        })
        .register_fn("keys", |e: &mut Extra| {
            e.0.keys()
                .map(|k| Dynamic::from(k.clone()))
                .collect::<rhai::Array>()
        })
        .register_fn("values", |e: &mut Extra| {
            e.0.values().cloned().collect::<rhai::Array>()
        })
        .register_fn("len", |e: &mut Extra| e.0.len() as INT)
        .register_fn("is_empty", |e: &mut Extra| e.0.is_empty())
        .register_fn("to_string", |e: &mut Extra| format!("{:?}", e.0))
        .register_fn("to_debug", |e: &mut Extra| format!("{:?}", e.0));
    register_mixed_comparisons(engine);
}

/// Comparing text with a number is an error where it is written, never a silent `false`
/// (Rhai's own answer for values of different types).
fn register_mixed_comparisons(engine: &mut Engine) {
    fn refuse(text: &str, number: &str) -> Result<bool, Box<rhai::EvalAltResult>> {
        Err(format!(
            "compares the text \"{text}\" with the number {number}; convert one side first \
             (parse_int(text), parse_float(text) or number.to_string())"
        )
        .into())
    }
    for op in ["==", "!=", "<", "<=", ">", ">="] {
        engine
            .register_fn(op, |a: ImmutableString, b: INT| refuse(&a, &b.to_string()))
            .register_fn(op, |a: INT, b: ImmutableString| refuse(&b, &a.to_string()))
            .register_fn(op, |a: ImmutableString, b: FLOAT| {
                refuse(&a, &b.to_string())
            })
            .register_fn(op, |a: FLOAT, b: ImmutableString| {
                refuse(&b, &a.to_string())
            });
    }
}

/// A registry cell as a hook sees it: empty is `()`; a plain decimal integer (an optional `-`,
/// no leading zero, at most 15 digits) is an integer; the same with a fraction (`12.5`, at most
/// 15 digits in all) is a decimal number; everything else (`007`, `1e3`, `1,000`, `+5`, dates,
/// codes) is text.
pub(crate) fn cell_value(cell: &str) -> Dynamic {
    if cell.is_empty() {
        return Dynamic::UNIT;
    }
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let count = whole.len() + fraction.map_or(0, str::len);
    let number = plain(whole)
        && (whole == "0" || !whole.starts_with('0'))
        && fraction.is_none_or(plain)
        && count <= 15;
    if !number {
        return Dynamic::from(cell.to_string());
    }
    match fraction {
        None => cell
            .parse::<INT>()
            .map_or_else(|_| Dynamic::from(cell.to_string()), Dynamic::from),
        Some(_) => cell
            .parse::<FLOAT>()
            .map_or_else(|_| Dynamic::from(cell.to_string()), Dynamic::from),
    }
}

fn opt(s: &Option<String>) -> Dynamic {
    s.as_ref()
        .map_or(Dynamic::UNIT, |s| Dynamic::from(s.clone()))
}

/// `target`: id, name, category, district, address, key_area, class, licence, status,
/// last_inspected ("YYYY-MM-DD" or ()), last_result, extra (the other columns: [`Extra`]).
pub fn target_map(t: &Target) -> Dynamic {
    let mut m = Map::new();
    m.insert("id".into(), t.id.clone().into());
    m.insert("name".into(), t.name.clone().into());
    m.insert("category".into(), t.category.clone().into());
    m.insert("district".into(), t.district.clone().into());
    m.insert("address".into(), t.address.clone().into());
    m.insert("key_area".into(), t.key_area.into());
    m.insert("class".into(), opt(&t.class));
    m.insert("licence".into(), opt(&t.licence));
    let status = match t.status {
        TargetStatus::Active => "active",
        TargetStatus::Deregistered => "deregistered",
    };
    m.insert("status".into(), status.into());
    m.insert(
        "last_inspected".into(),
        t.last_inspected
            .map_or(Dynamic::UNIT, |d| d.to_string().into()),
    );
    m.insert("last_result".into(), opt(&t.last_result));
    let extra: BTreeMap<String, Dynamic> = t
        .extra
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), cell_value(v)))
        .collect();
    m.insert("extra".into(), Dynamic::from(Extra(Arc::new(extra))));
    m.into()
}

/// `inspector`: id, name, department, certificate, qualifications (array), area, conflicts
/// (array), `extra` (the registry's other columns, as `target.extra`), and each of those other
/// columns as a field of its own (`inspector.former_employer`, `inspector["原工作单位"]`): a
/// number where the cell is a plain decimal number, `()` where it is empty. A column named
/// like one of the fields above is read through `extra` only.
pub fn inspector_map(i: &Inspector) -> Dynamic {
    let mut m = Map::new();
    m.insert("id".into(), i.id.clone().into());
    m.insert("name".into(), i.name.clone().into());
    m.insert("department".into(), i.department.clone().into());
    m.insert("certificate".into(), i.certificate.clone().into());
    let quals: rhai::Array = i.qualifications.iter().map(|q| q.clone().into()).collect();
    m.insert("qualifications".into(), quals.into());
    m.insert("area".into(), i.area.clone().into());
    let conflicts: rhai::Array = i.conflicts.iter().map(|c| c.clone().into()).collect();
    m.insert("conflicts".into(), conflicts.into());
    let mut extra: BTreeMap<String, Dynamic> = BTreeMap::new();
    for (k, v) in &i.extra {
        let value = if v.is_empty() {
            Dynamic::UNIT
        } else {
            cell_value(v)
        };
        if !m.contains_key(k.as_str()) && k != "extra" {
            m.insert(k.as_str().into(), value.clone());
        }
        if !v.is_empty() {
            extra.insert(k.clone(), value);
        }
    }
    m.insert("extra".into(), Dynamic::from(Extra(Arc::new(extra))));
    m.into()
}

/// `ctx`: matter, period ("2023-H1"), period_start, period_end, reference_date (all "YYYY-MM-DD"),
/// holiday (holiday window's name, e.g. "春节", or ()), holiday_window (bool).
pub fn ctx_map(
    matter: &str,
    period: &str,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
    reference: chrono::NaiveDate,
    holiday: Option<&str>,
) -> Dynamic {
    let mut m = Map::new();
    m.insert("matter".into(), matter.to_string().into());
    m.insert("period".into(), period.to_string().into());
    m.insert("period_start".into(), start.to_string().into());
    m.insert("period_end".into(), end.to_string().into());
    m.insert("reference_date".into(), reference.to_string().into());
    m.insert(
        "holiday".into(),
        holiday.map_or(Dynamic::UNIT, |h| h.to_string().into()),
    );
    m.insert("holiday_window".into(), holiday.is_some().into());
    m.into()
}
