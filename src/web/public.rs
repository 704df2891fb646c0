//! The public site under `/public`, without login: the same pages `suiji publish --site` writes
//! as static files (one renderer, [`files`]), linked relatively so that both work alike. Only
//! what `jobs::site` puts in the site model is shown: public target fields, never inspectors.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::{App, Fail, blocking};
use crate::jobs::site::{PUBLIC_BUNDLE, Site, SiteDraw, SiteNotice, SiteYear};

/// The site's assets: stylesheet, the verifier and its SHA-256 (plain files, no build step).
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "static/site.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/site.css"),
    ),
    (
        "static/sha256.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/sha256.js"),
    ),
    (
        "static/verify.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/verify.js"),
    ),
];

/// The public pages' policy: scripts and fetches from the site itself only.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "public/index.html")]
struct IndexPage<'a> {
    site: &'a Site,
    root: &'static str,
    dated: String,
}

#[derive(Template)]
#[template(path = "public/matters.html")]
struct MattersPage<'a> {
    site: &'a Site,
    root: &'static str,
    dated: String,
}

#[derive(Template)]
#[template(path = "public/verify.html")]
struct VerifyPage<'a> {
    site: &'a Site,
    root: &'static str,
    dated: String,
}

#[derive(Template)]
#[template(path = "public/commitments.html")]
struct CommitmentsPage<'a> {
    site: &'a Site,
    root: &'static str,
    dated: String,
}

#[derive(Template)]
#[template(path = "public/year.html")]
struct YearPage<'a> {
    site: &'a Site,
    root: &'static str,
    dated: String,
    year: &'a SiteYear,
}

#[derive(Template)]
#[template(path = "public/plan.html")]
struct PlanPage<'a> {
    site: &'a Site,
    root: &'static str,
    dated: String,
    year: &'a SiteYear,
}

#[derive(Template)]
#[template(path = "public/draw.html")]
struct DrawPage<'a> {
    site: &'a Site,
    root: &'static str,
    dated: String,
    d: &'a SiteDraw,
}

#[derive(Template)]
#[template(path = "public/notice.html")]
struct NoticePage<'a> {
    site: &'a Site,
    root: &'static str,
    dated: String,
    d: &'a SiteDraw,
    n: &'a SiteNotice,
}

/// Every page of the site and its assets, as (path relative to the site's root, bytes). The
/// public bundles are files of their own (see [`bundles`]).
pub fn files(site: &Site) -> Result<Vec<(String, Vec<u8>)>, askama::Error> {
    let updated = format!("本页更新时间：{}", site.built_at);
    let mut out = vec![
        (
            "index.html".to_string(),
            IndexPage {
                site,
                root: "",
                dated: updated.clone(),
            }
            .render()?,
        ),
        (
            "matters.html".to_string(),
            MattersPage {
                site,
                root: "",
                dated: updated.clone(),
            }
            .render()?,
        ),
        (
            "verify.html".to_string(),
            VerifyPage {
                site,
                root: "",
                dated: updated.clone(),
            }
            .render()?,
        ),
        (
            "commitments.html".to_string(),
            CommitmentsPage {
                site,
                root: "",
                dated: updated.clone(),
            }
            .render()?,
        ),
    ];
    for year in &site.years {
        let y = year.year;
        let page = YearPage {
            site,
            root: "../",
            dated: updated.clone(),
            year,
        };
        out.push((format!("{y}/index.html"), page.render()?));
        let page = PlanPage {
            site,
            root: "../",
            dated: updated.clone(),
            year,
        };
        out.push((format!("{y}/plan.html"), page.render()?));
    }
    for d in site.draws() {
        out.extend(draw_pages(site, d)?);
    }
    let mut out: Vec<(String, Vec<u8>)> = out
        .into_iter()
        .map(|(p, html)| (p, html.into_bytes()))
        .collect();
    out.extend(ASSETS.iter().map(|(p, _, b)| (p.to_string(), b.to_vec())));
    Ok(out)
}

/// A draw's list and, once published, its results notice.
fn draw_pages(site: &Site, d: &SiteDraw) -> Result<Vec<(String, String)>, askama::Error> {
    let page = DrawPage {
        site,
        root: "../",
        dated: format!("发布时间：{}", d.marks.drawn_at),
        d,
    };
    let mut out = vec![(format!("draws/{}.html", d.id), page.render()?)];
    if let Some(n) = &d.notice {
        let page = NoticePage {
            site,
            root: "../../",
            dated: format!("发布时间：{}", n.published_at),
            d,
            n,
        };
        out.push((format!("draws/{}/notice.html", d.id), page.render()?));
    }
    Ok(out)
}

/// The public bundles: (path relative to the site's root, the draw folder's file).
pub fn bundles(site: &Site) -> Vec<(String, std::path::PathBuf)> {
    site.draws()
        .filter_map(|d| {
            d.bundle_file
                .as_ref()
                .map(|f| (format!("draws/{}/{PUBLIC_BUNDLE}", d.id), f.clone()))
        })
        .collect()
}

fn content_type(path: &str) -> &'static str {
    if let Some((_, t, _)) = ASSETS.iter().find(|(p, _, _)| *p == path) {
        return t;
    }
    if path.ends_with(".json") {
        "application/json"
    } else {
        "text/html; charset=utf-8"
    }
}

fn answer(path: &str, bytes: Vec<u8>) -> Response {
    let mut res = ([(header::CONTENT_TYPE, content_type(path))], bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    res
}

/// `/public` → `/public/`, so that relative links resolve.
pub(crate) async fn bare() -> Redirect {
    Redirect::permanent("/public/")
}

/// `/public/`: the index.
pub(crate) async fn index(state: State<App>) -> Result<Response, Fail> {
    page(state, Path("index.html".to_string())).await
}

/// `/public/<path>`: a page, an asset or a public bundle.
pub(crate) async fn page(
    State(app): State<App>,
    Path(path): Path<String>,
) -> Result<Response, Fail> {
    if let Some((p, _, bytes)) = ASSETS.iter().find(|(p, _, _)| *p == path) {
        return Ok(answer(p, bytes.to_vec()));
    }
    let config = app.config();
    let now = app.now().naive_local();
    let wanted = path.clone();
    let bytes = blocking(move || {
        let path = wanted;
        let cx = crate::jobs::open_read_only(&config).map_err(|e| Fail::of(&e))?;
        let site = crate::jobs::site::build(&cx, now).map_err(|e| Fail::of(&e))?;
        if let Some((_, file)) = bundles(&site).into_iter().find(|(p, _)| *p == path) {
            return std::fs::read(&file).map_err(|e| Fail::Failed(format!("读取数据包失败：{e}")));
        }
        let all = files(&site).map_err(|e| Fail::Failed(format!("页面生成失败：{e}")))?;
        all.into_iter()
            .find(|(p, _)| *p == path)
            .map(|(_, b)| b)
            .ok_or(Fail::NotFound)
    })
    .await?;
    Ok(answer(&path, bytes))
}
