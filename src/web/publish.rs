//! 结果公示 (what is ready, deadlines, publishing) and 年度报告 (the year's report).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::pages::{NoticeLine, matter_names};
use super::session::Viewer;
use super::{App, Fail, blocking, names, render};
use crate::jobs::users::{Action, User};

pub(crate) struct ReadyLine {
    pub draw: i64,
    pub label: String,
    pub targets: usize,
    pub on_time: usize,
}

#[derive(Template)]
#[template(path = "publish.html")]
struct Publish {
    viewer: Viewer,
    ready: Vec<ReadyLine>,
    notices: Vec<NoticeLine>,
    outcome: Option<String>,
}

/// The matters a publication by `user` covers: every one, or their department's.
fn matters_of(loaded: &crate::rules::Loaded, user: &User) -> Vec<Option<String>> {
    match &user.department {
        None => vec![None],
        Some(d) => loaded
            .model
            .matters()
            .filter(|m| &m.department == d)
            .map(|m| Some(m.id.clone()))
            .collect(),
    }
}

/// Publishes (or, on a dry run, works out) what is ready as of today for the user's matters.
fn publish(app: &App, user: &User, dry_run: bool) -> Result<Vec<ReadyLine>, Fail> {
    let mut cx = app.context(Some(user))?;
    let loaded = app.rules()?;
    let mut out = Vec::new();
    for matter in matters_of(&loaded, user) {
        let input = crate::jobs::publish::Input {
            as_of: None,
            today: app.now().date_naive(),
            now: app.stamp(),
            year: None,
            matter,
            period: None,
            dry_run,
            actor: user.actor(),
        };
        let published = crate::jobs::publish::run_on(&cx.loaded, &cx.cal, &mut *cx.store, &input)
            .map_err(|e| Fail::of(&e))?;
        out.extend(published.draws.iter().map(|d| ReadyLine {
            draw: d.draw_id,
            label: format!(
                "{} · {}",
                matter_names(&loaded, &d.matter).0,
                names::period(&d.period)
            ),
            targets: d.targets,
            on_time: d.on_time,
        }));
    }
    Ok(out)
}

async fn page(app: App, viewer: Viewer, dry_run: bool) -> Result<Response, Fail> {
    let config = app.config();
    let user = viewer.user.clone();
    let now = app.now().naive_local();
    let app2 = app.clone();
    let (ready, notices) = blocking(move || {
        let ready = publish(&app2, &user, dry_run)?;
        let cx = app2.context(Some(&user))?;
        let loaded = app2.rules()?;
        let draws = super::pages::visible_draws(&*cx.store, &loaded, &user)?;
        let input = crate::jobs::status::Input { now, within: 20 };
        let status = crate::jobs::status::run(&config, cx, &input).map_err(|e| Fail::of(&e))?;
        let notices = status
            .publication
            .iter()
            .map(|l| super::pages::notice(&loaded, l, &draws))
            .filter(|n| draws.iter().any(|d| d.0 == n.draw.id))
            .collect();
        Ok((ready, notices))
    })
    .await?;
    let outcome = (!dry_run).then(|| {
        let n: usize = ready.iter().map(|r| r.targets).sum();
        if n == 0 {
            "没有可公示的新结果。".to_string()
        } else {
            format!(
                "已公示 {n} 户的检查结果，公示时间 {}。",
                app.now().format("%Y-%m-%d %H:%M")
            )
        }
    });
    render(&Publish {
        viewer,
        ready,
        notices,
        outcome,
    })
}

pub(crate) async fn show(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::ReadPublication)?;
    page(app, viewer, true).await
}

pub(crate) async fn run(State(app): State<App>, viewer: Viewer) -> Result<Response, Fail> {
    viewer.may(Action::Publish)?;
    page(app, viewer, false).await
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    viewer: Viewer,
    year: i32,
    totals: crate::results::year::Counts,
    categories: Vec<(String, usize)>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct YearQuery {
    year: Option<i32>,
}

/// The year's report as `user` may see it: their department's only, when they have one.
fn report(
    app: &App,
    user: &User,
    year: i32,
    xlsx: bool,
) -> Result<(crate::results::year::YearFigures, Vec<u8>), Fail> {
    let cx = app.context(None)?;
    let today = app.now().date_naive();
    let as_of = if chrono::Datelike::year(&today) > year {
        chrono::NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(today)
    } else {
        today
    };
    crate::jobs::report::document(&cx, year, as_of, xlsx, &|d| user.sees(d))
        .map_err(|e| Fail::of(&e))
}

pub(crate) async fn report_page(
    State(app): State<App>,
    viewer: Viewer,
    Query(q): Query<YearQuery>,
) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    let year = q.year.unwrap_or_else(|| chrono::Datelike::year(&app.now()));
    let (app2, user) = (app.clone(), viewer.user.clone());
    let (figures, _) = blocking(move || report(&app2, &user, year, false)).await?;
    render(&ReportPage {
        viewer,
        year,
        totals: figures.totals,
        categories: figures.categories,
    })
}

pub(crate) async fn report_document(
    State(app): State<App>,
    viewer: Viewer,
    Path((year, format)): Path<(i32, String)>,
) -> Result<Response, Fail> {
    viewer.may(Action::Read)?;
    let xlsx = match format.as_str() {
        "html" => false,
        "xlsx" => true,
        _ => return Err(Fail::NotFound),
    };
    let (app2, user) = (app.clone(), viewer.user.clone());
    let (_, bytes) = blocking(move || report(&app2, &user, year, xlsx)).await?;
    let name = format!("report-{year}.{format}");
    Ok(super::draws::download(&name, bytes))
}

/// The export for the national enterprise credit publicity system (`publish --credit`) of
/// `year`, as CSV or XLSX: the results published so far (of the user's department, when
/// they have one).
pub(crate) async fn credit_document(
    State(app): State<App>,
    viewer: Viewer,
    Path((year, format)): Path<(i32, String)>,
) -> Result<Response, Fail> {
    viewer.may(Action::ReadPublication)?;
    if format != "csv" && format != "xlsx" {
        return Err(Fail::NotFound);
    }
    let (app2, user) = (app.clone(), viewer.user.clone());
    let xlsx = format == "xlsx";
    let bytes = blocking(move || {
        let cx = app2.context(None)?;
        let export = crate::jobs::credit::build_for(&cx, Some(year), &|d| user.sees(d))
            .map_err(|e| Fail::of(&e))?;
        if xlsx {
            export
                .xlsx(app2.now().date_naive())
                .map_err(|e| Fail::Failed(format!("无法生成 Excel 文件：{e}")))
        } else {
            Ok(export.csv())
        }
    })
    .await?;
    Ok(super::draws::download(
        &format!("credit-{year}.{format}"),
        bytes,
    ))
}
