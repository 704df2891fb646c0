//! The public site (一公开): served by `suiji serve` under `/public` without logging in, and
//! written as the same static files by `suiji publish --site`; every page dated, readable on a
//! phone, printable, and without any inspector's data.

mod util;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt as _;
use util::{Project, repo};

/// A 2023 with results imported and published twice, and the public site written.
fn published_year() -> Project {
    let p = Project::year_with_results();
    p.ok(&["publish", "--today", "2023-04-03"]);
    p.ok(&["publish", "--today", "2023-07-14"]);
    let out = p.ok(&["publish", "--site"]);
    assert!(out.contains("public site:"), "{out}");
    p
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn router(p: &Project) -> axum::Router {
    let config = p.path("config/suiji.toml");
    let loaded = suiji::jobs::load_rules(&config).expect("rules load");
    suiji::web::router(suiji::web::App::new(&loaded, config, false))
}

async fn get(app: &axum::Router, path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let req = Request::get(path).body(Body::empty()).expect("request");
    let res = app.clone().oneshot(req).await.expect("the router answers");
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, headers, body.to_vec())
}

/// The page with its "updated" line (the time it was built) taken out.
fn undated(page: &[u8]) -> String {
    let text = String::from_utf8_lossy(page).into_owned();
    match text.find("本页更新时间：") {
        Some(a) => {
            let b = text[a..].find('<').map_or(text.len(), |b| a + b);
            format!("{}{}", &text[..a], &text[b..])
        }
        None => text,
    }
}

/// The id of the active draw of a matter and period.
fn draw_id(p: &Project, matter: &str, period: &str) -> i64 {
    p.db()
        .query_row(
            "SELECT id FROM draws WHERE matter = ?1 AND period = ?2 AND status = 'active'",
            [matter, period],
            |r| r.get(0),
        )
        .expect("draw recorded")
}

#[test]
fn the_site_is_served_without_login_and_written_as_the_same_static_files() {
    let p = published_year();
    let site = p.path("out/site");
    let hotel = draw_id(&p, "zhian.hotel", "2023-H1");
    for page in [
        "index.html".to_string(),
        "matters.html".into(),
        "verify.html".into(),
        "commitments.html".into(),
        "2023/index.html".into(),
        "2023/plan.html".into(),
        format!("draws/{hotel}.html"),
        format!("draws/{hotel}/notice.html"),
        "static/site.css".into(),
        "static/verify.js".into(),
        "static/sha256.js".into(),
    ] {
        assert!(site.join(&page).is_file(), "{page} written");
    }
    let app = router(&p);
    runtime().block_on(async {
        let (status, headers, _) = get(&app, "/public").await;
        assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(headers[header::LOCATION], "/public/");
        let (status, _, index) = get(&app, "/public/").await;
        assert_eq!(status, StatusCode::OK, "no login needed");
        assert_eq!(
            undated(&index),
            undated(&std::fs::read(site.join("index.html")).expect("index"))
        );
        for file in files_under(&site) {
            let rel = file.strip_prefix(&site).expect("under the site");
            let rel = rel.to_string_lossy().replace('\\', "/");
            let (status, headers, body) = get(&app, &format!("/public/{rel}")).await;
            assert_eq!(status, StatusCode::OK, "{rel}");
            let written = std::fs::read(&file).expect("written page");
            assert_eq!(undated(&body), undated(&written), "{rel} served as written");
            let csp = headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("ascii");
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe"),
                "{csp}"
            );
        }
        let (status, _, _) = get(&app, "/public/draws/99999.html").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = get(&app, "/public/../config/suiji.toml").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    });
}

#[test]
fn every_page_is_dated_chinese_readable_on_a_phone_and_printable() {
    let p = published_year();
    let site = p.path("out/site");
    let css = p.read("out/site/static/site.css");
    assert!(css.contains("@media (max-width: 640px)"), "a phone layout");
    assert!(css.contains("@media print"), "a print layout");
    let hotel = draw_id(&p, "zhian.hotel", "2023-H1");
    let mut pages = 0;
    for file in files_under(&site) {
        if file.extension().and_then(|e| e.to_str()) != Some("html") {
            continue;
        }
        pages += 1;
        let page = std::fs::read_to_string(&file).expect("utf-8 page");
        let name = file.display();
        assert!(page.contains("<html lang=\"zh-CN\">"), "{name}");
        assert!(page.contains("name=\"viewport\""), "{name}");
        assert!(
            page.contains("模拟"),
            "a simulation says so on every page: {name}"
        );
        let dated = page
            .split("<p class=\"dated\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or_else(|| panic!("{name} has no date"));
        assert!(
            dated.starts_with("发布时间：") || dated.starts_with("本页更新时间："),
            "{name}: {dated}"
        );
        assert!(
            dated.chars().filter(char::is_ascii_digit).count() >= 12,
            "{name}: {dated}"
        );
    }
    assert!(pages >= 25, "{pages} pages");
    // A draw's list: its real time, matter, period and drawn targets; the notice its day.
    let list = p.read(&format!("out/site/draws/{hotel}.html"));
    for part in [
        "旅馆业",
        "2023年上半年",
        "抽取时间",
        "2023-01-",
        "抽中的检查对象",
    ] {
        assert!(list.contains(part), "{part}\n{list}");
    }
    let db = p.db();
    let drawn_at: String = db
        .query_row("SELECT created_at FROM draws WHERE id = ?1", [hotel], |r| {
            r.get(0)
        })
        .expect("draw");
    let shown = format!("发布时间：{} {}", &drawn_at[..10], &drawn_at[11..16]);
    assert!(list.contains(&shown), "{shown}");
    let notice = p.read(&format!("out/site/draws/{hotel}/notice.html"));
    assert!(
        notice.contains("抽查结果公示") && notice.contains("2023-07-14"),
        "{notice}"
    );
    let year = p.read("out/site/2023/index.html");
    assert!(year.contains("治安") && year.contains("抽查结果"), "{year}");
    let plan = p.read("out/site/2023/plan.html");
    assert!(
        plan.contains("抽取日程") && plan.contains("旅馆业"),
        "{plan}"
    );
}

#[test]
fn public_pages_never_show_an_inspectors_data() {
    let p = published_year();
    // A 人员调整: its record (draws/<id>/changes.json) names its target, never the inspectors.
    let (draw, target, member): (i64, String, String) = p
        .db()
        .query_row(
            "SELECT draw_id, target_id, inspector_id FROM draw_team_members ORDER BY draw_id, seq LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("a team member");
    let draw = draw.to_string();
    p.replace_ill(&draw, &target, &member);
    p.ok(&["publish", "--site"]);
    let changes = p.read(&format!("out/site/draws/{draw}/changes.json"));
    assert!(
        changes.contains("\"kind\":\"inspector\"") && changes.contains(&target),
        "{changes}"
    );
    let inspectors =
        std::fs::read_to_string(repo().join("config/registry/inspectors.csv")).expect("inspectors");
    let mut secrets: Vec<String> = Vec::new();
    for line in inspectors.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        // 工号, 姓名, 执法证号
        for i in [0, 1, 3] {
            if let Some(c) = cells.get(i).filter(|c| !c.is_empty()) {
                secrets.push((*c).to_string());
            }
        }
    }
    assert!(secrets.len() > 100);
    let mut leaks = Vec::new();
    for file in files_under(&p.path("out/site")) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).expect("read")).into_owned();
        for s in &secrets {
            if text.contains(s.as_str()) {
                leaks.push(format!("{}: {s}", file.display()));
            }
        }
        for word in ["检查组", "执法人员：", "回避"] {
            if text.contains(word) && file.extension().is_some_and(|e| e == "json") {
                leaks.push(format!("{}: {word}", file.display()));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
}

#[test]
fn a_late_draw_says_when_it_was_really_made_and_that_it_is_late() {
    let p = Project::shipped();
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    p.ok(&["publish", "--site", "--to", "portal"]);
    let id = draw_id(&p, "zhian.hotel", "2023-H1");
    let list = p.read(&format!("portal/draws/{id}.html"));
    assert!(list.contains("（补抽，原定 2023-01-"), "{list}");
    assert!(list.contains("（补抽）"), "{list}");
    assert!(
        !list.contains("模拟"),
        "a real database is not a simulation"
    );
    let year = p.read("portal/2023/index.html");
    assert!(year.contains("补抽，原定"), "{year}");
    assert!(year.contains("尚未公示"), "{year}");
}

/// A redraw does not take back what the replaced draw made public: its list and its published
/// results stay on the site, marked as replaced and linked both ways with the redraw.
#[test]
fn a_redrawn_draw_keeps_its_list_and_published_results_public() {
    let p = published_year();
    let old = draw_id(&p, "zhian.hotel", "2023-H1");
    assert!(
        p.read(&format!("out/site/draws/{old}/notice.html"))
            .contains("未发现问题")
    );
    p.ok(&[
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H1",
        "--redraw",
        "--reason",
        "名录库有误",
        "--seed",
        "again",
    ]);
    let new = draw_id(&p, "zhian.hotel", "2023-H1");
    assert_ne!(new, old);
    p.ok(&["publish", "--site"]);
    let page = p.read(&format!("out/site/draws/{old}.html"));
    assert!(
        page.contains(&format!("已被<a href=\"{new}.html\">重新抽取</a>替代")),
        "{page}"
    );
    let notice = p.read(&format!("out/site/draws/{old}/notice.html"));
    assert!(notice.contains("未发现问题"), "{notice}");
    assert!(
        p.path(&format!("out/site/draws/{old}/bundle.public.json"))
            .is_file()
    );
    let redrawn = p.read(&format!("out/site/draws/{new}.html"));
    assert!(
        redrawn.contains(&format!("<a href=\"{old}.html\">")),
        "{redrawn}"
    );
    let year = p.read("out/site/2023/index.html");
    assert!(
        year.contains("（已被重新抽取替代）") && year.contains("（重新抽取）"),
        "{year}"
    );
}

/// The commitments page (随机种子承诺): every commitment with its matter, period, the named
/// public source, the time its value is announced, when it was made and whether a draw has
/// used the value (已揭示, linking the draw) or not yet (待揭示); linked from the index and from
/// the draw that used it; `serve` answers it as `publish --site` writes it.
#[test]
fn commitments_are_public_with_their_source_times_and_the_draw_that_revealed_them() {
    let p = Project::shipped();
    let loaded = suiji::jobs::load_rules(&p.path("config/suiji.toml")).expect("rules");
    let lottery = "中国福利彩票3D 第2025001期开奖号码";
    let input = suiji::jobs::commit::Input {
        matter: "zhian.hotel".into(),
        period: "2025-H1".into(),
        source: lottery.into(),
        source_time: "2025-01-02 21:15".into(),
        actor: "operator".into(),
        now: "2025-01-01T09:00:00+08:00".into(),
        redraw: false,
    };
    let k = suiji::jobs::commit::commit(&loaded, &input).expect("committed");
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
    let drawn = suiji::jobs::draw::run(&loaded, &draw).expect("drawn");
    let id = drawn.issued.draw_id.expect("recorded");
    let beacon = "某随机数信标 <第 99 轮> & 值";
    p.ok(&[
        "commit",
        "zhian.hotel",
        "--period",
        "2025-H2",
        "--source",
        beacon,
        "--source-time",
        "2099-07-01 10:00",
    ]);
    p.ok(&["publish", "--site"]);
    let site = p.path("out/site");
    let page = p.read("out/site/commitments.html");
    let row = |n: i64| {
        let at = page
            .find(&format!("<tr id=\"k-{n}\">"))
            .unwrap_or_else(|| panic!("commitment #{n} listed: {page}"));
        page[at..]
            .split("</tr>")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let revealed = row(k.id);
    for text in [
        "旅馆业",
        "2025年上半年",
        lottery,
        "2025-01-02 21:15",
        "2025-01-01 09:00",
        "已揭示",
        &format!("<a href=\"draws/{id}.html\">抽取时间 2025-01-02 21:40</a>"),
    ] {
        assert!(revealed.contains(text), "{text} in {revealed}");
    }
    let waiting = row(k.id + 1);
    for text in [
        "2025年下半年",
        "某随机数信标 &#60;第 99 轮&#62; &#38; 值",
        "2099-07-01 10:00",
        "待揭示",
    ] {
        assert!(waiting.contains(text), "{text} in {waiting}");
    }
    assert!(
        !waiting.contains("已揭示") && !waiting.contains(beacon),
        "{waiting}"
    );
    assert!(
        page.find("k-2").unwrap_or(usize::MAX) < page.find("k-1").unwrap_or(0),
        "newest first"
    );
    let index = p.read("out/site/index.html");
    assert!(
        index.contains("<a href=\"commitments.html\">") && index.contains("（1 项待揭示）"),
        "{index}"
    );
    let drawn_page = p.read(&format!("out/site/draws/{id}.html"));
    assert!(
        drawn_page.contains(&format!("<a href=\"../commitments.html#k-{}\">", k.id)),
        "{drawn_page}"
    );
    let app = router(&p);
    runtime().block_on(async {
        let (status, _, body) = get(&app, "/public/commitments.html").await;
        assert_eq!(status, StatusCode::OK);
        let written = std::fs::read(site.join("commitments.html")).expect("written");
        assert_eq!(undated(&body), undated(&written));
    });
}

/// The text of each `<item>` child of an RSS document, read by an XML parser (which fails on
/// anything not well formed), entities resolved.
fn rss_items(xml: &str) -> (String, Vec<std::collections::BTreeMap<String, String>>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut items: Vec<std::collections::BTreeMap<String, String>> = Vec::new();
    let mut version = String::new();
    loop {
        let text = match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.name().as_ref().to_string();
                if name == "rss" {
                    for a in e.attributes() {
                        let a = a.expect("attribute");
                        if a.key.as_ref() == "version" {
                            version = a.value.to_string();
                        }
                    }
                }
                if name == "item" {
                    items.push(Default::default());
                }
                path.push(name);
                continue;
            }
            Ok(Event::End(_)) => {
                path.pop();
                continue;
            }
            Ok(Event::Text(t)) => t.to_string(),
            Ok(Event::GeneralRef(r)) => match r.resolve_char_ref().expect("char ref") {
                Some(c) => c.to_string(),
                None => match &*r {
                    "amp" => "&".into(),
                    "lt" => "<".into(),
                    "gt" => ">".into(),
                    "quot" => "\"".into(),
                    "apos" => "'".into(),
                    other => panic!("undefined entity &{other};"),
                },
            },
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(e) => panic!("not well-formed XML at {}: {e}", reader.buffer_position()),
        };
        if let [.., parent, field] = path.as_slice()
            && parent == "item"
            && let Some(item) = items.last_mut()
        {
            item.entry(field.clone()).or_default().push_str(&text);
        }
    }
    assert!(path.is_empty(), "every element closed: {path:?}");
    (version, items)
}

/// The feed of new draws, results notices and seed commitments, in RSS 2.0 (`feed.xml`) and
/// JSON Feed (`feed.json`): written by `publish --site`, served under `/public`, well-formed
/// with every text escaped, newest first, each entry linking a page of the site.
#[test]
fn the_feed_lists_draws_notices_and_commitments_newest_first() {
    let p = published_year();
    let beacon = "某随机数信标 <第 99 轮> & \"值\"";
    p.ok(&[
        "commit",
        "zhian.hotel",
        "--period",
        "2025-H2",
        "--source",
        beacon,
        "--source-time",
        "2099-07-01 10:00",
    ]);
    p.ok(&["publish", "--site"]);
    let site = p.path("out/site");
    let xml = p.read("out/site/feed.xml");
    assert!(xml.contains("&#60;第 99 轮&#62; &#38;"), "escaped: {xml}");
    let (version, items) = rss_items(&xml);
    assert_eq!(version, "2.0");
    let draws: i64 = p
        .db()
        .query_row("SELECT count(*) FROM draws", [], |r| r.get(0))
        .expect("count");
    let kinds = |prefix: &str| {
        items
            .iter()
            .filter(|i| i.get("guid").is_some_and(|g| g.starts_with(prefix)))
            .count()
    };
    assert_eq!(kinds("draw-") as i64, draws, "{xml}");
    assert!(kinds("notice-") >= 1, "{xml}");
    assert_eq!(kinds("commitment-"), 1, "{xml}");
    let first = &items[0];
    assert_eq!(first["guid"], "commitment-1", "the newest first");
    assert!(
        first["description"].contains(beacon) && first["title"].contains("随机种子承诺 #1"),
        "{first:?}"
    );
    let hotel = draw_id(&p, "zhian.hotel", "2023-H1");
    let notice = items
        .iter()
        .find(|i| i["link"] == format!("draws/{hotel}/notice.html"))
        .unwrap_or_else(|| panic!("the hotel notice: {xml}"));
    assert!(notice["title"].contains("抽查结果公示"), "{notice:?}");
    let mut last = None;
    for i in &items {
        let at = chrono::DateTime::parse_from_rfc2822(&i["pubDate"])
            .unwrap_or_else(|e| panic!("{i:?}: {e}"));
        assert!(last.is_none_or(|l| l >= at), "newest first: {i:?}");
        last = Some(at);
        let page = i["link"].split('#').next().unwrap_or_default();
        assert!(site.join(page).is_file(), "{} links a page", i["guid"]);
    }
    let json: serde_json::Value =
        serde_json::from_str(&p.read("out/site/feed.json")).expect("JSON");
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    let entries = json["items"].as_array().expect("items");
    assert_eq!(entries.len(), items.len());
    for (e, i) in entries.iter().zip(&items) {
        assert_eq!(e["id"], i["guid"].as_str());
        assert_eq!(e["url"], i["link"].as_str());
        assert_eq!(e["content_text"], i["description"].as_str());
        let at = chrono::DateTime::parse_from_rfc3339(e["date_published"].as_str().unwrap_or(""))
            .expect("RFC 3339");
        assert_eq!(
            Some(at),
            chrono::DateTime::parse_from_rfc2822(&i["pubDate"]).ok()
        );
    }
    let index = p.read("out/site/index.html");
    assert!(
        index.contains("href=\"feed.xml\"") && index.contains("href=\"feed.json\""),
        "{index}"
    );
    let app = router(&p);
    runtime().block_on(async {
        let (status, headers, body) = get(&app, "/public/feed.xml").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/rss+xml; charset=utf-8"
        );
        assert_eq!(body, xml.as_bytes(), "served as written");
    });
}

/// `[publication] site_url`: the feeds' links are absolute under the address the site is
/// published at (RSS readers need them so), served as written; a relative or malformed address
/// is refused at its place in the config.
#[test]
fn a_site_url_makes_the_feeds_links_absolute_and_a_bad_one_is_refused_where_it_is() {
    let p = Project::shipped();
    p.ok(&[
        "commit",
        "zhian.hotel",
        "--period",
        "2025-H2",
        "--source",
        "中国福利彩票3D 第2099001期开奖号码",
        "--source-time",
        "2099-07-01 10:00",
    ]);
    let base = "https://www.example.gov.cn/shuangsuiji/";
    p.set_config(&["publication", "site_url"], base.trim_end_matches('/'));
    p.ok(&["publish", "--site"]);
    let xml = p.read("out/site/feed.xml");
    assert!(
        xml.contains(&format!("<link>{base}index.html</link>")),
        "{xml}"
    );
    let (_, items) = rss_items(&xml);
    assert_eq!(items.len(), 1, "{xml}");
    assert_eq!(items[0]["link"], format!("{base}commitments.html#k-1"));
    let json: serde_json::Value =
        serde_json::from_str(&p.read("out/site/feed.json")).expect("JSON");
    assert_eq!(json["home_page_url"], format!("{base}index.html"));
    assert_eq!(json["feed_url"], format!("{base}feed.json"));
    assert_eq!(
        json["items"][0]["url"],
        format!("{base}commitments.html#k-1")
    );
    let app = router(&p);
    runtime().block_on(async {
        let (status, _, body) = get(&app, "/public/feed.json").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            p.read("out/site/feed.json").as_bytes(),
            "served as written"
        );
    });
    for (bad, says) in [
        (
            "shuangsuiji/",
            "must be an absolute address starting with https:// or http://",
        ),
        ("https://www.example .gov.cn/", "has no valid host name"),
        ("https://www.example.gov.cn/a b/", "has ` ` in its path"),
        ("https://www.example.gov.cn/?page=1", "has `?` in its path"),
    ] {
        p.set_config(&["publication", "site_url"], bad);
        let config = p.read("config/suiji.toml");
        let at = config.find("site_url").expect("written");
        let line = config[..at].lines().count() + 1;
        let column = config[at..].find('"').expect("quoted") + 2;
        let (code, out, err) = util::run(p.suiji(&["check"]));
        assert_ne!(code, 0, "{bad}: {out}{err}");
        assert!(
            err.contains(&format!("`[publication] site_url` {says}"))
                && err.contains(&format!("config/suiji.toml:{line}:{column}"))
                && err.contains("https://www.example.gov.cn/shuangsuiji/"),
            "{bad}: {err}"
        );
    }
}

/// A GET with `If-None-Match: tag`.
async fn get_if(app: &axum::Router, path: &str, tag: &str) -> StatusCode {
    let req = Request::get(path)
        .header(header::IF_NONE_MATCH, tag)
        .body(Body::empty())
        .expect("request");
    app.clone()
        .oneshot(req)
        .await
        .expect("the router answers")
        .status()
}

/// Pages are revalidated (an ETag of their content, 304 when it has not changed), a draw's
/// public bundle is cached for good, the scripts and stylesheet for a day.
#[test]
fn public_files_carry_validators_and_cache_lifetimes() {
    let p = published_year();
    let hotel = draw_id(&p, "zhian.hotel", "2023-H1");
    let app = router(&p);
    runtime().block_on(async {
        for (path, cache) in [
            ("/public/".to_string(), "no-cache"),
            (format!("/public/draws/{hotel}.html"), "no-cache"),
            ("/public/feed.json".to_string(), "no-cache"),
            (
                "/public/static/verify.js".to_string(),
                "public, max-age=86400",
            ),
            (
                format!("/public/draws/{hotel}/bundle.public.json"),
                "public, max-age=31536000, immutable",
            ),
        ] {
            let (status, headers, body) = get(&app, &path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(!body.is_empty());
            assert_eq!(headers[header::CACHE_CONTROL], cache, "{path}");
            let tag = headers[header::ETAG].to_str().expect("ascii").to_string();
            assert_eq!(
                get_if(&app, &path, &tag).await,
                StatusCode::NOT_MODIFIED,
                "{path}"
            );
            assert_eq!(
                get_if(&app, &path, "\"something else\"").await,
                StatusCode::OK,
                "{path}"
            );
        }
    });
}

/// A GET with the given request headers: the status and the answer's headers.
async fn get_with(
    app: &axum::Router,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, axum::http::HeaderMap) {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("the router answers");
    (res.status(), res.headers().clone())
}

fn http_time(v: &axum::http::HeaderValue) -> i64 {
    chrono::DateTime::parse_from_rfc2822(v.to_str().expect("ascii"))
        .expect("an HTTP date")
        .timestamp()
}

/// Every public answer says when it last changed (`Last-Modified`); `If-Modified-Since` with
/// that date answers 304 while the file is the same and 200 once it has changed (a new
/// commitment changes the commitments page), even within the same second; with
/// `If-None-Match` also given, the ETag alone decides.
#[test]
fn public_files_carry_last_modified_and_answer_if_modified_since() {
    let p = published_year();
    let hotel = draw_id(&p, "zhian.hotel", "2023-H1");
    let app = router(&p);
    runtime().block_on(async {
        for path in [
            "/public/commitments.html".to_string(),
            format!("/public/draws/{hotel}.html"),
            "/public/feed.xml".to_string(),
            "/public/static/site.css".to_string(),
            format!("/public/draws/{hotel}/bundle.public.json"),
        ] {
            let (status, headers) = get_with(&app, &path, &[]).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            let stamp = headers[header::LAST_MODIFIED]
                .to_str()
                .expect("ascii")
                .to_string();
            assert!(stamp.ends_with(" GMT"), "{path}: {stamp}");
            let (status, again) =
                get_with(&app, &path, &[(header::IF_MODIFIED_SINCE, &stamp)]).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
            assert_eq!(again[header::LAST_MODIFIED], stamp.as_str(), "{path}");
            let earlier = chrono::DateTime::from_timestamp(
                http_time(&headers[header::LAST_MODIFIED]) - 86_400,
                0,
            )
            .expect("a day before")
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
            let (status, _) = get_with(&app, &path, &[(header::IF_MODIFIED_SINCE, &earlier)]).await;
            assert_eq!(status, StatusCode::OK, "{path}: changed since a day before");
            let (status, _) = get_with(
                &app,
                &path,
                &[
                    (header::IF_MODIFIED_SINCE, &stamp),
                    (header::IF_NONE_MATCH, "\"something else\""),
                ],
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{path}: the ETag decides");
        }

        let path = "/public/commitments.html";
        let (_, headers) = get_with(&app, path, &[]).await;
        let stamp = headers[header::LAST_MODIFIED]
            .to_str()
            .expect("ascii")
            .to_string();
        p.ok(&[
            "commit",
            "zhian.hotel",
            "--period",
            "2025-H2",
            "--source",
            "中国福利彩票3D 第2099001期开奖号码",
            "--source-time",
            "2099-07-01 10:00",
        ]);
        let (status, changed) = get_with(&app, path, &[(header::IF_MODIFIED_SINCE, &stamp)]).await;
        assert_eq!(status, StatusCode::OK, "the page changed");
        // Sent once that second has come (a change within the same second moves it on).
        if let Some(later) = changed.get(header::LAST_MODIFIED) {
            assert!(http_time(later) > http_time(&headers[header::LAST_MODIFIED]));
        }
        let (status, _) = get_with(&app, path, &[(header::IF_MODIFIED_SINCE, &stamp)]).await;
        assert_eq!(status, StatusCode::OK, "still newer than the old copy");
    });
}

/// The bureau's local time (Asia/Shanghai, UTC+8) `local` ("YYYY-MM-DD HH:MM") as UTC.
fn beijing(local: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M")
        .expect("a time")
        .and_utc()
        - chrono::Duration::hours(8)
}

/// The console's state for `p` with its clock standing at `local`, and its router.
fn kept_app(p: &Project, local: &str) -> (suiji::web::App, axum::Router) {
    let config = p.path("config/suiji.toml");
    let loaded = suiji::jobs::load_rules(&config).expect("rules load");
    let app = suiji::web::App::new(&loaded, config, false).at(beijing(local));
    (app.clone(), suiji::web::router(app))
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// The public site is built once and kept: a later request the same day gets the very page
/// built before (its build time too), yet a draw made by another process, its bundle put in
/// place after the site was built, and a new day (here a new year, whose pages appear) show on
/// the very next request, with a new ETag and 304 only for the current one. No sleeps: the
/// console's clock is moved.
#[test]
fn the_kept_site_shows_a_new_draw_its_bundle_and_a_new_day_at_once() {
    let p = Project::shipped();
    p.ok(&["draw", "zhian.hotel", "--period", "2023-H1"]);
    let (app, router) = kept_app(&p, "2023-12-31 23:00");
    runtime().block_on(async {
        let (status, headers, index) = get(&router, "/public/").await;
        assert_eq!(status, StatusCode::OK);
        let index = text(&index);
        assert!(index.contains("本页更新时间：2023-12-31 23:00"), "{index}");
        assert!(index.contains("2023 年"), "{index}");
        let tag = headers[header::ETAG].to_str().expect("ascii").to_string();
        assert_eq!(
            get(&router, "/public/2024/index.html").await.0,
            StatusCode::NOT_FOUND
        );

        // Kept: half an hour later, the same day and no write, the same page as built.
        app.move_clock(beijing("2023-12-31 23:30"));
        let (status, _, again) = get(&router, "/public/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(text(&again), index, "the kept page, built at 23:00");
        assert_eq!(
            get_if(&router, "/public/", &tag).await,
            StatusCode::NOT_MODIFIED
        );

        // A draw by another process shows at once.
        p.ok(&["draw", "zhian.hotel", "--period", "2023-H2"]);
        let h2 = draw_id(&p, "zhian.hotel", "2023-H2");
        let page = format!("/public/draws/{h2}.html");
        let (status, headers, body) = get(&router, &page).await;
        assert_eq!(status, StatusCode::OK, "the new draw's page");
        assert!(text(&body).contains(&format!("{h2}/bundle.public.json")));
        let (status, _, year) = get(&router, "/public/2023/index.html").await;
        assert_eq!(status, StatusCode::OK);
        assert!(text(&year).contains(&format!("draws/{h2}.html")));
        let (_, now_headers, _) = get(&router, "/public/").await;
        let new_tag = now_headers[header::ETAG].to_str().expect("ascii");
        assert_ne!(new_tag, tag, "the index lists one draw more");
        assert_eq!(get_if(&router, "/public/", &tag).await, StatusCode::OK);
        assert_eq!(
            get_if(&router, "/public/", new_tag).await,
            StatusCode::NOT_MODIFIED
        );
        let page_tag = headers[header::ETAG].to_str().expect("ascii").to_string();
        assert_eq!(
            get_if(&router, &page, &page_tag).await,
            StatusCode::NOT_MODIFIED
        );

        // A bundle put in place after the site was built: seen on the next request.
        let bundle = p
            .path("out/draws/zhian.hotel/2023-H2")
            .join("bundle.public.json");
        let aside = p.path("bundle.aside");
        std::fs::rename(&bundle, &aside).expect("move the bundle aside");
        p.ok(&["draw", "zhian.entertainment", "--period", "2023-H2"]);
        let route = format!("/public/draws/{h2}/bundle.public.json");
        let (_, _, body) = get(&router, &page).await;
        assert!(!text(&body).contains("bundle.public.json"), "no bundle yet");
        assert_eq!(get(&router, &route).await.0, StatusCode::NOT_FOUND);
        std::fs::rename(&aside, &bundle).expect("put the bundle back");
        let (_, _, body) = get(&router, &page).await;
        assert!(
            text(&body).contains("bundle.public.json"),
            "the bundle is linked"
        );
        let (status, _, served) = get(&router, &route).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(served, std::fs::read(&bundle).expect("bundle"));

        // A new day: the site is built again, and the new year is there.
        app.move_clock(beijing("2024-01-01 00:30"));
        let (_, _, index) = get(&router, "/public/").await;
        assert!(
            text(&index).contains("本页更新时间：2024-01-01 00:30"),
            "{}",
            text(&index)
        );
        assert_eq!(
            get(&router, "/public/2024/index.html").await.0,
            StatusCode::OK
        );
    });
}

/// A publication made by another process shows on the kept site at once: the notice page
/// appears and the draw's page links it, its old ETag no longer answered with 304.
#[test]
fn the_kept_site_shows_a_publication_at_once() {
    let p = Project::year_with_results();
    let hotel = draw_id(&p, "zhian.hotel", "2023-H1");
    let (_app, router) = kept_app(&p, "2023-04-03 10:00");
    runtime().block_on(async {
        let notice = format!("/public/draws/{hotel}/notice.html");
        let page = format!("/public/draws/{hotel}.html");
        assert_eq!(get(&router, &notice).await.0, StatusCode::NOT_FOUND);
        let (status, headers, body) = get(&router, &page).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!text(&body).contains("notice.html"));
        let tag = headers[header::ETAG].to_str().expect("ascii").to_string();
        assert_eq!(get_if(&router, &page, &tag).await, StatusCode::NOT_MODIFIED);

        p.ok(&["publish", "--today", "2023-04-03"]);
        let (status, _, body) = get(&router, &notice).await;
        assert_eq!(status, StatusCode::OK, "the notice appears at once");
        assert!(text(&body).contains("发布时间："));
        let (_, _, body) = get(&router, &page).await;
        assert!(
            text(&body).contains("notice.html"),
            "the draw links its notice"
        );
        assert_eq!(get_if(&router, &page, &tag).await, StatusCode::OK);
    });
}
