//! Who is asking: the session cookie → the user ([`Viewer`]), logging in and out, and the
//! CSRF check every state-changing request passes.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};

use askama::Template;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::keep::{Database, Seen};
use super::{App, Fail, blocking, render};
use crate::jobs::platform;
use crate::jobs::users::{self, Action, LoginError, LoginInput, User};
use crate::rules::model::TrustedProxy;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "suiji_session";

/// Largest request body the console reads (uploads included).
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// The logged-in user of a request, and the session's CSRF token for the forms it renders.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub user: User,
    pub csrf: String,
}

impl Viewer {
    /// The viewer, if the permissions table lets them do `action`.
    pub(crate) fn may(&self, action: Action) -> Result<&Viewer, Fail> {
        if self.user.may(action) {
            Ok(self)
        } else {
            Err(Fail::Forbidden)
        }
    }

    /// The tabs this user sees, for the layout.
    pub(crate) fn nav(&self) -> Vec<(&'static str, &'static str)> {
        let mut tabs = vec![
            ("/", "工作台"),
            ("/plan", "抽查计划"),
            ("/matters", "抽查事项清单"),
        ];
        if self.user.may(Action::ReadRegistries) {
            tabs.push(("/registries", "名录库"));
        }
        tabs.push(("/draws", "抽取记录"));
        if self.user.may(Action::ReadResults) {
            tabs.push(("/results", "结果录入"));
        }
        if self.user.may(Action::ReadPublication) {
            tabs.push(("/publish", "结果公示"));
        }
        tabs.push(("/report", "年度报告"));
        if self.user.may(Action::EditRules) {
            tabs.push(("/rules", "规则编辑"));
        }
        if self.user.may(Action::ReadRuleChanges) {
            tabs.push(("/rules/review", "规则审核"));
        }
        if self.user.may(Action::ReadAudit) {
            tabs.push(("/audit", "审计日志"));
        }
        if self.user.may(Action::ManageUsers) {
            tabs.push(("/users", "账号管理"));
        }
        tabs
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Sessions already looked up, by token hash (`None`: no live session has it), all as of one
/// version of the database. Every way a session ends or its account changes — logout, a
/// disabled, locked or changed account, a new password — is a write, so the next request
/// finds another version and looks again; a session's end in time is checked on each use.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    known: Mutex<Known>,
}

#[derive(Debug, Default)]
struct Known {
    db: Option<Database>,
    by_hash: HashMap<String, Option<users::Session>>,
}

/// How many token hashes are kept at most (then forgotten all at once): cookies no session has
/// are kept too, and anyone can send those.
const KNOWN_MOST: usize = 4096;

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What is known of `hash` as of `db`: `None` when it must be looked up.
    fn known(&self, db: &Database, hash: &str, now: i64) -> Option<Option<users::Session>> {
        let mut known = self.lock();
        if known.db.as_ref() != Some(db) {
            known.db = Some(db.clone());
            known.by_hash.clear();
        }
        let found = known.by_hash.get(hash)?;
        Some(found.clone().filter(|s| s.expires > now))
    }

    /// Keeps what was found for `hash`, looked up after `db` was read — unless the database
    /// has been found at another version since.
    fn learn(&self, db: &Database, hash: String, found: Option<users::Session>) {
        let mut known = self.lock();
        if known.db.as_ref() != Some(db) {
            return;
        }
        if known.by_hash.len() >= KNOWN_MOST {
            known.by_hash.clear();
        }
        known.by_hash.insert(hash, found);
    }
}

/// The session of a request's cookie, if it is live, in the database as the request found
/// it.
async fn session_of(
    app: &App,
    db: &Database,
    headers: &HeaderMap,
) -> Result<Option<users::Session>, Fail> {
    let Some(token) = cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let hash = users::token_hash(token);
    let now = app.now().timestamp();
    let found = match app.inner.sessions.known(db, &hash, now) {
        Some(known) => known,
        None => {
            let (app, db) = (app.clone(), db.clone());
            blocking(move || {
                let store = app.store_in(&db, None)?;
                let found =
                    users::session_by_hash(&*store, &hash, now).map_err(|e| Fail::of(&e))?;
                app.inner.sessions.learn(&db, hash, found.clone());
                Ok(found)
            })
            .await?
        }
    };
    match found {
        Some(s) if platform::is_platform_account(&s.user.name) => {
            let app = app.clone();
            let name = s.user.name.clone();
            let live = blocking(move || platform_admin_live(&app, &name)).await?;
            Ok(live.then_some(s))
        }
        other => Ok(other),
    }
}

/// Whether the bureau account `local` of a platform administrator stands for one now (asked
/// of the platform's store on every request: the platform's writes do not move the bureau's
/// database version). Never on a console that no platform serves.
fn platform_admin_live(app: &App, local: &str) -> Result<bool, Fail> {
    match app.platform_store()? {
        Some(store) => platform::still_admin(&*store, local).map_err(|e| Fail::of(&e)),
        None => Ok(false),
    }
}

impl FromRequestParts<App> for Viewer {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Viewer, Fail> {
        if let Some(v) = parts.extensions.get::<Viewer>() {
            return Ok(v.clone());
        }
        let seen = app.seen()?;
        let session = session_of(app, &seen.db, &parts.headers)
            .await?
            .ok_or(Fail::Login)?;
        let viewer = Viewer {
            user: session.user,
            csrf: session.csrf,
        };
        parts.extensions.insert(viewer.clone());
        parts.extensions.insert(seen);
        Ok(viewer)
    }
}

impl FromRequestParts<App> for Seen {
    type Rejection = Fail;

    /// What the request found when its session was looked up, or, without one, now.
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Seen, Fail> {
        match parts.extensions.get::<Seen>() {
            Some(seen) => Ok(seen.clone()),
            None => app.seen(),
        }
    }
}

/// The address a request comes from: the connection's peer, or, when the peer is a trusted
/// reverse proxy (`[web] trusted_proxies`), the client its `X-Forwarded-For` names — the
/// last address in that header that is not itself a trusted proxy (the ones before it could
/// have been written by the client). A header from any other peer is ignored.
pub(crate) fn client_address(
    ext: &axum::http::Extensions,
    headers: &HeaderMap,
    trusted: &[TrustedProxy],
) -> String {
    let Some(peer) = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else {
        return "unknown".to_string();
    };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
    if !is_trusted(peer) {
        return peer.to_string();
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // Not an address: the hops before it cannot be told apart; the last good one stands.
            Err(_) => break,
        }
    }
    client.to_string()
}

/// Refuses every state-changing request whose form does not carry the session's CSRF token
/// (a `csrf` field, urlencoded or multipart, or an `x-csrf-token` header) and every one
/// whose `Origin` is another site. The login form has no session yet: it is checked for its
/// origin only.
pub(crate) async fn csrf_layer(State(app): State<App>, req: Request, next: Next) -> Response {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    if !same_origin(req.headers()) {
        return Fail::Forbidden.into_response();
    }
    if req.uri().path() == "/login" {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        let mut res =
            Fail::Invalid("上传内容过大（上限 64 MB），未作任何更改。".into()).into_response();
        *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return res;
    };
    let session = match app.seen() {
        Ok(seen) => session_of(&app, &seen.db, &parts.headers).await,
        Err(f) => Err(f),
    };
    let session = match session {
        Ok(Some(s)) => s,
        Ok(None) => return Fail::Login.into_response(),
        Err(f) => return f.into_response(),
    };
    let given = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| form_token(&parts.headers, &bytes));
    if given.as_deref() != Some(session.csrf.as_str()) {
        return (
            StatusCode::FORBIDDEN,
            "表单已过期或来源不明，请刷新页面后重试。",
        )
            .into_response();
    }
    parts.extensions.insert(Viewer {
        user: session.user,
        csrf: session.csrf,
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

/// The `csrf` field of an urlencoded or multipart body.
fn form_token(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if kind.starts_with("application/x-www-form-urlencoded") {
        #[derive(Deserialize)]
        struct Token {
            csrf: String,
        }
        return serde_urlencoded::from_bytes::<Token>(body)
            .ok()
            .map(|t| t.csrf);
    }
    if kind.starts_with("multipart/form-data") {
        let marker = b"name=\"csrf\"\r\n\r\n";
        let at = memchr::memmem::find(body, marker)? + marker.len();
        let value = body.get(at..at + 64)?;
        return std::str::from_utf8(value).ok().map(str::to_string);
    }
    None
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    message: Option<&'static str>,
    name: String,
}

pub(crate) async fn login_page() -> Result<Response, Fail> {
    render(&LoginPage {
        message: None,
        name: String::new(),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    name: String,
    password: String,
}

pub(crate) async fn login(
    State(app): State<App>,
    parts: axum::http::Extensions,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, Fail> {
    let address = client_address(&parts, &headers, &app.trusted_proxies());
    let app2 = app.clone();
    let now = app.now().timestamp();
    let input = LoginInput {
        name: form.name.trim().to_string(),
        password: form.password,
        address: address.clone(),
        now,
        at: app.stamp(),
    };
    let at = input.at.clone();
    let (delay, outcome) = blocking(move || {
        let mut store = app2.store(None)?;
        let delay = users::delay_for(&mut *store, &address, now, &at).map_err(|e| Fail::of(&e))?;
        let outcome = match app2.platform_store()? {
            Some(mut p) => platform::login(&mut *store, Some(&mut *p), &input),
            None => users::login(&mut *store, &input),
        };
        Ok((delay, outcome))
    })
    .await?;
    if delay > 0 && app.inner.slow_down {
        tokio::time::sleep(std::time::Duration::from_secs(delay)).await;
    }
    let message = match outcome {
        Ok(opened) => return Ok(logged_in(&app, &opened.token)),
        Err(LoginError::Refused) => "账号或密码错误。",
        Err(LoginError::Locked { .. }) => "连续登录失败次数过多，账号已锁定 15 分钟。",
        Err(LoginError::Secret(_) | LoginError::Store(_)) => "暂时无法登录，请稍后重试。",
    };
    let page = LoginPage {
        message: Some(message),
        name: form.name,
    };
    let mut res = render(&page)?;
    *res.status_mut() = StatusCode::UNAUTHORIZED;
    Ok(res)
}

fn logged_in(app: &App, token: &str) -> Response {
    let secure = if app.inner.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        users::SESSION_SECS
    );
    let mut res = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

pub(crate) async fn logout(State(app): State<App>, headers: HeaderMap) -> Result<Response, Fail> {
    if let Some(token) = cookie(&headers, COOKIE).map(str::to_string) {
        let app2 = app.clone();
        let at = app.stamp();
        blocking(move || {
            let mut store = app2.store(None)?;
            users::logout(&mut *store, &token, &at).map_err(|e| Fail::of(&e))
        })
        .await?;
    }
    let mut res = Redirect::to("/login").into_response();
    let gone = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&gone) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}
