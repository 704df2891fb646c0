//! 手动抽取: a draw made now by an operator with a witnessed seed. The page first shows what
//! the seed text hashes to (the seed the draw will use), then draws on confirmation. A matter
//! and period already drawn can only be drawn again as a redraw: with a reason, asked by an
//! operator and approved by an approver (the old draw is kept).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{department_of, matter_names};
use super::session::Viewer;
use super::{App, Fail, blocking, names, render};
use crate::jobs::users::Action;

/// The seed input: one component, so that a later commit–reveal seed replaces it in one place.
pub(crate) struct SeedInput {
    pub text: String,
    /// The seed the text gives, as 64 hex digits, once previewed.
    pub hash: Option<String>,
    pub source: String,
}

pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "manual.html")]
struct Manual {
    viewer: Viewer,
    choices: Vec<Choice>,
    seed: SeedInput,
    /// The (matter, period) chosen is already drawn: a redraw needs a reason and approval.
    existing: Option<i64>,
    reason: String,
    problem: Option<String>,
    requests: Vec<RequestLine>,
}

pub(crate) struct RequestLine {
    pub id: i64,
    pub draw: i64,
    pub label: String,
    pub reason: String,
    pub by: String,
    pub at: String,
    pub state: String,
    pub pending: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DrawForm {
    #[serde(default)]
    choice: String,
    #[serde(default)]
    seed: String,
    #[serde(default)]
    reason: String,
    /// Set by the confirmation button, after the seed's hash was shown.
    #[serde(default)]
    confirm: String,
}

/// The (matter, period) pairs of this year and last that the user's departments have.
fn choices(
    app: &App,
    user: &crate::jobs::users::User,
    year: i32,
    chosen: &str,
) -> Result<Vec<Choice>, Fail> {
    let loaded = app.rules()?;
    let mut out = Vec::new();
    for y in [year, year - 1] {
        let input = crate::jobs::schedule::Input {
            year: y,
            provisional: false,
            matter: None,
        };
        let Ok(schedule) = crate::jobs::schedule::run(&loaded, &input) else {
            continue;
        };
        for d in schedule
            .draws
            .iter()
            .filter(|d| user.sees(&department_of(&loaded, &d.matter)))
        {
            let value = format!("{}|{}", d.matter, d.period.id);
            if out.iter().any(|c: &Choice| c.value == value) {
                continue;
            }
            let label = format!(
                "{} · {}（计划 {}）",
                matter_names(&loaded, &d.matter).0,
                names::period(&d.period.id),
                d.issue_date()
            );
            out.push(Choice {
                selected: value == chosen,
                value,
                label,
            });
        }
    }
    Ok(out)
}

async fn page(
    app: &App,
    viewer: Viewer,
    form: DrawForm,
    problem: Option<String>,
) -> Result<Response, Fail> {
    let user = viewer.user.clone();
    let year = chrono::Datelike::year(&app.now());
    let chosen = form.choice.clone();
    let app2 = app.clone();
    let (choices, existing, requests) = blocking(move || {
        let choices = choices(&app2, &user, year, &chosen)?;
        let store = app2.store(Some(&user))?;
        let existing = match chosen.split_once('|') {
            Some((m, p)) => store
                .active_draw(m, p)
                .map_err(|e| Fail::of(&e))?
                .map(|d| d.id),
            None => None,
        };
        let loaded = app2.rules()?;
        let requests = request_lines(&loaded, &store, &user)?;
        Ok((choices, existing, requests))
    })
    .await?;
    let seed = preview(&form.seed);
    render(&Manual {
        viewer,
        choices,
        seed,
        existing,
        reason: form.reason,
        problem,
        requests,
    })
}

fn request_lines(
    loaded: &crate::rules::Loaded,
    store: &crate::store::Store,
    user: &crate::jobs::users::User,
) -> Result<Vec<RequestLine>, Fail> {
    let all = crate::jobs::redraw::list(store).map_err(|e| Fail::of(&e))?;
    Ok(all
        .into_iter()
        .filter(|r| user.sees(&department_of(loaded, &r.matter)))
        .map(|r| RequestLine {
            id: r.id,
            draw: r.draw_id,
            label: format!(
                "{} · {}",
                matter_names(loaded, &r.matter).0,
                names::period(&r.period)
            ),
            reason: r.reason.clone(),
            by: names::actor(&r.requested_by),
            at: r.requested_at.replace('T', " ").chars().take(16).collect(),
            pending: r.decided.is_none(),
            state: match &r.decided {
                None => "待法制审核".into(),
                Some((true, who, _, Some(id))) => {
                    format!("已批准（{}），新抽取第 {id} 号", names::actor(who))
                }
                Some((true, who, _, None)) => format!("已批准（{}）", names::actor(who)),
                Some((false, who, _, _)) => format!("未批准（{}）", names::actor(who)),
            },
        })
        .collect())
}

/// The seed a text gives, shown before drawing.
fn preview(text: &str) -> SeedInput {
    let choice = crate::jobs::issue::seed::SeedChoice::Given(text.to_string());
    match (
        text.trim().is_empty(),
        crate::jobs::issue::seed::resolve(&choice),
    ) {
        (false, Ok((seed, source))) => SeedInput {
            text: text.to_string(),
            hash: Some(seed.to_hex()),
            source: names::seed_source(&source),
        },
        _ => SeedInput {
            text: text.to_string(),
            hash: None,
            source: String::new(),
        },
    }
}

pub(crate) async fn form(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::Redraws)?;
    page(&app, viewer, DrawForm::default(), None).await
}

/// Previews (no `confirm`) or draws (`confirm` after a preview of the same seed).
pub(crate) async fn submit(
    State(app): State<App>,
    viewer: Viewer,
    axum::Form(form): axum::Form<DrawForm>,
) -> Result<Response, Fail> {
    viewer.may(Action::Draw)?;
    let Some((matter, period)) = form
        .choice
        .split_once('|')
        .map(|(m, p)| (m.to_string(), p.to_string()))
    else {
        return page(&app, viewer, form, Some("请选择抽查事项和期次。".into())).await;
    };
    if form.seed.trim().is_empty() {
        return page(
            &app,
            viewer,
            form,
            Some("请填写见证种子（例如现场摇号的数字）。".into()),
        )
        .await;
    }
    if form.confirm != preview(&form.seed).hash.unwrap_or_default() {
        // First the hash is shown; the draw is made when it is confirmed unchanged.
        return page(&app, viewer, form, None).await;
    }
    let (actor, now) = (viewer.user.actor(), app.stamp());
    let (seed, reason) = (form.seed.clone(), form.reason.trim().to_string());
    let user = viewer.user.clone();
    let app2 = app.clone();
    let outcome = blocking(move || {
        let loaded = app2.rules()?;
        if !user.sees(&department_of(&loaded, &matter)) {
            return Err(Fail::Forbidden);
        }
        let store = app2.store(Some(&user))?;
        if let Some(active) = store
            .active_draw(&matter, &period)
            .map_err(|e| Fail::of(&e))?
        {
            if reason.is_empty() {
                return Ok(Err(
                    "该事项本期已抽取；如需重新抽取，请填写原因，提交法制审核批准。".to_string(),
                ));
            }
            let mut store = store;
            let req = crate::jobs::redraw::Ask {
                draw_id: active.id,
                reason,
                seed,
                actor,
                at: now,
            };
            crate::jobs::redraw::ask(&mut store, &req).map_err(|e| Fail::of(&e))?;
            return Ok(Ok(None));
        }
        let input = crate::jobs::draw::Input {
            matter,
            period,
            seed: crate::jobs::issue::seed::SeedChoice::Given(seed),
            reveal: None,
            dry_run: false,
            redraw: None,
            actor,
            now,
        };
        let drawn = crate::jobs::draw::run_as(&loaded, &input, Some(store.origin()))
            .map_err(|e| Fail::of(&e))?;
        Ok(Ok(drawn.issued.draw_id))
    })
    .await?;
    match outcome {
        Ok(Some(id)) => Ok(Redirect::to(&format!("/draws/{id}")).into_response()),
        Ok(None) => Ok(Redirect::to("/draws/new").into_response()),
        Err(problem) => page(&app, viewer, form, Some(problem)).await,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Decision {
    #[serde(default)]
    approve: String,
}

/// An approver's decision on a redraw request; an approval makes the redraw at once.
pub(crate) async fn decide(
    State(app): State<App>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(d): axum::Form<Decision>,
) -> Result<Response, Fail> {
    viewer.may(Action::ApproveRedraw)?;
    let (actor, now) = (viewer.user.actor(), app.stamp());
    let approve = d.approve == "yes";
    let user = viewer.user.clone();
    let app2 = app.clone();
    blocking(move || {
        let loaded = app2.rules()?;
        let mut store = app2.store(Some(&user))?;
        let input = crate::jobs::redraw::Decide {
            id,
            approve,
            actor,
            at: now,
        };
        crate::jobs::redraw::decide(&loaded, &mut store, &input, |m| {
            user.sees(&department_of(&loaded, m))
        })
        .map_err(|e| Fail::of(&e))
    })
    .await?;
    Ok(Redirect::to("/draws/new").into_response())
}
