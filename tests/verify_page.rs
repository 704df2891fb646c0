//! The public site's verification page in a real browser (chromium over WebDriver): the
//! JavaScript verifier recomputes every draw of a simulated year and seeded draws over a
//! generated 100,000-row registry (risk-weighted, several strata, equal-probability) and agrees
//! with the Rust engine; a tampered bundle is 不一致 with its reason; a citizen's lookup; the
//! published vectors with both SHA-256 implementations (WebCrypto, and the site's own as a page
//! on plain http uses it — also reached through a non-loopback address, not a secure context).
//!
//! Without chromium and chromedriver the test says so and passes; with `CI` set it fails.

mod util;

use serde_json::{Value, json};
use util::Project;
use util::drawn::{staffed_besides, stratum_with_substitutes, text};
use util::webdriver::{Browser, Driver, session, start_driver, which};

/// Dropped in this order: the session, then the driver, then the server.
struct Page {
    browser: Browser,
    _driver: Driver,
    _server: util::Running,
}

/// `suiji serve` on `listen` and a browser session on `host`.
fn open(p: &Project, listen: &str, host: Option<&str>) -> Option<Page> {
    let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium or chromedriver is missing: .ci/run installs them"
        );
        eprintln!("browser test skipped: install chromium and chromium-driver to run it");
        return None;
    };
    let mut server = p.spawn("serve", &["serve", "--listen", listen, "--no-scheduler"]);
    let line = server.expect_line("suiji console on http://");
    let addr = line
        .split("http://")
        .nth(1)
        .map(|a| a.trim_end_matches('/').to_string())
        .expect("address");
    let port = addr.rsplit(':').next().expect("port").to_string();
    let base = match host {
        Some(h) => format!("http://{h}:{port}"),
        None => format!("http://{addr}"),
    };
    let d = start_driver(&driver);
    let browser = session(&d, &chromium, base, "412,915");
    Some(Page {
        browser,
        _driver: d,
        _server: server,
    })
}

/// Opens the verification page for `draw` and waits for its verdict.
fn verdict(b: &Browser, draw: i64, extra: &str) -> Value {
    b.go(&format!("/public/verify.html?draw={draw}{extra}"));
    b.wait_for("//body[@data-verdict]");
    b.run("return window.suijiResult || {verdict: document.body.getAttribute('data-verdict')};")
}

fn active_draws(p: &Project) -> Vec<(i64, String)> {
    let db = p.db();
    let mut stmt = db
        .prepare(&format!(
            "SELECT id, {} FROM draws WHERE status = 'active' ORDER BY id",
            util::MANIFEST_TEXT
        ))
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
}

#[test]
fn the_page_agrees_with_every_draw_of_a_simulated_year() {
    let p = Project::shipped();
    p.ok(&["simulate", "--year", "2023", "--seed", "demo"]);
    let Some(page) = open(&p, "127.0.0.1:0", None) else {
        return;
    };
    let b = &page.browser;
    let draws = active_draws(&p);
    assert!(draws.len() >= 20);
    for (i, (id, _)) in draws.iter().enumerate() {
        // Every other draw with the site's own SHA-256, as on a portal over plain http.
        let extra = if i % 2 == 0 { "" } else { "&sha=js" };
        let r = verdict(b, *id, extra);
        assert_eq!(r["verdict"], "一致", "draw #{id}{extra}: {r}");
        let sha = if extra.is_empty() { "webcrypto" } else { "own" };
        assert_eq!(r["sha"], sha, "draw #{id}");
    }
    b.screenshot("public-verify-phone");
    // At phone width nothing is wider than the screen (the 数据包校验值 input was).
    b.go("/public/verify.html");
    let wide = b.run(
        "const w = document.documentElement.clientWidth;
         const out = [...document.querySelectorAll('main *')]
           .filter(e => e.getBoundingClientRect().right > w + 0.5)
           .map(e => e.id || e.tagName);
         if (document.documentElement.scrollWidth > w) out.push('page ' + document.documentElement.scrollWidth + ' > ' + w);
         return out;",
    );
    assert_eq!(wide, json!([]), "wider than a phone's screen");
    b.screenshot("public-verify-form-phone");
    // The draw's list links to the page with the bundle's hash when the manifest records it.
    b.go(&format!("/public/draws/{}.html", draws[0].0));
    b.click("a.button");
    b.wait_for("//body[@data-verdict]");
    assert_eq!(b.run("return window.suijiResult.verdict;"), "一致");
    b.screenshot("public-draw-phone");
}

#[test]
fn a_citizen_looks_up_a_firm_and_a_tampered_bundle_is_refused_with_its_reason() {
    let p = Project::shipped();
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    let Some(page) = open(&p, "127.0.0.1:0", None) else {
        return;
    };
    let b = &page.browser;
    let r = verdict(b, 1, "");
    assert_eq!(r["verdict"], "一致", "{r}");
    let bundle: Value = serde_json::from_slice(
        &std::fs::read(p.path("out/draws/zhian.hotel/2023-H1/bundle.public.json")).expect("b"),
    )
    .expect("json");
    let drawn = bundle["selected"][0]["target_id"]
        .as_str()
        .expect("id")
        .to_string();
    b.type_in("#target", &drawn);
    b.click("#find button");
    b.wait_for("//div[@id='found'][@data-found]");
    assert_eq!(
        b.run("return document.getElementById('found').dataset.found;"),
        "drawn"
    );
    assert!(b.text("#found").contains("已抽中"));
    // The bundle keeps the exclusions' summary; the page read and checked exclusions.csv.
    assert_eq!(bundle["format"], "suiji-public-bundle/4");
    let folder = p.path("out/draws/zhian.hotel/2023-H1");
    let excluded = util::detail_rows(&folder, &bundle);
    if let Some(e) = excluded.first() {
        b.type_in("#target", e["target_id"].as_str().expect("id"));
        b.click("#find button");
        b.wait_for("//div[@id='found'][@data-found='excluded']");
        assert!(b.text("#found").contains("排除原因"));
    }
    b.type_in("#target", "91370000NOTAFIRM00");
    b.click("#find button");
    b.wait_for("//div[@id='found'][@data-found='none']");
    // A bundle with its first drawn target swapped for an undrawn one, loaded as a file.
    let mut tampered = bundle.clone();
    let undrawn = util::frame_entries(&bundle)
        .iter()
        .filter(|f| f["stratum"] == bundle["selected"][0]["stratum"])
        .map(|f| f["id"].as_str().expect("id").to_string())
        .find(|id| {
            !bundle["selected"]
                .as_array()
                .expect("selected")
                .iter()
                .any(|s| s["target_id"] == id.as_str())
        })
        .expect("an undrawn eligible target");
    tampered["selected"][0]["target_id"] = undrawn.clone().into();
    // The undrawn target given the drawn one's name: the reasons tell the two apart by id.
    let drawn_name = named(&bundle, &drawn);
    let at = name_column(&bundle);
    // A version 4 bundle's entry is `[id, stratum, weight, field…]`.
    let frame = tampered["frame"].as_array_mut().expect("frame");
    let row = frame
        .iter_mut()
        .find(|f| f[0] == undrawn.as_str())
        .expect("the undrawn target's row");
    row[3 + at] = drawn_name.trim_matches(['“', '”']).into();
    let dir = tempfile::tempdir().expect("temp");
    let file = dir.path().join("bundle.public.json");
    std::fs::write(&file, serde_json::to_vec(&tampered).expect("json")).expect("write");
    // Chosen with the exclusions.csv it summarises (two files, one per line).
    let csv = folder.join("exclusions.csv");
    b.go("/public/verify.html");
    let input = b.find("#file");
    b.cmd(
        "POST",
        &format!("/element/{input}/value"),
        Some(json!({ "text": format!("{}\n{}", file.display(), csv.display()) })),
    );
    b.click("#load button");
    b.wait_for("//body[@data-verdict='bad']");
    let r = b.run("return window.suijiResult;");
    assert_eq!(r["verdict"], "不一致", "{r}");
    let reasons = r["reasons"].to_string();
    let both = format!(
        "数据包为{}，重算为{}",
        named(&tampered, &undrawn),
        named(&tampered, &drawn)
    );
    assert!(
        both.contains(&format!("（编号 {undrawn}）")),
        "the shared name is told apart by id: {both}"
    );
    assert!(
        reasons.contains(&both) && reasons.contains("第 1 名"),
        "{reasons}"
    );
    assert!(
        !reasons.contains("排除名单"),
        "the detail file checks: {reasons}"
    );
    assert!(b.text("#verdict").contains("不一致"));
    b.screenshot("public-verify-tampered");
}

#[test]
fn the_page_agrees_on_seeded_draws_over_a_generated_registry_of_100000_rows() {
    // Typed seeds: a simulation database.
    let p = Project::shipped().simulation();
    p.ok(&[
        "gen-registry",
        "--targets",
        "100000",
        "--inspectors",
        "400",
        "--out",
        "gen",
    ]);
    p.use_registries("gen/targets.csv", "gen/inspectors.csv");
    let mut kinds = Vec::new();
    for (matter, period, seed) in [
        ("zhian.hotel", "2023-H1", "seed one"),
        ("zhian.entertainment", "2023-H1", "seed two"),
        ("wangan.internet-cafe", "2023", "seed three"),
    ] {
        p.ok(&["draw", matter, "--period", period, "--seed", seed]);
        kinds.push(matter);
    }
    let Some(page) = open(&p, "127.0.0.1:0", None) else {
        return;
    };
    let b = &page.browser;
    let mut weighted = false;
    let mut strata = 0;
    let mut largest = 0;
    for (id, manifest) in active_draws(&p) {
        let m: Value = serde_json::from_str(&manifest).expect("manifest");
        let bundle: Value = serde_json::from_slice(
            &std::fs::read(p.path(&format!(
                "out/draws/{}/{}/bundle.public.json",
                m["matter"].as_str().expect("matter"),
                m["period"]["id"].as_str().expect("period")
            )))
            .expect("bundle"),
        )
        .expect("json");
        weighted |= bundle["weighting"] == "pareto";
        strata = strata.max(bundle["strata"].as_array().map_or(0, Vec::len));
        largest = largest.max(bundle["frame"].as_array().map_or(0, Vec::len));
        for extra in ["", "&sha=js"] {
            let r = verdict(b, id, extra);
            assert_eq!(r["verdict"], "一致", "draw #{id} {extra}: {r}");
        }
    }
    assert!(weighted, "a risk-weighted draw");
    assert!(strata > 3, "several strata: {strata}");
    assert!(largest > 5_000, "a large frame: {largest}");
}

#[test]
fn both_sha256_implementations_give_the_published_vectors() {
    let p = Project::shipped();
    let Some(page) = open(&p, "127.0.0.1:0", None) else {
        return;
    };
    let b = &page.browser;
    b.go("/public/verify.html");
    b.find("#load");
    let vector =
        std::fs::read_to_string(util::repo().join("tests/fixtures/public-bundle-vector.json"))
            .expect("vector");
    let script = r#"
        const [text, done] = arguments;
        (async () => {
          const V = window.SuijiVerify, S = window.SuijiSha256, enc = new TextEncoder();
          const out = {};
          for (const own of [false, true]) {
            const h = V.hasher(own);
            const bytes = enc.encode(text);
            const r = await V.verify(JSON.parse(text), bytes,
              '40434dfcbddc932b92e2ad4a27d884d8b84576b91fdb6f7e270a8344d16f93d2', h);
            const x = V.lookup(JSON.parse(text), r, 'X');
            out[own ? 'own' : 'webcrypto'] = { ok: r.ok, reasons: r.reasons, hash: r.fileHash,
              rank: x.rank, key: x.key, name: h.name };
          }
          // The two implementations on lengths around the block boundaries.
          const lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000];
          out.same = true;
          for (const n of lengths) {
            const m = new Uint8Array(n).map((_, i) => (i * 131 + n) & 255);
            const a = V.hex(S.digest(m));
            const b = V.hex(new Uint8Array(await crypto.subtle.digest('SHA-256', m)));
            if (a !== b) { out.same = false; out.at = n; }
          }
          out.abc = V.hex(S.digest(enc.encode('abc')));
          out.secure = window.isSecureContext;
          done(out);
        })();
    "#;
    let r = b.run_async(script, json!([vector]));
    for which in ["webcrypto", "own"] {
        let x = &r[which];
        assert_eq!(x["ok"], true, "{which}: {x}");
        assert_eq!(
            x["hash"],
            "40434dfcbddc932b92e2ad4a27d884d8b84576b91fdb6f7e270a8344d16f93d2"
        );
        assert_eq!(x["rank"], 5, "{which}");
        assert_eq!(
            x["key"],
            "ceac6bc6cb8aeb62eba2eb458482282985a9c31a6d0d953c051b453b4c24101a"
        );
    }
    assert_eq!(r["same"], true, "{r}");
    assert_eq!(
        r["abc"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(r["secure"], true, "the loopback is a secure context");
}

#[test]
fn on_plain_http_from_another_host_the_page_uses_its_own_sha256_and_agrees() {
    let p = Project::shipped();
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    // A non-loopback address of this machine: plain http there is not a secure context.
    let host = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.split_whitespace()
                .find(|a| a.contains('.') && !a.starts_with("127."))
                .map(str::to_string)
        });
    let Some(host) = host else {
        eprintln!("no non-loopback address: the plain-http case is covered by ?sha=js only");
        return;
    };
    let Some(page) = open(&p, "0.0.0.0:0", Some(&host)) else {
        return;
    };
    let b = &page.browser;
    let r = verdict(b, 1, "");
    assert_eq!(b.run("return window.isSecureContext;"), false);
    assert_eq!(r["verdict"], "一致", "{r}");
    assert_eq!(r["sha"], "own", "{r}");
    assert!(b.text("#sha-impl").contains("本站"));
}

/// Commitments with a revealed draw, a long named source and one waiting, as a bureau's
/// page shows them.
fn commitments(p: &Project) {
    let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules");
    let input = suiji::jobs::commit::Input {
        matter: "zhian.hotel".into(),
        period: "2025-H1".into(),
        source: "中国福利彩票3D 第2025001期开奖号码".into(),
        source_time: "2025-01-02 21:15".into(),
        actor: "operator".into(),
        now: "2025-01-01T09:00:00+08:00".into(),
        redraw: false,
    };
    suiji::jobs::commit::commit(&loaded, &input).expect("committed");
    let draw = suiji::jobs::draw::Input {
        matter: "zhian.hotel".into(),
        period: "2025-H1".into(),
        seed: suiji::jobs::issue::seed::SeedChoice::Os,
        reveal: Some("3 1 7".into()),
        dry_run: false,
        redraw: None,
        replaces: None,
        actor: "operator".into(),
        now: "2025-01-02T21:40:00+08:00".into(),
    };
    suiji::jobs::draw::run(&loaded, &draw).expect("drawn");
    p.ok(&[
        "commit",
        "zhian.hotel",
        "--period",
        "2025-H2",
        "--source",
        "国家授时中心随机数信标 https://beacon.example.cn/round/20990701100000 第 4519 轮输出值",
        "--source-time",
        "2099-07-01 10:00",
    ]);
}

/// The cells of the commitments table that run onto more than one line:
/// "row.column: text" for each.
const BROKEN_CELLS: &str = "
    const out = [];
    document.querySelectorAll('table.commitments tbody tr').forEach((tr, r) => {
      tr.querySelectorAll('td').forEach((td, c) => {
        const range = document.createRange();
        range.selectNodeContents(td);
        const tops = new Set([...range.getClientRects()].map(x => Math.round(x.top)));
        if (tops.size > 1) out.push(r + '.' + c + ': ' + td.textContent);
      });
    });
    return out;";

/// The 随机种子承诺 table on a bureau's wide screen keeps its short columns (number, period,
/// times, the draw's link) on one line and fits the page — the matter and the named source
/// wrap in the width left — and on a phone it is one card per commitment, nothing wider than
/// the screen.
#[test]
fn the_commitments_table_reads_on_a_wide_screen_and_on_a_phone() {
    let p = Project::shipped();
    commitments(&p);
    let Some(page) = open(&p, "127.0.0.1:0", None) else {
        return;
    };
    let b = &page.browser;
    b.cmd(
        "POST",
        "/window/rect",
        Some(json!({ "width": 1366, "height": 900 })),
    );
    b.go("/public/commitments.html");
    assert_eq!(b.count("table.commitments tbody tr"), 2);
    // Number, period and both times on one line each; the state breaks only after 已揭示.
    let short = b.run(&BROKEN_CELLS.replace(
        "if (tops.size > 1)",
        "if (tops.size > 1 && [0, 2, 4, 5].includes(c))",
    ));
    assert_eq!(short, json!([]), "short cells wrapped at 1366 px");
    let link = b.run(
        "const a = document.querySelector('table.commitments td a');
         return a.getClientRects().length;",
    );
    assert_eq!(link, json!(1), "the draw's link on one line");
    // Nothing wider than the page: a long named source (an address) wraps in its column.
    let overflow = b.run(
        "const t = document.querySelector('table.commitments');
         return [document.documentElement.scrollWidth <= document.documentElement.clientWidth,
                 t.getBoundingClientRect().right <= t.parentElement.getBoundingClientRect().right + 0.5];",
    );
    assert_eq!(
        overflow,
        json!([true, true]),
        "the table fits the page at 1366 px"
    );
    b.screenshot("public-commitments-1366");
    b.cmd(
        "POST",
        "/window/rect",
        Some(json!({ "width": 412, "height": 915 })),
    );
    b.go("/public/commitments.html");
    let wide = b.run(
        "const w = document.documentElement.clientWidth;
         const out = [...document.querySelectorAll('main *')]
           .filter(e => e.getBoundingClientRect().right > w + 0.5)
           .map(e => e.id || e.tagName);
         if (document.documentElement.scrollWidth > w) out.push('page ' + document.documentElement.scrollWidth + ' > ' + w);
         return out;",
    );
    assert_eq!(wide, json!([]), "wider than a phone's screen");
    b.screenshot("public-commitments-phone");
}

/// The position of `name` in the bundle's public fields.
fn name_column(bundle: &Value) -> usize {
    bundle["public_fields"]
        .as_array()
        .expect("public fields")
        .iter()
        .position(|f| f == "name")
        .expect("names are public")
}

/// How the page's reasons name target `id` of the public `bundle`: “its public name”, with
/// （编号 id） where another target of the bundle has the same name.
fn named(bundle: &Value, id: &str) -> String {
    let at = name_column(bundle);
    let frame = util::frame_entries(bundle);
    let name_of = |f: &Value| text(&f["fields"][at]);
    let name = frame
        .iter()
        .find(|f| f["id"] == id)
        .map(name_of)
        .expect("a target of the frame");
    if frame.iter().filter(|f| name_of(f) == name).count() > 1 {
        format!("“{name}”（编号 {id}）")
    } else {
        format!("“{name}”")
    }
}

/// The changes after the draw replayed in the browser (V2-13): a 替补 and a 人员调整 made
/// with `suiji change` are each 一致; written into the database behind suiji's back, a
/// substitute taken out of rank order and a 人员调整 of a target already replaced are each
/// 不一致 with the reason, and the draw with them too. The published record names no
/// inspector.
#[test]
fn the_page_replays_the_changes_after_the_draw_and_finds_a_forged_one() {
    let p = Project::shipped().simulation();
    p.ok(util::SEEDED_HOTEL);
    let m: Value = serde_json::from_str(&p.read(util::HOTEL_MANIFEST)).expect("manifest");
    let (_, drawn, spare) = stratum_with_substitutes(&m);
    let (target, team) = staffed_besides(&m, &drawn);
    p.replace_closed("1", &drawn[0]);
    p.replace_ill("1", &target, &team[0]);
    let Some(page) = open(&p, "127.0.0.1:0", None) else {
        return;
    };
    let b = &page.browser;
    let r = verdict(b, 1, "");
    let published = b.run("return fetch('draws/1/changes.json').then(r => r.text());");
    let published = published.as_str().expect("changes.json");
    assert!(published.contains("suiji-public-changes/1"), "{published}");
    for x in &team {
        assert!(
            !published.contains(x.as_str()),
            "no inspector in {published}"
        );
    }
    assert_eq!(r["verdict"], "一致", "{r}");
    assert_eq!(
        r["changes"]
            .as_array()
            .map(|c| c.iter().map(|x| x["verdict"].clone()).collect()),
        Some(vec![json!("一致"), json!("一致")]),
        "{r}"
    );
    assert!(b.text("#changes").contains("第 "), "{}", b.text("#changes"));
    scroll_to_changes(b);
    b.screenshot("public-verify-changes");

    // Behind suiji's back: drawn[1] replaced by spare[0], which drawn[0] took in already (the
    // next is spare[1]); a 人员调整 at drawn[0], replaced since.
    let db = p.db();
    db.execute(
        "INSERT INTO draw_changes (draw_id, kind, cause, target_id, replacement, reason, actor, changed_at)
         VALUES (1, 'target', 'moved', ?1, ?2, '伪造', 'x', '2023-02-01T09:00:00+08:00')",
        [&drawn[1], &spare[0]],
    )
    .expect("insert");
    db.execute(
        "INSERT INTO draw_changes (draw_id, kind, cause, target_id, inspector_id, replacement, reason, actor, changed_at)
         VALUES (1, 'inspector', 'ill', ?1, ?2, ?2, '伪造', 'x', '2023-02-02T09:00:00+08:00')",
        [&drawn[0], &team[0]],
    )
    .expect("insert");
    let r = verdict(b, 1, "");
    assert_eq!(r["verdict"], "不一致", "{r}");
    let verdicts: Vec<Value> = r["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|x| x["verdict"].clone())
        .collect();
    assert_eq!(
        verdicts,
        vec![
            json!("一致"),
            json!("一致"),
            json!("不一致"),
            json!("不一致")
        ],
        "{r}"
    );
    // Targets are named by their public names, never by id (no name repeats in the registry).
    let bundle: Value =
        serde_json::from_str(&p.read("out/draws/zhian.hotel/2023-H1/bundle.public.json"))
            .expect("bundle");
    let reasons = r["reasons"].to_string();
    let next = format!("下一位替补是{}", named(&bundle, &spare[1]));
    assert!(
        !next.contains(spare[1].as_str()),
        "the next substitute by its name: {next}"
    );
    assert!(
        reasons.contains(&format!("变更 #3（替补 {}）", named(&bundle, &drawn[1])))
            && reasons.contains(&next)
            && reasons.contains(&format!("不是{}", named(&bundle, &spare[0]))),
        "{reasons}"
    );
    assert!(
        reasons.contains(&format!(
            "变更 #4（人员调整 {}）",
            named(&bundle, &drawn[0])
        )) && reasons.contains(&format!("此前已由{}替补", named(&bundle, &spare[0]))),
        "{reasons}"
    );
    for id in drawn.iter().chain(&spare) {
        assert!(
            !reasons.contains(id.as_str()),
            "no raw id {id} in {reasons}"
        );
    }
    assert_eq!(b.count("#changes tr[data-verdict='bad']"), 2);
    b.run("document.querySelector(\"#changes tr[data-verdict='bad']\").scrollIntoView(); return true;");
    b.screenshot("public-verify-changes-forged");
}

/// Scrolls the changes' table into view (for a screenshot of it).
fn scroll_to_changes(b: &Browser) {
    b.run("document.getElementById('changes-result').scrollIntoView(); return true;");
}
