//! The year's accountability report (年度“双随机、一公开”抽查工作情况报告): HTML with SVG
//! charts, and XLSX with the same tables. Every figure comes from [`YearFigures`], which is
//! computed from the database; nothing here is typed in.

use crate::output::doc::{Block, Document};
use crate::output::svg::{Series, hbars, percent, vbars};
use crate::results::year::{Counts, YearFigures};
use crate::rules::names::{period_label, reason_text, unstaffed_text};

/// A table cell: text, a count, or a ratio (`None` = not applicable).
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    T(String),
    N(usize),
    P(Option<f64>),
}

impl V {
    fn text(&self) -> String {
        match self {
            V::T(s) => s.clone(),
            V::N(n) => n.to_string(),
            V::P(Some(p)) => percent(*p),
            V::P(None) => "—".into(),
        }
    }
}

fn t(s: impl Into<String>) -> V {
    V::T(s.into())
}

/// One table of the report, also one sheet of the workbook.
#[derive(Debug, Clone)]
pub struct Table {
    /// Sheet name (≤ 31 characters).
    pub sheet: &'static str,
    pub title: String,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<V>>,
}

fn counts_cells(c: &Counts) -> Vec<V> {
    vec![
        V::N(c.drawn),
        V::N(c.inspected),
        V::N(c.on_time),
        V::N(c.late),
        V::N(c.missing),
        V::N(c.pending),
        V::P(c.rate()),
    ]
}

const COUNT_HEADER: [&str; 7] = [
    "抽取户数",
    "已检查",
    "按时公示",
    "逾期公示",
    "未完成",
    "未到期",
    "完成率",
];

/// Every table of the report, in order.
pub fn tables(f: &YearFigures) -> Vec<Table> {
    let mut all = vec![
        matters_table(f),
        draws_table(f),
        coverage_table(f),
        holidays_table(f),
        conflicts_table(f),
        exclusions_table(f),
        unstaffed_table(f),
        workload_table(f),
        categories_table(f),
        months_table(f),
    ];
    // A year without changes after its draws has no such sheet (the report reads as before).
    if !f.changes.is_empty() {
        all.push(changes_table(f));
    }
    all
}

/// A line of the changes table: draw, matter, period, kind and cause.
type ChangeKey = (i64, String, String, String, String);

/// Changes after the draws (替补, 不在范围, 人员调整), counted per matter, period and cause.
fn changes_table(f: &YearFigures) -> Table {
    let mut counts: Vec<(ChangeKey, usize)> = Vec::new();
    for c in &f.changes {
        let (what, cause) = crate::rules::names::change_text(&c.kind, c.replaced, &c.cause);
        let key = (
            c.draw_id,
            c.matter_name.clone(),
            c.period.clone(),
            what,
            cause,
        );
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    Table {
        sheet: "抽取后变更",
        title: "抽取后变更（替补、不在范围、人员调整）".into(),
        header: vec!["抽取序号", "抽查事项", "期次", "类别", "原因", "次数"],
        rows: counts
            .into_iter()
            .map(|((id, matter, period, what, cause), n)| {
                vec![
                    V::N(usize::try_from(id).unwrap_or(0)),
                    t(matter),
                    t(period_label(&period)),
                    t(what),
                    t(cause),
                    V::N(n),
                ]
            })
            .collect(),
    }
}

/// Per department and matter, with subtotals and the total.
fn matters_table(f: &YearFigures) -> Table {
    let mut header = vec![
        "部门",
        "抽查事项",
        "应抽比例",
        "抽查频次",
        "计划抽取次数",
        "实际抽取次数",
    ];
    header.extend(COUNT_HEADER);
    header.extend(["实际比例（常规抽取）", "是否达标"]);
    let mut rows = Vec::new();
    for d in &f.departments {
        for m in &d.matters {
            let mut r = vec![
                t(&d.name),
                t(&m.name),
                t(m.ratio.map_or_else(|| "—".to_string(), |r| r.to_string())),
                t(&m.frequency),
                V::N(m.regular_scheduled + m.holiday_scheduled),
                V::N(m.regular_drawn + m.holiday_drawn),
            ];
            r.extend(counts_cells(&m.counts));
            r.push(V::P(m.achieved_ratio));
            r.push(t(if m.met { "达标" } else { "未达标" }));
            rows.push(r);
        }
        let mut r = vec![t(&d.name), t("小计"), t(""), t(""), t(""), t("")];
        r.extend(counts_cells(&d.counts));
        r.extend([t(""), t("")]);
        rows.push(r);
    }
    let mut r = vec![t("合计"), t(""), t(""), t(""), t(""), V::N(f.draws.len())];
    r.extend(counts_cells(&f.totals));
    r.extend([t(""), t("")]);
    rows.push(r);
    Table {
        sheet: "各部门各事项",
        title: "各部门、各事项完成情况".into(),
        header,
        rows,
    }
}

/// Per draw.
fn draws_table(f: &YearFigures) -> Table {
    let mut header = vec![
        "抽取序号",
        "抽取编号",
        "抽查事项",
        "期次",
        "类型",
        "抽取日期",
        "完成期限",
        "比例",
        "符合条件户数",
        "按比例应抽",
    ];
    header.extend(COUNT_HEADER);
    header.push("公示次数");
    let rows = f
        .draws
        .iter()
        .map(|d| {
            let mut r = vec![
                V::N(usize::try_from(d.draw_id).unwrap_or(0)),
                t(&d.draw_ref),
                t(&d.matter_name),
                t(period_label(&d.period)),
                t(if d.is_holiday() {
                    if d.key_area_only {
                        "节假日加强（重点区域）"
                    } else {
                        "节假日加强"
                    }
                } else {
                    "常规"
                }),
                t(if d.marks.is_plain() || d.marks.drawn_at.is_empty() {
                    d.issue_date.to_string()
                } else {
                    d.marks.date_cell()
                }),
                t(d.due_date.to_string()),
                t(d.ratio.to_string()),
                V::N(d.eligible),
                V::N(d.required),
            ];
            r.extend(counts_cells(&d.counts));
            r.push(V::N(d.publications));
            r
        })
        .collect();
    Table {
        sheet: "各次抽取",
        title: "各次抽取完成情况".into(),
        header,
        rows,
    }
}

/// Matters that must cover every target (100%).
fn coverage_table(f: &YearFigures) -> Table {
    let rows = f
        .departments
        .iter()
        .flat_map(|d| d.matters.iter())
        .filter(|m| m.full_coverage)
        .map(|m| {
            vec![
                t(&m.name),
                t("100%"),
                V::N(m.population),
                V::N(m.counts.drawn),
                V::N(m.counts.inspected),
                V::N(m.covered),
                V::P((m.population > 0).then(|| m.covered as f64 / m.population as f64)),
                t(if m.population > 0 && m.covered >= m.population {
                    "已全覆盖"
                } else {
                    "未全覆盖"
                }),
            ]
        })
        .collect();
    Table {
        sheet: "全覆盖事项",
        title: "全覆盖事项（枪支管理等，应抽比例 100%）".into(),
        header: vec![
            "抽查事项",
            "应抽比例",
            "在抽查范围内户数",
            "抽取户数",
            "已检查",
            "已完成（已公示）",
            "覆盖率",
            "结论",
        ],
        rows,
    }
}

/// Holiday-intensified draws.
fn holidays_table(f: &YearFigures) -> Table {
    let rows = f
        .holidays
        .iter()
        .map(|h| {
            let mut r = vec![
                t(&h.matter_name),
                t(&h.holiday),
                t(period_label(&h.period)),
                t(h.scheduled
                    .map_or_else(|| "—".to_string(), |d| d.to_string())),
                t(match (h.draw_id, h.issued) {
                    (Some(id), Some(d)) => format!("已执行（#{id}，{d}）"),
                    _ => "未执行".to_string(),
                }),
            ];
            r.extend(counts_cells(&h.counts));
            r
        })
        .collect();
    let mut header = vec!["抽查事项", "节日", "期次", "计划抽取日期", "执行情况"];
    header.extend(COUNT_HEADER);
    Table {
        sheet: "节假日加强抽查",
        title: "重大节假日加强抽查".into(),
        header,
        rows,
    }
}

/// Inspectors set aside for 回避.
fn conflicts_table(f: &YearFigures) -> Table {
    Table {
        sheet: "回避",
        title: "执法检查人员回避".into(),
        header: vec!["抽取序号", "抽查事项", "期次", "检查人员", "原因", "说明"],
        rows: f
            .conflicts
            .iter()
            .map(|c| {
                vec![
                    V::N(usize::try_from(c.draw_id).unwrap_or(0)),
                    t(&c.matter_name),
                    t(period_label(&c.period)),
                    t(&c.entity_id),
                    t(reason_text(&c.reason)),
                    t(&c.detail),
                ]
            })
            .collect(),
    }
}

/// Targets and inspectors excluded from draws, by reason.
fn exclusions_table(f: &YearFigures) -> Table {
    let mut rows: Vec<Vec<V>> = f
        .target_exclusions
        .iter()
        .map(|(k, n)| vec![t("检查对象"), t(reason_text(k)), V::N(*n)])
        .collect();
    rows.extend(
        f.inspector_exclusions
            .iter()
            .map(|(k, n)| vec![t("检查人员"), t(reason_text(k)), V::N(*n)]),
    );
    Table {
        sheet: "排除原因",
        title: "抽取时排除的对象与人员（按原因）".into(),
        header: vec!["类别", "原因", "人次"],
        rows,
    }
}

/// Targets no team could be formed for.
fn unstaffed_table(f: &YearFigures) -> Table {
    Table {
        sheet: "未配员对象",
        title: "未能配备检查人员的对象".into(),
        header: vec![
            "抽取序号",
            "抽查事项",
            "期次",
            "对象编号",
            "对象名称",
            "原因",
        ],
        rows: f
            .unstaffed
            .iter()
            .map(|u| {
                vec![
                    V::N(usize::try_from(u.draw_id).unwrap_or(0)),
                    t(&u.matter_name),
                    t(period_label(&u.period)),
                    t(&u.target_id),
                    t(&u.target_name),
                    t(unstaffed_text(&u.reason)),
                ]
            })
            .collect(),
    }
}

/// Targets assigned to each inspector over the year.
fn workload_table(f: &YearFigures) -> Table {
    Table {
        sheet: "检查人员工作量",
        title: "检查人员工作量（全年分派的检查对象户数）".into(),
        header: vec!["工号", "姓名", "分派户数"],
        rows: f
            .workload
            .iter()
            .map(|w| vec![t(&w.inspector_id), t(&w.inspector_name), V::N(w.targets)])
            .collect(),
    }
}

/// Result categories, counted by checklist item.
fn categories_table(f: &YearFigures) -> Table {
    let total: usize = f.categories.iter().map(|(_, n)| n).sum();
    Table {
        sheet: "抽查结果类别",
        title: "抽查结果类别（按检查项计）".into(),
        header: vec!["结果类别", "检查项数", "占比"],
        rows: f
            .categories
            .iter()
            .map(|(c, n)| {
                vec![
                    t(c),
                    V::N(*n),
                    V::P((total > 0).then(|| *n as f64 / total as f64)),
                ]
            })
            .collect(),
    }
}

/// Draws per month.
fn months_table(f: &YearFigures) -> Table {
    Table {
        sheet: "月度抽取",
        title: "每月抽取次数".into(),
        header: vec!["月份", "抽取次数"],
        rows: f
            .draws_per_month
            .iter()
            .enumerate()
            .map(|(i, n)| vec![t(format!("{}月", i + 1)), V::N(*n)])
            .collect(),
    }
}

fn table_block(tb: &Table) -> Block {
    Block::Table {
        header: tb.header.iter().map(|h| (*h).to_string()).collect(),
        rows: tb
            .rows
            .iter()
            .map(|r| r.iter().map(V::text).collect())
            .collect(),
    }
}

/// Inspectors by number of targets assigned: (label, inspectors). A bar per number from 1
/// when the largest is at most [`HISTOGRAM_BARS`]; else at most [`RANGE_BARS`] bars, each a
/// range of numbers ([`bar_width`] wide) from the one holding the smallest: a national year
/// assigns an inspector thousands of targets, and a bar per number was a figure 700,000 px
/// wide.
fn workload_histogram(f: &YearFigures) -> (Vec<String>, Vec<f64>) {
    let loads = || f.workload.iter().map(|w| w.targets).filter(|&n| n > 0);
    let (Some(min), Some(max)) = (loads().min(), loads().max()) else {
        return (Vec::new(), Vec::new());
    };
    let (width, start) = match max {
        max if max <= HISTOGRAM_BARS => (1, 0),
        max => {
            let width = bar_width(max - min + 1);
            (width, (min - 1) / width * width)
        }
    };
    let bars = (max - start).div_ceil(width);
    let mut counts = vec![0usize; bars];
    for n in loads() {
        counts[(n - 1 - start) / width] += 1;
    }
    let labels = (0..bars)
        .map(|i| match width {
            1 => (start + i + 1).to_string(),
            _ => format!("{}–{}", start + i * width + 1, start + (i + 1) * width),
        })
        .collect();
    (labels, counts.into_iter().map(|n| n as f64).collect())
}

/// The largest number of targets the workload figure gives a bar of its own.
const HISTOGRAM_BARS: usize = 30;

/// The most bars of ranges the workload figure draws.
const RANGE_BARS: usize = 12;

/// How many numbers of targets one bar of the workload figure counts, for `span` numbers
/// from the smallest to the largest: 1, 2, 5, 10, 20, 50, 100, … whichever first needs fewer
/// than [`RANGE_BARS`] bars, so that with the one more a range not starting at a bar's start
/// needs, there are at most [`RANGE_BARS`].
fn bar_width(span: usize) -> usize {
    let mut decade = 1usize;
    loop {
        for width in [decade, 2 * decade, 5 * decade] {
            if span.div_ceil(width) < RANGE_BARS {
                return width;
            }
        }
        decade *= 10;
    }
}

/// The report as a standalone HTML page.
pub fn html(f: &YearFigures) -> String {
    let tables = tables(f);
    let sim = if f.simulation { "（模拟）" } else { "" };
    let mut doc = Document::new(format!(
        "{} {} 年“双随机、一公开”抽查工作情况报告{sim}",
        f.bureau, f.year
    ));
    doc.push(Block::Title(format!(
        "{} {} 年“双随机、一公开”抽查工作情况报告{sim}",
        f.bureau, f.year
    )));
    doc.push(Block::Subtitle(format!(
        "统计截至 {}　数据取自抽取记录与检查结果数据库",
        f.as_of
    )));
    if f.simulation {
        doc.para(
            "本报告由模拟数据库生成（模拟）：所列抽取、检查与公示的时间均为模拟时间，不是实际工作记录。"
                .to_string(),
        );
    }

    overview(&mut doc, f);
    matters_section(&mut doc, f, &tables);
    draws_section(&mut doc, f, &tables);
    coverage_section(&mut doc, &tables);
    holidays_section(&mut doc, f, &tables);
    exclusions_section(&mut doc, f, &tables);
    unstaffed_section(&mut doc, f, &tables);
    workload_section(&mut doc, f);
    categories_section(&mut doc, f, &tables);
    notes_section(&mut doc);
    // The tables are wide: give the page more room than a letter-sized document.
    crate::output::doc::html(&doc).replacen("max-width:48em", "max-width:80em", 1)
}

/// The table of the report for sheet `name`.
fn by_sheet<'a>(tables: &'a [Table], name: &str) -> Option<&'a Table> {
    tables.iter().find(|t| t.sheet == name)
}

/// 一、总体情况: the year in figures.
fn overview(doc: &mut Document, f: &YearFigures) {
    let c = &f.totals;
    doc.heading(1, "一、总体情况");
    doc.para(format!(
        "{} 年共进行抽取 {} 次，抽取检查对象 {} 户（次）{}。已完成检查 {} 户，其中按时公示 {} 户、逾期公示 {} 户；未完成 {} 户（含未检查、检查后逾期未公示及未能配备检查人员的对象），尚未到期 {} 户。完成率 {}。",
        f.year,
        f.draws.len(),
        c.drawn,
        if c.out_of_scope > 0 {
            super::notice::out_of_scope_clause(c.out_of_scope) + "，不计入以下各项"
        } else {
            String::new()
        },
        c.inspected,
        c.on_time,
        c.late,
        c.missing,
        c.pending,
        c.rate().map_or_else(|| "—".into(), percent)
    ));
    doc.para(
        "按照“一公开”要求，检查后未公示的视同未检查：完成以检查结果已公示为准，逾期公示单独列出。"
            .to_string(),
    );
    if c.inspected_after_due > 0 {
        doc.para(format!(
            "另有 {} 户在抽取确定的完成期限之后才完成检查。",
            c.inspected_after_due
        ));
    }
    for p in &f.schedule_problems {
        doc.para(format!("注意：{p}（该事项的计划抽取次数无法计算）。"));
    }
    for m in &f.missed {
        doc.para(format!(
            "未抽取：{}（{}）在抽取时间未能抽取，其期次（节假日前抽取为节假日开始前，其他为期次结束前）已过，不再补抽，记为未抽取（{} 记录）。",
            m.matter_name, m.period, m.at
        ));
    }
}

/// 二、各部门、各事项完成情况: the table and figure 1.
fn matters_section(doc: &mut Document, f: &YearFigures, tables: &[Table]) {
    doc.heading(1, "二、各部门、各事项完成情况");
    if let Some(tb) = by_sheet(tables, "各部门各事项") {
        doc.push(table_block(tb));
    }
    let matters: Vec<_> = f
        .departments
        .iter()
        .flat_map(|d| d.matters.iter())
        .filter(|m| m.ratio.is_some() && m.regular_drawn > 0)
        .collect();
    doc.push(Block::Svg {
        svg: hbars(
            &matters.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
            &[
                Series {
                    name: "应抽比例".into(),
                    color: "#9aa5b1".into(),
                    values: matters
                        .iter()
                        .map(|m| m.ratio.map_or(0.0, |r| r.as_f64()))
                        .collect(),
                },
                Series {
                    name: "实际完成比例".into(),
                    color: "#2f6fbf".into(),
                    values: matters
                        .iter()
                        .map(|m| m.achieved_ratio.unwrap_or(0.0))
                        .collect(),
                },
            ],
            None,
            &percent,
        ),
        caption: "图1 各事项应抽比例与实际完成比例（常规抽取；已公示户数 ÷ 符合条件户数）".into(),
    });
}

/// 三、各次抽取: figure 2 and the table.
fn draws_section(doc: &mut Document, f: &YearFigures, tables: &[Table]) {
    doc.heading(1, "三、各次抽取");
    doc.push(Block::Svg {
        svg: vbars(
            &(1..=12).map(|m| format!("{m}月")).collect::<Vec<_>>(),
            &f.draws_per_month
                .iter()
                .map(|&n| n as f64)
                .collect::<Vec<_>>(),
            "#2f6fbf",
        ),
        caption: "图2 每月抽取次数".into(),
    });
    if let Some(tb) = by_sheet(tables, "各次抽取") {
        doc.push(table_block(tb));
    }
}

/// 四、全覆盖事项.
fn coverage_section(doc: &mut Document, tables: &[Table]) {
    doc.heading(1, "四、全覆盖事项");
    if let Some(tb) = by_sheet(tables, "全覆盖事项") {
        if tb.rows.is_empty() {
            doc.para("现行规则中没有应抽比例为 100% 的事项。");
        } else {
            doc.push(table_block(tb));
        }
    }
}

/// 五、重大节假日加强抽查.
fn holidays_section(doc: &mut Document, f: &YearFigures, tables: &[Table]) {
    doc.heading(1, "五、重大节假日加强抽查");
    let planned = f.holidays.iter().filter(|h| h.scheduled.is_some()).count();
    let done = f
        .holidays
        .iter()
        .filter(|h| h.scheduled.is_some() && h.draw_id.is_some())
        .count();
    doc.para(format!(
        "规则要求的节假日加强抽取 {planned} 次，已执行 {done} 次。"
    ));
    if let Some(tb) = by_sheet(tables, "节假日加强抽查")
        && !tb.rows.is_empty()
    {
        doc.push(table_block(tb));
    }
}

/// 六、回避与排除.
fn exclusions_section(doc: &mut Document, f: &YearFigures, tables: &[Table]) {
    doc.heading(1, "六、回避与排除");
    doc.para(format!(
        "因利害关系回避的检查人员 {} 人次。",
        f.conflicts.len()
    ));
    if let Some(tb) = by_sheet(tables, "回避")
        && !tb.rows.is_empty()
    {
        doc.push(table_block(tb));
    }
    if let Some(tb) = by_sheet(tables, "排除原因")
        && !tb.rows.is_empty()
    {
        doc.push(table_block(tb));
    }
    if let Some(tb) = by_sheet(tables, "抽取后变更") {
        let n = |kind: &str, replaced: bool| {
            f.changes
                .iter()
                .filter(|c| c.kind == kind && (kind == "inspector" || c.replaced == replaced))
                .count()
        };
        doc.para(format!(
            "抽取后变更 {} 项：替补 {} 户，不在范围未替补 {} 户，人员调整 {} 人次；每项变更均有记录、原因和经办人，替补和替换人员均按抽取结果确定，可复核。",
            f.changes.len(),
            n("target", true),
            n("target", false),
            n("inspector", true)
        ));
        doc.push(table_block(tb));
    }
}

/// 七、未能配备检查人员的对象.
fn unstaffed_section(doc: &mut Document, f: &YearFigures, tables: &[Table]) {
    doc.heading(1, "七、未能配备检查人员的对象");
    doc.para(format!("共 {} 户（次），计入未完成。", f.unstaffed.len()));
    if let Some(tb) = by_sheet(tables, "未配员对象")
        && !tb.rows.is_empty()
    {
        doc.push(table_block(tb));
    }
}

/// 八、检查人员工作量, with figure 3.
fn workload_section(doc: &mut Document, f: &YearFigures) {
    doc.heading(1, "八、检查人员工作量");
    let n = f.workload.len();
    let assigned: usize = f.workload.iter().map(|w| w.targets).sum();
    doc.para(format!(
        "全年共 {n} 名检查人员承担检查任务，分派检查对象 {assigned} 人户次，人均 {}，最多 {}，最少 {}。",
        if n > 0 {
            format!("{:.1}", assigned as f64 / n as f64)
        } else {
            "—".into()
        },
        f.workload.first().map_or(0, |w| w.targets),
        f.workload.last().map_or(0, |w| w.targets),
    ));
    let (labels, values) = workload_histogram(f);
    if !labels.is_empty() {
        doc.push(Block::Svg {
            svg: vbars(&labels, &values, "#5b8c5a"),
            caption: "图3 检查人员工作量分布（横轴：全年分派户数；纵轴：人数）".into(),
        });
    }
}

/// 九、抽查结果类别, with figure 4.
fn categories_section(doc: &mut Document, f: &YearFigures, tables: &[Table]) {
    doc.heading(1, "九、抽查结果类别");
    doc.push(Block::Svg {
        svg: hbars(
            &f.categories
                .iter()
                .map(|(c, _)| c.clone())
                .collect::<Vec<_>>(),
            &[Series {
                name: "检查项数".into(),
                color: "#c0504d".into(),
                values: f.categories.iter().map(|(_, n)| *n as f64).collect(),
            }],
            None,
            &|v| format!("{v:.0}"),
        ),
        caption: "图4 抽查结果类别（按检查项计）".into(),
    });
    if let Some(tb) = by_sheet(tables, "抽查结果类别") {
        doc.push(table_block(tb));
    }
}

/// 说明: how the figures are counted.
fn notes_section(doc: &mut Document) {
    doc.heading(1, "说明");
    doc.push(Block::Numbered(vec![
        "已检查：该对象本事项的每个检查项均已录入检查结果；检查完成日为各检查项检查日期中最晚的一天。".into(),
        "公示期限：检查完成日后按规则规定的工作日数（默认 20 个工作日）计算，按国务院办公厅节假日安排（含调休）计工作日。".into(),
        "按时公示：首次公示该对象全部检查结果的日期不晚于公示期限；晚于期限为逾期公示。".into(),
        "未完成：抽取后未检查（已过完成期限）、检查后未公示（已过公示期限）或未能配备检查人员的对象。未到期：尚在完成期限或公示期限内。".into(),
        "实际比例：常规抽取中已公示户数除以符合条件户数；每期均不低于应抽比例且计划抽取均已执行的为达标。".into(),
    ]));
}

/// The report as a workbook: one sheet per table, plus a summary sheet first.
pub fn xlsx(f: &YearFigures) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::Format;
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut wb = super::workbook()?;
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    let title = Format::new().set_bold().set_font_size(14);

    let ws = wb.add_worksheet();
    ws.set_name("总体情况").map_err(e)?;
    ws.write_string_with_format(
        0,
        0,
        format!(
            "{} {} 年“双随机、一公开”抽查工作情况{}",
            f.bureau,
            f.year,
            if f.simulation { "（模拟）" } else { "" }
        ),
        &title,
    )
    .map_err(e)?;
    ws.write_string(1, 0, format!("统计截至 {}", f.as_of))
        .map_err(e)?;
    let c = &f.totals;
    let summary: [(&str, usize); 9] = [
        ("抽取次数", f.draws.len()),
        ("抽取户数", c.drawn),
        ("已检查", c.inspected),
        ("按时公示", c.on_time),
        ("逾期公示", c.late),
        ("未完成", c.missing),
        ("未到期", c.pending),
        ("未配备检查人员", c.unstaffed),
        ("完成期限后才检查", c.inspected_after_due),
    ];
    for (i, (k, v)) in summary.iter().enumerate() {
        let row = i as u32 + 3;
        ws.write_string_with_format(row, 0, *k, &bold).map_err(e)?;
        ws.write_number(row, 1, *v as f64).map_err(e)?;
    }
    let row = summary.len() as u32 + 3;
    ws.write_string_with_format(row, 0, "完成率", &bold)
        .map_err(e)?;
    if c.drawn > 0 {
        ws.write_number_with_format(row, 1, c.done() as f64 / c.drawn as f64, &pct)
            .map_err(e)?;
    }
    ws.set_column_width(0, 20).map_err(e)?;

    for tb in tables(f) {
        let ws = wb.add_worksheet();
        ws.set_name(tb.sheet).map_err(e)?;
        ws.write_string_with_format(0, 0, &tb.title, &title)
            .map_err(e)?;
        for (col, h) in tb.header.iter().enumerate() {
            ws.write_string_with_format(2, col as u16, *h, &bold)
                .map_err(e)?;
            ws.set_column_width(col as u16, (h.chars().count() as f64 * 2.2).max(10.0))
                .map_err(e)?;
        }
        for (r, row) in tb.rows.iter().enumerate() {
            let r = r as u32 + 3;
            for (col, v) in row.iter().enumerate() {
                let col = col as u16;
                match v {
                    V::T(s) => ws.write_string(r, col, s).map(|_| ()),
                    V::N(n) => ws.write_number(r, col, *n as f64).map(|_| ()),
                    V::P(Some(p)) => ws.write_number_with_format(r, col, *p, &pct).map(|_| ()),
                    V::P(None) => ws.write_string(r, col, "—").map(|_| ()),
                }
                .map_err(e)?;
            }
        }
        ws.set_freeze_panes(3, 0).map_err(e)?;
    }
    wb.save_to_buffer().map_err(e)
}

#[cfg(test)]
mod histogram_tests {
    use super::{RANGE_BARS, bar_width};

    #[test]
    fn a_range_of_loads_is_drawn_in_at_most_twelve_bars() {
        assert_eq!(bar_width(1), 1);
        assert_eq!(bar_width(11), 1);
        assert_eq!(bar_width(12), 2);
        assert_eq!(bar_width(50), 5);
        assert_eq!(bar_width(2_000), 200);
        for span in [1, 29, 31, 99, 301, 1_000, 7_777, 41_297, 10_000_000] {
            let w = bar_width(span);
            // A range starting inside a bar needs one bar more.
            assert!(span.div_ceil(w) < RANGE_BARS, "{span}: {w}");
        }
    }
}
