//! Target columns as rules name them (`class_field`, `stratify_by`): a known field by its
//! field name or any header it is read under (`district`, `所属区域`, `乡镇街道`), or an extra
//! column by its header.
//!
//! A registry may carry several classification columns (风险等级 and 信用等级): the first is
//! the target's `class`, the others are extra columns under their own header. So a name is
//! resolved in this order: a field name; an extra column of this registry; a header a known
//! field is read under. Which extra columns a registry has is the draw's to say (it is the
//! same for the registry file and its snapshot: a column with a value in some row).

use std::borrow::Cow;

use super::canonical::LineCells;
use super::read::{TARGET_FIELDS, t};
use super::types::Target;
use super::values::normalize_header;

/// A target column named by a rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Column {
    /// A known field, by its index in the target fields (`registry::read::TARGET_FIELDS`).
    Field(usize),
    /// An extra column, by its header.
    Extra(String),
}

impl Column {
    /// The column `name` stands for, given which extra columns the registry has.
    pub fn named(name: &str, is_extra: impl Fn(&str) -> bool) -> Column {
        if let Some(f) = TARGET_FIELDS.iter().position(|f| f.key == name) {
            return Column::Field(f);
        }
        if is_extra(name) {
            return Column::Extra(name.to_string());
        }
        match field_of_header(name) {
            Some(f) => Column::Field(f),
            None => Column::Extra(name.to_string()),
        }
    }

    /// Whether this is the known field with key `key`.
    pub fn is_field(&self, key: &str) -> bool {
        matches!(self, Column::Field(f) if TARGET_FIELDS[*f].key == key)
    }

    /// The field name (`district`) or the extra column's header.
    pub fn name(&self) -> &str {
        match self {
            Column::Field(f) => TARGET_FIELDS[*f].key,
            Column::Extra(h) => h,
        }
    }

    /// A target's value in this column, as strata and class ratios see it (`key_area` as
    /// 重点区域/一般区域; an absent value is empty).
    pub fn value(&self, tg: &Target) -> String {
        let extra = |h: &str| tg.extra.get(h).map(String::as_str);
        self.value_of(&LineCells::of(tg), extra).into_owned()
    }

    /// [`Column::value`] of a target given by its canonical cells and its extra values by
    /// header (`extra`), borrowed where it can be.
    pub(crate) fn value_of<'a>(
        &self,
        c: &LineCells<'a>,
        extra: impl FnOnce(&str) -> Option<&'a str>,
    ) -> Cow<'a, str> {
        let f = match self {
            Column::Extra(h) => return Cow::Borrowed(extra(h).unwrap_or_default()),
            Column::Field(f) => *f,
        };
        Cow::Borrowed(match f {
            t::ID => c.id,
            t::NAME => c.name,
            t::CATEGORY => c.category,
            t::DISTRICT => c.district,
            t::ADDRESS => c.address,
            t::KEY_AREA if c.key_area => "重点区域",
            t::KEY_AREA => "一般区域",
            t::CLASS => c.class,
            t::LICENCE => c.licence,
            t::STATUS => return Cow::Owned(format!("{:?}", c.status)),
            t::LAST_INSPECTED => {
                return Cow::Owned(c.last_inspected.map(|d| d.to_string()).unwrap_or_default());
            }
            t::LAST_RESULT => c.last_result,
            _ => "",
        })
    }
}

/// The known field a header names (`风险等级` → class), compared as registry headers are.
pub fn field_of_header(header: &str) -> Option<usize> {
    let n = normalize_header(header);
    TARGET_FIELDS
        .iter()
        .position(|f| f.aliases.iter().any(|a| normalize_header(a) == n))
}

/// Whether the registry whose header row is `columns` has the column `name`: a header
/// written there, or the field name of a known field one of its headers gives.
pub fn has_column(columns: &[String], name: &str) -> bool {
    let n = normalize_header(name);
    columns.iter().any(|c| normalize_header(c) == n)
        || TARGET_FIELDS
            .iter()
            .position(|f| f.key == name)
            .is_some_and(|f| columns.iter().any(|c| field_of_header(c) == Some(f)))
}

/// The names a rule may use for the columns of a registry whose header row is `columns`: each
/// header as written, and the field name of each known field present.
pub fn usable_names(columns: &[String]) -> Vec<String> {
    let mut out: Vec<String> = columns.to_vec();
    for c in columns {
        if let Some(f) = field_of_header(c) {
            let key = TARGET_FIELDS[f].key.to_string();
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_fields_and_extra_columns() {
        let none = |_: &str| false;
        assert_eq!(Column::named("class", none), Column::Field(t::CLASS));
        assert_eq!(Column::named("风险等级", none), Column::Field(t::CLASS));
        assert_eq!(Column::named("乡镇街道", none), Column::Field(t::DISTRICT));
        assert_eq!(
            Column::named("房间数", none),
            Column::Extra("房间数".into())
        );
        // The second classification column of a registry is an extra column.
        let credit = |h: &str| h == "信用等级";
        assert_eq!(
            Column::named("信用等级", credit),
            Column::Extra("信用等级".into())
        );
        assert_eq!(Column::named("风险等级", credit), Column::Field(t::CLASS));
        let cols: Vec<String> = ["编号", "风险等级", "房间数"].map(String::from).to_vec();
        assert!(has_column(&cols, "class"));
        assert!(has_column(&cols, "风险等级"));
        assert!(!has_column(&cols, "信用等级"));
        assert!(!has_column(&cols, "district"));
        assert_eq!(
            usable_names(&cols),
            ["编号", "风险等级", "房间数", "id", "class"]
        );
    }
}
