//! 结果录入: an inspector's own tasks with a form per target (a national result category per
//! checklist item, the day, remarks), or a filled-in result sheet uploaded; the others with
//! the right see every task of their departments, read-only.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::pages::matter_names;
use super::session::Viewer;
use super::{App, Fail, blocking, names, render};
use crate::jobs::users::Action;

pub(crate) struct ItemLine {
    pub id: String,
    pub text: String,
    pub category: String,
    pub published: bool,
}

pub(crate) struct TaskLine {
    pub draw: i64,
    pub draw_label: String,
    pub target: String,
    pub target_name: String,
    pub team: String,
    pub due: String,
    pub state: &'static str,
    pub editable: bool,
    pub items: Vec<ItemLine>,
    pub date: String,
    pub remarks: String,
}

#[derive(Template)]
#[template(path = "results.html")]
struct Results {
    viewer: Viewer,
    /// The page of the tasks shown.
    tasks: Vec<TaskLine>,
    paging: super::paging::Paging,
    search_hint: &'static str,
    categories: Vec<&'static str>,
    today: String,
    outcome: Option<(bool, String)>,
    problems: Vec<super::registries::ProblemLine>,
}

async fn page(
    app: &App,
    viewer: Viewer,
    outcome: Option<(bool, String)>,
    problems: Vec<super::registries::ProblemLine>,
) -> Result<Response, Fail> {
    page_of(
        app,
        viewer,
        (outcome, problems),
        super::paging::PageQuery::default(),
    )
    .await
}

/// The tasks page at the page `asked` for (searched by target id or name).
async fn page_of(
    app: &App,
    viewer: Viewer,
    (outcome, problems): (Option<(bool, String)>, Vec<super::registries::ProblemLine>),
    asked: super::paging::PageQuery,
) -> Result<Response, Fail> {
    let user = viewer.user.clone();
    let can_enter = viewer.user.may(Action::EnterResults);
    let app2 = app.clone();
    let tasks = blocking(move || {
        let loaded = app2.rules()?;
        let store = app2.store(Some(&user))?;
        let tasks = listed(&loaded, &*store, &user)?;
        let (tasks, paging) = super::paging::paged(tasks, &asked, "tasks", |t, q| {
            t.target_id == q || t.target_name.contains(q)
        });
        let lines = tasks
            .into_iter()
            .map(|t| task_line(&loaded, t, can_enter))
            .collect();
        Ok((lines, paging))
    })
    .await?;
    let (tasks, paging) = tasks;
    render(&Results {
        viewer,
        tasks,
        paging,
        search_hint: "对象编号或名称",
        categories: crate::jobs::results::categories().to_vec(),
        today: app.now().format("%Y-%m-%d").to_string(),
        outcome,
        problems,
    })
}

fn task_line(
    loaded: &crate::rules::Loaded,
    t: crate::jobs::results::Task,
    can_enter: bool,
) -> TaskLine {
    let r = &t.draw.record;
    let first = t.items.iter().find_map(|i| i.2.clone());
    TaskLine {
        draw: t.draw.id,
        draw_label: format!(
            "{} · {}",
            matter_names(loaded, &r.matter).0,
            names::period(&r.period)
        ),
        target: t.target_id.clone(),
        target_name: t.target_name.clone(),
        team: t
            .team
            .iter()
            .map(|m| m.1.as_str())
            .collect::<Vec<_>>()
            .join("、"),
        due: r.due_date.clone(),
        state: if t.published() {
            "已公示"
        } else if t.complete() {
            "已录入，待公示"
        } else {
            "待录入"
        },
        editable: can_enter && !t.published(),
        date: first
            .as_ref()
            .map(|r| r.inspection_date.to_string())
            .unwrap_or_default(),
        remarks: first.map(|r| r.remarks).unwrap_or_default(),
        items: t
            .items
            .into_iter()
            .map(|(id, text, r)| ItemLine {
                id,
                text,
                published: r.as_ref().is_some_and(|r| r.published_at.is_some()),
                category: r.map(|r| r.category.to_string()).unwrap_or_default(),
            })
            .collect(),
    }
}

/// The tasks `user` is shown: an inspector account its own not yet published, the others
/// every task of the departments they see.
fn listed(
    loaded: &crate::rules::Loaded,
    store: &dyn crate::store::DrawStore,
    user: &crate::jobs::users::User,
) -> Result<Vec<crate::jobs::results::Task>, Fail> {
    let mine = if user.roles.contains(&crate::jobs::users::Role::Inspector) {
        Some(user.inspector.clone().unwrap_or_default())
    } else {
        None
    };
    crate::jobs::results::listed_tasks(loaded, store, mine.as_deref(), |d| user.sees(d))
        .map_err(|e| Fail::of(&e))
}

/// 下载任务表: every task the page lists (not only the page shown) as a task list to fill in
/// and upload, the teams as the changes after each draw left them.
pub(crate) async fn sheet(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::ReadResults)?;
    let user = viewer.user.clone();
    let app2 = app.clone();
    let today = app.now().date_naive();
    let bytes = blocking(move || {
        let loaded = app2.rules()?;
        let store = app2.store(Some(&user))?;
        let tasks = listed(&loaded, &*store, &user)?;
        // An inspector's list names the inspector as the registry has them; another's the
        // account.
        let who = user
            .inspector
            .as_deref()
            .and_then(|id| crate::jobs::results::inspector_label(&loaded, id).ok())
            .unwrap_or_else(|| user.name.clone());
        crate::jobs::results::task_sheet(&loaded, &*store, &tasks, (&who, today))
            .map_err(|e| Fail::of(&e))
    })
    .await?;
    Ok(super::draws::download("tasks.csv", bytes))
}

pub(crate) async fn show(
    State(app): State<App>,
    viewer: Viewer,
    axum::extract::Query(asked): axum::extract::Query<super::paging::PageQuery>,
) -> Result<Response, Fail> {
    viewer.may(Action::ReadResults)?;
    page_of(&app, viewer, (None, Vec::new()), asked).await
}

/// A target's form: `item:<id>` = category for each item, `date`, `remarks`.
pub(crate) async fn enter(
    State(app): State<App>,
    viewer: Viewer,
    Path((draw, target)): Path<(i64, String)>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Result<Response, Fail> {
    viewer.may(Action::EnterResults)?;
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let input = crate::jobs::results::ItemsInput {
        draw_id: draw,
        target,
        items: form
            .iter()
            .filter_map(|(n, v)| n.strip_prefix("item:").map(|i| (i.to_string(), v.clone())))
            .collect(),
        date: field("date"),
        remarks: field("remarks"),
        inspector: viewer.user.inspector.clone().unwrap_or_default(),
        actor: viewer.user.actor(),
        today: app.now().date_naive(),
        now: app.stamp(),
    };
    let user = viewer.user.clone();
    let app2 = app.clone();
    let result = blocking(move || {
        let loaded = app2.rules()?;
        let mut store = app2.store(Some(&user))?;
        let visible =
            crate::jobs::results::tasks(&loaded, &*store, user.inspector.as_deref(), |d| {
                user.sees(d)
            })
            .map_err(|e| Fail::of(&e))?
            .iter()
            .any(|t| t.draw.id == input.draw_id && t.target_id == input.target);
        if !visible {
            return Err(Fail::Forbidden);
        }
        Ok(crate::jobs::results::record_items(
            &loaded,
            &mut *store,
            &input,
        ))
    })
    .await?;
    match result {
        Ok(_) => Ok(Redirect::to("/results").into_response()),
        Err(crate::jobs::results::ResultsError::Invalid { problems, .. }) => {
            let lines = problems.iter().map(super::registries::problem).collect();
            let mut res = page(
                &app,
                viewer,
                Some((false, "结果有误，未作任何记录。".into())),
                lines,
            )
            .await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(Fail::of(&e)),
    }
}

/// A filled-in result sheet (the draw's task list), all rows or none.
pub(crate) async fn upload(
    State(app): State<App>,
    viewer: Viewer,
    mut form: Multipart,
) -> Result<Response, Fail> {
    viewer.may(Action::EnterResults)?;
    let bad = |_| Fail::Invalid("上传内容无法读取，请重新选择文件上传。".into());
    let mut file = None;
    while let Some(field) = form.next_field().await.map_err(bad)? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_string();
            file = Some((name, field.bytes().await.map_err(bad)?.to_vec()));
        }
    }
    let (name, bytes) = file
        .filter(|(n, b)| !n.is_empty() && !b.is_empty())
        .ok_or_else(|| Fail::Invalid("请选择要上传的结果表。".into()))?;
    let (actor, now, today) = (viewer.user.actor(), app.stamp(), app.now().date_naive());
    let signer = viewer.user.inspector.clone();
    let (app2, user) = (app.clone(), viewer.user.clone());
    let result = blocking(move || {
        let loaded = app2.rules()?;
        let mut store = app2.store(Some(&user))?;
        let ext = std::path::Path::new(&name)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("csv")
            .to_ascii_lowercase();
        let dir =
            tempfile::tempdir().map_err(|e| Fail::Failed(format!("无法保存上传的文件：{e}")))?;
        let safe: String = name.chars().filter(|c| !matches!(c, '/' | '\\')).collect();
        let path = dir.path().join(if safe.is_empty() {
            format!("upload.{ext}")
        } else {
            safe
        });
        std::fs::write(&path, &bytes)
            .map_err(|e| Fail::Failed(format!("无法保存上传的文件：{e}")))?;
        let input = crate::jobs::results::ImportInput {
            files: vec![path],
            dry_run: false,
            actor,
            signer,
            today,
            now,
        };
        Ok(crate::jobs::results::import(&loaded, &mut *store, &input))
    })
    .await?;
    match result {
        Ok(imported) => {
            let text = format!(
                "已导入 {} 条结果（{} 条与已录入的相同）。",
                imported.new_results(),
                imported.unchanged
            );
            page(&app, viewer, Some((true, text)), Vec::new()).await
        }
        Err(crate::jobs::results::ResultsError::Invalid { problems, .. }) => {
            let lines = problems.iter().map(super::registries::problem).collect();
            let mut res = page(
                &app,
                viewer,
                Some((false, "结果表有误，未导入任何结果。".into())),
                lines,
            )
            .await?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(Fail::of(&e)),
    }
}
