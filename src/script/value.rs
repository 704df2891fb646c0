//! The read-only data a hook sees. Documented field by field in docs/rules.md.

use rhai::{Dynamic, Engine, Map};

use crate::registry::types::{Inspector, Target, TargetStatus};

pub(super) fn register(engine: &mut Engine) {
    // Scripts get plain maps and strings; nothing else is exposed.
    let _ = engine;
}

fn opt(s: &Option<String>) -> Dynamic {
    s.as_ref()
        .map_or(Dynamic::UNIT, |s| Dynamic::from(s.clone()))
}

/// `target`: id, name, category, district, address, key_area, class, licence, status,
/// last_inspected ("YYYY-MM-DD" or ()), last_result, extra (map of the other columns).
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
    let extra: Map = t
        .extra
        .iter()
        .map(|(k, v)| (k.as_str().into(), v.clone().into()))
        .collect();
    m.insert("extra".into(), extra.into());
    m.into()
}

/// `inspector`: id, name, department, certificate, qualifications (array), area, conflicts (array).
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
