//! The console in a real browser: Debian's chromium driven over WebDriver (chromium-driver)
//! through the journey staff take — log in, upload a registry with a bad row and see its cell,
//! make a manual draw, open it and verify it, enter results as an inspector, publish, read the
//! report. Screenshots of the main pages go to `target/screenshots/`.
//!
//! Without chromium and chromedriver the test says so and passes; with `CI` set it fails
//! (`.ci/run` installs them). The WebDriver client is `util::webdriver`, shared with the
//! verification page's test.

mod util;

use serde_json::{Value, json};
use suiji::jobs::users::{AddInput, Role};
use suiji::store::Stamp;
use util::Project;
use util::webdriver::{Browser, session, start_driver, which};

const PASSWORD: &str = "correct horse battery";

/// The console's own steps, on the shared WebDriver client.
impl Browser {
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
    let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium or chromedriver is missing: .ci/run installs them (apt-get install chromium chromium-driver)"
        );
        eprintln!("browser test skipped: install chromium and chromium-driver to run it");
        return;
    };
    let p = Project::shipped();
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
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
    let d = start_driver(&driver);
    let b = session(&d, &chromium, base, "1280,1000");
    journey(&b, &p);
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
    lines[2] = lines[2].replacen(",zhian,", ",zhain,", 1);
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
    // A manual draw: the seed's source first (nobody types a seed), then the draw.
    b.go("/draws/new");
    b.click("#choice option[value^='zhian.hotel|']");
    b.click("#preview");
    assert_eq!(b.text("#seed-mode"), "种子来源：系统生成");
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
