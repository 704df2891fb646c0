//! The platform file (`suiji serve --platform FILE`): one deployment serving many bureaus,
//! each a complete engine config of its own, told apart by the host name a request names.
//!
//! ```toml
//! [platform]
//! name = "临沂市“双随机、一公开”监管平台"
//! host = "suiji.linyi.example"
//! data = "data"
//! [[bureau]]
//! config = "371326/config/suiji.toml"
//! host = "371326.suiji.linyi.example"
//! ```
//!
//! Paths are relative to the platform file's folder. Every problem is reported in one run,
//! located in the platform file, or in a bureau's own config when that is where it is.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::diag::{Diagnostic, Sources};
use crate::rules::LoadError;
use crate::rules::model::{Bureau, Config};
use crate::rules::reader::{Cx, Span, Table, parse};

/// A platform: its own name, host and store, and the bureaus it serves.
#[derive(Debug, Clone)]
pub struct Platform {
    /// The platform file.
    pub path: PathBuf,
    pub name: String,
    /// The platform's own host name (lower case, no port): its public index.
    pub host: String,
    /// The platform's own store (its administrators): a suiji data folder.
    pub data_dir: PathBuf,
    pub bureaus: Vec<PlatformBureau>,
}

/// One bureau of a platform.
#[derive(Debug, Clone)]
pub struct PlatformBureau {
    /// The bureau's engine config, as every other command takes it.
    pub config: PathBuf,
    /// The host name its console and public site answer on (lower case, no port).
    pub host: String,
    /// `[bureau]` of its config.
    pub bureau: Bureau,
    /// Its data folder (its own database).
    pub data_dir: PathBuf,
}

impl Platform {
    /// The bureau a request's `Host` header names (port left out, any case), if any.
    pub fn bureau_of_host(&self, host: &str) -> Option<usize> {
        let host = normal_host(host);
        self.bureaus.iter().position(|b| b.host == host)
    }
}

/// A `Host` header's name: lower case, without the port (an IPv6 address keeps its brackets).
pub fn normal_host(host: &str) -> String {
    let host = host.trim();
    let name = if host.starts_with('[') {
        host.split_once(']')
            .map_or(host, |(h, _)| &host[..h.len() + 1])
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Loads and validates the platform file at `path` and every bureau config it names (the
/// configs alone; their rules are checked by `suiji check --platform`). Every problem is
/// reported in one go.
pub fn load_platform(path: &Path) -> Result<Platform, LoadError> {
    let mut sources = Sources::default();
    let mut diags = Vec::new();
    let platform = read_platform_file(path, &mut sources, &mut diags);
    match platform {
        Some(p) if !diags.iter().any(Diagnostic::is_error) => Ok(p),
        _ => Err(LoadError {
            sources,
            diagnostics: diags,
        }),
    }
}

const TOP_KEYS: &[&str] = &["platform", "bureau"];
const PLATFORM_KEYS: &[&str] = &["name", "host", "data"];
const BUREAU_KEYS: &[&str] = &["config", "host"];

/// A `[[bureau]]` as written, before its config is read.
struct Written {
    config: Option<(PathBuf, Span)>,
    host: Option<(String, Span)>,
}

fn read_platform_file(
    path: &Path,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> Option<Platform> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("cannot read platform file {}: {e}", path.display()))
                    .help("pass the platform file with --platform PATH"),
            );
            return None;
        }
    };
    let root = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let file = sources.add(path.display().to_string(), text.clone());
    let mut cx = Cx { file, diags };
    let value = parse(&text, &mut cx)?;
    let mut top = Table::from_value(value, "", &mut cx)?;
    let head = read_head(&mut top, &root, &mut cx);
    let written: Vec<Written> = top
        .tables("bureau", &mut cx)
        .into_iter()
        .map(|t| read_bureau_entry(t, &root, &mut cx))
        .collect();
    if written.is_empty() {
        cx.error(0..1, "the platform names no bureau", "no [[bureau]] table")
            .help
            .push(
                "add a [[bureau]] with config = \"CODE/config/suiji.toml\" and host = \"…\"".into(),
            );
    }
    top.finish(TOP_KEYS, &mut cx);
    let bureaus = read_bureaus(&written, file, sources, diags);
    let (name, host, data_dir) = head?;
    let platform = Platform {
        path: path.to_path_buf(),
        name,
        host: host.0,
        data_dir,
        bureaus,
    };
    let mut cx = Cx { file, diags };
    check_distinct(&platform, &written, (host.1, &text), &mut cx);
    Some(platform)
}

/// `[platform]`: name, host, data.
fn read_head(
    top: &mut Table<'_>,
    root: &Path,
    cx: &mut Cx<'_>,
) -> Option<(String, (String, Span), PathBuf)> {
    let Some(mut t) = top.table("platform", cx) else {
        cx.error(
            0..1,
            "missing [platform] table",
            "the file needs [platform]",
        )
        .help
        .push("add [platform] with name = \"…\", host = \"…\" and data = \"data\"".into());
        return None;
    };
    let name = t.req_string("name", "\"临沂市“双随机、一公开”监管平台\"", cx);
    let host = t.req_string("host", "\"suiji.example.gov.cn\"", cx);
    let data = t.req_string("data", "\"data\"", cx);
    t.finish(PLATFORM_KEYS, cx);
    let host = host.and_then(|h| checked_host(&h.value, h.span, cx))?;
    Some((name?.value, host, root.join(data?.value)))
}

/// A host name as written: a name without scheme, port or path, any case.
fn checked_host(given: &str, span: Span, cx: &mut Cx<'_>) -> Option<(String, Span)> {
    let ok = !given.is_empty()
        && given
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
    if ok {
        return Some((given.to_ascii_lowercase(), span));
    }
    cx.error(
        span,
        format!("`{given}` is not a host name"),
        "expected a name such as 371326.suiji.example.gov.cn",
    )
    .help
    .push("write the host name alone: no http://, no port, no path".into());
    None
}

fn read_bureau_entry(mut t: Table<'_>, root: &Path, cx: &mut Cx<'_>) -> Written {
    let config = t.req_string("config", "\"371326/config/suiji.toml\"", cx);
    let host = t.req_string("host", "\"371326.suiji.example.gov.cn\"", cx);
    t.finish(BUREAU_KEYS, cx);
    Written {
        config: config.map(|c| (root.join(&c.value), c.span)),
        host: host.and_then(|h| checked_host(&h.value, h.span, cx)),
    }
}

/// Reads each bureau's config (its problems shown in its own file, then one line in the
/// platform file naming that bureau).
fn read_bureaus(
    written: &[Written],
    file: usize,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> Vec<PlatformBureau> {
    let mut bureaus = Vec::new();
    for (i, w) in written.iter().enumerate() {
        let Some((config, span)) = &w.config else {
            continue;
        };
        let before = diags.len();
        let read = crate::rules::load::read_config_into(config, sources, diags);
        let failed = diags[before..].iter().any(Diagnostic::is_error);
        match read {
            Some(c) if !failed => {
                // A host with problems is reported already; the code and data folder are
                // still compared with the others'.
                let host = w.host.as_ref().map_or("", |h| h.0.as_str());
                if let Some(b) = bureau_of(c, config, host, span, file, diags) {
                    bureaus.push(b);
                }
            }
            _ => diags.push(
                Diagnostic::error(format!(
                    "bureau {} ({}) does not load",
                    i + 1,
                    config.display()
                ))
                .at(file, span.clone())
                .label("this bureau's config has the problems above")
                .help("fix its config (suiji check --config PATH shows the same problems)"),
            ),
        }
    }
    bureaus
}

fn bureau_of(
    c: Config,
    config: &Path,
    host: &str,
    span: &Span,
    file: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<PlatformBureau> {
    if c.bureau.code.as_deref().is_none_or(str::is_empty) {
        diags.push(
            Diagnostic::error(format!(
                "the bureau of {} has no `code` in its [bureau] table",
                config.display()
            ))
            .at(file, span.clone())
            .label("this bureau")
            .help(
                "a platform tells its bureaus apart by code: add code = \"371326\" to its [bureau]",
            ),
        );
        return None;
    }
    Some(PlatformBureau {
        config: config.to_path_buf(),
        host: host.to_string(),
        bureau: c.bureau,
        data_dir: c.data_dir,
    })
}

/// Hosts, codes and data folders each belong to one bureau (and the platform's host and
/// data folder to none).
fn check_distinct(
    platform: &Platform,
    written: &[Written],
    (host, text): (Span, &str),
    cx: &mut Cx<'_>,
) {
    let mut hosts: BTreeMap<String, Span> = BTreeMap::new();
    hosts.insert(platform.host.clone(), host);
    for (h, span) in written.iter().filter_map(|w| w.host.clone()) {
        if let Some(first) = hosts.get(&h) {
            let (line, _) = crate::diag::line_col(text, first.start);
            cx.error(span, format!("host `{h}` is used twice"), "second use")
                .help
                .push(format!(
                    "give each bureau a host of its own (first used on line {line})"
                ));
        } else {
            hosts.insert(h, span);
        }
    }
    let spans: BTreeMap<PathBuf, Span> = written.iter().filter_map(|w| w.config.clone()).collect();
    let at = |b: &PlatformBureau| spans.get(&b.config).cloned().unwrap_or(0..1);
    let mut codes: BTreeMap<String, &PlatformBureau> = BTreeMap::new();
    let mut folders: BTreeMap<PathBuf, String> = BTreeMap::new();
    folders.insert(absolute(&platform.data_dir), "the platform".to_string());
    for b in &platform.bureaus {
        let code = b.bureau.code.clone().unwrap_or_default();
        if let Some(first) = codes.get(&code) {
            cx.error(
                at(b),
                format!("two bureaus have the code {code}"),
                format!("{} has it too", first.config.display()),
            )
            .help
            .push("each bureau's [bureau] code must be its own".into());
        } else {
            codes.insert(code, b);
        }
        let folder = absolute(&b.data_dir);
        if let Some(first) = folders.get(&folder) {
            cx.error(
                at(b),
                format!(
                    "this bureau's data folder {} is shared",
                    b.data_dir.display()
                ),
                format!("{first} uses it too"),
            )
            .help
            .push("give each bureau a data folder of its own ([paths] data in its config)".into());
        } else {
            folders.insert(folder, b.config.display().to_string());
        }
    }
}

/// `path` made absolute and without `.` or `..` (read from the names alone: a folder that
/// does not exist yet compares too).
fn absolute(path: &Path) -> PathBuf {
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for part in full.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
