//! 抽取记录: every draw, one draw's detail and files, and 复核 (re-running it).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use std::collections::HashMap;

use super::paging::{PageQuery, Paging, paged};
use std::sync::Arc;

use super::keep::{Keep, Seen, Source};
use super::pages::{Framed, department_of, matter_names};
use super::session::Viewer;
use super::{App, Fail, blocking, names, render, render_kept};
use crate::jobs::users::Action;
use crate::store::DrawStatus;

pub(crate) struct DrawLine {
    pub id: i64,
    pub department: String,
    pub matter: String,
    pub period: String,
    pub at: String,
    pub kind: String,
    pub drawn: usize,
    pub active: bool,
    pub by: String,
}

/// The draw list's content, without the user's frame (`framed.html`).
#[derive(Template)]
#[template(path = "draws.html")]
struct Draws {
    /// Whether the viewer may draw by hand and decide redraws (the button to that page).
    may_redraw: bool,
    draws: Vec<DrawLine>,
}

/// How many views of the draw list are kept.
pub(crate) const KEPT_VIEWS: usize = super::pages::KEPT_VIEWS;

/// The draw list's content as rendered, keyed by the source, the department the viewer is
/// limited to and whether the viewer may draw by hand.
pub(crate) type KeptLists = Keep<(Source, Option<String>, bool), Arc<str>>;

pub(crate) async fn list(
    State(app): State<App>,
    viewer: Viewer,
    seen: Seen,
) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    let source = seen.source(&app)?;
    let key = (
        source,
        viewer.user.department.clone(),
        viewer.user.may(Action::Redraws),
    );
    // Kept already for this view: answered here, without waiting.
    let body = match app.inner.draw_lists.ready(&key) {
        Some(body) => body,
        None => {
            let app = app.clone();
            blocking(move || {
                app.inner
                    .draw_lists
                    .get(key, |(source, scope, may_redraw)| {
                        draw_list(&app, source, scope.as_deref(), *may_redraw)
                    })
            })
            .await?
        }
    };
    render(&Framed {
        viewer: &viewer,
        title: "抽取记录",
        body: &body,
    })
}

/// The draw list's content for a viewer limited to `scope` (`None`: every department).
fn draw_list(
    app: &App,
    source: &Source,
    scope: Option<&str>,
    may_redraw: bool,
) -> Result<Arc<str>, Fail> {
    let loaded = &source.loaded;
    let store = app.store_in(&source.db, None)?;
    let filter = crate::store::DrawFilter {
        include_superseded: true,
        ..Default::default()
    };
    let listed = crate::jobs::draws::run(&*store, &filter).map_err(|e| Fail::of(&e))?;
    let mut lines: Vec<DrawLine> = listed
        .into_iter()
        .filter(|l| crate::jobs::users::sees(scope, &department_of(loaded, &l.draw.matter)))
        .map(|l| {
            let r = &l.draw;
            let (matter, department) = matter_names(loaded, &r.matter);
            DrawLine {
                id: l.draw.id,
                department,
                matter,
                period: names::period(&r.period),
                at: r.created_at.replace('T', " ").chars().take(16).collect(),
                kind: names::kind(&r.kind, &r.period),
                drawn: l.targets,
                active: l.draw.status == DrawStatus::Active,
                by: names::actor(&r.actor),
            }
        })
        .collect();
    lines.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    render_kept(&Draws {
        may_redraw,
        draws: lines,
    })
}

pub(crate) struct TargetLine {
    /// The target's id (not shown: where a substitute taken in after the draw goes).
    pub id: String,
    pub name: String,
    pub stratum: String,
    pub rank: u32,
    /// Whom it stands in for (替补 …), or by whom it was replaced after the draw.
    pub substitute: String,
    pub team: String,
    /// A substitute taken in after the draw (a change, 替补).
    pub taken_in: bool,
    /// Replaced or marked out of scope after the draw: no longer to be visited.
    pub gone: bool,
}

/// A change after the draw, as the page shows it.
pub(crate) struct ChangeLine {
    pub id: i64,
    pub at: String,
    pub what: String,
    pub target: String,
    pub inspector: String,
    pub cause: String,
    pub replacement: String,
    pub reason: String,
    pub by: String,
}

/// A visit the change form may name: the target and its team.
pub(crate) struct StandingLine {
    pub id: String,
    pub name: String,
    pub team: Vec<(String, String)>,
}

/// An inspector's load carried in from the period's other draws (V2-16).
pub(crate) struct CarriedLine {
    pub name: String,
    /// Visits in the period's other draws when this one was made.
    pub carried: u32,
    /// Visits in this draw, as its changes left them.
    pub this: u32,
    pub total: u32,
    /// The workload cap the draw staffed its teams under (每人每期最多承担户数), when the
    /// rules it was drawn by can be read.
    pub cap: Option<u32>,
    /// How far `total` is above `cap` (0: within it).
    pub over: u32,
}

/// A substitute whose inherited team has members with a 回避 for it (or why that cannot be
/// told: the matter's `conflict` hook failed).
pub(crate) struct InheritedLine {
    pub target: String,
    /// The drawn target it stands in for.
    pub replaces: String,
    /// (member's name, 申报回避 or 规则认定回避).
    pub members: Vec<(String, &'static str)>,
    pub problem: Option<String>,
}

pub(crate) struct ExclusionLine {
    pub kind: &'static str,
    pub name: String,
    pub reason: String,
}

pub(crate) struct DrawView {
    pub id: i64,
    pub matter: String,
    pub department: String,
    pub period: String,
    pub kind: String,
    pub at: String,
    pub by: String,
    pub issue: String,
    pub due: String,
    pub active: bool,
    pub seed: String,
    pub seed_source: String,
    pub manifest_hash: String,
    /// The rules hash the draw recorded, and the approved version with that hash.
    pub rules_hash: String,
    pub rules_version: Option<i64>,
    pub redraw_reason: Option<String>,
    pub redraw_of: Option<i64>,
    pub superseded_by: Option<i64>,
    /// The page of the drawn targets shown (a page of them).
    pub targets: Vec<TargetLine>,
    /// Which page, of how many, and what the list was searched for.
    pub paging: Paging,
    /// Substitutes taken in after the draw, on every page.
    pub taken_in: usize,
    pub unstaffed: Vec<(String, String)>,
    pub exclusions: Vec<ExclusionLine>,
    pub files: Vec<(String, String)>,
    pub changes: Vec<ChangeLine>,
    /// The targets to visit as the changes left them (the change form's choices).
    pub standing: Vec<StandingLine>,
    /// Loads carried in from the period's other draws, by inspector.
    pub carried: Vec<CarriedLine>,
    /// Substitutes with a 回避 on the team they took over, to be replaced (cause 回避).
    pub inherited: Vec<InheritedLine>,
}

impl DrawView {
    /// How many substitutes were taken in after the draw (listed among the drawn targets).
    pub fn taken_in(&self) -> usize {
        self.taken_in
    }
}

#[derive(Template)]
#[template(path = "draw.html")]
struct Detail {
    viewer: Viewer,
    draw: DrawView,
    verdict: Option<(bool, Vec<String>)>,
    /// Whether the viewer may record a change (an operator, on an active draw).
    may_change: bool,
    /// Why the change just asked for was refused.
    refusal: Option<String>,
}

/// The drawn targets (selected and substitutes) with their teams.
fn target_lines(
    detail: &crate::jobs::draws::Detail,
    name_of: &dyn Fn(&str) -> String,
) -> Vec<TargetLine> {
    // Each target's team, in the recorded order (a national draw has hundreds of thousands).
    let mut teams: HashMap<&str, Vec<&str>> = HashMap::new();
    for m in &detail.teams {
        teams
            .entry(m.target_id.as_str())
            .or_default()
            .push(m.inspector_name.as_str());
    }
    detail
        .targets
        .iter()
        .filter(|t| t.selected || t.substitute)
        .map(|t| {
            let team = teams
                .get(t.target_id.as_str())
                .map_or(&[][..], Vec::as_slice);
            TargetLine {
                name: t.target_name.clone(),
                stratum: t.stratum.clone(),
                id: t.target_id.clone(),
                rank: t.rank,
                substitute: t
                    .substitute_for
                    .as_deref()
                    .map_or_else(String::new, |f| format!("替补 {}", name_of(f))),
                team: team_text(team),
                taken_in: false,
                gone: false,
            }
        })
        .collect()
}

/// A team's names as one cell: “—” for none.
fn team_text(team: &[impl AsRef<str>]) -> String {
    if team.is_empty() {
        "—".into()
    } else {
        let names: Vec<&str> = team.iter().map(AsRef::as_ref).collect();
        names.join("、")
    }
}

/// The drawn targets with the changes after the draw: a target replaced notes by whom (or
/// that it was marked out of scope), and the substitute taken in (替补) follows the target it
/// replaced, with the change's cause and time and the team it took over, as it stands now.
fn with_changes(
    mut lines: Vec<TargetLine>,
    detail: &crate::jobs::draws::Detail,
    replayed: Option<&crate::jobs::change::Changes>,
    named: &dyn Fn(&str) -> String,
) -> Vec<TargetLine> {
    let Some(c) = replayed else {
        return lines;
    };
    let change_of = |target: &str, replacement: Option<&str>| {
        detail.changes.iter().find(|x| {
            x.kind == "target"
                && match replacement {
                    Some(r) => x.replacement.as_deref() == Some(r),
                    None => x.target_id == target && x.replacement.is_none(),
                }
        })
    };
    let how = |x: Option<&crate::store::DrawChange>| {
        x.map_or_else(String::new, |x| {
            let (_, cause) = crate::rules::names::change_text(&x.kind, true, &x.cause);
            let at: String = x.changed_at.replace('T', " ").chars().take(16).collect();
            format!("（{cause}，{at}，变更 #{}）", x.id)
        })
    };
    // The substitutes taken in, each after the target it replaced (in the order taken in, so
    // a substitute replaced in turn is listed before its own).
    for v in &c.state.visits {
        let Some(replaced) = v.replaces.as_deref() else {
            continue;
        };
        let rank = c
            .manifest
            .substitutes
            .iter()
            .flatten()
            .find(|s| s.target_id == v.target_id)
            .map_or(0, |s| s.rank);
        let line = TargetLine {
            id: v.target_id.clone(),
            name: named(&v.target_id),
            stratum: v.stratum.clone(),
            rank,
            substitute: format!(
                "替补 {}{}",
                named(replaced),
                how(change_of(replaced, Some(&v.target_id)))
            ),
            team: team_text(&v.team.iter().map(|x| named(x)).collect::<Vec<_>>()),
            taken_in: true,
            gone: false,
        };
        let after = lines
            .iter()
            .rposition(|l| l.id == replaced)
            .map_or(lines.len(), |i| i + 1);
        lines.insert(after, line);
    }
    // Then what became of each visit replaced or marked out of scope.
    for v in &c.state.visits {
        let Some(by) = &v.replaced else {
            continue;
        };
        let Some(line) = lines.iter_mut().find(|l| l.id == v.target_id) else {
            continue;
        };
        let note = match by {
            Some(by) => format!("已由 {} 替补", named(by)),
            None => format!("不在范围（不替补）{}", how(change_of(&v.target_id, None))),
        };
        line.substitute = if line.substitute.is_empty() {
            note
        } else {
            format!("{}；{note}", line.substitute)
        };
        line.gone = true;
    }
    lines
}

/// Whether draw `id` is recorded and `user`'s department sees it, read from its head alone
/// (its page is not built: a national draw's takes seconds).
fn seen(app: &App, id: i64, user: &crate::jobs::users::User) -> Result<(), Fail> {
    let loaded = app.rules()?;
    let store = app.store(Some(user))?;
    let every = crate::store::DrawFilter {
        include_superseded: true,
        ..crate::store::DrawFilter::default()
    };
    let head = store
        .list_draw_heads(&every)
        .map_err(|e| Fail::of(&e))?
        .into_iter()
        .find(|h| h.id == id)
        .ok_or(Fail::NotFound)?;
    if !user.sees(&department_of(&loaded, &head.matter)) {
        return Err(Fail::NotFound);
    }
    Ok(())
}

/// The drawn targets' names by id (a national draw's page looks up hundreds of thousands).
fn names_by_target(detail: &crate::jobs::draws::Detail) -> HashMap<&str, &str> {
    detail
        .targets
        .iter()
        .map(|t| (t.target_id.as_str(), t.target_name.as_str()))
        .collect()
}

/// The draw's detail, if the user's department sees it.
fn view(
    app: &App,
    id: i64,
    user: &crate::jobs::users::User,
    asked: &PageQuery,
) -> Result<DrawView, Fail> {
    let loaded = app.rules()?;
    let store = app.store(Some(user))?;
    let detail = crate::jobs::draws::detail(&loaded, &*store, id)
        .map_err(|e| Fail::of(&e))?
        .ok_or(Fail::NotFound)?;
    if !user.sees(&department_of(&loaded, &detail.draw.record.matter)) {
        return Err(Fail::NotFound);
    }
    let detail = folder_here(app, &loaded, &*store, detail)?;
    let (d, r) = (&detail.draw, &detail.draw.record);
    let (matter, department) = matter_names(&loaded, &r.matter);
    let target_names = names_by_target(&detail);
    let name_of = |id: &str| target_names.get(id).map_or(id, |n| n).to_string();
    let named = |id: &str| detail.names.get(id).cloned().unwrap_or_else(|| name_of(id));
    let changes = change_lines(&detail, &named);
    // The draw as its changes left it (none when they cannot be replayed).
    let replayed = crate::jobs::change::load(&*store, id, false).ok();
    let targets = with_changes(
        target_lines(&detail, &name_of),
        &detail,
        replayed.as_ref(),
        &named,
    );
    let taken_in = targets.iter().filter(|t| t.taken_in).count();
    let (targets, paging) = paged(targets, asked, "drawn", |t, q| {
        t.id == q || t.name.contains(q)
    });
    let standing = standing_on(&targets, replayed.as_ref(), &named);
    let carried = carried_lines(&loaded, &*store, &detail, replayed.as_ref());
    let inherited = inherited_lines(&*store, id, replayed.as_ref(), &named);
    let exclusions = exclusion_lines(&detail, &name_of);
    Ok(DrawView {
        id: d.id,
        matter,
        department,
        period: names::period(&r.period),
        kind: names::kind(&r.kind, &r.period),
        at: r.created_at.replace('T', " ").chars().take(19).collect(),
        by: names::actor(&r.actor),
        issue: r.issue_date.clone(),
        due: r.due_date.clone(),
        active: d.status == DrawStatus::Active,
        seed: r.seed_hex.clone(),
        seed_source: names::seed_source(&r.seed_source),
        manifest_hash: r.manifest_hash.clone(),
        rules_hash: r.rules_hash.clone(),
        rules_version: crate::jobs::rule_changes::version_of_hash(&*store, &r.rules_hash)
            .map_err(|e| Fail::of(&e))?
            .map(|v| v.id),
        redraw_reason: d.redraw_reason.clone(),
        redraw_of: d.redraw_of,
        superseded_by: d.superseded_by,
        targets,
        paging,
        taken_in,
        unstaffed: detail
            .unstaffed
            .iter()
            .map(|u| (name_of(&u.target_id), names::unstaffed(&u.reason)))
            .collect(),
        exclusions,
        // The audit bundle (inspectors' data, 回避) is listed only to those who may have it.
        files: detail
            .files
            .iter()
            .filter(|f| may_download(user, f))
            .map(|f| (f.clone(), names::file(f)))
            .collect(),
        changes,
        standing,
        carried,
        inherited,
    })
}

/// The targets and inspectors the draw excluded or skipped, by name, with the reason.
fn exclusion_lines(
    detail: &crate::jobs::draws::Detail,
    name_of: &dyn Fn(&str) -> String,
) -> Vec<ExclusionLine> {
    detail
        .exclusions
        .iter()
        .map(|e| ExclusionLine {
            kind: if e.entity_kind == crate::store::EntityKind::Target {
                "检查对象"
            } else {
                "检查人员"
            },
            name: detail
                .names
                .get(&e.entity_id)
                .cloned()
                .unwrap_or_else(|| name_of(&e.entity_id)),
            reason: e.detail.clone(),
        })
        .collect()
}

/// The visits of the targets on the page shown (`lines`), as the changes left them: what the
/// change forms offer.
fn standing_on(
    lines: &[TargetLine],
    replayed: Option<&crate::jobs::change::Changes>,
    named: &dyn Fn(&str) -> String,
) -> Vec<StandingLine> {
    let on_page: std::collections::HashSet<&str> = lines.iter().map(|t| t.id.as_str()).collect();
    let mut standing = standing_lines(replayed, named);
    standing.retain(|v| on_page.contains(v.id.as_str()));
    standing
}

/// The visits as the changes left them, for the change forms (none when the draw's changes
/// cannot be replayed).
fn standing_lines(
    replayed: Option<&crate::jobs::change::Changes>,
    named: &dyn Fn(&str) -> String,
) -> Vec<StandingLine> {
    let Some(c) = replayed else {
        return Vec::new();
    };
    c.state
        .standing_visits()
        .map(|v| StandingLine {
            id: v.target_id.clone(),
            name: named(&v.target_id),
            team: v.team.iter().map(|x| (x.clone(), named(x))).collect(),
        })
        .collect()
}

/// The draw's detail with its folder: on a shared database a node without the folder of a
/// draw made on another node writes it first from the records (as `suiji regenerate` does),
/// so that any node lists and serves its files.
fn folder_here(
    app: &App,
    loaded: &crate::rules::Loaded,
    store: &dyn crate::store::ConsoleStore,
    detail: crate::jobs::draws::Detail,
) -> Result<crate::jobs::draws::Detail, Fail> {
    if app.database().is_none() || !detail.files.is_empty() {
        return Ok(detail);
    }
    let id = detail.draw.id;
    // One folder written at a time on this node: a second request for the same draw meanwhile
    // finds it written, instead of writing it again and moving the first one's aside.
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let detail = crate::jobs::draws::detail(loaded, store, id)
        .map_err(|e| Fail::of(&e))?
        .ok_or(Fail::NotFound)?;
    if !detail.files.is_empty() {
        return Ok(detail);
    }
    let input = crate::jobs::regenerate::Input { draw: Some(id) };
    let out = &loaded.model.config.output_dir;
    for r in crate::jobs::regenerate::run(store, out, &input).map_err(|e| Fail::of(&e))? {
        if let crate::jobs::regenerate::Outcome::Failed(why) = r.outcome {
            tracing::warn!("cannot write the folder of draw #{id} on this node: {why}");
        }
    }
    crate::jobs::draws::detail(loaded, store, id)
        .map_err(|e| Fail::of(&e))?
        .ok_or(Fail::NotFound)
}

/// The loads the draw's inspectors carried in from the period's other draws (the manifest's
/// `carried_loads`, docs/draw-algorithm.md V2-16), by name, with their visits in this draw as
/// its changes left them.
fn carried_lines(
    loaded: &crate::rules::Loaded,
    store: &dyn crate::store::ConsoleStore,
    detail: &crate::jobs::draws::Detail,
    replayed: Option<&crate::jobs::change::Changes>,
) -> Vec<CarriedLine> {
    let Some(c) = replayed else {
        return Vec::new();
    };
    let carried = c.manifest.carried_loads.as_deref().unwrap_or(&[]);
    if carried.is_empty() {
        return Vec::new();
    }
    let cap = workload_cap(loaded, store, &c.manifest);
    let ids = carried.iter().map(|x| x.inspector_id.as_str()).collect();
    let names: std::collections::HashMap<String, String> =
        crate::jobs::draws::inspector_names(store, &detail.draw, &ids)
            .into_iter()
            .collect();
    let here = c.state.loads();
    carried
        .iter()
        .map(|x| {
            let id = x.inspector_id.as_str();
            let this = here.get(id).copied().unwrap_or(0);
            let total = x.load.saturating_add(this);
            CarriedLine {
                name: names
                    .get(id)
                    .or_else(|| detail.names.get(id))
                    .cloned()
                    .unwrap_or_else(|| format!("（名录中无此人员：{id}）")),
                carried: x.load,
                this,
                total,
                cap,
                over: cap.map_or(0, |cap| total.saturating_sub(cap)),
            }
        })
        .collect()
}

/// The workload cap the draw staffed its teams under: its matter's in the rules it was drawn
/// by — the held rules when they are those, else the archived ones (`None` if unreadable).
fn workload_cap(
    loaded: &crate::rules::Loaded,
    store: &dyn crate::store::ConsoleStore,
    m: &crate::draw::manifest::Manifest,
) -> Option<u32> {
    if loaded.model.rules_hash == m.rules_hash {
        return loaded.model.matter(&m.matter).map(|x| x.workload_cap);
    }
    crate::jobs::verify::archived_workload_cap(m, store).ok()
}

/// The substitutes whose inherited team has a member with a 回避 for them, as the page notes
/// them; a failing `conflict` hook is noted as such.
fn inherited_lines(
    store: &dyn crate::store::ConsoleStore,
    id: i64,
    replayed: Option<&crate::jobs::change::Changes>,
    named: &dyn Fn(&str) -> String,
) -> Vec<InheritedLine> {
    let Some(c) = replayed else {
        return Vec::new();
    };
    match crate::jobs::change::inherited(store, id, c) {
        Ok(found) => found
            .into_iter()
            .map(|(target, members)| InheritedLine {
                replaces: c
                    .state
                    .visits
                    .iter()
                    .find(|v| v.target_id == target)
                    .and_then(|v| v.replaces.as_deref())
                    .map(named)
                    .unwrap_or_default(),
                target: named(&target),
                members: members
                    .iter()
                    .map(|m| {
                        let how = if m.declared {
                            "申报回避"
                        } else {
                            "规则认定回避"
                        };
                        (named(&m.inspector_id), how)
                    })
                    .collect(),
                problem: None,
            })
            .collect(),
        Err(e) => vec![InheritedLine {
            target: String::new(),
            replaces: String::new(),
            members: Vec::new(),
            problem: Some(crate::diag::zh::message(&crate::diag::chain(&e))),
        }],
    }
}

fn change_lines(
    detail: &crate::jobs::draws::Detail,
    named: &dyn Fn(&str) -> String,
) -> Vec<ChangeLine> {
    detail
        .changes
        .iter()
        .map(|c| {
            let (what, cause) =
                crate::rules::names::change_text(&c.kind, c.replacement.is_some(), &c.cause);
            ChangeLine {
                id: c.id,
                at: c.changed_at.replace('T', " ").chars().take(19).collect(),
                what,
                target: named(&c.target_id),
                inspector: c.inspector_id.as_deref().map(named).unwrap_or_default(),
                cause,
                replacement: c
                    .replacement
                    .as_deref()
                    .map_or_else(|| "—".to_string(), named),
                reason: c.reason.clone(),
                by: names::actor(&c.actor),
            }
        })
        .collect()
}

/// The form of a change after the draw (抽取后变更).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ChangeForm {
    /// `target` (替补), `mark` (不在范围, no substitute), `inspector` (人员调整).
    #[serde(default)]
    what: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    inspector: String,
    /// `target|inspector`, as the 人员调整 form's one choice gives them.
    #[serde(default)]
    pair: String,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    reason: String,
}

/// Records a change after the draw: the replacement is the one the draw fixed.
pub(crate) async fn change(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<ChangeForm>,
) -> Result<Response, Fail> {
    viewer.may(Action::Draw)?;
    let (actor, now) = (viewer.user.actor(), app.stamp());
    let user = viewer.user.clone();
    let app2 = app.clone();
    let refusal = blocking(move || {
        seen(&app2, id, &user)?;
        let mut store = app2.store(Some(&user))?;
        let (target, inspector) = match form.pair.split_once('|') {
            Some((t, x)) => (t.to_string(), x.to_string()),
            None => (form.target.clone(), form.inspector.clone()),
        };
        let inspector = (form.what == "inspector").then(|| inspector.trim().to_string());
        let cause = match form.what.as_str() {
            "mark" => "out_of_scope".to_string(),
            _ => form.cause.clone(),
        };
        let input = crate::jobs::change::Input {
            draw_id: id,
            target_id: target.trim().to_string(),
            inspector_id: inspector,
            cause,
            no_replacement: form.what == "mark",
            expect: None,
            reason: form.reason.clone(),
            actor,
            now,
        };
        Ok(match crate::jobs::change::record(&mut *store, &input) {
            Ok(_) => None,
            Err(e) => Some(crate::diag::zh::message(&crate::diag::chain(&e))),
        })
    })
    .await?;
    let Some(refusal) = refusal else {
        return Ok(axum::response::Redirect::to(&format!("/draws/{id}#changes")).into_response());
    };
    let user = viewer.user.clone();
    let app2 = app.clone();
    let draw = blocking(move || view(&app2, id, &user, &PageQuery::default())).await?;
    render(&Detail {
        may_change: viewer.may(Action::Draw).is_ok() && draw.active,
        viewer,
        draw,
        verdict: None,
        refusal: Some(refusal),
    })
}

pub(crate) async fn detail(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(asked): Query<PageQuery>,
) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    let user = viewer.user.clone();
    let app2 = app.clone();
    let draw = blocking(move || view(&app2, id, &user, &asked)).await?;
    render(&Detail {
        may_change: viewer.may(Action::Draw).is_ok() && draw.active,
        viewer,
        draw,
        verdict: None,
        refusal: None,
    })
}

/// 复核: re-runs the draw from its archived inputs.
pub(crate) async fn verify(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, Fail> {
    viewer.may(Action::Verify)?;
    let user = viewer.user.clone();
    let app2 = app.clone();
    let (draw, verdict) = blocking(move || {
        let draw = view(&app2, id, &user, &PageQuery::default())?;
        let store = app2.store(Some(&user))?;
        let verdict = crate::jobs::verify::recorded_draw(&*store, id)
            .map_err(|e| Fail::of(&e))?
            .ok_or(Fail::NotFound)?;
        Ok((draw, verdict))
    })
    .await?;
    let verdict = match verdict {
        crate::jobs::verify::Verdict::Identical => (true, Vec::new()),
        crate::jobs::verify::Verdict::Differs(d) => (false, d),
    };
    render(&Detail {
        may_change: viewer.may(Action::Draw).is_ok() && draw.active,
        viewer,
        draw,
        verdict: Some(verdict),
        refusal: None,
    })
}

/// One of a draw's files, by its name in the draw's folder.
pub(crate) async fn file(
    State(app): State<App>,
    viewer: Viewer,
    Path((id, name)): Path<(i64, String)>,
) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    if !may_download(&viewer.user, &name) {
        return Err(Fail::Forbidden);
    }
    let user = viewer.user.clone();
    let app2 = app.clone();
    let bytes = blocking(move || {
        seen(&app2, id, &user)?;
        let loaded = app2.rules()?;
        let store = app2.store(Some(&user))?;
        crate::jobs::draws::file(&loaded, &*store, id, &name)
            .map_err(|e| Fail::of(&e))?
            .ok_or(Fail::NotFound)
            .map(|b| (name, b))
    })
    .await?;
    let (name, bytes) = bytes;
    Ok(download(&name, bytes))
}

/// Whether `user` may have the draw's file `name`: the audit bundle (the rules, the inspectors
/// with their 回避 and the registry snapshot, 不公开) only those who read the audit log
/// (auditors, administrators); every other file anyone who reads the draw.
fn may_download(user: &crate::jobs::users::User, name: &str) -> bool {
    name != crate::jobs::bundle::AUDIT_FILE || user.may(Action::ReadAudit)
}

/// A file as a download (HTML opens in the browser).
pub(crate) fn download(name: &str, bytes: Vec<u8>) -> Response {
    let kind = match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        Some("md") => "text/markdown; charset=utf-8",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    };
    let disposition = if kind.starts_with("text/html") {
        "inline".to_string()
    } else {
        format!("attachment; filename=\"{}\"", name.replace('"', ""))
    };
    let mut res = (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response();
    if kind.starts_with("text/html") {
        // Generated documents carry their own styles; nothing in them runs.
        let csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
        if let Ok(v) = axum::http::HeaderValue::from_str(csp) {
            res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    res
}
