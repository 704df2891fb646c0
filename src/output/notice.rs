//! Public notices of inspection results (一公开): per draw a standalone HTML page, a CSV and a
//! JSON feed, plus an index of every notice. Only target fields the config marks public appear;
//! inspectors, teams and remarks never do.

use std::fmt::Write as _;

use serde::Serialize;

use crate::output::doc::{Block, Document, esc};
use crate::output::tasks::public_field_label;
use crate::schedule::marks::DrawMarks;

/// Format id of the JSON feed; change only with a new value.
pub(crate) const NOTICE_FORMAT: &str = "suiji-notice/1";

/// One inspected target on a notice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeEntry {
    /// Public fields as (field id, value), in the config's order.
    #[serde(serialize_with = "fields_as_map")]
    pub fields: Vec<(String, String)>,
    /// Day the inspection ended (latest 检查日期).
    pub inspection_date: String,
    /// The overall result (未发现问题, or the problem categories found).
    pub result: String,
    /// Per checklist item: (item id, item text, category).
    pub items: Vec<NoticeItem>,
    /// Day the result was first published.
    pub published_on: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeItem {
    pub item: String,
    pub text: String,
    pub result: String,
}

fn fields_as_map<S: serde::Serializer>(
    fields: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(fields.len()))?;
    for (k, v) in fields {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

/// The notice of one draw. Its results are made one at a time as its files are written
/// ([`Entries`]): a national draw's notice never holds its whole list.
#[derive(Debug, Serialize)]
pub struct Notice<'a> {
    pub format: String,
    pub bureau: String,
    pub department: String,
    pub matter: String,
    pub matter_name: String,
    pub period: String,
    pub period_label: String,
    pub draw_id: i64,
    /// 抽取编号 (first 12 hex digits of the manifest hash).
    pub draw_ref: String,
    pub manifest_hash: String,
    pub issue_date: String,
    /// Targets drawn.
    pub drawn: usize,
    /// Of them, marked out of scope after the draw without a substitute (不在范围).
    #[serde(skip_serializing_if = "is_zero")]
    pub out_of_scope: usize,
    /// Where the notice is published (from the rules).
    pub channel: String,
    pub deadline_working_days: u32,
    /// Day of this publication.
    pub published_on: String,
    /// Public fields, in order.
    pub public_fields: Vec<String>,
    pub entries: Entries<'a>,
    /// How the draw was made (补抽, 临时, 模拟); left out of the feed when none applies.
    #[serde(skip_serializing_if = "DrawMarks::is_plain")]
    pub marks: DrawMarks,
    /// Of the results shown, how many were published after their deadline (the page says so
    /// beside the rule).
    #[serde(skip)]
    pub late: usize,
    /// Of the targets not shown, how many are past the draw's due date without a complete
    /// inspection (检查逾期) on the day of the notice.
    #[serde(skip)]
    pub overdue: usize,
    /// The draw's due date for its inspections.
    #[serde(skip)]
    pub due_date: String,
    /// How the page's closing lines are worded (notices published before they counted the
    /// late and overdue targets keep their first wording when made again).
    #[serde(skip)]
    pub wording: Wording,
}

/// The wording of a notice page's closing lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Wording {
    /// The rule stated as such, with how many of the results shown were published late, and
    /// the targets not shown told apart: past the due date, or still under way.
    #[default]
    Counted,
    /// As notices were first published: the rule alone, and every target not shown "待检查完成后
    /// 依期公示".
    First,
}

/// A notice's results, in order, each made when it is asked for.
pub struct Entries<'a> {
    len: usize,
    make: Box<dyn Fn(usize) -> NoticeEntry + Sync + 'a>,
}

impl<'a> Entries<'a> {
    /// `len` results, the `i`th (from 0) made by `make(i)`.
    pub fn new(len: usize, make: impl Fn(usize) -> NoticeEntry + Sync + 'a) -> Entries<'a> {
        Entries {
            len,
            make: Box::new(make),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The results from the `from`th (from 0) up to the `to`th, not included.
    pub fn range(&self, from: usize, to: usize) -> impl Iterator<Item = NoticeEntry> + '_ {
        (from..to.min(self.len)).map(|i| (self.make)(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = NoticeEntry> + '_ {
        self.range(0, self.len)
    }
}

impl std::fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Entries({})", self.len)
    }
}

/// The feed's list of results, each made as it is written.
impl Serialize for Entries<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len))?;
        for e in self.iter() {
            seq.serialize_element(&e)?;
        }
        seq.end()
    }
}

impl Notice<'_> {
    pub(crate) fn header(&self) -> Vec<String> {
        let mut h: Vec<String> = vec!["序号".into()];
        h.extend(
            self.public_fields
                .iter()
                .map(|f| public_field_label(f).to_string()),
        );
        h.extend(["检查日期", "检查结果", "公示日期"].map(String::from));
        h
    }

    /// The rows of the HTML pages, every result's.
    pub(crate) fn rows(&self) -> Vec<Vec<String>> {
        let rows = self.entries.iter().enumerate();
        rows.map(|(i, e)| self.row(i, &e)).collect()
    }

    /// The row of the `i`th result (from 0) on the HTML pages.
    fn row(&self, i: usize, e: &NoticeEntry) -> Vec<String> {
        let mut r = vec![(i + 1).to_string()];
        r.extend(e.fields.iter().map(|(_, v)| v.clone()));
        r.push(e.inspection_date.clone());
        r.push(e.result.clone());
        r.push(e.published_on.clone());
        r
    }

    /// The notice's files, as (file name, which): its HTML pages, then the whole list as CSV
    /// and JSON. The pages are `notice.html` alone when the results fit on one page
    /// ([`crate::output::pager::LIST_ROWS`]); else `notice.html` with the first, then
    /// `notice-page2.html`, … (the whole list is the CSV), each linking the first, the last and
    /// the nearby pages. Not `paged` (a notice published before notices had pages, rebuilt as
    /// it was written), every result is on `notice.html`.
    pub fn files(&self, paged: bool) -> Vec<(String, NoticeFile)> {
        let pages = if paged {
            crate::output::pager::pages(self.entries.len())
        } else {
            1
        };
        let mut files: Vec<(String, NoticeFile)> = if pages == 1 {
            vec![(page_name(1), NoticeFile::Whole)]
        } else {
            (1..=pages)
                .map(|k| (page_name(k), NoticeFile::Page(k)))
                .collect()
        };
        files.push(("notice.csv".to_string(), NoticeFile::Csv));
        files.push(("notice.json".to_string(), NoticeFile::Json));
        files
    }

    /// Writes one of the notice's [files](Notice::files) to `out`, a row at a time: a
    /// national notice's list is never held whole as text.
    pub fn write_file(
        &self,
        file: NoticeFile,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        match file {
            NoticeFile::Whole => out.write_all(self.page(self.rows(), None).as_bytes()),
            NoticeFile::Page(k) => out.write_all(self.html_page(k).as_bytes()),
            NoticeFile::Csv => self.write_csv(out),
            NoticeFile::Json => {
                serde_json::to_writer_pretty(&mut *out, self).map_err(std::io::Error::other)
            }
        }
    }

    /// Page `k` (from 1) of the paged HTML.
    fn html_page(&self, k: usize) -> String {
        use crate::output::pager::Pager;
        let pager = Pager::of(k, self.entries.len(), &page_name);
        let mut links = vec![(
            format!(
                "第 {k} 页，共 {} 页，每页 {} 户：",
                pager.pages, pager.per_page
            ),
            None,
        )];
        links.extend(pager.links.iter().cloned());
        let rows = self
            .entries
            .range(pager.first_row, pager.first_row + pager.per_page)
            .enumerate()
            .map(|(i, e)| self.row(pager.first_row + i, &e))
            .collect();
        self.page(rows, Some(links))
    }

    /// A page of the notice listing `rows`, with `links` to its other pages above and below
    /// them.
    fn page(&self, rows: Vec<Vec<String>>, links: Option<Vec<(String, Option<String>)>>) -> String {
        let labels = self.marks.labels();
        let mut doc = Document::new(format!(
            "{} {} 抽查结果公示{labels}",
            self.matter_name, self.period_label
        ));
        doc.push(Block::Title(format!(
            "{}“双随机、一公开”抽查结果公示{labels}",
            self.bureau
        )));
        doc.push(Block::Subtitle(format!(
            "{}（{}）　公示日期 {}",
            self.matter_name, self.period_label, self.published_on
        )));
        doc.para(format!(
            "根据“双随机、一公开”抽查工作计划，本机关于 {} 随机抽取检查对象 {} 户（抽取编号 {}，抽取清单校验值 {}）{}。现将已完成检查的 {} 户检查对象的抽查结果公示如下。",
            // A late draw was made on another day than its scheduled one: say the real day.
            if self.marks.late {
                self.marks.drawn_date()
            } else {
                self.issue_date.as_str()
            },
            self.drawn,
            self.draw_ref,
            self.manifest_hash,
            out_of_scope_clause(self.out_of_scope),
            self.entries.len()
        ));
        if !self.marks.notes().is_empty() {
            doc.para(self.marks.notes());
        }
        let header = self.header();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        if let Some(links) = &links {
            doc.push(Block::Links(links.clone()));
        }
        doc.table(&header, rows);
        if let Some(links) = links {
            doc.push(Block::Links(links));
        }
        doc.para(self.rule_text());
        if let Some(rest) = self.rest_text() {
            doc.para(rest);
        }
        crate::output::doc::html(&doc)
    }

    /// The publication rule, and how many of the results shown were published after it.
    fn rule_text(&self) -> String {
        if self.wording == Wording::First {
            return format!(
                "抽查结果按全国统一的抽查结果类别公示；检查结果自检查完成之日起 {} 个工作日内公示。公示渠道：{}。",
                self.deadline_working_days, self.channel
            );
        }
        let mut text = format!(
            "抽查结果按全国统一的抽查结果类别公示；按规定，检查结果应自检查完成之日起 {} 个工作日内公示。公示渠道：{}。",
            self.deadline_working_days, self.channel
        );
        if self.late > 0 {
            text.push_str(&format!(
                "本公示所列 {} 户中，{} 户的结果晚于该期限公示。",
                self.entries.len(),
                self.late
            ));
        }
        text
    }

    /// What the notice says of the drawn targets it does not show: those past the draw's due
    /// date without a complete inspection, and those whose inspection is still under way.
    fn rest_text(&self) -> Option<String> {
        let rest = self
            .drawn
            .saturating_sub(self.out_of_scope)
            .checked_sub(self.entries.len())
            .filter(|&n| n > 0)?;
        let overdue = match self.wording {
            Wording::First => 0,
            Wording::Counted => self.overdue.min(rest),
        };
        Some(match (overdue, rest - overdue) {
            (0, _) => format!("其余 {rest} 户检查对象的抽查结果，待检查完成后依期公示。"),
            (_, 0) => format!(
                "其余 {rest} 户检查对象已过检查完成期限（{}）仍未完成检查，其抽查结果待检查完成后公示。",
                self.due_date
            ),
            (o, pending) => format!(
                "其余 {rest} 户检查对象中，{o} 户已过检查完成期限（{}）仍未完成检查，{pending} 户检查尚在进行或结果待公示；其抽查结果待检查完成后公示。",
                self.due_date
            ),
        })
    }

    /// The CSV (UTF-8 with BOM, for Excel; cells safe to open, see
    /// [`crate::results::safe_cell`]); a marked draw's starts with a line that says so.
    fn write_csv(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut header = vec!["抽查事项".to_string(), "期次".to_string()];
        header.extend(self.header().into_iter().skip(1));
        header.push("抽取编号".into());
        let rows = self.entries.iter().map(|e| {
            let mut r = vec![self.matter_name.clone(), self.period_label.clone()];
            r.extend(e.fields.into_iter().map(|(_, v)| v));
            r.push(e.inspection_date);
            r.push(e.result);
            r.push(e.published_on);
            r.push(self.draw_ref.clone());
            r
        });
        let heading = self
            .marks
            .heading(&format!("{}“双随机、一公开”抽查结果公示", self.bureau));
        crate::results::safe_cell::write_headed_csv_rows(out, heading.as_deref(), &header, rows)
    }
}

/// One of a notice's files ([`Notice::files`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeFile {
    /// The one HTML page with every result.
    Whole,
    /// Page `k` (from 1) of the HTML pages.
    Page(usize),
    /// The whole list as CSV.
    Csv,
    /// The JSON feed.
    Json,
}

/// One line of the index of notices. The fields are in the order of their keys in
/// `index.json` (sorted, as the format has always written them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexEntry {
    pub drawn: usize,
    /// Folder of the notice, relative to the index.
    pub href: String,
    pub last_published: String,
    pub matter: String,
    pub matter_name: String,
    pub period: String,
    pub period_label: String,
    pub published: usize,
    pub year: String,
}

/// The index of notices as published (`index.json`, format `suiji-notice-index/1`); keys in
/// sorted order.
#[derive(Serialize)]
struct NoticeIndex<'a> {
    bureau: &'a str,
    format: &'static str,
    notices: &'a [IndexEntry],
    /// The notices come from a simulation database (模拟); absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    simulation: bool,
}

const INDEX_CSS: &str = "body{font-family:'Microsoft YaHei','PingFang SC','Noto Sans CJK SC',sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#111}\
h1{font-size:20pt;text-align:center}h2{font-size:14pt;margin-top:1.5em}\
table{border-collapse:collapse;width:100%;font-size:11pt}th,td{border:1px solid #999;padding:.3em .5em;text-align:left}th{background:#eee}";

/// The index page of every notice, newest year first; `simulation`: the notices come from a
/// simulation database, which the page says in its title and first lines (模拟).
pub fn index_html(bureau: &str, entries: &[IndexEntry], simulation: bool) -> String {
    let mut h = String::new();
    let mark = if simulation { "（模拟）" } else { "" };
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{0}“双随机、一公开”抽查结果公示{mark}</title>\n<style>{INDEX_CSS}</style>\n</head>\n<body>\n<h1>{0}“双随机、一公开”抽查结果公示{mark}</h1>",
        esc(bureau)
    );
    if simulation {
        let note = crate::schedule::marks::SIMULATION_NOTE;
        let _ = writeln!(h, "<p>{note}</p>");
    }
    let mut years: Vec<&str> = entries.iter().map(|e| e.year.as_str()).collect();
    years.sort_unstable_by(|a, b| b.cmp(a));
    years.dedup();
    if years.is_empty() {
        h.push_str("<p>尚无公示。</p>\n");
    }
    for y in years {
        let _ = writeln!(
            h,
            "<h2>{} 年度</h2>\n<table><thead><tr><th>抽查事项</th><th>期次</th><th>抽取户数</th><th>已公示户数</th><th>最近公示日期</th><th>公示文件</th></tr></thead><tbody>",
            esc(y)
        );
        for e in entries.iter().filter(|e| e.year == y) {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{href}/notice.html\">公示</a> · <a href=\"{href}/notice.csv\">CSV</a> · <a href=\"{href}/notice.json\">JSON</a></td></tr>",
                esc(&e.matter_name),
                esc(&e.period_label),
                e.drawn,
                e.published,
                esc(&e.last_published),
                href = esc(&e.href)
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// The index as JSON (`"simulation": true` when the notices come from a simulation database).
pub fn index_json(bureau: &str, entries: &[IndexEntry], simulation: bool) -> String {
    let index = NoticeIndex {
        bureau,
        format: "suiji-notice-index/1",
        notices: entries,
        simulation,
    };
    serde_json::to_string_pretty(&index).unwrap_or_default()
}

/// The file name of page `k` of a notice (from 1).
pub fn page_name(k: usize) -> String {
    match k {
        1 => "notice.html".to_string(),
        k => format!("notice-page{k}.html"),
    }
}

/// What a sentence counting drawn targets adds of the `n` marked out of scope after the draw
/// without a substitute (不在范围); nothing when there are none.
pub(crate) fn out_of_scope_clause(n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    format!("，其中 {n} 户抽取后经核实不在抽查范围、未替补")
}

/// Nothing to say: a count left out of the feed when it is zero.
fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `index.json` keeps its bytes: sorted keys, as when it was written from a JSON map.
    #[test]
    fn index_json_has_sorted_keys() {
        let entry = IndexEntry {
            drawn: 3,
            href: "2023/m/p/".to_string(),
            last_published: "2023-05-01".to_string(),
            matter: "m".to_string(),
            matter_name: "事项".to_string(),
            period: "2023-Q1".to_string(),
            period_label: "第一季度".to_string(),
            published: 2,
            year: "2023".to_string(),
        };
        let expected = r#"{
  "bureau": "局",
  "format": "suiji-notice-index/1",
  "notices": [
    {
      "drawn": 3,
      "href": "2023/m/p/",
      "last_published": "2023-05-01",
      "matter": "m",
      "matter_name": "事项",
      "period": "2023-Q1",
      "period_label": "第一季度",
      "published": 2,
      "year": "2023"
    }
  ]
}"#;
        assert_eq!(
            index_json("局", std::slice::from_ref(&entry), false),
            expected
        );
        let map = serde_json::json!({
            "format": "suiji-notice-index/1",
            "bureau": "局",
            "notices": [entry],
        });
        assert_eq!(
            serde_json::to_string_pretty(&map).unwrap_or_default(),
            expected
        );
        // A simulation database's index says so, in its JSON and on its page.
        let simulated = index_json("局", std::slice::from_ref(&entry), true);
        assert!(
            simulated.ends_with("  ],\n  \"simulation\": true\n}"),
            "{simulated}"
        );
        let page = index_html("局", std::slice::from_ref(&entry), true);
        assert!(page.contains("<h1>局“双随机、一公开”抽查结果公示（模拟）</h1>"));
        assert!(page.contains(crate::schedule::marks::SIMULATION_NOTE));
        assert!(!index_html("局", &[entry], false).contains("模拟"));
    }

    /// A notice of `drawn` targets showing `shown`, `late` of them published late, `overdue`
    /// of the rest past the due date.
    fn notice(drawn: usize, shown: usize, late: usize, overdue: usize) -> Notice<'static> {
        Notice {
            format: NOTICE_FORMAT.into(),
            bureau: "局".into(),
            department: "大队".into(),
            matter: "m".into(),
            matter_name: "事项".into(),
            period: "2023-H1".into(),
            period_label: "2023年上半年".into(),
            draw_id: 1,
            draw_ref: "abc".into(),
            manifest_hash: "abc".into(),
            issue_date: "2023-01-03".into(),
            drawn,
            out_of_scope: 0,
            channel: "门户网站".into(),
            deadline_working_days: 20,
            published_on: "2023-07-14".into(),
            public_fields: Vec::new(),
            entries: Entries::new(shown, |_| NoticeEntry {
                fields: Vec::new(),
                inspection_date: "2023-06-01".into(),
                result: "未发现问题".into(),
                items: Vec::new(),
                published_on: "2023-07-14".into(),
            }),
            marks: DrawMarks::default(),
            late,
            overdue,
            due_date: "2023-06-30".into(),
            wording: Wording::Counted,
        }
    }

    /// The closing lines say how many results were published late and which targets not
    /// shown are past their due date; a notice published before they did keeps its words.
    #[test]
    fn the_closing_lines_count_the_late_and_the_overdue_and_the_first_wording_stays() {
        let n = notice(16, 12, 10, 4);
        assert_eq!(
            n.rule_text(),
            "抽查结果按全国统一的抽查结果类别公示；按规定，检查结果应自检查完成之日起 20 个工作日内公示。公示渠道：门户网站。本公示所列 12 户中，10 户的结果晚于该期限公示。"
        );
        assert_eq!(
            n.rest_text().as_deref(),
            Some(
                "其余 4 户检查对象已过检查完成期限（2023-06-30）仍未完成检查，其抽查结果待检查完成后公示。"
            )
        );
        let n = notice(16, 12, 0, 1);
        assert!(!n.rule_text().contains("晚于"));
        assert_eq!(
            n.rest_text().as_deref(),
            Some(
                "其余 4 户检查对象中，1 户已过检查完成期限（2023-06-30）仍未完成检查，3 户检查尚在进行或结果待公示；其抽查结果待检查完成后公示。"
            )
        );
        assert_eq!(
            notice(16, 12, 0, 0).rest_text().as_deref(),
            Some("其余 4 户检查对象的抽查结果，待检查完成后依期公示。")
        );
        assert_eq!(notice(12, 12, 0, 0).rest_text(), None);
        let mut first = notice(16, 12, 10, 4);
        first.wording = Wording::First;
        assert_eq!(
            first.rule_text(),
            "抽查结果按全国统一的抽查结果类别公示；检查结果自检查完成之日起 20 个工作日内公示。公示渠道：门户网站。"
        );
        assert_eq!(
            first.rest_text().as_deref(),
            Some("其余 4 户检查对象的抽查结果，待检查完成后依期公示。")
        );
    }
}
