//! Reading and checking one `config/holidays/YYYY.toml` file.

use std::ops::Range;

use chrono::NaiveDate;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Holiday, HolidayPeriod};
use crate::diag::{Diagnostic, FileId, Location, did_you_mean};

/// Years a calendar file may be about.
const YEARS: std::ops::RangeInclusive<i64> = 2000..=2199;

const TOP_KEYS: [&str; 3] = ["year", "source", "holiday"];
const HOLIDAY_KEYS: [&str; 5] = ["id", "start", "end", "workdays", "note"];

/// A calendar file that parsed, with the locations needed for checks across files.
#[derive(Debug, Clone)]
pub(super) struct YearFile {
    pub file: FileId,
    pub year: i32,
    pub year_span: Range<usize>,
    pub source: String,
    /// One period per holiday, in date order.
    pub periods: Vec<HolidayPeriod>,
    /// Each entry's days off and each make-up working day, with where it is written.
    pub listed: Vec<Listed>,
}

#[derive(Debug, Clone)]
pub(super) struct Listed {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub work: bool,
    pub span: Range<usize>,
}

/// Parses one calendar file, pushing every problem onto `diags`. Returns what could be read
/// (at least the year) so other files can be checked against it; the file is only usable if
/// no error was pushed.
pub(super) fn parse_file(
    file: FileId,
    stem: Option<&str>,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<YearFile> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        let mut errors: Vec<_> = errors
            .into_iter()
            .map(|e| (e.span().unwrap_or(0..0), e.message().to_string()))
            .collect();
        errors.sort_by_key(|(span, _)| span.start);
        for (span, message) in errors {
            diags.push(
                Diagnostic::error(format!("invalid TOML: {message}"))
                    .at(file, span)
                    .label("here")
                    .help("the format is described at the top of each file in config/holidays/"),
            );
        }
        return None;
    }
    let first = diags.len();
    let parsed = Parser {
        file,
        diags: &mut *diags,
        misspelt: Vec::new(),
    }
    .document(doc.get_ref(), stem);
    // Report in the order of the file.
    diags[first..].sort_by_key(|d| match &d.location {
        Location::Span { range, .. } => range.start,
        _ => 0,
    });
    parsed
}

pub(super) struct Parser<'d> {
    file: FileId,
    diags: &'d mut Vec<Diagnostic>,
    /// Known keys that an unknown key of the table being read looks like a misspelling of.
    misspelt: Vec<&'static str>,
}

/// A [[holiday]] entry that parsed.
pub(super) struct Entry {
    pub holidays: Vec<(Holiday, Range<usize>)>,
    pub start: NaiveDate,
    pub start_span: Range<usize>,
    pub end: NaiveDate,
    pub workdays: Vec<(NaiveDate, Range<usize>)>,
    /// Near the file's year and not too long: worth comparing with the other entries.
    pub plausible: bool,
}

impl Parser<'_> {
    pub(super) fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(message).at(self.file, span).label(label));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    pub(super) fn error_help(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        let d = self.error(span, message, label);
        d.help.push(help.into());
    }

    /// Reports a missing key, unless an unknown key was already reported as its misspelling.
    fn missing(
        &mut self,
        key: &str,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        if !self.misspelt.contains(&key) {
            self.error_help(span, message, label, help);
        }
    }

    fn unknown_keys(&mut self, table: &DeTable<'_>, known: &[&'static str], what: &str) {
        self.misspelt.clear();
        let mut unknown: Vec<_> = table
            .keys()
            .filter(|k| !known.contains(&k.get_ref().as_ref()))
            .collect();
        unknown.sort_by_key(|k| k.span().start);
        for key in unknown {
            let name = key.get_ref().as_ref();
            let help = match did_you_mean(name, known.iter().copied()) {
                Some(k) => {
                    self.misspelt.push(k);
                    format!("did you mean `{k}`?")
                }
                None => format!("{what} has the keys {}", list(known)),
            };
            self.error_help(
                key.span(),
                format!("unknown key `{name}`"),
                format!("not a key of {what}"),
                help,
            );
        }
    }

    fn document(&mut self, doc: &DeTable<'_>, stem: Option<&str>) -> Option<YearFile> {
        self.unknown_keys(doc, &TOP_KEYS, "a calendar file");
        let year = self.year(doc, stem);
        let source = self.source(doc);
        let entries = self.entries(doc);
        let (year, year_span) = year?;
        let (mut entries, all_read) = entries;
        for e in &mut entries {
            e.plausible = self.check_dates(year, e);
        }
        self.check_across_entries(&entries);
        if all_read {
            self.check_all_listed(&entries, year, year_span.clone());
        }
        let listed = entries
            .iter()
            .flat_map(|e| {
                std::iter::once(Listed {
                    first: e.start,
                    last: e.end,
                    work: false,
                    span: e.start_span.clone(),
                })
                .chain(e.workdays.iter().map(|(d, span)| Listed {
                    first: *d,
                    last: *d,
                    work: true,
                    span: span.clone(),
                }))
            })
            .collect();
        let mut periods: Vec<HolidayPeriod> = entries
            .iter()
            .flat_map(|e| {
                let mut workdays: Vec<NaiveDate> = e.workdays.iter().map(|(d, _)| *d).collect();
                workdays.sort();
                e.holidays.iter().map(move |(h, _)| HolidayPeriod {
                    holiday: *h,
                    year,
                    start: e.start,
                    end: e.end,
                    makeup_workdays: workdays.clone(),
                    provisional: false,
                })
            })
            .collect();
        periods.sort_by_key(|p| (p.start, p.end, p.holiday));
        Some(YearFile {
            file: self.file,
            year,
            year_span,
            source: source.unwrap_or_default(),
            periods,
            listed,
        })
    }

    fn year(&mut self, doc: &DeTable<'_>, stem: Option<&str>) -> Option<(i32, Range<usize>)> {
        let Some(v) = doc.get("year") else {
            self.missing(
                "year",
                0..0,
                "missing `year`",
                "",
                "start the file with the year of the notice, e.g. `year = 2027`",
            );
            return None;
        };
        let span = v.span();
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        let Some(n) = n else {
            let found = v.get_ref().type_str();
            self.error_help(
                span,
                format!("`year` must be a whole number, found {found}"),
                "not a year",
                "write e.g. `year = 2027`",
            );
            return None;
        };
        let year = match i32::try_from(n) {
            Ok(y) if YEARS.contains(&n) => y,
            _ => {
                self.error_help(
                    span,
                    format!("year {n} is out of range"),
                    "not a plausible year",
                    format!(
                        "calendar files are for the years {} to {}",
                        YEARS.start(),
                        YEARS.end()
                    ),
                );
                return None;
            }
        };
        if let Some(stem) = stem.filter(|s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
            && stem != year.to_string()
        {
            self.error_help(
                span.clone(),
                format!("this file is named {stem}.toml but is about {year}"),
                "does not match the file name",
                format!("rename the file to {year}.toml, or correct the year"),
            );
        }
        Some((year, span))
    }

    fn source(&mut self, doc: &DeTable<'_>) -> Option<String> {
        let help = "name the State Council notice, e.g. source = \"国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕N号）\"";
        let Some(v) = doc.get("source") else {
            self.missing("source", 0..0, "missing `source`", "", help);
            return None;
        };
        match v.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
            DeValue::String(_) => {
                self.error_help(v.span(), "`source` is empty", "empty", help);
                None
            }
            other => {
                let found = other.type_str();
                self.error_help(
                    v.span(),
                    format!("`source` must be a string, found {found}"),
                    "not a string",
                    help,
                );
                None
            }
        }
    }

    /// The entries that could be read, and whether that is all of them.
    fn entries(&mut self, doc: &DeTable<'_>) -> (Vec<Entry>, bool) {
        let help = "add one [[holiday]] block per holiday of the notice";
        let Some(v) = doc.get("holiday") else {
            self.missing("holiday", 0..0, "missing [[holiday]] blocks", "", help);
            return (Vec::new(), false);
        };
        let Some(items) = v.get_ref().as_array() else {
            let found = v.get_ref().type_str();
            self.error_help(
                v.span(),
                format!("`holiday` must be [[holiday]] blocks, found {found}"),
                "not [[holiday]] blocks",
                help,
            );
            return (Vec::new(), false);
        };
        let mut entries = Vec::new();
        let mut ok = true;
        for item in items.iter() {
            match self.entry(item) {
                Some(e) => entries.push(e),
                None => ok = false,
            }
        }
        (entries, ok)
    }

    fn entry(&mut self, item: &Spanned<DeValue<'_>>) -> Option<Entry> {
        let Some(table) = item.get_ref().as_table() else {
            let found = item.get_ref().type_str();
            self.error_help(
                item.span(),
                format!("each holiday must be a [[holiday]] block, found {found}"),
                "not a table",
                "write [[holiday]] on its own line, then id, start, end and workdays",
            );
            return None;
        };
        self.unknown_keys(table, &HOLIDAY_KEYS, "[[holiday]]");
        let holidays = self.ids(item.span(), table);
        let start = self.date_key(item.span(), table, "start");
        let end = self.date_key(item.span(), table, "end");
        let workdays = self.workdays(table);
        if let Some(v) = table.get("note")
            && !v.get_ref().is_str()
        {
            let found = v.get_ref().type_str();
            self.error_help(
                v.span(),
                format!("`note` must be a string, found {found}"),
                "not a string",
                "put the note in quotes",
            );
        }
        let (holidays, (start, start_span), (end, end_span), workdays) =
            (holidays?, start?, end?, workdays?);
        if end < start {
            self.error_help(
                end_span,
                "holiday ends before it starts",
                format!("{end} is before the start, {start}"),
                "`start` is the first day off and `end` the last; for a single day off both are the same date",
            );
            return None;
        }
        Some(Entry {
            holidays,
            start,
            start_span,
            end,
            workdays,
            plausible: true,
        })
    }

    fn ids(
        &mut self,
        entry: Range<usize>,
        table: &DeTable<'_>,
    ) -> Option<Vec<(Holiday, Range<usize>)>> {
        let Some(v) = table.get("id") else {
            self.missing(
                "id",
                entry,
                "[[holiday]] without `id`",
                "this block has no `id`",
                format!("add e.g. id = \"chunjie\"; the ids are {}", id_list()),
            );
            return None;
        };
        let values: Vec<&Spanned<DeValue<'_>>> = match v.get_ref() {
            DeValue::Array(items) if !items.is_empty() => items.iter().collect(),
            _ => vec![v],
        };
        let mut out = Vec::new();
        let mut ok = true;
        for value in values {
            let Some(s) = value.get_ref().as_str() else {
                let found = value.get_ref().type_str();
                self.error_help(
                    value.span(),
                    format!("`id` must be a holiday id in quotes, found {found}"),
                    "not a holiday id",
                    format!("the ids are {}", id_list()),
                );
                ok = false;
                continue;
            };
            match Holiday::parse(s) {
                Some(h) => out.push((h, value.span())),
                None => {
                    let known = Holiday::ALL.iter().flat_map(|h| [h.id(), h.name_zh()]);
                    let help = match did_you_mean(s, known).and_then(Holiday::parse) {
                        Some(h) => format!("did you mean `{}` ({})?", h.id(), h.name_zh()),
                        None => format!("the ids are {}", id_list()),
                    };
                    self.error_help(
                        value.span(),
                        format!("unknown holiday `{s}`"),
                        "not a holiday id",
                        help,
                    );
                    ok = false;
                }
            }
        }
        for (i, (h, span)) in out.iter().enumerate() {
            if out[..i].iter().any(|(other, _)| other == h) {
                self.error(
                    span.clone(),
                    format!("{h} is named twice in this `id`"),
                    "named again here",
                );
                ok = false;
            }
        }
        ok.then_some(out)
    }

    fn date_key(
        &mut self,
        entry: Range<usize>,
        table: &DeTable<'_>,
        key: &str,
    ) -> Option<(NaiveDate, Range<usize>)> {
        let Some(v) = table.get(key) else {
            let what = if key == "start" { "first" } else { "last" };
            self.missing(
                key,
                entry,
                format!("[[holiday]] without `{key}`"),
                format!("this block has no `{key}`"),
                format!("add `{key} = YYYY-MM-DD`, the {what} day off"),
            );
            return None;
        };
        Some((self.date(v, key)?, v.span()))
    }

    fn workdays(&mut self, table: &DeTable<'_>) -> Option<Vec<(NaiveDate, Range<usize>)>> {
        let Some(v) = table.get("workdays") else {
            return Some(Vec::new());
        };
        let Some(items) = v.get_ref().as_array() else {
            let found = v.get_ref().type_str();
            self.error_help(
                v.span(),
                format!("`workdays` must be a list of dates, found {found}"),
                "not a list",
                "write e.g. workdays = [2023-01-28, 2023-01-29]",
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items.iter() {
            match self.date(item, "workdays") {
                Some(d) => out.push((d, item.span())),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn date(&mut self, v: &Spanned<DeValue<'_>>, key: &str) -> Option<NaiveDate> {
        let help = "write dates as YYYY-MM-DD without quotes, e.g. 2023-01-21";
        let date = match v.get_ref() {
            DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => {
                    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                }
                _ => {
                    self.error_help(
                        v.span(),
                        format!("`{key}` must be a date without a time"),
                        "has a time",
                        help,
                    );
                    return None;
                }
            },
            DeValue::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            other => {
                let found = other.type_str();
                self.error_help(
                    v.span(),
                    format!("`{key}` must be a date, found {found}"),
                    "not a date",
                    help,
                );
                return None;
            }
        };
        if date.is_none() {
            self.error_help(
                v.span(),
                format!("`{key}` is not a valid date"),
                "not a date",
                help,
            );
        }
        date
    }
}

fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn id_list() -> String {
    Holiday::ALL
        .iter()
        .map(|h| format!("{} ({})", h.id(), h.name_zh()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn parse(text: &str) -> (Option<YearFile>, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let parsed = parse_file(0, Some("2030"), text, &mut diags);
        (parsed, diags)
    }

    const ALL_BUT_NEW_YEAR: &str = r#"
[[holiday]]
id = "春节"
start = "2030-02-02"
end = 2030-02-09
[[holiday]]
id = "清明"
start = 2030-04-05
end = 2030-04-05
[[holiday]]
id = "劳动节"
start = 2030-05-01
end = 2030-05-05
[[holiday]]
id = "duanwu"
start = 2030-06-05
end = 2030-06-05
[[holiday]]
id = ["zhongqiu", "国庆"]
start = 2030-10-01
end = 2030-10-08
workdays = [2030-09-29, 2030-10-12]
"#;

    #[test]
    fn chinese_names_quoted_dates_and_merged_blocks() {
        let text = format!(
            "year = 2030\nsource = \"test\"\n[[holiday]]\nid = \"元旦\"\nstart = 2030-01-01\nend = 2030-01-01\n{ALL_BUT_NEW_YEAR}"
        );
        let (parsed, diags) = parse(&text);
        assert!(diags.is_empty(), "{diags:?}");
        let parsed = parsed.unwrap_or_else(|| panic!("no calendar"));
        assert_eq!(parsed.year, 2030);
        assert_eq!(parsed.periods.len(), 7);
        let merged: Vec<_> = parsed
            .periods
            .iter()
            .filter(|p| p.start.month() == 10)
            .collect();
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].holiday, Holiday::MidAutumn);
        assert_eq!(merged[1].holiday, Holiday::NationalDay);
        assert_eq!(merged[0].makeup_workdays, merged[1].makeup_workdays);
        assert_eq!(
            parsed.periods[1].start,
            NaiveDate::from_ymd_opt(2030, 2, 2).unwrap_or_default()
        );
    }

    #[test]
    fn missing_keys_and_holidays() {
        let (parsed, diags) = parse(&format!("year = 2030\n{ALL_BUT_NEW_YEAR}"));
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "missing `source`",
                "the calendar for 2030 does not list 元旦 (yuandan)"
            ]
        );
        assert!(parsed.is_some());
    }
}
