//! Registry files → rows, with every problem reported as a diagnostic keyed to file, line and column.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::diag::{Diagnostic, did_you_mean};

use super::Known;
use super::table::{Cell, FileProblem, Row, Table};
use super::types::{Inspector, Target, TargetStatus};
use super::values::{
    DateError, normalize_header, parse_active, parse_bool, parse_date, parse_status, split_list,
};

/// One column the engine knows, with every header it is recognised by.
pub(crate) struct FieldSpec {
    /// English name, also the canonical header.
    pub key: &'static str,
    /// Chinese header used in messages and generated files.
    pub zh: &'static str,
    /// Every accepted header (compared after [`normalize_header`]).
    pub aliases: &'static [&'static str],
    pub required: bool,
}

const fn field(
    key: &'static str,
    zh: &'static str,
    aliases: &'static [&'static str],
    required: bool,
) -> FieldSpec {
    FieldSpec {
        key,
        zh,
        aliases,
        required,
    }
}

pub(crate) const TARGET_FIELDS: &[FieldSpec] = &[
    field(
        "id",
        "编号",
        &["id", "编号", "统一社会信用代码", "对象编号"],
        true,
    ),
    field("name", "名称", &["name", "名称", "对象名称"], true),
    field("category", "类别", &["category", "类别", "行业类别"], true),
    field(
        "district",
        "所属区域",
        &["district", "区域", "所属区域", "乡镇街道"],
        false,
    ),
    field("address", "地址", &["address", "地址"], false),
    field("key_area", "重点区域", &["key_area", "重点区域"], false),
    field(
        "class",
        "风险等级",
        &["class", "风险等级", "信用等级", "等级"],
        false,
    ),
    field(
        "licence",
        "许可证号",
        &["licence", "license", "许可证号", "许可证"],
        false,
    ),
    field("status", "状态", &["status", "状态"], false),
    field(
        "last_inspected",
        "上次检查日期",
        &["last_inspected", "上次检查日期"],
        false,
    ),
    field(
        "last_result",
        "上次检查结果",
        &["last_result", "上次检查结果"],
        false,
    ),
];

/// Indexes into [`TARGET_FIELDS`].
pub(crate) mod t {
    pub const ID: usize = 0;
    pub const NAME: usize = 1;
    pub const CATEGORY: usize = 2;
    pub const DISTRICT: usize = 3;
    pub const ADDRESS: usize = 4;
    pub const KEY_AREA: usize = 5;
    pub const CLASS: usize = 6;
    pub const LICENCE: usize = 7;
    pub const STATUS: usize = 8;
    pub const LAST_INSPECTED: usize = 9;
    pub const LAST_RESULT: usize = 10;
}

pub(crate) const INSPECTOR_FIELDS: &[FieldSpec] = &[
    field("id", "工号", &["id", "工号", "编号"], true),
    field("name", "姓名", &["name", "姓名"], true),
    field(
        "department",
        "所属部门",
        &["department", "所属部门", "部门"],
        true,
    ),
    field(
        "certificate",
        "执法证号",
        &["certificate", "执法证号"],
        true,
    ),
    field(
        "qualifications",
        "执法资格",
        &["qualifications", "资格", "执法资格"],
        false,
    ),
    field("active", "在岗", &["active", "在岗"], false),
    field("area", "区域", &["area", "区域"], false),
    field(
        "conflicts",
        "回避",
        &["conflicts", "回避", "利害关系"],
        false,
    ),
];

/// Indexes into [`INSPECTOR_FIELDS`].
mod i {
    pub const ID: usize = 0;
    pub const NAME: usize = 1;
    pub const DEPARTMENT: usize = 2;
    pub(crate) const CERTIFICATE: usize = 3;
    pub const QUALIFICATIONS: usize = 4;
    pub(crate) const ACTIVE: usize = 5;
    pub(crate) const AREA: usize = 6;
    pub(crate) const CONFLICTS: usize = 7;
}

/// Where a row came from: file index (into the caller's list of display paths), line, and the
/// 1-based columns of its id and certificate (for duplicate reports).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    pub file: u32,
    pub id_col: u32,
    pub line: usize,
    pub cert_col: u32,
    /// 1-based column of an inspector's 回避 cell (0 for targets, or without the column).
    pub conflicts_col: u32,
}

impl Origin {
    fn new(file: usize, line: usize, id_col: usize, cert_col: usize) -> Origin {
        let small = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Origin {
            file: small(file),
            line,
            id_col: small(id_col),
            cert_col: small(cert_col),
            conflicts_col: 0,
        }
    }

    /// This origin with the column of the row's 回避 cell.
    fn with_conflicts(self, col: usize) -> Origin {
        Origin {
            conflicts_col: u32::try_from(col).unwrap_or(u32::MAX),
            ..self
        }
    }

    pub(crate) fn file(&self) -> usize {
        self.file as usize
    }
}

/// Rows read so far and, kept apart to stay small, where each came from.
#[derive(Debug)]
pub(crate) struct Rows<T> {
    pub items: Vec<T>,
    pub origins: Vec<Origin>,
    /// The header of every file read, as written (each name once, in file order).
    pub columns: Vec<String>,
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows {
            items: Vec::new(),
            origins: Vec::new(),
            columns: Vec::new(),
        }
    }
}

impl<T> Rows<T> {
    fn push(&mut self, item: T, origin: Origin) {
        self.items.push(item);
        self.origins.push(origin);
    }

    fn reserve(&mut self, n: usize) {
        self.items.reserve(n);
        self.origins.reserve(n);
    }
}

/// Diagnostics with a sort key (file, line, column), so one run lists problems in file order
/// however they were found.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub items: Vec<((usize, usize, usize), Diagnostic)>,
}

impl Sink {
    pub(crate) fn push(&mut self, file: usize, line: usize, col: usize, d: Diagnostic) {
        self.items.push(((file, line, col), d));
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.items.iter().any(|(_, d)| d.is_error())
    }

    /// The diagnostics in (file, line, column) order; equal keys keep the order they were found.
    pub(crate) fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by_key(|(k, _)| *k);
        self.items.into_iter().map(|(_, d)| d).collect()
    }
}

/// The columns of a registry file, resolved from its header row.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub line: usize,
    /// Cell index of each known field, if present.
    pub cols: Vec<Option<usize>>,
    /// Header text of every cell (as written, trimmed).
    pub names: Vec<String>,
    /// Columns not known, by cell index and header (targets keep them in `extra`).
    pub extras: Vec<(usize, String)>,
    /// Cells with an empty header; a value under one is reported once.
    pub unnamed: Vec<usize>,
}

/// How many leading rows may precede the header (a title such as "平邑县检查对象名录库").
const HEADER_SEARCH_ROWS: usize = 10;

/// A file being read: its table, display path and index, and the sink.
struct FileCx<'a, 'b> {
    table: &'a Table<'b>,
    display: &'a str,
    file: usize,
    sink: &'a mut Sink,
}

/// Every accepted header of some fields: (field, normalised alias, alias as written).
struct Aliases(Vec<(usize, String, &'static str)>);

impl Aliases {
    fn of(fields: &[FieldSpec]) -> Aliases {
        Aliases(
            fields
                .iter()
                .enumerate()
                .flat_map(|(f, spec)| {
                    spec.aliases
                        .iter()
                        .map(move |a| (f, normalize_header(a), *a))
                })
                .collect(),
        )
    }

    /// The field a header names, if any.
    fn field_of(&self, header: &str) -> Option<usize> {
        let n = normalize_header(header);
        self.0.iter().find(|(_, a, _)| *a == n).map(|(f, ..)| *f)
    }
}

impl<'a, 'b> FileCx<'a, 'b> {
    fn col(&self, idx: usize) -> usize {
        self.table.column(idx)
    }

    fn error(&mut self, line: usize, idx: Option<usize>, msg: String, help: &[String]) {
        self.emit(Diagnostic::error(msg), line, idx, help);
    }

    fn warning(&mut self, line: usize, idx: Option<usize>, msg: String, help: &[String]) {
        self.emit(Diagnostic::warning(msg), line, idx, help);
    }

    fn emit(&mut self, mut d: Diagnostic, line: usize, idx: Option<usize>, help: &[String]) {
        let col = idx.map(|i| self.col(i));
        d = d.at_line(self.display, line, col);
        for h in help {
            d = d.help(h.clone());
        }
        self.sink.push(self.file, line, col.unwrap_or(0), d);
    }

    /// Finds the header row (the one among the first rows naming the most known columns), maps
    /// its columns and reports missing, doubled and misspelt headers. `None` if the file has no rows.
    fn header(&mut self, fields: &[FieldSpec], what: &str, keeps_extras: bool) -> Option<Header> {
        let aliases = Aliases::of(fields);
        let (line, names) = self.header_row(fields, what, &aliases)?;
        let mut h = Header {
            line,
            cols: vec![None; fields.len()],
            names,
            extras: Vec::new(),
            unnamed: Vec::new(),
        };
        let unknown = self.place_columns(&mut h, fields, what, keeps_extras, &aliases);
        let explained = self.missing_columns(&h, fields, &aliases, &unknown);
        self.misspelt_columns(&h, fields, &aliases, &unknown, &explained, keeps_extras);
        if keeps_extras {
            h.extras = unknown
                .iter()
                .filter(|idx| !explained.contains(idx))
                .map(|&idx| (idx, h.names[idx].clone()))
                .collect();
        }
        Some(h)
    }

    /// The row among the first few that names the most known fields: (line, cells).
    fn header_row(
        &mut self,
        fields: &[FieldSpec],
        what: &str,
        aliases: &Aliases,
    ) -> Option<(usize, Vec<String>)> {
        let head = match self.table.head(HEADER_SEARCH_ROWS) {
            Ok(head) => head,
            Err(p) => {
                problem(self.sink, self.file, self.display, p);
                return None;
            }
        };
        let score = |cells: &[String]| {
            cells
                .iter()
                .filter_map(|c| aliases.field_of(c))
                .collect::<BTreeSet<_>>()
                .len()
        };
        let mut best: Option<&(usize, Vec<String>)> = None;
        for row in &head {
            if best.is_none_or(|b| score(&row.1) > score(&b.1)) {
                best = Some(row);
            }
        }
        let Some(best) = best.cloned() else {
            self.error(
                1,
                None,
                format!("the {what} file is empty"),
                &[format!(
                    "the first row must be the header, e.g. {}",
                    fields.iter().map(|f| f.zh).collect::<Vec<_>>().join(",")
                )],
            );
            return None;
        };
        Some(best)
    }

    /// Gives each known field its column; reports a field named twice (and, where extra columns
    /// are kept, an extra header named twice). The columns no field claims.
    fn place_columns(
        &mut self,
        h: &mut Header,
        fields: &[FieldSpec],
        what: &str,
        keeps_extras: bool,
        aliases: &Aliases,
    ) -> Vec<usize> {
        let mut unknown: Vec<usize> = Vec::new();
        let mut extra_seen: HashMap<String, usize> = HashMap::new();
        let line = h.line;
        for idx in 0..h.names.len() {
            let name = h.names[idx].clone();
            if name.is_empty() {
                h.unnamed.push(idx);
                continue;
            }
            let field = aliases.field_of(&name);
            // A registry may carry several classification columns (风险等级 and 信用等级):
            // the first is the target's class, the others stay extra columns by header, and
            // each matter names the one it uses with `class_field`.
            let field = field
                .filter(|&f| !(keeps_extras && fields[f].key == "class" && h.cols[f].is_some()));
            match field {
                Some(f) => match h.cols[f] {
                    Some(first) => {
                        let first_name = h.names[first].clone();
                        let first_col = self.col(first);
                        self.error(
                            line,
                            Some(idx),
                            format!(
                                "columns {first_col} `{first_name}` and {} `{name}` both give the {} `{}`",
                                self.col(idx),
                                what,
                                fields[f].key
                            ),
                            &[format!(
                                "keep one of them; rename the other to a header that is not a known column name{}",
                                if keeps_extras { " (it is then kept as an extra column)" } else { "" }
                            )],
                        );
                    }
                    None => h.cols[f] = Some(idx),
                },
                None => {
                    if keeps_extras {
                        if let Some(&first) = extra_seen.get(&name) {
                            let first_col = self.col(first);
                            self.error(
                                line,
                                Some(idx),
                                format!("column header `{name}` appears twice (first in column {first_col})"),
                                &["give each column its own header".into()],
                            );
                            continue;
                        }
                        extra_seen.insert(name.clone(), idx);
                    }
                    unknown.push(idx);
                }
            }
        }
        unknown
    }

    /// Missing required columns, pointing at a misspelt header when there is one. The unknown
    /// columns so explained.
    fn missing_columns(
        &mut self,
        h: &Header,
        fields: &[FieldSpec],
        aliases: &Aliases,
        unknown: &[usize],
    ) -> BTreeSet<usize> {
        let line = h.line;
        let mut explained: BTreeSet<usize> = BTreeSet::new();
        for (f, spec) in fields.iter().enumerate() {
            if !spec.required || h.cols[f].is_some() {
                continue;
            }
            // The unknown header closest to one of this field's names, if close enough.
            let near = unknown
                .iter()
                .filter(|idx| !explained.contains(idx))
                .filter_map(|&idx| {
                    let n = normalize_header(&h.names[idx]);
                    let own = aliases
                        .0
                        .iter()
                        .filter(|(af, ..)| *af == f)
                        .map(|(_, a, _)| a.as_str());
                    let alias = did_you_mean(&n, own)?;
                    let written = aliases
                        .0
                        .iter()
                        .find(|(_, a, _)| a == alias)
                        .map_or(spec.zh, |a| a.2);
                    Some((strsim::jaro_winkler(&n, alias), idx, written))
                })
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
                .map(|(_, idx, written)| (idx, written));
            let also = spec
                .aliases
                .iter()
                .filter(|a| **a != spec.zh)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            match near {
                Some((idx, written)) => {
                    explained.insert(idx);
                    let msg = format!("missing required column `{}` ({})", spec.zh, spec.key);
                    let help = [format!(
                        "did you mean `{written}`? rename column {} `{}` to `{written}`",
                        self.col(idx),
                        h.names[idx],
                    )];
                    self.error(line, Some(idx), msg, &help);
                }
                None => {
                    let msg = format!("missing required column `{}` ({})", spec.zh, spec.key);
                    let help = [format!(
                        "add a column headed `{}` (also accepted: {also})",
                        spec.zh
                    )];
                    self.error(line, None, msg, &help);
                }
            }
        }
        explained
    }

    /// Unknown headers close to a known one are probably misspelt: a warning each.
    fn misspelt_columns(
        &mut self,
        h: &Header,
        fields: &[FieldSpec],
        aliases: &Aliases,
        unknown: &[usize],
        explained: &BTreeSet<usize>,
        keeps_extras: bool,
    ) {
        let line = h.line;
        for &idx in unknown {
            if explained.contains(&idx) {
                continue;
            }
            let n = normalize_header(&h.names[idx]);
            let open = aliases.0.iter().filter(|(f, ..)| h.cols[*f].is_none());
            if let Some(alias) = did_you_mean(&n, open.map(|(_, a, _)| a.as_str())) {
                let Some(&(f, _, written)) = aliases.0.iter().find(|(_, a, _)| a == alias) else {
                    continue;
                };
                let fate = if keeps_extras {
                    "kept as an extra column"
                } else {
                    "ignored"
                };
                let msg = format!(
                    "column `{}` is not a known column name; it is {fate}",
                    h.names[idx]
                );
                let key = fields[f].key;
                let also = if written == key {
                    String::new()
                } else {
                    format!(" ({key})")
                };
                let help = [format!(
                    "did you mean `{written}`{also}? rename the column if so"
                )];
                self.warning(line, Some(idx), msg, &help);
            }
        }
    }

    /// Runs `f` on every data row whose width matches the header; reports the others and
    /// values under unnamed columns.
    fn rows(&mut self, h: &Header, f: &mut dyn FnMut(&mut RowCx<'_, 'a, 'b>)) {
        let width = h.names.len();
        // Trailing columns without a header (a stray comma after the header) may be left out.
        let named_width = h
            .names
            .iter()
            .rposition(|n| !n.is_empty())
            .map_or(0, |i| i + 1);
        let mut unnamed_reported = vec![false; width];
        let table = self.table;
        let result = table.for_each_row(h.line, &mut |line, row| {
            if row.len() < named_width || row.len() > width {
                let (idx, fewer) = if row.len() < width {
                    (row.len(), true)
                } else {
                    (width, false)
                };
                let help = if fewer {
                    "a value or a comma is missing; an empty value still needs its comma"
                } else {
                    "a value contains a comma: put the value in double quotes, or use ，"
                };
                self.error(
                    line,
                    Some(idx),
                    format!("row has {} fields but the header has {width}", row.len()),
                    &[help.into()],
                );
                return true;
            }
            for &u in &h.unnamed {
                if !unnamed_reported[u] && !row.cell(u).is_empty() {
                    unnamed_reported[u] = true;
                    self.warning(
                        line,
                        Some(u),
                        format!(
                            "column {} has no header; its values are ignored",
                            self.col(u)
                        ),
                        &["give the column a header, or delete it".into()],
                    );
                }
            }
            let mut cx = RowCx {
                file: self,
                h,
                row,
                line,
            };
            f(&mut cx);
            true
        });
        if let Err(p) = result {
            problem(self.sink, self.file, self.display, p);
        }
    }
}

/// One data row being read.
struct RowCx<'r, 'a, 'b> {
    file: &'r mut FileCx<'a, 'b>,
    h: &'r Header,
    row: &'r dyn Row,
    line: usize,
}

impl<'r> RowCx<'r, '_, '_> {
    /// A target's status; empty = active, an unknown one is reported.
    fn status(&mut self, f: usize) -> TargetStatus {
        match self.text(f) {
            None => TargetStatus::Active,
            Some((idx, s)) => parse_status(&s).unwrap_or_else(|| {
                self.error(idx, format!("unknown status `{s}`"), &[STATUS_HELP.into()]);
                TargetStatus::Active
            }),
        }
    }

    /// A date column: a spreadsheet date or `YYYY-MM-DD` text; a bad one is reported.
    fn date(&mut self, f: usize) -> Option<chrono::NaiveDate> {
        match self.cell(f) {
            None => None,
            Some((_, Cell::Date(d, _))) => Some(d),
            Some((idx, Cell::Text(s))) => match parse_date(&s) {
                Ok(d) => Some(d),
                Err(e) => {
                    let msg = match e {
                        DateError::Format => format!("`{s}` is not a date"),
                        DateError::NoSuchDay => {
                            format!("`{s}` is not a real date: there is no such day")
                        }
                    };
                    self.error(idx, msg, &[DATE_HELP.into()]);
                    None
                }
            },
            Some(_) => None,
        }
    }

    /// The values of the extra columns (by header) that rules may read.
    fn extras(&mut self, extras: &[(usize, String)]) -> BTreeMap<String, String> {
        let mut extra = BTreeMap::new();
        for (idx, header) in extras {
            match self.row.cell(*idx) {
                Cell::Text(v) => {
                    extra.insert(header.clone(), v.into_owned());
                }
                Cell::Date(_, v) => {
                    extra.insert(header.clone(), v);
                }
                Cell::Bad(why) => self.error(
                    *idx,
                    format!("unusable value in column `{header}`: {why}"),
                    &["type the value in, or set the column format to Text (文本) and re-enter it".into()],
                ),
                Cell::Empty => {}
            }
        }
        extra
    }

    fn error(&mut self, idx: usize, msg: String, help: &[String]) {
        self.file.error(self.line, Some(idx), msg, help);
    }

    fn col(&self, f: usize) -> usize {
        self.h.cols[f].map_or(0, |idx| self.file.col(idx))
    }

    /// The cell of field `f`, if the column exists; unusable cells are reported and read as empty.
    fn cell(&mut self, f: usize) -> Option<(usize, Cell<'r>)> {
        let idx = self.h.cols[f]?;
        let row: &'r dyn Row = self.row;
        match row.cell(idx) {
            Cell::Bad(why) => {
                let name = self.h.names[idx].clone();
                self.error(
                    idx,
                    format!("unusable value in column `{name}`: {why}"),
                    &["type the value in, or set the column format to Text (文本) and re-enter it".into()],
                );
                None
            }
            Cell::Empty => None,
            cell => Some((idx, cell)),
        }
    }

    /// The text of field `f`, if present and not empty.
    fn text(&mut self, f: usize) -> Option<(usize, Cow<'r, str>)> {
        let (idx, cell) = self.cell(f)?;
        match cell {
            Cell::Text(t) => Some((idx, t)),
            Cell::Date(_, t) => Some((idx, Cow::Owned(t))),
            Cell::Empty | Cell::Bad(_) => None,
        }
    }

    fn opt(&mut self, f: usize) -> Option<String> {
        self.text(f).map(|(_, t)| t.into_owned())
    }

    /// The text of a required field; reports it missing (the header check covers a missing column).
    fn required(&mut self, f: usize, fields: &[FieldSpec], help: &str) -> String {
        if let Some((_, t)) = self.text(f) {
            return t.into_owned();
        }
        if let Some(idx) = self.h.cols[f]
            && !matches!(self.row.cell(idx), Cell::Bad(_))
        {
            let name = self.h.names[idx].clone();
            self.error(
                idx,
                format!("missing {} (column `{name}` is empty)", fields[f].key),
                &[help.into()],
            );
        }
        String::new()
    }

    /// An id, refusing what Excel writes for a long number shown in scientific notation.
    fn id(&mut self, f: usize, fields: &[FieldSpec], help: &str) -> String {
        let id = self.required(f, fields, help);
        if super::values::looks_like_scientific(&id) {
            let idx = self.h.cols[f].unwrap_or(0);
            self.error(
                idx,
                format!("id `{id}` looks like a long number Excel has turned into scientific notation"),
                &["the digits are lost: in Excel set the column format to Text (文本), re-enter the ids and save again".into()],
            );
        }
        id
    }

    fn boolean(
        &mut self,
        f: usize,
        default: bool,
        parse: fn(&str) -> Option<bool>,
        help: &str,
    ) -> bool {
        let Some((idx, t)) = self.text(f) else {
            return default;
        };
        match parse(&t) {
            Some(b) => b,
            None => {
                let name = self.h.names[idx].clone();
                self.error(
                    idx,
                    format!("`{name}` must be yes or no, found `{t}`"),
                    &[help.into()],
                );
                default
            }
        }
    }

    /// A value that must be one of `known` (unless `known` is empty); returns the known spelling.
    fn known(
        &mut self,
        idx: usize,
        value: String,
        known: &BTreeSet<String>,
        (what, plural): (&str, &str),
    ) -> String {
        if let Some(k) = known_spelling(&value, known) {
            return k;
        }
        let mut help = Vec::new();
        if let Some(s) = did_you_mean(&value, known.iter().map(String::as_str)) {
            help.push(format!("did you mean `{s}`?"));
        }
        help.push(format!("known {plural}: {}", list(known)));
        self.error(idx, format!("unknown {what} `{value}`"), &help);
        value
    }
}

/// The spelling a value takes when it is one of `known` (any ASCII case; anything goes when
/// `known` is empty); `None` when it is not.
pub(crate) fn known_spelling(value: &str, known: &BTreeSet<String>) -> Option<String> {
    if known.is_empty() || known.contains(value) {
        return Some(value.to_string());
    }
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(value))
        .cloned()
}

fn list(known: &BTreeSet<String>) -> String {
    const MAX: usize = 30;
    let shown: Vec<&str> = known.iter().take(MAX).map(String::as_str).collect();
    if known.len() > MAX {
        format!("{} … ({} in all)", shown.join(", "), known.len())
    } else {
        shown.join(", ")
    }
}

const BOOL_HELP: &str = "write 是 or 否 (also accepted: true/false, yes/no, 1/0); empty means 否";
const ACTIVE_HELP: &str =
    "write 是 or 否 (also accepted: 在岗/离岗, true/false, yes/no, 1/0); empty means 是 (on duty)";
const STATUS_HELP: &str = "write 正常 (also accepted: active, 在业, 存续) or 注销 (also accepted: deregistered, 吊销, 停业); empty means 正常";
const DATE_HELP: &str = "write the date as 2023-05-06, 2023/5/6 or 2023年5月6日";

fn problem(sink: &mut Sink, file: usize, display: &str, p: FileProblem) {
    let mut d = match p.line {
        Some(line) => Diagnostic::error(p.message).at_line(display, line, p.column),
        None => Diagnostic::error(format!("{display}: {}", p.message)),
    };
    for h in p.help {
        d = d.help(h);
    }
    sink.push(file, p.line.unwrap_or(0), p.column.unwrap_or(0), d);
}

fn open_file<'b>(
    bytes: &'b [u8],
    path: &Path,
    display: &str,
    file: usize,
    sink: &mut Sink,
) -> Option<Table<'b>> {
    match Table::open(bytes, path) {
        Ok(t) => Some(t),
        Err(p) => {
            problem(sink, file, display, p);
            None
        }
    }
}

/// The header of a target file's text (which must hold the file's first rows): the row among the
/// first ten naming the most known columns, mapped as [`targets`] maps it. Problems go to `sink`;
/// `None` when there is no header to use.
pub(crate) fn target_header(
    text: &str,
    display: &str,
    file: usize,
    sink: &mut Sink,
) -> Option<Header> {
    let table = Table::Csv(std::borrow::Cow::Borrowed(text));
    let mut fx = FileCx {
        table: &table,
        display,
        file,
        sink,
    };
    fx.header(TARGET_FIELDS, "target", true)
}

/// Adds the headers not seen yet to `columns`.
pub(crate) fn remember_columns(columns: &mut Vec<String>, names: &[String]) {
    for name in names.iter().filter(|n| !n.is_empty()) {
        if !columns.contains(name) {
            columns.push(name.clone());
        }
    }
}

/// Reads a target file's bytes. Rows with errors are returned too (so duplicate checks see
/// them); the sink holding any error means the rows must not be used.
pub(crate) fn targets(
    bytes: &[u8],
    path: &Path,
    display: &str,
    file: usize,
    known: &Known,
    sink: &mut Sink,
    out: &mut Rows<Target>,
) {
    let Some(table) = open_file(bytes, path, display, file, sink) else {
        return;
    };
    let mut fx = FileCx {
        table: &table,
        display,
        file,
        sink,
    };
    let Some(h) = fx.header(TARGET_FIELDS, "target", true) else {
        return;
    };
    remember_columns(&mut out.columns, &h.names);
    out.reserve(table.row_estimate());
    let before = out.items.len();
    let fields = TARGET_FIELDS;
    fx.rows(&h, &mut |cx| {
        let id = cx.id(
            t::ID,
            fields,
            "every target needs an id (e.g. its 统一社会信用代码)",
        );
        let name = cx.required(t::NAME, fields, "fill in the target's name");
        let category = match cx.text(t::CATEGORY) {
            Some((idx, c)) => cx.known(
                idx,
                c.into_owned(),
                &known.categories,
                ("category", "categories"),
            ),
            None => cx.required(t::CATEGORY, fields, "fill in the category id, e.g. hotel"),
        };
        let district = cx.opt(t::DISTRICT).unwrap_or_default();
        let address = cx.opt(t::ADDRESS).unwrap_or_default();
        let key_area = cx.boolean(t::KEY_AREA, false, parse_bool, BOOL_HELP);
        let class = cx.opt(t::CLASS);
        let licence = cx.opt(t::LICENCE);
        let status = cx.status(t::STATUS);
        let last_inspected = cx.date(t::LAST_INSPECTED);
        let last_result = cx.opt(t::LAST_RESULT);
        let extra = cx.extras(&h.extras);
        let origin = Origin::new(file, cx.line, cx.col(t::ID), 0);
        out.push(
            Target {
                id,
                name,
                category,
                district,
                address,
                key_area,
                class,
                licence,
                status,
                last_inspected,
                last_result,
                extra,
            },
            origin,
        );
    });
    if out.items.len() == before {
        fx.warning(
            h.line,
            None,
            "the target file has no rows below the header".into(),
            &[],
        );
    }
}

/// Reads an inspector file's bytes; see [`targets`].
pub(crate) fn inspectors(
    bytes: &[u8],
    path: &Path,
    display: &str,
    file: usize,
    known: &Known,
    sink: &mut Sink,
    out: &mut Rows<Inspector>,
) {
    let Some(table) = open_file(bytes, path, display, file, sink) else {
        return;
    };
    let mut fx = FileCx {
        table: &table,
        display,
        file,
        sink,
    };
    let Some(h) = fx.header(INSPECTOR_FIELDS, "inspector", true) else {
        return;
    };
    out.reserve(table.row_estimate());
    let before = out.items.len();
    let fields = INSPECTOR_FIELDS;
    // A bureau's shared registry lists inspectors of departments without rule files: their rows
    // are skipped (and counted in a note); a department close to a known one is a typo, an error.
    let mut other_departments: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    fx.rows(&h, &mut |cx| {
        if let Some(d) = other_department(cx, known) {
            other_departments.entry(d).or_insert((cx.line, 0)).1 += 1;
            return;
        }
        let id = cx.id(i::ID, fields, "every inspector needs an id (工号)");
        let name = cx.required(i::NAME, fields, "fill in the inspector's name");
        let department = match cx.text(i::DEPARTMENT) {
            Some((idx, d)) => cx.known(idx, d.into_owned(), &known.departments, ("department", "departments")),
            None => cx.required(i::DEPARTMENT, fields, "fill in the department id, e.g. zhian"),
        };
        let certificate = cx.required(
            i::CERTIFICATE,
            fields,
            "fill in the law-enforcement certificate number (执法证号); only certified officers may inspect",
        );
        let qualifications = inspector_qualifications(cx, known);
        let active = cx.boolean(i::ACTIVE, true, parse_active, ACTIVE_HELP);
        let area = cx.opt(i::AREA).unwrap_or_default();
        let conflicts = cx.opt(i::CONFLICTS).map(|c| split_list(&c)).unwrap_or_default();
        // Every other column reaches the hooks as a field of `inspector`, empty cells too.
        let mut extra = cx.extras(&h.extras);
        for (_, header) in &h.extras {
            extra.entry(header.clone()).or_default();
        }
        let origin = Origin::new(file, cx.line, cx.col(i::ID), cx.col(i::CERTIFICATE))
            .with_conflicts(cx.col(i::CONFLICTS));
        out.push(
            Inspector {
                id,
                name,
                department,
                certificate,
                qualifications,
                active,
                area,
                conflicts,
                extra,
            },
            origin,
        );
    });
    note_other_departments(&mut fx, &h, known, other_departments);
    if out.items.len() == before {
        fx.warning(
            h.line,
            None,
            "the inspector file has no rows below the header".into(),
            &[],
        );
    }
}

/// An inspector row's qualifications, each checked against the known ones, without repeats.
fn inspector_qualifications(cx: &mut RowCx<'_, '_, '_>, known: &Known) -> Vec<String> {
    let mut qualifications = Vec::new();
    if let Some((idx, q)) = cx.text(i::QUALIFICATIONS) {
        for q in split_list(&q) {
            let q = cx.known(
                idx,
                q,
                &known.qualifications,
                ("qualification", "qualifications"),
            );
            if !qualifications.contains(&q) {
                qualifications.push(q);
            }
        }
    }
    qualifications
}

/// The row's department when it is neither known nor close to a known one (a shared
/// registry's other departments).
fn other_department(cx: &mut RowCx<'_, '_, '_>, known: &Known) -> Option<String> {
    let (_, d) = cx.text(i::DEPARTMENT)?;
    let close = did_you_mean(&d, known.departments.iter().map(String::as_str)).is_some();
    (known_spelling(&d, &known.departments).is_none() && !close).then(|| d.into_owned())
}

/// One note per department whose rows a shared registry's reading skipped.
fn note_other_departments(
    fx: &mut FileCx<'_, '_>,
    h: &Header,
    known: &Known,
    other_departments: BTreeMap<String, (usize, usize)>,
) {
    for (d, (line, n)) in other_departments {
        let rows = if n == 1 { "row" } else { "rows" };
        fx.warning(
            line,
            h.cols.get(i::DEPARTMENT).copied().flatten(),
            format!("{n} {rows} of department `{d}` skipped: it has no rule file here"),
            &[
                "a shared inspector registry may list every department of the bureau; only departments with a rules/<department>.toml are drawn from".into(),
                format!("known departments: {}", list(&known.departments)),
            ],
        );
    }
}

/// Reports every row whose `key` (if not empty) repeats an earlier row's, naming the first.
pub(crate) fn duplicates<T>(
    rows: &Rows<T>,
    key: impl Fn(&T) -> &str,
    col: impl Fn(&Origin) -> u32,
    what: &str,
    displays: &[String],
    sink: &mut Sink,
) {
    let mut first: HashMap<&str, &Origin> = HashMap::with_capacity(rows.items.len());
    for (row, origin) in rows.items.iter().zip(&rows.origins) {
        let k = key(row);
        if k.is_empty() {
            continue;
        }
        match first.get(k) {
            None => {
                first.insert(k, origin);
            }
            Some(f) => {
                let display = displays.get(origin.file()).map_or("", String::as_str);
                let at = if f.file == origin.file {
                    format!("line {}", f.line)
                } else {
                    let first_display = displays.get(f.file()).map_or("", String::as_str);
                    format!("{first_display}:{}", f.line)
                };
                let col = col(origin) as usize;
                let d = Diagnostic::error(format!("duplicate {what} `{k}`, first used at {at}"))
                    .at_line(display, origin.line, (col > 0).then_some(col))
                    .help(format!(
                        "each {what} must be unique: correct it, or delete the repeated row"
                    ));
                sink.push(origin.file(), origin.line, col, d);
            }
        }
    }
}
