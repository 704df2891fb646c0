//! Reading a filled-in task list (result sheet): the `tasks.csv` or `tasks.xlsx` a draw wrote,
//! saved as CSV (UTF-8, UTF-8 with BOM, or GBK as Excel on Chinese Windows saves it) or as a
//! workbook (first sheet). The header row is the task list's ([`TASK_HEADER`]), first, or
//! second under the line a marked draw's list starts with (补抽, 临时, 模拟); columns may be
//! moved or added, but the ones the import reads must be there.
//!
//! Rows whose 检查结果 is empty are skipped, not errors, so a partly filled sheet imports what
//! is filled (a skipped row with a 检查日期 or 签名检查人员 gets a warning: it looks half done).
//!
//! A large draw's task list is compact (`output::tasks`): one row per target, with a result
//! column per checklist item headed `检查结果：ITEM …` ([`RESULT_COLUMN`]) in place of the
//! 检查项编号 and 检查结果 columns. Each filled item cell of such a row is one entry, located at
//! its own cell; a row with none filled is skipped. Both forms are read by every import.

use std::collections::HashMap;
use std::path::Path;

use crate::registry::table::{Cell, Row, Table};
use crate::registry::values::normalize_header;

use super::entry::{DateCell, Field, FieldColumns, Origin, Problem, RawEntry};
use super::{RESULT_COLUMN, TASK_HEADER};

/// What a sheet holds.
#[derive(Debug, Default)]
pub struct Sheet {
    /// The entries of the row being read, handed on once it is (one per row with a 检查结果,
    /// or per filled item column of a compact row).
    entries: Vec<RawEntry>,
    /// Rows without a 检查结果.
    pub skipped: usize,
    /// Problems with the file itself or with single cells; warnings too.
    pub problems: Vec<Problem>,
}

const REQUIRED: [Field; 6] = [
    Field::Draw,
    Field::Target,
    Field::Item,
    Field::Category,
    Field::Date,
    Field::Inspectors,
];
const OPTIONAL: [Field; 3] = [Field::Matter, Field::Period, Field::Remarks];

/// The columns of a sheet: the cell index of each field it names and, in a compact task list,
/// of each checklist item's result column (with the item's id).
#[derive(Debug, Default)]
struct Columns {
    index: HashMap<Field, usize>,
    items: Vec<(usize, String)>,
}

impl Columns {
    /// Every column the import needs is there: 检查项编号 and 检查结果, or item columns.
    fn complete(&self) -> bool {
        REQUIRED.iter().all(|f| {
            self.index.contains_key(f)
                || (!self.items.is_empty() && matches!(f, Field::Item | Field::Category))
        })
    }
}

/// The checklist item a compact task list's result column is for: `检查结果：ITEM` (a
/// half-width colon too), the item's text after a space or not.
fn item_column(header: &str) -> Option<String> {
    let rest =
        crate::registry::values::trim(header).strip_prefix(RESULT_COLUMN.trim_end_matches('：'))?;
    let rest = rest.strip_prefix('：').or_else(|| rest.strip_prefix(':'))?;
    let id = rest.split_whitespace().next()?;
    Some(id.to_string())
}

/// Reads `bytes` (the file at `path`), naming it `label` in every problem, each entry handed
/// to `each` as its row is read (the sheet returned holds none): a national draw's task list
/// makes 1.47 million entries, never held at once. Reading stops when `each` says false.
pub fn read_sheet_each(
    bytes: &[u8],
    path: &Path,
    label: &str,
    each: &mut dyn FnMut(RawEntry) -> bool,
) -> Sheet {
    let mut sheet = Sheet::default();
    let table = match Table::open(bytes, path) {
        Ok(t) => t,
        Err(p) => {
            sheet
                .problems
                .push(file_problem(label, p.line, p.column, p.message, p.help));
            return sheet;
        }
    };
    let (header_line, found) = match sheet_columns(&table, label) {
        Ok(found) => found,
        Err(problem) => {
            sheet.problems.push(problem);
            return sheet;
        }
    };
    let mut columns = FieldColumns::default();
    for (f, i) in &found.index {
        columns.insert(*f, table.column(*i));
    }
    let label_shared: std::sync::Arc<str> = label.into();
    let items: Vec<(usize, usize, &str)> = found
        .items
        .iter()
        .map(|(i, id)| (*i, table.column(*i), id.as_str()))
        .collect();
    let result = table.for_each_row(header_line, &mut |line, row| {
        let at = Place {
            label: &label_shared,
            line,
            index: &found.index,
            columns,
        };
        if items.is_empty() || found.index.contains_key(&Field::Category) {
            read_row(&mut sheet, row, &at);
        } else {
            read_wide_row(&mut sheet, row, &at, &items);
        }
        let mut go = true;
        for e in sheet.entries.drain(..) {
            go = go && each(e);
        }
        go
    });
    if let Err(p) = result {
        sheet
            .problems
            .push(file_problem(label, p.line, p.column, p.message, p.help));
    }
    sheet
}

/// A problem with the file as a whole (or its header row).
fn file_problem(
    label: &str,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
    help: Vec<String>,
) -> Problem {
    Problem {
        origin: Some(Origin {
            file: label.into(),
            line: line.unwrap_or(1),
        }),
        column,
        message,
        help,
        warning: false,
    }
}

/// The cell index of each field a row names, and of each item's result column.
fn fields_of(header: &[String]) -> Columns {
    let mut columns = Columns::default();
    for (i, h) in header.iter().enumerate() {
        if let Some(item) = item_column(h) {
            columns.items.push((i, item));
            continue;
        }
        let h = normalize_header(h);
        for f in REQUIRED.iter().chain(OPTIONAL.iter()) {
            if normalize_header(f.label()) == h {
                columns.index.entry(*f).or_insert(i);
            }
        }
    }
    columns
}

/// The header row: its line and the cell index of each field it has; every required field
/// must be there. It is the first row, or the second under a marked draw's heading line
/// (补抽, 临时, 模拟: [`crate::schedule::marks::DrawMarks::heading`]).
fn sheet_columns(table: &Table, label: &str) -> Result<(usize, Columns), Problem> {
    let head = match table.head(2) {
        Ok(h) => h,
        Err(p) => return Err(file_problem(label, p.line, p.column, p.message, p.help)),
    };
    if let Some((line, columns)) = head
        .iter()
        .map(|(line, header)| (*line, fields_of(header)))
        .find(|(_, columns)| columns.complete())
    {
        return Ok((line, columns));
    }
    let Some((header_line, header)) = head.into_iter().next() else {
        return Err(file_problem(
            label,
            None,
            None,
            "the file is empty".into(),
            vec!["import the task list the draw wrote (tasks.csv or tasks.xlsx) with the results filled in".into()],
        ));
    };
    let found = fields_of(&header);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|f| !found.index.contains_key(f))
        .filter(|f| found.items.is_empty() || !matches!(f, Field::Item | Field::Category))
        .map(|f| f.label())
        .collect();
    if !found.complete() {
        return Err(file_problem(
            label,
            Some(header_line),
            None,
            format!(
                "the header row has no column {}",
                missing.join(", ")
            ),
            vec![
                format!("the first row (or the second, under the line a marked draw's list starts with) must be the task list's header: {}", TASK_HEADER.join(",")),
                "import the task list the draw wrote (out/draws/<matter>/<period>/tasks.csv or tasks.xlsx), keeping its header row".into(),
            ],
        ));
    }
    Ok((header_line, found))
}

/// Where a row is read: the file's label, the row's line and the sheet's columns (cell
/// indexes, and 1-based columns for locating problems).
struct Place<'a> {
    label: &'a std::sync::Arc<str>,
    line: usize,
    index: &'a HashMap<Field, usize>,
    columns: FieldColumns,
}

impl Place<'_> {
    fn origin(&self) -> Origin {
        Origin {
            file: self.label.clone(),
            line: self.line,
        }
    }

    /// The warning for a row skipped with a 检查日期 or 签名检查人员 filled in.
    fn half_done(&self, row: &dyn Row, column: Option<usize>) -> Option<Problem> {
        let filled = |f: Field| self.index.get(&f).is_some_and(|&i| !row.cell(i).is_empty());
        (filled(Field::Date) || filled(Field::Inspectors)).then(|| {
            Problem::error(
                Some(&self.origin()),
                "检查结果 is empty but the row has a 检查日期 or 签名检查人员; the row was skipped",
            )
            .column(column)
            .help("fill in 检查结果 and import again (rows already imported are recognised)")
            .as_warning()
        })
    }
}

/// One data row: an entry, a skipped row (no 检查结果), or its problems.
fn read_row(sheet: &mut Sheet, row: &dyn Row, at: &Place<'_>) {
    let mut bad = Vec::new();
    let category = cell_text(row, at, Field::Category, &mut bad);
    if category.is_empty() {
        sheet
            .problems
            .extend(at.half_done(row, at.columns.get(Field::Category)));
        sheet.skipped += 1;
        sheet.problems.append(&mut bad);
        return;
    }
    let item = cell_text(row, at, Field::Item, &mut bad);
    let entry = entry_of(row, at, (item, category), at.columns, &mut bad);
    if bad.is_empty() {
        sheet.entries.push(entry);
    } else {
        sheet.problems.append(&mut bad);
    }
}

/// One row of a compact task list: an entry per filled item column (each located at its own
/// cell), a skipped row when none is filled, or its problems.
fn read_wide_row(sheet: &mut Sheet, row: &dyn Row, at: &Place<'_>, items: &[(usize, usize, &str)]) {
    let mut bad = Vec::new();
    let mut entries = Vec::new();
    for &(i, column, item) in items {
        let category = match row.cell(i) {
            Cell::Empty => continue,
            Cell::Text(t) => crate::results::safe_cell::original(&t).to_string(),
            Cell::Date(_, t) => t,
            Cell::Bad(why) => {
                bad.push(
                    Problem::error(Some(&at.origin()), format!("{RESULT_COLUMN}{item}: {why}"))
                        .column(Some(column))
                        .help("type the value as text and save again"),
                );
                continue;
            }
        };
        let mut columns = at.columns;
        columns.insert(Field::Category, column);
        columns.insert(Field::Item, column);
        // The row's other cells are the same for each item: their problems are said once.
        let mut again = Vec::new();
        let said = if entries.is_empty() {
            &mut bad
        } else {
            &mut again
        };
        entries.push(entry_of(
            row,
            at,
            (item.to_string(), category),
            columns,
            said,
        ));
    }
    if entries.is_empty() && bad.is_empty() {
        sheet
            .problems
            .extend(at.half_done(row, items.first().map(|&(_, c, _)| c)));
        sheet.skipped += 1;
        return;
    }
    if bad.is_empty() {
        sheet.entries.append(&mut entries);
    } else {
        sheet.problems.append(&mut bad);
    }
}

/// The entry of a row for one (checklist item, 检查结果), its other fields read from the row.
fn entry_of(
    row: &dyn Row,
    at: &Place<'_>,
    (item, category): (String, String),
    columns: FieldColumns,
    bad: &mut Vec<Problem>,
) -> RawEntry {
    let date = match at.index.get(&Field::Date).map(|&i| row.cell(i)) {
        Some(Cell::Date(d, _)) => DateCell::Date(d),
        _ => DateCell::Text(cell_text(row, at, Field::Date, bad)),
    };
    let optional = |s: String| (!s.is_empty()).then_some(s);
    RawEntry {
        draw_ref: cell_text(row, at, Field::Draw, bad),
        matter: optional(cell_text(row, at, Field::Matter, bad)),
        period: optional(cell_text(row, at, Field::Period, bad)),
        target_id: cell_text(row, at, Field::Target, bad),
        item,
        category,
        date,
        remarks: cell_text(row, at, Field::Remarks, bad),
        inspectors: cell_text(row, at, Field::Inspectors, bad),
        origin: Some(at.origin()),
        columns,
    }
}

fn cell_text(row: &dyn Row, at: &Place<'_>, f: Field, bad: &mut Vec<Problem>) -> String {
    let Some(&i) = at.index.get(&f) else {
        return String::new();
    };
    match row.cell(i) {
        Cell::Empty => String::new(),
        Cell::Text(t) => crate::results::safe_cell::original(&t).to_string(),
        Cell::Date(_, t) => t,
        Cell::Bad(why) => {
            bad.push(
                Problem::error(Some(&at.origin()), format!("{}: {why}", f.label()))
                    .column(at.columns.get(f))
                    .help("type the value as text and save again"),
            );
            String::new()
        }
    }
}
