//! 规则审核 and 规则历史: the changes waiting for approval, a change with its diff (file by
//! file, and key by key), approve or return with a comment; files changed outside the console;
//! every approved version, the diff between any two, and rollback (itself a change that needs
//! approval). The decisions are `jobs::rule_changes`; who may do what is `jobs::users`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::Viewer;
use super::{App, Fail, blocking, names, render};
use crate::jobs::rule_changes::{self, FileDiff, Line, Who};
use crate::jobs::users::Action;
use crate::store::{RuleChangeRow, RuleVersionRow};

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
    pub place: String,
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
                    crate::rules::changes::changed_keys(o, n)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|k| KeyLine {
                            place: k.place,
                            key: k.key,
                            old: k.old.unwrap_or_else(|| "（无）".into()),
                            new: k.new.unwrap_or_else(|| "（删除）".into()),
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

fn change_line(c: &RuleChangeRow) -> ChangeLine {
    ChangeLine {
        id: c.id,
        what: match (c.kind.as_str(), c.rollback_of) {
            ("rollback", Some(v)) => format!("回退到第 {v} 版"),
            _ => c.department.clone(),
        },
        files: c
            .files
            .keys()
            .chain(c.removed.iter())
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
    let config = app.config();
    let (status, all) = blocking(move || {
        let cfg = crate::rules::load_config(&config).map_err(|e| {
            Fail::of(&crate::jobs::SetupError::Config(e))
        })?;
        let store = crate::jobs::open_store_of_config(&config).map_err(|e| Fail::of(&e))?;
        let status = rule_changes::status(&store, &cfg).map_err(|e| Fail::of(&e))?;
        let all = rule_changes::list(&store).map_err(|e| Fail::of(&e))?;
        Ok((status, all))
    })
    .await?;
    render(&Review {
        pending: status.pending.iter().map(change_line).collect(),
        recent: all.iter().take(30).map(change_line).collect(),
        outside: status.outside.iter().map(|d| d.path.clone()).collect(),
        latest: status
            .latest
            .as_ref()
            .map(|v| (v.id, v.rules_hash.chars().take(12).collect())),
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
    base: String,
    comment: Option<String>,
    decided: Option<(String, String)>,
    diff: Vec<DiffFile>,
    conflicts: Vec<ConflictView>,
    /// The viewer may approve or return it now.
    can_decide: bool,
    /// The viewer is its author and may not approve it.
    own: bool,
}

/// A rule change: its diff and, for an approver, approve or return.
pub(crate) async fn change(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, Fail> {
    viewer.may(Action::ReadRuleChanges)?;
    let config = app.config();
    let (view, self_ok) = blocking(move || {
        let cfg = crate::rules::load_config(&config).map_err(|e| {
            Fail::of(&crate::jobs::SetupError::Config(e))
        })?;
        let store = crate::jobs::open_store_of_config(&config).map_err(|e| Fail::of(&e))?;
        match rule_changes::change(&store, id) {
            Ok(v) => Ok((v, cfg.approval.self_approval || !cfg.approval.required)),
            Err(rule_changes::ChangeError::NoChange(_)) => Err(Fail::NotFound),
            Err(e) => Err(Fail::of(&e)),
        }
    })
    .await?;
    let row = &view.row;
    let own = row.author == viewer.user.actor() && !self_ok;
    let can_decide = row.state == "submitted" && viewer.user.may(Action::ApproveRules) && !own;
    render(&ChangePage {
        line: change_line(row),
        base: match &view.base {
            Some(b) => format!("第 {} 版（{}）", b.id, short(&b.rules_hash)),
            None => short(&row.base_hash),
        },
        comment: row.comment.clone(),
        decided: row
            .decided_by
            .as_ref()
            .map(|b| (who_name(b), at_name(row.decided_at.as_deref().unwrap_or("")))),
        diff: diff_files(&view.diff),
        conflicts: view
            .conflicts
            .iter()
            .map(|c| ConflictView {
                path: c.path.clone(),
                by: c.by.clone(),
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

/// 批准: the change becomes the next version and its files are written.
pub(crate) async fn approve(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, Fail> {
    viewer.may(Action::ApproveRules)?;
    let config = app.config();
    let who = Who {
        actor: viewer.user.actor(),
        at: app.stamp(),
    };
    blocking(move || {
        let cfg = crate::rules::load_config(&config).map_err(|e| {
            Fail::of(&crate::jobs::SetupError::Config(e))
        })?;
        let mut store = store_as(&config, &who)?;
        rule_changes::approve(&mut store, &cfg, id, &who).map_err(|e| Fail::of(&e))
    })
    .await?;
    Ok(Redirect::to(&format!("/rules/changes/{id}")).into_response())
}

/// The database, writing as the console user.
fn store_as(config: &std::path::Path, who: &Who) -> Result<crate::store::Store, Fail> {
    let mut store = crate::jobs::open_store_of_config(config).map_err(|e| Fail::of(&e))?;
    let mut origin = store.origin().clone();
    origin.console_user = who.actor.strip_prefix("web:").map(str::to_string);
    store.set_origin(origin);
    Ok(store)
}

/// 退回: back to its author with a comment.
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
    let config = app.config();
    let who = Who {
        actor: viewer.user.actor(),
        at: app.stamp(),
    };
    blocking(move || {
        let mut store = store_as(&config, &who)?;
        rule_changes::return_change(&mut store, id, &form.comment, &who).map_err(|e| Fail::of(&e))
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
}

/// Files changed on disk outside the console: the diff against the approved version and the
/// check of the files on disk.
pub(crate) async fn outside(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::ReadRuleChanges)?;
    let config = app.config();
    let year = chrono::Datelike::year(&app.now());
    let (status, problems) = blocking(move || {
        let cfg = crate::rules::load_config(&config).map_err(|e| {
            Fail::of(&crate::jobs::SetupError::Config(e))
        })?;
        let store = crate::jobs::open_store_of_config(&config).map_err(|e| Fail::of(&e))?;
        let status = rule_changes::status(&store, &cfg).map_err(|e| Fail::of(&e))?;
        let problems = if status.outside.is_empty() {
            None
        } else {
            rule_changes::check_set(&config, &status.disk.files, year)
                .err()
                .map(|e| super::report_text(&crate::diag::Problem::report(&e)))
        };
        Ok((status, problems))
    })
    .await?;
    render(&Outside {
        disk_hash: status.disk.hash.clone(),
        latest: status.latest.as_ref().map(|v| (v.id, short(&v.rules_hash))),
        diff: diff_files(&status.outside),
        problems,
        viewer,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct OutsideForm {
    #[serde(default)]
    seen: String,
}

/// Approves the files on disk as they were shown (`seen`: their rules hash).
pub(crate) async fn approve_outside(
    State(app): State<App>,
    viewer: Viewer,
    axum::Form(form): axum::Form<OutsideForm>,
) -> Result<Response, Fail> {
    viewer.may(Action::ApproveRules)?;
    let config = app.config();
    let who = Who {
        actor: viewer.user.actor(),
        at: app.stamp(),
    };
    let done = blocking(move || {
        let cfg = crate::rules::load_config(&config).map_err(|e| {
            Fail::of(&crate::jobs::SetupError::Config(e))
        })?;
        let mut store = store_as(&config, &who)?;
        rule_changes::approve_outside(&mut store, &cfg, Some(&form.seen), &who)
            .map_err(|e| Fail::of(&e))
    })
    .await?;
    Ok(Redirect::to(&format!("/rules/versions/{}", done.version)).into_response())
}

/// A version as listed.
pub(crate) struct VersionLine {
    pub id: i64,
    pub hash: String,
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
    let config = app.config();
    let versions = blocking(move || {
        let store = crate::jobs::open_store_of_config(&config).map_err(|e| Fail::of(&e))?;
        rule_changes::history(&store).map_err(|e| Fail::of(&e))
    })
    .await?;
    let latest = versions.first().map_or(0, |v| v.id);
    let diff = match (q.from, q.to) {
        (Some(a), Some(b)) => {
            let files = |id: i64| versions.iter().find(|v| v.id == id).map(|v| &v.files);
            match (files(a), files(b)) {
                (Some(x), Some(y)) => Some(diff_files(&rule_changes::diff(x, y))),
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
    let config = app.config();
    let (v, before, latest) = blocking(move || {
        let store = crate::jobs::open_store_of_config(&config).map_err(|e| Fail::of(&e))?;
        let v = store
            .rule_version(id)
            .map_err(|e| Fail::of(&e))?
            .ok_or(Fail::NotFound)?;
        let before = store.rule_version(id - 1).map_err(|e| Fail::of(&e))?;
        let latest = store
            .latest_rule_version()
            .map_err(|e| Fail::of(&e))?
            .map_or(id, |l| l.id);
        Ok((v, before, latest))
    })
    .await?;
    let empty = rule_changes::Files::new();
    let diff = rule_changes::diff(before.as_ref().map_or(&empty, |b| &b.files), &v.files);
    render(&VersionPage {
        version: version_line(&v, latest),
        files: v.files.keys().cloned().collect(),
        diff: diff_files(&diff),
        change: v.change_id,
        can_roll_back: v.id != latest && viewer.user.may(Action::EditRules),
        viewer,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RollbackForm {
    #[serde(default)]
    version: i64,
}

/// 回退: proposes going back to a version, as a change that needs approval.
pub(crate) async fn rollback(
    State(app): State<App>,
    viewer: Viewer,
    axum::Form(form): axum::Form<RollbackForm>,
) -> Result<Response, Fail> {
    viewer.may(Action::EditRules)?;
    let config = app.config();
    let who = Who {
        actor: viewer.user.actor(),
        at: app.stamp(),
    };
    let id = blocking(move || {
        let cfg = crate::rules::load_config(&config).map_err(|e| {
            Fail::of(&crate::jobs::SetupError::Config(e))
        })?;
        let mut store = store_as(&config, &who)?;
        rule_changes::rollback(&mut store, &cfg, form.version, &who).map_err(|e| Fail::of(&e))
    })
    .await?;
    Ok(Redirect::to(&format!("/rules/changes/{id}")).into_response())
}
