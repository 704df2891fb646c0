//! One process, one listener, many bureaus (`suiji serve --platform FILE`): each request goes
//! by its `Host` header (port left out, any case) to that bureau's own console — its own
//! [`App`]: config, rules, database, sessions, kept pages and public site —, and the
//! platform's host, or any host it does not know, to the platform's index, which lists each
//! bureau with links to its public site and nothing of any bureau's records beyond what its
//! public site shows.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceExt as _;

use super::{App, Fail, Options, ServeError, blocking, render};
use crate::rules::platform::{Platform, normal_host};

/// What the platform's requests share: the platform and each bureau's console.
struct Bureaus {
    platform: Platform,
    /// Each bureau's state and its router, in the platform file's order.
    consoles: Vec<(App, Router)>,
    /// The scheme of the links to the bureaus' sites.
    scheme: &'static str,
}

/// The platform's router: each request to its bureau's console by host, the rest to the
/// platform's index. `apps` are the bureaus' states, in the platform file's order.
fn platform_router(platform: Platform, apps: Vec<App>, secure: bool) -> Router {
    let consoles = apps
        .into_iter()
        .map(|app| (app.clone(), super::router(app)))
        .collect();
    let bureaus = Arc::new(Bureaus {
        platform,
        consoles,
        scheme: if secure { "https" } else { "http" },
    });
    let index = Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/static/site.css", get(stylesheet))
        .fallback(not_found)
        .layer(axum::middleware::map_response(super::security_headers))
        .with_state(Arc::clone(&bureaus));
    Router::new().fallback(move |req: Request| dispatch(Arc::clone(&bureaus), index.clone(), req))
}

/// The host a request names: its `Host` header, or the authority of an absolute URI.
fn host_of(req: &Request) -> String {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().host())
        .map(normal_host)
        .unwrap_or_default()
}

async fn dispatch(bureaus: Arc<Bureaus>, index: Router, req: Request) -> Response {
    let host = host_of(&req);
    let target = match bureaus.platform.bureau_of_host(&host) {
        Some(i) => bureaus.consoles[i].1.clone(),
        None => index,
    };
    match target.oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

/// A bureau as the index lists it.
struct Listed {
    name: String,
    region: String,
    /// `http://HOST/public/`.
    site: String,
    years: Vec<i32>,
    /// (link, what was drawn), newest first.
    latest: Vec<(String, String)>,
    /// Why its public site could not be read, when it could not.
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "platform.html")]
struct IndexPage {
    name: String,
    bureaus: Vec<Listed>,
}

async fn index(State(bureaus): State<Arc<Bureaus>>) -> Result<Response, Fail> {
    let listed = blocking(move || Ok(list(&bureaus))).await?;
    render(&IndexPage {
        name: listed.0,
        bureaus: listed.1,
    })
}

fn list(bureaus: &Bureaus) -> (String, Vec<Listed>) {
    let platform = &bureaus.platform;
    let listed = platform
        .bureaus
        .iter()
        .zip(&bureaus.consoles)
        .map(|(b, (app, _))| {
            let site = format!("{}://{}/public/", bureaus.scheme, b.host);
            let mut listed = Listed {
                name: b.bureau.name.clone(),
                region: b.bureau.region.clone(),
                site: site.clone(),
                years: Vec::new(),
                latest: Vec::new(),
                problem: None,
            };
            match app.public_site(app.now().naive_local()) {
                Ok(built) => {
                    listed.years = built.summary.years.clone();
                    listed.latest = built
                        .summary
                        .latest
                        .iter()
                        .map(|(id, what)| (format!("{site}draws/{id}.html"), what.clone()))
                        .collect();
                }
                Err(f) => listed.problem = Some(f.text()),
            }
            listed
        })
        .collect();
    (platform.name.clone(), listed)
}

/// `/healthz` of the platform: every bureau's database answers a read.
async fn healthz(State(bureaus): State<Arc<Bureaus>>) -> Response {
    let checked = blocking(move || {
        let mut down = Vec::new();
        for (b, (app, _)) in bureaus.platform.bureaus.iter().zip(&bureaus.consoles) {
            if app.seen().is_err() {
                down.push(b.bureau.name.clone());
            }
        }
        Ok(down)
    })
    .await;
    match checked {
        Ok(down) if down.is_empty() => (StatusCode::OK, "ok\n").into_response(),
        Ok(down) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("数据库无法读取：{}\n", down.join("、")),
        )
            .into_response(),
        Err(f) => (StatusCode::SERVICE_UNAVAILABLE, f.text()).into_response(),
    }
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/site.css"),
    )
        .into_response()
}

async fn not_found() -> Fail {
    Fail::NotFound
}

/// The platform's router over a console for each of its bureaus, as `serve --platform`
/// answers, without the schedulers (for tests, and for a process that runs them elsewhere).
pub fn platform_console(platform: Platform, secure: bool) -> Result<Router, ServeError> {
    platform_console_on(platform, secure, None)
}

/// The same, given the PostgreSQL database at `database` (as `serve --platform --database`):
/// each bureau in its own schema of it, the platform's administrators in the schema
/// `platform`.
pub fn platform_console_on(
    platform: Platform,
    secure: bool,
    database: Option<&str>,
) -> Result<Router, ServeError> {
    let options = Options {
        config: platform.path.clone(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        scheduler: false,
        secure_cookies: secure,
        database: database.map(crate::store::pg::Place::new),
    };
    let apps = consoles(&platform, &options)?
        .into_iter()
        .map(|(app, _, _)| app)
        .collect();
    Ok(platform_router(platform, apps, secure))
}

/// Each bureau's console state, its rules and its options, as `serve --config` makes them for
/// the bureau's own config: its store opened exactly as its config says.
fn consoles(
    platform: &Platform,
    options: &Options,
) -> Result<Vec<(App, crate::rules::Loaded, Options)>, ServeError> {
    let setup = |e| ServeError::Setup(Box::new(e));
    let server = options.database.as_ref().map(crate::store::pg::Place::url);
    let server = crate::jobs::platform::server(server).map_err(setup)?;
    drop(crate::jobs::platform::open_store(platform, server.as_ref()).map_err(setup)?);
    let place = match server {
        Some(server) => super::pool::Place::Server(server),
        None => super::pool::Place::Folder(platform.data_dir.clone()),
    };
    let mut out = Vec::new();
    for b in &platform.bureaus {
        crate::rules::load_config(&b.config)
            .map_err(|e| setup(crate::jobs::SetupError::Config(e)))?;
        // The database the platform was given (`--database`, `SUIJI_DATABASE`), else the
        // bureau's own, in the bureau's own schema.
        let given = options.database.as_ref().map(crate::store::pg::Place::url);
        let database = crate::jobs::database::configured(&b.config, given)
            .map_err(|e| ServeError::Database(Box::new(e)))?;
        let loaded = crate::jobs::load_rules_on(&b.config, database.as_ref()).map_err(setup)?;
        let own = Options {
            config: b.config.clone(),
            database,
            ..options.clone()
        };
        let app = super::prepare(&loaded, &own)?.on_platform(place.clone());
        out.push((app, loaded, own));
    }
    Ok(out)
}

/// Serves every bureau of `platform` on one listener until SIGINT or SIGTERM, each with its
/// scheduler in a thread of its own unless `options.scheduler` is off. `options` gives the
/// address, the cookies' flag and whether schedulers run; each bureau's config and database
/// are its own.
pub fn serve_platform(platform: Platform, options: &Options) -> Result<(), ServeError> {
    let mut apps = Vec::new();
    let mut schedulers = Vec::new();
    for (app, loaded, own) in consoles(&platform, options)? {
        if options.scheduler {
            let state = Arc::clone(&app.inner.scheduler);
            schedulers.push(super::spawn_scheduler(loaded, &own, state));
        }
        apps.push(app);
    }
    // Let go after the runtime stops, not in it (see `web::serve`).
    let kept = apps.clone();
    let served = super::listen(
        options.listen,
        platform_router(platform, apps, options.secure_cookies),
    );
    drop(kept);
    served?;
    for handle in schedulers {
        let _ = handle.join();
    }
    Ok(())
}
