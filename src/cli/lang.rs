//! The language of the command line's messages: English, or Chinese when the locale asks for
//! it (`LANG=zh_CN.UTF-8`). Diagnostics and flag errors are rendered here; `--help` stays
//! English.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::diag::{Diagnostic, Lang, Report, Sources};

/// The language of diagnostics: Chinese when the locale says so (`LC_ALL`, else
/// `LC_MESSAGES`, else `LANG` starting with `zh`), else English.
pub(crate) fn lang() -> Lang {
    static LANG: std::sync::OnceLock<Lang> = std::sync::OnceLock::new();
    *LANG.get_or_init(|| {
        let var = |name: &str| std::env::var(name).ok();
        Lang::from_locale(
            var("LC_ALL").as_deref(),
            var("LC_MESSAGES").as_deref(),
            var("LANG").as_deref(),
        )
    })
}

/// Diagnostics as text in the user's language ([`lang`]).
pub(crate) fn render(sources: &Sources, problems: &[Diagnostic]) -> String {
    crate::diag::render_in(lang(), sources, problems)
}

/// A report as text in the user's language ([`lang`]).
pub(crate) fn render_report(report: &Report) -> String {
    report.render_in(lang())
}

/// A wrong flag, value or subcommand in Chinese, with what to do; `None` for the kinds of
/// error clap words better itself (these are printed in English).
pub(crate) fn flag_error(e: &clap::Error) -> Option<String> {
    let text = |kind: ContextKind| match e.get(kind) {
        Some(ContextValue::None) | None => None,
        Some(ContextValue::Strings(v)) => Some(v.join("”或“")),
        Some(v) => Some(v.to_string()),
    };
    let arg = text(ContextKind::InvalidArg);
    let value = text(ContextKind::InvalidValue);
    let mut help = Vec::new();
    let message = match e.kind() {
        ErrorKind::UnknownArgument => {
            if let Some(s) = text(ContextKind::SuggestedArg) {
                help.push(format!("是否应为“{s}”？"));
            }
            format!("未知的参数“{}”", arg?)
        }
        ErrorKind::InvalidSubcommand => {
            if let Some(s) = text(ContextKind::SuggestedSubcommand) {
                help.push(format!("是否应为“{s}”？"));
            }
            format!("未知的子命令“{}”", text(ContextKind::InvalidSubcommand)?)
        }
        ErrorKind::InvalidValue => {
            if let Some(ContextValue::Strings(v)) = e.get(ContextKind::ValidValue) {
                help.push(format!("可用的值：{}", v.join(", ")));
            }
            match value?.as_str() {
                "" => format!("“{}”需要一个值", arg?),
                value => format!("“{value}”不是“{}”的有效值", arg?),
            }
        }
        ErrorKind::ValueValidation => {
            let why = std::error::Error::source(e).map(ToString::to_string);
            let head = format!("“{}”不是“{}”的有效值", value?, arg?);
            match why {
                Some(why) => format!("{head}：{why}"),
                None => head,
            }
        }
        ErrorKind::MissingRequiredArgument => match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::Strings(v)) => format!("缺少必需的参数：{}", v.join(", ")),
            _ => format!("缺少必需的参数：{}", arg?),
        },
        ErrorKind::MissingSubcommand => {
            if let Some(ContextValue::Strings(v)) = e.get(ContextKind::ValidSubcommand) {
                help.push(format!("可用的子命令：{}", v.join(", ")));
            }
            format!("“{}”需要一个子命令", text(ContextKind::InvalidSubcommand)?)
        }
        ErrorKind::ArgumentConflict => match text(ContextKind::PriorArg) {
            Some(prior) if Some(&prior) != arg.as_ref() => {
                format!("参数“{}”不能与“{prior}”同时使用", arg?)
            }
            _ => format!("参数“{}”只能使用一次", arg?),
        },
        _ => return None,
    };
    help.push("加 --help 查看全部参数（帮助文字为英文）".into());
    let mut d = Diagnostic::error(message);
    d.help = help;
    let rendered = crate::diag::render_in(Lang::Zh, &Sources::default(), &[d]);
    let mut out = format!("{}\n", rendered.trim_end());
    if let Some(usage) = text(ContextKind::Usage) {
        let usage = usage.trim().trim_start_matches("Usage:").trim();
        out.push_str(&format!("  用法：{usage}\n"));
    }
    Some(out)
}
