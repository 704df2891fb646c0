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

/// Known wordings of registry and result-sheet messages, English → Chinese; `{}` holds a value.
const TEMPLATES: &[(&str, &str)] = &[
    ("missing {} (column `{}` is empty)", "缺少{}（“{}”列为空）"),
    ("unknown {} `{}`", "未知的{}“{}”"),
    (
        "`{}` is not a real date: there is no such day",
        "“{}”不是有效日期：没有这一天",
    ),
    ("`{}` is not a date", "“{}”不是日期"),
    (
        "`{}` must be yes or no, found `{}`",
        "“{}”应填是或否，实际为“{}”",
    ),
    ("unknown status `{}`", "未知的状态“{}”"),
    (
        "duplicate {} `{}`, first used at {}",
        "重复的{}“{}”，首次出现于 {}",
    ),
    (
        "unusable value in column `{}`: {}",
        "“{}”列的值无法使用：{}",
    ),
    (
        "missing required column `{}` ({})",
        "缺少必需的列“{}”（{}）",
    ),
    (
        "row has {} fields but the header has {}",
        "该行有 {} 个字段，表头有 {} 个",
    ),
    (
        "id `{}` looks like a long number Excel has turned into scientific notation",
        "编号“{}”像是被 Excel 转成科学计数法的长数字",
    ),
    (
        "column `{}` is not a known column name; it is {}",
        "“{}”不是已知的列名；该列{}",
    ),
    (
        "column header `{}` appears twice (first in column {})",
        "列名“{}”出现两次（第一次在第 {} 列）",
    ),
    (
        "column {} has no header; its values are ignored",
        "第 {} 列没有列名，其中的值被忽略",
    ),
    ("the {} file is empty", "{}文件为空"),
    (
        "the target file has no rows below the header",
        "检查对象文件表头下没有数据行",
    ),
    (
        "the inspector file has no rows below the header",
        "检查人员文件表头下没有数据行",
    ),
    (
        "a value contains a comma: put the value in double quotes, or use ，",
        "某个值含有英文逗号：请给该值加双引号，或改用中文逗号“，”",
    ),
    (
        "a value or a comma is missing; an empty value still needs its comma",
        "缺少一个值或逗号；空值也需要保留逗号",
    ),
    (
        "fill in the category id, e.g. hotel",
        "请填写类别编号，例如 hotel",
    ),
    (
        "fill in the department id, e.g. zhian",
        "请填写部门编号，例如 zhian",
    ),
    ("fill in the inspector's name", "请填写检查人员姓名"),
    ("fill in the target's name", "请填写检查对象名称"),
    (
        "fill in the law-enforcement certificate number (执法证号); only certified officers may inspect",
        "请填写执法证号；只有持证人员可以参加检查",
    ),
    (
        "every inspector needs an id (工号)",
        "每名检查人员都需要工号",
    ),
    (
        "every target needs an id (e.g. its 统一社会信用代码)",
        "每个检查对象都需要编号（例如统一社会信用代码）",
    ),
    (
        "each {} must be unique: correct it, or delete the repeated row",
        "每个{}必须唯一：请改正，或删除重复的行",
    ),
    (
        "write the date as 2023-05-06, 2023/5/6 or 2023年5月6日",
        "日期请写作 2023-05-06、2023/5/6 或 2023年5月6日",
    ),
    ("did you mean `{}`?", "是否应为“{}”？"),
    ("known {}: {}", "可用的{}：{}"),
    (
        "the digits are lost: in Excel set the column format to Text (文本), re-enter the ids and save again",
        "数字已丢失：请在 Excel 中把该列格式设为“文本”，重新输入编号后保存",
    ),
    (
        "type the value in, or set the column format to Text (文本) and re-enter it",
        "请直接输入该值，或把该列格式设为“文本”后重新输入",
    ),
    ("give each column its own header", "请给每一列不同的列名"),
    (
        "give the column a header, or delete it",
        "请给该列加列名，或删除该列",
    ),
];
/// The words a message puts into its wording (what kind of value).
const WORDS: &[(&str, &str)] = &[
    ("category", "类别"),
    ("department", "部门"),
    ("qualification", "执法资格"),
    ("name", "名称"),
    ("id", "编号"),
    ("certificate", "执法证号"),
    ("target", "检查对象"),
    ("inspector", "检查人员"),
    ("categories", "类别"),
    ("departments", "部门"),
    ("qualifications", "执法资格"),
];

/// A registry or result-sheet message in Chinese: each known wording, its values kept; an
/// unknown wording is shown as it is.
pub(crate) fn diagnostic(message: &str) -> String {
    let word = |w: &str| -> String {
        WORDS
            .iter()
            .find(|(en, _)| *en == w)
            .map_or_else(|| w.to_string(), |(_, zh)| zh.to_string())
    };
    for (en, zh) in TEMPLATES {
        if let Some(values) = fill(en, message) {
            let mut out = String::new();
            let mut values = values.into_iter();
            for (i, part) in zh.split("{}").enumerate() {
                if i > 0 {
                    out.push_str(&values.next().map(|v| word(&v)).unwrap_or_default());
                }
                out.push_str(part);
            }
            return out;
        }
    }
    message.to_string()
}

/// The values of `message` at the `{}` of `template`, when it has that wording.
fn fill(template: &str, message: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = template.split("{}").collect();
    let mut rest = message.strip_prefix(parts[0])?;
    let mut values = Vec::new();
    for (i, part) in parts.iter().enumerate().skip(1) {
        let last = i == parts.len() - 1;
        let at = if last && part.is_empty() {
            rest.len()
        } else if last {
            rest.strip_suffix(part).map(str::len)?
        } else {
            rest.find(part)?
        };
        values.push(rest[..at].to_string());
        rest = &rest[at + part.len()..];
    }
    rest.is_empty().then_some(values)
}

#[cfg(test)]
mod tests {
    #[test]
    fn kinds_and_actors_read_as_staff_say_them() {
        assert_eq!(super::kind("holiday:guoqing"), "国庆节专项");
        assert_eq!(super::kind("manual"), "手动抽取");
        assert_eq!(super::actor("web:li.ming"), "li.ming");
        assert_eq!(
            super::diagnostic("unknown department `nosuch`"),
            "未知的部门“nosuch”"
        );
        assert_eq!(
            super::diagnostic("missing name (column `姓名` is empty)"),
            "缺少名称（“姓名”列为空）"
        );
        assert_eq!(super::diagnostic("something new"), "something new");
    }
}

/// Rule-check wordings in Chinese; their values are names to type (keys, ratios), so they are
/// kept as written.
const RULE_TEMPLATES: &[(&str, &str)] = &[
    ("unknown key `{}`", "未知的键“{}”"),
    ("did you mean `{}`?", "是否应为“{}”？"),
    ("known keys here: {}", "此处可用的键：{}"),
    ("ratio `{}` has no `%`", "比例“{}”缺少 %"),
    (
        "ratio `{}` is outside (0, 100%]",
        "比例“{}”超出 (0, 100%] 范围",
    ),
    ("write the ratio with `%`: {}", "比例须带 %：{}"),
    ("`{}` is not a ratio", "“{}”不是比例"),
    ("unknown frequency `{}`", "未知的抽查频次“{}”"),
    ("unknown holiday `{}`", "未知的节假日“{}”"),
    ("unknown category `{}`", "未知的检查对象类别“{}”"),
    ("unknown qualification `{}`", "未知的执法资格“{}”"),
    ("`{}` = {} is out of range", "“{}” = {} 超出范围"),
    (
        "`{}` must be a whole number, not a {}",
        "“{}”应为整数（现为 {}）",
    ),
    ("invalid TOML: {}", "TOML 格式错误：{}"),
    ("`{}` is not a valid id", "“{}”不是有效的编号"),
];

/// A message of the rule check (the command line speaks English) in Chinese where the wording
/// is known; otherwise as [`diagnostic`] has it.
pub(crate) fn rule_diagnostic(message: &str) -> String {
    for (en, zh) in RULE_TEMPLATES {
        if let Some(values) = fill(en, message) {
            let mut out = String::new();
            let mut values = values.into_iter();
            for (i, part) in zh.split("{}").enumerate() {
                if i > 0 {
                    out.push_str(&values.next().unwrap_or_default());
                }
                out.push_str(part);
            }
            return out;
        }
    }
    diagnostic(message)
}

#[cfg(test)]
mod rule_diagnostic_tests {
    #[test]
    fn rule_messages_read_in_chinese_with_the_names_to_type_kept() {
        use super::rule_diagnostic as zh;
        assert_eq!(
            zh("unknown key `matter[1].ratoi`"),
            "未知的键“matter[1].ratoi”"
        );
        assert_eq!(zh("did you mean `name`?"), "是否应为“name”？");
        assert_eq!(zh("ratio `10` has no `%`"), "比例“10”缺少 %");
        assert_eq!(zh("something else"), "something else");
    }
}
