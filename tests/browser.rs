//! The console in a real browser: Debian's chromium driven over WebDriver (chromium-driver)
//! through the journey staff take — log in, upload a registry with a bad row and see its cell,
//! make a manual draw, open it and verify it, enter results as an inspector, publish, read the
//! report. Screenshots of the main pages go to `target/screenshots/`.
//!
//! Without chromium and chromedriver the test says so and passes; with `CI` set it fails
//! (`.ci/run` installs them). The WebDriver client is the few commands the journey needs,
//! spoken as JSON over HTTP on the loopback.

mod util;

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use suiji::jobs::users::{AddInput, Role};
use suiji::store::Stamp;
use util::Project;

const PASSWORD: &str = "correct horse battery";

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// One HTTP/1.1 request on the loopback; the answer's JSON.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to chromedriver");
    s.set_read_timeout(Some(util::PATIENCE)).expect("timeout");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    // Headers, then exactly Content-Length bytes (the driver may keep the connection open).
    let mut reader = std::io::BufReader::new(s);
    let mut length = 0usize;
    let mut status = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read answer");
        if status.is_empty() {
            status = line.trim().to_string();
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).expect("read body");
    let json = String::from_utf8_lossy(&body).into_owned();
    let text = format!("{status}\n{json}");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("WebDriver answered {text}: {e}"))
}

/// A WebDriver session.
struct Browser {
    port: u16,
    session: String,
    base: String,
    shots: PathBuf,
}

impl Browser {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        );
        if let Some(err) = v["value"].get("error") {
            panic!("WebDriver {method} {path}: {err} {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    fn go(&self, path: &str) {
        self.cmd(
            "POST",
            "/url",
            Some(json!({ "url": format!("{}{path}", self.base) })),
        );
    }

    /// The element for a CSS selector (waiting up to the implicit timeout for it to appear).
    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    /// Waits (up to the implicit timeout) for an element matching the XPath `xpath`: how a test
    /// waits for the page a form submission loads, rather than reading the old page.
    fn wait_for(&self, xpath: &str) {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "xpath", "value": xpath })),
        );
        assert!(
            v.as_object().is_some_and(|o| !o.is_empty()),
            "no element {xpath}"
        );
    }

    fn count(&self, css: &str) -> usize {
        let v = self.cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v.as_array().map_or(0, Vec::len)
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// The text of the element; found again when a page that was still loading replaced it.
    fn text(&self, css: &str) -> String {
        for _ in 0..100 {
            let e = self.find(css);
            let v = http(
                self.port,
                "GET",
                &format!("/session/{}/element/{e}/text", self.session),
                None,
            );
            match v["value"].get("error").and_then(Value::as_str) {
                None => return v["value"].as_str().unwrap_or("").to_string(),
                // A page that is still loading: its elements are stale or not yet attached.
                Some("stale element reference" | "unknown error") => continue,
                Some(err) => panic!("WebDriver text of {css}: {err}"),
            }
        }
        panic!("{css} kept being replaced")
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn screenshot(&self, name: &str) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64_decode(b64.as_str().unwrap_or(""));
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("save screenshot");
    }

    fn login(&self, name: &str) {
        self.go("/login");
        self.type_in("input[name=name]", name);
        self.type_in("input[name=password]", PASSWORD);
        self.click("form button");
        // The console's pages have the tab bar; the login page has none.
        if self.count("header nav") == 0 {
            self.screenshot("login-failed");
            panic!("{name} did not log in: {}", self.text("body"));
        }
        assert_eq!(self.url(), format!("{}/", self.base), "{name} logs in");
    }

    fn logout(&self) {
        self.click("header form button");
        // The login form appears once the logout's redirect has loaded (the implicit wait of
        // `find`); only then is the old page's tab bar gone.
        self.find("input[name=password]");
        assert_eq!(self.count("header nav"), 0, "logged out");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in s.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// chromedriver on a free port, waited for by the line it prints when ready.
struct Driver {
    child: std::process::Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(driver: &Path) -> Driver {
    let port = free_port();
    let mut child = std::process::Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let out = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(out).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("started successfully") => break,
            Some(Ok(_)) => {}
            _ => panic!("chromedriver ended before it was ready"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Driver { child, port }
}

fn add_user(p: &Project, name: &str, role: Role, inspector: Option<String>) {
    let config = p.path("config/suiji.toml");
    let loaded = suiji::jobs::load_rules(&config).expect("rules load");
    let mut store = suiji::jobs::open_store(&loaded).expect("store");
    let input = AddInput {
        name: name.into(),
        roles: vec![role],
        department: None,
        inspector,
        password: PASSWORD.into(),
    };
    let stamp = Stamp {
        at: "2026-01-05T09:00:00+08:00",
        actor: "cli:test",
    };
    suiji::jobs::users::add(&loaded, &mut store, &input, stamp).expect("account");
}

#[test]
fn staff_journey_in_a_real_browser() {
    let Some((chromium, driver)) = browser_tools() else {
        return;
    };
    let p = Project::shipped();
    p.ok(&[
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H1",
        "--seed",
        "demo",
    ]);
    let me: String = p
        .db()
        .query_row(
            "SELECT inspector_id FROM draw_team_members WHERE draw_id = 1 ORDER BY seq LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("a team");
    add_user(&p, "li.ming", Role::Operator, None);
    add_user(&p, "zhang.wei", Role::Inspector, Some(me));
    let (_server, _driver, b) = open_browser(&p, &chromium, &driver);
    journey(&b, &p);
}

/// The console of `p` (`serve --no-scheduler`) and a headless chromium driven over WebDriver.
fn open_browser(p: &Project, chromium: &Path, driver: &Path) -> (util::Running, Driver, Browser) {
    let mut server = p.spawn(
        "serve",
        &["serve", "--listen", "127.0.0.1:0", "--no-scheduler"],
    );
    let line = server.expect_line("suiji console on http://");
    let base = line
        .split("http://")
        .nth(1)
        .map(|a| format!("http://{}", a.trim_end_matches('/')))
        .expect("address");
    let d = start_driver(driver);
    let caps = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.to_string_lossy(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--lang=zh-CN"]
        }
    }}});
    let started = http(d.port, "POST", "/session", Some(&caps));
    let session = started["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {started}"))
        .to_string();
    let shots = util::repo().join("target/screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let b = Browser {
        port: d.port,
        session,
        base,
        shots,
    };
    b.cmd("POST", "/timeouts", Some(json!({ "implicit": 10_000 })));
    (server, d, b)
}

/// Whether chromium and chromedriver are here (under `CI` they must be).
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium or chromedriver is missing: .ci/run installs them (apt-get install chromium chromium-driver)"
        );
        eprintln!("browser test skipped: install chromium and chromium-driver to run it");
        return None;
    };
    Some((chromium, driver))
}

/// The hotel line of `suiji schedule --year 2023` for 2023-H1.
fn scheduled_hotel(p: &Project) -> String {
    let out = p.ok(&["schedule", "--year", "2023"]);
    out.lines()
        .find(|l| l.contains("zhian.hotel ") && l.contains("2023-H1 "))
        .unwrap_or_else(|| panic!("no hotel line:\n{out}"))
        .to_string()
}

fn version_hash(p: &Project, id: i64) -> String {
    p.db()
        .query_row("SELECT rules_hash FROM rule_versions WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .expect("a version")
}

/// A rule change: the editor's change (10% for hotels) is approved by an approver (never by
/// its author), the plan and `suiji schedule` show it, the next draw records its rules hash
/// and links to its version, and a rollback returns to 5% once approved.
#[test]
fn a_rule_change_is_approved_used_by_the_next_draw_and_rolled_back() {
    let Some((chromium, driver)) = browser_tools() else {
        return;
    };
    let p = Project::shipped_two_person();
    p.ok(&["rules", "approve"]);
    add_user(&p, "wang.fang", Role::Editor, None);
    add_user(&p, "zhao.min", Role::Approver, None);
    {
        use suiji::jobs::rule_changes::{self, Draft, Who};
        let cfg = suiji::rules::load_config(&p.path("config/suiji.toml")).expect("config");
        let mut store = suiji::store::Store::open(&cfg.data_dir).expect("store");
        let v1 = rule_changes::latest(&store).expect("latest").expect("v1");
        let text = v1.files["rules/zhian.toml"].replacen("ratio = \"5%\"", "ratio = \"10%\"", 1);
        let who = Who {
            actor: "web:wang.fang".into(),
            at: "2026-01-05T10:00:00+08:00".into(),
        };
        let draft = Draft {
            id: None,
            department: "zhian".into(),
            files: [("rules/zhian.toml".to_string(), text)].into(),
            removed: vec![],
            base_hash: v1.rules_hash,
        };
        let id = rule_changes::save_draft(&mut store, &draft, &who).expect("draft");
        rule_changes::submit(&mut store, &cfg, id, &who).expect("submitted");
    }
    let (_server, _driver, b) = open_browser(&p, &chromium, &driver);
    // The author sees the change but cannot approve it.
    b.login("wang.fang");
    b.go("/rules/changes/1");
    assert_eq!(b.text("#state"), "待审核");
    assert_eq!(b.count("#approve"), 0, "no approve button for the author");
    b.logout();
    // The approver finds it under 待审核, reads the diff and approves.
    b.login("zhao.min");
    b.go("/rules/review");
    assert!(b.text("#pending").contains("第 1 号"));
    b.screenshot("10-rules-review");
    b.click("#pending a");
    assert!(b.text("table.keys").contains("\"10%\""));
    b.screenshot("11-rule-change");
    assert!(scheduled_hotel(&p).contains(" 5% "), "not used before approval");
    b.click("#approve");
    b.wait_for("//*[@id='state' and .='已批准']");
    assert!(p.read("rules/zhian.toml").contains("ratio = \"10%\""));
    b.go("/plan?year=2023");
    assert!(b.text("main").contains("不低于 10%"));
    assert!(scheduled_hotel(&p).contains(" 10% "));
    // The next draw records the new rules hash and links to its version.
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1", "--seed", "03 17 22 41 08"]);
    let drawn: String = p
        .db()
        .query_row("SELECT rules_hash FROM draws WHERE id = 1", [], |r| r.get(0))
        .expect("draw 1");
    assert_eq!(drawn, version_hash(&p, 2));
    b.go("/draws/1");
    assert!(b.text("#rules-version").contains("第 2 版"));
    b.click("#rules-version a");
    assert_eq!(b.text("#rules-hash"), drawn);
    b.screenshot("12-rule-version");
    b.logout();
    // The editor proposes going back to version 1; it is used only once approved.
    b.login("wang.fang");
    b.go("/rules/versions/1");
    b.click("#rollback");
    b.wait_for("//*[@id='state' and .='待审核']");
    assert!(scheduled_hotel(&p).contains(" 10% "));
    b.logout();
    b.login("zhao.min");
    b.go("/rules/changes/2");
    b.click("#approve");
    b.wait_for("//*[@id='state' and .='已批准']");
    assert!(scheduled_hotel(&p).contains(" 5% "));
    assert_eq!(version_hash(&p, 3), version_hash(&p, 1));
    b.go("/rules/history?from=2&to=3");
    assert_eq!(b.count("#versions tbody tr"), 3);
    assert!(b.text("main").contains("回退"));
    b.screenshot("13-rule-history");
}

fn journey(b: &Browser, p: &Project) {
    b.go("/login");
    b.screenshot("01-login");
    b.login("li.ming");
    assert!(b.text("h1").contains("工作台"));
    b.screenshot("02-dashboard");
    // A registry with a bad row: its cell is shown and nothing is stored.
    let before = p.read("config/registry/inspectors.csv");
    let mut lines: Vec<String> = before.lines().map(str::to_string).collect();
    lines[2] = lines[2].replacen(",zhian,", ",nosuch,", 1);
    let bad = p.path("bad-inspectors.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").expect("write bad file");
    b.go("/registries");
    let inputs = b.count("input[type=file]");
    assert_eq!(inputs, 2, "one upload per registry file");
    let file = b.cmd(
        "POST",
        "/elements",
        Some(json!({ "using": "css selector", "value": "input[type=file]" })),
    );
    let second = file[1]
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_str)
        .expect("the inspectors' upload")
        .to_string();
    b.cmd(
        "POST",
        &format!("/element/{second}/value"),
        Some(json!({ "text": bad.to_string_lossy() })),
    );
    let buttons = b.cmd(
        "POST",
        "/elements",
        Some(json!({ "using": "css selector", "value": "form.upload button" })),
    );
    let button = buttons[1]
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_str)
        .expect("the inspectors' button")
        .to_string();
    b.cmd("POST", &format!("/element/{button}/click"), Some(json!({})));
    assert_eq!(b.text("td.cell"), "C3");
    assert!(b.text("#outcome").contains("未作任何更改"));
    b.screenshot("03-registry-bad-row");
    assert_eq!(p.read("config/registry/inspectors.csv"), before);
    // A manual draw with a witnessed seed: the hash first, then the draw.
    b.go("/draws/new");
    b.click("#choice option[value^='zhian.hotel|']");
    b.type_in("#seed", "03 17 22 41 08");
    b.click("#preview");
    assert_eq!(b.text("#seed-hash").len(), 64);
    b.screenshot("04-manual-draw-seed");
    b.click("#draw");
    b.wait_for("//*[@id='verify']");
    assert!(b.url().ends_with("/draws/2"), "{}", b.url());
    b.click("#verify");
    assert!(b.text("#verdict").contains("复核一致"));
    b.screenshot("05-draw-verified");
    b.logout();
    // The inspector enters the results of a target of their own team.
    b.login("zhang.wei");
    b.go("/results");
    let forms = b.count("section.task form");
    assert!(forms >= 1, "the inspector has tasks");
    for i in 1..=4 {
        b.click(&format!(
            "section.task form select[name='item:hotel-0{i}'] option[value='未发现问题']"
        ));
    }
    b.screenshot("06-results-entry");
    b.click("section.task form button");
    b.wait_for("//section[contains(@class, 'task')]//h2[contains(., '已录入')]");
    assert!(b.url().ends_with("/results"));
    b.logout();
    // The operator publishes and reads the report.
    b.login("li.ming");
    b.go("/publish");
    b.screenshot("07-publish");
    b.click("#publish");
    assert!(b.text("#outcome").contains("已公示"));
    b.go("/report?year=2023");
    assert!(b.text("h1").contains("年度抽查工作报告"));
    b.screenshot("08-report");
    b.go("/draws");
    b.screenshot("09-draws");
}
