//! The console in a real browser: Debian's chromium driven over WebDriver (chromium-driver)
//! through the journey staff take — log in, upload a registry with a bad row and see its cell,
//! make a manual draw, open it and verify it, enter results as an inspector, publish, read the
//! report — and a rule change from the editor's form through its approval to the draws and
//! back. Screenshots of the main pages go to `target/screenshots/`.
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
    add_user(&p, "zhao.min", Role::Admin, None);
    let base = console_at(&p, NOW);
    let d = start_driver(&driver);
    let b = session(&d, &chromium, base, "1280,1000");
    journey(&b, &p);
}

/// The simulated time the staff journey's console stands at (Beijing time): the second
/// half-year of 2026, the last the shipped holiday calendars cover, is due (July 1) and waits
/// for its public source.
const NOW: &str = "2026-08-14T10:00:00+08:00";

/// The console of `p` served in this process, its clock standing at `now` (what it shows does
/// not depend on the day the test runs), as `suiji serve --no-scheduler` opens it: its address.
fn console_at(p: &Project, now: &str) -> String {
    let config = p.path("config/suiji.toml");
    let loaded = suiji::jobs::load_rules(&config).expect("rules load");
    let mut store = suiji::jobs::open_store(&loaded).expect("store");
    suiji::jobs::adopt_on_first_start(&mut store, &loaded, now);
    drop(store);
    let at = chrono::DateTime::parse_from_rfc3339(now)
        .expect("a time")
        .with_timezone(&chrono::Utc);
    let app = suiji::web::App::new(&loaded, config, false).at(at);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let service = suiji::web::router(app)
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, service).await.expect("serve");
        });
    });
    format!("http://{addr}")
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
    // A period committed to a public source: the manual draw takes its announced value. The
    // console's clock stands at NOW, in the year's second half.
    let period = format!("{}-H2", &NOW[..4]);
    p.ok(&[
        "commit",
        "zhian.hotel",
        "--period",
        &period,
        "--source",
        "中国福利彩票3D 第2099001期开奖号码",
        "--source-time",
        "2099-01-02 21:15",
    ]);
    b.go("/draws/new");
    b.click(&format!("#choice option[value='zhian.hotel|{period}']"));
    b.click("#preview");
    assert_eq!(b.text("#seed-mode"), "种子来源：公开随机源");
    assert_eq!(
        b.text("#commitment-source"),
        "中国福利彩票3D 第2099001期开奖号码"
    );
    assert_eq!(b.text("#source-time"), "2099-01-02 21:15");
    assert_eq!(b.text("#preview"), "换算该值为种子");
    b.screenshot("10-manual-draw-public-source");
    b.go("/");
    // Due since July 1, it waits for its source: its own (amber) line naming the commitment,
    // no fault.
    let waiting = b.text(".waiting");
    assert!(
        waiting.contains(&format!("等待公开随机源：{}年下半年", &NOW[..4]))
            && waiting.contains("中国福利彩票3D 第2099001期开奖号码”将于 2099-01-02 21:15 公布"),
        "{waiting}"
    );
    b.screenshot("11-dashboard-waiting");
    accounts(b);
}

/// 账号管理: the administrator adds an operator (the password typed twice) and sees the list.
fn accounts(b: &Browser) {
    b.logout();
    b.login("zhao.min");
    b.go("/users");
    assert_eq!(b.text("h1"), "账号管理");
    b.type_in("#add-user input[name=name]", "sun.qiang");
    b.click("#add-user input[value=operator]");
    b.click("#add-user select[name=department] option[value=zhian]");
    b.type_in("#add-user input[name=password]", PASSWORD);
    b.type_in("#add-user input[name=password2]", PASSWORD);
    b.click("#add-user button");
    assert!(
        b.text("#outcome").contains("已新建"),
        "{}",
        b.text("#outcome")
    );
    let rows = b.text("#accounts");
    assert!(
        rows.contains("sun.qiang") && rows.contains("抽查操作员"),
        "{rows}"
    );
    // One account's forms open, as an administrator sees them when changing its roles.
    b.click("#accounts tr:last-child details:last-of-type summary");
    b.screenshot("12-accounts");
}

/// The console of `p` under `serve` (no scheduler), a WebDriver, chromium and the console's
/// address.
fn console_for_browser(
    p: &Project,
) -> Option<(
    util::Running,
    util::webdriver::Driver,
    std::path::PathBuf,
    String,
)> {
    served_for_browser(p, &[])
}

/// `suiji serve` with `extra` flags (no scheduler) on `p`, with a WebDriver: the server, the
/// driver, chromium and the address; `None` (the test skipped) without chromium.
fn served_for_browser(
    p: &Project,
    extra: &[&str],
) -> Option<(
    util::Running,
    util::webdriver::Driver,
    std::path::PathBuf,
    String,
)> {
    let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium or chromedriver is missing: .ci/run installs them (apt-get install chromium chromium-driver)"
        );
        eprintln!("browser test skipped: install chromium and chromium-driver to run it");
        return None;
    };
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--no-scheduler"];
    args.extend_from_slice(extra);
    let mut server = p.spawn("serve", &args);
    let line = server.expect_line("suiji console on http://");
    let base = line
        .split("http://")
        .nth(1)
        .map(|a| format!("http://{}", a.trim_end_matches('/')))
        .expect("address");
    let d = start_driver(&driver);
    Some((server, d, chromium, base))
}

/// The schedule's line of the hotel matter for 2023-H1 (it names the ratio).
fn hotel_line(p: &Project) -> String {
    let out = p.ok(&["schedule", "--year", "2023"]);
    out.lines()
        .find(|l| l.contains("zhian.hotel ") && l.contains("2023-H1"))
        .unwrap_or_else(|| panic!("no hotel line:\n{out}"))
        .to_string()
}

/// The rules hash the latest draw of the hotel matter recorded, and that of version `id`.
fn hashes(p: &Project, version: i64) -> (String, String) {
    let db = p.db();
    let drawn = db
        .query_row(
            "SELECT rules_hash FROM draws WHERE matter = 'zhian.hotel' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("a draw");
    let approved = db
        .query_row(
            "SELECT rules_hash FROM rule_versions WHERE id = ?1",
            [version],
            |r| r.get(0),
        )
        .expect("a version");
    (drawn, approved)
}

/// A rule change from the editor's form to the draws: the editor changes the hotel ratio to
/// 10% and submits it; an approver approves it in 规则审核; the plan and `suiji schedule` show
/// 10%; the next draw records version 2's rules hash and links to it; a rollback to version 1
/// waits for approval and then returns 5%.
#[test]
fn rule_editing_in_a_real_browser() {
    // As shipped: a rule change needs a second person's approval.
    let p = Project::shipped_two_person();
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    add_user(&p, "wang.fang", Role::Editor, None);
    add_user(&p, "zhao.min", Role::Approver, None);
    let Some((_server, d, chromium, base)) = console_for_browser(&p) else {
        return;
    };
    let b = session(&d, &chromium, base, "1280,1000");
    let before = p.read("rules/zhian.toml");
    assert!(hotel_line(&p).contains(" 5%"), "{}", hotel_line(&p));
    rule_edit(&b);
    assert_eq!(
        p.read("rules/zhian.toml"),
        before,
        "nothing reaches rules/ before approval"
    );
    assert!(hotel_line(&p).contains(" 5%"), "{}", hotel_line(&p));
    // Another person approves it in 规则审核, and only then it is used.
    b.login("zhao.min");
    review_and_approve(&b);
    assert!(p.read("rules/zhian.toml").contains("ratio = \"10%\""));
    assert!(hotel_line(&p).contains(" 10%"), "{}", hotel_line(&p));
    b.go("/plan/2023/html");
    assert!(b.text("body").contains("不低于 10%"), "{}", b.text("body"));
    // The next draw records version 2's rules hash; its page links to that version.
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H2"]);
    let (drawn, approved) = hashes(&p, 2);
    assert_eq!(drawn, approved, "the next draw uses the approved version");
    let id: i64 = p
        .db()
        .query_row("SELECT max(id) FROM draws", [], |r| r.get(0))
        .expect("a draw");
    b.go(&format!("/draws/{id}"));
    assert!(b.text("#rules-version").contains("第 2 版"));
    b.screenshot("28-draw-rule-version");
    b.click("#rules-version a");
    b.wait_for("//*[@id='rules-hash']");
    assert_eq!(b.text("#rules-hash"), drawn);
    b.screenshot("29-rule-version");
    b.logout();
    rollback(&b, &p);
}

/// A draw's page after a change: the substitute taken in (替补) listed after the target it
/// replaced, with the change's cause and time, and the loads carried in from the period's
/// hotel draw beside the workload cap.
#[test]
fn a_draws_substitute_and_carried_loads_in_a_real_browser() {
    let p = Project::shipped().simulation();
    p.ok(util::SEEDED_HOTEL);
    p.ok(&[
        "draw",
        "zhian.entertainment",
        "--period",
        "2023-H1",
        "--seed",
        "demo",
    ]);
    let m: Value =
        serde_json::from_str(&p.read("out/draws/zhian.entertainment/2023-H1/manifest.json"))
            .expect("manifest");
    assert!(
        m["carried_loads"].is_array(),
        "the hotel draw's loads carried in"
    );
    let (_, drawn, _) = util::drawn::stratum_with_substitutes(&m);
    p.replace_closed("2", &drawn[0]);
    add_user(&p, "li.ming", Role::Operator, None);
    let Some((_server, d, chromium, base)) = console_for_browser(&p) else {
        return;
    };
    let b = session(&d, &chromium, base, "1280,1000");
    b.login("li.ming");
    b.go("/draws/2");
    assert_eq!(b.count("#drawn tr.taken-in"), 1);
    let taken = b.text("#drawn tr.taken-in");
    assert!(
        taken.contains("替补 ")
            && taken.contains("（已注销或停业，")
            && taken.contains("变更 #1）"),
        "{taken}"
    );
    assert!(b.text("#drawn tr.muted").contains("已由 "));
    scroll_to(&b, "#drawn tr.taken-in");
    b.screenshot("48-draw-substitute");
    assert!(b.text("#carried-loads").contains("每期上限（户）"));
    scroll_to(&b, "#carried-loads");
    b.screenshot("49-draw-carried-loads");
}

/// The approver opens 规则审核, reads change #1 (10% for hotels, key by key and line by line)
/// and approves it.
fn review_and_approve(b: &Browser) {
    b.click("header nav a[href='/rules/review']");
    b.wait_for("//table[@id='pending']");
    assert!(
        b.text("#pending").contains("第 1 号"),
        "{}",
        b.text("#pending")
    );
    assert!(
        b.text("#pending").contains("治安大队"),
        "{}",
        b.text("#pending")
    );
    b.screenshot("26-rules-review");
    b.click("#pending a");
    b.wait_for("//*[@id='state' and .='待审核']");
    let keys = b.text("table.keys");
    assert!(
        keys.contains("抽查比例") && keys.contains("\"10%\""),
        "{keys}"
    );
    assert!(
        b.text("pre.diff").contains("+ ratio = \"10%\""),
        "{}",
        b.text("pre.diff")
    );
    b.screenshot("27-rule-change");
    b.click("#approve");
    b.wait_for("//*[@id='state' and .='已批准']");
}

/// The editor proposes going back to version 1 (a change that needs approval, which the editor
/// cannot give); the schedule keeps 10% until the approver approves; version 3 is version 1.
fn rollback(b: &Browser, p: &Project) {
    b.login("wang.fang");
    b.go("/rules/versions/1");
    b.click("#rollback");
    b.wait_for("//*[@id='state' and .='待审核']");
    assert_eq!(b.count("#approve"), 0, "the author cannot approve");
    assert!(hotel_line(p).contains(" 10%"), "{}", hotel_line(p));
    b.screenshot("30-rollback-submitted");
    b.logout();
    b.login("zhao.min");
    b.go("/rules/review");
    b.click("#pending a");
    b.wait_for("//*[@id='state' and .='待审核']");
    assert!(b.text("h1").contains("回退到第 1 版"), "{}", b.text("h1"));
    b.click("#approve");
    b.wait_for("//*[@id='state' and .='已批准']");
    assert!(hotel_line(p).contains(" 5%"), "{}", hotel_line(p));
    assert!(p.read("rules/zhian.toml").contains("ratio = \"5%\""));
    let (_, v1) = hashes(p, 1);
    let (_, v3) = hashes(p, 3);
    assert_eq!(v3, v1, "the rollback is version 1 again");
    b.go("/rules/history?from=2&to=3");
    assert_eq!(b.count("#versions tbody tr"), 3);
    assert!(
        b.text("#versions").contains("回退"),
        "{}",
        b.text("#versions")
    );
    b.screenshot("31-rule-history");
    b.logout();
}

/// The number after `label` in `text` (e.g. 抽取 12 户).
fn number_after(text: &str, label: &str) -> usize {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label} in {text}"))
        + label.len();
    text[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label} in {text}"))
}

/// An editor changes the hotel's ratio to 10%: a typo in the text first (checked as it is
/// typed, the error under its line with the suggestion), a ratio without % in the form (the
/// error at the field), then 10% and the preview (5% → 10% in the plan, a bigger dry run),
/// saved as a draft and submitted.
fn rule_edit(b: &Browser) {
    b.login("wang.fang");
    b.go("/rules");
    b.screenshot("20-rules");
    b.go("/rules/zhian");
    let area = b.find("textarea[name='file:zhian.toml']");
    b.cmd(
        "POST",
        "/execute/sync",
        Some(json!({
            "script": "var t = arguments[0]; t.value = t.value.replace('stratify_by = \"district\"', 'ratoi = \"10%\"\\nstratify_by = \"district\"'); t.dispatchEvent(new Event('input', { bubbles: true }));",
            "args": [{ "element-6066-11e4-a52e-4f735466cecf": area }]
        })),
    );
    b.wait_for(
        "//div[@id='live']//tr[contains(@class, 'finding')][contains(., '是否应为“ratio”')]",
    );
    assert!(b.text("#live").contains("未知的键"), "{}", b.text("#live"));
    b.screenshot("21-rules-live-check");
    // The typo corrected: the check passes and the effect of 10% shows under it.
    b.cmd(
        "POST",
        "/execute/sync",
        Some(json!({
            "script": "var t = arguments[0]; t.value = t.value.replace('ratoi = ', 'ratio = '); t.dispatchEvent(new Event('input', { bubbles: true }));",
            "args": [{ "element-6066-11e4-a52e-4f735466cecf": area }]
        })),
    );
    b.wait_for("//table[@id='effect-runs']");
    let old = number_after(&b.text("#effect-runs td.before"), "，抽取");
    let new = number_after(&b.text("#effect-runs td.after"), "，抽取");
    assert!(new > old, "10% draws more than 5%: {old} → {new}");
    b.cmd(
        "POST",
        "/execute/sync",
        Some(json!({
            "script": "document.getElementById('live').scrollIntoView();",
            "args": []
        })),
    );
    b.screenshot("21b-rules-live-effect");
    b.go("/rules/zhian/hotel");
    b.type_in("#f_ratio", "10");
    b.click("#check");
    b.wait_for("//p[@data-field='ratio']");
    assert!(b.text("p[data-field='ratio']").contains("缺少 %"));
    b.screenshot("22-matter-form-error");
    b.type_in("#f_ratio", "10%");
    b.click("#preview-button");
    b.wait_for("//table[@id='dry-runs']");
    assert!(b.text("#check-ok").contains("检查通过"));
    let plan = b.text("table.sides");
    assert!(plan.contains("5%") && plan.contains("10%"), "{plan}");
    let old = number_after(&b.text("#dry-runs td.before"), "，抽取");
    let new = number_after(&b.text("#dry-runs td.after"), "，抽取");
    assert!(new > old, "10% draws more than 5%: {old} → {new}");
    b.screenshot("23-matter-preview");
    b.click("#save-draft");
    b.wait_for("//p[@id='saved-message'][contains(., '草稿已保存')]");
    assert!(b.text("#open-change").contains("变更 #1（草稿）"));
    b.screenshot("24-matter-draft-saved");
    b.click("#submit-change");
    b.wait_for("//p[@id='saved-message'][contains(., '已提交审核')]");
    b.screenshot("25-matter-submitted");
    b.logout();
}

/// Scrolls `selector`'s element to the top of the window (for a screenshot of it).
fn scroll_to(b: &Browser, selector: &str) {
    b.cmd(
        "POST",
        "/execute/sync",
        Some(json!({
            "script": "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
            "args": [selector]
        })),
    );
}

/// The rule forms and the year's report as staff see them: 规则 with a retired department and
/// a retired matter labelled 已停用 and the 新增部门 card; a department's form
/// (`/rules/<dept>/department`); a matter's form with its seed fields (随机种子来源) and its
/// 分类频次; a
/// retirement previewed as its own line of the dry runs; the year's report (年度报告) with its
/// links to the files for the national enterprise credit publicity system, which download.
#[test]
fn rule_forms_and_the_report_in_a_real_browser() {
    // As shipped (two-person approval), with the hotels' first half-year's results.
    let p = Project::year_with_results();
    p.ok(&["publish", "--today", "2023-07-14"]);
    let jindu = p.read("rules/jindu.toml");
    p.write(
        "rules/jindu.toml",
        &jindu.replacen("order = 2\n", "order = 2\nretired = true\n", 1),
    );
    // 娱乐 retired; hotels drawn per class at its own frequency (分类频次).
    let zhian = p.read("rules/zhian.toml").replacen(
        "id = \"entertainment\"\n",
        "id = \"entertainment\"\nretired = true\n",
        1,
    );
    p.write(
        "rules/zhian.toml",
        &zhian.replacen(
            "stratify_by = \"district\"",
            "class_frequency = { A = \"biennial\", B = \"yearly\", C = \"half-yearly\" }\nstratify_by = \"district\"",
            1,
        ),
    );
    p.ok(&["check"]);
    // Changed outside the console after `simulate` adopted version 1: approved as version 2.
    p.ok(&["rules", "approve"]);
    add_user(&p, "wang.fang", Role::Editor, None);
    add_user(&p, "li.ming", Role::Operator, None);
    let Some((_server, d, chromium, base)) = console_for_browser(&p) else {
        return;
    };
    let b = session(&d, &chromium, base, "1280,1000");
    b.login("wang.fang");
    b.go("/rules");
    let page = b.text("main");
    assert!(page.contains("禁毒大队 已停用"), "{page}");
    assert!(page.contains("娱乐服务场所监督检查 已停用"), "{page}");
    b.screenshot("40-rules-retired");
    scroll_to(&b, "#add-department");
    assert!(b.text("#add-department").contains("新增部门"));
    b.screenshot("41-rules-add-department");
    b.go("/rules/zhian/department");
    assert!(b.text("h1").contains("治安大队"), "{}", b.text("h1"));
    assert_eq!(b.count("input[name=d_name]"), 1);
    b.screenshot("42-department-form");
    scroll_to(&b, "#f_ratio");
    b.screenshot("43-department-form-defaults");
    b.go("/rules/zhian/hotel");
    scroll_to(&b, "[id='f_seed.source']");
    let seed = b.text("body");
    assert!(
        seed.contains("随机种子来源") && seed.contains("事先承诺的公开随机源"),
        "{seed}"
    );
    assert!(seed.contains("取值时限（秒）"), "{seed}");
    b.screenshot("44-matter-form-seed");
    // 分类频次: one class a line, each frequency in Chinese as the plan words it.
    scroll_to(&b, "#f_class_frequency");
    let value = b.run("return document.getElementById('f_class_frequency').value;");
    assert_eq!(
        value,
        json!("A = 每两年 1 次\nB = 每年 1 次\nC = 每半年 1 次"),
        "{value}"
    );
    b.screenshot("47-matter-form-class-frequency");
    // 停用此事项 previewed: the retirement is a line of the dry runs.
    b.click("#f_retired");
    b.click("#preview-button");
    b.wait_for("//table[@id='dry-runs']//td[contains(@class, 'retired')]");
    assert!(
        b.text("#dry-runs td.retired")
            .contains("停用：不再列入计划"),
        "{}",
        b.text("#dry-runs")
    );
    scroll_to(&b, "#dry-runs");
    b.screenshot("45-matter-retired-preview");
    b.logout();
    b.login("li.ming");
    b.go("/report?year=2023");
    assert!(b.text("h1").contains("年度抽查工作报告"));
    assert_eq!(b.text("#credit-csv"), "下载 CSV");
    assert_eq!(b.text("#credit-xlsx"), "下载 Excel");
    b.screenshot("46-report-credit-links");
    // The link downloads the sheet (the page stays): its text, fetched as the link would.
    let csv = b.cmd(
        "POST",
        "/execute/sync",
        Some(json!({
            "script": "return fetch(document.getElementById('credit-csv').href).then(function (r) { return r.text(); });",
            "args": []
        })),
    );
    let csv = csv.as_str().unwrap_or_default();
    assert!(
        csv.contains("统一社会信用代码") && csv.contains("双随机抽查"),
        "{csv}"
    );
}

/// The platform's index (`serve --platform`, on an address no bureau has: the index alone) in a
/// real browser, after a draw of each bureau: both bureaus by name and region, each with its
/// latest draw; a screenshot goes to `target/screenshots/platform-index.png`.
#[test]
fn the_platform_index_in_a_real_browser() {
    let p = Project::shipped();
    let bureaus = "config/examples/platform";
    for (code, matter, period) in [
        ("371326", "zhian.hotel", "2023-H1"),
        ("371325", "jindu.precursor", "2023"),
    ] {
        let config = format!("{bureaus}/{code}/config/suiji.toml");
        p.ok(&["--config", &config, "draw", matter, "--period", period]);
    }
    let file = format!("{bureaus}/platform.toml");
    let Some((_server, d, chromium, base)) = served_for_browser(&p, &["--platform", &file]) else {
        return;
    };
    let b = session(&d, &chromium, base, "1280,900");
    b.go("/");
    let text = b.text("main");
    for shown in [
        "平邑县公安局",
        "山东省临沂市平邑县",
        "费县公安局",
        "山东省临沂市费县",
        "禁毒大队 · 易制毒化学品购买、运输许可（备案）的监督检查",
        "治安大队 · 旅馆业",
    ] {
        assert!(text.contains(shown), "the index lacks {shown}: {text}");
    }
    assert_eq!(b.count("table.list tbody tr"), 2, "one row per bureau");
    b.screenshot("platform-index");
}
