//! User-facing problems as data: a message, a location and help, rendered in one place.
//!
//! Every layer that reads user input (rules, scripts, calendars, registries, result sheets)
//! reports [`Diagnostic`]s instead of failing on the first problem, so one run shows them all.

use std::fmt::Write as _;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::NoColor};

pub mod zh;

pub use zh::Lang;

/// Index of a source text held by [`Sources`].
pub(crate) type FileId = usize;

/// The texts that diagnostics point into (rule files, scripts, calendars).
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<(String, String)>,
}

impl Sources {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push((name.into(), text.into()));
        self.files.len() - 1
    }

    pub fn name(&self, id: FileId) -> &str {
        self.files.get(id).map_or("<unknown>", |f| f.0.as_str())
    }

    pub fn text(&self, id: FileId) -> &str {
        self.files.get(id).map_or("", |f| f.1.as_str())
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        line_col(self.text(id), offset)
    }
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Byte offset of a 1-based line and column (in characters) in `text`.
pub(crate) fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let col_bytes: usize = l
                .chars()
                .take(column.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
            return offset + col_bytes;
        }
        offset += l.len();
    }
    text.len()
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// Where a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Not tied to a file (a wrong flag, a missing folder).
    None,
    /// A byte range inside a text held by [`Sources`]; rendered with a snippet and caret.
    Span { file: FileId, range: Range<usize> },
    /// A line (and column) in a file whose text is not kept, e.g. a row of a large registry.
    Line {
        path: String,
        line: usize,
        column: Option<usize>,
    },
}

/// One problem found in user input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    /// Short text under the caret.
    pub label: Option<String>,
    /// "help: ..." lines: what to do about it.
    pub help: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            location: Location::None,
            label: None,
            help: Vec::new(),
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    pub fn at(mut self, file: FileId, range: Range<usize>) -> Self {
        self.location = Location::Span { file, range };
        self
    }

    pub fn at_line(mut self, path: impl Into<String>, line: usize, column: Option<usize>) -> Self {
        self.location = Location::Line {
            path: path.into(),
            line,
            column,
        };
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Renders diagnostics as plain text: `error: ...`, ` --> file:line:col`, a snippet with a caret.
pub fn render(sources: &Sources, diags: &[Diagnostic]) -> String {
    render_in(Lang::En, sources, diags)
}

/// [`render`] in a language: in Chinese every known wording of the message, the label, the
/// help and the severity is given in Chinese (see [`zh`]); the locations and snippets are the
/// same.
pub fn render_in(lang: Lang, sources: &Sources, diags: &[Diagnostic]) -> String {
    let mut files = SimpleFiles::new();
    for (name, text) in &sources.files {
        files.add(name.clone(), text.clone());
    }
    let config = term::Config::default();
    let mut out = String::new();
    for d in diags {
        let d = &in_lang(lang, d);
        match &d.location {
            Location::Span { file, range } => {
                let mut cs = match d.severity {
                    Severity::Error => CsDiagnostic::error(),
                    Severity::Warning => CsDiagnostic::warning(),
                }
                .with_message(&d.message);
                let text = sources.text(*file);
                let start = floor_char_boundary(text, range.start.min(text.len()));
                let end = floor_char_boundary(text, range.end.min(text.len())).max(start);
                cs = cs.with_labels(vec![
                    Label::primary(*file, start..end)
                        .with_message(d.label.clone().unwrap_or_default()),
                ]);
                let help = help_word(lang);
                cs = cs.with_notes(d.help.iter().map(|h| format!("{help}{h}")).collect());
                let mut buf = NoColor::new(Vec::new());
                if term::emit(&mut buf, &config, &files, &cs).is_ok() {
                    let text = String::from_utf8_lossy(&buf.into_inner()).into_owned();
                    out.push_str(&headed(lang, d.severity, text));
                } else {
                    plain(lang, &mut out, d, None);
                }
            }
            Location::Line { path, line, column } => {
                let loc = match column {
                    Some(c) => format!("{path}:{line}:{c}"),
                    None => format!("{path}:{line}"),
                };
                plain(lang, &mut out, d, Some(&loc));
            }
            Location::None => plain(lang, &mut out, d, None),
        }
    }
    out
}

/// A diagnostic with its texts in `lang`.
fn in_lang(lang: Lang, d: &Diagnostic) -> Diagnostic {
    match lang {
        Lang::En => d.clone(),
        Lang::Zh => Diagnostic {
            severity: d.severity,
            message: zh::message(&d.message),
            location: d.location.clone(),
            label: d.label.as_deref().map(zh::message),
            help: d.help.iter().map(|h| zh::message(h)).collect(),
        },
    }
}

/// `error` / `warning`, or 错误 / 警告.
fn severity_word(lang: Lang, severity: Severity) -> &'static str {
    match (lang, severity) {
        (Lang::En, Severity::Error) => "error: ",
        (Lang::En, Severity::Warning) => "warning: ",
        (Lang::Zh, Severity::Error) => "错误：",
        (Lang::Zh, Severity::Warning) => "警告：",
    }
}

fn help_word(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "help: ",
        Lang::Zh => "建议：",
    }
}

/// A snippet rendered by codespan, its `error: ` heading in `lang`.
fn headed(lang: Lang, severity: Severity, text: String) -> String {
    let english = severity_word(Lang::En, severity);
    match (lang, text.strip_prefix(english)) {
        (Lang::Zh, Some(rest)) => format!("{}{rest}", severity_word(lang, severity)),
        _ => text,
    }
}

fn plain(lang: Lang, out: &mut String, d: &Diagnostic, loc: Option<&str>) {
    let _ = writeln!(out, "{}{}", severity_word(lang, d.severity), d.message);
    if let Some(loc) = loc {
        let _ = writeln!(out, "  ┌─ {loc}");
    }
    if let Some(label) = &d.label {
        let _ = writeln!(out, "  │ {label}");
    }
    for h in &d.help {
        let _ = writeln!(out, "  = {}{h}", help_word(lang));
    }
    out.push('\n');
}

/// How a failed job ends: the input had problems (nothing was written), or the job could not
/// run (I/O, database). The exit status is decided from this in one place (`cli::exit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Rules, registries, results or flags have problems; nothing was written.
    Invalid,
    /// The job could not run (I/O, database, a draw that failed).
    Failed,
}

/// A failed job as the user sees it: its problems with the texts they point into, and a
/// closing line ("2 problems found; nothing was done.").
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    pub closing: Option<String>,
}

impl Report {
    /// A report of one unlocated error with optional help lines.
    pub fn error(message: impl Into<String>, help: &[&str]) -> Report {
        let mut d = Diagnostic::error(message);
        d.help = help.iter().map(|h| h.to_string()).collect();
        Report::of(vec![d])
    }

    pub fn of(diagnostics: Vec<Diagnostic>) -> Report {
        Report {
            diagnostics,
            ..Report::default()
        }
    }

    pub fn closing(mut self, line: impl Into<String>) -> Report {
        self.closing = Some(line.into());
        self
    }

    /// The number of errors (not warnings).
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// The report as text: every diagnostic, then the closing line.
    pub fn render(&self) -> String {
        self.render_in(Lang::En)
    }

    /// [`Report::render`] in a language.
    pub fn render_in(&self, lang: Lang) -> String {
        let mut out = render_in(lang, &self.sources, &self.diagnostics);
        if let Some(c) = &self.closing {
            match lang {
                Lang::En => out.push_str(c),
                Lang::Zh => out.push_str(&zh::message(c)),
            }
            out.push('\n');
        }
        out
    }
}

/// A job's error: what to show and how the process ends.
pub trait Problem: std::error::Error {
    fn fault(&self) -> Fault;
    fn report(&self) -> Report;
}

/// An error with its causes, "error: cause: cause", as it is shown to the user; a cause
/// the message already quotes is not repeated.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let cause = s.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = s.source();
    }
    text
}

/// "1 problem" / "3 problems".
pub fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// "did you mean `x`?" for a misspelt name, if a known name is close enough.
pub fn did_you_mean<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let known: Vec<&str> = known.into_iter().collect();
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(given, k), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
        .or_else(|| one_character_off(given, &known))
}

/// For Chinese names, where a wrong character or two of four (`风险登记` for `风险等级`, typed
/// by sound) is too much for the similarity above: the known name that starts with the same
/// character and differs in at most half the characters, if exactly one is closest.
fn one_character_off<'a>(given: &str, known: &[&'a str]) -> Option<&'a str> {
    let n = given.chars().count();
    if given.is_ascii() || n < 3 {
        return None;
    }
    let first = given.chars().next();
    let mut close: Vec<(usize, &'a str)> = known
        .iter()
        .filter(|k| k.chars().next() == first)
        .map(|k| (strsim::levenshtein(given, k), *k))
        .filter(|(d, _)| *d <= n / 2)
        .collect();
    close.sort();
    match close.as_slice() {
        [(_, k)] => Some(*k),
        [(a, k), (b, _), ..] if a < b => Some(*k),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let text = "a = 1\n名称 = \"x\"\n";
        let off = text.find('=').unwrap_or(0);
        assert_eq!(line_col(text, off), (1, 3));
        let off = text.rfind('=').unwrap_or(0);
        assert_eq!(line_col(text, off), (2, 4));
        assert_eq!(offset_of(text, 2, 4), off);
    }

    #[test]
    fn a_cause_is_shown_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read x: {0}")]
        struct Quoting(#[source] std::io::Error);
        #[derive(Debug, thiserror::Error)]
        #[error("database x")]
        struct Wrapping(#[source] std::io::Error);
        let io = || std::io::Error::other("gone");
        assert_eq!(chain(&Quoting(io())), "cannot read x: gone");
        assert_eq!(chain(&Wrapping(io())), "database x: gone");
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(did_you_mean("ratoi", ["ratio", "name"]), Some("ratio"));
        assert_eq!(did_you_mean("zzz", ["ratio", "name"]), None);
        assert_eq!(
            did_you_mean("风险登记", ["风险等级", "名称"]),
            Some("风险等级")
        );
    }
}
