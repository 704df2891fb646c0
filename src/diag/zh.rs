//! The Chinese rendering of diagnostics: the engine words its problems in English, and this
//! table gives each known wording in Chinese with its values kept. A wording the table does
//! not know is shown as it is, so nothing is ever hidden.
//!
//! Used by the console always, and by the command line when the locale asks for Chinese
//! ([`Lang::from_locale`]).

/// The language diagnostics are rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// The language of messages by the POSIX locale variables, given their values: the first
    /// non-empty of `LC_ALL`, `LC_MESSAGES`, `LANG` decides; a locale starting with `zh`
    /// (zh_CN.UTF-8, zh_TW, zh) is Chinese, anything else English.
    pub fn from_locale(
        lc_all: Option<&str>,
        lc_messages: Option<&str>,
        lang: Option<&str>,
    ) -> Lang {
        let chosen = [lc_all, lc_messages, lang]
            .into_iter()
            .flatten()
            .find(|v| !v.is_empty());
        match chosen {
            Some(v) if v.starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }
}

/// Rule, config and command wordings; their values are names to type (keys, ratios, files),
/// so they are kept as written. `{}` takes the next value, `{N}` the N-th (0-based).
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
    (
        "write a percentage in (0, 100%], e.g. \"5%\" or \"100%\"",
        "请写 (0, 100%] 之间的百分比，例如 \"5%\" 或 \"100%\"",
    ),
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
    ("unterminated string", "字符串未闭合"),
    ("the closing quote is missing", "缺少右引号"),
    (
        "close the text with \" on the same line (use \"\"\"…\"\"\" for text over several lines)",
        "请在同一行用 \" 结束文字（多行文字用 \"\"\"…\"\"\"）",
    ),
    ("invalid cron expression `{}`", "无效的 cron 表达式“{}”"),
    ("not a valid cron expression", "不是有效的 cron 表达式"),
    (
        "this has {} fields: add the seconds field in front, e.g. \"0 \" + your expression",
        "这里只有 {} 个字段：请在前面加上秒字段，例如 \"0 \" + 原表达式",
    ),
    (
        "the cron of `{}` never fires in {}",
        "“{}”的 cron 在 {} 年间从不触发",
    ),
    (
        "the cron of `{}` fires more than {} times in {}",
        "“{0}”的 cron 在 {2} 年触发超过 {1} 次",
    ),
    ("fires on no day of these years", "这些年份中没有一天触发"),
    ("too many draws", "抽取次数过多"),
    (
        "`{}` would be issued on {}, after its period {} ended on {}",
        "“{}”将于 {} 下达，晚于其周期 {} 的结束日 {}",
    ),
    ("after the period's end", "晚于周期结束日"),
    (
        "an inspection needs at least two inspectors on site",
        "每次检查须有至少两名检查人员到场",
    ),
    ("team_size must be ≥ 2", "team_size 须 ≥ 2"),
    ("set team_size = 2 or more", "请设 team_size = 2 或更大"),
    ("duplicate matter id `{}`", "重复的抽查事项编号“{}”"),
    (
        "`retired` is not a default",
        "retired（停用）不能写在 [defaults] 中",
    ),
    (
        "retires one matter or the department",
        "停用针对单个事项或整个部门",
    ),
    (
        "write retired = true in the [[matter]] to retire, or in [department] to retire all its matters",
        "停用一个事项请在该 [[matter]] 中写 retired = true；停用整个部门请写在 [department] 中",
    ),
    ("matter `{}` is retired", "事项“{}”已停用"),
    ("retired matter in a joint plan", "联合抽查中含已停用的事项"),
    (
        "take it out of matters = [...], or retire the joint plan too (retired = true)",
        "请将其从 matters = [...] 中删去，或同时停用该联合抽查（retired = true）",
    ),
    (
        "matter `{}` is retired: retired matters are not drawn",
        "事项“{}”已停用：停用的事项不再抽取",
    ),
    (
        "its draws and results stay; to draw it again, set retired = false in a rule change and have it approved",
        "其抽取记录和结果保留；如需恢复抽取，请提交将 retired 改为 false 的规则变更并经批准",
    ),
    ("duplicate checklist item id `{}`", "重复的检查项编号“{}”"),
    ("duplicate joint plan id `{}`", "重复的联合抽查计划编号“{}”"),
    ("used twice", "重复使用"),
    (
        "first used on line {}; matter ids must be unique",
        "第 {} 行已使用；抽查事项编号必须唯一",
    ),
    (
        "checklist ids must be unique within a matter; results refer to them",
        "同一抽查事项内检查项编号必须唯一；检查结果引用这些编号",
    ),
    ("not a known key here", "此处不能使用该键"),
    ("bad ratio", "比例有误"),
    ("not a declared category", "未声明的类别"),
    ("not a declared qualification", "未声明的执法资格"),
    ("not a statutory holiday", "不是法定节假日"),
    ("use one of: {}", "请使用其中之一：{}"),
    ("here", "此处"),
    (
        "`{}` of `{}` names `{}`, which is not a column of the target registry",
        "“{1}”的 {0} 指定了“{2}”，它不是检查对象名录库的列",
    ),
    ("no such column", "没有这一列"),
    (
        "the target registry's columns: {}",
        "检查对象名录库的列：{}",
    ),
    ("script {} has no function `{}`", "脚本 {} 中没有函数“{}”"),
    ("no such function", "没有这个函数"),
    ("cannot read script {}: {}", "无法读取脚本 {}：{}"),
    ("script named here", "此处指定的脚本"),
    (
        "scripts live in the rules folder; check the file name",
        "脚本放在规则文件夹中；请检查文件名",
    ),
    (
        "hook `{}` must take {} parameters {}, but `{}` takes {}",
        "钩子“{}”须有 {} 个参数 {}，但“{}”有 {} 个",
    ),
    ("wrong number of parameters", "参数个数不对"),
    (
        "the note of matter `{}` says {}, but its ratios are {}",
        "事项“{}”的说明写的是 {}，但其抽查比例为 {}",
    ),
    (
        "the frequency_note of department `{}` says {}, but its matters' ratios are {}",
        "部门“{}”的频次说明写的是 {}，但其事项的抽查比例为 {}",
    ),
    (
        "the plan prints this text as written",
        "抽查计划照原文印出这段文字",
    ),
    (
        "change the text to the ratio now in force, or leave the percentage out: the plan's ratio table always shows the values",
        "请把文字改为现行比例，或不写百分比：抽查计划的比例表总是按规则中的数值列出",
    ),
    ("declare it as fn {}", "请声明为 fn {}"),
    (
        "script {} calls `{}()`, which hooks may not use",
        "脚本 {} 调用了“{}()”，钩子中不得使用",
    ),
    ("not allowed in a hook", "钩子中不允许"),
    ("Rhai syntax error in {}: {}", "{} 中的 Rhai 语法错误：{}"),
    (
        "scripts use the Rhai language; see docs/rules.md for the hooks and the data they see",
        "脚本使用 Rhai 语言；钩子及其可见的数据见 docs/rules.md",
    ),
    ("fails here", "在此处失败"),
    (
        "{} is not UTF-8 text: byte 0x{} here is not UTF-8",
        "{} 不是 UTF-8 文本：此处的字节 0x{} 不是 UTF-8",
    ),
    (
        "save the file as UTF-8 (in Notepad: 另存为 → 编码 UTF-8); retype the character at this place",
        "请将文件保存为 UTF-8（记事本：另存为 → 编码 UTF-8）；并重新输入此处的字符",
    ),
    (
        "the file is UTF-8 text up to here, but the bytes here are not UTF-8",
        "文件在此之前是 UTF-8 文本，但此处的字节不是 UTF-8",
    ),
    (
        "in Excel choose 另存为 → \"CSV UTF-8(逗号分隔)\"; in an editor save the file as UTF-8",
        "在 Excel 中选择 另存为 → “CSV UTF-8(逗号分隔)”；在文本编辑器中将文件保存为 UTF-8",
    ),
    (
        "the target registry has no rows: there is nothing to draw from",
        "检查对象名录库没有数据行：没有可抽取的对象",
    ),
    (
        "fill in the target registry (检查对象名录库); a draw from an empty registry would be recorded as drawing nobody",
        "请填写检查对象名录库；从空名录库抽取将被记录为未抽到任何对象",
    ),
    ("rules folder {} does not exist", "规则文件夹 {} 不存在"),
    (
        "no rule files (*.toml) in {}",
        "{} 中没有规则文件（*.toml）",
    ),
    ("cannot read config file {}: {}", "无法读取配置文件 {}：{}"),
    ("cannot read {}: {}", "无法读取 {}：{}"),
    (
        "run suiji from the project folder, or pass --config PATH",
        "请在项目文件夹中运行 suiji，或用 --config PATH 指定配置文件",
    ),
    ("{} has no period `{}`", "{}没有周期“{}”"),
    ("its periods in {} are: {}", "其 {} 年的周期为：{}"),
    (
        "no official holiday calendar for {}: add config/holidays/{}.toml once the State Council publishes it, or allow a provisional calendar",
        "没有 {} 年的官方节假日安排：国务院发布后请添加 config/holidays/{}.toml，或允许使用推算的临时日历",
    ),
    (
        "or pass --provisional for a calendar computed from lunar dates, marked provisional",
        "或加 --provisional，使用按农历推算并标为临时的日历",
    ),
    (
        "{} {} was already drawn (draw #{}, {})",
        "{} {} 已经抽取过（抽取 #{}，{}）",
    ),
    (
        "a draw is never repeated silently; to replace it run with --redraw --reason \"…\" (the old draw is kept and the redraw audited)",
        "抽取不会被悄悄重做；如需替换，请加 --redraw --reason \"…\" 运行（原抽取保留，重新抽取记入审计日志）",
    ),
    (
        "{} takes its seeds from committed public sources: a redraw needs its own commitment and that commitment's value, not a seed generated when it is approved",
        "{}的随机种子来自事先承诺的公开随机源：重新抽取须有其自己的承诺并以该承诺公布之值抽取，不能在批准时由系统生成种子",
    ),
    (
        "commit to a public source for the redraw before its value exists (suiji commit MATTER --period P --redraw --source \"…\" --source-time \"…\"), then draw with its value (suiji draw MATTER --period P --redraw --reason \"…\" --reveal \"VALUE\")",
        "请在公开随机源公布数值之前为重新抽取作出承诺（suiji commit 事项 --period 周期 --redraw --source \"…\" --source-time \"…\"），公布后以该值重新抽取（suiji draw 事项 --period 周期 --redraw --reason \"…\" --reveal \"数值\"）",
    ),
    ("no matter `{}`", "没有抽查事项“{}”"),
    ("matters are: {}", "可用的抽查事项：{}"),
    (
        "did you mean `{}` ({})? rename the column if so",
        "是否应为“{}”（{}）？如是，请修改列名",
    ),
    (
        "check the path in `[registries]` of config/suiji.toml and that the file is readable",
        "请检查 config/suiji.toml 中 [registries] 的路径，以及该文件是否可读",
    ),
    (
        "check the file exists and is readable",
        "请检查文件是否存在、是否可读",
    ),
    // Closing lines: what was (not) done.
    (
        "1 problem found; nothing was done.",
        "发现 1 个问题；未作任何更改。",
    ),
    (
        "{} problems found; nothing was done.",
        "发现 {} 个问题；未作任何更改。",
    ),
    (
        "1 registry problem found; nothing was drawn.",
        "名录库有 1 个问题；未进行抽取。",
    ),
    (
        "{} registry problems found; nothing was drawn.",
        "名录库有 {} 个问题；未进行抽取。",
    ),
    (
        "1 problem; nothing was stored.",
        "1 个问题；未保存任何内容。",
    ),
    (
        "{} problems; nothing was stored.",
        "{} 个问题；未保存任何内容。",
    ),
    (
        "1 problem found; nothing was recorded.",
        "发现 1 个问题；未记录任何内容。",
    ),
    (
        "{} problems found; nothing was recorded.",
        "发现 {} 个问题；未记录任何内容。",
    ),
    (
        "the config has problems; nothing was done.",
        "配置文件有问题；未作任何更改。",
    ),
    ("nothing was published.", "未发布任何内容。"),
    (
        "no draw of {} could be scheduled; nothing was written.",
        "{} 年没有可以安排的抽取；未写入任何内容。",
    ),
    // Changes after a draw (jobs::change, draw::changes).
    (
        "draw #{}: target {} is not in this draw (neither drawn nor among its substitutes)",
        "第 {} 号抽取：{} 不在本次抽取中（既未抽中，也不是替补）",
    ),
    (
        "draw #{}: target {} was not drawn: it is a substitute not taken in",
        "第 {} 号抽取：{} 未被抽中，是尚未启用的替补",
    ),
    (
        "draw #{}: target {} was already replaced (marked out of scope)",
        "第 {} 号抽取：{} 已标为不在抽查范围",
    ),
    (
        "draw #{}: target {} was already replaced ({})",
        "第 {} 号抽取：{} 已被替换（{}）",
    ),
    (
        "draw #{}: stratum {} has no substitute left: the manifest lists {}, all used",
        "第 {} 号抽取：分层 {} 已无替补可用（清单列出 {} 个，均已启用）",
    ),
    (
        "draw #{}: this draw records no substitutes ({} lists none; substitutes came with suiji-draw/2)",
        "第 {} 号抽取：本次抽取未记录替补（{} 不列替补，替补自 suiji-draw/2 起记录）",
    ),
    (
        "draw #{}: the next substitute of stratum {} in rank order is {} (rank {}), not {}",
        "第 {} 号抽取：分层 {} 按排序的下一个替补是 {}（第 {} 位），不是 {}",
    ),
    (
        "draw #{}: target {} has no team (it was left unstaffed)",
        "第 {} 号抽取：{} 没有检查组（未能派组）",
    ),
    (
        "draw #{}: inspector {} is not on the team of {}",
        "第 {} 号抽取：检查人员 {} 不在 {} 的检查组中",
    ),
    (
        "draw #{}: no eligible inspector is left to replace {} at {}",
        "第 {} 号抽取：已无符合条件的检查人员可替换 {}（{}）",
    ),
    (
        "draw #{}: the next eligible inspector for {} is {}, not {}",
        "第 {} 号抽取：{} 的下一位符合条件的检查人员是 {}，不是 {}",
    ),
    (
        "draw #{} was superseded by draw #{}: change the draw that replaced it",
        "第 {} 号抽取已被第 {} 号重新抽取取代，请在新抽取上变更",
    ),
    ("a change needs a reason", "变更须填写原因"),
    ("no draw #{} is recorded", "没有第 {} 号抽取的记录"),
    (
        "`suiji draws` lists the draws with their numbers",
        "`suiji draws` 列出各次抽取及其编号",
    ),
    (
        "`{}` is neither a draw number nor an 抽取编号; `suiji draws` lists the numbers (12 or #12), a task list's first column the 抽取编号",
        "“{}”既不是抽取序号也不是抽取编号；`suiji draws` 列出抽取序号（写作 12 或 #12），任务清单第一列是抽取编号",
    ),
    (
        "further ranks follow from the same ranking (docs/draw-algorithm.md V2-13): ask for a redraw, or mark the target out of scope without a substitute",
        "更多替补只能来自同一排序（docs/draw-algorithm.md V2-13）：请申请重新抽取，或将该对象标为不在抽查范围且不替补",
    ),
    (
        "substitutes and replacement inspectors are taken in the order the draw fixed; `suiji change list DRAW` shows the next one",
        "替补对象和接替人员按抽取确定的顺序启用；`suiji change list 抽取序号` 显示下一个",
    ),
    (
        "`suiji change list DRAW` shows the draw's targets, teams and changes",
        "`suiji change list 抽取序号` 显示该次抽取的对象、检查组和变更",
    ),
    (
        "no inspector `{}` in the inspector registry: an inspector account is tied to its row there",
        "执法检查人员名录库中没有“{}”：检查人员账号须对应名录库中的一名人员",
    ),
    (
        "target {} of draw #{} has {} result(s) recorded: an inspected target is not replaced or marked out of scope",
        "第 {1} 号抽取的对象 {0} 已录入 {2} 条检查结果：已检查的对象不能替补，也不能标为不在抽查范围",
    ),
    (
        "target {} of draw #{} has {} result(s) recorded, published: an inspected target is not replaced or marked out of scope",
        "第 {1} 号抽取的对象 {0} 已录入 {2} 条检查结果并已公示：已检查的对象不能替补，也不能标为不在抽查范围",
    ),
    (
        "target {} of draw #{} has {} result(s) recorded: the team of an inspected target is not changed (its results name who signed them)",
        "第 {1} 号抽取的对象 {0} 已录入 {2} 条检查结果：已检查对象的检查组不能调整（结果上有签名人员）",
    ),
    (
        "target {} of draw #{} has {} result(s) recorded, published: the team of an inspected target is not changed (its results name who signed them)",
        "第 {1} 号抽取的对象 {0} 已录入 {2} 条检查结果并已公示：已检查对象的检查组不能调整（结果上有签名人员）",
    ),
    (
        "only a target found out of scope may stay without a substitute",
        "只有不在抽查范围的对象可以不替补",
    ),
    (
        "`{}` is not a cause of a target change; use one of: {}",
        "“{}”不是对象变更的原因，可用：{}",
    ),
    (
        "`{}` is not a cause of an inspector change; use one of: {}",
        "“{}”不是人员调整的原因，可用：{}",
    ),
    (
        "draw #{} was changed meanwhile ({} changes, not {}); run the command again",
        "第 {} 号抽取刚被他人变更（{} 项，而非 {} 项），请重试",
    ),
];

/// Registry and result-sheet wordings; `{}` holds a value, translated by [`WORDS`].
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
    // Result sheets and result entry (results::entry, jobs::results).
    ("抽取编号 is empty", "抽取编号为空"),
    (
        "copy the 抽取编号 column from the task list the draw wrote; it names the draw",
        "请从抽取生成的检查任务清单中复制“抽取编号”列，它标明所属的抽取",
    ),
    (
        "抽取编号 {} matches no recorded draw",
        "抽取编号 {} 不对应任何已记录的抽取",
    ),
    (
        "a spreadsheet turned the code into a number; import the .xlsx task list, or format the column as text before saving the CSV",
        "表格软件把编号变成了数字；请导入 .xlsx 任务清单，或在保存 CSV 前把该列设为文本格式",
    ),
    (
        "the active draw of {} {} is #{} with 抽取编号 {}; was this sheet printed from another database?",
        "{} {} 的有效抽取是第 {} 号，抽取编号 {}；此表是否出自另一个数据库？",
    ),
    (
        "copy it from the first column of the task list the draw wrote (out/draws/<matter>/<period>/tasks.csv); `suiji draws` lists the draws",
        "请从抽取生成的任务清单第一列复制（out/draws/<事项>/<期次>/tasks.csv）；`suiji draws` 列出全部抽取",
    ),
    ("抽取编号 {} matches {} draws", "抽取编号 {} 对应 {} 次抽取"),
    (
        "give all 12 characters of the 抽取编号 as printed on the task list",
        "请按任务清单上的写法填写完整的 12 位抽取编号",
    ),
    ("draw #{} does not exist", "第 {} 号抽取不存在"),
    (
        "a second result for target {} item {} of draw #{} (the first is {})",
        "第 {2} 号抽取的对象 {0} 检查项 {1} 有第二条结果（第一条{3}）",
    ),
    (
        "each target and checklist item takes one result: delete one of the two rows",
        "每个对象的每个检查项只能有一条结果：请删除其中一行",
    ),
    (
        "抽取编号 {} is draw #{} ({} {}), which was superseded by {}",
        "抽取编号 {} 是第 {} 号抽取（{} {}），已被{}取代",
    ),
    (
        "results go to the active draw: fill in the task list of {} (out/draws/{}/{}/tasks.csv)",
        "结果应录入有效抽取：请填写{}的任务清单（out/draws/{}/{}/tasks.csv）",
    ),
    (
        "a recorded result is never overwritten: remove this row, or make it match what was recorded",
        "已记录的结果不会被覆盖：请删除此行，或改为与已记录的一致",
    ),
    (
        "the row was changed or copied from another task list: restore it from the task list of that draw",
        "此行被改动过或抄自另一份任务清单：请按该抽取的任务清单恢复",
    ),
    (
        "{} says {}, but the row's 抽取编号 is {}",
        "{}写的是 {}，但该行的抽取编号是{}",
    ),
    ("对象编号 is empty", "对象编号为空"),
    (
        "keep the 对象编号 column of the task list as it was printed",
        "请保持任务清单中“对象编号”列的原样",
    ),
    (
        "target {} of {} was replaced by substitute {} after the draw (change #{})",
        "{1}的对象 {0} 已在抽取后由替补 {2} 替换（变更 #{3}）",
    ),
    (
        "target {} of {} was marked out of scope after the draw (change #{})",
        "{1}的对象 {0} 已在抽取后标为不在抽查范围（变更 #{2}）",
    ),
    (
        "enter the result under the substitute that took its place, as the draw's page lists it",
        "请按抽取页面所列，把结果录入接替它的替补对象",
    ),
    (
        "a target marked out of scope is not inspected under this draw",
        "不在抽查范围的对象不在本次抽取中检查",
    ),
    (
        "target {} was ranked but not selected in {}",
        "对象 {} 在{}中参与排序但未被抽中",
    ),
    ("target {} was not drawn in {}", "对象 {} 未在{}中被抽中"),
    (
        "a result can only be entered for a target the draw selected: check 对象编号 against the task list of that draw",
        "只能为抽中的对象录入结果：请对照该抽取的任务清单核对对象编号",
    ),
    (
        "target {} of {} has no team (unstaffed: {}), so no inspector can sign a result for it",
        "{1}的对象 {0} 没有检查组（未能派组：{2}），无人可以签署其结果",
    ),
    (
        "staff it first: add qualified inspectors to the registry and redraw (suiji draw --redraw --reason …)",
        "请先派组：在名录库中补充符合条件的检查人员后重新抽取（suiji draw --redraw --reason …）",
    ),
    (
        "matter {} of {} is no longer in the rules, so its checklist is unknown",
        "{1}的事项 {0} 已不在规则中，其检查项无从得知",
    ),
    (
        "restore the matter's rule file (its draws keep their results)",
        "请恢复该事项的规则文件（其抽取保留已有结果）",
    ),
    ("检查项编号 is empty", "检查项编号为空"),
    (
        "检查项编号 {} is not a checklist item of {} ({})",
        "检查项编号 {} 不是“{}”（{}）的检查项",
    ),
    ("did you mean {}?", "是否应为 {}？"),
    ("its items are: {}", "其检查项为：{}"),
    (
        "检查结果 {} is not one of the national result categories",
        "检查结果 {} 不是全国统一的抽查结果类别",
    ),
    (
        "write one of: {} (the task list's drop-down offers them)",
        "请填写其中之一：{}（任务清单的下拉列表中可选）",
    ),
    (
        "检查日期 {} is not a day of the calendar",
        "检查日期 {} 不是日历上存在的日子",
    ),
    ("检查日期 {} is not a date", "检查日期 {} 不是日期"),
    (
        "write the day of the inspection as YYYY-MM-DD, e.g. 2023-03-02",
        "请按 YYYY-MM-DD 填写检查日期，例如 2023-03-02",
    ),
    (
        "检查日期 {} is before {} was issued ({})",
        "检查日期 {} 早于{}的抽取日期（{}）",
    ),
    (
        "an inspection of a drawn target happens after the draw: check the date",
        "对抽中对象的检查应在抽取之后：请核对日期",
    ),
    (
        "检查日期 {} is in the future (today is {})",
        "检查日期 {} 在今天之后（今天是 {}）",
    ),
    (
        "enter results after the inspection has taken place",
        "请在检查完成后再录入结果",
    ),
    (
        "签名检查人员 is empty: say which inspectors signed the result",
        "签名检查人员为空：请填写签署结果的检查人员",
    ),
    (
        "write their 工号 separated by 、 (e.g. PY0101、PY0102), or copy the 检查人员 cell",
        "请填写其工号并以“、”分隔（例如 PY0101、PY0102），或复制“检查人员”单元格",
    ),
    (
        "inspector {} is not on the team of target {} (team: {})",
        "检查人员 {} 不在对象 {} 的检查组中（检查组：{}）",
    ),
    (
        "only the members of the target's team, as drawn or as changes after the draw (人员调整) left it, may sign its result; a member who cannot inspect is replaced before the inspection by `suiji change replace-inspector` or on the draw's page (the rules choose who takes the place)",
        "只有该对象检查组的成员（抽取时派定的，或抽取后经人员调整的）可以签署结果；成员不能参加检查的，应在检查前通过人员调整替换（`suiji change replace-inspector` 或抽取详情页面，由规则确定接替人员）",
    ),
    (
        "target `{}` is not on your team's list",
        "对象“{}”不在您所在检查组的任务中",
    ),
    (
        "no inspector `{}` in the inspector registry",
        "执法检查人员名录库中没有“{}”",
    ),
    (
        "give the 工号 as the inspector registry has it (a task list's 检查人员 cell shows 姓名（工号）)",
        "请按名录库中的写法填写工号（任务清单的“检查人员”单元格写作 姓名（工号））",
    ),
    (
        "only results for the targets of your own teams can be entered",
        "只能录入本人所在检查组的对象的结果",
    ),
    (
        "a different result for target {} item {} of draw #{} is already recorded (entered {} by {}{}; {})",
        "第 {2} 号抽取的对象 {0} 检查项 {1} 已记录了不同的结果（{3} 由 {4}{5} 录入；{6}）",
    ),
    (
        "it was published on {}: a published result is frozen, on the database server too",
        "该结果已于 {} 公示：公示后的结果不可更改，数据库服务器上也是如此",
    ),
    // Registry notes (registry::read, registry::conflicts).
    (
        "inspector `{}` declares a conflict (回避) with the pattern `{}`, which matches no target's id or name",
        "检查人员“{}”声明的回避对象模式“{}”不与任何检查对象的编号或名称相符",
    ),
    (
        "a `*` stands for any run of characters and the pattern must match a whole id or name (`*平安*`: every name containing 平安); correct the pattern, or delete it",
        "“*”代表任意一串字符，模式须与完整的编号或名称相符（“*平安*”：名称中含“平安”的全部对象）；请改正或删除该模式",
    ),
    (
        "inspector `{}` declares a conflict (回避) with `{}`, which is no target's id or exact name",
        "检查人员“{}”声明的回避对象“{}”既不是任何检查对象的编号，也不是其完整名称",
    ),
    (
        "write the target's id or its exact name as in the target registry; for a deliberate partial match write a pattern, e.g. `*{}*`",
        "请按检查对象名录库填写对象的编号或完整名称；如确需部分匹配，请写成模式，例如“*{}*”",
    ),
    (
        "did you mean `{}`{}? rename the column if so",
        "是否应为“{}”{}？如是，请修改列名",
    ),
    (
        "did you mean `{}`? rename column {} `{}` to `{}`",
        "是否应为“{}”？请把第 {} 列“{}”改名为“{}”",
    ),
    (
        "add a column headed `{}` (also accepted: {})",
        "请添加列名为“{}”的列（也可用：{}）",
    ),
    (
        "{} row of department `{}` skipped: it has no rule file here",
        "部门“{1}”的 {0} 行已跳过：此处没有该部门的规则文件",
    ),
    (
        "{} rows of department `{}` skipped: it has no rule file here",
        "部门“{1}”的 {0} 行已跳过：此处没有该部门的规则文件",
    ),
    (
        "a shared inspector registry may list every department of the bureau; only departments with a rules/<department>.toml are drawn from",
        "共用的检查人员名录可以列出全局各部门；只有有 rules/<部门>.toml 的部门参与抽取",
    ),
];

/// The words a registry message puts into its wording (what kind of value).
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
    ("kept as an extra column", "作为附加列保留"),
    ("ignored", "被忽略"),
];

/// The phrases a result-sheet message puts into its wording as a value (which draw, where
/// the first of two rows was), each matched whole.
const VALUES: &[(&str, &str)] = &[
    (
        "draw #{} ({} {}, 抽取编号 {})",
        "第 {} 号抽取（{} {}，抽取编号 {}）",
    ),
    ("on line {}", "在第 {} 行"),
    ("given earlier", "在前面"),
    ("a redraw", "重新抽取"),
    ("draw #{}", "第 {} 号抽取"),
];

/// What the operating system says about a file, in Chinese.
const IO_ERRORS: &[(&str, &str)] = &[
    (
        "No such file or directory (os error 2)",
        "文件或文件夹不存在",
    ),
    ("Permission denied (os error 13)", "没有访问权限"),
    ("Is a directory (os error 21)", "这是一个文件夹，不是文件"),
];

/// A registry or result-sheet message in Chinese: each known wording, its values kept (the
/// kind of value named in Chinese); an unknown wording is shown as it is.
pub fn registry_message(message: &str) -> String {
    let word = |w: String| -> String {
        if let Some((_, zh)) = WORDS.iter().find(|(en, _)| *en == w) {
            return (*zh).to_string();
        }
        translate(VALUES, &w, |v| v).unwrap_or(w)
    };
    translate(TEMPLATES, message, word).unwrap_or_else(|| message.to_string())
}

/// Any diagnostic's message, label, help or closing line in Chinese where its wording is
/// known (rule and command wordings first, then registry ones); otherwise as it is.
pub fn message(message: &str) -> String {
    match translate(RULE_TEMPLATES, message, |v| io_error(&v)) {
        Some(zh) => zh,
        None => registry_message(message),
    }
}

/// An operating-system error text in Chinese, if it is a known one.
fn io_error(text: &str) -> String {
    IO_ERRORS
        .iter()
        .find(|(en, _)| *en == text)
        .map_or_else(|| text.to_string(), |(_, zh)| (*zh).to_string())
}

/// `message` in the first of `templates` whose English wording it has, each value passed
/// through `value`.
fn translate(
    templates: &[(&str, &str)],
    message: &str,
    value: impl Fn(String) -> String,
) -> Option<String> {
    templates.iter().find_map(|(en, zh)| {
        let values: Vec<String> = fill(en, message)?.into_iter().map(&value).collect();
        Some(place(zh, &values))
    })
}

/// `zh` with its `{}` (next value) and `{N}` (the N-th value) filled in.
fn place(zh: &str, values: &[String]) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut rest = zh;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inside = &after[..close];
        let index = if inside.is_empty() {
            next += 1;
            Some(next - 1)
        } else {
            inside.parse::<usize>().ok()
        };
        match index.and_then(|i| values.get(i)) {
            Some(v) => out.push_str(v),
            None if index.is_some() => {}
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
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
    use super::*;

    #[test]
    fn the_locale_decides_as_posix_says() {
        let zh = Some("zh_CN.UTF-8");
        assert_eq!(Lang::from_locale(None, None, zh), Lang::Zh);
        assert_eq!(Lang::from_locale(Some("C"), None, zh), Lang::En);
        assert_eq!(Lang::from_locale(Some(""), Some("zh_TW"), None), Lang::Zh);
        assert_eq!(Lang::from_locale(None, Some("en_US.UTF-8"), zh), Lang::En);
        assert_eq!(Lang::from_locale(None, None, Some("C.UTF-8")), Lang::En);
        assert_eq!(Lang::from_locale(None, None, None), Lang::En);
    }

    #[test]
    fn wordings_read_in_chinese_with_their_values_kept() {
        assert_eq!(
            message("unknown key `matter[1].ratoi`"),
            "未知的键“matter[1].ratoi”"
        );
        assert_eq!(message("did you mean `name`?"), "是否应为“name”？");
        assert_eq!(message("ratio `10` has no `%`"), "比例“10”缺少 %");
        assert_eq!(
            message("the cron of `zhian.hotel` fires more than 366 times in 2023"),
            "“zhian.hotel”的 cron 在 2023 年触发超过 366 次"
        );
        assert_eq!(
            message("cannot read config file x.toml: No such file or directory (os error 2)"),
            "无法读取配置文件 x.toml：文件或文件夹不存在"
        );
        assert_eq!(
            message("3 problems found; nothing was done."),
            "发现 3 个问题；未作任何更改。"
        );
        assert_eq!(
            message("the note of matter `zhian.hotel` says 5%, but its ratios are 10%, 20%"),
            "事项“zhian.hotel”的说明写的是 5%，但其抽查比例为 10%, 20%"
        );
        assert_eq!(message("something else"), "something else");
        assert_eq!(
            registry_message("unknown department `nosuch`"),
            "未知的部门“nosuch”"
        );
        assert_eq!(
            registry_message("missing name (column `姓名` is empty)"),
            "缺少名称（“姓名”列为空）"
        );
        assert_eq!(registry_message("something new"), "something new");
        assert_eq!(
            message("draw #3: target T1 was already replaced (marked out of scope)"),
            "第 3 号抽取：T1 已标为不在抽查范围"
        );
        assert_eq!(
            registry_message(
                "inspector `PY0101` declares a conflict (回避) with `平安`, which is no target's id or exact name"
            ),
            "检查人员“PY0101”声明的回避对象“平安”既不是任何检查对象的编号，也不是其完整名称"
        );
        assert_eq!(
            registry_message(
                "target T1 of draw #3 (zhian.hotel 2023-H1, 抽取编号 0123456789ab) was replaced by substitute T9 after the draw (change #2)"
            ),
            "第 3 号抽取（zhian.hotel 2023-H1，抽取编号 0123456789ab）的对象 T1 已在抽取后由替补 T9 替换（变更 #2）"
        );
        assert_eq!(
            registry_message(
                "抽取编号 x is draw #2 (zhian.hotel 2023-H1), which was superseded by draw #5"
            ),
            "抽取编号 x 是第 2 号抽取（zhian.hotel 2023-H1），已被第 5 号抽取取代"
        );
    }
}
