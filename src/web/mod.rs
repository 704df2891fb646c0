//! The staff console (`suiji serve`): routes → one job → a compiled template. Identity is an
//! extractor (`session::Viewer`); what a user may do is decided by `jobs::users`; every
//! write is a job that audits it with the user. Pages are in Chinese, rendered on the server,
//! and work without JavaScript (the rule editor's live check is a small script on top).

mod draws;
mod health;
mod keep;
mod kept;
mod manual;
mod names;
mod pages;
mod paging;
mod platform;
mod pool;
pub mod public;
pub use platform::{platform_console, platform_console_on, serve_platform};
mod publish;
mod registries;
mod results;
mod review;
mod rules;
mod session;
mod status;
mod users;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::diag::{Fault, Problem, Report};
use crate::rules::Loaded;
use pool::Pooled;

/// What the console's jobs work on: the rules, the calendar and the database, of either kind.
pub(crate) type Cx = crate::jobs::Context<Box<dyn crate::store::ConsoleStore>>;

/// How the console runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The engine config, as for every other command.
    pub config: PathBuf,
    pub listen: SocketAddr,
    /// Run the scheduler loop in this process.
    pub scheduler: bool,
    /// Mark the session cookie Secure (behind a TLS reverse proxy).
    pub secure_cookies: bool,
    /// The shared PostgreSQL database (`--database`), if any; else the SQLite file of the
    /// config's data folder.
    pub database: Option<crate::store::pg::Place>,
}

/// What every request shares.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: PathBuf,
    /// The shared PostgreSQL database, when the console runs on one (else the SQLite file).
    database: Option<crate::store::pg::Place>,
    /// The rules and the calendar, loaded again when their files change.
    held: crate::jobs::held::Held,
    /// The account and host of this process, for the audit entries its writes make.
    origin: crate::store::Origin,
    /// Database connections kept open between requests.
    pool: Arc<pool::Pool>,
    /// The connection that watches the database's version (what every kept thing is keyed by).
    watch: keep::Watch,
    /// The sessions looked up, kept until the database changes.
    sessions: session::Sessions,
    /// The last status computed, shared until the data it comes from changes.
    status: status::Cache,
    /// The 工作台 and 抽取记录 as last rendered for each view, without the per-user frame.
    dashboards: pages::KeptDashboards,
    draw_lists: draws::KeptLists,
    /// When each public file last changed, for `Last-Modified` and `If-Modified-Since`.
    modified: public::Modified,
    /// The public site as last built, kept until what it is built from changes.
    kept: kept::Kept,
    tz: chrono_tz::Tz,
    secure_cookies: bool,
    /// Hold answers to addresses that fail logins too often (off in tests).
    slow_down: bool,
    /// Whether the scheduler runs in this process (for `/healthz`).
    scheduler: Arc<health::Scheduler>,
    /// What the rule checks, plans and previews derive from the registries, kept per
    /// registry version (shared by every clone of this state).
    facts: Arc<crate::jobs::check::Keeper>,
    /// A clock standing still ([`App::at`], moved by [`App::move_clock`]; tests only);
    /// `None`: the real time.
    fixed_now: std::sync::RwLock<Option<chrono::DateTime<chrono::Utc>>>,
    /// The store of the platform this bureau is served by (`serve --platform`), whose
    /// administrators may sign in here; `None`: a console of its own.
    platform: Option<pool::Place>,
}

impl App {
    /// The console's state for the config at `config`.
    pub fn new(loaded: &Loaded, config: PathBuf, secure_cookies: bool) -> App {
        App {
            inner: Arc::new(Inner {
                held: crate::jobs::held::Held::with(config.clone(), loaded, chrono::Utc::now),
                facts: Arc::new(crate::jobs::check::Keeper::new(chrono::Utc::now)),
                origin: crate::store::Origin::of_process(),
                pool: Arc::default(),
                watch: keep::Watch::default(),
                sessions: session::Sessions::default(),
                status: status::Cache::default(),
                dashboards: keep::Keep::new(pages::KEPT_VIEWS),
                draw_lists: keep::Keep::new(draws::KEPT_VIEWS),
                modified: public::Modified::default(),
                kept: keep::Keep::new(1),
                config,
                database: None,
                tz: loaded.model.config.timezone,
                secure_cookies,
                slow_down: true,
                scheduler: Arc::default(),
                fixed_now: std::sync::RwLock::new(None),
                platform: None,
            }),
        }
    }

    /// The same, on the shared PostgreSQL database at `url` (when one is given): every page
    /// reads and writes there, and the rules are those approved there.
    pub fn on_database(self, url: Option<crate::store::pg::Place>) -> App {
        self.edit(|inner| {
            let held = std::mem::replace(
                &mut inner.held,
                crate::jobs::held::Held::new(inner.config.clone(), chrono::Utc::now),
            );
            inner.held = held.on_database(url.clone());
            inner.database = url;
        })
    }

    /// The same, served by a platform whose store (its administrators) is at `place`.
    pub(crate) fn on_platform(self, place: pool::Place) -> App {
        self.edit(|inner| inner.platform = Some(place))
    }

    /// The platform's store, when this bureau is served by a platform.
    pub(crate) fn platform_store(&self) -> Result<Option<Pooled>, Fail> {
        let Some(place) = &self.inner.platform else {
            return Ok(None);
        };
        let store = self
            .inner
            .pool
            .lend(place, self.origin_of(None))
            .map_err(|e| Fail::of(&e))?;
        Ok(Some(store))
    }

    /// The same, answering at once to addresses that fail logins (for tests).
    pub fn without_slow_down(self) -> App {
        self.edit(|inner| inner.slow_down = false)
    }

    /// The same, its clock standing at `now` (for tests of what only a later time allows,
    /// such as revealing a public source's value announced after a commitment). `suiji
    /// serve` never sets it: the console records the real time.
    pub fn at(self, now: chrono::DateTime<chrono::Utc>) -> App {
        self.edit(|inner| inner.fixed_now = std::sync::RwLock::new(Some(now)))
    }

    /// Moves the clock to `now` and leaves it standing there, keeping everything this state
    /// holds (for tests of what a later day shows; unlike [`App::at`], every clone of this
    /// state sees the move). `suiji serve` never calls it.
    pub fn move_clock(&self, now: chrono::DateTime<chrono::Utc>) {
        *self
            .inner
            .fixed_now
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
    }

    /// How many times the 工作台's and 抽取记录's contents were rendered rather than taken
    /// from what was kept (for tests of the keeping).
    pub fn pages_made(&self) -> usize {
        self.inner.dashboards.made() + self.inner.draw_lists.made()
    }

    /// The standing clock's time, if the clock stands.
    fn fixed_now(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        *self
            .inner
            .fixed_now
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The same state with `change` made to it (a copy when it is shared already).
    fn edit(self, change: impl FnOnce(&mut Inner)) -> App {
        let fixed_now = self.fixed_now();
        let mut inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => Inner {
                config: shared.config.clone(),
                database: shared.database.clone(),
                held: crate::jobs::held::Held::new(shared.config.clone(), chrono::Utc::now)
                    .on_database(shared.database.clone()),
                facts: Arc::clone(&shared.facts),
                origin: shared.origin.clone(),
                pool: Arc::default(),
                watch: keep::Watch::default(),
                sessions: session::Sessions::default(),
                status: status::Cache::default(),
                dashboards: keep::Keep::new(pages::KEPT_VIEWS),
                draw_lists: keep::Keep::new(draws::KEPT_VIEWS),
                modified: public::Modified::default(),
                kept: keep::Keep::new(1),
                tz: shared.tz,
                secure_cookies: shared.secure_cookies,
                slow_down: shared.slow_down,
                scheduler: Arc::clone(&shared.scheduler),
                fixed_now: std::sync::RwLock::new(fixed_now),
                platform: shared.platform.clone(),
            },
        };
        change(&mut inner);
        App {
            inner: Arc::new(inner),
        }
    }

    /// The registries' facts the rule checks, plans and previews use, kept per registry
    /// version.
    pub(crate) fn facts(&self) -> &crate::jobs::check::Keeper {
        &self.inner.facts
    }

    /// The rules as their files say now (held between requests while the files stay the
    /// same).
    pub(crate) fn rules(&self) -> Result<Arc<Loaded>, Fail> {
        self.inner.held.rules().map_err(|e| Fail::of(&e))
    }

    /// The database, its writes recorded as made by `user` in the console (the console-user
    /// field of the audit entries), or by the console itself when no one is signed in. The
    /// connection goes back to the console's pool when dropped.
    pub(crate) fn store(&self, user: Option<&crate::jobs::users::User>) -> Result<Pooled, Fail> {
        let place = self.place()?;
        self.inner
            .pool
            .lend(&place, self.origin_of(user))
            .map_err(|e| Fail::of(&e))
    }

    /// Where the database is: the shared PostgreSQL database, or the SQLite file of the data
    /// folder the config names.
    pub(crate) fn place(&self) -> Result<pool::Place, Fail> {
        if let Some(url) = &self.inner.database {
            return Ok(pool::Place::Server(url.clone()));
        }
        let data_dir = match self.inner.held.rules() {
            Ok(loaded) => loaded.model.config.data_dir.clone(),
            Err(_) => {
                crate::rules::load_config(&self.inner.config)
                    .map_err(|e| Fail::of(&crate::jobs::SetupError::Config(e)))?
                    .data_dir
            }
        };
        Ok(pool::Place::Folder(data_dir))
    }

    /// Who writes: this process, with `user` as the console user.
    fn origin_of(&self, user: Option<&crate::jobs::users::User>) -> crate::store::Origin {
        let mut origin = self.inner.origin.clone();
        origin.console_user = user.map(|u| u.name.clone());
        origin
    }

    /// What most jobs work on: the rules, the calendar and the database (see [`App::store`]).
    pub(crate) fn context(&self, user: Option<&crate::jobs::users::User>) -> Result<Cx, Fail> {
        let place = self.place()?;
        let store = self
            .inner
            .pool
            .take(&place, self.origin_of(user))
            .map_err(|e| Fail::of(&e))?;
        self.inner.held.context(store).map_err(|e| Fail::of(&e))
    }

    /// As [`App::context`], on what the request found (`source`), without looking at the
    /// rule files again.
    pub(crate) fn context_of(
        &self,
        source: &keep::Source,
        user: Option<&crate::jobs::users::User>,
    ) -> Result<Cx, Fail> {
        let cal = source.calendar(self)?;
        let store = self
            .inner
            .pool
            .take(&source.db.place, self.origin_of(user))
            .map_err(|e| Fail::of(&e))?;
        Ok(crate::jobs::Context {
            loaded: Loaded::clone(&source.loaded),
            cal: crate::calendar::Calendar::clone(&cal),
            store,
        })
    }

    /// A pooled connection to the database the request found (see [`App::store`]).
    pub(crate) fn store_in(
        &self,
        db: &keep::Database,
        user: Option<&crate::jobs::users::User>,
    ) -> Result<Pooled, Fail> {
        self.inner
            .pool
            .lend(&db.place, self.origin_of(user))
            .map_err(|e| Fail::of(&e))
    }

    /// The reverse proxies whose `X-Forwarded-For` names the client (`[web] trusted_proxies`
    /// of the config as it is now).
    pub(crate) fn trusted_proxies(&self) -> Vec<crate::rules::model::TrustedProxy> {
        match self.inner.held.rules() {
            Ok(loaded) => loaded.model.config.trusted_proxies.clone(),
            Err(_) => crate::rules::load_config(&self.inner.config)
                .map(|c| c.trusted_proxies)
                .unwrap_or_default(),
        }
    }

    /// The shared PostgreSQL database the console runs on, if it runs on one.
    pub(crate) fn database(&self) -> Option<&crate::store::pg::Place> {
        self.inner.database.as_ref()
    }

    fn config(&self) -> PathBuf {
        self.inner.config.clone()
    }

    /// Now in the bureau's time zone.
    fn now(&self) -> chrono::DateTime<chrono_tz::Tz> {
        self.fixed_now()
            .unwrap_or_else(chrono::Utc::now)
            .with_timezone(&self.inner.tz)
    }

    /// Now as the audit log writes it.
    fn stamp(&self) -> String {
        self.now().format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// Every route of the console, in one place.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/healthz", get(health::healthz))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/matters", get(pages::matters))
        .route("/plan", get(pages::plan))
        .route("/plan/{year}/{format}", get(pages::plan_document))
        .route("/draws", get(draws::list))
        .route("/draws/new", get(manual::form).post(manual::submit))
        .route("/redraws/{id}", post(manual::decide))
        .route("/redraws/{id}/commit", post(manual::commit_redraw))
        .route(
            "/registries",
            get(registries::show).post(registries::upload),
        )
        .route("/results", get(results::show))
        .route("/results/tasks.csv", get(results::sheet))
        .route("/results/upload", post(results::upload))
        .route("/results/{draw}/{target}", post(results::enter))
        .route("/publish", get(publish::show).post(publish::run))
        .route("/report", get(publish::report_page))
        .route("/report/{year}/{format}", get(publish::report_document))
        .route("/credit/{year}/{format}", get(publish::credit_document))
        .route("/draws/{id}", get(draws::detail))
        .route("/draws/{id}/verify", post(draws::verify))
        .route("/draws/{id}/changes", post(draws::change))
        .route("/draws/{id}/files/{name}", get(draws::file))
        .route("/rules/review", get(review::review))
        .route("/rules/changes/{id}", get(review::change))
        .route("/rules/changes/{id}/approve", post(review::approve))
        .route("/rules/changes/{id}/return", post(review::send_back))
        .route("/rules/outside", get(review::outside))
        .route("/rules/outside/approve", post(review::approve_outside))
        .route("/rules/history", get(review::history))
        .route("/rules/versions/{id}", get(review::version))
        .route("/rules/rollback", post(review::rollback))
        .route("/users", get(users::show).post(users::add))
        .route("/users/{name}/state", post(users::set_state))
        .route("/users/{name}/password", post(users::set_password))
        .route("/users/{name}/roles", post(users::set_roles))
        .route("/audit", get(pages::audit))
        .route("/audit/verify", post(pages::audit_verify))
        .route("/rules", get(rules::index).post(rules::add_department))
        .route(
            "/rules/{dept}",
            get(rules::department_page).post(rules::department_post),
        )
        .route(
            "/rules/{dept}/department",
            get(rules::header_form).post(rules::header_post),
        )
        .route(
            "/rules/{dept}/{matter}",
            get(rules::matter_form).post(rules::matter_post),
        )
        .route("/rules-check", post(rules::live_check))
        .route("/rules-effect", post(rules::live_effect))
        .route("/static/console.css", get(stylesheet))
        .route("/static/rules.js", get(rules::script))
        .route("/public", get(public::bare))
        .route("/public/", get(public::index))
        .route("/public/{*path}", get(public::page))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            session::csrf_layer,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(session::MAX_BODY))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/console.css"),
    )
        .into_response()
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    let csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
               connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// Why a request was not answered with its page.
#[derive(Debug)]
pub(crate) enum Fail {
    /// No session: log in first.
    Login,
    /// Logged in, but the user's roles do not allow this.
    Forbidden,
    NotFound,
    /// The request's input or the data has a problem the user can act on (Chinese text).
    Invalid(String),
    /// The server could not do it (Chinese text).
    Failed(String),
}

impl Fail {
    /// What the console says of this failure, as text.
    pub(crate) fn text(&self) -> String {
        match self {
            Fail::Login => "请先登录".to_string(),
            Fail::Forbidden => "无权访问".to_string(),
            Fail::NotFound => "未找到".to_string(),
            Fail::Invalid(text) | Fail::Failed(text) => text.clone(),
        }
    }

    /// A job's error as the console shows it: its report, in a Chinese frame.
    pub(crate) fn of(e: &impl Problem) -> Fail {
        let text = report_text(&e.report());
        match e.fault() {
            Fault::Invalid => Fail::Invalid(text),
            Fault::Failed => Fail::Failed(text),
        }
    }
}

/// A report as plain text (no colours), in Chinese, for a `<pre>` on an error page.
pub(crate) fn report_text(report: &Report) -> String {
    report.render_in(crate::diag::Lang::Zh)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    detail: String,
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let (status, title, detail) = match self {
            Fail::Login => return Redirect::to("/login").into_response(),
            Fail::Forbidden => (
                StatusCode::FORBIDDEN,
                "无权访问",
                "您的账号角色不能使用此功能。如需权限，请联系系统管理员。".to_string(),
            ),
            Fail::NotFound => (
                StatusCode::NOT_FOUND,
                "未找到",
                "所请求的页面或记录不存在。".to_string(),
            ),
            Fail::Invalid(d) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "输入有误，未作任何更改",
                d,
            ),
            Fail::Failed(d) => (StatusCode::INTERNAL_SERVER_ERROR, "操作失败", d),
        };
        let page = ErrorPage { title, detail };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, title).into_response(),
        }
    }
}

/// Renders a template, or the failure to.
pub(crate) fn render(t: &impl Template) -> Result<Response, Fail> {
    t.render()
        .map(|h| Html(h).into_response())
        .map_err(render_failed)
}

/// Renders a template to be kept (see `keep`), or the failure to.
pub(crate) fn render_kept(t: &impl Template) -> Result<Arc<str>, Fail> {
    t.render().map(Arc::from).map_err(render_failed)
}

fn render_failed(e: askama::Error) -> Fail {
    Fail::Failed(format!("页面生成失败：{e}"))
}

/// Runs blocking work (the database, the rules, the files) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Fail> + Send + 'static,
) -> Result<T, Fail> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Fail::Failed(format!("内部错误：{e}")))?
}

/// Serves the console until SIGINT or SIGTERM, with the scheduler in a thread of its own
/// unless `options.scheduler` is off.
pub fn serve(loaded: Loaded, options: &Options) -> Result<(), ServeError> {
    let app = prepare(&loaded, options)?;
    let state = Arc::clone(&app.inner.scheduler);
    let scheduler = options
        .scheduler
        .then(|| spawn_scheduler(loaded, options, state));
    // The state (its PostgreSQL connections among it) is let go after the runtime stops, not
    // in it: a PostgreSQL connection closes itself on a runtime of its own, which may not
    // start inside another.
    let kept = app.clone();
    let served = listen(options.listen, router(app));
    drop(kept);
    served?;
    if let Some(handle) = scheduler {
        let _ = handle.join();
    }
    Ok(())
}

/// The console's state for one config, its database opened (and brought up to date) first.
fn prepare(loaded: &Loaded, options: &Options) -> Result<App, ServeError> {
    let database = options.database.clone();
    let app = App::new(loaded, options.config.clone(), options.secure_cookies)
        .on_database(database.clone());
    // The database is opened (and brought up to date) before anything listens.
    let setup = |e| ServeError::Setup(Box::new(e));
    let mut store = crate::jobs::open_result_store(loaded, database.as_ref()).map_err(setup)?;
    crate::jobs::refuse_seed_file(loaded, &*store).map_err(setup)?;
    let now = chrono::Utc::now()
        .with_timezone(&loaded.model.config.timezone)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    crate::jobs::adopt_on_first_start(&mut *store, loaded, &now);
    Ok(app)
}

/// Serves `service` on `listen` until SIGINT or SIGTERM.
fn listen(listen: SocketAddr, service: Router) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| ServeError::Bind { listen, source })?;
        let bound = listener.local_addr().unwrap_or(listen);
        tracing::info!(%bound, "suiji console listening");
        eprintln!("suiji console on http://{bound}/");
        let service = service.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(ServeError::Runtime)
    })
}

fn spawn_scheduler(
    loaded: Loaded,
    options: &Options,
    state: Arc<health::Scheduler>,
) -> std::thread::JoinHandle<()> {
    let mut input = crate::jobs::run::RunInput::new(options.config.clone());
    input.database = options.database.clone();
    state.started();
    std::thread::spawn(move || {
        // Marks the scheduler stopped however the thread ends, a panic included.
        let _stopped = health::StopsOnDrop(state);
        let mut clock = crate::schedule::clock::SystemClock {
            tz: loaded.model.config.timezone,
        };
        match crate::jobs::run::serve(loaded, &mut clock, &input) {
            Ok(ran) => tracing::info!(issued = ran.issued, "scheduler stopped"),
            Err(e) => eprint!("{}", e.report().render()),
        }
    })
}

async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// `suiji serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {listen}: {source}")]
    Bind {
        listen: SocketAddr,
        source: std::io::Error,
    },
    #[error("the console stopped: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Setup(Box<crate::jobs::SetupError>),
    #[error(transparent)]
    Database(Box<crate::jobs::database::DatabaseError>),
}

impl Problem for ServeError {
    fn fault(&self) -> Fault {
        match self {
            ServeError::Setup(e) => e.fault(),
            ServeError::Database(e) => e.fault(),
            _ => Fault::Failed,
        }
    }

    fn report(&self) -> Report {
        match self {
            ServeError::Setup(e) => e.report(),
            ServeError::Database(e) => e.report(),
            ServeError::Bind { .. } => Report::error(
                self.to_string(),
                &["another program may use the port; choose another with --listen"],
            ),
            ServeError::Runtime(_) => Report::error(self.to_string(), &[]),
        }
    }
}
