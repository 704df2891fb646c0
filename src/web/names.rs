//! How the console names what the records hold by id: periods, kinds of draw, states.

use crate::calendar::Holiday;

/// A period id as staff say it (2023年上半年), by the rules' one naming of ids.
pub(crate) fn period(id: &str) -> String {
    crate::rules::names::period_label(id)
}

/// A draw's kind: 按计划, 手动, or the holiday's name + 专项.
pub(crate) fn kind(kind: &str) -> String {
    match kind {
        "regular" | "scheduled" => "按计划".into(),
        "manual" => "手动抽取".into(),
        other => match other.strip_prefix("holiday:").and_then(Holiday::parse) {
            Some(h) => format!("{}专项", h.name_zh()),
            None => other.to_string(),
        },
    }
}

/// A scheduled draw's kind.
pub(crate) fn scheduled_kind(kind: crate::schedule::DrawKind) -> String {
    match kind {
        crate::schedule::DrawKind::Regular => "按计划".into(),
        crate::schedule::DrawKind::Holiday(h) => format!("{}专项", h.name_zh()),
    }
}

/// Where a draw's seed came from, as the draw recorded it.
pub(crate) fn seed_source(source: &str) -> String {
    crate::rules::names::seed_source_text(source)
}

/// Why no team could be formed for a target (the draw records it in English).
pub(crate) fn unstaffed(reason: &str) -> String {
    crate::rules::names::unstaffed_text(reason)
}

/// A draw's file as staff know it.
pub(crate) fn file(name: &str) -> String {
    match name {
        "manifest.json" => "抽取清单（可复核，JSON）".into(),
        "tasks.csv" => "检查任务表（CSV）".into(),
        "tasks.xlsx" => "检查任务表（Excel）".into(),
        "teams.html" => "检查任务单（可打印）".into(),
        "public.csv" => "公示名单（CSV）".into(),
        "public.html" => "公示名单（网页）".into(),
        "bundle.public.json" => "公开数据包（任何人可复核抽取，JSON）".into(),
        "bundle.audit.gz" => "审计数据包（含名录库快照、规则和执法人员，不公开）".into(),
        "exclusions.csv" => "排除名单（CSV）".into(),
        other => split_file(other).unwrap_or_else(|| format!("文件 {other}")),
    }
}

/// A document of a large draw split by district or inspector (see `output::tasks`).
fn split_file(name: &str) -> Option<String> {
    if let Some(d) = name
        .strip_prefix("tasks-")
        .and_then(|n| n.strip_suffix(".xlsx"))
    {
        return Some(format!("检查任务表（Excel，{d}）"));
    }
    if let Some(p) = name
        .strip_prefix("teams-")
        .and_then(|n| n.strip_suffix(".html"))
    {
        return Some(format!("检查任务单（可打印，{p}）"));
    }
    let d = name.strip_prefix("public-")?.strip_suffix(".html")?;
    Some(format!("公示名单（网页，{d}）"))
}

/// Who acted, as the audit log and the draws record it.
pub(crate) fn actor(actor: &str) -> String {
    match actor {
        "scheduler" => "自动调度".into(),
        "web" => "控制台".into(),
        other => match other.split_once(':') {
            Some(("web", name)) => name.to_string(),
            Some(("cli", name)) => format!("{name}（命令行）"),
            _ => other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn kinds_and_actors_read_as_staff_say_them() {
        assert_eq!(super::kind("holiday:guoqing"), "国庆节专项");
        assert_eq!(super::kind("manual"), "手动抽取");
        assert_eq!(super::actor("web:li.ming"), "li.ming");
    }
}
