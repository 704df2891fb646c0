//! The one schema of the keys a department file may hold: where each key goes, its type, its
//! default, its Chinese label and a line of help. The reader takes its lists of known keys and
//! the bounds of whole numbers from here, docs/rules.md documents every key listed here
//! (`tests/rule_edit.rs` checks it), and the console's matter form is drawn from it.

/// The table a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `[department]`
    Department,
    /// `[[matter]]` (and `[defaults]`, which takes every matter key but `id`, `name`, `checklist`)
    Matter,
    /// `[matter.holiday]`
    Holiday,
    /// `publication = { … }` of a matter
    Publication,
    /// `hooks = { … }` of a matter
    Hooks,
    /// `[[matter.checklist]]`
    Checklist,
    /// `seed = { … }` of a matter: its own seed source, in place of the config's `[seed]`
    Seed,
}

/// What a key's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One line of text.
    Text,
    /// Free text that may be long.
    LongText,
    /// An id: lowercase ASCII letters, digits, `-`, `_`.
    Id,
    /// A whole number between the bounds (inclusive).
    Integer { min: i64, max: i64 },
    /// A percentage such as "5%".
    Ratio,
    /// A list of texts.
    Texts,
    /// A map from a class value to a ratio (`class_ratios`).
    ClassMap,
    /// A map from a class value to a frequency (`class_frequency`): the rule file writes its
    /// word (`biennial`), the console's form shows and takes it in Chinese (每两年 1 次).
    FrequencyMap,
    /// One of the given words.
    Choice(&'static [&'static str]),
    /// `true` or `false`.
    Bool,
    /// A table of the keys of another section.
    Table(Section),
    /// The repeated table of checklist items.
    Items,
}

/// One key of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub section: Section,
    pub key: &'static str,
    pub kind: Kind,
    /// The default as docs and the form show it ("" = none: the key is optional or required).
    pub default: &'static str,
    /// The Chinese label the form shows.
    pub label: &'static str,
    /// One line of help, in Chinese.
    pub help: &'static str,
}

const FREQUENCIES: &[&str] = &["yearly", "half-yearly", "quarterly", "monthly"];

const fn key(
    section: Section,
    key: &'static str,
    kind: Kind,
    default: &'static str,
    label: &'static str,
    help: &'static str,
) -> Key {
    Key {
        section,
        key,
        kind,
        default,
        label,
        help,
    }
}

use Kind as K;
use Section as S;

/// Every key of a department file, in the order the form shows them.
#[rustfmt::skip]
pub const KEYS: &[Key] = &[
    key(S::Department, "id", K::Id, "", "部门编号", "小写字母、数字、- 或 _，如 zhian"),
    key(S::Department, "name", K::Text, "", "部门名称", "如 治安大队"),
    key(S::Department, "order", K::Integer { min: 0, max: 10_000 }, "100", "排序", "在计划文书中的先后位置"),
    key(S::Department, "summary", K::LongText, "", "抽查任务", "计划文书（一）抽查任务，按原文打印"),
    key(S::Department, "frequency_note", K::LongText, "", "抽查比例和频次说明", "计划文书（二），按原文打印；所写百分比须与各事项比例一致"),
    key(S::Department, "publication_note", K::LongText, "", "结果公示说明", "计划文书（四），按原文打印"),
    key(S::Department, "retired", K::Bool, "false", "停用整个部门", "批准后本部门的事项全部不再列入计划、不再抽取；已有抽取记录、结果和历史保留"),
    key(S::Matter, "id", K::Id, "", "事项编号", "部门内唯一，结果记录引用它，请勿重复使用"),
    key(S::Matter, "name", K::Text, "", "事项名称", "必填"),
    key(S::Matter, "legal_basis", K::Texts, "", "检查依据", "每行一项法律法规"),
    key(S::Matter, "scope", K::Text, "", "检查对象", "计划文书中的对象表述"),
    key(S::Matter, "categories", K::Texts, "", "检查对象范围（类别）", "名录库中的类别，须在 config/suiji.toml 的 [categories] 中声明；每行一个"),
    key(S::Matter, "ratio", K::Ratio, "", "抽查比例", "百分数，如 5%、2.5%、100%；向上取整，非空范围至少 1 户"),
    key(S::Matter, "class_field", K::Text, "", "分类字段", "名录库中保存等级的列，如 风险等级；默认为名录库的等级列"),
    key(S::Matter, "class_ratios", K::ClassMap, "", "分类比例", "按风险/信用等级的比例，每行一项，如 A = 3%（不低于）、A = ≤ 5%（不超过）、B = 5%–20%（区间）；未列等级按抽查比例"),
    key(S::Matter, "class_frequency", K::FrequencyMap, "", "分类频次", "按等级的抽查频次，每行一项，如 A = 每两年 1 次（默认偶数年抽，见两年周期起始年）、B = 每年 1 次、C = 每半年 1 次、D = 每季度 1 次（规则文件中写作 biennial、yearly、half-yearly、quarterly）；各等级只在其周期的第一次抽取中抽，未列等级每次都抽；抽查频次须不低于最频繁的等级"),
    key(S::Matter, "biennial_start", K::Integer { min: 1949, max: 2199 }, "", "两年周期起始年", "分类频次中每两年抽一次（biennial）的等级从哪一年起算周期，如 2025 则 2025、2027…年抽；不填为偶数年（2024、2026…）；周期开始后请勿改动"),
    key(S::Matter, "stratify_by", K::Text, "", "分层字段", "按此列分层抽取（属地管理），如 district"),
    key(S::Matter, "frequency", K::Choice(FREQUENCIES), "", "抽查频次", "yearly 每年、half-yearly 每半年、quarterly 每季度、monthly 每月"),
    key(S::Matter, "cron", K::Text, "", "自定义抽取时间（cron）", "代替抽查频次：6 或 7 段，秒在最前，北京时间，如 0 0 9 1 * *"),
    key(S::Matter, "issue", K::Text, "first-working-day", "抽取日", "first-working-day、working-day:N（期内第 N 个工作日）或 day:N"),
    key(S::Matter, "due_working_days", K::Integer { min: 1, max: 250 }, "", "检查期限（工作日）", "抽取后 N 个工作日内完成检查；默认到期末最后一个工作日"),
    key(S::Matter, "holiday", K::Table(S::Holiday), "", "重大节假日加强抽查", "节假日前对重点区域加抽"),
    key(S::Matter, "team_size", K::Integer { min: 1, max: 10 }, "2", "每户检查人员数", "至少 2 人"),
    key(S::Matter, "qualifications", K::Texts, "", "检查人员资格", "检查人员须全部具备；在 [qualifications] 中声明；每行一个"),
    key(S::Matter, "workload_cap", K::Integer { min: 1, max: 100_000 }, "20", "每人每期最多承担户数", "同一周期内每名检查人员的任务上限：本期各次抽取（各事项、联合抽查）合计"),
    key(S::Matter, "cooldown_months", K::Integer { min: 0, max: 120 }, "", "无问题对象免抽月数", "检查无问题的对象 N 个月内不再抽取（0 = 不排除）"),
    key(S::Matter, "yearly_cap", K::Integer { min: 1, max: 366 }, "", "每户每年最多抽查次数", "所有事项合计"),
    key(S::Matter, "checklist", K::Items, "", "抽查内容", "至少一项；编号一经使用不再改动"),
    key(S::Matter, "publication", K::Table(S::Publication), "", "结果公示", "公示渠道和期限"),
    key(S::Matter, "catch_up", K::Choice(&["issue", "skip"]), "issue", "停机后补抽", "issue 补抽；skip 超过宽限天数则跳过"),
    key(S::Matter, "catch_up_grace_days", K::Integer { min: 0, max: 366 }, "0", "补抽宽限天数", "catch_up = skip 时，晚于此天数的抽取跳过"),
    key(S::Matter, "on_holiday", K::Choice(&["next-working-day", "keep"]), "next-working-day", "cron 抽取遇节假日", "next-working-day 顺延到下一个工作日；keep 当天抽取"),
    key(S::Matter, "hooks", K::Table(S::Hooks), "", "脚本钩子", "rules/ 中的 Rhai 脚本函数"),
    key(S::Matter, "seed", K::Table(S::Seed), "", "随机种子来源", "本事项自己的随机种子来源，代替 config/suiji.toml 的 [seed]"),
    key(S::Matter, "note", K::LongText, "", "说明", "打印在计划中；所写百分比须与比例一致"),
    key(S::Matter, "retired", K::Bool, "false", "停用此事项", "批准后不再列入计划、不再抽取；已有抽取记录、结果和历史保留，编号不得再用于新事项"),
    key(S::Holiday, "holidays", K::Texts, "", "节假日", "chunjie、laodong、guoqing 等或中文名；每行一个"),
    key(S::Holiday, "days_before", K::Integer { min: 0, max: 60 }, "7", "提前天数", "在第一个休息日前多少天抽取"),
    key(S::Holiday, "working_days", K::Bool, "false", "按工作日计", "提前天数按工作日计算"),
    key(S::Holiday, "ratio", K::Ratio, "", "节假日抽查比例", "必填，如 20%"),
    key(S::Holiday, "key_area_only", K::Bool, "false", "仅重点区域", "只抽名录库中 key_area 为是的对象"),
    key(S::Holiday, "due_working_days", K::Integer { min: 1, max: 60 }, "", "节假日检查期限（工作日）", "默认到节假日最后一天"),
    key(S::Publication, "channel", K::Text, "网上公示", "公示渠道", "如 门户网站“双随机、一公开”专栏"),
    key(S::Publication, "deadline_working_days", K::Integer { min: 1, max: 250 }, "20", "公示期限（工作日）", "检查结束后 N 个工作日内公示"),
    key(S::Hooks, "script", K::Text, "", "脚本文件", "rules/ 中的 .rhai 文件名，如 zhian.rhai"),
    key(S::Hooks, "eligible", K::Text, "", "可抽取条件函数", "fn 名称(target, ctx)，返回 true/false"),
    key(S::Hooks, "weight", K::Text, "", "风险权重函数", "fn 名称(target, ctx)，返回大于 0 的数"),
    key(S::Hooks, "conflict", K::Text, "", "回避函数", "fn 名称(inspector, target)，true 表示须回避"),
    key(S::Hooks, "class", K::Text, "", "分类函数", "fn 名称(target, ctx)，返回对象的等级（文字）或 ()，供分类比例使用"),
    key(S::Seed, "source", K::Choice(&["os", "public"]), "", "种子来源", "os 系统生成；public 事先承诺的公开随机源（如彩票开奖号码）"),
    key(S::Seed, "name", K::Text, "", "公开随机源名称", "某日之值的名称，{date} 代表该日，如 中国福利彩票3D {date} 开奖号码；写明后由系统提前承诺"),
    key(S::Seed, "announce", K::Text, "", "公布时间", "随机源每日公布数值的时间，HH:MM，如 21:15"),
    key(S::Seed, "commit_days", K::Integer { min: 1, max: 60 }, "3", "提前承诺天数", "抽取日前 N 天承诺"),
    key(S::Seed, "fetch_url", K::Text, "", "取值地址", "http:// 地址，{date} 代表该日；应答正文即公布之值"),
    key(S::Seed, "fetch_command", K::Texts, "", "取值命令", "程序及其参数，每行一项（如 curl -fsS https://…）；其输出即公布之值"),
    key(S::Seed, "fetch_timeout_secs", K::Integer { min: 1, max: 3600 }, "60", "取值时限（秒）", "一次取值最多等待的秒数；超时即终止取值命令，本次不取值，10 分钟后再试，抽取继续等待"),
    key(S::Checklist, "id", K::Id, "", "内容编号", "稳定编号，结果引用它"),
    key(S::Checklist, "group", K::Text, "", "分组标题", "可选，内容打印在此标题下"),
    key(S::Checklist, "text", K::LongText, "", "检查内容", "计划原文"),
];

/// The keys of `section`, in schema order.
pub fn keys(section: Section) -> impl Iterator<Item = &'static Key> {
    KEYS.iter().filter(move |k| k.section == section)
}

/// The names of the keys of `section` (what the reader accepts there).
pub fn names(section: Section) -> Vec<&'static str> {
    keys(section).map(|k| k.key).collect()
}

/// The schema entry of `name` in `section`.
pub fn get(section: Section, name: &str) -> Option<&'static Key> {
    keys(section).find(|k| k.key == name)
}

/// The bounds of a whole-number key (the reader's range check).
pub fn bounds(section: Section, name: &str) -> (i64, i64) {
    match get(section, name).map(|k| k.kind) {
        Some(Kind::Integer { min, max }) => (min, max),
        _ => (i64::MIN, i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_within_a_section_and_every_integer_has_bounds() {
        let mut seen = std::collections::BTreeSet::new();
        for k in KEYS {
            assert!(
                seen.insert((format!("{:?}", k.section), k.key)),
                "{} twice",
                k.key
            );
            assert!(!k.label.is_empty() && !k.help.is_empty(), "{}", k.key);
        }
        assert_eq!(bounds(Section::Matter, "team_size"), (1, 10));
        assert_eq!(bounds(Section::Holiday, "days_before"), (0, 60));
    }
}
