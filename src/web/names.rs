//! How the console names what the records hold by id: periods, kinds of draw, states.

/// A period id as staff say it (2023年上半年), by the rules' one naming of ids.
pub(crate) fn period(id: &str) -> String {
    crate::rules::names::period_label(id)
}

/// A draw's kind: 按计划, 手动, or the holiday's name + 专项.
pub(crate) fn kind(kind: &str, period: &str) -> String {
    crate::rules::names::kind_label(kind, period)
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
        "bundle.audit.gz" => "审计数据包（含规则、执法人员和名录库快照或其校验值，不公开）".into(),
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

/// A value of a rule key with a fixed set of values (frequency, catch-up, cron draws on a
/// holiday), as staff say it; a value outside the set as written.
pub(crate) fn choice(value: &str) -> &str {
    match value {
        "yearly" => "每年",
        "half-yearly" => "每半年",
        "quarterly" => "每季度",
        "monthly" => "每月",
        "issue" => "补抽",
        "skip" => "超过宽限天数则跳过",
        "next-working-day" => "顺延到下一个工作日",
        "keep" => "当天抽取",
        "os" => "系统生成",
        "public" => "事先承诺的公开随机源",
        other => other,
    }
}

/// `text` cut into runs of what is written literally in a rule file (Latin letters, digits
/// and the signs between them: keys, file names, values such as `first-working-day`), each
/// marked `true`, and the Chinese around them, marked `false`.
pub(crate) fn literal_runs(text: &str) -> Vec<(bool, String)> {
    let mut runs: Vec<(bool, String)> = Vec::new();
    for c in text.chars() {
        let literal =
            c.is_ascii_graphic() || (c == ' ' && runs.last().is_some_and(|(lit, _)| *lit));
        match runs.last_mut() {
            Some((lit, run)) if *lit == literal => run.push(c),
            _ => runs.push((literal, c.to_string())),
        }
    }
    // A space that ends a literal run belongs to the text around it.
    let mut out: Vec<(bool, String)> = Vec::new();
    for (lit, run) in runs {
        let trimmed = run.trim_end_matches(' ');
        if lit && trimmed.len() < run.len() {
            let tail = run[trimmed.len()..].to_string();
            if !trimmed.is_empty() {
                out.push((true, trimmed.to_string()));
            }
            out.push((false, tail));
        } else {
            out.push((lit, run));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn kinds_and_actors_read_as_staff_say_them() {
        assert_eq!(super::kind("holiday:guoqing", "2023-guoqing"), "国庆节专项");
        assert_eq!(super::kind("holiday", "2023-chunjie"), "春节专项");
        assert_eq!(super::kind("holiday", "2023-10"), "节假日专项");
        assert_eq!(super::kind("manual", "2023-H1"), "手动抽取");
        assert_eq!(super::actor("web:li.ming"), "li.ming");
    }
}

#[cfg(test)]
mod rule_values {
    use super::*;

    #[test]
    fn literal_runs_mark_what_a_file_spells_and_keep_the_chinese() {
        let runs = literal_runs("first-working-day、working-day:N（期内第 N 个工作日）或 day:N");
        let marked: Vec<&str> = runs
            .iter()
            .filter(|(lit, _)| *lit)
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(marked, ["first-working-day", "working-day:N", "N", "day:N"]);
        let whole: String = runs.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            whole,
            "first-working-day、working-day:N（期内第 N 个工作日）或 day:N"
        );
        assert_eq!(
            literal_runs("catch_up = skip 时")[0],
            (true, "catch_up = skip".to_string())
        );
    }

    #[test]
    fn every_choice_of_the_rules_has_a_chinese_name() {
        for key in crate::rules::schema::KEYS {
            if let crate::rules::schema::Kind::Choice(values) = key.kind {
                for v in values {
                    assert!(!choice(v).is_ascii(), "{}: {v}", key.key);
                }
            }
        }
    }
}
