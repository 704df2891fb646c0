//! The compact printable task sheets of a large draw, by inspector, gathered in a file per
//! district: each inspector's sheet says what is the same for every target (the matter, the
//! period, the due date, how the targets were drawn, the checklist with its text) once at its
//! top, then lists the inspector's targets in a table, a row each, with an empty result column
//! per checklist item. A target's row costs about as much as its name, address and fellow
//! members take; a page per target (the county-sized `teams.html`) repeats the whole checklist
//! for each. A file opens with its contents (each inspector, linked to their sheet) and starts
//! every sheet on a new printed page, so that a district's office prints one file and hands
//! each inspector their pages.

use std::fmt::Write as _;

use super::{NO_DISTRICT, TaskRows, grouped, team_label_of};
use crate::draw::manifest::Selected;
use crate::output::doc::esc;
use crate::rules::names::period_label;
use crate::schedule::marks::DrawMarks;

/// The page's style: the official-document face, a landscape page, the targets' header row
/// repeated on each printed page and rows never split across pages.
const STYLE: &str = "body{font-family:'FangSong','仿宋','Noto Serif CJK SC',serif;margin:1.5em;font-size:12pt}\
h1{font-size:18pt;text-align:center;margin:.2em 0}h2{font-size:14pt;margin:1em 0 .3em}\
table{border-collapse:collapse}td,th{border:1px solid #333;padding:.2em .4em;vertical-align:top}\
th{background:#eee;font-weight:bold}.info th{text-align:left;white-space:nowrap}\
.items td:first-child{white-space:nowrap}.targets{width:100%;font-size:10.5pt}\
.targets thead{display:table-header-group}.targets tr{page-break-inside:avoid}\
.targets td.r{width:3.2em}.targets td.n{text-align:right;color:#555}\
.targets th.r{font-size:9pt;white-space:nowrap}.targets th.d{width:6em}.targets th.m{width:10em}\
.legend{font-size:11pt}.contents td.n{text-align:right}section{break-before:page}\
@page{size:A4 landscape;margin:12mm}@media print{body{margin:0}}";

/// Bytes of a target's row in a sheet besides its result cells: its number, id, name, address
/// and fellow members with their markup (about 150 in the national bench).
const ROW_BYTES: usize = 192;

/// An inspector's sheet in a district's file: who, and the staffed targets `drawn` of every
/// team they are in (in the manifest's order).
pub(super) struct Sheet<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub drawn: Vec<&'a Selected>,
}

/// The task sheets `sheets` of inspectors of `area` (their 区域) in one printable file; `part`
/// is (this part, parts) when the district's sheets take more than one file.
pub(super) fn district_sheets(
    rows: &TaskRows<'_>,
    area: &str,
    part: (usize, usize),
    sheets: &[Sheet<'_>],
    marks: &DrawMarks,
) -> String {
    let m = rows.m;
    let title = format!(
        "{} {} 检查任务单{}",
        m.matter_name,
        period_label(&m.period.id),
        marks.labels()
    );
    let area = if area.is_empty() { NO_DISTRICT } else { area };
    let whose = match part {
        (_, 1) => area.to_string(),
        (n, parts) => format!("{area}，第 {n} 部分，共 {parts} 部分"),
    };
    let targets: usize = sheets.iter().map(|s| s.drawn.len()).sum();
    let cells = "<td class=\"r\">".repeat(rows.matter.checklist.len());
    let mut h =
        String::with_capacity(4096 + sheets.len() * 2048 + targets * (ROW_BYTES + cells.len()));
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}（{}）</title>\
<style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<p>{}：检查人员 {} 名，每人一份任务单，\
各自从新的一页开始打印。</p>\n<table class=\"contents\"><tr><th>序号<th>检查人员<th>检查对象（家）\n",
        esc(&title),
        esc(&whose),
        esc(&title),
        esc(&whose),
        sheets.len(),
    );
    for (n, sheet) in sheets.iter().enumerate() {
        let _ = writeln!(
            h,
            "<tr><td class=\"n\">{}<td><a href=\"#p{}\">{}</a><td class=\"n\">{}",
            n + 1,
            n + 1,
            esc(&who(sheet)),
            sheet.drawn.len()
        );
    }
    h.push_str("</table>\n");
    for (n, sheet) in sheets.iter().enumerate() {
        let _ = writeln!(h, "<section id=\"p{}\">", n + 1);
        inspector_sheet(&mut h, rows, (&title, sheet), &cells, marks);
        h.push_str("</section>\n");
    }
    h.push_str("</body></html>\n");
    h
}

/// How a sheet names its inspector: 姓名（工号）, or the id alone.
fn who(sheet: &Sheet<'_>) -> String {
    if sheet.name.is_empty() {
        sheet.id.to_string()
    } else {
        format!("{}（{}）", sheet.name, sheet.id)
    }
}

/// One inspector's sheet, its `cells` the empty result cells of a row.
fn inspector_sheet(
    h: &mut String,
    rows: &TaskRows<'_>,
    (title, sheet): (&str, &Sheet<'_>),
    cells: &str,
    marks: &DrawMarks,
) {
    let (m, matter) = (rows.m, rows.matter);
    let _ = write!(
        h,
        "<h1>{}</h1>\n<table class=\"info\">\
<tr><th>检查人员<td>{}<tr><th>检查对象<td>{} 家，见下表（每行一家）\
<tr><th>完成期限<td>{}<tr><th>抽取依据<td>抽取编号 {}，种子 {}…；{}</table>\n{}",
        esc(title),
        esc(&who(sheet)),
        sheet.drawn.len(),
        m.due_date,
        esc(&m.manifest_hash[..12.min(m.manifest_hash.len())]),
        esc(&m.seed[..12.min(m.seed.len())]),
        esc(&marks.when()),
        match marks.notes() {
            n if n.is_empty() => String::new(),
            n => format!("<p>{}</p>\n", esc(&n)),
        }
    );
    checklist(h, rows);
    h.push_str(
        "<p class=\"legend\">每个检查项一栏：未发现问题填 √，发现问题填 ×，并在备注栏写明情况；\
录入结果时按检查结果类别填写。</p>\n<h2>检查对象</h2>\n<table class=\"targets\"><thead><tr>\
<th>序号<th>对象编号<th>对象名称<th>地址<th>同组人员",
    );
    for item in &matter.checklist {
        let _ = write!(h, "<th class=\"r\">{}", esc(&item.id));
    }
    h.push_str("<th class=\"d\">检查日期<th class=\"m\">备注</thead><tbody>\n");
    for (n, s) in sheet.drawn.iter().enumerate() {
        let address = rows.targets.of(s).map_or("", |t| t.address);
        let others = s.team.iter().map(String::as_str).filter(|m| *m != sheet.id);
        let others = team_label_of(others, rows.inspectors);
        let _ = write!(h, "<tr><td class=\"n\">{}", n + 1);
        for cell in [s.target_id.as_str(), &s.target_name, address, &others] {
            h.push_str("<td>");
            h.push_str(&esc(cell));
        }
        h.push_str(cells);
        h.push_str("<td><td>\n");
    }
    h.push_str("</tbody></table>\n<p>检查人员签名：__________　　日期：__________</p>\n");
}

/// The checklist, once: each item's id and text (a joint visit's items under their matter).
fn checklist(h: &mut String, rows: &TaskRows<'_>) {
    h.push_str("<h2>检查内容</h2>\n<table class=\"items\"><tr><th>编号<th>内容\n");
    for (group, item) in grouped(rows.matter) {
        if let Some(group) = group {
            let _ = writeln!(h, "<tr><th colspan=\"2\">{}", esc(group));
        }
        let _ = writeln!(h, "<tr><td>{}<td>{}", esc(&item.id), esc(&item.text));
    }
    h.push_str("</table>\n");
}
