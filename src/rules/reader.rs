//! A small typed reader over a span-preserving TOML tree that records every problem it meets.
//!
//! Each accessor takes a key out of the table; [`Table::finish`] then reports the keys nobody
//! asked for as unknown, with "did you mean". Type errors are reported at the value's span.

use std::borrow::Cow;
use std::collections::BTreeMap;

use toml_span::value::{Value, ValueInner};

use crate::diag::{Diagnostic, FileId, did_you_mean};

/// A byte range in the file being read.
pub(crate) type Span = std::ops::Range<usize>;

/// A value with the span it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

/// Where diagnostics go while one file is read.
pub struct Cx<'a> {
    pub file: FileId,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl Cx<'_> {
    pub fn error(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(message).at(self.file, span).label(label));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }
}

/// Parses TOML text; a syntax error becomes one located diagnostic.
pub fn parse<'de>(text: &'de str, cx: &mut Cx<'_>) -> Option<Value<'de>> {
    use toml_span::ErrorKind as K;
    match toml_span::parse(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let (message, label, help) = match &e.kind {
                K::InvalidCharInString('\n') | K::UnterminatedString => (
                    "unterminated string".to_string(),
                    "the closing quote is missing",
                    "close the text with \" on the same line (use \"\"\"…\"\"\" for text over several lines)",
                ),
                K::InvalidCharInString(c) => (
                    format!("character {c:?} is not allowed in a string"),
                    "here",
                    "write it with an escape such as \\t",
                ),
                K::InvalidEscape(c) => (
                    format!("invalid escape \\{c} in a string"),
                    "here",
                    "write a backslash as \\\\ or use a literal string in single quotes",
                ),
                K::UnquotedString => (
                    "text values need quotes".to_string(),
                    "unquoted text",
                    "write name = \"旅馆业\"",
                ),
                K::DuplicateKey { key, .. } => (
                    format!("key `{key}` is defined twice"),
                    "second definition",
                    "each key may appear once per table",
                ),
                K::DuplicateTable { name, .. } => (
                    format!("table [{name}] is defined twice"),
                    "second definition",
                    "use [[name]] for a list of tables",
                ),
                K::Unexpected(c) => (
                    format!("unexpected character {c:?}"),
                    "here",
                    "fix the TOML syntax at the caret (see docs/rules.md for the format)",
                ),
                K::Wanted { expected, found } => (
                    format!("expected {expected}, found {found}"),
                    "here",
                    "fix the TOML syntax at the caret (see docs/rules.md for the format)",
                ),
                K::UnexpectedEof => (
                    "unexpected end of file".to_string(),
                    "the file ends here",
                    "close the open bracket, brace or string",
                ),
                other => (
                    format!("invalid TOML ({other})"),
                    "here",
                    "fix the TOML syntax at the caret (see docs/rules.md for the format)",
                ),
            };
            // Point at where the problem starts: one character, never a multi-line range.
            let start = e.span.start.min(text.len());
            let end = match text[start..].chars().next() {
                Some(c) if c != '\n' && c != '\r' => start + c.len_utf8(),
                _ => start,
            };
            cx.error(start..end, message, label).help.push(help.into());
            None
        }
    }
}

/// A table being read.
pub struct Table<'de> {
    entries: BTreeMap<String, (Span, Value<'de>)>,
    pub span: Span,
    /// Dotted path for messages, e.g. `matter[2].holiday`.
    pub path: String,
}

fn kind(v: &mut Value<'_>) -> &'static str {
    let inner = v.take();
    let k = inner.type_str();
    v.set(inner);
    k
}

impl<'de> Table<'de> {
    /// Reads `value` as a table, or reports a type error.
    pub(crate) fn from_value(
        mut value: Value<'de>,
        path: &str,
        cx: &mut Cx<'_>,
    ) -> Option<Table<'de>> {
        let span = value.span.start..value.span.end;
        match value.take() {
            ValueInner::Table(t) => {
                let entries = t
                    .into_iter()
                    .map(|(k, v)| (k.name.to_string(), (k.span.start..k.span.end, v)))
                    .collect();
                Some(Table {
                    entries,
                    span,
                    path: path.to_string(),
                })
            }
            other => {
                cx.error(
                    span,
                    format!("`{path}` must be a table, not a {}", other.type_str()),
                    "expected a table",
                );
                None
            }
        }
    }

    fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Where the value of `key` is written, without taking it.
    pub fn span_of(&self, key: &str) -> Option<Span> {
        self.entries.get(key).map(|(k, v)| {
            if v.span.end > v.span.start {
                v.span.start..v.span.end
            } else {
                k.clone()
            }
        })
    }

    /// Takes the raw value of `key`.
    pub fn take(&mut self, key: &str) -> Option<(Span, Value<'de>)> {
        self.entries.remove(key)
    }

    fn missing(&self, key: &str, what: &str, cx: &mut Cx<'_>) {
        let start = self.span.start;
        let end = (start + 1).min(self.span.end.max(start + 1));
        cx.error(
            start..end,
            format!("missing `{}`", self.name(key)),
            format!("this table needs `{key}`"),
        )
        .help
        .push(format!("add `{key} = {what}`"));
    }

    pub fn string(&mut self, key: &str, cx: &mut Cx<'_>) -> Option<Sp<String>> {
        let (_, mut v) = self.take(key)?;
        let span = v.span.start..v.span.end;
        match v.take() {
            ValueInner::String(s) => Some(Sp {
                value: s.to_string(),
                span,
            }),
            other => {
                cx.error(
                    span,
                    format!(
                        "`{}` must be text, not a {}",
                        self.name(key),
                        other.type_str()
                    ),
                    "expected a quoted string",
                );
                None
            }
        }
    }

    pub(crate) fn req_string(
        &mut self,
        key: &str,
        example: &str,
        cx: &mut Cx<'_>,
    ) -> Option<Sp<String>> {
        if !self.has(key) {
            self.missing(key, example, cx);
            return None;
        }
        self.string(key, cx)
    }

    pub(crate) fn integer(
        &mut self,
        key: &str,
        min: i64,
        max: i64,
        cx: &mut Cx<'_>,
    ) -> Option<Sp<i64>> {
        let (_, mut v) = self.take(key)?;
        let span = v.span.start..v.span.end;
        match v.take() {
            ValueInner::Integer(i) if (min..=max).contains(&i) => Some(Sp { value: i, span }),
            ValueInner::Integer(i) => {
                cx.error(
                    span,
                    format!("`{}` = {i} is out of range", self.name(key)),
                    format!("must be between {min} and {max}"),
                );
                None
            }
            other => {
                cx.error(
                    span,
                    format!(
                        "`{}` must be a whole number, not a {}",
                        self.name(key),
                        other.type_str()
                    ),
                    "expected an integer",
                );
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, key: &str, cx: &mut Cx<'_>) -> Option<Sp<bool>> {
        let (_, mut v) = self.take(key)?;
        let span = v.span.start..v.span.end;
        match v.take() {
            ValueInner::Boolean(b) => Some(Sp { value: b, span }),
            other => {
                cx.error(
                    span,
                    format!(
                        "`{}` must be true or false, not a {}",
                        self.name(key),
                        other.type_str()
                    ),
                    "expected true or false",
                );
                None
            }
        }
    }

    /// A list of strings; a single string is accepted as a list of one.
    pub fn strings(&mut self, key: &str, cx: &mut Cx<'_>) -> Option<Vec<Sp<String>>> {
        let (_, mut v) = self.take(key)?;
        let span = v.span.start..v.span.end;
        match v.take() {
            ValueInner::String(s) => Some(vec![Sp {
                value: s.to_string(),
                span,
            }]),
            ValueInner::Array(items) => {
                let mut out = Vec::new();
                for mut item in items {
                    let span = item.span.start..item.span.end;
                    match item.take() {
                        ValueInner::String(s) => out.push(Sp {
                            value: s.to_string(),
                            span,
                        }),
                        other => {
                            cx.error(
                                span,
                                format!(
                                    "`{}` must list text items, found a {}",
                                    self.name(key),
                                    other.type_str()
                                ),
                                "expected a quoted string",
                            );
                        }
                    }
                }
                Some(out)
            }
            other => {
                cx.error(
                    span,
                    format!(
                        "`{}` must be a list of text, not a {}",
                        self.name(key),
                        other.type_str()
                    ),
                    "expected [\"…\", \"…\"]",
                );
                None
            }
        }
    }

    /// A sub-table.
    pub fn table(&mut self, key: &str, cx: &mut Cx<'_>) -> Option<Table<'de>> {
        let (_, v) = self.take(key)?;
        let path = self.name(key);
        Table::from_value(v, &path, cx)
    }

    /// An array of tables (`[[key]]`).
    pub fn tables(&mut self, key: &str, cx: &mut Cx<'_>) -> Vec<Table<'de>> {
        let Some((_, mut v)) = self.take(key) else {
            return Vec::new();
        };
        let span = v.span.start..v.span.end;
        let path = self.name(key);
        match v.take() {
            ValueInner::Array(items) => items
                .into_iter()
                .enumerate()
                .filter_map(|(i, item)| Table::from_value(item, &format!("{path}[{}]", i + 1), cx))
                .collect(),
            other => {
                cx.error(
                    span,
                    format!(
                        "`{path}` must be a list of tables ([[{key}]]), not a {}",
                        other.type_str()
                    ),
                    "expected [[…]] tables",
                );
                Vec::new()
            }
        }
    }

    /// A table of string values (`{ A = "3%", B = "5%" }`), keys with their spans.
    pub(crate) fn string_map(
        &mut self,
        key: &str,
        cx: &mut Cx<'_>,
    ) -> Vec<(Sp<String>, Sp<String>)> {
        let Some(mut t) = self.table(key, cx) else {
            return Vec::new();
        };
        let keys: Vec<(String, Span)> = t
            .entries
            .iter()
            .map(|(k, (s, _))| (k.clone(), s.clone()))
            .collect();
        let mut out = Vec::new();
        for (k, kspan) in keys {
            if let Some(v) = t.string(&k, cx) {
                out.push((
                    Sp {
                        value: k,
                        span: kspan,
                    },
                    v,
                ));
            }
        }
        out
    }

    /// Any value, as text for messages: used for keys that accept several shapes.
    pub fn raw(&mut self, key: &str) -> Option<(Span, Value<'de>)> {
        self.take(key)
    }

    /// Reports every key not taken as unknown, suggesting the closest known one.
    pub fn finish(self, known: &[&str], cx: &mut Cx<'_>) {
        for (key, (span, _)) in self.entries {
            let d = cx.error(
                span,
                format!("unknown key `{}`", self_name(&self.path, &key)),
                "not a known key here",
            );
            match did_you_mean(&key, known.iter().copied()) {
                Some(s) => d.help.push(format!("did you mean `{s}`?")),
                None => d
                    .help
                    .push(format!("known keys here: {}", known.join(", "))),
            }
        }
    }
}

fn self_name(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The text of a string value, for keys read with [`Table::raw`].
pub fn as_str<'a>(v: &'a Value<'_>) -> Option<Cow<'a, str>> {
    v.as_str().map(Cow::Borrowed)
}

/// The TOML type name of a value.
pub fn type_name(v: &mut Value<'_>) -> &'static str {
    kind(v)
}
