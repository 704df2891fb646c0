//! The yearly plan (年度抽查工作计划) as a [`Document`].

use crate::calendar::Calendar;
use crate::output::doc::{Block, Document};
use crate::rules::model::{Department, Matter, Model};
use crate::schedule::{DrawKind, ScheduledDraw};

/// Chinese numeral for section numbers 1..=99.
pub(crate) fn zh_num(n: usize) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => D[n].to_string(),
        10 => "十".into(),
        11..=19 => format!("十{}", D[n % 10]),
        _ if n.is_multiple_of(10) => format!("{}十", D[(n / 10) % 10]),
        _ => format!("{}十{}", D[(n / 10) % 10], D[n % 10]),
    }
}

/// Scope label: the matter's categories with their names from the config.
pub(crate) fn categories_label(model: &Model, m: &Matter) -> String {
    m.categories
        .iter()
        .map(|c| {
            model
                .config
                .categories
                .get(c)
                .cloned()
                .unwrap_or_else(|| c.clone())
        })
        .collect::<Vec<_>>()
        .join("、")
}

fn ratio_label(m: &Matter) -> String {
    let mut s = if m.ratio.is_full() {
        "100%（全覆盖）".to_string()
    } else {
        format!("不低于 {}", m.ratio)
    };
    if !m.class_ratios.is_empty() && m.class_hook.is_some() {
        // Classes a hook computes are names (投诉较多), not grades (A 类).
        let parts: Vec<String> = m
            .class_ratios
            .iter()
            .map(|(c, r)| format!("{c} {}", r.label_zh()))
            .collect();
        s.push_str(&format!(
            "；按分类：{}；其他（未分类）{}",
            parts.join("，"),
            m.ratio
        ));
    } else if !m.class_ratios.is_empty() {
        let parts: Vec<String> = m
            .class_ratios
            .iter()
            .map(|(c, r)| {
                let share = r.label_zh();
                if share.starts_with(|ch: char| ch.is_ascii_digit()) {
                    format!("{c} 类 {share}")
                } else {
                    format!("{c} 类{share}")
                }
            })
            .collect();
        s.push_str(&format!(
            "；按等级：{}；其他等级（含未定级）{}",
            parts.join("，"),
            m.ratio
        ));
    }
    if m.weight.is_some() {
        s.push_str("；按风险加权");
    }
    s
}

fn holiday_label(m: &Matter) -> String {
    match &m.holiday {
        None => "—".into(),
        Some(h) => {
            let names: Vec<&str> = h.holidays.iter().map(|x| x.name_zh()).collect();
            let unit = if h.working_days {
                "个工作日"
            } else {
                "天"
            };
            let scope = if h.key_area_only {
                "重点区域"
            } else {
                "全部范围"
            };
            format!(
                "{}前 {} {unit}，{scope}加抽 {}",
                names.join("、"),
                h.days_before,
                h.ratio
            )
        }
    }
}

/// The matter's frequency, and with `class_frequency` each class's (分类频次): "每季度 1 次；
/// 按等级：A 类每两年 1 次（偶数年），B 类每年 1 次；其他等级（含未定级）每期均抽".
fn frequency_label(m: &Matter) -> String {
    let mut s = m.frequency.label_zh();
    if !m.class_frequency.is_empty() {
        let unit = if m.class_hook.is_some() { "" } else { " 类" };
        let parts: Vec<String> = m
            .class_frequency
            .iter()
            .map(|(c, f)| format!("{c}{unit}{}", f.label_zh(m.biennial_start)))
            .collect();
        s.push_str(&format!(
            "；按等级：{}；其他等级（含未定级）每期均抽",
            parts.join("，")
        ));
    }
    s
}

/// Counts for one matter from the current registry: how many targets the first draw of the year
/// would see and draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    pub period: String,
    pub in_scope: usize,
    pub eligible: usize,
    pub drawn: usize,
}

/// Per matter id: an estimate, or why it could not be made (e.g. a failing hook).
pub type Estimates = std::collections::BTreeMap<String, Result<Estimate, String>>;

/// Builds the plan for `year`. `schedule` is the year's schedule from [`crate::schedule::year_schedule`].
pub fn build(
    model: &Model,
    cal: &Calendar,
    year: i32,
    schedule: &[ScheduledDraw],
    problems: &[String],
    estimates: &Estimates,
) -> Document {
    let cfg = &model.config;
    let title = cfg
        .plan
        .title
        .clone()
        .unwrap_or_else(|| "{bureau} {year} 年“双随机、一公开”抽查工作计划".into())
        .replace("{bureau}", &cfg.bureau.name)
        .replace("{year}", &year.to_string());
    let mut doc = Document::new(title.clone());
    doc.push(Block::Title(title));
    if let Some(p) = &cfg.plan.preamble {
        doc.para(p.clone());
    }
    let mut section = 1;
    if let Some(p) = &cfg.plan.principles {
        doc.heading(1, format!("{}、抽查事项检查原则", zh_num(section)));
        doc.para(p.clone());
        section += 1;
    }
    for d in &model.departments {
        department(&mut doc, model, d, section, estimates);
        section += 1;
    }
    if !model.joints.is_empty() {
        joints(&mut doc, model, section, estimates);
        section += 1;
    }
    doc.heading(1, format!("{}、{year} 年抽查日程", zh_num(section)));
    doc.para(
        "下表为按上述规则和国务院公布的节假日安排（含调休）计算的全年抽取日程。每次抽取由 suiji 按公开算法以记录在案的随机种子从冻结的名录库快照中抽取，任何人可凭抽取清单复核。",
    );
    schedule_table(&mut doc, model, cal, schedule);
    if !problems.is_empty() {
        doc.heading(2, "未能排定的事项");
        doc.push(Block::Bullets(problems.to_vec()));
    }
    doc
}

/// Closes the plan with its 落款 (the bureau and the date of issue), which the DOCX also
/// records as the document's author and date.
pub fn sign(doc: &mut Document, model: &Model, issued: chrono::NaiveDate) {
    let bureau = model.config.bureau.name.clone();
    doc.push(Block::Signature {
        issuer: bureau.clone(),
        date: crate::rules::names::date_label(issued),
    });
    doc.issuer = Some((bureau, issued));
}

/// The year's draws: date, matter, period, kind, ratio, inspection period, publication deadline.
/// The columns of the plan's draw timetable (抽查时间安排).
pub(crate) const SCHEDULE_COLUMNS: [&str; 8] = [
    "序号",
    "抽取日期",
    "抽查事项",
    "期次",
    "类型",
    "比例",
    "检查期间",
    "最迟公示",
];

fn schedule_table(doc: &mut Document, model: &Model, cal: &Calendar, schedule: &[ScheduledDraw]) {
    let rows = schedule
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let m = model.matter(&s.matter);
            let publish_by = m
                .and_then(|m| {
                    cal.add_working_days(s.due, m.publication.deadline_working_days)
                        .ok()
                })
                .map_or_else(|| "—".into(), |d| d.to_string());
            let kind = match s.kind {
                DrawKind::Regular => {
                    match m.and_then(|m| crate::schedule::class_cover(m, s.kind, &s.period)) {
                        Some(cover) => format!("定期，{}", cover.label_zh()),
                        None => "定期".to_string(),
                    }
                }
                DrawKind::Holiday(h) => format!("{}加强", h.name_zh()),
            };
            let scope = if s.key_area_only {
                "重点区域"
            } else {
                "全部"
            };
            vec![
                (i + 1).to_string(),
                s.issue_date().to_string(),
                m.map_or_else(|| s.matter.clone(), |m| m.name.clone()),
                s.period.label_zh(),
                kind,
                format!("{}（{scope}）", s.ratio),
                format!("{} 至 {}", s.period.start, s.due),
                publish_by,
            ]
        })
        .collect();
    doc.table(&SCHEDULE_COLUMNS, rows);
}

fn department(
    doc: &mut Document,
    model: &Model,
    d: &Department,
    section: usize,
    estimates: &Estimates,
) {
    doc.heading(1, format!("{}、{}年度抽查计划", zh_num(section), d.name));
    doc.heading(2, "（一）抽查任务");
    let summary = d.summary.clone().unwrap_or_else(|| {
        d.matters
            .iter()
            .map(|m| m.name.clone())
            .collect::<Vec<_>>()
            .join("、")
    });
    doc.para(summary);
    doc.heading(2, "（二）抽查比例和频次");
    if let Some(f) = &d.frequency_note {
        doc.para(f.clone());
    }
    ratios_table(doc, model, d);
    if !estimates.is_empty() {
        estimates_table(doc, d, estimates);
    }
    doc.heading(2, "（三）抽查内容");
    for (i, m) in d.matters.iter().enumerate() {
        matter_content(doc, model, i, m);
    }
    doc.heading(2, "（四）抽查结果公示");
    if let Some(p) = &d.publication_note {
        doc.para(p.clone());
    }
    let mut channels: Vec<String> = Vec::new();
    for m in &d.matters {
        let c = format!(
            "{}：检查结束后 {} 个工作日内在{}公示",
            m.name, m.publication.deadline_working_days, m.publication.channel
        );
        channels.push(c);
    }
    doc.push(Block::Bullets(channels));
}

/// The joint plans (联合抽查), each with its lead and other departments, its matters, how its
/// targets are drawn, its team and each matter's checklist.
fn joints(doc: &mut Document, model: &Model, section: usize, estimates: &Estimates) {
    doc.heading(1, format!("{}、部门联合抽查计划", zh_num(section)));
    doc.para(
        "联合抽查按“进一次门、查多项事”组织：从各事项检查对象的并集中按联合抽查比例抽取，每户抽中后只检查一次，由一个检查组同时检查下列全部事项；年度抽查次数上限按检查次数计，一次联合检查计一次。",
    );
    for (i, m) in model.joints.iter().enumerate() {
        let Some(j) = &m.joint else { continue };
        doc.heading(2, format!("（{}）{}", zh_num(i + 1), m.name));
        let dept = |id: &str| {
            model
                .department(id)
                .map_or_else(|| id.to_string(), |d| d.name.clone())
        };
        let others: Vec<String> = j.departments.iter().skip(1).map(|d| dept(d)).collect();
        doc.para(format!("牵头部门：{}", dept(&m.department)));
        if !others.is_empty() {
            doc.para(format!("参加部门：{}", others.join("、")));
        }
        let members: Vec<String> = j
            .members
            .iter()
            .map(|id| match model.matter(id) {
                Some(x) => format!("{}（{}）", x.name, dept(&x.department)),
                None => id.clone(),
            })
            .collect();
        doc.para(format!("联合检查事项：{}", members.join("、")));
        let rows = vec![vec![
            categories_label(model, m),
            ratio_label(m),
            frequency_label(m),
            m.stratify_by
                .as_deref()
                .map_or_else(|| "—".into(), |s| format!("按{}分层", field_label(s))),
            joint_team_label(model, m, j),
        ]];
        doc.table(&["检查对象", "抽查比例", "频次", "分层", "检查组"], rows);
        if let Some(Ok(e)) = estimates.get(&m.id) {
            doc.para(format!(
                "按现有检查对象名录库测算：范围内对象 {} 户，可抽取 {} 户，每期抽取 {} 户（{}）。",
                e.in_scope, e.eligible, e.drawn, e.period
            ));
        }
        matter_body(doc, model, m);
    }
}

/// A joint visit's team, e.g. "3 人，合计具备食品安全执法、价格监督检查资格，每个参加部门至少 1 人".
fn joint_team_label(model: &Model, m: &Matter, j: &crate::rules::model::Joint) -> String {
    let mut team = team_label(model, m);
    if !j.cover.is_empty() {
        let q: Vec<String> = j
            .cover
            .iter()
            .map(|q| {
                model
                    .config
                    .qualifications
                    .get(q)
                    .cloned()
                    .unwrap_or_else(|| q.clone())
            })
            .collect();
        team.push_str(&format!("，合计具备{}资格", q.join("、")));
    }
    if j.departments.len() > 1 {
        team.push_str("，每个参加部门至少 1 人");
    }
    team
}

/// Ratio, frequency, strata, holiday draws and team of each matter.
fn ratios_table(doc: &mut Document, model: &Model, d: &Department) {
    let rows = d
        .matters
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                categories_label(model, m),
                ratio_label(m),
                frequency_label(m),
                m.stratify_by
                    .as_deref()
                    .map_or_else(|| "—".into(), |s| format!("按{}分层", field_label(s))),
                holiday_label(m),
                team_label(model, m),
            ]
        })
        .collect();
    doc.table(
        &[
            "抽查事项",
            "检查对象",
            "抽查比例",
            "频次",
            "分层",
            "节假日加强",
            "检查人员",
        ],
        rows,
    );
}

/// Team size and required qualifications, e.g. "2 人，须具备治安管理资格".
fn team_label(model: &Model, m: &Matter) -> String {
    let mut team = format!("{} 人", m.team_size);
    if !m.qualifications.is_empty() {
        let q: Vec<String> = m
            .qualifications
            .iter()
            .map(|q| {
                model
                    .config
                    .qualifications
                    .get(q)
                    .cloned()
                    .unwrap_or_else(|| q.clone())
            })
            .collect();
        team.push_str(&format!("，须具备{}资格", q.join("、")));
    }
    team
}

/// What the current registry gives each matter (in scope, eligible, drawn in the first period).
fn estimates_table(doc: &mut Document, d: &Department, estimates: &Estimates) {
    doc.para("按现有检查对象名录库测算（实际数量以抽取时冻结的名录库快照为准）：");
    let rows = d
        .matters
        .iter()
        .map(|m| match estimates.get(&m.id) {
            Some(Ok(e)) => vec![
                m.name.clone(),
                e.in_scope.to_string(),
                e.eligible.to_string(),
                format!("{}（{}）", e.drawn, e.period),
            ],
            Some(Err(err)) => vec![
                m.name.clone(),
                "—".into(),
                "—".into(),
                format!("无法测算：{err}"),
            ],
            None => vec![m.name.clone(), "—".into(), "—".into(), "—".into()],
        })
        .collect();
    doc.table(
        &["抽查事项", "范围内对象", "可抽取对象", "每期抽取（首期）"],
        rows,
    );
}

/// One matter's scope, legal basis and checklist (grouped as the rules group it).
fn matter_content(doc: &mut Document, model: &Model, i: usize, m: &Matter) {
    doc.heading(3, format!("{}. {}", i + 1, m.name));
    matter_body(doc, model, m);
}

/// A matter's scope, legal basis, checklist and note, under its heading.
fn matter_body(doc: &mut Document, model: &Model, m: &Matter) {
    let scope = if m.scope_text.is_empty() {
        categories_label(model, m)
    } else {
        m.scope_text.clone()
    };
    doc.para(format!("检查对象：{scope}"));
    if !m.legal_basis.is_empty() {
        doc.para(format!("检查依据：{}", m.legal_basis.join("、")));
    }
    let mut group: Option<&str> = None;
    let mut items: Vec<String> = Vec::new();
    let flush = |doc: &mut Document, group: Option<&str>, items: &mut Vec<String>| {
        if items.is_empty() {
            return;
        }
        match group {
            Some(g) => doc.para(format!("抽查内容（{g}）：")),
            None => doc.para("抽查内容："),
        };
        doc.push(Block::Numbered(std::mem::take(items)));
    };
    for item in &m.checklist {
        if item.group.as_deref() != group {
            flush(doc, group, &mut items);
            group = item.group.as_deref();
        }
        items.push(item.text.clone());
    }
    flush(doc, group, &mut items);
    if let Some(note) = &m.note {
        doc.para(format!("说明：{note}"));
    }
}

/// Chinese label of a target field used for stratification.
pub(crate) fn field_label(field: &str) -> &str {
    match field {
        "district" => "乡镇（街道）",
        "class" => "风险等级",
        "key_area" => "是否重点区域",
        "category" => "类别",
        other => other,
    }
}

/// One matter as the plan states it (抽查事项清单), every field a Chinese label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterSheet {
    pub id: String,
    pub department: String,
    pub department_name: String,
    pub name: String,
    pub scope: String,
    pub ratio: String,
    pub frequency: String,
    pub team: String,
    pub checklist: Vec<String>,
    pub holiday: String,
    pub legal_basis: String,
}

/// The plan's labels for one matter.
pub fn matter_sheet(model: &Model, m: &Matter) -> MatterSheet {
    let department_name = model
        .departments
        .iter()
        .find(|d| d.id == m.department)
        .map_or_else(|| m.department.clone(), |d| d.name.clone());
    let scope = if m.scope_text.is_empty() {
        categories_label(model, m)
    } else {
        m.scope_text.clone()
    };
    MatterSheet {
        id: m.id.clone(),
        department: m.department.clone(),
        department_name,
        name: m.name.clone(),
        scope,
        ratio: ratio_label(m),
        frequency: frequency_label(m),
        team: format!(
            "{}，每人每期至多 {} 户",
            team_label(model, m),
            m.workload_cap
        ),
        checklist: m.checklist.iter().map(|c| c.text.clone()).collect(),
        holiday: holiday_label(m),
        legal_basis: m.legal_basis.join("；"),
    }
}
