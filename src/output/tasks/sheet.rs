//! The compact printable task sheet of a large draw, one per inspector: what is the same for
//! every target (the matter, the period, the due date, how the targets were drawn, the
//! checklist with its text) said once at the top, then a table of the inspector's targets, a
//! row each, with an empty result column per checklist item. A target's row costs about as
//! much as its name, address and fellow members take; a page per target (the county-sized
//! `teams.html`) repeats the whole checklist for each.

use std::fmt::Write as _;

use super::{TaskRows, grouped, team_label_of};
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
.legend{font-size:11pt}\
@page{size:A4 landscape;margin:12mm}@media print{body{margin:0}}";

/// Bytes of a target's row in a sheet besides its result cells: its number, id, name, address
/// and fellow members with their markup (about 150 in the national bench).
const ROW_BYTES: usize = 192;

/// The compact task sheet of the inspector `(id, name)` over the staffed targets `drawn` (the
/// targets of every team they are in, in the manifest's order).
pub(super) fn inspector_sheet(
    rows: &TaskRows<'_>,
    (id, name): (&str, &str),
    drawn: &[&Selected],
    marks: &DrawMarks,
) -> String {
    let (m, matter) = (rows.m, rows.matter);
    let who = if name.is_empty() {
        id.to_string()
    } else {
        format!("{name}（{id}）")
    };
    let title = format!(
        "{} {} 检查任务单{}",
        m.matter_name,
        period_label(&m.period.id),
        marks.labels()
    );
    let mut h = String::with_capacity(4096);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}　{}</title>\
<style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<table class=\"info\">\
<tr><th>检查人员<td>{}<tr><th>检查对象<td>{} 家，见下表（每行一家）\
<tr><th>完成期限<td>{}<tr><th>抽取依据<td>抽取编号 {}，种子 {}…；{}</table>\n{}",
        esc(&title),
        esc(&who),
        esc(&title),
        esc(&who),
        drawn.len(),
        m.due_date,
        esc(&m.manifest_hash[..12.min(m.manifest_hash.len())]),
        esc(&m.seed[..12.min(m.seed.len())]),
        esc(&marks.when()),
        match marks.notes() {
            n if n.is_empty() => String::new(),
            n => format!("<p>{}</p>\n", esc(&n)),
        }
    );
    checklist(&mut h, rows);
    h.push_str(
        "<p class=\"legend\">每个检查项一栏：未发现问题填 √，发现问题填 ×，并在备注栏写明情况；\
录入结果时按检查结果类别填写。</p>\n<h2>检查对象</h2>\n<table class=\"targets\"><thead><tr>\
<th>序号<th>对象编号<th>对象名称<th>地址<th>同组人员",
    );
    for item in &matter.checklist {
        let _ = write!(h, "<th class=\"r\">{}", esc(&item.id));
    }
    h.push_str("<th class=\"d\">检查日期<th class=\"m\">备注</thead><tbody>\n");
    let cells = "<td class=\"r\">".repeat(matter.checklist.len());
    h.reserve(drawn.len() * (ROW_BYTES + cells.len()));
    for (n, s) in drawn.iter().enumerate() {
        let address = rows.targets.of(s).map_or("", |t| t.address);
        let others = s.team.iter().map(String::as_str).filter(|m| *m != id);
        let others = team_label_of(others, rows.inspectors);
        let _ = write!(h, "<tr><td class=\"n\">{}", n + 1);
        for cell in [s.target_id.as_str(), &s.target_name, address, &others] {
            h.push_str("<td>");
            h.push_str(&esc(cell));
        }
        h.push_str(&cells);
        h.push_str("<td><td>\n");
    }
    h.push_str(
        "</tbody></table>\n<p>检查人员签名：__________　　日期：__________</p>\n</body></html>\n",
    );
    h
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
