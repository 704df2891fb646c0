//! Per-draw outputs: the task list (CSV, XLSX) that inspectors fill in with results, printable
//! task sheets per team (HTML), and the public list of drawn targets (HTML, CSV).
//!
//! A draw of more than [`SPLIT_ABOVE`] staffed targets (a provincial or national registry) gets
//! documents sized for people instead of one of each: the task workbook by district
//! (`tasks-<district>.xlsx`, each within Excel's 1 048 576 rows, numbered `-1`, `-2`, … when a
//! district needs more), the printable task sheets by inspector (the targets of every team the
//! inspector is in), gathered by the inspector's district (`teams-<district>.html`, each sheet
//! on pages of its own, numbered `-1`, `-2`, … when a district's inspectors need more than a
//! file), the public page by district
//! (`public-<district>.html`); the CSV task list and public list stay whole. Their task lists
//! and sheets are compact: what is the same for every target (matter, period, due date, the
//! checklist's text) is said once, above the rows, and each target is one row with a result
//! column per checklist item (`COMPACT_TASK_HEADER`); a sheet is a table of targets under its
//! checklist, not a page per target.
//!
//! The task list is also the result sheet: one row per (drawn target, checklist item), with
//! empty result columns, or in the compact form one row per target; `suiji results import`
//! reads both back (see `TASK_HEADER`).

use std::collections::BTreeMap;

/// Targets and inspectors by id: looked up for every drawn target by each document (FxHash: a
/// few instructions a lookup where the default hasher takes many times that).
type HashMap<K, V> = rustc_hash::FxHashMap<K, V>;
use std::fmt::Write as _;

use crate::draw::manifest::{Manifest, Selected};
use crate::output::doc::esc;
use crate::registry::canonical::{CellRows, LineCells};
use crate::registry::types::{Inspector, Target};
use crate::results::{COMPACT_TASK_HEADER, RESULT_CATEGORIES, RESULT_COLUMN, TASK_HEADER};
use crate::rules::model::{ChecklistItem, Matter, Model};
use crate::rules::names::{period_label, seed_source_text};
use crate::schedule::marks::DrawMarks;

mod sheet;

/// Staffed targets above which a draw's documents are split (see the module's documentation).
pub const SPLIT_ABOVE: usize = 10_000;

/// Data rows a worksheet holds under its header (Excel's limit is 1 048 576 rows).
const SHEET_ROWS: usize = 1_048_575;

/// Task rows above which a workbook's sheet is written in constant-memory mode (see [`xlsx`]): a
/// sheet held whole costs about 200 bytes a cell, 56 MB at this size; a county's task lists
/// stay below it and keep the bytes earlier builds wrote. A compact workbook (a large draw's)
/// is always written so.
const LOW_MEMORY_ROWS: usize = 20_000;

/// Where a draw's files go, one at a time as each is rendered: (file name, contents).
pub type Put<'a> = dyn FnMut(String, Body<'_>) -> Result<(), String> + 'a;

/// A file's contents: its bytes, or a function that writes them (a long list, written as its
/// rows are made and never held whole).
pub enum Body<'b> {
    Bytes(Vec<u8>),
    Written(Box<WriteBody<'b>>),
}

/// What writes a file's bytes into a writer.
pub type WriteBody<'b> = dyn FnOnce(&mut dyn std::io::Write) -> std::io::Result<()> + 'b;

impl Body<'_> {
    /// The bytes, written into memory if they were not.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Body::Bytes(b) => b,
            Body::Written(write) => {
                let mut out = Vec::new();
                // Writing to a vector cannot fail.
                let _ = write(&mut out);
                out
            }
        }
    }
}

impl From<Vec<u8>> for Body<'_> {
    fn from(bytes: Vec<u8>) -> Self {
        Body::Bytes(bytes)
    }
}

fn team_label(ids: &[String], inspectors: &HashMap<&str, &Inspector>) -> String {
    team_label_of(ids.iter().map(String::as_str), inspectors)
}

/// [`team_label`] of the members `ids`.
fn team_label_of<'i>(
    ids: impl Iterator<Item = &'i str>,
    inspectors: &HashMap<&str, &Inspector>,
) -> String {
    // Made for every row of every task list and sheet (about 1.5 million times in a
    // national draw's documents): pieces pushed onto one string.
    let mut label = String::with_capacity(80);
    for (n, id) in ids.enumerate() {
        if n > 0 {
            label.push('、');
        }
        match inspectors.get(id) {
            Some(i) => {
                label.push_str(&i.name);
                label.push('（');
                label.push_str(&i.id);
                label.push('）');
            }
            None => label.push_str(id),
        }
    }
    label
}

/// A draw's drawn targets as its documents read them: each one's id and the fields they show
/// ([`DrawnCells::FIELDS`]), held as cells in one buffer rather than as targets (a national
/// draw's 367,000 targets as targets were 130 MB of its recording's peak).
pub struct DrawnCells {
    cells: CellRows,
}

impl DrawnCells {
    /// The fields the documents show of a target, after its id.
    pub const FIELDS: [&'static str; 5] = ["name", "category", "district", "address", "licence"];

    /// The cells of `targets`.
    pub fn of_targets(targets: &[Target]) -> DrawnCells {
        let mut cells = CellRows::new(1 + Self::FIELDS.len());
        for t in targets {
            cells.push_public(&LineCells::of(t), &Self::FIELDS);
        }
        DrawnCells { cells }
    }

    /// Cells read as [`CellRows::push_public`] reads them, a row each: the id, then
    /// [`DrawnCells::FIELDS`].
    pub(crate) fn of_cells(cells: CellRows) -> DrawnCells {
        DrawnCells { cells }
    }

    /// The drawn targets of `selected` (the manifest's selections), each found once by id,
    /// their cells copied in the selections' order: the documents go through the selections
    /// in that order (or a district's or an inspector's of them, in that order too), so each
    /// looks at the row after the one before instead of at a random place of the registry's
    /// order the rows were read in (at national scale two and a half million lookups, each a
    /// miss of the processor's caches).
    fn by_id(self, selected: &[Selected]) -> ById<'_> {
        let index: HashMap<&str, u32> = (0..self.cells.len())
            .map(|i| (self.cells.cell(i, 0), i as u32))
            .collect();
        let width = 1 + Self::FIELDS.len();
        let mut cells = CellRows::with_capacity(width, selected.len(), self.cells.text_len());
        let mut rows = Vec::with_capacity(selected.len());
        let mut next = 0u32;
        for s in selected {
            match index.get(s.target_id.as_str()) {
                Some(&i) => {
                    for j in 0..width {
                        cells.push(self.cells.cell(i as usize, j));
                    }
                    rows.push(next);
                    next += 1;
                }
                None => rows.push(NO_ROW),
            }
        }
        ById {
            drawn: DrawnCells { cells },
            selected,
            rows,
        }
    }

    fn row(&self, i: usize) -> TargetCells<'_> {
        let c = |j| self.cells.cell(i, j);
        TargetCells {
            id: c(0),
            name: c(1),
            category: c(2),
            district: c(3),
            address: c(4),
            licence: c(5),
        }
    }
}

/// No row: a selection whose target was not read.
const NO_ROW: u32 = u32::MAX;

/// What the documents show of a target.
#[derive(Debug, Clone, Copy)]
pub struct TargetCells<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub category: &'a str,
    pub district: &'a str,
    pub address: &'a str,
    pub licence: &'a str,
}

impl<'a> TargetCells<'a> {
    pub fn of(t: &'a Target) -> TargetCells<'a> {
        TargetCells {
            id: &t.id,
            name: &t.name,
            category: &t.category,
            district: &t.district,
            address: &t.address,
            licence: t.licence.as_deref().unwrap_or(""),
        }
    }
}

/// The drawn targets of the manifest's selections, each found once by its id.
struct ById<'a> {
    /// The drawn targets' cells, in the order of the selections.
    drawn: DrawnCells,
    /// The manifest's selections, and the row of each one's target.
    selected: &'a [Selected],
    rows: Vec<u32>,
}

impl<'a> ById<'a> {
    /// The target of the selection `s`, found by its place among the manifest's selections
    /// (the documents look a target up once for each of their rows, two and a half million
    /// times at national scale, where a lookup by id went to a random place of a table of
    /// 367,000); a selection that is not one of them, by its id among them.
    fn of(&self, s: &Selected) -> Option<TargetCells<'_>> {
        let place = place_in(self.selected, s).or_else(|| {
            self.selected
                .iter()
                .position(|x| x.target_id == s.target_id)
        })?;
        match self.rows.get(place) {
            Some(&NO_ROW) | None => None,
            Some(&row) => Some(self.drawn.row(row as usize)),
        }
    }
}

/// Where `s` is in `all`, when it is one of its elements (the very same, not an equal one).
fn place_in<T>(all: &[T], s: &T) -> Option<usize> {
    let size = std::mem::size_of::<T>().max(1);
    let from = (s as *const T as usize).checked_sub(all.as_ptr() as usize)?;
    let i = from / size;
    all.get(i).filter(|x| std::ptr::eq(*x, s)).map(|_| i)
}

/// The drawn targets that were staffed, in the manifest's order.
fn staffed(m: &Manifest) -> impl Iterator<Item = &Selected> {
    m.selected.iter().filter(|s| s.unstaffed.is_none())
}

/// What a draw's task rows are made of; [`TaskRows::of`] makes one target's rows at a time.
struct TaskRows<'a> {
    draw_ref: &'a str,
    m: &'a Manifest,
    matter: &'a Matter,
    targets: &'a ById<'a>,
    inspectors: &'a HashMap<&'a str, &'a Inspector>,
}

impl TaskRows<'_> {
    /// The task rows of the staffed target `s`: one per checklist item.
    fn of(&self, s: &Selected) -> Vec<Vec<String>> {
        let m = self.m;
        let address = self
            .targets
            .of(s)
            .map(|t| t.address.to_string())
            .unwrap_or_default();
        let team = team_label(&s.team, self.inspectors);
        self.matter
            .checklist
            .iter()
            .map(|item| {
                vec![
                    self.draw_ref.to_string(),
                    m.matter_name.clone(),
                    period_label(&m.period.id),
                    s.target_id.clone(),
                    s.target_name.clone(),
                    address.clone(),
                    team.clone(),
                    item.id.clone(),
                    item.text.clone(),
                    m.due_date.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]
            })
            .collect()
    }

    /// The header of the compact task list: a result column per checklist item, headed by
    /// its id and text.
    fn compact_header(&self) -> Vec<String> {
        let (head, tail) = COMPACT_TASK_HEADER.split_at(5);
        let items = self
            .matter
            .checklist
            .iter()
            .map(|item| format!("{RESULT_COLUMN}{} {}", item.id, item.text));
        head.iter()
            .map(|h| h.to_string())
            .chain(items)
            .chain(tail.iter().map(|h| h.to_string()))
            .collect()
    }

    /// The first line of the compact task list: what is the same on every row, said once.
    fn compact_heading(&self, marks: &DrawMarks) -> String {
        let m = self.m;
        let notes = marks.notes();
        format!(
            "{} {} 检查任务清单{}　完成期限 {}。每行一个检查对象，每个检查项一列：填写检查结果类别（{}）。{}",
            m.matter_name,
            period_label(&m.period.id),
            marks.labels(),
            m.due_date,
            RESULT_CATEGORIES.join("、"),
            notes
        )
    }

    /// The compact task row of the staffed target `s`: its result cells empty.
    fn compact(&self, s: &Selected) -> Vec<String> {
        let address = self
            .targets
            .of(s)
            .map(|t| t.address.to_string())
            .unwrap_or_default();
        let mut row = vec![
            self.draw_ref.to_string(),
            s.target_id.clone(),
            s.target_name.clone(),
            address,
            team_label(&s.team, self.inspectors),
        ];
        row.resize(
            COMPACT_TASK_HEADER.len() + self.matter.checklist.len(),
            String::new(),
        );
        row
    }

    /// How a workbook of this list's rows is laid out.
    fn layout(&self, compact: bool) -> Layout {
        if !compact {
            return Layout {
                header: TASK_HEADER.iter().map(|h| h.to_string()).collect(),
                widths: vec![(4, 24.0), (5, 28.0), (6, 24.0), (8, 50.0), (10, 28.0)],
                results: (10, 10),
                wrap_header: false,
            };
        }
        let items = self.matter.checklist.len() as u16;
        let mut widths = vec![(2, 24.0), (3, 28.0), (4, 24.0)];
        widths.extend((5..5 + items).map(|c| (c, 20.0)));
        widths.push((7 + items, 24.0));
        Layout {
            header: self.compact_header(),
            widths,
            results: (5, 4 + items.max(1)),
            wrap_header: true,
        }
    }
}

/// A task workbook's columns: the header (wrapped in its cells, or on one line: a compact
/// workbook's, which is also always written in constant-memory mode), column widths and the result
/// columns (first, last) that take a category from the list.
struct Layout {
    header: Vec<String>,
    widths: Vec<(u16, f64)>,
    results: (u16, u16),
    wrap_header: bool,
}

/// The task list as a workbook of `count` rows, written as `rows` makes them. Its recorded creation
/// time is the draw's reference date, not the moment it is written, so the same draw always gives
/// the same bytes from the same build (the draw's folder can be regenerated from the database, the
/// workbook with the same parts). A marked draw's sheet starts with its `heading` (补抽, 临时, 模拟)
/// across the columns, above the header row. A sheet of more than [`LOW_MEMORY_ROWS`] rows (and a
/// large draw's compact sheet) is written in `rust_xlsxwriter`'s constant-memory mode: each row
/// goes to a temporary file once the next one starts, its text in the cells themselves (inline
/// strings) instead of a table of shared strings that every cell is looked up in (at national scale
/// a tenth of the documents' time, for files a fifth smaller). Its rows then carry no `spans`
/// attribute (an optional hint for readers).
fn xlsx(
    layout: &Layout,
    rows: impl Iterator<Item = Vec<String>>,
    count: usize,
    created: chrono::NaiveDate,
    heading: Option<&str>,
) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{DataValidation, Format};
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut wb = super::dated_workbook(created)?;
    if count > LOW_MEMORY_ROWS {
        // A large sheet is deflated at the fastest level: a quarter of a national draw's
        // documents' time at the default level, for a file about a fifth larger.
        wb.set_zip_compression_level(1);
    }
    let ws = if count > LOW_MEMORY_ROWS || layout.wrap_header {
        wb.add_worksheet_with_constant_memory().map_err(e)?
    } else {
        wb.add_worksheet()
    };
    ws.set_name("检查任务").map_err(e)?;
    let bold = if layout.wrap_header {
        Format::new().set_bold().set_text_wrap()
    } else {
        Format::new().set_bold()
    };
    // The header row: the first row, or the second under a marked draw's heading.
    let top = u32::from(heading.is_some());
    ws.set_freeze_panes(top + 1, 0).map_err(e)?;
    for &(c, w) in &layout.widths {
        ws.set_column_width(c, w).map_err(e)?;
    }
    if let Some(heading) = heading {
        let wrap = Format::new().set_bold().set_text_wrap();
        ws.set_row_height(0, 45).map_err(e)?;
        ws.merge_range(0, 0, 0, layout.header.len() as u16 - 1, heading, &wrap)
            .map_err(e)?;
    }
    if layout.wrap_header {
        ws.set_row_height(top, 60).map_err(e)?;
    }
    for (c, h) in layout.header.iter().enumerate() {
        ws.write_string_with_format(top, c as u16, h, &bold)
            .map_err(e)?;
    }
    for (r, row) in rows.enumerate() {
        // Each cell's text handed over, not copied (the writer keeps a `String`): a national
        // draw's task workbooks hold millions of cells.
        for (c, v) in row.into_iter().enumerate() {
            ws.write_string(top + r as u32 + 1, c as u16, v)
                .map_err(e)?;
        }
    }
    if count > 0 {
        let dv = DataValidation::new()
            .allow_list_strings(&RESULT_CATEGORIES)
            .map_err(e)?;
        let (first, last) = layout.results;
        ws.add_data_validation(top + 1, first, top + count as u32, last, &dv)
            .map_err(e)?;
    }
    wb.save_to_buffer().map_err(e)
}

/// The checklist's items in order, each with the name of the group it starts: a joint visit's
/// sheet lists each matter's checklist under the matter's name.
fn grouped(matter: &Matter) -> impl Iterator<Item = (Option<&str>, &ChecklistItem)> {
    let mut group: Option<&str> = None;
    matter.checklist.iter().map(move |item| {
        let starts =
            matter.joint.is_some() && item.group.is_some() && item.group.as_deref() != group;
        if starts {
            group = item.group.as_deref();
        }
        (group.filter(|_| starts), item)
    })
}

/// Printable task sheets: one page per staffed target of `sheets`.
fn team_sheets<'a>(
    (m, sheets): (&Manifest, impl Iterator<Item = &'a Selected>),
    matter: &Matter,
    targets: &ById<'_>,
    inspectors: &HashMap<&str, &Inspector>,
    marks: &DrawMarks,
) -> String {
    let mut h = String::new();
    let title = format!(
        "{} {} 检查任务单{}",
        m.matter_name,
        period_label(&m.period.id),
        marks.labels()
    );
    let _ = writeln!(
        h,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title><style>\
body{{font-family:'FangSong','仿宋','Noto Serif CJK SC',serif;margin:2em;font-size:14pt}}\
.sheet{{page-break-after:always;margin-bottom:3em}}h1{{font-size:18pt;text-align:center}}\
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #333;padding:.3em .5em;vertical-align:top}}\
.box{{display:inline-block;width:1em;height:1em;border:1px solid #333;margin-right:.3em}}</style></head><body>",
        esc(&title)
    );
    for s in sheets.filter(|s| s.unstaffed.is_none()) {
        let t = targets.of(s);
        let _ = write!(
            h,
            "<section class=\"sheet\"><h1>{}</h1><table>\
<tr><th>检查对象</th><td>{}（{}）</td></tr><tr><th>地址</th><td>{}</td></tr>\
<tr><th>检查人员</th><td>{}</td></tr><tr><th>完成期限</th><td>{}</td></tr>\
<tr><th>抽取依据</th><td>抽取编号 {}，种子 {}…，排序 {}；{}{}</td></tr></table>\n<h2>检查内容</h2><table><tr><th>编号</th><th>内容</th><th>结果</th></tr>\n",
            esc(&title),
            esc(&s.target_name),
            esc(&s.target_id),
            esc(t.map_or("", |t| t.address)),
            esc(&team_label(&s.team, inspectors)),
            m.due_date,
            esc(&m.manifest_hash[..12.min(m.manifest_hash.len())]),
            esc(&m.seed[..12.min(m.seed.len())]),
            s.rank,
            esc(&marks.when()),
            esc(&marks.notes())
        );
        for (group, item) in grouped(matter) {
            if let Some(group) = group {
                let _ = writeln!(h, "<tr><th colspan=\"3\">{}</th></tr>", esc(group));
            }
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td><span class=\"box\"></span>未发现问题 <span class=\"box\"></span>发现问题</td></tr>",
                esc(&item.id),
                esc(&item.text)
            );
        }
        h.push_str("</table><p>检查日期：__________　　检查人员签名：__________　__________</p></section>\n");
    }
    h.push_str("</body></html>\n");
    h
}

/// A public field of a target, by config name.
pub(crate) fn public_field(model: &Model, t: &Target, field: &str) -> String {
    public_cell(model, &TargetCells::of(t), field)
}

/// A public field of a target as the documents read it, by config name.
fn public_cell(model: &Model, t: &TargetCells<'_>, field: &str) -> String {
    match field {
        "id" => t.id.to_string(),
        "name" => t.name.to_string(),
        "category" => model
            .config
            .categories
            .get(t.category)
            .cloned()
            .unwrap_or_else(|| t.category.to_string()),
        "district" => t.district.to_string(),
        "address" => t.address.to_string(),
        "licence" => t.licence.to_string(),
        _ => String::new(),
    }
}

/// Chinese column name of a public field.
pub(crate) fn public_field_label(field: &str) -> &'static str {
    match field {
        "id" => "对象编号",
        "name" => "对象名称",
        "category" => "类别",
        "district" => "所属区域",
        "address" => "地址",
        "licence" => "许可证号",
        _ => "",
    }
}

/// The public list as a page: drawn targets with public fields only, how and when they were
/// drawn, and what anyone needs to check the draw.
fn public_html(
    model: &Model,
    m: &Manifest,
    marks: &DrawMarks,
    header: &[&str],
    public_rows: Vec<Vec<String>>,
) -> Vec<u8> {
    let mut doc = crate::output::doc::Document::new(format!(
        "{} {} 抽查对象名单{}",
        m.matter_name,
        period_label(&m.period.id),
        marks.labels()
    ));
    doc.push(crate::output::doc::Block::Title(format!(
        "{}“双随机”抽查对象名单{}",
        model.config.bureau.name,
        marks.labels()
    )));
    doc.push(crate::output::doc::Block::Subtitle(format!(
        "{}（{}）　{}",
        m.matter_name,
        period_label(&m.period.id),
        marks.when()
    )));
    if !marks.notes().is_empty() {
        doc.para(marks.notes());
    }
    doc.para(how_to_check(m));
    doc.table(header, public_rows);
    crate::output::doc::html(&doc).into_bytes()
}

/// What the public list says of how the draw can be checked, and by whom: anyone, from the
/// public bundle published beside it (a draw whose manifest records one); otherwise those who
/// hold its manifest and registry snapshot (an auditor), which are not public.
fn how_to_check(m: &Manifest) -> String {
    let drawn = format!(
        "本次抽取按公开算法 {} 进行，随机种子 {}（来源：{}），名录库快照 {}，抽取清单校验值 {}。",
        m.algorithm,
        m.seed,
        seed_source_text(&m.seed_source),
        m.registry.targets_snapshot,
        m.manifest_hash
    );
    match &m.public_bundle {
        Some(bundle) => format!(
            "{drawn}公开数据包 {}（校验值 {bundle}）与本名单一同公开，列出本次全部可抽对象\
             （编号、分层、权重）、排除情况和抽中结果，不含执法人员信息；任何人可用它按公开算法\
             复核抽取结果（suiji verify --bundle {}，或公示网站上的浏览器复核）。",
            crate::draw::bundle::PUBLIC_FILE,
            crate::draw::bundle::PUBLIC_FILE,
        ),
        None => format!(
            "{drawn}本次抽取早于公开数据包：持有抽取清单和名录库快照的审计人员可据此复核抽取结果。"
        ),
    }
}

/// A draw's manifest as its folder keeps it (`manifest.json`), handed to `put` as it is
/// written.
pub fn manifest_file(m: &Manifest, put: &mut Put<'_>) -> Result<(), String> {
    put(
        MANIFEST_FILE.to_string(),
        Body::Written(Box::new(|out: &mut dyn std::io::Write| {
            m.write_file_json(out)
        })),
    )
}

/// The name of a draw's manifest in its folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// A draw's documents (task lists and sheets, the public list, the exclusions file), each
/// handed to `put` as soon as it is rendered (so no more than one document is held at a time,
/// and the task rows of at most one district). Its folder holds them beside its manifest
/// ([`manifest_file`]).
#[allow(clippy::too_many_arguments)]
pub fn documents(
    model: &Model,
    draw_ref: &str,
    m: &Manifest,
    matter: &Matter,
    targets: DrawnCells,
    inspectors: &[Inspector],
    marks: &DrawMarks,
    put: &mut Put<'_>,
) -> Result<(), String> {
    let tmap = targets.by_id(&m.selected);
    let imap: HashMap<&str, &Inspector> = inspectors.iter().map(|i| (i.id.as_str(), i)).collect();
    let rows = TaskRows {
        draw_ref,
        m,
        matter,
        targets: &tmap,
        inspectors: &imap,
    };
    let split = staffed(m).count() > SPLIT_ABOVE;
    if split {
        let heading = rows.compact_heading(marks);
        compact_tasks_csv(&rows, &heading, put)?;
        tasks_by_district(&rows, &heading, put)?;
        sheets_by_district(&rows, marks, put)?;
    } else {
        let heading = marks.heading(&format!(
            "{} {} 检查任务清单",
            m.matter_name,
            period_label(&m.period.id)
        ));
        let heading = heading.as_deref();
        // The task rows are made as the file is written, a target at a time, never all held.
        put(
            "tasks.csv".to_string(),
            Body::Written(Box::new(|out: &mut dyn std::io::Write| {
                crate::results::safe_cell::write_headed_csv_rows(
                    out,
                    heading,
                    &TASK_HEADER,
                    staffed(m).flat_map(|s| rows.of(s)),
                )
            })),
        )?;
        let count = staffed(m).count() * matter.checklist.len();
        let all = staffed(m).flat_map(|s| rows.of(s));
        let book = xlsx(&rows.layout(false), all, count, m.reference_date, heading)?;
        put("tasks.xlsx".to_string(), book.into())?;
        let sheets = team_sheets((m, m.selected.iter()), matter, &tmap, &imap, marks);
        put("teams.html".to_string(), sheets.into_bytes().into())?;
    }
    public_files(model, m, marks, &tmap, split, put)
}

/// The compact `tasks.csv` of a large draw: its `heading` first, then a row per staffed target,
/// made as the file is written.
fn compact_tasks_csv(rows: &TaskRows<'_>, heading: &str, put: &mut Put<'_>) -> Result<(), String> {
    let header = rows.compact_header();
    put(
        "tasks.csv".to_string(),
        Body::Written(Box::new(move |out: &mut dyn std::io::Write| {
            crate::results::safe_cell::write_headed_csv_rows(
                out,
                Some(heading),
                &header,
                staffed(rows.m).map(|s| rows.compact(s)),
            )
        })),
    )
}

/// The public list of a draw (drawn targets with public fields only, never inspectors' data):
/// `public.csv` whole, the HTML page whole or (`split`) one per district; and the exclusions
/// file when the draw lists too many exclusions for the database. The rows are made as each
/// file is written: the CSV a target at a time, the pages a district at a time.
fn public_files(
    model: &Model,
    m: &Manifest,
    marks: &DrawMarks,
    tmap: &ById<'_>,
    split: bool,
    put: &mut Put<'_>,
) -> Result<(), String> {
    let fields = &model.config.public_fields;
    let mut header: Vec<&str> = vec!["抽查事项", "期次", "抽取日期"];
    header.extend(fields.iter().map(|f| public_field_label(f)));
    let (period, drawn) = (period_label(&m.period.id), marks.drawn_date());
    let drawn = format!("{drawn}{}", marks.labels());
    let public_row = |s: &Selected| -> Vec<String> {
        let mut row = vec![m.matter_name.clone(), period.clone(), drawn.clone()];
        match tmap.of(s) {
            Some(t) => row.extend(fields.iter().map(|f| public_cell(model, &t, f))),
            None => row.extend(fields.iter().map(|_| String::new())),
        }
        row
    };
    let heading = marks.heading(&format!("{}“双随机”抽查对象名单", model.config.bureau.name));
    put(
        "public.csv".into(),
        Body::Written(Box::new(|out: &mut dyn std::io::Write| {
            crate::results::safe_cell::write_headed_csv_rows(
                out,
                heading.as_deref(),
                &header,
                m.selected.iter().map(public_row),
            )
        })),
    )?;
    if let Some((name, bytes)) = exclusions_file(m) {
        put(name, bytes.into())?;
    }
    if split {
        let mut by: BTreeMap<&str, Vec<&Selected>> = BTreeMap::new();
        for s in &m.selected {
            by.entry(district_of(tmap, s)).or_default().push(s);
        }
        for (district, drawn) in by {
            let name = format!("public-{}.html", file_part(district));
            let rows = drawn.into_iter().map(public_row).collect();
            put(name, public_html(model, m, marks, &header, rows).into())?;
        }
    } else {
        let rows = m.selected.iter().map(public_row).collect();
        let page = public_html(model, m, marks, &header, rows);
        put("public.html".into(), page.into())?;
    }
    Ok(())
}

/// `exclusions.csv`, when the draw excluded more targets than the database lists one by one.
fn exclusions_file(m: &Manifest) -> Option<(String, Vec<u8>)> {
    if m.exclusions.len() <= crate::results::year::EXCLUSIONS_LISTED_UP_TO {
        return None;
    }
    let rows: Vec<Vec<String>> = m
        .exclusions
        .iter()
        .map(|e| {
            vec![
                e.target_id.clone(),
                crate::rules::names::reason_text(&e.reason),
                e.detail.clone(),
            ]
        })
        .collect();
    let header = ["编号", "排除原因", "说明"];
    let csv = crate::results::safe_cell::csv_document(&header, &rows);
    Some(("exclusions.csv".into(), csv))
}

/// The district of the target of a selection ("" when unknown).
fn district_of<'t>(targets: &'t ById<'_>, s: &Selected) -> &'t str {
    targets.of(s).map_or("", |t| t.district)
}

/// How the documents name an empty district (a target's or an inspector's).
const NO_DISTRICT: &str = "未分区";

/// A name as part of a file name: characters no file system takes become `_`; an empty one
/// is [`NO_DISTRICT`].
fn file_part(name: &str) -> String {
    if name.is_empty() {
        return NO_DISTRICT.into();
    }
    name.chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '.' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect()
}

/// The name of a district's file `(prefix, extension)`: `prefix-<district>.ext`, or when the
/// district's rows take `parts` files, `prefix-<district>-<n>.ext` for the `n`th.
fn part_name((prefix, ext): (&str, &str), district: &str, (n, parts): (usize, usize)) -> String {
    match parts {
        1 => format!("{prefix}-{}{ext}", file_part(district)),
        _ => format!("{prefix}-{}-{n}{ext}", file_part(district)),
    }
}

/// The task workbook by district, in the compact form (a row per target), each district's rows
/// made when its workbook is written.
fn tasks_by_district(rows: &TaskRows<'_>, heading: &str, put: &mut Put<'_>) -> Result<(), String> {
    let m = rows.m;
    let layout = rows.layout(true);
    let mut by: BTreeMap<&str, Vec<&Selected>> = BTreeMap::new();
    for s in staffed(m) {
        by.entry(district_of(rows.targets, s)).or_default().push(s);
    }
    for (district, drawn) in by {
        let total = drawn.len();
        let mut made = drawn.into_iter().map(|s| rows.compact(s));
        let sheets = total.div_ceil(SHEET_ROWS).max(1);
        for n in 0..sheets {
            let name = part_name(("tasks", ".xlsx"), district, (n + 1, sheets));
            let count = (total - n * SHEET_ROWS).min(SHEET_ROWS);
            let chunk = made.by_ref().take(count);
            let book = xlsx(&layout, chunk, count, m.reference_date, Some(heading))?;
            put(name, book.into())?;
        }
    }
    Ok(())
}

/// Inspectors' sheets a district's file holds at most, and target rows (beyond them an
/// inspector's sheet starts the next file; one inspector's sheet is never split): a file a
/// browser opens and prints at once, a few megabytes.
const SHEETS_PER_FILE: usize = 1_000;
const SHEET_ROWS_PER_FILE: usize = 20_000;

/// The printable task sheets by inspector, compact (`sheet`): each inspector's sheet lists the
/// targets of every team they are in, a row each, under the checklist said once. The sheets
/// are gathered by the inspector's district (区域) into `teams-<district>.html`, in the order
/// of the inspectors' ids, numbered `-1`, `-2`, … when a district's sheets take more than one
/// file ([`SHEETS_PER_FILE`]): a national draw staffs tens of thousands of inspectors, whose
/// files one by one nobody could find their way in, and the file system makes slowly.
fn sheets_by_district(
    rows: &TaskRows<'_>,
    marks: &DrawMarks,
    put: &mut Put<'_>,
) -> Result<(), String> {
    // Each member's targets gathered by id (hashed: a national draw has tens of thousands of
    // members and 735,000 places), the members then put in order of id within their district.
    let mut by: HashMap<&str, Vec<&Selected>> = HashMap::default();
    for s in staffed(rows.m) {
        for id in &s.team {
            by.entry(id.as_str()).or_default().push(s);
        }
    }
    let mut areas: BTreeMap<&str, Vec<sheet::Sheet<'_>>> = BTreeMap::new();
    for (id, drawn) in by {
        let inspector = rows.inspectors.get(id);
        let name = inspector.map_or("", |i| i.name.as_str());
        let area = inspector.map_or("", |i| i.area.as_str());
        areas
            .entry(area)
            .or_default()
            .push(sheet::Sheet { id, name, drawn });
    }
    for (area, mut sheets) in areas {
        sheets.sort_unstable_by(|a, b| a.id.cmp(b.id));
        let lengths: Vec<usize> = sheets.iter().map(|s| s.drawn.len()).collect();
        let parts = sheet_parts(&lengths);
        for (n, part) in parts.iter().enumerate() {
            let name = part_name(("teams", ".html"), area, (n + 1, parts.len()));
            let html = sheet::district_sheets(
                rows,
                area,
                (n + 1, parts.len()),
                &sheets[part.clone()],
                marks,
            );
            put(name, html.into_bytes().into())?;
        }
    }
    Ok(())
}

/// The files a district's sheets go in, as ranges of them, from each sheet's rows (`lengths`):
/// each file at most [`SHEETS_PER_FILE`] sheets and [`SHEET_ROWS_PER_FILE`] rows, or one sheet
/// alone.
fn sheet_parts(lengths: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut parts = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, &n) in lengths.iter().enumerate() {
        let full = i - start == SHEETS_PER_FILE || rows + n > SHEET_ROWS_PER_FILE;
        if i > start && full {
            parts.push(start..i);
            (start, rows) = (i, 0);
        }
        rows += n;
    }
    parts.push(start..lengths.len());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader as _};

    /// The cells of a workbook's first sheet, as text.
    fn cells(book: Vec<u8>) -> Vec<Vec<String>> {
        let mut wb =
            calamine::open_workbook_auto_from_rs(std::io::Cursor::new(book)).expect("open");
        let range = wb.worksheet_range_at(0).expect("a sheet").expect("read");
        range
            .rows()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Data::String(s) => s.clone(),
                        Data::Empty => String::new(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect()
    }

    /// A selection is found by its place only when it is the very element of the slice: an
    /// equal value elsewhere, or an element of another slice, is not placed.
    #[test]
    fn a_place_is_found_only_for_the_slices_own_elements() {
        let all = vec!["a".to_string(), "b".to_string(), "b".to_string()];
        for (i, x) in all.iter().enumerate() {
            assert_eq!(place_in(&all, x), Some(i));
        }
        let other = "b".to_string();
        assert_eq!(place_in(&all, &other), None);
        let empty: Vec<String> = Vec::new();
        assert_eq!(place_in(&empty, &all[0]), None);
        let units = [(), ()];
        assert!(place_in(&units, &units[1]).is_some());
    }

    /// A sheet written in constant-memory mode (above `LOW_MEMORY_ROWS` rows, its text inline)
    /// reads back cell for cell as written, under the heading and the header, like one held
    /// whole.
    #[test]
    fn a_constant_memory_task_sheet_reads_back_as_written() {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).expect("date");
        let row = |i: usize| (0..TASK_HEADER.len()).map(|c| format!("{i}-{c}")).collect();
        for n in [3, LOW_MEMORY_ROWS + 3] {
            let layout = Layout {
                header: TASK_HEADER.iter().map(|h| h.to_string()).collect(),
                widths: Vec::new(),
                results: (10, 10),
                wrap_header: false,
            };
            let book = xlsx(&layout, (0..n).map(row), n, day, Some("补抽")).expect("workbook");
            let read = cells(book);
            assert_eq!(read.len(), n + 2, "{n} rows");
            assert_eq!(read[0][0], "补抽");
            assert_eq!(read[1][0], TASK_HEADER[0]);
            for i in [0, n / 2, n - 1] {
                assert_eq!(read[i + 2], row(i) as Vec<String>, "row {i} of {n}");
            }
        }
    }

    /// A district's sheets fill a file up to its count of sheets or of rows; a sheet longer
    /// than a file's rows has one of its own; every sheet is in exactly one file, in order.
    #[test]
    fn a_districts_sheets_are_cut_into_files_by_sheets_and_rows() {
        assert_eq!(sheet_parts(&[]), vec![0..0]);
        assert_eq!(sheet_parts(&[5, 7]), vec![0..2]);
        let many = vec![1; SHEETS_PER_FILE * 2 + 1];
        let cut = [0..SHEETS_PER_FILE, SHEETS_PER_FILE..SHEETS_PER_FILE * 2];
        let mut expected = cut.to_vec();
        expected.push(SHEETS_PER_FILE * 2..SHEETS_PER_FILE * 2 + 1);
        assert_eq!(sheet_parts(&many), expected);
        let half = SHEET_ROWS_PER_FILE / 2;
        let long = [half, half, 1, SHEET_ROWS_PER_FILE * 3, 2];
        assert_eq!(sheet_parts(&long), vec![0..2, 2..3, 3..4, 4..5]);
    }
}
