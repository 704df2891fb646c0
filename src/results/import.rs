//! Reading a filled-in task list (result sheet): the `tasks.csv` or `tasks.xlsx` a draw wrote,
//! saved as CSV (UTF-8, UTF-8 with BOM, or GBK as Excel on Chinese Windows saves it) or as a
//! workbook (first sheet). The header row is the task list's ([`TASK_HEADER`]), first, or
//! second under the line a marked draw's list starts with (补抽, 临时, 模拟); columns may be
//! moved or added, but the ones the import reads must be there.
//!
//! Rows whose 检查结果 is empty are skipped, not errors, so a partly filled sheet imports what
//! is filled (a skipped row with a 检查日期 or 签名检查人员 gets a warning: it looks half done).

use std::collections::HashMap;
use std::path::Path;

use crate::registry::table::{Cell, Row, Table};
use crate::registry::values::normalize_header;

use super::TASK_HEADER;
use super::entry::{DateCell, Field, Origin, Problem, RawEntry};

/// What a sheet holds.
#[derive(Debug, Default)]
pub struct Sheet {
    /// One per row with a 检查结果.
    pub entries: Vec<RawEntry>,
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

/// Reads `bytes` (the file at `path`), naming it `label` in every problem.
pub fn read_sheet(bytes: &[u8], path: &Path, label: &str) -> Sheet {
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
    let (header_line, index) = match sheet_columns(&table, label) {
        Ok(found) => found,
        Err(problem) => {
            sheet.problems.push(problem);
            return sheet;
        }
    };
    let columns: HashMap<Field, usize> =
        index.iter().map(|(f, i)| (*f, table.column(*i))).collect();
    let result = table.for_each_row(header_line, &mut |line, row| {
        read_row(&mut sheet, row, line, label, &index, &columns);
        true
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
            file: label.to_string(),
            line: line.unwrap_or(1),
        }),
        column,
        message,
        help,
        warning: false,
    }
}

/// The cell index of each field a row names.
fn fields_of(header: &[String]) -> HashMap<Field, usize> {
    let mut index: HashMap<Field, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = normalize_header(h);
        for f in REQUIRED.iter().chain(OPTIONAL.iter()) {
            if normalize_header(f.label()) == h {
                index.entry(*f).or_insert(i);
            }
        }
    }
    index
}

/// The header row: its line and the cell index of each field it has; every required field
/// must be there. It is the first row, or the second under a marked draw's heading line
/// (补抽, 临时, 模拟: [`crate::schedule::marks::DrawMarks::heading`]).
fn sheet_columns(table: &Table, label: &str) -> Result<(usize, HashMap<Field, usize>), Problem> {
    let head = match table.head(2) {
        Ok(h) => h,
        Err(p) => return Err(file_problem(label, p.line, p.column, p.message, p.help)),
    };
    let complete = |index: &HashMap<Field, usize>| REQUIRED.iter().all(|f| index.contains_key(f));
    if let Some((line, index)) = head
        .iter()
        .map(|(line, header)| (*line, fields_of(header)))
        .find(|(_, index)| complete(index))
    {
        return Ok((line, index));
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
    let index = fields_of(&header);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|f| !index.contains_key(f))
        .map(|f| f.label())
        .collect();
    if !missing.is_empty() {
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
    Ok((header_line, index))
}

/// One data row: an entry, a skipped row (no 检查结果), or its problems.
fn read_row(
    sheet: &mut Sheet,
    row: &dyn Row,
    line: usize,
    label: &str,
    index: &HashMap<Field, usize>,
    columns: &HashMap<Field, usize>,
) {
    let origin = Origin {
        file: label.to_string(),
        line,
    };
    let mut bad = Vec::new();
    let text = |f: Field, bad: &mut Vec<Problem>| -> String {
        cell_text(row, index, columns, &origin, f, bad)
    };
    let category = text(Field::Category, &mut bad);
    if category.is_empty() {
        let date = index.get(&Field::Date).map(|&i| !row.cell(i).is_empty());
        let signed = index
            .get(&Field::Inspectors)
            .map(|&i| !row.cell(i).is_empty());
        if date == Some(true) || signed == Some(true) {
            bad.push(
                Problem::error(
                    Some(&origin),
                    "检查结果 is empty but the row has a 检查日期 or 签名检查人员; the row was skipped",
                )
                .column(columns.get(&Field::Category).copied())
                .help("fill in 检查结果 and import again (rows already imported are recognised)")
                .as_warning(),
            );
        }
        sheet.skipped += 1;
        sheet.problems.append(&mut bad);
        return;
    }
    let date = match index.get(&Field::Date).map(|&i| row.cell(i)) {
        Some(Cell::Date(d, _)) => DateCell::Date(d),
        _ => DateCell::Text(text(Field::Date, &mut bad)),
    };
    let optional = |s: String| (!s.is_empty()).then_some(s);
    let entry = RawEntry {
        draw_ref: text(Field::Draw, &mut bad),
        matter: optional(text(Field::Matter, &mut bad)),
        period: optional(text(Field::Period, &mut bad)),
        target_id: text(Field::Target, &mut bad),
        item: text(Field::Item, &mut bad),
        category,
        date,
        remarks: text(Field::Remarks, &mut bad),
        inspectors: text(Field::Inspectors, &mut bad),
        origin: Some(origin),
        columns: columns.clone(),
    };
    if bad.is_empty() {
        sheet.entries.push(entry);
    } else {
        sheet.problems.append(&mut bad);
    }
}

fn cell_text(
    row: &dyn Row,
    index: &HashMap<Field, usize>,
    columns: &HashMap<Field, usize>,
    origin: &Origin,
    f: Field,
    bad: &mut Vec<Problem>,
) -> String {
    let Some(&i) = index.get(&f) else {
        return String::new();
    };
    match row.cell(i) {
        Cell::Empty => String::new(),
        Cell::Text(t) => crate::results::safe_cell::original(&t).to_string(),
        Cell::Date(_, t) => t,
        Cell::Bad(why) => {
            bad.push(
                Problem::error(Some(origin), format!("{}: {why}", f.label()))
                    .column(columns.get(&f).copied())
                    .help("type the value as text and save again"),
            );
            String::new()
        }
    }
}
