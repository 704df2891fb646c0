//! Loading: config, every rule file and every script, validated together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostic, Sources, offset_of};
use crate::rules::archive::Draft;
use crate::rules::config::{read_config, root_of};
use crate::rules::department::{
    DeptFile, HookRef, PendingJoint, PendingMatter, bind, complete_joint, read_department,
};
use crate::rules::model::{Config, Department, Matter, Model};
use crate::rules::reader::Cx;
use crate::script::{Hook, HookKind, Sandbox, Script, display_path, fields_read, forbidden_calls};

/// A loaded rule set: the model, the sandbox its hooks run in, and the texts diagnostics refer to.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub model: Model,
    pub sandbox: Arc<Sandbox>,
    pub sources: Sources,
    /// Non-fatal problems.
    pub warnings: Vec<Diagnostic>,
}

/// Loading failed: every problem found, with the texts to render them.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    pub fn render(&self) -> String {
        crate::diag::render(&self.sources, &self.diagnostics)
    }
}

/// Loads the engine config alone, without the rules it points to: enough to find the data
/// folder when the rules have problems (the audit log and the draws stay readable then).
pub fn load_config(config_path: &Path) -> Result<Config, LoadError> {
    let mut sources = Sources::default();
    let mut diags = Vec::new();
    match read_config_file(config_path, &mut sources, &mut diags) {
        Some(config) if !diags.iter().any(Diagnostic::is_error) => Ok(config),
        _ => Err(LoadError {
            sources,
            diagnostics: diags,
        }),
    }
}

/// The `[database] schema` the config at `config_path` names, read from its TOML alone (for a
/// config with other problems, whose commands report those themselves): `Some(None)` when it
/// names none; `None` when its TOML cannot be read or the schema is not a plain name, so that
/// the bureau's schema is not known.
pub fn database_schema_alone(config_path: &Path) -> Option<Option<String>> {
    let text = std::fs::read_to_string(config_path).ok()?;
    let table = text.parse::<toml::Table>().ok()?;
    match table.get("database").and_then(|d| d.get("schema")) {
        None => Some(None),
        Some(toml::Value::String(s)) if crate::store::pg::schema_name_problem(s).is_none() => {
            Some(Some(s.clone()))
        }
        Some(_) => None,
    }
}

/// Reads the engine config at `config_path` alone, its text added to `sources` and its
/// problems to `diags` (for a file that names configs: the platform file).
pub(crate) fn read_config_into(
    config_path: &Path,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> Option<Config> {
    read_config_file(config_path, sources, diags)
}

fn read_config_file(
    config_path: &Path,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> Option<Config> {
    read_config_at(config_path, config_path, sources, diags)
}

/// Reads the config text of `text_path`, as the config of `config_path` (whose project folder
/// relative paths resolve against).
fn read_config_at(
    config_path: &Path,
    text_path: &Path,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> Option<Config> {
    let root = root_of(config_path);
    let config_text = match std::fs::read_to_string(text_path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!(
                    "cannot read config file {}: {e}",
                    config_path.display()
                ))
                .help("run suiji from the project folder, or pass --config PATH"),
            );
            return None;
        }
    };
    let file = sources.add(display_path(config_path, &root), config_text.clone());
    read_config(&config_text, config_path, &root, &mut Cx { file, diags })
}

/// Loads `config_path` and the rules it points to. Reports every problem in one go.
pub fn load(config_path: &Path) -> Result<Loaded, LoadError> {
    load_as(config_path, None, false, &Draft::new())
}

/// Loads as [`load`] does, with the rule files of `draft` (by file name in the rules folder)
/// in place of the files of that name: the rules as they would be with the draft saved,
/// validated by the same reader. The rules hash is the one the draft would have.
pub fn load_draft(config_path: &Path, draft: &Draft) -> Result<Loaded, LoadError> {
    load_as(config_path, None, false, draft)
}

/// Loads a rule set laid out in `staged` as a rules archive unpacks (`config/suiji.toml`,
/// `config/holidays/`, `rules/`) in place of the project's own files: a proposed or approved
/// version of the rules. Registries, data and output stay those of `config_path`'s project;
/// rule files are named as in the project (`rules/zhian.toml`). The rules hash is the
/// staged files' hash.
pub fn load_staged(config_path: &Path, staged: &Path) -> Result<Loaded, LoadError> {
    load_as(config_path, Some(staged), false, &Draft::new())
}

/// [`load_staged`] with `draft` in place of the staged rule files of those names: a draft
/// checked against the approved version it is based on rather than the files on disk.
pub fn load_draft_staged(
    config_path: &Path,
    staged: &Path,
    draft: &Draft,
) -> Result<Loaded, LoadError> {
    load_as(config_path, Some(staged), false, draft)
}

/// Loads an archived rule set to re-run its draws: as [`load`], except that ratios written
/// as bare numbers (`ratio = 0.05`, accepted before the `%` form was required) still read as
/// fractions, so every draw made with them still verifies.
pub fn load_archived(config_path: &Path) -> Result<Loaded, LoadError> {
    load_as(config_path, None, true, &Draft::new())
}

fn load_as(
    config_path: &Path,
    staged: Option<&Path>,
    legacy_ratios: bool,
    draft: &Draft,
) -> Result<Loaded, LoadError> {
    let mut sources = Sources::default();
    let mut diags = Vec::new();
    let text_path = match staged {
        Some(dir) => dir.join("config/suiji.toml"),
        None => config_path.to_path_buf(),
    };
    let config = read_config_at(config_path, &text_path, &mut sources, &mut diags).map(|mut c| {
        c.legacy_ratios = legacy_ratios;
        if let Some(dir) = staged {
            c.rules_dir = dir.join("rules");
            c.holidays_dir = dir.join("config/holidays");
            c.shown_root = dir.to_path_buf();
        }
        c
    });
    let Some(config) = config else {
        return Err(LoadError {
            sources,
            diagnostics: diags,
        });
    };
    let sandbox = Arc::new(Sandbox::new(config.limits));
    let (departments, joints) = load_rules(&config, &sandbox, draft, &mut sources, &mut diags);
    // The archive format goes with the algorithm: `suiji-rules/2` (with the holiday files) for
    // `suiji-draw/2`, `suiji-rules/1` for `suiji-draw/1`.
    let rules_archive = match config.algorithm {
        crate::rules::model::Algorithm::V1 => {
            crate::rules::archive::pack_draft(&text_path, None, &config.rules_dir, draft)
        }
        crate::rules::model::Algorithm::V2 => crate::rules::archive::pack_draft(
            &text_path,
            Some(&config.holidays_dir),
            &config.rules_dir,
            draft,
        ),
    }
    .unwrap_or_default();
    let rules_hash = crate::rules::archive::hash(&rules_archive);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(LoadError {
            sources,
            diagnostics: diags,
        });
    }
    Ok(Loaded {
        model: Model {
            config,
            departments,
            joints,
            rules_hash,
            rules_archive,
        },
        sandbox,
        sources,
        warnings: diags,
    })
}

/// A rule file's text; a byte that is not UTF-8 is reported at its line and column.
fn read_text(path: &Path, name: &str) -> Result<String, Box<Diagnostic>> {
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostic::error(format!("cannot read {name}: {e}"))
            .help("check the file exists and is readable")
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = String::from_utf8_lossy(&bytes[..at]);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Diagnostic::error(format!(
            "{name} is not UTF-8 text: byte 0x{:02X} here is not UTF-8",
            bytes[at]
        ))
        .at_line(name, line, Some(column))
        .help("save the file as UTF-8 (in Notepad: 另存为 → 编码 UTF-8); retype the character at this place")
        .into()
    })
}

fn rule_files(dir: &Path, ext: &str, draft: &Draft) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    files.extend(
        draft
            .keys()
            .filter(|name| name.ends_with(&format!(".{ext}")))
            .map(|name| dir.join(name)),
    );
    files.sort();
    files.dedup();
    files
}

/// The text of the draft's file at `path`, when the draft has one.
fn drafted<'a>(path: &Path, config: &Config, draft: &'a Draft) -> Option<&'a str> {
    if path.parent()? != config.rules_dir {
        return None;
    }
    draft.get(path.file_name()?.to_str()?).map(String::as_str)
}

/// The text of the rule file at `path`: the draft's when it has one, else the file's (a
/// problem reading it is reported).
fn text_of(
    path: &Path,
    name: &str,
    (config, draft): (&Config, &Draft),
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    match drafted(path, config, draft).map_or_else(|| read_text(path, name), |t| Ok(t.to_string()))
    {
        Ok(t) => Some(t),
        Err(d) => {
            diags.push(*d);
            None
        }
    }
}

/// The departments of the rules folder, and the joint plans they lead.
fn load_rules(
    config: &Config,
    sandbox: &Sandbox,
    draft: &Draft,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Department>, Vec<Matter>) {
    let root = &config.shown_root;
    let Some(files) = department_files(config, draft, diags) else {
        return (Vec::new(), Vec::new());
    };
    let mut pending_joints: Vec<PendingJoint> = Vec::new();
    let mut scripts: BTreeMap<PathBuf, Option<Arc<Script>>> = BTreeMap::new();
    let mut departments: Vec<Department> = Vec::new();
    let mut dept_ids: BTreeMap<String, String> = BTreeMap::new();
    for path in files {
        let name = display_path(&path, root);
        let Some(text) = text_of(&path, &name, (config, draft), diags) else {
            continue;
        };
        let file = sources.add(name.clone(), text.clone());
        let mut cx = Cx { file, diags };
        let Some(DeptFile {
            header,
            matters: pending,
            joints,
        }) = read_department(&text, config, &mut cx)
        else {
            continue;
        };
        if let Some(first) = dept_ids.get(&header.id) {
            diags.push(
                Diagnostic::error(format!(
                    "department id `{}` is used by {first} and {name}",
                    header.id
                ))
                .at(file, 0..1)
                .help("each department has one rule file with a unique id"),
            );
            continue;
        }
        dept_ids.insert(header.id.clone(), name.clone());
        pending_joints.extend(joints);
        let mut matters = Vec::new();
        for p in pending {
            matters.push(bind_hooks(
                p,
                (config, draft),
                sandbox,
                sources,
                diags,
                file,
                &mut scripts,
            ));
        }
        departments.push(Department {
            id: header.id,
            name: header.name,
            file: path,
            order: header.order,
            summary: header.summary,
            frequency_note: header.frequency_note,
            publication_note: header.publication_note,
            retired: header.retired,
            matters,
        });
    }
    departments.sort_by(|a, b| a.order.cmp(&b.order).then(a.id.cmp(&b.id)));
    let joints = complete_joints(
        pending_joints,
        &departments,
        (config, sandbox, draft),
        (sources, diags),
        &mut scripts,
    );
    (departments, joints)
}

/// The joint plans, completed against every department's matters and bound to their hooks.
fn complete_joints(
    pending_joints: Vec<PendingJoint>,
    departments: &[Department],
    (config, sandbox, draft): (&Config, &Sandbox, &Draft),
    (sources, diags): (&mut Sources, &mut Vec<Diagnostic>),
    scripts: &mut BTreeMap<PathBuf, Option<Arc<Script>>>,
) -> Vec<Matter> {
    let joints = pending_joints
        .into_iter()
        .filter_map(|pj| {
            let file = pj.file;
            let p = complete_joint(pj, departments, &mut Cx { file, diags })?;
            joint_needs_v2(config, &p, file, diags);
            let taken = departments
                .iter()
                .flat_map(|d| d.matters.iter())
                .any(|m| m.id == p.matter.id);
            if taken {
                diags.push(
                    Diagnostic::error(format!(
                        "joint plan id `{}` is also a matter's id",
                        p.matter.id
                    ))
                    .at(file, p.id_span.clone())
                    .help("give the joint plan an id of its own"),
                );
                return None;
            }
            Some(bind_hooks(
                p,
                (config, draft),
                sandbox,
                sources,
                diags,
                file,
                scripts,
            ))
        })
        .collect::<Vec<Matter>>();
    let mut seen = std::collections::BTreeSet::new();
    for j in &joints {
        if !seen.insert(j.id.clone()) {
            diags.push(
                Diagnostic::error(format!("duplicate joint plan id `{}`", j.id))
                    .at(j.places.file, j.places.id.clone())
                    .help("joint plan ids must be unique within their lead department"),
            );
        }
    }
    joints
}

/// Joint plans need the team step of `suiji-draw/2` (members covering qualifications
/// together, from several departments).
fn joint_needs_v2(config: &Config, p: &PendingMatter, file: usize, diags: &mut Vec<Diagnostic>) {
    if config.algorithm == crate::rules::model::Algorithm::V1 {
        diags.push(
            Diagnostic::error(format!(
                "joint plan `{}` needs the draw algorithm suiji-draw/2",
                p.matter.id
            ))
            .at(file, p.id_span.clone())
            .help("set [draw] algorithm = \"suiji-draw/2\" in config/suiji.toml (docs/draw-algorithm.md, part 2)"),
        );
    }
}

/// The rule files (`*.toml`) of the rules folder; `None` when there is no such folder.
fn department_files(
    config: &Config,
    draft: &Draft,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<PathBuf>> {
    if !config.rules_dir.is_dir() {
        diags.push(
            Diagnostic::error(format!(
                "rules folder {} does not exist",
                config.rules_dir.display()
            ))
            .help("set [paths] rules = \"rules\" in the config, or create the folder"),
        );
        return None;
    }
    let files = rule_files(&config.rules_dir, "toml", draft);
    if files.is_empty() {
        diags.push(
            Diagnostic::error(format!(
                "no rule files (*.toml) in {}",
                config.rules_dir.display()
            ))
            .help("add one rules/<department>.toml per department (see docs/rules.md)"),
        );
    }
    Some(files)
}

#[allow(clippy::too_many_arguments)]
fn bind_hooks(
    p: PendingMatter,
    (config, draft): (&Config, &Draft),
    sandbox: &Sandbox,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
    rule_file: usize,
    scripts: &mut BTreeMap<PathBuf, Option<Arc<Script>>>,
) -> crate::rules::model::Matter {
    let mut matter = p.matter;
    for h in p.hooks {
        if let Some(d) = script_outside_rules(&h, rule_file) {
            diags.push(d);
            continue;
        }
        let path = config.rules_dir.join(&h.script.value);
        let script = scripts
            .entry(path.clone())
            .or_insert_with(|| {
                compile_script(
                    &path,
                    (config, draft),
                    sandbox,
                    sources,
                    diags,
                    rule_file,
                    &h.script.span,
                )
            })
            .clone();
        let Some(script) = script else { continue };
        let Some(f) = script
            .ast
            .iter_functions()
            .find(|f| f.name == h.function.value.as_str())
        else {
            diags.push(no_such_function(&script, &h, rule_file));
            continue;
        };
        if f.params.len() != h.kind.arity() {
            diags.push(wrong_arity(sources, &script, &h, f.params.len()));
            continue;
        }
        let reads = fields_read(&script.ast, &h.function.value, h.kind.arity(), 0);
        let hook = Hook {
            kind: h.kind,
            script: script.clone(),
            function: h.function.value.clone(),
            reads,
        };
        if let Some(d) = class_hook_conflicts(&matter, &h, rule_file) {
            diags.push(d);
            continue;
        }
        bind(&mut matter, h.kind, hook);
    }
    matter
}

/// A `class` hook where the class cannot come from it: beside a `class_field` (two sources of
/// one class), or without `class_ratios` (nothing would read it).
fn class_hook_conflicts(m: &Matter, h: &HookRef, rule_file: usize) -> Option<Diagnostic> {
    if h.kind != HookKind::Class {
        return None;
    }
    let (message, help) = if m.class_field.is_some() {
        (
            format!("`{}` has both a class hook and `class_field`", m.id),
            "the class comes from one place: remove `class_field`, or the hook".to_string(),
        )
    } else if m.class_ratios.is_empty() && m.class_frequency.is_empty() {
        (
            format!("the class hook of `{}` has no `class_ratios` to use it", m.id),
            "add class_ratios = { \"投诉较多\" = \"20%\" } naming the classes the hook returns, or remove the hook".to_string(),
        )
    } else {
        return None;
    };
    Some(
        Diagnostic::error(message)
            .at(rule_file, h.function.span.clone())
            .label("class hook")
            .help(help),
    )
}

/// A script named by anything but a plain `<name>.rhai` in the rules folder: the rule set
/// archived with every draw holds the rules folder's own `*.rhai` files, so a script anywhere
/// else (a subfolder, `..`, an absolute path, another extension) would be used but never
/// archived, and its draws could never be verified.
fn script_outside_rules(h: &HookRef, rule_file: usize) -> Option<Diagnostic> {
    let name = h.script.value.as_str();
    let plain = !name.is_empty()
        && !name.contains(['/', '\\', ':'])
        && !name.starts_with('.')
        && name.ends_with(".rhai")
        && name.len() > ".rhai".len();
    if plain {
        return None;
    }
    let file = std::path::Path::new(name)
        .file_name()
        .and_then(|f| f.to_str())
        .filter(|f| f.ends_with(".rhai") && f.len() > ".rhai".len() && !f.starts_with('.'));
    let fix = match file {
        Some(f) => format!("move the script into the rules folder and write script = \"{f}\""),
        None => "name a script of the rules folder: script = \"<name>.rhai\"".to_string(),
    };
    Some(
        Diagnostic::error(format!(
            "script `{name}` must be a .rhai file directly in the rules folder"
        ))
        .at(rule_file, h.script.span.clone())
        .label("not a script of the rules folder")
        .help(format!(
            "{fix}; only the rules folder's own scripts are archived with each draw, so that \
             `suiji verify` can re-run it"
        )),
    )
}

/// A hook naming a function its script does not define.
fn no_such_function(script: &Script, h: &HookRef, rule_file: usize) -> Diagnostic {
    let known: Vec<&str> = script.ast.iter_functions().map(|f| f.name).collect();
    let d = Diagnostic::error(format!(
        "script {} has no function `{}`",
        script.name, h.function.value
    ))
    .at(rule_file, h.function.span.clone())
    .label("no such function");
    match crate::diag::did_you_mean(&h.function.value, known.iter().copied()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!(
            "define fn {}{} in {}",
            h.function.value,
            h.kind.params(),
            script.name
        )),
    }
}

/// A hook function with the wrong number of parameters (`params`).
fn wrong_arity(sources: &mut Sources, script: &Script, h: &HookRef, params: usize) -> Diagnostic {
    let at = script
        .source
        .find(&format!("fn {}", h.function.value))
        .unwrap_or(0);
    let sid = sources_id(sources, script);
    Diagnostic::error(format!(
        "hook `{}` must take {} parameters {}, but `{}` takes {}",
        h.kind.fn_name(),
        h.kind.arity(),
        h.kind.params(),
        h.function.value,
        params
    ))
    .at(sid, at..at + 3 + h.function.value.len())
    .label("wrong number of parameters")
    .help(format!(
        "declare it as fn {}{}",
        h.function.value,
        h.kind.params()
    ))
}

fn sources_id(sources: &mut Sources, script: &Script) -> usize {
    sources.add(script.name.clone(), script.source.clone())
}

fn compile_script(
    path: &Path,
    (config, draft): (&Config, &Draft),
    sandbox: &Sandbox,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
    rule_file: usize,
    ref_span: &std::ops::Range<usize>,
) -> Option<Arc<Script>> {
    let name = display_path(path, &config.shown_root);
    let read = match drafted(path, config, draft) {
        Some(t) => Ok(Ok(t.to_string())),
        None => std::fs::read(path).map(String::from_utf8),
    };
    let source = match read {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => {
            if let Err(d) = read_text(path, &name) {
                diags.push(*d);
            }
            return None;
        }
        Err(e) => {
            diags.push(
                Diagnostic::error(format!("cannot read script {name}: {e}"))
                    .at(rule_file, ref_span.clone())
                    .label("script named here")
                    .help("scripts live in the rules folder; check the file name"),
            );
            return None;
        }
    };
    if source.len() > 1_000_000 {
        diags.push(
            Diagnostic::error(format!("script {name} is larger than 1 MB"))
                .at(rule_file, ref_span.clone()),
        );
        return None;
    }
    match sandbox.compile(&source) {
        Ok(ast) if !forbidden_calls(&ast).is_empty() => {
            let file = sources.add(name.clone(), source.clone());
            for (line, col, call, why) in forbidden_calls(&ast) {
                let at = offset_of(&source, line.max(1), col.max(1));
                let end = (at + call.len()).min(source.len()).max(at);
                diags.push(
                    Diagnostic::error(format!(
                        "script {name} calls `{call}()`, which hooks may not use"
                    ))
                    .at(file, at..end)
                    .label("not allowed in a hook")
                    .help(format!(
                        "{why}; use the dates in ctx (period_start, period_end, reference_date)"
                    )),
                );
            }
            None
        }
        Ok(ast) => Some(Arc::new(Script {
            path: path.to_path_buf(),
            name,
            source,
            ast,
        })),
        Err((line, col, msg)) => {
            let file = sources.add(name.clone(), source.clone());
            let at = offset_of(&source, line.max(1), col.max(1));
            let end = (at + 1).min(source.len()).max(at);
            diags.push(
                Diagnostic::error(format!("Rhai syntax error in {name}: {msg}"))
                    .at(file, at..end)
                    .label("here")
                    .help("scripts use the Rhai language; see docs/rules.md for the hooks and the data they see"),
            );
            None
        }
    }
}
