//! 规则审核 and 规则历史: the changes waiting for approval, a change with its diff (file by
//! file, and key by key), approve or return with a comment; files changed outside the console;
//! every approved version, the diff between any two, and rollback (itself a change that needs
//! approval). The decisions are `jobs::rule_changes`; who may do what is `jobs::users`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use std::collections::{BTreeMap, BTreeSet};

use super::session::Viewer;
use super::{App, Fail, blocking, names, render};
use crate::jobs::rule_changes::{self, FileDiff, Line, Who};
use crate::jobs::users::{Action, User};
use crate::rules::model::Config;
use crate::store::{RuleChangeRow, RuleVersionRow};

/// What of the rule set a user sees. A user limited to one department sees its rule files
/// and the shared ones (the config, the holiday files), and the changes of its department,
/// as with its draws; the others' rule files and changes are not there for them.
struct Scope {
    user: User,
    /// For a user limited to one department, its rule files (`rules/<name>`): the only files
    /// they see (the shared config names every department's categories).
    own: Option<BTreeSet<String>>,
    /// Department id → its name, for the lists.
    names: BTreeMap<String, String>,
}

impl Scope {
    fn of(app: &App, user: &User) -> Result<Scope, Fail> {
        let loaded = app.rules()?;
        let mut own = BTreeSet::new();
        let mut names = BTreeMap::new();
        for d in &loaded.model.departments {
            names.insert(d.id.clone(), d.name.clone());
            let mut paths = vec![d.file.clone()];
            for m in &d.matters {
                for h in [&m.eligible, &m.weight, &m.conflict].into_iter().flatten() {
                    paths.push(h.script.path.clone());
                }
            }
            if !user.sees(&d.id) {
                continue;
            }
            for p in paths {
                if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
                    own.insert(format!("rules/{name}"));
                }
            }
        }
        Ok(Scope {
            user: user.clone(),
            own: user.department.as_ref().map(|_| own),
            names,
        })
    }

    fn sees_file(&self, path: &str) -> bool {
        self.own.as_ref().is_none_or(|own| own.contains(path))
    }

    /// Whether the user sees change `c`: one of their department, or (a rollback of the
    /// whole set, with no department) any user.
    fn sees_change(&self, c: &RuleChangeRow) -> bool {
        c.department.is_empty() || self.user.sees(&c.department)
    }

    /// Whether the user may decide on a change touching `paths` for the whole office: a user
    /// limited to one department may not approve or propose what touches other departments.
    fn covers(&self, paths: impl IntoIterator<Item = impl AsRef<str>>) -> bool {
        paths.into_iter().all(|p| self.sees_file(p.as_ref()))
    }

    fn diffs(&self, diffs: &[FileDiff]) -> Vec<DiffFile> {
        let seen: Vec<FileDiff> = diffs
            .iter()
            .filter(|d| self.sees_file(&d.path))
            .cloned()
            .collect();
        diff_files(&seen)
    }

    fn department_name(&self, id: &str) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

/// The config as it is on disk (what the approval settings say now).
fn config_now(app: &App) -> Result<Config, Fail> {
    crate::rules::load_config(&app.config())
        .map_err(|e| Fail::of(&crate::jobs::SetupError::Config(e)))
}

fn who(app: &App, viewer: &Viewer) -> Who {
    Who {
        actor: viewer.user.actor(),
        at: app.stamp(),
    }
}

/// One line of a diff as shown: its class (`same`, `del`, `add`, `gap`) and text.
pub(crate) struct DiffLine {
    pub class: &'static str,
    pub mark: &'static str,
    pub text: String,
}

/// One file of a diff as shown.
pub(crate) struct DiffFile {
    pub path: String,
    /// 新增 / 删除 / 修改.
    pub what: &'static str,
    pub lines: Vec<DiffLine>,
    /// Key by key (rule and holiday files that are TOML on both sides).
    pub keys: Vec<KeyLine>,
}

pub(crate) struct KeyLine {
    /// Where, in words: 部门, 默认值, 事项“…” (by its name), 抽查内容 N.
    pub place: String,
    /// The key's Chinese label from the rule schema (empty when the schema has none).
    pub label: &'static str,
    pub key: String,
    pub old: String,
    pub new: String,
}

/// A file diff as the templates show it (`templates/rule_diff.html`).
pub(crate) fn diff_files(diffs: &[FileDiff]) -> Vec<DiffFile> {
    diffs
        .iter()
        .map(|d| {
            let what = match (&d.old, &d.new) {
                (None, _) => "新增",
                (_, None) => "删除",
                _ => "修改",
            };
            let keys = match (&d.old, &d.new) {
                (Some(o), Some(n)) if d.path.ends_with(".toml") => {
                    let names = crate::rules::changes::matter_names(o, n);
                    crate::rules::changes::changed_keys(o, n)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|k| KeyLine {
                            label: key_label(&k.place, &k.key),
                            place: place_name(&k.place, &names),
                            old: in_words(
                                &k.key,
                                k.old.unwrap_or_else(|| {
                                    absent(o, (&k.place, &k.key), "（无）", "未写")
                                }),
                            ),
                            new: in_words(
                                &k.key,
                                k.new.unwrap_or_else(|| {
                                    absent(n, (&k.place, &k.key), "（删除）", "删去")
                                }),
                            ),
                            key: k.key,
                        })
                        .collect()
                }
                _ => Vec::new(),
            };
            let lines = d
                .lines
                .iter()
                .map(|l| match l {
                    Line::Same(t) => DiffLine {
                        class: "same",
                        mark: " ",
                        text: t.clone(),
                    },
                    Line::Removed(t) => DiffLine {
                        class: "del",
                        mark: "-",
                        text: t.clone(),
                    },
                    Line::Added(t) => DiffLine {
                        class: "add",
                        mark: "+",
                        text: t.clone(),
                    },
                    Line::Gap(_) => DiffLine {
                        class: "gap",
                        mark: "…",
                        text: String::new(),
                    },
                })
                .collect();
            DiffFile {
                path: d.path.clone(),
                what,
                lines,
                keys,
            }
        })
        .collect()
}

/// What an empty side of a key change shows: a whole item that is not there (`whole`), or a
/// key not written (`how`: 未写 or 删去) with the value that applies instead, from the
/// department's defaults or the engine's, read from that side's file `text`.
fn absent(text: &str, (place, key): (&str, &str), whole: &str, how: &str) -> String {
    use crate::rules::changes::{Source, WHOLE, inherited};
    if key == WHOLE {
        return whole.into();
    }
    match inherited(text, place, key) {
        Some((value, Source::Department)) => format!("（{how}，沿用部门默认值 {value}）"),
        Some((value, Source::Engine)) => format!("（{how}，沿用系统默认值 {value}）"),
        None => format!("（{how}，不适用）"),
    }
}

/// A place of `rules::changes` (`matter hotel · checklist 2`) in words.
fn place_name(place: &str, names: &BTreeMap<String, String>) -> String {
    place
        .split(" · ")
        .map(|part| match part.split_once(' ') {
            Some(("matter", id)) => match names.get(id) {
                Some(name) => format!("事项“{name}”"),
                None => format!("事项 {id}"),
            },
            Some(("checklist", n)) => format!("抽查内容 {n}"),
            _ => match part {
                "department" => "部门".into(),
                "defaults" => "默认值".into(),
                "—" => "文件".into(),
                other => other.to_string(),
            },
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A value of 分类频次 (`class_frequency`, or one class of it) as staff say it: each
/// frequency word the rule file writes (`"biennial"`) in the plan's Chinese (每两年 1 次).
/// Other keys' values as written.
fn in_words(key: &str, text: String) -> String {
    use crate::rules::model::ClassFrequency;
    if key != "class_frequency" && !key.starts_with("class_frequency.") {
        return text;
    }
    ClassFrequency::NAMES
        .iter()
        .filter_map(|w| Some((w, ClassFrequency::parse(w)?)))
        .fold(text, |t, (w, f)| {
            t.replace(&format!("\"{w}\""), f.words_zh())
        })
}

/// The Chinese label the rule schema gives `key` (`holiday.ratio`) at `place`; one class of a
/// class map (`class_frequency.A`) has the map's.
fn key_label(place: &str, key: &str) -> &'static str {
    use crate::rules::schema::{Section, get};
    let (section, name) = match key.split_once('.') {
        Some((map @ ("class_frequency" | "class_ratios"), _)) => (Section::Matter, map),
        Some(("holiday", k)) => (Section::Holiday, k),
        Some(("publication", k)) => (Section::Publication, k),
        Some(("hooks", k)) => (Section::Hooks, k),
        Some(("seed", k)) => (Section::Seed, k),
        _ if place.contains("checklist ") => (Section::Checklist, key),
        _ if place.starts_with("department") => (Section::Department, key),
        _ => (Section::Matter, key),
    };
    get(section, name).map_or("", |k| k.label)
}

fn state_name(state: &str) -> &'static str {
    match state {
        "draft" => "草稿",
        "submitted" => "待审核",
        "approved" => "已批准",
        "returned" => "已退回",
        _ => "未知",
    }
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "adopted" => "首次启动采用",
        "edit" => "控制台修改",
        "outside" => "控制台以外的修改",
        "rollback" => "回退",
        _ => "未知",
    }
}

fn who_name(actor: &str) -> String {
    if actor == rule_changes::OUTSIDE {
        "（控制台以外）".into()
    } else {
        names::actor(actor)
    }
}

fn at_name(at: &str) -> String {
    at.replace('T', " ").chars().take(19).collect()
}

/// A change as listed.
pub(crate) struct ChangeLine {
    pub id: i64,
    pub what: String,
    pub files: String,
    pub author: String,
    pub at: String,
    pub state: &'static str,
}

fn change_line(scope: &Scope, c: &RuleChangeRow) -> ChangeLine {
    ChangeLine {
        id: c.id,
        what: match (c.kind.as_str(), c.rollback_of) {
            ("rollback", Some(v)) => format!("回退到第 {v} 版"),
            _ => scope.department_name(&c.department),
        },
        files: c
            .files
            .keys()
            .chain(c.removed.iter())
            .filter(|p| scope.sees_file(p))
            .cloned()
            .collect::<Vec<_>>()
            .join("、"),
        author: who_name(&c.author),
        at: at_name(c.submitted_at.as_deref().unwrap_or(&c.updated_at)),
        state: state_name(&c.state),
    }
}

#[derive(Template)]
#[template(path = "rule_review.html")]
struct Review {
    viewer: Viewer,
    pending: Vec<ChangeLine>,
    recent: Vec<ChangeLine>,
    /// Files changed outside the console (not used until approved).
    outside: Vec<String>,
    latest: Option<(i64, String)>,
}

/// 待审核: the submitted changes, files changed outside the console, recent changes.
pub(crate) async fn review(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::ReadRuleChanges)?;
    let user = viewer.user.clone();
    let (scope, status, all) = blocking(move || {
        let scope = Scope::of(&app, &user)?;
        let cfg = config_now(&app)?;
        let store = app.store(Some(&user))?;
        let status = rule_changes::status(&*store, &cfg).map_err(|e| Fail::of(&e))?;
        let all = rule_changes::list(&*store).map_err(|e| Fail::of(&e))?;
        Ok((scope, status, all))
    })
    .await?;
    let lines = |rows: &mut dyn Iterator<Item = &RuleChangeRow>| -> Vec<ChangeLine> {
        rows.filter(|c| scope.sees_change(c))
            .map(|c| change_line(&scope, c))
            .collect()
    };
    render(&Review {
        pending: lines(&mut status.pending.iter()),
        recent: lines(&mut all.iter().filter(|c| c.state != "draft"))
            .into_iter()
            .take(30)
            .collect(),
        outside: status
            .outside
            .iter()
            .filter(|d| scope.sees_file(&d.path))
            .map(|d| d.path.clone())
            .collect(),
        latest: status.latest.as_ref().map(|v| (v.id, short(&v.rules_hash))),
        viewer,
    })
}

/// A conflict as shown.
pub(crate) struct ConflictView {
    pub path: String,
    pub by: String,
    pub change: Option<i64>,
    pub diff: Vec<DiffFile>,
}

#[derive(Template)]
#[template(path = "rule_change.html")]
struct ChangePage {
    viewer: Viewer,
    line: ChangeLine,
    /// The version it was made from (`None` when its hash is no version's) and its hash.
    base: (Option<i64>, String),
    comment: Option<String>,
    decided: Option<(String, String)>,
    diff: Vec<DiffFile>,
    conflicts: Vec<ConflictView>,
    /// The viewer may approve or return it now.
    can_decide: bool,
    /// The viewer is its author and may not approve it.
    own: bool,
}

/// Change `id` if the user sees it (else not found), with the scope it is shown in.
fn change_in_scope(
    app: &App,
    user: &User,
    id: i64,
) -> Result<(Scope, rule_changes::ChangeView), Fail> {
    let scope = Scope::of(app, user)?;
    let store = app.store(Some(user))?;
    let view = match rule_changes::change(&*store, id) {
        Ok(v) => v,
        Err(rule_changes::ChangeError::NoChange(_)) => return Err(Fail::NotFound),
        Err(e) => return Err(Fail::of(&e)),
    };
    // A draft is its author's own until submitted.
    let hidden_draft = view.row.state == "draft" && view.row.author != user.actor();
    if !scope.sees_change(&view.row) || hidden_draft {
        return Err(Fail::NotFound);
    }
    Ok((scope, view))
}

/// A rule change: its diff and, for an approver, approve or return.
pub(crate) async fn change(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, Fail> {
    viewer.may(Action::ReadRuleChanges)?;
    let user = viewer.user.clone();
    let (scope, view, self_ok) = blocking(move || {
        let cfg = config_now(&app)?;
        let (scope, view) = change_in_scope(&app, &user, id)?;
        Ok((
            scope,
            view,
            cfg.approval.self_approval || !cfg.approval.required,
        ))
    })
    .await?;
    let row = &view.row;
    let own = row.author == viewer.user.actor() && !self_ok;
    let paths = row.files.keys().chain(row.removed.iter());
    let can_decide = row.state == "submitted"
        && viewer.user.may(Action::ApproveRules)
        && !own
        && scope.covers(paths);
    render(&ChangePage {
        line: change_line(&scope, row),
        base: (view.base.as_ref().map(|b| b.id), short(&row.base_hash)),
        comment: row.comment.clone(),
        decided: row.decided_by.as_ref().map(|b| {
            (
                who_name(b),
                at_name(row.decided_at.as_deref().unwrap_or("")),
            )
        }),
        diff: scope.diffs(&view.diff),
        conflicts: view
            .conflicts
            .iter()
            .filter(|c| scope.sees_file(&c.path))
            .map(|c| ConflictView {
                path: c.path.clone(),
                by: who_name(&c.by),
                change: c.change,
                diff: diff_files(std::slice::from_ref(&c.diff)),
            })
            .collect(),
        can_decide,
        own,
        viewer,
    })
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReturnForm {
    #[serde(default)]
    comment: String,
}

/// Change `id` for a decision by `user`: seen by them and within what they may decide.
fn decidable(app: &App, user: &User, id: i64) -> Result<(), Fail> {
    let (scope, view) = change_in_scope(app, user, id)?;
    let row = &view.row;
    if scope.covers(row.files.keys().chain(row.removed.iter())) {
        Ok(())
    } else {
        Err(Fail::Forbidden)
    }
}

/// 批准: the change becomes the next version and its files are written. Audited
/// (`rules.approve`) with the console user.
pub(crate) async fn approve(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, Fail> {
    viewer.may(Action::ApproveRules)?;
    let who = who(&app, &viewer);
    let user = viewer.user.clone();
    blocking(move || {
        decidable(&app, &user, id)?;
        let cfg = config_now(&app)?;
        let mut store = app.store(Some(&user))?;
        rule_changes::approve(&mut *store, &cfg, id, &who, app.facts()).map_err(|e| Fail::of(&e))
    })
    .await?;
    Ok(Redirect::to(&format!("/rules/changes/{id}")).into_response())
}

/// 退回: back to its author with a comment. Audited (`rules.return`) with the console user.
pub(crate) async fn send_back(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<ReturnForm>,
) -> Result<Response, Fail> {
    viewer.may(Action::ApproveRules)?;
    if form.comment.trim().is_empty() {
        return Err(Fail::Invalid("退回须填写意见。".into()));
    }
    let who = who(&app, &viewer);
    let user = viewer.user.clone();
    blocking(move || {
        decidable(&app, &user, id)?;
        let mut store = app.store(Some(&user))?;
        rule_changes::return_change(&mut *store, id, &form.comment, &who).map_err(|e| Fail::of(&e))
    })
    .await?;
    Ok(Redirect::to(&format!("/rules/changes/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "rule_outside.html")]
struct Outside {
    viewer: Viewer,
    disk_hash: String,
    latest: Option<(i64, String)>,
    diff: Vec<DiffFile>,
    /// The check of the files on disk: `None` ok, else the report.
    problems: Option<String>,
    /// The viewer may approve them (an approver of the whole office).
    can_approve: bool,
}

/// Files changed on disk outside the console: the diff against the approved version and the
/// check of the files on disk (the check of `suiji check`).
pub(crate) async fn outside(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::ReadRuleChanges)?;
    let year = chrono::Datelike::year(&app.now());
    let user = viewer.user.clone();
    let (scope, status, problems) = blocking(move || {
        let scope = Scope::of(&app, &user)?;
        let cfg = config_now(&app)?;
        let store = app.store(Some(&user))?;
        let status = rule_changes::status(&*store, &cfg).map_err(|e| Fail::of(&e))?;
        let problems = if status.outside.is_empty() {
            None
        } else {
            rule_changes::check_set(&app.config(), &status.disk.files, year, app.facts())
                .err()
                .map(|e| super::report_text(&crate::diag::Problem::report(&e)))
        };
        Ok((scope, status, problems))
    })
    .await?;
    let can_approve = viewer.user.may(Action::ApproveRules)
        && scope.covers(status.outside.iter().map(|d| d.path.as_str()));
    render(&Outside {
        disk_hash: status.disk.hash.clone(),
        latest: status.latest.as_ref().map(|v| (v.id, short(&v.rules_hash))),
        diff: scope.diffs(&status.outside),
        problems,
        can_approve,
        viewer,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct OutsideForm {
    #[serde(default)]
    seen: String,
}

/// Approves the files on disk as they were shown (`seen`: their rules hash). Audited
/// (`rules.approve`) with the console user.
pub(crate) async fn approve_outside(
    State(app): State<App>,
    viewer: Viewer,
    axum::Form(form): axum::Form<OutsideForm>,
) -> Result<Response, Fail> {
    viewer.may(Action::ApproveRules)?;
    let who = who(&app, &viewer);
    let user = viewer.user.clone();
    let done = blocking(move || {
        let cfg = config_now(&app)?;
        let mut store = app.store(Some(&user))?;
        if user.department.is_some() {
            // Files outside the console may be any department's.
            let status = rule_changes::status(&*store, &cfg).map_err(|e| Fail::of(&e))?;
            let scope = Scope::of(&app, &user)?;
            if !scope.covers(status.outside.iter().map(|d| d.path.as_str())) {
                return Err(Fail::Forbidden);
            }
        }
        rule_changes::approve_outside(&mut *store, &cfg, Some(&form.seen), &who, app.facts())
            .map_err(|e| Fail::of(&e))
    })
    .await?;
    Ok(Redirect::to(&format!("/rules/versions/{}", done.version)).into_response())
}

/// A version as listed.
pub(crate) struct VersionLine {
    pub id: i64,
    pub hash: String,
    /// Its first 12 characters, for the list.
    pub short: String,
    pub kind: &'static str,
    pub author: String,
    pub approver: String,
    pub at: String,
    pub latest: bool,
}

fn version_line(v: &RuleVersionRow, latest: i64) -> VersionLine {
    VersionLine {
        id: v.id,
        hash: v.rules_hash.clone(),
        short: short(&v.rules_hash),
        kind: kind_name(&v.kind),
        author: who_name(&v.author),
        approver: who_name(&v.approver),
        at: at_name(&v.approved_at),
        latest: v.id == latest,
    }
}

#[derive(Template)]
#[template(path = "rule_history.html")]
struct History {
    viewer: Viewer,
    versions: Vec<VersionLine>,
    from: i64,
    to: i64,
    diff: Option<Vec<DiffFile>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Between {
    from: Option<i64>,
    to: Option<i64>,
}

/// 规则历史: every approved version, and the diff between two of them.
pub(crate) async fn history(
    State(app): State<App>,
    viewer: Viewer,
    Query(q): Query<Between>,
) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    let user = viewer.user.clone();
    let (scope, versions) = blocking(move || {
        let scope = Scope::of(&app, &user)?;
        let store = app.store(Some(&user))?;
        let versions = rule_changes::history(&*store).map_err(|e| Fail::of(&e))?;
        Ok((scope, versions))
    })
    .await?;
    let latest = versions.first().map_or(0, |v| v.id);
    let diff = match (q.from, q.to) {
        (Some(a), Some(b)) => {
            let files = |id: i64| versions.iter().find(|v| v.id == id).map(|v| &v.files);
            match (files(a), files(b)) {
                (Some(x), Some(y)) => Some(scope.diffs(&rule_changes::diff(x, y))),
                _ => return Err(Fail::NotFound),
            }
        }
        _ => None,
    };
    render(&History {
        from: q.from.unwrap_or(latest.saturating_sub(1).max(1)),
        to: q.to.unwrap_or(latest),
        versions: versions.iter().map(|v| version_line(v, latest)).collect(),
        diff,
        viewer,
    })
}

#[derive(Template)]
#[template(path = "rule_version.html")]
struct VersionPage {
    viewer: Viewer,
    version: VersionLine,
    files: Vec<String>,
    /// Against the version before it.
    diff: Vec<DiffFile>,
    change: Option<i64>,
    /// The viewer may propose going back to it.
    can_roll_back: bool,
}

/// One version: its files and what it changed.
pub(crate) async fn version(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    let user = viewer.user.clone();
    let (scope, v, before, latest) = blocking(move || {
        let scope = Scope::of(&app, &user)?;
        let store = app.store(Some(&user))?;
        let v = store
            .rule_version(id)
            .map_err(|e| Fail::of(&e))?
            .ok_or(Fail::NotFound)?;
        let before = store.rule_version(id - 1).map_err(|e| Fail::of(&e))?;
        let latest = store
            .latest_rule_version()
            .map_err(|e| Fail::of(&e))?
            .map_or(id, |l| l.id);
        Ok((scope, v, before, latest))
    })
    .await?;
    let empty = rule_changes::Files::new();
    let diff = rule_changes::diff(before.as_ref().map_or(&empty, |b| &b.files), &v.files);
    render(&VersionPage {
        version: version_line(&v, latest),
        files: v
            .files
            .keys()
            .filter(|p| scope.sees_file(p))
            .cloned()
            .collect(),
        diff: scope.diffs(&diff),
        change: v.change_id,
        can_roll_back: v.id != latest
            && viewer.user.may(Action::EditRules)
            && viewer.user.department.is_none(),
        viewer,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RollbackForm {
    #[serde(default)]
    version: i64,
}

/// 回退: proposes going back to a version, as a change that needs approval. A rollback
/// returns the whole rule set, so it is for editors of the whole office. Audited
/// (`rules.rollback`) with the console user.
pub(crate) async fn rollback(
    State(app): State<App>,
    viewer: Viewer,
    axum::Form(form): axum::Form<RollbackForm>,
) -> Result<Response, Fail> {
    viewer.may(Action::EditRules)?;
    if viewer.user.department.is_some() {
        return Err(Fail::Forbidden);
    }
    let who = who(&app, &viewer);
    let user = viewer.user.clone();
    let id = blocking(move || {
        let cfg = config_now(&app)?;
        let mut store = app.store(Some(&user))?;
        rule_changes::rollback(&mut *store, &cfg, form.version, &who, app.facts())
            .map_err(|e| Fail::of(&e))
    })
    .await?;
    Ok(Redirect::to(&format!("/rules/changes/{id}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 分类频次 in the key-by-key view: the map's label, each frequency in Chinese.
    #[test]
    fn a_class_frequency_change_reads_in_chinese() {
        let old =
            "[[matter]]\nid = \"m\"\nclass_frequency = { A = \"biennial\", B = \"yearly\" }\n";
        let new = "[[matter]]\nid = \"m\"\nclass_frequency = { A = \"biennial\", B = \"half-yearly\" }\nclass_ratios = { A = \"5%\" }\n";
        let diff = FileDiff {
            path: "rules/d.toml".into(),
            old: Some(old.into()),
            new: Some(new.into()),
            lines: Vec::new(),
        };
        let keys = &diff_files(&[diff])[0].keys;
        let shown: Vec<(&str, &str, &str, &str)> = keys
            .iter()
            .map(|k| (k.label, k.key.as_str(), k.old.as_str(), k.new.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("分类频次", "class_frequency.B", "每年 1 次", "每半年 1 次"),
                (
                    "分类比例",
                    "class_ratios",
                    "（未写，不适用）",
                    "{ A = \"5%\" }"
                ),
            ]
        );
    }
}
