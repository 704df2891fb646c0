//! The public site under `/public`, without login: the same pages `suiji publish --site` writes
//! as static files (one renderer, [`files`]), linked relatively so that both work alike. Only
//! what `jobs::site` puts in the site model is shown: public target fields, never inspectors.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::kept::Served;
use super::{App, Fail, blocking};
use crate::jobs::site::{
    FeedItem, PUBLIC_BUNDLE, PUBLIC_CHANGES, Site, SiteDraw, SiteNotice, SiteYear,
};
use crate::output::pager::Pager;

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

/// The feed in RSS 2.0 (escaped by the template: every value is text).
#[derive(Template)]
#[template(path = "public/feed.xml")]
struct RssFeed<'a> {
    site: &'a Site,
    items: &'a [FeedItem],
}

/// The feed in JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>); links absolute under
/// `[publication] site_url`, else relative to the site's root as the pages link each other.
#[derive(serde::Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: String,
    description: String,
    language: &'static str,
    items: Vec<JsonFeedItem<'a>>,
}

#[derive(serde::Serialize)]
struct JsonFeedItem<'a> {
    id: &'a str,
    url: &'a str,
    title: &'a str,
    content_text: &'a str,
    date_published: String,
}

fn json_feed(site: &Site, items: &[FeedItem]) -> Result<String, askama::Error> {
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: feed_title(site),
        home_page_url: site.address("index.html"),
        feed_url: site.address("feed.json"),
        description: feed_description(site),
        language: "zh-CN",
        items: items
            .iter()
            .map(|i| JsonFeedItem {
                id: &i.id,
                url: &i.link,
                title: &i.title,
                content_text: &i.summary,
                date_published: i.at.to_rfc3339(),
            })
            .collect(),
    };
    let mut text =
        serde_json::to_string_pretty(&feed).map_err(|e| askama::Error::Custom(Box::new(e)))?;
    text.push('\n');
    Ok(text)
}

fn feed_title(site: &Site) -> String {
    let sim = if site.simulation { "（模拟）" } else { "" };
    format!("{}“双随机、一公开”信息{sim}", site.bureau)
}

fn feed_description(site: &Site) -> String {
    format!(
        "{}的抽查对象名单、抽查结果公示和随机种子承诺，最新在前。",
        site.bureau
    )
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
    /// The drawn targets this page lists.
    rows: &'a [Vec<String>],
    pager: Pager,
}

#[derive(Template)]
#[template(path = "public/notice.html")]
struct NoticePage<'a> {
    site: &'a Site,
    root: &'static str,
    dated: String,
    d: &'a SiteDraw,
    n: &'a SiteNotice,
    /// The results this page lists.
    rows: &'a [Vec<String>],
    pager: Pager,
}

/// What starts the line saying when a page was built.
const UPDATED: &str = "本页更新时间：";

/// Every page of the site and its assets, as (path relative to the site's root, bytes). The
/// public bundles are files of their own (see [`bundles`]).
pub fn files(site: &Site) -> Result<Vec<(String, Vec<u8>)>, askama::Error> {
    let mut out = Vec::new();
    each_file(site, &mut |path, bytes| {
        out.push((path, bytes));
        Ok::<_, askama::Error>(())
    })?;
    Ok(out)
}

impl From<askama::Error> for crate::jobs::site::SiteError {
    fn from(e: askama::Error) -> Self {
        crate::jobs::site::SiteError::Render(e.to_string())
    }
}

/// [`files`], each given to `put` as soon as it is made (a national draw's pages are hundreds
/// of megabytes, never all held at once), in the same order.
pub fn each_file<E: From<askama::Error>>(
    site: &Site,
    put: &mut dyn FnMut(String, Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let updated = format!("{UPDATED}{}", site.built_at);
    let mut page =
        |path: &str, html: Result<String, askama::Error>| put(path.into(), html?.into_bytes());
    page(
        "index.html",
        IndexPage {
            site,
            root: "",
            dated: updated.clone(),
        }
        .render(),
    )?;
    page(
        "matters.html",
        MattersPage {
            site,
            root: "",
            dated: updated.clone(),
        }
        .render(),
    )?;
    page(
        "verify.html",
        VerifyPage {
            site,
            root: "",
            dated: updated.clone(),
        }
        .render(),
    )?;
    page(
        "commitments.html",
        CommitmentsPage {
            site,
            root: "",
            dated: updated.clone(),
        }
        .render(),
    )?;
    for year in &site.years {
        let y = year.year;
        let index = YearPage {
            site,
            root: "../",
            dated: updated.clone(),
            year,
        };
        page(&format!("{y}/index.html"), index.render())?;
        let plan = PlanPage {
            site,
            root: "../",
            dated: updated.clone(),
            year,
        };
        page(&format!("{y}/plan.html"), plan.render())?;
    }
    let items = site.feed();
    page("feed.json", json_feed(site, &items))?;
    page(
        "feed.xml",
        RssFeed {
            site,
            items: &items,
        }
        .render(),
    )?;
    for d in site.draws() {
        draw_pages(site, d, put)?;
    }
    for (p, _, b) in ASSETS {
        put(p.to_string(), b.to_vec())?;
    }
    Ok(())
}

/// A draw's list (a page of [`LIST_ROWS`](crate::output::pager::LIST_ROWS) targets each: `draws/<id>.html`, then
/// `draws/<id>-page<n>.html`; the whole list as `draws/<id>/list.csv`), its changes after the
/// draw as the verification page reads them (`changes.json`, `suiji-public-changes/1`) and,
/// once published, its results notice (`draws/<id>/notice.html`, then `notice-page<n>.html`;
/// the whole notice as `notice.csv`), each given to `put`.
fn draw_pages<E: From<askama::Error>>(
    site: &Site,
    d: &SiteDraw,
    put: &mut dyn FnMut(String, Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let id = d.id;
    let changes = serde_json::to_string(&d.public_changes).map_err(askama::Error::custom)?;
    put(format!("draws/{id}/{PUBLIC_CHANGES}"), changes.into_bytes())?;
    put(format!("draws/{id}/{LIST_CSV}"), list_csv(site, d))?;
    let list_page = |n: usize| match n {
        1 => format!("{id}.html"),
        n => format!("{id}-page{n}.html"),
    };
    for n in 1..=crate::output::pager::pages(d.rows.len()) {
        let pager = Pager::of(n, d.rows.len(), &list_page);
        let page = DrawPage {
            site,
            root: "../",
            dated: format!("发布时间：{}", d.marks.drawn_at),
            d,
            rows: pager.rows(&d.rows),
            pager,
        };
        put(
            format!("draws/{}", list_page(n)),
            page.render()?.into_bytes(),
        )?;
    }
    let Some(n) = &d.notice else {
        return Ok(());
    };
    let notice_page = |k: usize| match k {
        1 => "notice.html".to_string(),
        k => format!("notice-page{k}.html"),
    };
    for k in 1..=crate::output::pager::pages(n.rows.len()) {
        let pager = Pager::of(k, n.rows.len(), &notice_page);
        let page = NoticePage {
            site,
            root: "../../",
            dated: format!("发布时间：{}", n.published_at),
            d,
            n,
            rows: pager.rows(&n.rows),
            pager,
        };
        let path = format!("draws/{id}/{}", notice_page(k));
        put(path, page.render()?.into_bytes())?;
    }
    let heading = format!(
        "{} {} {} 抽查结果公示",
        site.bureau, d.matter_name, d.period_label
    );
    let csv = crate::results::safe_cell::headed_csv_document(
        d.marks.heading(&heading).as_deref(),
        &n.header,
        &n.rows,
    );
    put(format!("draws/{id}/{NOTICE_CSV}"), csv)
}

/// The whole list of a draw's page in a file: `draws/<id>/list.csv`.
const LIST_CSV: &str = "list.csv";

/// The whole of a draw's results notice in a file: `draws/<id>/notice.csv`.
const NOTICE_CSV: &str = "notice.csv";

/// A draw's drawn targets as its pages list them: 序号 and the public fields.
fn list_csv(site: &Site, d: &SiteDraw) -> Vec<u8> {
    let mut header = vec!["序号".to_string()];
    header.extend(site.field_labels.iter().cloned());
    let heading = format!(
        "{} {} {} 抽查对象名单",
        site.bureau, d.matter_name, d.period_label
    );
    let rows = d.rows.iter().enumerate().map(|(i, r)| {
        let mut row = Vec::with_capacity(r.len() + 1);
        row.push((i + 1).to_string());
        row.extend(r.iter().cloned());
        row
    });
    crate::results::safe_cell::headed_csv_rows(d.marks.heading(&heading).as_deref(), &header, rows)
}

/// The public bundles, each with the `exclusions.csv` beside it when the draw has one (a
/// `suiji-public-bundle/2`, `/3` or `/4` summarises the exclusions it lists): (path relative to the site's
/// root, the draw folder's file).
pub fn bundles(site: &Site) -> Vec<(String, std::path::PathBuf)> {
    let detail = crate::draw::manifest::EXCLUSIONS_FILE;
    site.draws()
        .filter_map(|d| Some((d, d.bundle_file.as_ref()?)))
        .flat_map(|(d, f)| {
            let beside = d
                .bundle_detail
                .then(|| (format!("draws/{}/{detail}", d.id), f.with_file_name(detail)));
            std::iter::once((format!("draws/{}/{PUBLIC_BUNDLE}", d.id), f.clone())).chain(beside)
        })
        .collect()
}

fn content_type(path: &str) -> &'static str {
    if let Some((_, t, _)) = ASSETS.iter().find(|(p, _, _)| *p == path) {
        return t;
    }
    if path.ends_with(".json") {
        "application/json"
    } else if path.ends_with(".csv") {
        "text/csv; charset=utf-8"
    } else if path.ends_with(".xml") {
        "application/rss+xml; charset=utf-8"
    } else {
        "text/html; charset=utf-8"
    }
}

/// How long a client may keep a file without asking again: a draw's public bundle never
/// changes (its hash is in the manifest); the scripts and stylesheet change only with a new
/// version of suiji; pages change with every draw, publication and commitment, so they are
/// revalidated each time (`no-cache`: kept, but asked for with `If-None-Match`).
fn cache_control(path: &str) -> &'static str {
    if path.ends_with(PUBLIC_BUNDLE) || path.ends_with(crate::draw::manifest::EXCLUSIONS_FILE) {
        "public, max-age=31536000, immutable"
    } else if ASSETS.iter().any(|(p, _, _)| *p == path) {
        "public, max-age=86400"
    } else {
        "no-cache"
    }
}

/// The validator of a file: a strong ETag of its bytes, or for a page a weak one of its
/// content without the time it was built (two builds a minute apart are the same page).
pub(crate) fn etag(path: &str, bytes: &[u8]) -> String {
    let html = content_type(path).starts_with("text/html");
    if !html {
        return format!("\"{}\"", &crate::digest::sha256_hex(bytes)[..32]);
    }
    let text = String::from_utf8_lossy(bytes);
    let undated = match text.find(UPDATED) {
        Some(a) => {
            let b = text[a..].find('<').map_or(text.len(), |b| a + b);
            format!("{}{}", &text[..a], &text[b..])
        }
        None => text.into_owned(),
    };
    format!(
        "W/\"{}\"",
        &crate::digest::sha256_hex(undated.as_bytes())[..32]
    )
}

/// Whether `If-None-Match` names `tag` (weak comparison, RFC 9110 13.1.2).
fn matches(request: &HeaderMap, tag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || bare(t) == bare(tag))
}

/// When each public file's content last changed, as this process has seen it: the moment it
/// first served the file's current ETag. A new tag moves the time on, always by at least a
/// second (HTTP dates have whole seconds), so a copy fetched before a change never looks
/// current; after a restart every file counts as changed when first served again (a client
/// fetches it once more, never keeps a stale copy).
#[derive(Debug, Default)]
pub(crate) struct Modified(std::sync::Mutex<std::collections::HashMap<String, (String, i64)>>);

impl Modified {
    /// The second (Unix time) since which `path` has had the content tagged `tag`, served at
    /// `now`.
    fn since(&self, path: &str, tag: &str, now: i64) -> i64 {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get_mut(path) {
            Some((t, since)) if t == tag => *since,
            Some((t, since)) => {
                *since = now.max(*since + 1);
                *t = tag.to_string();
                *since
            }
            None => {
                seen.insert(path.to_string(), (tag.to_string(), now));
                now
            }
        }
    }
}

/// An HTTP date (RFC 9110 5.6.7) of Unix second `t`.
fn http_date(t: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

/// Whether `If-Modified-Since` says the client's copy is as new as `since` (Unix second). Not
/// consulted when `If-None-Match` is given (RFC 9110 13.1.3); a date that cannot be read
/// counts as absent.
fn unmodified_since(request: &HeaderMap, since: i64) -> bool {
    if request.contains_key(header::IF_NONE_MATCH) {
        return false;
    }
    request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v.trim()).ok())
        .is_some_and(|ims| since <= ims.timestamp())
}

fn answer(
    path: &str,
    file: Served,
    request: &HeaderMap,
    (modified, now): (&Modified, i64),
) -> Response {
    let Served { bytes, tag } = file;
    let since = modified.since(path, &tag, now);
    let mut res = if matches(request, &tag) || unmodified_since(request, since) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type(path))], bytes).into_response()
    };
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(path)),
    );
    if let Ok(v) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, v);
    }
    // A time moved past now by changes within one second is not sent until it has come.
    if since <= now
        && let Some(v) = http_date(since).and_then(|d| HeaderValue::from_str(&d).ok())
    {
        headers.insert(header::LAST_MODIFIED, v);
    }
    res
}

/// `/public` → `/public/`, so that relative links resolve.
pub(crate) async fn bare() -> Redirect {
    Redirect::permanent("/public/")
}

/// `/public/`: the index.
pub(crate) async fn index(state: State<App>, request: HeaderMap) -> Result<Response, Fail> {
    page(state, Path("index.html".to_string()), request).await
}

/// `/public/<path>`: a page, an asset or a public bundle, from the site as kept between
/// requests (`kept`: built again after any write, rule change or new day).
pub(crate) async fn page(
    State(app): State<App>,
    Path(path): Path<String>,
    request: HeaderMap,
) -> Result<Response, Fail> {
    let seen = (&app.inner.modified, chrono::Utc::now().timestamp());
    if let Some((p, _, bytes)) = ASSETS.iter().find(|(p, _, _)| *p == path) {
        let file = Served {
            bytes: axum::body::Bytes::from_static(bytes),
            tag: etag(p, bytes),
        };
        return Ok(answer(p, file, &request, seen));
    }
    let now = app.now().naive_local();
    let wanted = path.clone();
    let kept = app.clone();
    let file = blocking(move || kept.public_file(&wanted, now)).await?;
    Ok(answer(&path, file, &request, seen))
}
