//! How the console names what the records hold by id: periods, kinds of draw, states.

use crate::calendar::Holiday;

/// A period id as staff say it: 2023 → 2023年, 2023-H1 → 2023年上半年, 2023-Q2 →
/// 2023年第二季度, 2023-05 → 2023年5月, 2023-chunjie → 2023年春节.
pub(crate) fn period(id: &str) -> String {
    let Some((year, rest)) = id.split_once('-') else {
        return format!("{id}年");
    };
    let part = match rest {
        "H1" => "上半年".to_string(),
        "H2" => "下半年".to_string(),
        "Q1" => "第一季度".to_string(),
        "Q2" => "第二季度".to_string(),
        "Q3" => "第三季度".to_string(),
        "Q4" => "第四季度".to_string(),
        m if m.len() == 2 && m.chars().all(|c| c.is_ascii_digit()) => {
            format!("{}月", m.trim_start_matches('0'))
        }
        h => match Holiday::parse(h) {
            Some(h) => h.name_zh().to_string(),
            None => h.to_string(),
        },
    };
    format!("{year}年{part}")
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
    if source == "os" {
        return "操作系统随机源".into();
    }
    if source == "supplied hex seed" {
        return "指定的 64 位十六进制种子".into();
    }
    if let Some(text) = source.strip_prefix("SHA-256 of supplied text ") {
        return format!("见证种子文本 {text} 的 SHA-256 值");
    }
    if let Some(rest) = source.strip_prefix("SHA-256 of file ") {
        return format!("种子文件 {rest} 的 SHA-256 值");
    }
    source.to_string()
}

/// Why no team could be formed for a target (the draw records it in English).
pub(crate) fn unstaffed(reason: &str) -> String {
    let parts = [
        ("no eligible inspector", "无符合条件的检查人员"),
        ("only 1 eligible inspector", "仅 1 名符合条件的检查人员"),
        ("eligible inspectors", "名符合条件的检查人员"),
        ("only ", "仅 "),
        ("(need ", "（每组需 "),
        ("): ", " 人）："),
        (
            "no other inspector in the registry",
            "名录库中无其他检查人员",
        ),
        (" listed twice", " 名重复登记"),
        (" inactive", " 名不在岗"),
        (" in another department", " 名属其他部门"),
        (" without a required qualification", " 名缺少所需资格"),
        (" at workload cap", " 名已达工作量上限"),
        (" 回避", " 名须回避"),
        (", ", "，"),
    ];
    let mut out = reason.to_string();
    for (en, zh) in parts {
        out = out.replace(en, zh);
    }
    out
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
        other => format!("文件 {other}"),
    }
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
    fn periods_read_as_staff_say_them() {
        assert_eq!(super::period("2023"), "2023年");
        assert_eq!(super::period("2023-H1"), "2023年上半年");
        assert_eq!(super::period("2023-Q4"), "2023年第四季度");
        assert_eq!(super::period("2023-05"), "2023年5月");
        assert_eq!(super::period("2023-chunjie"), "2023年春节");
        assert_eq!(super::kind("holiday:guoqing"), "国庆节专项");
    }
}
