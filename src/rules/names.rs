//! The Chinese names staff and citizens read for the ids that machine files keep.
//!
//! Manifests, the database and the JSON feeds speak in ids (`zhian.hotel`, `2023-H1`,
//! `cooldown`, `SHA-256 of supplied text "…"`); every document a person reads (the plan, task
//! lists and sheets, public lists and notices, the report, and any other face) shows what this
//! module makes of them. An id this module does not know is shown as it is, never dropped.

use chrono::NaiveDate;

use crate::calendar::Holiday;
use crate::rules::model::Model;

/// The name of a matter (`zhian.hotel` → 旅馆业（宾馆、旅店）监督检查); the id itself when the
/// matter is no longer in the rules.
pub fn matter_name(model: &Model, id: &str) -> String {
    model
        .matter(id)
        .map_or_else(|| id.to_string(), |m| m.name.clone())
}

/// The name of a department (`zhian` → 治安大队); the id itself when it is unknown.
pub fn department_name(model: &Model, id: &str) -> String {
    model
        .department(id)
        .map_or_else(|| id.to_string(), |d| d.name.clone())
}

/// How a draw's kind reads (按计划, 手动抽取, 春节专项 …), from the kind its record keeps and its
/// period's id: a holiday draw recorded as `holiday` (its holiday in the period's id,
/// `2023-chunjie`) or as `holiday:<id>`.
pub fn kind_label(kind: &str, period: &str) -> String {
    match kind {
        "regular" | "scheduled" => "按计划".into(),
        "manual" => "手动抽取".into(),
        other => {
            let holiday = match other {
                "holiday" => period.split_once('-').map(|(_, h)| h),
                _ => other.strip_prefix("holiday:"),
            };
            match holiday.and_then(Holiday::parse) {
                Some(h) => format!("{}专项", h.name_zh()),
                None if other == "holiday" => "节假日专项".into(),
                None => other.to_string(),
            }
        }
    }
}

/// The name of a period, from its id alone: `2023` → 2023年度, `2023-H1` → 2023年上半年,
/// `2023-Q2` → 2023年第2季度, `2023-03` → 2023年3月, `2023-chunjie` → 2023年春节前,
/// `2023-03-06T0900` (a cron period) → 2023年3月6日 09:00.
pub fn period_label(id: &str) -> String {
    if id.len() == 4 && id.chars().all(|c| c.is_ascii_digit()) {
        return format!("{id}年度");
    }
    if let Some(label) = cron_period_label(id) {
        return label;
    }
    let Some((y, rest)) = id.split_once('-') else {
        return id.to_string();
    };
    if y.len() != 4 || !y.chars().all(|c| c.is_ascii_digit()) {
        return id.to_string();
    }
    match rest {
        "H1" => format!("{y}年上半年"),
        "H2" => format!("{y}年下半年"),
        q if q.len() == 2 && q.starts_with('Q') => format!("{y}年第{}季度", &q[1..]),
        m if m.len() == 2 && m.chars().all(|c| c.is_ascii_digit()) => {
            format!("{y}年{}月", m.trim_start_matches('0'))
        }
        h => match Holiday::parse(h) {
            Some(hol) => format!("{y}年{}前", hol.name_zh()),
            None => id.to_string(),
        },
    }
}

/// The id the period `id` (version 2, `2023-04-01T0900`) had under version 1 of period ids
/// (`2023-04-01T09:00`), when it differs: only a cron period's time changed form
/// (docs/draw-algorithm.md V2-15). A draw recorded under that id keeps it.
pub fn first_form(id: &str) -> Option<String> {
    let (date, time) = id.split_once('T')?;
    let digits = time.len() == 4 || time.len() == 6;
    if !digits || !time.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = format!("{date}T{}:{}", &time[..2], &time[2..4]);
    if time.len() == 6 {
        out.push(':');
        out.push_str(&time[4..]);
    }
    Some(out)
}

/// The id of version 2 naming the same period as `id`, whichever form it is written in:
/// `2023-04-01T09:00` → `2023-04-01T0900`; other ids as they are.
pub fn period_key(id: &str) -> String {
    match id.split_once('T') {
        Some((date, time))
            if matches!(time.len(), 5 | 8)
                && time.bytes().all(|b| b.is_ascii_digit() || b == b':') =>
        {
            format!("{date}T{}", time.replace(':', ""))
        }
        _ => id.to_string(),
    }
}

/// `2023-03-06T0900[SS]` (and `2023-03-06T09:00[:SS]`, the form of draws recorded before
/// period ids of version 2) → 2023年3月6日 09:00[:SS].
fn cron_period_label(id: &str) -> Option<String> {
    let (date, _) = id.split_once('T')?;
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let first = first_form(id).unwrap_or_else(|| id.to_string());
    let (_, time) = first.split_once('T')?;
    let ok = matches!(time.len(), 5 | 8) && time.chars().all(|c| c.is_ascii_digit() || c == ':');
    ok.then(|| format!("{} {time}", date_label(d)))
}

/// A date as staff write it: 2023年3月6日.
pub fn date_label(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// Why a target was left out of a draw or an inspector passed over, by the code the manifest
/// records (`cooldown`, `yearly_cap`, `declared_conflict`, …).
pub fn reason_text(code: &str) -> String {
    match code {
        "cooldown" => "近期检查未发现问题（冷却期内）",
        "yearly_cap" => "本年被抽查次数已达上限",
        "deregistered" => "注销、吊销或停业",
        "eligible_hook" => "规则脚本认定不在抽查范围",
        "declared_conflict" => "申报回避（利害关系）",
        "hook_conflict" => "规则认定回避（利害关系）",
        "workload_cap" => "本期工作量已满",
        "duplicate" => "重复列入",
        "inactive" => "不在岗",
        "other_department" => "属其他部门",
        "unqualified" => "缺少所需资格",
        other => other,
    }
    .to_string()
}

/// Why no team could be formed for a target, as the manifest records it in English
/// ("only 1 eligible inspector (need 2): 1 回避, 3 at workload cap") → 符合条件的检查人员仅
/// 1 人（需 2 人）：回避 1 人，工作量已满 3 人. Text that does not follow that form is kept.
pub fn unstaffed_text(reason: &str) -> String {
    let Some((head, tail)) = reason.split_once(": ") else {
        return reason.to_string();
    };
    let Some((eligible, need)) = head.split_once(" (need ") else {
        return reason.to_string();
    };
    let Some(need) = need.strip_suffix(')') else {
        return reason.to_string();
    };
    let eligible = match eligible {
        "no eligible inspector" => "无符合条件的检查人员".to_string(),
        e => match e
            .strip_prefix("only ")
            .and_then(|r| r.split_once(' '))
            .filter(|(_, rest)| rest.starts_with("eligible inspector"))
        {
            Some((n, _)) => format!("符合条件的检查人员仅 {n} 人"),
            None => return reason.to_string(),
        },
    };
    let parts: Option<Vec<String>> = tail.split(", ").map(skip_count_text).collect();
    match parts {
        Some(parts) => format!("{eligible}（需 {need} 人）：{}", parts.join("，")),
        None => reason.to_string(),
    }
}

/// One part of an unstaffed reason: "3 at workload cap" → 工作量已满 3 人.
fn skip_count_text(part: &str) -> Option<String> {
    if part == "no other inspector in the registry" {
        return Some("名录库中没有其他检查人员".into());
    }
    let (n, label) = part.split_once(' ')?;
    n.parse::<usize>().ok()?;
    let text = match label {
        "listed twice" => "重复列入",
        "inactive" => "不在岗",
        "in another department" => "属其他部门",
        "without a required qualification" => "缺少所需资格",
        "回避" => "回避",
        "at workload cap" => "工作量已满",
        _ => return None,
    };
    Some(format!("{text} {n} 人"))
}

/// Where a draw's seed came from, as the manifest records it (`os`, `supplied hex seed`,
/// `SHA-256 of supplied text "…"`, `SHA-256 of file P ("…")`, `committed source "…" announced …`)
/// → the sentence a citizen reads.
pub fn seed_source_text(source: &str) -> String {
    if source == "os" {
        return "系统生成（操作系统随机数源）".into();
    }
    if source == "supplied hex seed" {
        return "抽取时给定的十六进制种子".into();
    }
    if source == "plan estimate" {
        return "计划测算用种子".into();
    }
    if let Some(text) = source
        .strip_prefix("SHA-256 of supplied text \"")
        .and_then(|t| t.strip_suffix('"'))
    {
        return format!("公开文本“{text}”的 SHA-256 值");
    }
    if let Some((committed, value)) = source
        .strip_prefix("committed source \"")
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.split_once("): \""))
        && let Some((name, rest)) = committed.split_once("\" announced ")
        && let Some((announced, commitment)) = rest.split_once(" (commitment #")
        && let Some((id, at)) = commitment.split_once(", ")
    {
        return format!(
            "事先承诺的公开来源“{name}”所公布之值“{value}”的 SHA-256 值（承诺 #{id} 于 {at} 公布，来源公布时间 {announced}）"
        );
    }
    if let Some((file, text)) = source
        .strip_prefix("SHA-256 of file ")
        .and_then(|t| t.strip_suffix("\")"))
        .and_then(|t| t.rsplit_once(" (\""))
    {
        return format!("文件 {file} 所载公开文本“{text}”的 SHA-256 值");
    }
    source.to_string()
}

/// A change after a draw in Chinese: its kind (`target`, `inspector`) with whether it names a
/// replacement, and its cause code.
pub fn change_text(kind: &str, replaced: bool, cause: &str) -> (String, String) {
    let what = match (kind, replaced) {
        ("inspector", _) => "人员调整",
        (_, true) => "替补",
        (_, false) => "不在范围（不替补）",
    };
    let why = match cause {
        "closed" => "已注销或停业",
        "moved" => "已迁出",
        "out_of_scope" => "不在抽查范围",
        "ill" => "病假",
        "transferred" => "调离",
        "conflict" => "回避",
        "other" => "其他",
        other => other,
    };
    (what.to_string(), why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_named_from_their_ids() {
        for (id, label) in [
            ("2023", "2023年度"),
            ("2023-H1", "2023年上半年"),
            ("2023-H2", "2023年下半年"),
            ("2023-Q3", "2023年第3季度"),
            ("2023-03", "2023年3月"),
            ("2023-12", "2023年12月"),
            ("2023-chunjie", "2023年春节前"),
            ("2023-guoqing", "2023年国庆节前"),
            ("2023-03-06T0900", "2023年3月6日 09:00"),
            ("2023-03-06T090030", "2023年3月6日 09:00:30"),
            // Draws recorded before period ids of version 2 keep their ids.
            ("2023-03-06T09:00", "2023年3月6日 09:00"),
            ("2023-03-06T09:00:30", "2023年3月6日 09:00:30"),
            ("someday", "someday"),
            ("2023-xyz", "2023-xyz"),
        ] {
            assert_eq!(period_label(id), label, "{id}");
        }
    }

    /// docs/draw-algorithm.md V2-15: the two forms of a cron period's id.
    #[test]
    fn a_cron_period_has_a_first_form_and_one_key() {
        assert_eq!(
            first_form("2023-04-01T0900").as_deref(),
            Some("2023-04-01T09:00")
        );
        assert_eq!(
            first_form("2023-03-01T090030").as_deref(),
            Some("2023-03-01T09:00:30")
        );
        for same in ["2023-Q1", "2023", "2023-chunjie", "2023-04-01T09:00"] {
            assert_eq!(first_form(same), None, "{same}");
        }
        assert_eq!(period_key("2023-04-01T09:00"), "2023-04-01T0900");
        assert_eq!(period_key("2023-03-01T09:00:30"), "2023-03-01T090030");
        assert_eq!(period_key("2023-04-01T0900"), "2023-04-01T0900");
        assert_eq!(period_key("2023-H1"), "2023-H1");
    }

    #[test]
    fn reasons_and_seed_sources_read_in_chinese() {
        assert_eq!(reason_text("cooldown"), "近期检查未发现问题（冷却期内）");
        assert_eq!(reason_text("yearly_cap"), "本年被抽查次数已达上限");
        assert_eq!(reason_text("new_code"), "new_code");
        assert_eq!(
            unstaffed_text("only 1 eligible inspector (need 2): 1 回避, 3 at workload cap"),
            "符合条件的检查人员仅 1 人（需 2 人）：回避 1 人，工作量已满 3 人"
        );
        assert_eq!(
            unstaffed_text("no eligible inspector (need 2): no other inspector in the registry"),
            "无符合条件的检查人员（需 2 人）：名录库中没有其他检查人员"
        );
        assert_eq!(
            unstaffed_text(
                "only 3 eligible inspectors (need 4): 2 inactive, 1 in another department, 1 without a required qualification, 1 listed twice"
            ),
            "符合条件的检查人员仅 3 人（需 4 人）：不在岗 2 人，属其他部门 1 人，缺少所需资格 1 人，重复列入 1 人"
        );
        assert_eq!(unstaffed_text("odd text"), "odd text");
        assert_eq!(
            seed_source_text("SHA-256 of supplied text \"03 17 22\""),
            "公开文本“03 17 22”的 SHA-256 值"
        );
        assert_eq!(
            seed_source_text("SHA-256 of file seeds/a.txt (\"12 34\")"),
            "文件 seeds/a.txt 所载公开文本“12 34”的 SHA-256 值"
        );
        assert_eq!(seed_source_text("os"), "系统生成（操作系统随机数源）");
        assert_eq!(
            seed_source_text(
                "committed source \"3D 第2025001期\" announced 2025-01-02T21:15:00+08:00 (commitment #4, 2025-01-01T09:00:00+08:00): \"3 1 7\""
            ),
            "事先承诺的公开来源“3D 第2025001期”所公布之值“3 1 7”的 SHA-256 值（承诺 #4 于 2025-01-01T09:00:00+08:00 公布，来源公布时间 2025-01-02T21:15:00+08:00）"
        );
        assert_eq!(
            seed_source_text("supplied hex seed"),
            "抽取时给定的十六进制种子"
        );
    }
}
