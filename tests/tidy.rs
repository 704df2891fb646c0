//! Tidy: reads `src/` and keeps ARCHITECTURE.md true.
//!
//! Each check names the file and line that breaks a rule of the architecture: a top-level module
//! importing against the layer order or in a cycle, clap outside `cli`, files or the clock in
//! `draw`, I/O or the clock in rule scripts, the OS random source outside the seed, raw input
//! parsed outside its one reader, `json!` for a stored or published record, and functions too
//! long to read. Comments, string literals and `#[cfg(test)]` modules are not looked at.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// The layers, lowest first; a module may use its own layer and the ones below it.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "model",
        &[
            "diag", "digest", "durable", "calendar", "registry", "script", "rules", "store",
        ],
    ),
    ("core", &["schedule", "draw", "results", "output"]),
    ("jobs", &["jobs"]),
    ("faces", &["cli", "web", "main"]),
];

/// Functions allowed over [`LONG_FUNCTION`] lines, each with its reason.
const LONG_FUNCTIONS: &[(&str, &str)] = &[];

/// A function longer than this many lines (signature to closing brace) must be listed in
/// [`LONG_FUNCTIONS`] with a reason.
const LONG_FUNCTION: usize = 80;

/// Known breaks of a rule, each with where it is and why it is still there. A listed break
/// that is gone fails the test too, so this list only shrinks.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// A source file: its path from the crate root and its code, with comments, string and
/// character literals blanked (line breaks kept, so line numbers hold) and `#[cfg(test)]`
/// modules removed.
struct Source {
    path: String,
    code: String,
}

impl Source {
    /// The top-level module the file belongs to (`main` for `src/main.rs`, `None` for
    /// `src/lib.rs`).
    fn module(&self) -> Option<&str> {
        let rest = self.path.strip_prefix("src/")?;
        let first = rest.split('/').next()?;
        let name = first.strip_suffix(".rs").unwrap_or(first);
        (name != "lib").then_some(name)
    }

    fn is_under(&self, dir: &str) -> bool {
        self.path.starts_with(dir)
    }

    /// Line numbers (1-based) and the matched text where `pat` occurs as a whole word.
    fn find_word(&self, pat: &str) -> Vec<usize> {
        let mut lines = Vec::new();
        let bytes = self.code.as_bytes();
        let mut from = 0;
        while let Some(i) = self.code[from..].find(pat) {
            let at = from + i;
            let end = at + pat.len();
            let before = at.checked_sub(1).map(|b| bytes[b]);
            let after = bytes.get(end).copied();
            let word = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_');
            let starts_word = pat.as_bytes()[0].is_ascii_alphanumeric() || pat.starts_with('_');
            let ends_word = pat
                .as_bytes()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
            let inside_a_word = (starts_word && word(before)) || (ends_word && word(after));
            if !inside_a_word {
                lines.push(self.line_of(at));
            }
            from = end;
        }
        lines
    }

    fn line_of(&self, offset: usize) -> usize {
        self.code[..offset].matches('\n').count() + 1
    }
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read a source file");
            let path = p
                .strip_prefix(root)
                .expect("under the crate root")
                .to_string_lossy()
                .replace('\\', "/");
            Source {
                path,
                code: without_test_modules(&blank(&text)),
            }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let p = entry.expect("a folder entry").path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `text` with comments and string and character literals replaced by spaces (line breaks
/// kept). A literal keeps its quotes, so `"…"` stays a string in the code.
fn blank(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    while i < c.len() {
        let at = |k: usize| c.get(i + k).copied();
        if c[i] == '/' && at(1) == Some('/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && at(1) == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(keep(c[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&c, i) {
            // r"…", r#"…"#, br"…": no escapes; ends at a quote followed by the hashes.
            while c[i] != '"' {
                out.push(c[i]);
                i += 1;
            }
            out.push('"');
            i += 1;
            while i < c.len() {
                if c[i] == '"' && (0..hashes).all(|k| c.get(i + 1 + k) == Some(&'#')) {
                    out.push('"');
                    i += 1;
                    for _ in 0..hashes {
                        out.push('#');
                        i += 1;
                    }
                    break;
                }
                out.push(keep(c[i]));
                i += 1;
            }
        } else if c[i] == '"' {
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(keep(c[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c[i] == '\'' && is_char_literal(&c, i) {
            out.push('\'');
            i += 1;
            while i < c.len() && c[i] != '\'' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            out.push('\'');
            i += 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The number of `#`s when a raw string literal starts at `i`.
fn raw_string_start(c: &[char], i: usize) -> Option<usize> {
    let prev_ident = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
    if prev_ident {
        return None;
    }
    let mut j = i;
    if c[j] == 'b' {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (c.get(j) == Some(&'"')).then_some(hashes)
}

/// Whether the quote at `i` opens a character literal (not a lifetime or a label).
fn is_char_literal(c: &[char], i: usize) -> bool {
    match c.get(i + 1) {
        Some('\\') => true,
        Some(_) => c.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// `code` with every `#[cfg(test)]` item (a test module) blanked.
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_string();
    let mut from = 0;
    while let Some(i) = out[from..].find("#[cfg(test)]") {
        let start = from + i;
        // The item ends at the matching brace of its first `{`, or at a `;` before any `{`.
        let rest = &out[start..];
        let end = match (rest.find('{'), rest.find(';')) {
            (Some(b), semi) if semi.is_none_or(|s| b < s) => {
                matching_brace(&out, start + b).map_or(out.len(), |e| e + 1)
            }
            (_, Some(s)) => start + s + 1,
            _ => out.len(),
        };
        let blanked: String = out[start..end]
            .chars()
            .map(|ch| if ch == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(start..end, &blanked);
        from = start + blanked.len();
    }
    out
}

/// The offset of the `}` that closes the `{` at `open` (in blanked code).
fn matching_brace(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, b) in code.as_bytes()[open..].iter().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + k);
                }
            }
            _ => {}
        }
    }
    None
}

/// The top-level modules a file names through `crate::…` (or `suiji::…` in `main.rs`), each
/// with the first line that does.
fn imports(src: &Source) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    let root = if src.path == "src/main.rs" {
        "suiji::"
    } else {
        "crate::"
    };
    let code = &src.code;
    let mut from = 0;
    while let Some(i) = code[from..].find(root) {
        let at = from + i;
        from = at + root.len();
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let line = src.line_of(at);
        let rest = &code[from..];
        let names = if rest.starts_with('{') {
            let close = matching_brace(code, from).unwrap_or(code.len());
            group_heads(&code[from + 1..close])
        } else {
            vec![ident(rest)]
        };
        for name in names.into_iter().filter(|n| !n.is_empty() && n != "self") {
            found.entry(name).or_insert(line);
        }
    }
    found
}

/// The first path segment of each item in a `use` group's body (`a::b, c::{d, e}, f` → a, c, f).
fn group_heads(body: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (k, ch) in body.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && depth == 0 && !c.is_whitespace() => {
                heads.push(ident(&body[k..]));
                start = false;
            }
            _ => {}
        }
    }
    heads
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// One problem found: where, and what rule it breaks.
struct Finding {
    rule: &'static str,
    path: String,
    line: usize,
    what: String,
}

/// Runs every check and fails naming each problem (file:line: rule: what), apart from the
/// listed [`EXCEPTIONS`]; an exception that no longer matches fails too.
#[test]
fn tidy() {
    let sources = sources();
    let mut findings = Vec::new();
    findings.extend(layers(&sources));
    findings.extend(cycles(&sources));
    findings.extend(forbidden(&sources));
    findings.extend(long_functions(&sources));

    let mut report = String::new();
    let mut used = BTreeSet::new();
    for f in &findings {
        let excepted = EXCEPTIONS
            .iter()
            .position(|(path, rule, _)| *path == f.path && *rule == f.rule);
        match excepted {
            Some(k) => {
                used.insert(k);
            }
            None => {
                let _ = writeln!(report, "{}:{}: {}: {}", f.path, f.line, f.rule, f.what);
            }
        }
    }
    for (k, (path, rule, why)) in EXCEPTIONS.iter().enumerate() {
        if !used.contains(&k) {
            let _ = writeln!(
                report,
                "{path}: {rule}: listed in EXCEPTIONS ({why}) but no longer found; remove the entry"
            );
        }
    }
    assert!(
        report.is_empty(),
        "the source breaks the architecture (ARCHITECTURE.md):\n{report}"
    );
}

/// Imports against the layer order, and top-level modules missing from [`LAYERS`].
fn layers(sources: &[Source]) -> Vec<Finding> {
    let mut out = Vec::new();
    for src in sources {
        let Some(from) = src.module() else { continue };
        let Some(from_layer) = layer_of(from) else {
            out.push(Finding {
                rule: "layers",
                path: src.path.clone(),
                line: 1,
                what: format!("top-level module `{from}` is in no layer; add it to LAYERS and to ARCHITECTURE.md"),
            });
            continue;
        };
        for (to, line) in imports(src) {
            let Some(to_layer) = layer_of(&to) else {
                continue;
            };
            if to_layer > from_layer {
                out.push(Finding {
                    rule: "layers",
                    path: src.path.clone(),
                    line,
                    what: format!(
                        "`{from}` ({}) uses `{to}` ({}); calls go down only: model ← core ← jobs ← faces",
                        LAYERS[from_layer].0, LAYERS[to_layer].0
                    ),
                });
            }
        }
    }
    out
}

/// Cycles between top-level modules, each edge shown with a line that makes it.
fn cycles(sources: &[Source]) -> Vec<Finding> {
    let mut edges: BTreeMap<String, BTreeMap<String, (String, usize)>> = BTreeMap::new();
    for src in sources {
        let Some(from) = src.module() else { continue };
        for (to, line) in imports(src) {
            if to != from && layer_of(&to).is_some() {
                edges
                    .entry(from.to_string())
                    .or_default()
                    .entry(to)
                    .or_insert((src.path.clone(), line));
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for start in edges.keys() {
        if let Some(path) = path_back(&edges, start) {
            let mut key: Vec<&String> = path.iter().collect();
            key.sort();
            if !seen.insert(key.into_iter().cloned().collect::<Vec<_>>()) {
                continue;
            }
            let mut what = format!("cycle {}", path.join(" → "));
            what.push_str(&format!(" → {start}:"));
            let mut ring = path.clone();
            ring.push(start.clone());
            for w in ring.windows(2) {
                let (file, line) = &edges[&w[0]][&w[1]];
                what.push_str(&format!("\n    {} → {} at {file}:{line}", w[0], w[1]));
            }
            let (file, line) = edges[&ring[0]][&ring[1]].clone();
            out.push(Finding {
                rule: "cycle",
                path: file,
                line,
                what,
            });
        }
    }
    out
}

/// A path of modules from `start` that leads back to `start`, if there is one.
fn path_back(
    edges: &BTreeMap<String, BTreeMap<String, (String, usize)>>,
    start: &str,
) -> Option<Vec<String>> {
    let mut stack = vec![vec![start.to_string()]];
    let mut visited = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().cloned().unwrap_or_default();
        for next in edges.get(&last).into_iter().flat_map(|m| m.keys()) {
            if next == start {
                return Some(path.clone());
            }
            if visited.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push(p);
            }
        }
    }
    None
}

/// What may be named where: each rule lists the words it forbids and the files allowed to use
/// them.
struct Forbidden {
    rule: &'static str,
    words: &'static [&'static str],
    /// Paths (prefixes) where the words are allowed; `None` = `only_in` is where they are
    /// forbidden instead.
    allowed_in: &'static [&'static str],
    /// When not empty, the words are forbidden only under these prefixes.
    only_in: &'static [&'static str],
    why: &'static str,
}

const FORBIDDEN: &[Forbidden] = &[
    Forbidden {
        rule: "clap",
        words: &["clap"],
        allowed_in: &["src/cli/"],
        only_in: &[],
        why: "only `cli` knows clap",
    },
    Forbidden {
        rule: "pure draw",
        words: &[
            "std::fs",
            "File::",
            "std::env",
            "std::net",
            "std::process",
            "Instant",
            "SystemTime",
            "Utc::now",
            "Local::now",
            "rand",
            "getrandom",
            "OsRng",
            "StdRng",
        ],
        allowed_in: &[],
        only_in: &["src/draw/"],
        why: "nothing in draw reads files, the clock, the OS random source or calls rand",
    },
    Forbidden {
        rule: "rule evaluation",
        words: &[
            "std::fs",
            "File::",
            "std::env",
            "std::net",
            "std::process",
            "Instant",
            "SystemTime",
            "Utc::now",
            "Local::now",
        ],
        allowed_in: &[],
        only_in: &["src/script/"],
        why: "rule evaluation does no I/O and does not read the clock: hooks are bounded by operations",
    },
    Forbidden {
        rule: "clock",
        words: &["Utc::now", "Local::now", "SystemTime", "Instant::now"],
        allowed_in: &["src/schedule/clock.rs", "src/cli/", "src/web/"],
        only_in: &[],
        why: "the clock is passed in (`schedule::clock`); only the faces read the time of day",
    },
    Forbidden {
        rule: "seed",
        words: &["rand", "getrandom", "OsRng", "StdRng", "thread_rng"],
        allowed_in: &["src/jobs/issue/seed.rs", "src/jobs/secret.rs"],
        only_in: &[],
        why: "the OS random source is used for draw seeds (recorded) and for console secrets (`jobs::secret`), nowhere else",
    },
    Forbidden {
        rule: "raw input",
        words: &["toml_span", "toml::"],
        allowed_in: &["src/rules/", "src/calendar/"],
        only_in: &[],
        why: "raw TOML becomes a validated model in one place (`rules::load`, the calendar files)",
    },
    Forbidden {
        rule: "raw input",
        words: &["calamine", "csv_core", "csv::Reader", "csv::ReaderBuilder"],
        allowed_in: &["src/registry/"],
        only_in: &[],
        why: "registry files (and result sheets) are read in one place, `registry`",
    },
    Forbidden {
        rule: "versioned records",
        words: &["json!"],
        allowed_in: &[],
        only_in: &[],
        why: "stored and published records are versioned types, not `json!` values",
    },
];

fn forbidden(sources: &[Source]) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in FORBIDDEN {
        for src in sources {
            if rule.allowed_in.iter().any(|p| src.is_under(p)) {
                continue;
            }
            if !rule.only_in.is_empty() && !rule.only_in.iter().any(|p| src.is_under(p)) {
                continue;
            }
            for word in rule.words {
                for line in src.find_word(word) {
                    out.push(Finding {
                        rule: rule.rule,
                        path: src.path.clone(),
                        line,
                        what: format!("`{word}`: {}", rule.why),
                    });
                }
            }
        }
    }
    out
}

/// Every `fn` with a body, as (name, first line, lines from signature to closing brace).
fn functions(src: &Source) -> Vec<(String, usize, usize)> {
    let code = &src.code;
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("fn ") {
        let at = from + i;
        from = at + 3;
        let before = at.checked_sub(1).map(|b| bytes[b]);
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
            continue;
        }
        let name = ident(&code[from..]);
        if name.is_empty() {
            continue;
        }
        // The body is the first `{` outside the signature's parentheses, unless a `;` comes first.
        let mut depth = 0i32;
        let mut body = None;
        for (k, b) in bytes[from..].iter().enumerate() {
            match b {
                b'(' | b'[' | b'<' => depth += 1,
                b')' | b']' => depth -= 1,
                b'>' if k > 0 && bytes[from + k - 1] != b'-' && bytes[from + k - 1] != b'=' => {
                    depth -= 1
                }
                b';' if depth <= 0 => break,
                b'{' if depth <= 0 => {
                    body = Some(from + k);
                    break;
                }
                _ => {}
            }
        }
        let Some(open) = body else { continue };
        let Some(close) = matching_brace(code, open) else {
            continue;
        };
        let first = src.line_of(at);
        let last = src.line_of(close);
        out.push((name, first, last - first + 1));
    }
    out
}

/// Functions over [`LONG_FUNCTION`] lines that are not listed in [`LONG_FUNCTIONS`], and listed
/// ones that are no longer long.
fn long_functions(sources: &[Source]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut long = BTreeSet::new();
    for src in sources {
        for (name, line, len) in functions(src) {
            if len <= LONG_FUNCTION {
                continue;
            }
            let key = format!("{}::{name}", src.path);
            long.insert(key.clone());
            if !LONG_FUNCTIONS.iter().any(|(k, _)| *k == key) {
                out.push(Finding {
                    rule: "long function",
                    path: src.path.clone(),
                    line,
                    what: format!(
                        "`{name}` is {len} lines (over {LONG_FUNCTION}); split it into named steps or list it in LONG_FUNCTIONS with a reason"
                    ),
                });
            }
        }
    }
    for (key, _) in LONG_FUNCTIONS {
        if !long.contains(*key) {
            out.push(Finding {
                rule: "long function",
                path: (*key).to_string(),
                line: 0,
                what: "listed in LONG_FUNCTIONS but no longer over the limit; remove the entry"
                    .to_string(),
            });
        }
    }
    out
}

/// Every invariant in ARCHITECTURE.md names the tests that keep it, and each test named there
/// exists: `file::name` is `fn name` in `tests/file.rs`; `module::…::tests::name` is `fn name`
/// in that module's source; a bare name is a test file (`tidy` is this one).
#[test]
fn architecture_invariants_name_existing_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("read ARCHITECTURE.md");
    let section = doc
        .split("\n## Invariants\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("ARCHITECTURE.md has an Invariants section");
    let mut report = String::new();
    for bullet in section.split("\n- ").skip(1) {
        let title = bullet.lines().next().unwrap_or_default();
        let Some((_, tests)) = bullet.split_once("Tests:") else {
            let _ = writeln!(report, "no `Tests:` for the invariant {title}");
            continue;
        };
        let names: Vec<&str> = tests.split('`').skip(1).step_by(2).collect();
        let mut found = 0;
        for name in names {
            match test_exists(root, name) {
                Some(true) => found += 1,
                Some(false) => {
                    let _ = writeln!(report, "`{name}` (for {title}) is not a test");
                }
                None => {}
            }
        }
        if found == 0 {
            let _ = writeln!(report, "the invariant {title} names no test");
        }
    }
    assert!(report.is_empty(), "ARCHITECTURE.md invariants:\n{report}");
}

/// Whether a test named in ARCHITECTURE.md exists; `None` when `name` is not a test path.
fn test_exists(root: &Path, name: &str) -> Option<bool> {
    let parts: Vec<&str> = name.split("::").collect();
    if !parts.iter().all(|p| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }) {
        return None;
    }
    let has_fn = |file: &Path, f: &str| {
        std::fs::read_to_string(file).is_ok_and(|text| text.contains(&format!("fn {f}(")))
    };
    match parts.as_slice() {
        [file] => {
            let exists = root.join("tests").join(format!("{file}.rs")).is_file();
            exists.then_some(true)
        }
        [file, f] => Some(has_fn(&root.join("tests").join(format!("{file}.rs")), f)),
        [modules @ .., "tests", f] => {
            let dir = root.join("src").join(modules.join("/"));
            let file = if dir.join("mod.rs").is_file() {
                dir.join("mod.rs")
            } else {
                dir.with_extension("rs")
            };
            Some(has_fn(&file, f))
        }
        _ => Some(false),
    }
}

/// The checks themselves catch what they are for.
#[test]
fn tidy_finds_what_it_looks_for() {
    let src = |path: &str, text: &str| Source {
        path: path.to_string(),
        code: without_test_modules(&blank(text)),
    };
    let draw = src(
        "src/draw/x.rs",
        "// std::fs in a comment\nuse crate::{registry::Row, jobs::issue};\nfn f() { let s = \"Instant\"; std::fs::read(p); }\n#[cfg(test)]\nmod tests { fn t() { std::fs::write(p, b); } }\n",
    );
    let found = forbidden(std::slice::from_ref(&draw));
    let lines: Vec<(&str, usize)> = found.iter().map(|f| (f.rule, f.line)).collect();
    assert_eq!(lines, vec![("pure draw", 3)]);
    let imported: Vec<String> = imports(&draw).into_keys().collect();
    assert_eq!(imported, vec!["jobs", "registry"]);
    let up = layers(std::slice::from_ref(&draw));
    assert_eq!(up.len(), 1);
    assert!(
        up[0].what.contains("`draw` (core) uses `jobs` (jobs)"),
        "{}",
        up[0].what
    );

    let a = src("src/rules/a.rs", "use crate::script::Hook;\n");
    let b = src("src/script/b.rs", "\n\nfn g() { crate::rules::x(); }\n");
    let found = cycles(&[a, b]);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].what.contains("src/script/b.rs:3"),
        "{}",
        found[0].what
    );

    let long = format!("fn long() {{\n{}}}\nfn short() {{ }}\n", "x;\n".repeat(80));
    let f = functions(&src("src/output/y.rs", &long));
    assert_eq!(
        f,
        vec![("long".to_string(), 1, 82), ("short".to_string(), 83, 1)]
    );
    assert_eq!(
        blank("let c = '\"'; let s = r#\"a\"b\"#; 'a: loop {}"),
        "let c = ' '; let s = r#\"   \"#; 'a: loop {}"
    );
}
