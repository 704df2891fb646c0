//! One platform serving two bureaus (`suiji serve --platform`), driven in-process over the
//! platform's router with `Host` headers as browsers send them: each bureau's console and
//! public site serve only that bureau's records, a session of one bureau opens nothing of
//! another, the platform's index lists the bureaus, a platform administrator signs in at each
//! and is audited there by their platform name; and the platform file's problems, located.

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use suiji::jobs::users::{AddInput, Role};
use suiji::store::Stamp;
use tower::ServiceExt as _;
use util::Project;

const PASSWORD: &str = "correct horse battery";
const PLATFORM_HOST: &str = "suiji.linyi.example";
const PINGYI: &str = "371326.suiji.linyi.example";
const FEIXIAN: &str = "371325.suiji.linyi.example";

const STAMP: Stamp<'static> = Stamp {
    at: "2026-01-05T09:00:00+08:00",
    actor: "cli:test",
};

/// Two bureaus (平邑 with the shipped rules, 费县 with the example's own rules and
/// registries), each with one draw and its own accounts, and the platform file over them.
struct Platform {
    pingyi: Project,
    feixian: Project,
    /// The platform file's folder (its own store is `data/` in it).
    dir: tempfile::TempDir,
    router: axum::Router,
}

fn add_user(p: &Project, name: &str, role: Role) {
    let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules load");
    let mut store = suiji::jobs::open_store(&loaded).expect("store");
    let input = AddInput {
        name: name.into(),
        roles: vec![role],
        department: None,
        inspector: None,
        password: PASSWORD.into(),
    };
    suiji::jobs::users::add(&loaded, &mut store, &input, STAMP).expect("account created");
}

/// 费县公安局 as the example lays it out: 禁毒大队 alone, its own targets and inspectors.
fn feixian() -> Project {
    let p = Project::shipped();
    let example = util::repo().join("config/examples/platform/371325");
    let read = |rel: &str| std::fs::read_to_string(example.join(rel)).expect("example file");
    p.only_rules(&[("jindu.toml", &read("rules/jindu.toml"))]);
    p.write(
        "config/registry/targets.csv",
        &read("config/registry/targets.csv"),
    );
    p.write(
        "config/registry/inspectors.csv",
        &read("config/registry/inspectors.csv"),
    );
    p.edit(
        "config/suiji.toml",
        "name = \"平邑县公安局\"",
        "name = \"费县公安局\"",
    );
    p.edit(
        "config/suiji.toml",
        "山东省临沂市平邑县",
        "山东省临沂市费县",
    );
    p.edit(
        "config/suiji.toml",
        "code = \"371326\"",
        "code = \"371325\"",
    );
    p
}

/// The platform file over 平邑 and 费县, in a folder of its own (its store's `data/` there).
fn platform_file(pingyi: &Project, feixian: &Project) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("platform.toml");
    let text = format!(
        "[platform]\nname = \"临沂市“双随机、一公开”监管平台\"\nhost = \"{PLATFORM_HOST}\"\n\
         data = \"data\"\n\n[[bureau]]\nconfig = \"{}\"\nhost = \"{PINGYI}\"\n\n\
         [[bureau]]\nconfig = \"{}\"\nhost = \"{FEIXIAN}\"\n",
        pingyi.path("config/suiji.toml").display(),
        feixian.path("config/suiji.toml").display(),
    );
    std::fs::write(&file, text).expect("platform file");
    (dir, file)
}

impl Platform {
    fn new() -> Platform {
        let pingyi = Project::shipped();
        pingyi.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
        add_user(&pingyi, "py-admin", Role::Admin);
        let feixian = feixian();
        feixian.ok(&["draw", "jindu.precursor", "--period", "2023"]);
        add_user(&feixian, "fx-admin", Role::Admin);
        add_user(&feixian, "fx-operator", Role::Operator);
        let (dir, file) = platform_file(&pingyi, &feixian);
        let platform = suiji::rules::platform::load_platform(&file).expect("platform loads");
        let mut store = suiji::jobs::platform::open_store(&platform, None).expect("platform store");
        suiji::jobs::platform::add_admin(&mut *store, "root", &[Role::Admin], PASSWORD, STAMP)
            .expect("platform administrator");
        let router = suiji::web::platform_console(platform, false).expect("platform console");
        Platform {
            pingyi,
            feixian,
            dir,
            router,
        }
    }

    /// Sends `req` to `host`: the status, the `Location` and the session cookie set (empty
    /// when none), the body.
    async fn send(&self, host: &str, req: Request<Body>) -> (StatusCode, [String; 2], String) {
        let (mut parts, body) = req.into_parts();
        parts
            .headers
            .insert(header::HOST, host.parse().expect("host header"));
        let res = self
            .router
            .clone()
            .oneshot(Request::from_parts(parts, body))
            .await
            .expect("the router answers");
        let status = res.status();
        let header_of = |name| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|c| c.split(';').next())
                .unwrap_or("")
                .to_string()
        };
        let set = [header_of(header::LOCATION), header_of(header::SET_COOKIE)];
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, set, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A page: its status and its body, or for a redirect where it sends to.
    async fn get(&self, host: &str, cookie: Option<&str>, path: &str) -> (StatusCode, String) {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let req = req.body(Body::empty()).expect("request");
        let (status, [location, _], body) = self.send(host, req).await;
        (status, if location.is_empty() { body } else { location })
    }

    async fn post(&self, host: &str, cookie: Option<&str>, path: &str, form: &str) -> StatusCode {
        let mut req =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let req = req.body(Body::from(form.to_string())).expect("request");
        self.send(host, req).await.0
    }

    /// Signs in at `host` (`name` urlencoded): the session cookie, or the refusal's status.
    async fn login(&self, host: &str, name: &str) -> Result<String, StatusCode> {
        let form = format!("name={name}&password={}", PASSWORD.replace(' ', "+"));
        let req = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .expect("request");
        match self.send(host, req).await {
            (StatusCode::SEE_OTHER, [_, cookie], _) if !cookie.is_empty() => Ok(cookie),
            (status, _, _) => Err(status),
        }
    }

    /// The CSRF token the session's pages carry at `host`.
    async fn csrf(&self, host: &str, cookie: &str) -> String {
        let (_, page) = self.get(host, Some(cookie), "/").await;
        let at = page
            .find("name=\"csrf\" value=\"")
            .expect("page has a csrf field")
            + 19;
        page[at..at + 64].to_string()
    }
}

/// Everything a project's database holds that a request could change: every table's rows.
fn tables(p: &Project) -> Vec<(String, i64)> {
    let db = p.db();
    let names: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("names");
    names
        .into_iter()
        .map(|t| {
            let n: i64 = db
                .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
                .expect("count");
            (t, n)
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Every page of a bureau's console (its draw 1's files among them).
const PAGES: &[&str] = &[
    "/",
    "/plan?year=2023",
    "/plan/2023/md",
    "/matters",
    "/draws",
    "/draws/1",
    "/draws/1/files/public.html",
    "/draws/1/files/tasks.xlsx",
    "/audit",
    "/registries",
    "/draws/new",
    "/results",
    "/publish",
    "/report?year=2023",
    "/report/2023/xlsx",
    "/credit/2023/csv",
    "/rules",
    "/rules/zhian",
    "/rules/review",
    "/rules/history?from=1&to=1",
    "/users",
];

/// Every form of a bureau's console that writes.
const WRITES: &[&str] = &[
    "/draws/new",
    "/draws/1/verify",
    "/draws/1/changes",
    "/redraws/1",
    "/redraws/1/commit",
    "/results/1/X",
    "/publish",
    "/audit/verify",
    "/rules",
    "/rules/zhian",
    "/rules/zhian/hotel",
    "/rules/rollback",
    "/users",
    "/users/py-admin/state",
    "/users/py-admin/password",
    "/users/py-admin/roles",
    "/logout",
];

#[test]
fn a_session_of_one_bureau_opens_nothing_of_another_and_changes_nothing_there() {
    runtime().block_on(async {
        let p = Platform::new();
        let cookie = p
            .login(FEIXIAN, "fx-admin")
            .await
            .expect("signed in at 费县");
        let csrf = p.csrf(FEIXIAN, &cookie).await;
        let (status, page) = p.get(FEIXIAN, Some(&cookie), "/users").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let before = tables(&p.pingyi);
        let mut wrong = Vec::new();
        for path in PAGES {
            let (status, at) = p.get(PINGYI, Some(&cookie), path).await;
            if status != StatusCode::SEE_OTHER || at != "/login" {
                wrong.push(format!("GET {path}: {status} {}", head(&at)));
            }
        }
        for path in WRITES {
            let status = p
                .post(PINGYI, Some(&cookie), path, &format!("csrf={csrf}"))
                .await;
            if status != StatusCode::SEE_OTHER && status != StatusCode::FORBIDDEN {
                wrong.push(format!("POST {path}: {status}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert_eq!(tables(&p.pingyi), before, "平邑's records changed");
        // Its name and password are nobody's at 平邑.
        assert_eq!(
            p.login(PINGYI, "fx-admin").await,
            Err(StatusCode::UNAUTHORIZED)
        );
        // The session still works where it was opened.
        let (status, _) = p.get(FEIXIAN, Some(&cookie), "/draws/1").await;
        assert_eq!(status, StatusCode::OK);
    });
}

fn head(text: &str) -> String {
    text.chars().take(200).collect()
}

/// The names of the targets a project's draw 1 drew.
fn drawn_names(p: &Project) -> Vec<String> {
    p.db()
        .prepare("SELECT target_name FROM draw_targets WHERE draw_id = 1 AND selected = 1")
        .expect("query")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("names")
}

#[test]
fn each_public_site_shows_only_its_own_draws_and_the_index_lists_both_bureaus() {
    runtime().block_on(async {
        let p = Platform::new();
        let pingyi = drawn_names(&p.pingyi);
        let feixian = drawn_names(&p.feixian);
        assert!(!pingyi.is_empty() && !feixian.is_empty(), "both drew");
        for (host, own, other) in [(PINGYI, &pingyi, &feixian), (FEIXIAN, &feixian, &pingyi)] {
            let mut site = String::new();
            for path in [
                "/public/",
                "/public/2023/index.html",
                "/public/draws/1.html",
            ] {
                let (status, page) = p.get(host, None, path).await;
                assert_eq!(status, StatusCode::OK, "{host}{path}: {page}");
                site.push_str(&page);
            }
            for name in own {
                assert!(site.contains(name.as_str()), "{host} lacks its own {name}");
            }
            for name in other {
                assert!(!site.contains(name.as_str()), "{host} shows {name}");
            }
        }
        let (_, feixian_site) = p.get(FEIXIAN, None, "/public/").await;
        assert!(feixian_site.contains("费县公安局"));
        assert!(!feixian_site.contains("平邑县公安局"));
        // The platform's index: both bureaus by name, with links to their sites.
        let (status, index) = p.get(PLATFORM_HOST, None, "/").await;
        assert_eq!(status, StatusCode::OK, "{index}");
        for text in [
            "临沂市“双随机、一公开”监管平台",
            "平邑县公安局",
            "费县公安局",
            "http://371326.suiji.linyi.example/public/",
            "http://371325.suiji.linyi.example/public/",
            "http://371325.suiji.linyi.example/public/draws/1.html",
        ] {
            assert!(index.contains(text), "index lacks {text}: {index}");
        }
        // An unknown host (a port and another case too) shows the index alone.
        let (status, other) = p.get("Nobody.Example:8080", None, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(other.contains("平邑县公安局") && other.contains("费县公安局"));
        for path in [
            "/draws",
            "/draws/1",
            "/login",
            "/public/",
            "/public/draws/1.html",
        ] {
            let (status, page) = p.get("nobody.example", None, path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {page}");
            for name in pingyi.iter().chain(&feixian) {
                assert!(!page.contains(name.as_str()), "{path} shows {name}");
            }
        }
        let (status, _) = p.get(PLATFORM_HOST, None, "/healthz").await;
        assert_eq!(status, StatusCode::OK);
        // A bureau's host, whatever its case and port, is that bureau.
        let (status, page) = p
            .get("371325.SUIJI.linyi.example:443", None, "/public/")
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("费县公安局"));
    });
}

/// The console user and actor of each audit entry of `action` in a project's log.
fn audited(p: &Project, action: &str) -> Vec<(String, String)> {
    let db = p.db();
    db.prepare(
        "SELECT ifnull(v.console_user, ''), a.actor FROM audit_log a \
         LEFT JOIN audit_v2 v ON v.seq = a.seq WHERE a.action = ?1 ORDER BY a.seq",
    )
    .expect("query")
    .query_map([action], |r| Ok((r.get(0)?, r.get(1)?)))
    .expect("rows")
    .collect::<Result<_, _>>()
    .expect("entries")
}

#[test]
fn a_platform_administrator_signs_in_at_each_bureau_and_is_audited_there_by_platform_name() {
    runtime().block_on(async {
        let p = Platform::new();
        let at_pingyi = p.login(PINGYI, "root").await.expect("root at 平邑");
        let at_feixian = p.login(FEIXIAN, "root").await.expect("root at 费县");
        let (status, page) = p.get(PINGYI, Some(&at_pingyi), "/users").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("平台管理员 root"), "{page}");
        // A write at 平邑: audited in 平邑's log under the platform name, none at 费县.
        let csrf = p.csrf(PINGYI, &at_pingyi).await;
        let form = format!(
            "csrf={csrf}&name=py-new&role=auditor&password={0}&password2={0}",
            PASSWORD.replace(' ', "+")
        );
        let status = p.post(PINGYI, Some(&at_pingyi), "/users", &form).await;
        assert!(
            status.is_success() || status == StatusCode::SEE_OTHER,
            "{status}"
        );
        let added = audited(&p.pingyi, "user.add");
        assert!(
            added.contains(&("平台管理员 root".into(), "web:平台管理员 root".into())),
            "{added:?}"
        );
        assert!(
            audited(&p.feixian, "user.add")
                .iter()
                .all(|(user, _)| user != "平台管理员 root"),
            "费县's log names no write of root"
        );
        // Its bureau account has no password anyone knows, and no bureau administrator
        // manages it.
        assert_eq!(
            p.login(PINGYI, "平台管理员+root").await,
            Err(StatusCode::UNAUTHORIZED)
        );
        let admin = p
            .login(PINGYI, "py-admin")
            .await
            .expect("平邑's administrator");
        let csrf = p.csrf(PINGYI, &admin).await;
        let status = p
            .post(
                PINGYI,
                Some(&admin),
                "/users/%E5%B9%B3%E5%8F%B0%E7%AE%A1%E7%90%86%E5%91%98%20root/state",
                &format!("csrf={csrf}&disabled=1"),
            )
            .await;
        assert!(!status.is_success(), "{status}");
        // The platform's account disabled: its sessions at every bureau end.
        let file = p.dir.path().join("platform.toml");
        let platform = suiji::rules::platform::load_platform(&file).expect("platform");
        let mut store = suiji::jobs::platform::open_store(&platform, None).expect("store");
        suiji::jobs::users::disable(&mut *store, "root", STAMP).expect("disabled");
        for (host, cookie) in [(PINGYI, &at_pingyi), (FEIXIAN, &at_feixian)] {
            let (status, at) = p.get(host, Some(cookie), "/users").await;
            assert_eq!((status, at.as_str()), (StatusCode::SEE_OTHER, "/login"));
        }
    });
}

/// A platform administrator's new password (`suiji user reset-password --platform`) ends
/// their sessions at every bureau where they signed in, audited in each bureau's log; the old
/// password opens nothing any more.
#[test]
fn a_platform_administrators_new_password_ends_their_sessions_at_every_bureau() {
    runtime().block_on(async {
        let p = Platform::new();
        let at_pingyi = p.login(PINGYI, "root").await.expect("root at 平邑");
        let at_feixian = p.login(FEIXIAN, "root").await.expect("root at 费县");
        let file = p.dir.path().join("platform.toml").display().to_string();
        let args = [
            "user",
            "reset-password",
            "--platform",
            &file,
            "root",
            "--password-stdin",
        ];
        let mut cmd = p.pingyi.suiji(&args);
        cmd.write_stdin("another password 2026\n");
        let (code, out, err) = util::run(cmd);
        assert_eq!(code, 0, "{err}");
        for name in ["平邑县公安局", "费县公安局"] {
            assert!(
                out.contains(&format!("sessions of root at {name} ended")),
                "{out}"
            );
        }
        for (host, cookie) in [(PINGYI, &at_pingyi), (FEIXIAN, &at_feixian)] {
            let (status, at) = p.get(host, Some(cookie), "/users").await;
            assert_eq!(
                (status, at.as_str()),
                (StatusCode::SEE_OTHER, "/login"),
                "{host}"
            );
            assert_eq!(p.login(host, "root").await, Err(StatusCode::UNAUTHORIZED));
        }
        for bureau in [&p.pingyi, &p.feixian] {
            let entries = audited(bureau, "user.password");
            assert_eq!(entries.len(), 1, "{entries:?}");
            assert!(entries[0].1.starts_with("cli:"), "{entries:?}");
        }
    });
}

#[test]
fn platform_file_problems_are_located_and_every_bureau_is_checked() {
    let p = Project::shipped();
    let other = Project::shipped();
    let bad = format!(
        "[platform]\nname = \"平台\"\nhost = \"suiji.example\"\ndata = \"data\"\ncolour = \"red\"\n\
         [[bureau]]\nconfig = \"{a}\"\nhost = \"a.example\"\n\
         [[bureau]]\nconfig = \"{b}\"\nhost = \"A.example:80\"\n\
         [[bureau]]\nconfig = \"missing/config/suiji.toml\"\nhost = \"c.example\"\n",
        a = p.path("config/suiji.toml").display(),
        b = other.path("config/suiji.toml").display(),
    );
    p.write("platform/platform.toml", &bad);
    let (code, _, err) = util::run(p.suiji(&["check", "--platform", "platform/platform.toml"]));
    assert_eq!(code, 1, "{err}");
    for text in [
        "unknown key `platform.colour`",
        "platform.toml:5:1",
        "`A.example:80` is not a host name",
        "platform.toml:11:9",
        "two bureaus have the code 371326",
        "platform.toml:10:11",
        "cannot read config file",
        "bureau 3 (",
        "platform.toml:13:11",
    ] {
        assert!(err.contains(text), "lacks {text}: {err}");
    }
    // A bureau config's own problems are shown in its file, naming the bureau.
    other.edit(
        "config/suiji.toml",
        "code = \"371326\"",
        "code = \"371325\"\ncolor = 1",
    );
    let fixed = bad
        .replace("colour = \"red\"\n", "")
        .replace("A.example:80", "b.example")
        .replace(
            "[[bureau]]\nconfig = \"missing/config/suiji.toml\"\nhost = \"c.example\"\n",
            "",
        );
    p.write("platform/platform.toml", &fixed);
    let (code, _, err) = util::run(p.suiji(&["check", "--platform", "platform/platform.toml"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("bureau.color") || err.contains("`color`"),
        "{err}"
    );
    assert!(err.contains("bureau 2 ("), "{err}");
    // Fixed, every bureau's rules are checked as `suiji check` checks them.
    other.edit("config/suiji.toml", "\ncolor = 1", "");
    let (code, out, err) = util::run(p.suiji(&["check", "--platform", "platform/platform.toml"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("ok: 平邑县公安局").count(), 2, "{out}");
    // Two bureaus in one data folder are refused.
    let shared = fixed.replace(
        &other.path("config/suiji.toml").display().to_string(),
        &p.path("config/suiji.toml").display().to_string(),
    );
    p.write("platform/platform.toml", &shared);
    let (_, _, err) = util::run(p.suiji(&["check", "--platform", "platform/platform.toml"]));
    assert!(err.contains("data folder"), "{err}");
}

#[test]
fn run_once_over_a_platform_runs_each_bureaus_service_on_its_own_records() {
    let p = Platform::new();
    let file = p.dir.path().join("platform.toml");
    let file = file.display().to_string();
    let (code, out, err) = util::run(p.pingyi.suiji(&["run", "--platform", &file, "--once"]));
    assert!(code == 0 || code == 3, "{out}\n{err}");
    assert!(out.contains("平邑县公安局: issued "), "{out}");
    assert!(out.contains("费县公安局: issued "), "{out}");
    let matters = |p: &Project| -> Vec<String> {
        p.db()
            .prepare("SELECT DISTINCT matter FROM draws")
            .expect("query")
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("matters")
    };
    assert_eq!(matters(&p.feixian), vec!["jindu.precursor".to_string()]);
    let targets = |p: &Project| -> Vec<String> {
        p.db()
            .prepare("SELECT DISTINCT target_id FROM draw_targets")
            .expect("query")
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("targets")
    };
    assert!(targets(&p.feixian).iter().all(|t| t.starts_with("FX")));
    assert!(!targets(&p.pingyi).iter().any(|t| t.starts_with("FX")));
}

/// Every table's row count in `schema` of the PostgreSQL database at `url`.
fn pg_tables(url: &str, schema: &str) -> Vec<(String, i64)> {
    let mut db = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let names: Vec<String> = db
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
            &[&schema],
        )
        .expect("tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!names.is_empty(), "{schema} has no tables");
    names
        .into_iter()
        .map(|t| {
            let q = format!("SELECT count(*) FROM \"{schema}\".\"{t}\"");
            let n: i64 = db.query_one(&q, &[]).expect("count").get(0);
            (t, n)
        })
        .collect()
}

/// [`pg_tables`] from a thread of its own (the blocking client may not run on the runtime's).
fn pg_tables_apart(url: &str, schema: &str) -> Vec<(String, i64)> {
    std::thread::scope(|s| s.spawn(|| pg_tables(url, schema)).join()).expect("counted")
}

/// A platform on one PostgreSQL database (`serve --platform --database`): each bureau's
/// draws, accounts and sessions in its own schema, the platform's administrators in the schema
/// `platform`; a bureau's session opens nothing at another and changes nothing there, the
/// platform's administrator signs in at both and is audited in each bureau's own schema, and
/// no SQLite file is made anywhere.
#[test]
fn on_postgres_each_bureau_keeps_to_its_schema_and_the_platform_to_its_own() {
    let Some(url) = util::fresh_schema("platform_pg") else {
        return;
    };
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    admin
        .batch_execute(
            "DROP SCHEMA IF EXISTS platform CASCADE;
             DROP SCHEMA IF EXISTS t_pf_371326 CASCADE; DROP SCHEMA IF EXISTS t_pf_371325 CASCADE;",
        )
        .expect("fresh schemas");
    let pingyi = Project::shipped();
    let feixian = feixian();
    for (p, code) in [(&pingyi, "371326"), (&feixian, "371325")] {
        p.set_config(&["database", "url"], url.as_str());
        p.set_config(&["database", "schema"], format!("t_pf_{code}"));
    }
    pingyi.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    feixian.ok(&["draw", "jindu.precursor", "--period", "2023"]);
    for (p, name) in [(&pingyi, "py-admin"), (&feixian, "fx-admin")] {
        let mut cmd = p.suiji(&["user", "add", name, "--role", "admin", "--password-stdin"]);
        cmd.write_stdin(format!("{PASSWORD}\n"));
        let (code, _, err) = util::run(cmd);
        assert_eq!(code, 0, "{err}");
    }
    let (dir, file) = platform_file(&pingyi, &feixian);
    let file_arg = file.display().to_string();
    let mut cmd = pingyi.suiji(&[
        "--database",
        &url,
        "user",
        "add",
        "--platform",
        &file_arg,
        "root",
        "--role",
        "admin",
        "--password-stdin",
    ]);
    cmd.write_stdin(format!("{PASSWORD}\n"));
    let (code, _, err) = util::run(cmd);
    assert_eq!(code, 0, "{err}");
    let platform = suiji::rules::platform::load_platform(&file).expect("platform loads");
    let router = suiji::web::platform_console_on(platform, false, Some(&url)).expect("console");
    let p = Platform {
        pingyi,
        feixian,
        dir,
        router,
    };
    runtime().block_on(async {
        let cookie = p
            .login(FEIXIAN, "fx-admin")
            .await
            .expect("signed in at 费县");
        let csrf = p.csrf(FEIXIAN, &cookie).await;
        let before = pg_tables_apart(&url, "t_pf_371326");
        for path in PAGES {
            let (status, at) = p.get(PINGYI, Some(&cookie), path).await;
            assert_eq!(
                (status, at.as_str()),
                (StatusCode::SEE_OTHER, "/login"),
                "{path}"
            );
        }
        for path in WRITES {
            let status = p
                .post(PINGYI, Some(&cookie), path, &format!("csrf={csrf}"))
                .await;
            assert!(
                status == StatusCode::SEE_OTHER || status == StatusCode::FORBIDDEN,
                "POST {path}: {status}"
            );
        }
        let after = pg_tables_apart(&url, "t_pf_371326");
        assert_eq!(after, before, "平邑's records changed");
        assert_eq!(
            p.login(PINGYI, "fx-admin").await,
            Err(StatusCode::UNAUTHORIZED)
        );
        // The platform's administrator, kept in the schema `platform`, signs in at both.
        for host in [PINGYI, FEIXIAN] {
            let root = p.login(host, "root").await.expect("root signs in");
            let (status, page) = p.get(host, Some(&root), "/users").await;
            assert_eq!(status, StatusCode::OK);
            assert!(page.contains("平台管理员 root"), "{page}");
        }
    });
    let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let platform_users: i64 = db
        .query_one(
            "SELECT count(*) FROM platform.users WHERE name = 'root'",
            &[],
        )
        .expect("platform users")
        .get(0);
    assert_eq!(platform_users, 1);
    for schema in ["t_pf_371326", "t_pf_371325"] {
        let q = format!("SELECT count(*) FROM {schema}.users WHERE name = '平台管理员 root'");
        let n: i64 = db.query_one(&q, &[]).expect("bureau users").get(0);
        assert_eq!(n, 1, "{schema}");
        let q = format!("SELECT count(*) FROM {schema}.draws");
        let n: i64 = db.query_one(&q, &[]).expect("draws").get(0);
        assert_eq!(n, 1, "{schema}");
    }
    for made in [
        p.pingyi.path("data/suiji.sqlite3"),
        p.feixian.path("data/suiji.sqlite3"),
        p.dir.path().join("data/suiji.sqlite3"),
    ] {
        assert!(!made.exists(), "{} was made", made.display());
    }
}
