//! `rules/<department>.toml` → [`crate::rules::model::Department`] and its [`crate::rules::model::Matter`]s.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Arc;

use crate::calendar::Holiday;
use crate::rules::model::{
    Algorithm, CatchUp, ChecklistItem, ClassFrequency, Config, Frequency, HolidayRule, IssueAt,
    Matter, OnHoliday, Places, Publication, Ratio, Share,
};
use crate::rules::notes;
use crate::rules::reader::{Cx, Sp, Span, Table};
use crate::rules::schema::{self, Section};
use crate::rules::values::{parse_issue, parse_ratio_as, parse_share};
use crate::script::{Hook, HookKind};

const DEPT_KEYS: &[&str] = &["department", "defaults", "matter", "joint"];

/// The keys of a `[[joint]]` table: a matter's (from the schema), without what comes from its
/// member matters (`checklist`) and with `matters`.
fn joint_keys() -> Vec<&'static str> {
    std::iter::once("matters")
        .chain(
            schema::names(Section::Matter)
                .into_iter()
                .filter(|k| *k != "checklist"),
        )
        .collect()
}

/// The whole-number key `key` of `section`, within the schema's bounds.
fn int(t: &mut Table<'_>, section: Section, key: &str, cx: &mut Cx<'_>) -> Option<Sp<i64>> {
    let (min, max) = schema::bounds(section, key);
    t.integer(key, min, max, cx)
}

/// The department-level texts and identity.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeptHeader {
    pub id: String,
    pub name: String,
    pub order: i64,
    pub summary: Option<String>,
    pub frequency_note: Option<String>,
    /// The `frequency_note` as written, for checking the ratios it states.
    pub frequency_note_at: Option<Sp<String>>,
    pub publication_note: Option<String>,
    /// `retired = true`: the whole department is retired.
    pub retired: bool,
}

/// A hook reference before the script is compiled.
#[derive(Debug, Clone)]
pub(crate) struct HookRef {
    pub kind: HookKind,
    pub script: Sp<String>,
    pub function: Sp<String>,
}

/// Matter fields as written; `None` = not given (a department default may fill it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    id: Option<Sp<String>>,
    name: Option<Sp<String>>,
    legal_basis: Option<Vec<String>>,
    scope: Option<String>,
    categories: Option<Vec<Sp<String>>>,
    ratio: Option<Ratio>,
    class_field: Option<Sp<String>>,
    class_ratios: Option<BTreeMap<String, Share>>,
    class_ratio_keys: Vec<(String, Span)>,
    /// `class_frequency` as written: each class, its frequency and where the value is.
    class_frequency: Option<Vec<(Sp<String>, ClassFrequency, Span)>>,
    /// `biennial_start` as written: the first year of two-year class cycles.
    biennial_start: Option<Sp<i64>>,
    stratify_by: Option<Sp<String>>,
    frequency: Option<Frequency>,
    frequency_at: Option<Span>,
    issue: Option<IssueAt>,
    issue_at: Option<Span>,
    on_holiday: Option<OnHoliday>,
    due_working_days: Option<u32>,
    holiday: Option<HolidayRule>,
    team_size: Option<u32>,
    qualifications: Option<Vec<Sp<String>>>,
    workload_cap: Option<u32>,
    cooldown_months: Option<u32>,
    yearly_cap: Option<u32>,
    checklist: Option<Vec<ChecklistItem>>,
    publication_channel: Option<String>,
    publication_deadline: Option<u32>,
    catch_up: Option<CatchUp>,
    hooks: Vec<HookRef>,
    hook_script: Option<Sp<String>>,
    /// The matter's own `seed = { … }`.
    seed: Option<crate::rules::model::SeedSourceConfig>,
    note: Option<Sp<String>>,
    retired: Option<Sp<bool>>,
    /// Keys that were written (even if invalid), so "missing" is not reported twice.
    given: BTreeSet<String>,
}

/// A matter read from the file, with its hooks still to be compiled and bound.
#[derive(Debug, Clone)]
pub(crate) struct PendingMatter {
    pub matter: Matter,
    pub hooks: Vec<HookRef>,
    pub id_span: Span,
}

/// A `[[joint]]` table read from its lead department's file, completed once every
/// department is loaded (its member matters may be in other files).
#[derive(Debug, Clone)]
pub(crate) struct PendingJoint {
    fields: Fields,
    /// The lead department's `[defaults]`: timing, caps and publication, never its
    /// qualifications, categories or hooks (those were written for its own matters).
    defaults: Fields,
    header: DeptHeader,
    members: Vec<Sp<String>>,
    span: Span,
    /// The lead department's rule file (an index into the loaded sources).
    pub file: usize,
}

/// What a rule file holds.
pub(crate) struct DeptFile {
    pub header: DeptHeader,
    pub matters: Vec<PendingMatter>,
    pub joints: Vec<PendingJoint>,
}

pub(crate) fn read_department(text: &str, config: &Config, cx: &mut Cx<'_>) -> Option<DeptFile> {
    let value = crate::rules::reader::parse(text, cx)?;
    let mut top = Table::from_value(value, "", cx)?;
    let header = read_header(&mut top, cx)?;

    let defaults = read_defaults(&mut top, config, cx);

    let mut matters = Vec::new();
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    let tables = top.tables("matter", cx);
    let joint_tables = top.tables("joint", cx);
    if tables.is_empty() && !top.has("matter") {
        cx.error(
            0..1,
            format!("department `{}` has no [[matter]]", header.id),
            "no matters",
        )
        .help
        .push("add at least one [[matter]] table".into());
    }
    top.finish(DEPT_KEYS, cx);
    for t in tables {
        let span = t.span.clone();
        let fields = read_fields(t, config, cx, true);
        let note = fields.note.clone();
        let Some(m) = complete(fields, &defaults, &header, span, cx) else {
            continue;
        };
        if let Some(note) = &note {
            let whose = format!("the note of matter `{}`", m.matter.id);
            notes::check(
                text,
                note,
                &notes::ratios_of(&m.matter),
                &whose,
                "its ratios are",
                cx,
            );
        }
        if let Some(first) = seen.get(&m.matter.id) {
            let (line, _) = crate::diag::line_col(text, first.start);
            cx.error(
                m.id_span.clone(),
                format!("duplicate matter id `{}`", m.matter.id),
                "used twice",
            )
            .help
            .push(format!(
                "first used on line {line}; matter ids must be unique"
            ));
        } else {
            seen.insert(m.matter.id.clone(), m.id_span.clone());
            matters.push(m);
        }
    }
    if let Some(note) = &header.frequency_note_at {
        let ratios: Vec<_> = matters
            .iter()
            .flat_map(|m| notes::ratios_of(&m.matter))
            .collect();
        let whose = format!("the frequency_note of department `{}`", header.id);
        notes::check(text, note, &ratios, &whose, "its matters' ratios are", cx);
    }
    let joints = read_joints(joint_tables, &defaults, &header, config, cx);
    Some(DeptFile {
        header,
        matters,
        joints,
    })
}

/// The `[defaults]` table (empty when there is none); `retired` is no default.
fn read_defaults(top: &mut Table<'_>, config: &Config, cx: &mut Cx<'_>) -> Fields {
    let defaults = match top.table("defaults", cx) {
        Some(t) => read_fields(t, config, cx, false),
        None => Fields::default(),
    };
    if let Some(r) = &defaults.retired {
        cx.error(
            r.span.clone(),
            "`retired` is not a default",
            "retires one matter or the department",
        )
        .help
        .push("write retired = true in the [[matter]] to retire, or in [department] to retire all its matters".into());
    }
    defaults
}

/// The `[[joint]]` tables of a file, to be completed once every department is loaded.
fn read_joints(
    joint_tables: Vec<Table<'_>>,
    defaults: &Fields,
    header: &DeptHeader,
    config: &Config,
    cx: &mut Cx<'_>,
) -> Vec<PendingJoint> {
    joint_tables
        .into_iter()
        .map(|mut t| {
            let span = t.span.clone();
            let members = t.strings("matters", cx).unwrap_or_default();
            let fields = read_fields_as(t, config, cx, false, &joint_keys());
            PendingJoint {
                fields,
                defaults: joint_defaults(defaults),
                header: header.clone(),
                members,
                span,
                file: cx.file,
            }
        })
        .collect()
}

/// The lead department's defaults a joint plan inherits: not its qualifications, categories,
/// class ratios or hooks, which were written for the department's own matters.
fn joint_defaults(d: &Fields) -> Fields {
    let mut d = d.clone();
    d.qualifications = None;
    d.categories = None;
    d.class_field = None;
    d.class_ratios = None;
    d.class_ratio_keys.clear();
    d.class_frequency = None;
    d.biennial_start = None;
    d.hooks.clear();
    d.hook_script = None;
    d.given.retain(|k| {
        !matches!(
            k.as_str(),
            "qualifications"
                | "categories"
                | "class_field"
                | "class_ratios"
                | "class_frequency"
                | "biennial_start"
                | "hooks"
        )
    });
    d
}

/// The `[department]` table; `None` (reported) when there is none.
fn read_header(top: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<DeptHeader> {
    match top.table("department", cx) {
        Some(mut t) => {
            let id = t.req_string("id", "\"zhian\"", cx);
            let name = t.req_string("name", "\"治安大队\"", cx);
            let order = int(&mut t, Section::Department, "order", cx).map_or(100, |o| o.value);
            let summary = t.string("summary", cx).map(|s| s.value);
            let frequency_note = t.string("frequency_note", cx);
            let publication_note = t.string("publication_note", cx).map(|s| s.value);
            let retired = t.boolean("retired", cx).is_some_and(|r| r.value);
            t.finish(&schema::names(Section::Department), cx);
            if let Some(id) = &id {
                check_id(id, cx);
            }
            Some(DeptHeader {
                id: id.map(|i| i.value).unwrap_or_default(),
                name: name.map(|n| n.value).unwrap_or_default(),
                order,
                summary,
                frequency_note: frequency_note.as_ref().map(|n| n.value.clone()),
                frequency_note_at: frequency_note,
                publication_note,
                retired,
            })
        }
        None => {
            if !cx.diags.iter().any(|d| d.message.contains("`department`")) {
                cx.error(
                    0..1,
                    "missing [department] table",
                    "a rule file starts with [department]",
                )
                .help
                .push("add [department] with id = \"…\" and name = \"…\"".into());
            }
            None
        }
    }
}

fn check_id(id: &Sp<String>, cx: &mut Cx<'_>) -> bool {
    let ok = !id.value.is_empty()
        && id
            .value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        cx.error(
            id.span.clone(),
            format!("`{}` is not a valid id", id.value),
            "ids are lowercase ASCII",
        )
        .help
        .push("use lowercase letters, digits, `_` or `-`, e.g. \"hotel\"".into());
    }
    ok
}

fn read_fields(t: Table<'_>, config: &Config, cx: &mut Cx<'_>, is_matter: bool) -> Fields {
    read_fields_as(t, config, cx, is_matter, &schema::names(Section::Matter))
}

fn read_fields_as(
    mut t: Table<'_>,
    config: &Config,
    cx: &mut Cx<'_>,
    is_matter: bool,
    keys: &[&str],
) -> Fields {
    let given = keys
        .iter()
        .filter(|k| t.has(k))
        .map(|k| (*k).to_string())
        .collect();
    let mut f = Fields {
        given,
        id: t.string("id", cx),
        name: t.string("name", cx),
        legal_basis: t
            .strings("legal_basis", cx)
            .map(|v| v.into_iter().map(|s| s.value).collect()),
        scope: t.string("scope", cx).map(|s| s.value),
        ..Fields::default()
    };
    if let Some(id) = &f.id
        && !check_id(id, cx)
    {
        f.id = None;
    }
    read_selection(&mut t, &mut f, config, cx);
    read_timing(&mut t, &mut f, config.legacy_ratios, cx);
    read_teams(&mut t, &mut f, config, cx);
    if is_matter {
        f.checklist = Some(checklist(&mut t, cx));
    }
    read_publication(&mut t, &mut f, cx);
    read_hooks(&mut t, &mut f, cx);
    f.seed = t
        .table("seed", cx)
        .map(|st| super::config::read_seed_table(st, None, cx));
    f.note = t.string("note", cx);
    f.retired = t.boolean("retired", cx);
    t.finish(keys, cx);
    f
}

/// Who is drawn and how many: categories, ratios, strata.
fn read_selection(t: &mut Table<'_>, f: &mut Fields, config: &Config, cx: &mut Cx<'_>) {
    if let Some(cats) = t.strings("categories", cx) {
        for c in &cats {
            if !config.categories.contains_key(&c.value) {
                unknown(
                    cx,
                    c,
                    "category",
                    config.categories.keys().map(String::as_str),
                    "[categories] in config/suiji.toml",
                );
            }
        }
        f.categories = Some(cats);
    }
    f.ratio = ratio(t, "ratio", config.legacy_ratios, cx);
    f.class_field = t.string("class_field", cx);
    let class_ratios = t.string_map("class_ratios", cx);
    if !class_ratios.is_empty() {
        let mut map = BTreeMap::new();
        for (class, r) in class_ratios {
            f.class_ratio_keys
                .push((class.value.clone(), class.span.clone()));
            match parse_share(&r.value, config.legacy_ratios) {
                Ok(share) => {
                    if share.cap.is_some() && config.algorithm == Algorithm::V1 {
                        cx.error(
                            r.span,
                            format!("the bound `{}` needs the draw algorithm suiji-draw/2", r.value),
                            "a bound of version 2",
                        )
                        .help
                        .push("set [draw] algorithm = \"suiji-draw/2\" in config/suiji.toml (its manifest records the cap, docs/draw-algorithm.md V2-11), or write a plain percentage".into());
                    }
                    map.insert(class.value, share);
                }
                Err(e) => {
                    cx.error(r.span, e.message, "bad ratio").help.push(e.help);
                }
            }
        }
        f.class_ratios = Some(map);
    }
    f.class_frequency = class_frequency(t, config, cx);
    f.biennial_start = int(t, Section::Matter, "biennial_start", cx);
    f.stratify_by = t.string("stratify_by", cx);
}

/// `class_frequency = { A = "biennial", D = "quarterly" }`: each value one of the words of
/// [`ClassFrequency::NAMES`]; `None` when the key is not written.
fn class_frequency(
    t: &mut Table<'_>,
    config: &Config,
    cx: &mut Cx<'_>,
) -> Option<Vec<(Sp<String>, ClassFrequency, Span)>> {
    t.span_of("class_frequency")?;
    let entries = t.string_map("class_frequency", cx);
    let mut out = Vec::new();
    for (class, v) in entries {
        match ClassFrequency::parse(v.value.trim()) {
            Some(freq) => {
                if config.algorithm == Algorithm::V1 {
                    cx.error(
                        v.span.clone(),
                        "`class_frequency` needs the draw algorithm suiji-draw/2",
                        "a rule of version 2",
                    )
                    .help
                    .push("set [draw] algorithm = \"suiji-draw/2\" in config/suiji.toml (its manifest records the classes each draw covers, docs/draw-algorithm.md V2-14)".into());
                }
                out.push((class, freq, v.span));
            }
            None => {
                let d = cx.error(
                    v.span.clone(),
                    format!("unknown class frequency `{}`", v.value),
                    "not a class frequency",
                );
                d.help.push(format!(
                    "write one of {} (每两年、每年、每半年、每季度、每月)",
                    ClassFrequency::NAMES
                        .iter()
                        .map(|n| format!("\"{n}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                if let Some(near) =
                    crate::diag::did_you_mean(v.value.trim(), ClassFrequency::NAMES.iter().copied())
                {
                    d.help.push(format!("did you mean `{near}`?"));
                }
            }
        }
    }
    Some(out)
}

/// When: frequency, issue day, working days to finish, the holiday window.
fn read_timing(t: &mut Table<'_>, f: &mut Fields, legacy: bool, cx: &mut Cx<'_>) {
    f.frequency_at = t.span_of("cron").or_else(|| t.span_of("frequency"));
    f.frequency = frequency(t, cx);
    if let Some(s) = t.string("issue", cx) {
        f.issue_at = Some(s.span.clone());
        match parse_issue(&s.value) {
            Ok(i) => f.issue = Some(i),
            Err(e) => {
                cx.error(s.span, e, "bad issue day");
            }
        }
    }
    f.due_working_days = int(t, Section::Matter, "due_working_days", cx).map(|v| v.value as u32);
    if let Some(h) = t.table("holiday", cx) {
        f.holiday = holiday(h, legacy, cx);
    }
    if let Some(o) = t.string("on_holiday", cx) {
        match o.value.as_str() {
            "next-working-day" => f.on_holiday = Some(OnHoliday::NextWorkingDay),
            "keep" => f.on_holiday = Some(OnHoliday::Keep),
            other => {
                cx.error(
                    o.span,
                    format!("unknown on_holiday policy `{other}`"),
                    "expected \"next-working-day\" or \"keep\"",
                )
                .help
                .push("\"next-working-day\" moves a cron draw that falls on a day off to the next working day; \"keep\" issues it on the day off".into());
            }
        }
    }
}

/// Teams: size, qualifications and the caps on inspectors and targets.
fn read_teams(t: &mut Table<'_>, f: &mut Fields, config: &Config, cx: &mut Cx<'_>) {
    f.team_size = int(t, Section::Matter, "team_size", cx).and_then(|v| {
        if v.value < 2 {
            cx.error(
                v.span,
                "an inspection needs at least two inspectors on site",
                "team_size must be ≥ 2",
            )
            .help
            .push("set team_size = 2 or more".into());
            None
        } else {
            Some(v.value as u32)
        }
    });
    if let Some(qs) = t.strings("qualifications", cx) {
        for q in &qs {
            if !config.qualifications.contains_key(&q.value) {
                unknown(
                    cx,
                    q,
                    "qualification",
                    config.qualifications.keys().map(String::as_str),
                    "[qualifications] in config/suiji.toml",
                );
            }
        }
        f.qualifications = Some(qs);
    }
    f.workload_cap = int(t, Section::Matter, "workload_cap", cx).map(|v| v.value as u32);
    f.cooldown_months = int(t, Section::Matter, "cooldown_months", cx).map(|v| v.value as u32);
    f.yearly_cap = int(t, Section::Matter, "yearly_cap", cx).map(|v| v.value as u32);
}

/// Publication of results, and what to do with draws missed while the service was down.
fn read_publication(t: &mut Table<'_>, f: &mut Fields, cx: &mut Cx<'_>) {
    if let Some(mut p) = t.table("publication", cx) {
        f.publication_channel = p.string("channel", cx).map(|s| s.value);
        f.publication_deadline =
            int(&mut p, Section::Publication, "deadline_working_days", cx).map(|v| v.value as u32);
        p.finish(&schema::names(Section::Publication), cx);
    }
    let grace = int(t, Section::Matter, "catch_up_grace_days", cx);
    if let Some(c) = t.string("catch_up", cx) {
        match c.value.as_str() {
            "issue" => f.catch_up = Some(CatchUp::Issue),
            "skip" => {
                f.catch_up = Some(CatchUp::Skip {
                    grace_days: grace.as_ref().map_or(0, |g| g.value as u32),
                })
            }
            other => {
                cx.error(c.span, format!("unknown catch-up policy `{other}`"), "expected \"issue\" or \"skip\"")
                    .help
                    .push("\"issue\" draws late after downtime; \"skip\" skips draws more than catch_up_grace_days late".into());
            }
        }
    }
}

/// The `[hooks]` table: a script and the hooks it defines.
fn read_hooks(t: &mut Table<'_>, f: &mut Fields, cx: &mut Cx<'_>) {
    if let Some(mut h) = t.table("hooks", cx) {
        f.hook_script = h.string("script", cx);
        for kind in [
            HookKind::Eligible,
            HookKind::Weight,
            HookKind::Conflict,
            HookKind::Class,
        ] {
            if let Some(func) = h.string(kind.fn_name(), cx) {
                match &f.hook_script {
                    Some(script) => f.hooks.push(HookRef {
                        kind,
                        script: script.clone(),
                        function: func,
                    }),
                    None => {
                        cx.error(
                            func.span,
                            format!("hook `{}` needs a script", kind.fn_name()),
                            "no script named",
                        )
                        .help
                        .push("add script = \"<file>.rhai\" to this [hooks] table".into());
                    }
                }
            }
        }
        h.finish(&schema::names(Section::Hooks), cx);
    }
}

fn unknown<'a>(
    cx: &mut Cx<'_>,
    given: &Sp<String>,
    what: &str,
    known: impl Iterator<Item = &'a str> + Clone,
    where_: &str,
) {
    let d = cx.error(
        given.span.clone(),
        format!("unknown {what} `{}`", given.value),
        format!("not a declared {what}"),
    );
    match crate::diag::did_you_mean(&given.value, known.clone()) {
        Some(s) => d.help.push(format!("did you mean `{s}`?")),
        None => d.help.push(format!(
            "declare it in {where_}; known: {}",
            known.collect::<Vec<_>>().join(", ")
        )),
    }
}

fn ratio(t: &mut Table<'_>, key: &str, legacy: bool, cx: &mut Cx<'_>) -> Option<Ratio> {
    let (span, mut v) = t.raw(key)?;
    let span = if v.span.end > v.span.start {
        v.span.start..v.span.end
    } else {
        span
    };
    let text = match v.take() {
        toml_span::value::ValueInner::String(s) => s.to_string(),
        toml_span::value::ValueInner::Float(f) => f.to_string(),
        toml_span::value::ValueInner::Integer(i) => i.to_string(),
        other => {
            cx.error(
                span,
                format!(
                    "`{key}` must be a ratio like \"5%\", not a {}",
                    other.type_str()
                ),
                "expected a ratio",
            );
            return None;
        }
    };
    match parse_ratio_as(&text, legacy) {
        Ok(r) => Some(r),
        Err(e) => {
            cx.error(span, e.message, "bad ratio").help.push(e.help);
            None
        }
    }
}

fn frequency(t: &mut Table<'_>, cx: &mut Cx<'_>) -> Option<Frequency> {
    let freq = t.string("frequency", cx);
    let cron_expr = t.string("cron", cx);
    if let Some(expr) = cron_expr {
        if let Some(f) = &freq
            && f.value != "cron"
        {
            cx.error(
                f.span.clone(),
                "`frequency` and `cron` both given",
                "remove one",
            )
            .help
            .push("a matter either has a named frequency or a cron expression".into());
        }
        let fields = expr.value.split_whitespace().count();
        return match cron::Schedule::from_str(&expr.value) {
            Ok(s) if fields == 6 || fields == 7 => Some(Frequency::Cron {
                expr: expr.value,
                schedule: Arc::new(s),
            }),
            Ok(_) | Err(_) => {
                let detail = cron::Schedule::from_str(&expr.value)
                    .err()
                    .and_then(|e| {
                        e.to_string()
                            .lines()
                            .next()
                            .map(|l| format!(" ({})", l.trim()))
                    })
                    .filter(|d| !d.contains(expr.value.trim()))
                    .unwrap_or_default();
                let d = cx.error(
                    expr.span,
                    format!("invalid cron expression `{}`{detail}", expr.value),
                    "not a valid cron expression",
                );
                d.help.push("cron here has 6 or 7 fields, seconds first: \"sec min hour day-of-month month day-of-week [year]\", e.g. \"0 0 9 1 * *\" (09:00 on the 1st of each month)".into());
                if fields == 5 {
                    d.help.push("this has 5 fields: add the seconds field in front, e.g. \"0 \" + your expression".into());
                }
                None
            }
        };
    }
    let f = freq?;
    let parsed = match f.value.as_str() {
        "yearly" | "每年" => Some(Frequency::Yearly),
        "half-yearly" | "每半年" => Some(Frequency::HalfYearly),
        "quarterly" | "每季度" => Some(Frequency::Quarterly),
        "monthly" | "每月" => Some(Frequency::Monthly),
        _ => None,
    };
    if parsed.is_none() {
        let choices = ["yearly", "half-yearly", "quarterly", "monthly"];
        let d = cx.error(
            f.span,
            format!("unknown frequency `{}`", f.value),
            "not a frequency",
        );
        match crate::diag::did_you_mean(&f.value, choices) {
            Some(s) => d.help.push(format!("did you mean `{s}`?")),
            None => d
                .help
                .push("use yearly, half-yearly, quarterly, monthly, or give cron = \"…\"".into()),
        }
    }
    parsed
}

fn holiday(mut h: Table<'_>, legacy: bool, cx: &mut Cx<'_>) -> Option<HolidayRule> {
    let mut holidays = Vec::new();
    let names = h.strings("holidays", cx);
    match &names {
        Some(names) => {
            for n in names {
                match Holiday::parse(&n.value) {
                    Some(x) => holidays.push(x),
                    None => {
                        let ids = Holiday::ALL.map(Holiday::id);
                        let d = cx.error(
                            n.span.clone(),
                            format!("unknown holiday `{}`", n.value),
                            "not a statutory holiday",
                        );
                        match crate::diag::did_you_mean(&n.value, ids) {
                            Some(s) => d.help.push(format!("did you mean `{s}`?")),
                            None => d.help.push(format!(
                                "use one of: {} (or their Chinese names)",
                                ids.join(", ")
                            )),
                        }
                    }
                }
            }
        }
        None => {
            let span = h.span.clone();
            cx.error(
                span.start..span.start + 1,
                format!("missing `{}.holidays`", h.path),
                "which holidays?",
            )
            .help
            .push("add holidays = [\"chunjie\", \"guoqing\"]".into());
        }
    }
    let days_before =
        int(&mut h, Section::Holiday, "days_before", cx).map_or(7, |v| v.value as u32);
    let working_days = h.boolean("working_days", cx).is_some_and(|b| b.value);
    let ratio = ratio(&mut h, "ratio", legacy, cx);
    let key_area_only = h.boolean("key_area_only", cx).is_some_and(|b| b.value);
    let due = int(&mut h, Section::Holiday, "due_working_days", cx).map(|v| v.value as u32);
    if ratio.is_none() && !cx.diags.iter().any(|d| d.message.contains("ratio")) {
        let span = h.span.clone();
        cx.error(
            span.start..span.start + 1,
            format!("missing `{}.ratio`", h.path),
            "how many to check?",
        )
        .help
        .push("add ratio = \"10%\"".into());
    }
    h.finish(&schema::names(Section::Holiday), cx);
    Some(HolidayRule {
        holidays,
        days_before,
        working_days,
        ratio: ratio?,
        key_area_only,
        due_working_days: due.unwrap_or(0),
    })
}

fn checklist(t: &mut Table<'_>, cx: &mut Cx<'_>) -> Vec<ChecklistItem> {
    let mut items = Vec::new();
    let mut seen = BTreeSet::new();
    for mut item in t.tables("checklist", cx) {
        let id = item.req_string("id", "\"hotel-01\"", cx);
        let text = item.req_string("text", "\"办理许可证情况\"", cx);
        let group = item.string("group", cx).map(|g| g.value);
        item.finish(&schema::names(Section::Checklist), cx);
        if let (Some(id), Some(text)) = (id, text) {
            if !seen.insert(id.value.clone()) {
                cx.error(
                    id.span,
                    format!("duplicate checklist item id `{}`", id.value),
                    "used twice",
                )
                .help
                .push("checklist ids must be unique within a matter; results refer to them".into());
                continue;
            }
            if text.value.trim().is_empty() {
                cx.error(text.span, "empty checklist item", "no text");
                continue;
            }
            items.push(ChecklistItem {
                id: id.value,
                group,
                text: text.value,
            });
        }
    }
    items
}

/// Fills a matter from its fields and the department's defaults; reports what is missing.
fn complete(
    f: Fields,
    d: &Fields,
    header: &DeptHeader,
    span: Span,
    cx: &mut Cx<'_>,
) -> Option<PendingMatter> {
    let id = matter_id(&f, span, cx)?;
    let Required {
        name,
        categories,
        ratio,
        frequency,
        checklist,
    } = required(&f, d, &id, cx);
    let (hooks, places) = (merged_hooks(d, &f), places(&f, d, &id, cx.file));
    let class_frequency = class_frequency_of(&f, d, frequency.as_ref(), cx);
    let biennial_start = biennial_start_of(&f, d, cx);
    let (qualifications, publication) = (qualifications_of(&f, d), publication_of(&f, d));
    let matter = Matter {
        id: format!("{}.{}", header.id, id.value),
        department: header.id.clone(),
        name: name?,
        legal_basis: f
            .legal_basis
            .or_else(|| d.legal_basis.clone())
            .unwrap_or_default(),
        scope_text: f.scope.or_else(|| d.scope.clone()).unwrap_or_default(),
        categories,
        ratio: ratio?,
        class_field: named(&f.class_field, &d.class_field),
        class_ratios: f
            .class_ratios
            .clone()
            .or_else(|| d.class_ratios.clone())
            .unwrap_or_default(),
        class_frequency,
        biennial_start,
        stratify_by: named(&f.stratify_by, &d.stratify_by),
        frequency: frequency?,
        issue_at: f.issue.or(d.issue).unwrap_or(IssueAt::WorkingDay(1)),
        due_working_days: f.due_working_days.or(d.due_working_days).unwrap_or(0),
        holiday: f.holiday.or_else(|| d.holiday.clone()),
        team_size: f.team_size.or(d.team_size).unwrap_or(2),
        qualifications,
        workload_cap: f.workload_cap.or(d.workload_cap).unwrap_or(20),
        cooldown_months: f.cooldown_months.or(d.cooldown_months),
        yearly_cap: f.yearly_cap.or(d.yearly_cap),
        checklist,
        publication,
        catch_up: f.catch_up.or(d.catch_up).unwrap_or(CatchUp::Issue),
        eligible: None,
        weight: None,
        conflict: None,
        class_hook: None,
        note: f.note.clone().map(|n| n.value),
        on_holiday: f.on_holiday.or(d.on_holiday).unwrap_or_default(),
        places,
        joint: None,
        retired: header.retired || f.retired.as_ref().is_some_and(|r| r.value),
        seed_source: f.seed.clone().or_else(|| d.seed.clone()),
    };
    (!matter.checklist.is_empty()).then_some(PendingMatter {
        matter,
        hooks,
        id_span: id.span,
    })
}

/// The qualifications every team member must hold: the matter's, else its department's.
fn qualifications_of(f: &Fields, d: &Fields) -> Vec<String> {
    f.qualifications
        .as_ref()
        .or(d.qualifications.as_ref())
        .map(|q| q.iter().map(|q| q.value.clone()).collect())
        .unwrap_or_default()
}

/// Where and within how many working days results are published: the matter's, else its
/// department's, else 网上公示 within 20.
fn publication_of(f: &Fields, d: &Fields) -> Publication {
    Publication {
        channel: f
            .publication_channel
            .as_ref()
            .or(d.publication_channel.as_ref())
            .cloned()
            .unwrap_or_else(|| "网上公示".into()),
        deadline_working_days: f
            .publication_deadline
            .or(d.publication_deadline)
            .unwrap_or(20),
    }
}

/// Completes a joint plan once every department's matters are loaded: its members are looked
/// up, its scope defaults to the union of theirs, its checklist is theirs (each item's id
/// prefixed with its matter's, `shichang.food/food-01`, grouped under the matter's name), its
/// team covers their qualifications together with a member from each department.
pub(crate) fn complete_joint(
    pj: PendingJoint,
    departments: &[crate::rules::model::Department],
    cx: &mut Cx<'_>,
) -> Option<PendingMatter> {
    let PendingJoint {
        mut fields,
        defaults,
        header,
        members,
        span,
        ..
    } = pj;
    let at = fields
        .id
        .as_ref()
        .map_or(span.start..span.start + 1, |i| i.span.clone());
    let found = members_of(&members, departments, &at, cx)?;
    check_members(&found, &members, (&header, &fields), &at, cx);
    let mut departments_of: Vec<String> = vec![header.id.clone()];
    let mut cover: Vec<String> = Vec::new();
    let mut categories: Vec<Sp<String>> = Vec::new();
    let mut checklist = Vec::new();
    let mut legal_basis: Vec<String> = Vec::new();
    for m in &found {
        if !departments_of.contains(&m.department) {
            departments_of.push(m.department.clone());
        }
        for q in &m.qualifications {
            if !cover.contains(q) {
                cover.push(q.clone());
            }
        }
        for c in &m.categories {
            if !categories.iter().any(|x| &x.value == c) {
                categories.push(Sp {
                    value: c.clone(),
                    span: at.clone(),
                });
            }
        }
        for l in &m.legal_basis {
            if !legal_basis.contains(l) {
                legal_basis.push(l.clone());
            }
        }
        checklist.extend(m.checklist.iter().map(|i| ChecklistItem {
            id: format!("{}/{}", m.id, i.id),
            group: Some(match &i.group {
                Some(g) => format!("{}：{g}", m.name),
                None => m.name.clone(),
            }),
            text: i.text.clone(),
        }));
    }
    if fields.categories.is_none() {
        fields.categories = Some(categories);
    }
    if fields.legal_basis.is_none() {
        fields.legal_basis = Some(legal_basis);
    }
    let needs = cover.len()
        + if departments_of.len() > 1 {
            departments_of.len()
        } else {
            0
        };
    if fields.team_size.is_none() {
        let needs = u32::try_from(needs).unwrap_or(u32::MAX);
        fields.team_size = Some(defaults.team_size.unwrap_or(2).max(needs));
    }
    fields.checklist = Some(checklist);
    let mut p = complete(fields, &defaults, &header, span, cx)?;
    p.matter.joint = Some(crate::rules::model::Joint {
        members: found.iter().map(|m| m.id.clone()).collect(),
        departments: departments_of,
        cover,
    });
    Some(p)
}

/// A joint plan's lead inspects one of its matters, and a joint plan in force checks no
/// retired matter.
fn check_members(
    found: &[&Matter],
    members: &[Sp<String>],
    (header, fields): (&DeptHeader, &Fields),
    at: &Span,
    cx: &mut Cx<'_>,
) {
    lead_inspects(found, &header.id, at, cx);
    if header.retired || fields.retired.as_ref().is_some_and(|r| r.value) {
        return;
    }
    for (m, at) in found.iter().zip(members) {
        if m.retired {
            cx.error(
                at.span.clone(),
                format!("matter `{}` is retired", m.id),
                "retired matter in a joint plan",
            )
            .help
            .push(
                "take it out of matters = [...], or retire the joint plan too (retired = true)"
                    .into(),
            );
        }
    }
}

/// A joint plan's lead department (牵头部门) inspects at least one of its matters.
fn lead_inspects(found: &[&Matter], lead: &str, at: &Span, cx: &mut Cx<'_>) {
    if !found.iter().any(|m| m.department == lead) {
        cx.error(at.clone(), format!("the lead department `{}` has no matter in this joint plan", lead), "lead without a matter")
            .help
            .push("write a [[joint]] in the rule file of the department that leads it (牵头部门), which inspects at least one of its matters".into());
    }
}

/// The member matters a joint plan names; `None` (reported) when one is unknown or named
/// twice, or when there are fewer than two.
fn members_of<'m>(
    members: &[Sp<String>],
    departments: &'m [crate::rules::model::Department],
    at: &Span,
    cx: &mut Cx<'_>,
) -> Option<Vec<&'m Matter>> {
    let all = || departments.iter().flat_map(|d| d.matters.iter());
    let mut found: Vec<&Matter> = Vec::new();
    for m in members {
        match all().find(|x| x.id == m.value) {
            Some(x) if found.iter().any(|f| f.id == x.id) => {
                cx.error(
                    m.span.clone(),
                    format!("matter `{}` is named twice", m.value),
                    "named twice",
                )
                .help
                .push("name each matter of a joint plan once".into());
            }
            Some(x) => found.push(x),
            None => {
                unknown(
                    cx,
                    m,
                    "matter",
                    all().map(|x| x.id.as_str()),
                    "a rules/<department>.toml `[[matter]]` (written department.matter)",
                );
            }
        }
    }
    if members.len() < 2 {
        cx.error(at.clone(), "a joint plan needs at least two matters", "too few matters")
            .help
            .push("write matters = [\"shichang.food\", \"shichang.price\"] with the ids of the matters inspected together".into());
        return None;
    }
    if found.len() != members.len() {
        return None;
    }
    Some(found)
}

/// The matter's own text setting, or else its department's default.
fn named(mine: &Option<Sp<String>>, default: &Option<Sp<String>>) -> Option<String> {
    mine.as_ref().or(default.as_ref()).map(|x| x.value.clone())
}

/// Where the matter's settings were written: in the matter, or else in `[defaults]`.
fn places(f: &Fields, d: &Fields, id: &Sp<String>, file: usize) -> Places {
    let either = |mine: Option<&Span>, given: bool, theirs: Option<&Span>| {
        if given { mine } else { theirs }.cloned()
    };
    Places {
        file,
        id: id.span.clone(),
        categories: f
            .categories
            .as_ref()
            .or(d.categories.as_ref())
            .and_then(|c| Some(c.first()?.span.start..c.last()?.span.end)),
        class_field: f
            .class_field
            .as_ref()
            .or(d.class_field.as_ref())
            .map(|c| c.span.clone()),
        class_ratios: if f.class_ratios.is_some() {
            f.class_ratio_keys.clone()
        } else {
            d.class_ratio_keys.clone()
        },
        class_frequency: f
            .class_frequency
            .as_ref()
            .or(d.class_frequency.as_ref())
            .map(|v| {
                v.iter()
                    .map(|(c, _, _)| (c.value.clone(), c.span.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        stratify_by: f
            .stratify_by
            .as_ref()
            .or(d.stratify_by.as_ref())
            .map(|s| s.span.clone()),
        frequency: either(
            f.frequency_at.as_ref(),
            f.frequency.is_some(),
            d.frequency_at.as_ref(),
        ),
        issue: either(f.issue_at.as_ref(), f.issue.is_some(), d.issue_at.as_ref()),
    }
}

/// The matter's `class_frequency` (its own, else its department's), each class's cycle a whole
/// number of the matter's periods: a class cannot be drawn more often than the matter draws,
/// and a cron's fire times have no cycles to count.
fn class_frequency_of(
    f: &Fields,
    d: &Fields,
    frequency: Option<&Frequency>,
    cx: &mut Cx<'_>,
) -> BTreeMap<String, ClassFrequency> {
    let Some(written) = f.class_frequency.as_ref().or(d.class_frequency.as_ref()) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (class, freq, at) in written {
        match frequency.map(Frequency::months) {
            Some(None) => {
                cx.error(
                    at.clone(),
                    "`class_frequency` with a `cron` frequency",
                    "a cron has no periods to count cycles in",
                )
                .help
                .push("give the matter a named frequency (e.g. frequency = \"quarterly\"), as often as its most frequent class".into());
                return BTreeMap::new();
            }
            Some(Some(months)) if freq.months() < months => {
                cx.error(
                    at.clone(),
                    format!(
                        "class `{}` is drawn {} but the matter only every {months} months",
                        class.value,
                        freq.id()
                    ),
                    "more often than the matter's frequency",
                )
                .help
                .push(format!(
                    "the matter's draws come at its `frequency`; set frequency = \"{}\" (or more often) so that its draws reach this class",
                    freq.id()
                ));
            }
            _ => {}
        }
        out.insert(class.value.clone(), *freq);
    }
    out
}

/// The matter's `biennial_start` (its own, else its department's). Written on the matter itself
/// while no class of its `class_frequency` is `biennial`, it would decide nothing: an error at
/// the value (a department's default is for the matters that have such a class).
fn biennial_start_of(f: &Fields, d: &Fields, cx: &mut Cx<'_>) -> Option<i32> {
    let written = f.biennial_start.as_ref().or(d.biennial_start.as_ref())?;
    let biennial = f
        .class_frequency
        .as_ref()
        .or(d.class_frequency.as_ref())
        .is_some_and(|v| {
            v.iter()
                .any(|(_, freq, _)| *freq == ClassFrequency::Biennial)
        });
    if let Some(own) = &f.biennial_start
        && !biennial
    {
        cx.error(
            own.span.clone(),
            "`biennial_start` without a biennial class",
            "no class of `class_frequency` is drawn every two years",
        )
        .help
        .push("remove it, or give a class `\"biennial\"` in class_frequency (e.g. A = \"biennial\"); it names the first year of that class's two-year cycles".into());
    }
    i32::try_from(written.value).ok()
}

/// A matter's id; a matter without one is reported (once).
fn matter_id(f: &Fields, span: Span, cx: &mut Cx<'_>) -> Option<Sp<String>> {
    let at = span.start..span.start + 1;
    let Some(id) = f.id.clone() else {
        if !cx.diags.iter().any(|x| x.message.contains("id")) {
            cx.error(at, "matter without `id`", "this [[matter]] has no id")
                .help
                .push("add id = \"hotel\"".into());
        }
        return None;
    };
    Some(id)
}

/// The department's hooks, each replaced by the matter's own hook of the same kind.
fn merged_hooks(d: &Fields, f: &Fields) -> Vec<HookRef> {
    let mut hooks = d.hooks.clone();
    for h in &f.hooks {
        hooks.retain(|x| x.kind != h.kind);
        hooks.push(h.clone());
    }
    hooks
}

/// The fields a matter must have, from itself or its department's `[defaults]`.
struct Required {
    name: Option<String>,
    categories: Vec<String>,
    ratio: Option<Ratio>,
    frequency: Option<Frequency>,
    checklist: Vec<ChecklistItem>,
}

/// Takes the fields a matter must have; reports each one missing.
fn required(f: &Fields, d: &Fields, id: &Sp<String>, cx: &mut Cx<'_>) -> Required {
    let given = |k: &str| f.given.contains(k) || d.given.contains(k);
    let missing = |what: &str, example: &str, cx: &mut Cx<'_>| {
        if given(what) || (what == "frequency" && given("cron")) {
            return;
        }
        cx.error(
            id.span.clone(),
            format!("matter `{}` has no `{what}`", id.value),
            "incomplete matter",
        )
        .help
        .push(format!(
            "add {what} = {example} to the matter or to [defaults]"
        ));
    };
    let name = f.name.clone().map(|n| n.value);
    if name.is_none() {
        missing("name", "\"…\"", cx);
    }
    let categories: Vec<String> = f
        .categories
        .clone()
        .or_else(|| d.categories.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.value)
        .collect();
    if categories.is_empty() {
        missing("categories", "[\"hotel\"]", cx);
    }
    let ratio = f.ratio.or(d.ratio);
    if ratio.is_none() {
        missing("ratio", "\"5%\"", cx);
    }
    let frequency = f.frequency.clone().or_else(|| d.frequency.clone());
    if frequency.is_none() {
        missing("frequency", "\"yearly\"", cx);
    }
    let checklist = f.checklist.clone().unwrap_or_default();
    if checklist.is_empty() {
        missing("checklist", "[[matter.checklist]] items", cx);
    }
    Required {
        name,
        categories,
        ratio,
        frequency,
        checklist,
    }
}

/// Binds compiled hooks to a matter.
pub(crate) fn bind(m: &mut Matter, kind: HookKind, hook: Hook) {
    match kind {
        HookKind::Eligible => m.eligible = Some(hook),
        HookKind::Weight => m.weight = Some(hook),
        HookKind::Conflict => m.conflict = Some(hook),
        HookKind::Class => m.class_hook = Some(hook),
    }
}
