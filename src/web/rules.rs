//! 规则编辑: the departments and matters (`/rules`), a matter's form (`/rules/<department>/
//! <matter>`), a department's files as text (`/rules/<department>`, the advanced tab), the
//! check of a draft as the user types (`/rules-check`, a fragment the page's script puts in
//! place; the 检查 button does the same without script) and the preview. Every check is
//! `jobs::rule_edit::check_kept` on the console's kept registry facts (`App::facts`), which
//! runs what `suiji check` runs. 保存草稿 and 提交审核 make the
//! editor's change of a department a draft, then a change waiting for approval
//! (`jobs::rule_changes`): the rule files change only when it is approved.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};

use super::session::Viewer;
use super::{App, Fail, blocking, render};
use crate::jobs::check::Keeper;
use crate::jobs::rule_changes::{self, ChangeError, Submitted, Who};
use crate::jobs::rule_edit::{self, Checked, DepartmentFiles, Finding, Preview};
use crate::jobs::users::Action;
use crate::rules::edit::{ChecklistRow, HeaderValues, MatterValues, form_keys};
use crate::rules::schema::Kind;
use crate::rules::{Draft, Loaded};
use crate::store::RuleChangeRow;

type Pairs = axum::Form<Vec<(String, String)>>;

/// One problem as a page shows it: where, what (in Chinese where the console knows the
/// message), and what to do.
pub(crate) struct Note {
    pub level: &'static str,
    pub place: String,
    pub message: String,
    pub help: Vec<String>,
}

/// One line of a file, with the problems found at it.
pub(crate) struct ListLine {
    pub n: usize,
    pub text: String,
    pub notes: Vec<Note>,
}

/// A file of the draft with its problems at their lines (only the lines near a problem when
/// `all` is off).
pub(crate) struct Listing {
    pub name: String,
    pub lines: Vec<ListLine>,
}

/// What the check found, for a page.
pub(crate) struct CheckView {
    pub ok: bool,
    pub errors: usize,
    pub warnings: usize,
    /// Problems without a line in the files shown.
    pub loose: Vec<Note>,
    pub listings: Vec<Listing>,
    pub hash: String,
}

/// The fragment the live check puts in place (and the pages include).
#[derive(Template)]
#[template(path = "rule_check.html")]
struct CheckFragment {
    check: CheckView,
}

fn note(f: &Finding) -> Note {
    let place = match (&f.file, f.line, f.column) {
        (Some(file), Some(l), Some(c)) => format!("{file} 第 {l} 行第 {c} 列"),
        (Some(file), Some(l), None) => format!("{file} 第 {l} 行"),
        (Some(file), None, _) => file.clone(),
        _ => String::new(),
    };
    Note {
        level: if f.error { "bad" } else { "warn" },
        place,
        message: crate::diag::zh::message(&f.message),
        help: f.help.iter().map(|h| crate::diag::zh::message(h)).collect(),
    }
}

/// The check's findings for a page: each at its line of the draft's files.
fn check_view(checked: &Checked, files: &Draft, all_lines: bool) -> CheckView {
    let mut loose = Vec::new();
    let mut listings = Vec::new();
    for (name, text) in files {
        let shown = format!("rules/{name}");
        let mine: Vec<&Finding> = checked
            .findings
            .iter()
            .filter(|f| f.file.as_deref() == Some(shown.as_str()) && f.line.is_some())
            .collect();
        if mine.is_empty() && !all_lines {
            continue;
        }
        let near = |n: usize| {
            all_lines
                || mine
                    .iter()
                    .any(|f| f.line.is_some_and(|l| l.abs_diff(n) <= 1))
        };
        let lines = text
            .lines()
            .enumerate()
            .map(|(i, t)| (i + 1, t))
            .filter(|(n, _)| near(*n))
            .map(|(n, t)| ListLine {
                n,
                text: t.to_string(),
                notes: mine
                    .iter()
                    .filter(|f| f.line == Some(n))
                    .map(|f| note(f))
                    .collect(),
            })
            .collect();
        listings.push(Listing { name: shown, lines });
    }
    for f in &checked.findings {
        let listed = f.line.is_some()
            && f.file.as_ref().is_some_and(|file| {
                file.strip_prefix("rules/")
                    .is_some_and(|n| files.contains_key(n))
            });
        if !listed {
            loose.push(note(f));
        }
    }
    CheckView {
        ok: checked.ok(),
        errors: checked.findings.iter().filter(|f| f.error).count(),
        warnings: checked.findings.iter().filter(|f| !f.error).count(),
        loose,
        listings,
        hash: checked.rules_hash.clone().unwrap_or_default(),
    }
}

/// What the editor works on besides the department's files: the approved files they start
/// from, their own open change of the department (a draft, or a change returned to them),
/// and the rules hash of the version the work is based on.
pub(crate) struct Working {
    pub approved: Draft,
    pub open: Option<RuleChangeRow>,
    pub base: String,
    /// The folder of the approved version the work is based on (`rule_edit::base_dir`);
    /// `None`: the files on disk are that version.
    pub dir: Option<std::path::PathBuf>,
}

/// The department `dept` as the editor works on it: the latest approved files with the
/// editor's own open change of it written over them.
fn department(
    app: &App,
    viewer: &Viewer,
    dept: &str,
) -> Result<(Loaded, DepartmentFiles, Working), Fail> {
    viewer.may(Action::EditRules)?;
    if !viewer.user.sees(dept) {
        // Another department's rules are not there for this user, as its draws are not.
        return Err(Fail::NotFound);
    }
    let open = {
        let store = app.store(Some(&viewer.user))?;
        own_open_change(&*store, &viewer.user.actor(), dept)?
    };
    // The approved version the open change is based on (else the latest): the form shows it,
    // and the check and the preview compare against it, not against files on disk that
    // nobody approved.
    let config = app.config();
    let dir = rule_edit::base_dir(&config, open.as_ref().map(|o| o.base_hash.as_str()))
        .map_err(|e| Fail::of(&e))?;
    let loaded = rule_edit::load_base(&config, dir.as_deref()).map_err(|e| Fail::of(&e))?;
    let mut files = match rule_edit::department_files(&loaded, dept) {
        Ok(files) => files,
        Err(rule_edit::EditJobError::NoDepartment(_)) => new_department_files(open.as_ref(), dept)?,
        Err(other) => return Err(Fail::Failed(format!("规则文件无法读取：{other}"))),
    };
    let approved = files.files.clone();
    let base = match &open {
        Some(row) => {
            for (path, text) in &row.files {
                if let Some(name) = path.strip_prefix("rules/") {
                    files.files.insert(name.to_string(), text.clone());
                }
            }
            row.base_hash.clone()
        }
        None => loaded.model.rules_hash.clone(),
    };
    let working = Working {
        approved,
        open,
        base,
        dir,
    };
    Ok((loaded, files, working))
}

/// A department the approved rules do not have yet: the one the editor's open change adds
/// (its rule file `rules/<dept>.toml`, written over this empty set by the caller).
fn new_department_files(open: Option<&RuleChangeRow>, dept: &str) -> Result<DepartmentFiles, Fail> {
    let rule_file = format!("{dept}.toml");
    let text = open
        .and_then(|o| o.files.get(&format!("rules/{rule_file}")))
        .ok_or(Fail::NotFound)?;
    let name = crate::rules::edit::header_values(text)
        .ok()
        .and_then(|h| h.department.get("name").cloned())
        .unwrap_or_else(|| dept.to_string());
    Ok(DepartmentFiles {
        id: dept.to_string(),
        name,
        rule_file,
        files: Draft::new(),
    })
}

/// The newest change of `dept` by `actor` that is still theirs to edit (a draft, or returned).
fn own_open_change(
    store: &dyn crate::store::ConsoleStore,
    actor: &str,
    dept: &str,
) -> Result<Option<RuleChangeRow>, Fail> {
    let all = rule_changes::list(store).map_err(|e| Fail::of(&e))?;
    Ok(all.into_iter().find(|c| {
        c.department == dept
            && c.author == actor
            && c.kind == "edit"
            && matches!(c.state.as_str(), "draft" | "returned")
    }))
}

/// The draft's files that differ from the latest approved files of the department.
fn changed(working: &Working, draft: &Draft) -> Draft {
    draft
        .iter()
        .filter(|(name, text)| working.approved.get(*name) != Some(*text))
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect()
}

/// The year a check and a preview describe: the one asked for (`year`), else the current one
/// (the nearest the holiday calendar has).
fn year(app: &App, loaded: &Loaded, pairs: &[(String, String)]) -> i32 {
    let asked = pairs
        .iter()
        .find(|(k, _)| k == "year")
        .and_then(|(_, v)| v.trim().parse().ok());
    let now = chrono::Datelike::year(&app.now());
    rule_edit::year_for(loaded, asked.unwrap_or(now))
}

// ---------------------------------------------------------------- the list of departments

pub(crate) struct DeptLine {
    pub id: String,
    pub name: String,
    /// Retired (`[department] retired = true`).
    pub retired: bool,
    /// Each matter's id within the department, name, and whether it is retired.
    pub matters: Vec<(String, String, bool)>,
    /// A department the editor's draft adds (not approved yet).
    pub draft: bool,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct Index {
    viewer: Viewer,
    departments: Vec<DeptLine>,
}

pub(crate) async fn index(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::EditRules)?;
    let config = app.config();
    let user = viewer.user.clone();
    let store_app = app.clone();
    let departments = blocking(move || {
        let loaded = crate::jobs::load_rules(&config).map_err(|e| Fail::of(&e))?;
        let store = store_app.store(Some(&user))?;
        let added = new_departments(&*store, &user.actor(), &loaded)?;
        let mut lines: Vec<DeptLine> = loaded
            .model
            .departments
            .iter()
            .filter(|d| user.sees(&d.id))
            .map(|d| DeptLine {
                id: d.id.clone(),
                name: d.name.clone(),
                retired: d.retired,
                matters: d
                    .matters
                    .iter()
                    .map(|m| {
                        let short = m.id.rsplit('.').next().unwrap_or(&m.id).to_string();
                        (short, m.name.clone(), m.retired)
                    })
                    .collect(),
                draft: false,
            })
            .collect();
        lines.extend(added);
        Ok(lines)
    })
    .await?;
    render(&Index {
        viewer,
        departments,
    })
}

/// The departments the editor's open changes add (new rule files of departments the approved
/// rules do not have).
fn new_departments(
    store: &dyn crate::store::ConsoleStore,
    actor: &str,
    loaded: &Loaded,
) -> Result<Vec<DeptLine>, Fail> {
    let all = rule_changes::list(store).map_err(|e| Fail::of(&e))?;
    let mut out: Vec<DeptLine> = Vec::new();
    for c in all.iter().filter(|c| {
        c.author == actor
            && c.kind == "edit"
            && matches!(c.state.as_str(), "draft" | "returned")
            && loaded.model.department(&c.department).is_none()
    }) {
        let Some(text) = c.files.get(&format!("rules/{}.toml", c.department)) else {
            continue;
        };
        if out.iter().any(|d| d.id == c.department) {
            continue;
        }
        let name = crate::rules::edit::header_values(text)
            .ok()
            .and_then(|h| h.department.get("name").cloned())
            .unwrap_or_else(|| c.department.clone());
        out.push(DeptLine {
            id: c.department.clone(),
            name,
            retired: false,
            matters: crate::rules::edit::matter_list(text),
            draft: true,
        });
    }
    Ok(out)
}

/// The form of 新增部门.
#[derive(serde::Deserialize)]
pub(crate) struct NewDepartment {
    new_id: String,
    new_name: String,
}

/// 新增部门: a draft change that adds `rules/<id>.toml` with the department's header; the
/// editor adds its matters next (on its pages, as for any department) and submits it.
pub(crate) async fn add_department(
    State(app): State<App>,
    viewer: Viewer,
    axum::Form(form): axum::Form<NewDepartment>,
) -> Result<Response, Fail> {
    viewer.may(Action::EditRules)?;
    let id = form.new_id.trim().to_string();
    let name = form.new_name.trim().to_string();
    let valid = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid || name.is_empty() {
        return Err(Fail::Invalid(
            "部门编号须为小写字母、数字、- 或 _，名称不能为空。".into(),
        ));
    }
    if !viewer.user.sees(&id) {
        return Err(Fail::Invalid("只限本部门的账号不能新增部门。".into()));
    }
    let (app2, user) = (app.clone(), viewer.user.clone());
    let dept = id.clone();
    blocking(move || {
        let loaded = crate::jobs::load_rules(&app2.config()).map_err(|e| Fail::of(&e))?;
        let path = format!("rules/{dept}.toml");
        let cfg = &loaded.model.config;
        let mut store = app2.store(Some(&user))?;
        let who = Who {
            actor: user.actor(),
            at: app2.stamp(),
        };
        let base = base_of(&mut *store, cfg, &who, None)?;
        let version = rule_changes::version_of_hash(&*store, &base)
            .map_err(|e| Fail::of(&e))?
            .ok_or_else(|| Fail::Failed("没有已批准的规则版本。".into()))?;
        if loaded.model.department(&dept).is_some() || version.files.contains_key(&path) {
            return Err(Fail::Invalid(format!("部门编号 {dept} 已存在。")));
        }
        let draft = rule_changes::Draft {
            id: None,
            department: dept.clone(),
            files: [(path, crate::rules::edit::new_department(&dept, &name))].into(),
            removed: Vec::new(),
            base_hash: base,
        };
        rule_changes::save_draft(&mut *store, &draft, &who).map_err(|e| Fail::of(&e))?;
        Ok(())
    })
    .await?;
    Ok(axum::response::Redirect::to(&format!("/rules/{id}")).into_response())
}

// ---------------------------------------------------------------- the matter form

/// One field of the matter form, drawn from the schema.
pub(crate) struct Field {
    pub name: String,
    pub label: &'static str,
    pub help: &'static str,
    /// text, long, int, list, map, choice, bool
    pub kind: &'static str,
    pub value: String,
    /// What applies when the field is left empty (the department's default or the engine's).
    pub default: String,
    pub choices: &'static [&'static str],
    /// The value written is none of the choices (e.g. 每半年): kept as a choice of its own.
    pub other_choice: bool,
    /// The heading of the table the key belongs to, on its first key.
    pub heading: &'static str,
    pub notes: Vec<Note>,
    /// The form name's prefix: `f_` for a matter's keys (and `[defaults]`), `d_` for the
    /// department's.
    pub prefix: &'static str,
    /// Where `default` comes from, in words (部门默认值, 系统默认值).
    pub default_from: &'static str,
}

#[derive(Template)]
#[template(path = "rule_matter.html")]
struct MatterPage {
    viewer: Viewer,
    dept: String,
    dept_name: String,
    matter: String,
    matter_name: String,
    fields: Vec<Field>,
    checklist: Vec<ChecklistRow>,
    problem: Option<String>,
    check: Option<CheckView>,
    preview: Option<PreviewView>,
    /// The draft's changed files (name, text), to carry on to the next step.
    draft: Vec<(String, String)>,
    base: String,
    open: Option<OpenView>,
    saved: Option<Saved>,
}

impl Field {
    /// Is the value written `choice`?
    pub fn is(&self, choice: &str) -> bool {
        self.value == choice
    }

    /// A value of a choice field as staff say it.
    pub fn name_of<'a>(&self, choice: &'a str) -> &'a str {
        super::names::choice(choice)
    }

    /// What applies when the field is left empty, as staff say it.
    pub fn default_name(&self) -> &str {
        super::names::choice(&self.default)
    }

    /// The rows a text area shows: every line of the value and one more to type in (at least
    /// 3 for a long text, 2 for a list or map; at most 12, then it scrolls).
    pub fn rows(&self) -> usize {
        let least = if self.kind == "long" { 3 } else { 2 };
        (self.value.lines().count() + 1).clamp(least, 12)
    }

    /// The label, what a rule file spells literally marked (`true`) to show as such.
    pub fn label_runs(&self) -> Vec<(bool, String)> {
        super::names::literal_runs(self.label)
    }

    /// The line of help, likewise; none for a choice field, whose values the drop-down names.
    pub fn help_runs(&self) -> Vec<(bool, String)> {
        if self.kind == "choice" {
            return Vec::new();
        }
        super::names::literal_runs(self.help)
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::LongText => "long",
        Kind::Integer { .. } => "int",
        Kind::Texts => "list",
        Kind::ClassMap | Kind::FrequencyMap => "map",
        Kind::Choice(_) => "choice",
        Kind::Bool => "bool",
        _ => "text",
    }
}

/// The form's fields with `values`; `defaults` are the department's `[defaults]`.
fn fields(values: &MatterValues, defaults: &MatterValues) -> Vec<Field> {
    fields_of(form_keys(), "f_", &values.values, &defaults.values)
}

/// The fields of `keys` (form names) with `values`, named with `prefix`; a key empty in
/// `defaults` shows the engine's default.
fn fields_of(
    keys: Vec<(String, &'static crate::rules::schema::Key)>,
    prefix: &'static str,
    values: &std::collections::BTreeMap<String, String>,
    defaults: &std::collections::BTreeMap<String, String>,
) -> Vec<Field> {
    let mut last_table = String::new();
    keys.into_iter()
        .map(|(name, key)| {
            let table = name.split_once('.').map_or("", |(t, _)| t).to_string();
            let heading = if table != last_table && !table.is_empty() {
                crate::rules::schema::get(crate::rules::schema::Section::Matter, &table)
                    .map_or("", |k| k.label)
            } else if name == "retired" {
                "停用"
            } else {
                ""
            };
            last_table = table;
            let value = values.get(&name).cloned().unwrap_or_default();
            let choices: &'static [&'static str] = match key.kind {
                Kind::Choice(c) => c,
                _ => &[],
            };
            Field {
                other_choice: !choices.is_empty()
                    && !value.is_empty()
                    && !choices.contains(&value.as_str()),
                choices,
                label: key.label,
                help: key.help,
                kind: kind_name(key.kind),
                value,
                default_from: if defaults.contains_key(&name) {
                    "部门默认值"
                } else {
                    "系统默认值"
                },
                default: defaults
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| key.default.to_string()),
                heading,
                notes: Vec::new(),
                prefix,
                name,
            }
        })
        .collect()
}

/// The values of `keys` a posted form holds (form names with `prefix`).
fn posted_values(
    pairs: &[(String, String)],
    keys: Vec<(String, &'static crate::rules::schema::Key)>,
    prefix: &str,
) -> std::collections::BTreeMap<String, String> {
    let mut values = std::collections::BTreeMap::new();
    for (name, _) in keys {
        let field = format!("{prefix}{name}");
        if let Some((_, v)) = pairs.iter().rev().find(|(n, _)| *n == field) {
            values.insert(name, v.replace("\r\n", "\n"));
        }
    }
    values
}

/// The values a posted form holds.
fn posted(pairs: &[(String, String)]) -> MatterValues {
    let get = |k: &str| {
        pairs
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let values = posted_values(pairs, form_keys(), "f_");
    let mut rows: Vec<(f64, usize, ChecklistRow)> = Vec::new();
    for n in 0..pairs.len() {
        let field = |f: &str| get(&format!("c{n}_{f}"));
        let (Some(id), Some(text)) = (field("id"), field("text")) else {
            continue;
        };
        if field("remove").is_some() {
            continue;
        }
        let order = field("order")
            .and_then(|o| o.trim().parse::<f64>().ok())
            .unwrap_or(n as f64 + 1.0);
        let row = ChecklistRow {
            id: id.trim().to_string(),
            group: field("group").unwrap_or_default().trim().to_string(),
            text: text.trim().to_string(),
        };
        if !(row.id.is_empty() && row.text.is_empty()) {
            rows.push((order, n, row));
        }
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    MatterValues {
        values,
        checklist: rows.into_iter().map(|r| r.2).collect(),
    }
}

/// The name of matter `matter` of `dept`: as approved, or as the editor's draft adds it.
fn matter_of(
    loaded: &Loaded,
    files: &DepartmentFiles,
    dept: &str,
    matter: &str,
) -> Result<String, Fail> {
    if let Some(m) = loaded.model.matter(&format!("{dept}.{matter}")) {
        return Ok(m.name.clone());
    }
    let text = files.files.get(&files.rule_file).ok_or(Fail::NotFound)?;
    crate::rules::edit::matter_list(text)
        .into_iter()
        .find(|(id, _, _)| id == matter)
        .map(|(id, name, _)| if name.is_empty() { id } else { name })
        .ok_or(Fail::NotFound)
}

fn edit_fail(e: rule_edit::EditJobError) -> Fail {
    match e {
        rule_edit::EditJobError::NoMatter(_) | rule_edit::EditJobError::NoDepartment(_) => {
            Fail::NotFound
        }
        rule_edit::EditJobError::Edit(e) => Fail::Invalid(e.to_string()),
        other => Fail::Failed(other.to_string()),
    }
}

pub(crate) async fn matter_form(
    State(app): State<App>,
    viewer: Viewer,
    Path((dept, matter)): Path<(String, String)>,
) -> Result<Response, Fail> {
    let (loaded, files, working) = department(&app, &viewer, &dept)?;
    let matter_name = matter_of(&loaded, &files, &dept, &matter)?;
    let text = files
        .files
        .get(&files.rule_file)
        .cloned()
        .unwrap_or_default();
    let values = rule_edit::matter_values(&text, &matter).map_err(edit_fail)?;
    let defaults = crate::rules::edit::defaults_values(&text).unwrap_or_default();
    render(&MatterPage {
        fields: fields(&values, &defaults),
        checklist: values.checklist,
        dept_name: files.name.clone(),
        dept,
        matter,
        matter_name,
        problem: None,
        check: None,
        preview: None,
        draft: changed(&working, &files.files).into_iter().collect(),
        base: working.base.clone(),
        open: working.open.as_ref().map(open_view),
        saved: None,
        viewer,
    })
}

pub(crate) async fn matter_post(
    State(app): State<App>,
    viewer: Viewer,
    Path((dept, matter)): Path<(String, String)>,
    axum::Form(pairs): Pairs,
) -> Result<Response, Fail> {
    let (loaded, files, working) = department(&app, &viewer, &dept)?;
    let matter_name = matter_of(&loaded, &files, &dept, &matter)?;
    let text = files
        .files
        .get(&files.rule_file)
        .cloned()
        .unwrap_or_default();
    let values = posted(&pairs);
    let defaults = crate::rules::edit::defaults_values(&text).unwrap_or_default();
    let mut page = MatterPage {
        fields: fields(&values, &defaults),
        checklist: values.checklist.clone(),
        dept_name: files.name.clone(),
        dept: dept.clone(),
        matter: matter.clone(),
        matter_name,
        problem: None,
        check: None,
        preview: None,
        draft: Vec::new(),
        base: working.base.clone(),
        open: working.open.as_ref().map(open_view),
        saved: None,
        viewer,
    };
    let new_text = match rule_edit::apply(&text, &matter, &values) {
        Ok(t) => t,
        Err(e) if Live::asked(&pairs).is_some() => return problem_fragment(&e.to_string()),
        Err(e) => {
            page.problem = Some(e.to_string());
            return render(&page);
        }
    };
    let mut draft = files.files.clone();
    draft.insert(files.rule_file.clone(), new_text);
    if let Some(live) = Live::asked(&pairs) {
        return live_answer(&app, loaded, &working, draft, &pairs, live).await;
    }
    let done = run_form(&app, &page.viewer, &dept, loaded, &working, &pairs, draft).await?;
    let shown = format!("rules/{}", files.rule_file);
    attach(
        &mut page.fields,
        &done.checked,
        (&shown, &text_of(&done.checked, &files)),
    );
    page.check = Some(done.check);
    page.preview = done.preview;
    page.draft = done.draft;
    if let Some(saved) = done.saved {
        page.open = saved.open.as_ref().map(open_view);
        page.saved = Some(saved);
    }
    render(&page)
}

/// What a form's check, preview and save step gave.
struct Outcome {
    checked: (Checked, Draft),
    check: CheckView,
    preview: Option<PreviewView>,
    /// The draft's files that differ from the approved ones.
    draft: Vec<(String, String)>,
    saved: Option<Saved>,
}

/// Checks `draft` (the department's files with the form's edit), previews it when asked, and
/// saves or submits it when asked.
async fn run_form(
    app: &App,
    viewer: &Viewer,
    dept: &str,
    loaded: Loaded,
    working: &Working,
    pairs: &[(String, String)],
    draft: Draft,
) -> Result<Outcome, Fail> {
    let wants_preview = pairs.iter().any(|(k, v)| k == "action" && v == "preview");
    let config = app.config();
    let year = year(app, &loaded, pairs);
    let base = working.dir.clone();
    let held = app.clone();
    let (checked, preview) = blocking(move || {
        check_and_preview(
            (&config, base.as_deref(), held.facts()),
            &loaded,
            &draft,
            year,
            wants_preview,
        )
    })
    .await?;
    let saved = match Step::asked(pairs) {
        Some(step) => Some(save(app, viewer, dept, working, pairs, &checked.1, step).await?),
        None => None,
    };
    Ok(Outcome {
        check: check_view(&checked.0, &checked.1, false),
        draft: changed(working, &checked.1).into_iter().collect(),
        checked,
        preview,
        saved,
    })
}

/// What the form's script asks for as the user types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Live {
    /// The check fragment.
    Check,
    /// The effect fragment (after a clean check).
    Effect,
}

impl Live {
    fn asked(pairs: &[(String, String)]) -> Option<Live> {
        match pairs.iter().find(|(k, _)| k == "live")?.1.as_str() {
            "check" => Some(Live::Check),
            "effect" => Some(Live::Effect),
            _ => None,
        }
    }
}

/// The live check of `draft` (or its effect, once it checks) as the fragment the page's
/// script puts in place.
async fn live_answer(
    app: &App,
    loaded: Loaded,
    working: &Working,
    draft: Draft,
    pairs: &[(String, String)],
    live: Live,
) -> Result<Response, Fail> {
    let config = app.config();
    let year = year(app, &loaded, pairs);
    let base = working.dir.clone();
    let app = app.clone();
    let html = blocking(move || {
        let keeper = app.facts();
        let (checked, new) = rule_edit::check_kept(&config, base.as_deref(), &draft, year, keeper);
        let rendered = match live {
            Live::Check => CheckFragment {
                check: check_view(&checked, &draft, false),
            }
            .render(),
            Live::Effect => {
                let effect = match (checked.ok(), new) {
                    (true, Some(new)) => Some(
                        rule_edit::preview(&loaded, &new, year, keeper)
                            .map(|p| preview_view(&p))
                            .map_err(|e| Fail::of(&e))?,
                    ),
                    _ => None,
                };
                EffectFragment { effect }.render()
            }
        };
        rendered.map_err(|e| Fail::Failed(format!("页面生成失败：{e}")))
    })
    .await?;
    Ok(Html(html).into_response())
}

/// A form whose values cannot be written (a class line without `=`), as the live check
/// shows it.
fn problem_fragment(problem: &str) -> Result<Response, Fail> {
    let check = CheckView {
        ok: false,
        errors: 1,
        warnings: 0,
        loose: vec![Note {
            level: "bad",
            place: String::new(),
            message: problem.to_string(),
            help: Vec::new(),
        }],
        listings: Vec::new(),
        hash: String::new(),
    };
    let html = CheckFragment { check }
        .render()
        .map_err(|e| Fail::Failed(format!("页面生成失败：{e}")))?;
    Ok(Html(html).into_response())
}

// ---------------------------------------------------------------- the department form

#[derive(Template)]
#[template(path = "rule_header.html")]
struct HeaderPage {
    viewer: Viewer,
    dept: String,
    dept_name: String,
    fields: Vec<Field>,
    problem: Option<String>,
    check: Option<CheckView>,
    preview: Option<PreviewView>,
    draft: Vec<(String, String)>,
    base: String,
    open: Option<OpenView>,
    saved: Option<Saved>,
}

/// The department form's fields: `[department]`'s keys, then `[defaults]`'s.
fn header_fields(values: &HeaderValues) -> Vec<Field> {
    use crate::rules::edit::{defaults_keys, header_keys};
    let none = std::collections::BTreeMap::new();
    let mut out = fields_of(header_keys(), "d_", &values.department, &none);
    if let Some(first) = out.first_mut() {
        first.heading = "部门";
    }
    let mut defaults = fields_of(defaults_keys(), "f_", &values.defaults, &none);
    if let Some(first) = defaults.first_mut() {
        first.heading = "各事项默认值（[defaults]，事项未写时沿用）";
    }
    out.extend(defaults);
    out
}

pub(crate) async fn header_form(
    State(app): State<App>,
    viewer: Viewer,
    Path(dept): Path<String>,
) -> Result<Response, Fail> {
    let (_, files, working) = department(&app, &viewer, &dept)?;
    let text = files
        .files
        .get(&files.rule_file)
        .cloned()
        .unwrap_or_default();
    let values =
        crate::rules::edit::header_values(&text).map_err(|e| Fail::Invalid(e.to_string()))?;
    render(&HeaderPage {
        fields: header_fields(&values),
        dept_name: files.name.clone(),
        dept,
        problem: None,
        check: None,
        preview: None,
        draft: changed(&working, &files.files).into_iter().collect(),
        base: working.base.clone(),
        open: working.open.as_ref().map(open_view),
        saved: None,
        viewer,
    })
}

pub(crate) async fn header_post(
    State(app): State<App>,
    viewer: Viewer,
    Path(dept): Path<String>,
    axum::Form(pairs): Pairs,
) -> Result<Response, Fail> {
    use crate::rules::edit::{defaults_keys, header_keys};
    let (loaded, files, working) = department(&app, &viewer, &dept)?;
    let text = files
        .files
        .get(&files.rule_file)
        .cloned()
        .unwrap_or_default();
    let values = HeaderValues {
        department: posted_values(&pairs, header_keys(), "d_"),
        defaults: posted_values(&pairs, defaults_keys(), "f_"),
    };
    let mut page = HeaderPage {
        fields: header_fields(&values),
        dept_name: files.name.clone(),
        dept: dept.clone(),
        problem: None,
        check: None,
        preview: None,
        draft: Vec::new(),
        base: working.base.clone(),
        open: working.open.as_ref().map(open_view),
        saved: None,
        viewer,
    };
    let new_text = match crate::rules::edit::apply_header(&text, &values) {
        Ok(t) => t,
        Err(e) if Live::asked(&pairs).is_some() => return problem_fragment(&e.to_string()),
        Err(e) => {
            page.problem = Some(e.to_string());
            return render(&page);
        }
    };
    let mut draft = files.files.clone();
    draft.insert(files.rule_file.clone(), new_text);
    if let Some(live) = Live::asked(&pairs) {
        return live_answer(&app, loaded, &working, draft, &pairs, live).await;
    }
    let done = run_form(&app, &page.viewer, &dept, loaded, &working, &pairs, draft).await?;
    let shown = format!("rules/{}", files.rule_file);
    attach(
        &mut page.fields,
        &done.checked,
        (&shown, &text_of(&done.checked, &files)),
    );
    page.check = Some(done.check);
    page.preview = done.preview;
    page.draft = done.draft;
    if let Some(saved) = done.saved {
        page.open = saved.open.as_ref().map(open_view);
        page.saved = Some(saved);
    }
    render(&page)
}

fn text_of(checked: &(Checked, Draft), files: &DepartmentFiles) -> String {
    checked.1.get(&files.rule_file).cloned().unwrap_or_default()
}

/// Checks a draft and, when asked and the draft has no error, previews it.
fn check_and_preview(
    (config, base, keeper): (&std::path::Path, Option<&std::path::Path>, &Keeper),
    loaded: &Loaded,
    draft: &Draft,
    year: i32,
    wants_preview: bool,
) -> Result<((Checked, Draft), Option<PreviewView>), Fail> {
    let (checked, new) = rule_edit::check_kept(config, base, draft, year, keeper);
    let preview = match (&new, wants_preview && checked.ok()) {
        (Some(new), true) => Some(
            rule_edit::preview(loaded, new, year, keeper)
                .map(|p| preview_view(&p))
                .map_err(|e| Fail::of(&e))?,
        ),
        _ => None,
    };
    Ok(((checked, draft.clone()), preview))
}

/// Puts each finding at the line of a key on the form's field of that key.
fn attach(fields: &mut [Field], checked: &(Checked, Draft), (file, text): (&str, &str)) {
    let lines: Vec<&str> = text.lines().collect();
    for f in checked
        .0
        .findings
        .iter()
        .filter(|f| f.file.as_deref() == Some(file))
    {
        let Some(line) = f.line.and_then(|l| lines.get(l.wrapping_sub(1))) else {
            continue;
        };
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if let Some(field) = fields
            .iter_mut()
            .find(|x| x.name == key || x.name.ends_with(&format!(".{key}")))
        {
            field.notes.push(note(f));
        }
    }
}

// ---------------------------------------------------------------- the advanced tab

#[derive(Template)]
#[template(path = "rule_department.html")]
struct DepartmentPage {
    viewer: Viewer,
    dept: String,
    dept_name: String,
    files: Vec<(String, String)>,
    check: Option<CheckView>,
    preview: Option<PreviewView>,
    problem: Option<String>,
    draft: Vec<(String, String)>,
    base: String,
    open: Option<OpenView>,
    saved: Option<Saved>,
}

pub(crate) async fn department_page(
    State(app): State<App>,
    viewer: Viewer,
    Path(dept): Path<String>,
) -> Result<Response, Fail> {
    let (_, files, working) = department(&app, &viewer, &dept)?;
    render(&DepartmentPage {
        dept,
        dept_name: files.name.clone(),
        draft: changed(&working, &files.files).into_iter().collect(),
        files: files.files.into_iter().collect(),
        check: None,
        preview: None,
        problem: None,
        base: working.base.clone(),
        open: working.open.as_ref().map(open_view),
        saved: None,
        viewer,
    })
}

/// The files a form posted (`file:<name>` fields), limited to the department's own files.
fn posted_files(pairs: &[(String, String)], files: &DepartmentFiles) -> Result<Draft, Fail> {
    let mut draft = files.files.clone();
    for (k, v) in pairs {
        if let Some(name) = k.strip_prefix("file:") {
            if !files.files.contains_key(name) {
                return Err(Fail::Invalid(format!(
                    "{name} 不是本部门的规则文件或脚本，未作任何更改。"
                )));
            }
            draft.insert(name.to_string(), v.replace("\r\n", "\n"));
        }
    }
    Ok(draft)
}

pub(crate) async fn department_post(
    State(app): State<App>,
    viewer: Viewer,
    Path(dept): Path<String>,
    axum::Form(pairs): Pairs,
) -> Result<Response, Fail> {
    let (loaded, files, working) = department(&app, &viewer, &dept)?;
    let mut draft = posted_files(&pairs, &files)?;
    let field = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
    };
    let mut problem = None;
    if field("action").as_deref() == Some("add_matter") {
        let text = draft.get(&files.rule_file).cloned().unwrap_or_default();
        let id = field("new_id").unwrap_or_default();
        let name = field("new_name").unwrap_or_default();
        match rule_edit::add_matter(&text, &id, &name) {
            Ok(t) => {
                draft.insert(files.rule_file.clone(), t);
            }
            Err(e) => problem = Some(e.to_string()),
        }
    }
    let wants_preview = field("action").as_deref() == Some("preview");
    let config = app.config();
    let year = year(&app, &loaded, &pairs);
    let base = working.dir.clone();
    let held = app.clone();
    let (checked, preview) = blocking(move || {
        check_and_preview(
            (&config, base.as_deref(), held.facts()),
            &loaded,
            &draft,
            year,
            wants_preview,
        )
    })
    .await?;
    let saved = match Step::asked(&pairs) {
        Some(step) => Some(save(&app, &viewer, &dept, &working, &pairs, &checked.1, step).await?),
        None => None,
    };
    render(&DepartmentPage {
        dept: dept.clone(),
        dept_name: files.name.clone(),
        check: Some(check_view(&checked.0, &checked.1, false)),
        files: checked.1.clone().into_iter().collect(),
        draft: changed(&working, &checked.1).into_iter().collect(),
        preview,
        problem,
        base: working.base.clone(),
        open: match &saved {
            Some(s) => s.open.as_ref().map(open_view),
            None => working.open.as_ref().map(open_view),
        },
        saved,
        viewer,
    })
}

/// The live check of the advanced tab: the department's files as typed → the check fragment.
pub(crate) async fn live_check(
    State(app): State<App>,
    viewer: Viewer,
    axum::Form(pairs): Pairs,
) -> Result<Response, Fail> {
    live_files(&app, &viewer, &pairs, Live::Check).await
}

/// The effect of the files as typed, once they check: for each matter whose settings change,
/// a dry-run draw before → after (eligible and drawn), and how many of the plan's lines and
/// the schedule's dates change. Asked by the page's script after a clean live check.
pub(crate) async fn live_effect(
    State(app): State<App>,
    viewer: Viewer,
    axum::Form(pairs): Pairs,
) -> Result<Response, Fail> {
    live_files(&app, &viewer, &pairs, Live::Effect).await
}

/// The advanced tab's posted files (`dept`, `file:<name>`) checked live.
async fn live_files(
    app: &App,
    viewer: &Viewer,
    pairs: &[(String, String)],
    live: Live,
) -> Result<Response, Fail> {
    let dept = pairs
        .iter()
        .find(|(k, _)| k == "dept")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let (loaded, files, working) = department(app, viewer, &dept)?;
    let draft = posted_files(pairs, &files)?;
    live_answer(app, loaded, &working, draft, pairs, live).await
}

/// The effect fragment the live check's script puts under the check.
#[derive(Template)]
#[template(path = "rule_effect.html")]
struct EffectFragment {
    effect: Option<PreviewView>,
}

pub(crate) async fn script() -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/javascript; charset=utf-8",
        )],
        include_str!("../../static/rules.js"),
    )
        .into_response()
}

// ---------------------------------------------------------------- the preview

pub(crate) struct DryRunLine {
    pub matter: String,
    pub period: String,
    pub before: String,
    pub after: String,
    pub strata: Vec<String>,
    pub staffing: String,
    pub warning: Option<String>,
    /// The change retires the matter.
    pub retired: bool,
}

pub(crate) struct PreviewView {
    pub year: i32,
    pub plan: Vec<(String, String)>,
    pub dates: Vec<(String, String, String, String)>,
    pub dry_runs: Vec<DryRunLine>,
}

fn counts_text(c: &rule_edit::Counts) -> String {
    format!("可抽取 {} 户，抽取 {} 户", c.eligible, c.drawn)
}

fn preview_view(p: &Preview) -> PreviewView {
    let dry_runs = p
        .dry_runs
        .iter()
        .map(|d| {
            let before = d
                .before
                .as_ref()
                .map_or_else(|| "（新事项）".into(), counts_text);
            match &d.after {
                rule_edit::After::Drawn(c) => DryRunLine {
                    matter: d.matter.clone(),
                    period: d.period.clone(),
                    before,
                    after: counts_text(c),
                    strata: c
                        .strata
                        .iter()
                        .map(|s| {
                            let name = if s.stratum.is_empty() {
                                "全部"
                            } else {
                                &s.stratum
                            };
                            format!("{name}：可抽取 {}，抽取 {}", s.eligible, s.drawn)
                        })
                        .collect(),
                    staffing: format!(
                        "需检查人次 {}（{} 户 × 每户人数），可派检查人员 {} 名，最多承担 {} 人次",
                        c.needed, c.drawn, c.inspectors, c.capacity
                    ),
                    warning: staffing_warning(c),
                    retired: false,
                },
                rule_edit::After::Failed(e) => DryRunLine {
                    matter: d.matter.clone(),
                    period: d.period.clone(),
                    before,
                    after: format!("试抽失败：{e}"),
                    strata: Vec::new(),
                    staffing: String::new(),
                    warning: None,
                    retired: false,
                },
                rule_edit::After::Retired => DryRunLine {
                    matter: d.matter.clone(),
                    period: d.period.clone(),
                    before,
                    after: "停用：不再列入计划、不再抽取（已有抽取记录和历史保留）".into(),
                    strata: Vec::new(),
                    staffing: String::new(),
                    warning: None,
                    retired: true,
                },
            }
        })
        .collect();
    PreviewView {
        year: p.year,
        plan: p
            .plan
            .iter()
            .map(|s| (s.old.clone(), s.new.clone()))
            .collect(),
        dates: p
            .dates
            .iter()
            .map(|d| {
                let old = d.old.clone().unwrap_or_else(|| "（无）".into());
                let new = d.new.clone().unwrap_or_else(|| "（无）".into());
                (d.matter.clone(), d.period.clone(), old, new)
            })
            .collect(),
        dry_runs,
    }
}

/// Says plainly when drawn targets would go without a team.
fn staffing_warning(c: &rule_edit::Counts) -> Option<String> {
    if c.unstaffed > 0 {
        Some(format!(
            "有 {} 户抽中后无检查组可派（人员不足、工作量上限或回避），这些对象本次无法检查。",
            c.unstaffed
        ))
    } else if c.needed > c.capacity {
        Some(format!(
            "所需检查人次 {} 超过可派人员的承担能力 {}，部分对象将无法派员。",
            c.needed, c.capacity
        ))
    } else {
        None
    }
}

// ---------------------------------------------------------------- drafts and submission

/// 保存草稿 or 提交审核, as the form's button asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Save,
    Submit,
}

impl Step {
    fn asked(pairs: &[(String, String)]) -> Option<Step> {
        match pairs.iter().rev().find(|(k, _)| k == "action")?.1.as_str() {
            "save" => Some(Step::Save),
            "submit" => Some(Step::Submit),
            _ => None,
        }
    }
}

/// The editor's own open change of the department, as the page names it.
pub(crate) struct OpenView {
    pub id: i64,
    /// 草稿 / 已退回
    pub state: &'static str,
    /// The approver's comment on a returned change.
    pub comment: Option<String>,
}

fn open_view(row: &RuleChangeRow) -> OpenView {
    OpenView {
        id: row.id,
        state: if row.state == "returned" {
            "已退回"
        } else {
            "草稿"
        },
        comment: row.comment.clone(),
    }
}

/// A file someone else changed since the change's base, with that diff (`-`/`+` lines).
pub(crate) struct ConflictNote {
    pub path: String,
    pub by: String,
    pub lines: Vec<(&'static str, String)>,
}

/// What saving or submitting did.
pub(crate) struct Saved {
    /// The change (`None`: nothing to save).
    pub change: Option<i64>,
    pub ok: bool,
    pub message: String,
    pub conflicts: Vec<ConflictNote>,
    /// The editor's open change after the step (none once submitted).
    pub open: Option<RuleChangeRow>,
}

fn conflict_note(c: &rule_changes::Conflict) -> ConflictNote {
    let lines = c
        .diff
        .lines
        .iter()
        .map(|l| match l {
            rule_changes::Line::Same(t) => ("same", format!("  {t}")),
            rule_changes::Line::Removed(t) => ("del", format!("- {t}")),
            rule_changes::Line::Added(t) => ("add", format!("+ {t}")),
            rule_changes::Line::Gap(n) => ("gap", format!("…（{n} 行未改动）")),
        })
        .collect();
    let by = match c.change {
        Some(id) => format!("变更 #{id}（{}，待审核）", super::names::actor(&c.by)),
        None => match c
            .by
            .strip_prefix("version ")
            .and_then(|v| v.split_once(" ("))
        {
            Some((v, author)) => format!(
                "已批准的第 {v} 版（{}）",
                super::names::actor(author.trim_end_matches(')'))
            ),
            None => c.by.clone(),
        },
    };
    ConflictNote {
        path: c.path.clone(),
        by,
        lines,
    }
}

/// Saves the draft's files that differ from the approved ones as the editor's change of
/// `dept` (a new one, or their open one), and submits it when asked. Nothing is written to
/// the rule files here: they change only when the change is approved
/// (`jobs::rule_changes`). Saving, submitting (and, under `approval = "none"`, the approval
/// that follows) are audited with the console user.
async fn save(
    app: &App,
    viewer: &Viewer,
    dept: &str,
    working: &Working,
    pairs: &[(String, String)],
    draft: &Draft,
    step: Step,
) -> Result<Saved, Fail> {
    let files: rule_changes::Files = changed(working, draft)
        .into_iter()
        .map(|(name, text)| (format!("rules/{name}"), text))
        .collect();
    let posted_base = pairs
        .iter()
        .find(|(k, _)| k == "base")
        .map(|(_, v)| v.trim().to_string());
    let (app, user) = (app.clone(), viewer.user.clone());
    let (dept, open) = (dept.to_string(), working.open.as_ref().map(|r| r.id));
    let base = match &working.open {
        Some(row) => Some(row.base_hash.clone()),
        None => posted_base,
    };
    blocking(move || {
        let loaded = crate::jobs::load_rules(&app.config()).map_err(|e| Fail::of(&e))?;
        let cfg = &loaded.model.config;
        let mut store = app.store(Some(&user))?;
        let who = Who {
            actor: user.actor(),
            at: app.stamp(),
        };
        if open.is_none() && files.is_empty() {
            return Ok(Saved {
                change: None,
                ok: false,
                message: "与现行规则相同，没有需要保存的修改。".into(),
                conflicts: Vec::new(),
                open: None,
            });
        }
        let base = base_of(&mut *store, cfg, &who, base)?;
        let draft = rule_changes::Draft {
            id: open,
            department: dept.clone(),
            files,
            removed: Vec::new(),
            base_hash: base,
        };
        let id = rule_changes::save_draft(&mut *store, &draft, &who).map_err(|e| Fail::of(&e))?;
        let mut saved = match step {
            Step::Save => Saved {
                change: Some(id),
                ok: true,
                message: format!(
                    "草稿已保存（变更 #{id}）。提交审核并经批准前，抽取仍使用现行规则。"
                ),
                conflicts: Vec::new(),
                open: None,
            },
            Step::Submit => submitted(&mut *store, cfg, id, &who, app.facts())?,
        };
        saved.open = own_open_change(&*store, &who.actor, &dept)?;
        Ok(saved)
    })
    .await
}

/// The version a change is based on: the one the editor started from when it is an approved
/// version, else the latest. With no version recorded yet (a console started before any
/// draw), the files on disk are adopted as version 1 first (`rules.adopt`).
fn base_of(
    store: &mut dyn crate::store::ConsoleStore,
    cfg: &crate::rules::model::Config,
    who: &Who,
    asked: Option<String>,
) -> Result<String, Fail> {
    if rule_changes::latest(store)
        .map_err(|e| Fail::of(&e))?
        .is_none()
    {
        rule_changes::adopt(store, cfg, who).map_err(|e| Fail::of(&e))?;
    }
    if let Some(hash) = asked
        && rule_changes::version_of_hash(store, &hash)
            .map_err(|e| Fail::of(&e))?
            .is_some()
    {
        return Ok(hash);
    }
    rule_changes::latest(store)
        .map_err(|e| Fail::of(&e))?
        .map(|v| v.rules_hash)
        .ok_or_else(|| Fail::Failed("没有已批准的规则版本。".into()))
}

/// Submits change `id`; what became of it, in words.
fn submitted(
    store: &mut dyn crate::store::ConsoleStore,
    cfg: &crate::rules::model::Config,
    id: i64,
    who: &Who,
    keeper: &Keeper,
) -> Result<Saved, Fail> {
    let said = |ok: bool, message: String| Saved {
        change: Some(id),
        ok,
        message,
        conflicts: Vec::new(),
        open: None,
    };
    Ok(match rule_changes::submit(store, cfg, id, who, keeper) {
        Ok(Submitted::Waiting) => said(
            true,
            format!("已提交审核（变更 #{id}），等待法制审核人员批准。批准前，抽取仍使用现行规则。"),
        ),
        Ok(Submitted::Approved(a)) => said(
            true,
            format!(
                "变更 #{id} 已生效（本系统不要求审核）：规则集第 {} 版，规则哈希 {}。",
                a.version,
                a.rules_hash.chars().take(12).collect::<String>()
            ),
        ),
        Err(ChangeError::Invalid(_)) => said(
            false,
            format!("草稿已保存（变更 #{id}），但检查发现错误，不能提交审核。请先改正下列问题。"),
        ),
        Err(ChangeError::Empty(_)) => said(
            false,
            format!("变更 #{id} 与其所依据的版本相同，没有可提交的修改。"),
        ),
        Err(ChangeError::Conflict { conflicts, .. }) => Saved {
            conflicts: conflicts.iter().map(conflict_note).collect(),
            ..said(
                false,
                format!(
                    "不能提交：在你开始编辑之后，下列文件已被他人修改（变更 #{id} 仍为草稿）。请对照差异，在最新版本上重新修改。"
                ),
            )
        },
        Err(e) => return Err(Fail::of(&e)),
    })
}
