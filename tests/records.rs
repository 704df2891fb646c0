//! Every record true: a real database records the real clock only (`--today` replays days
//! only in a simulation database, whose documents say 模拟); a late draw shows when it was
//! really made beside when it was due (补抽); a draw from a provisional plan says 临时.

mod util;

use util::{Project, run};

const HOTEL_2025: &str = "out/draws/zhian.hotel/2025-H1";

#[test]
fn publish_today_is_refused_on_a_real_database_and_replays_a_simulation() {
    // A real database: no day but today may be recorded.
    let p = Project::shipped();
    p.ok(&["draw", "zhian.hotel", "--period", "2025-H1"]);
    let (code, out, err) = run(p.suiji(&["publish", "--today", "2025-07-14"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("--today 2025-07-14 would record a publication on a day that is not today")
            && err.contains("data/suiji.sqlite3, a database of real records")
            && err.contains("suiji simulate"),
        "{err}"
    );
    // A dry run records nothing: it may look at any past day.
    p.ok(&["publish", "--today", "2025-07-14", "--dry-run"]);
    // A real database cannot become a simulation.
    let (code, _, err) = run(p.suiji(&["simulate", "--year", "2023"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("holds real records") && err.contains("data folder of its own"),
        "{err}"
    );
    assert!(!p.ok(&["draws"]).contains("模拟"));

    // A simulation database: marked, and every document made from it says so.
    let s = Project::shipped_two_person();
    s.ok(&["simulate", "--year", "2023"]);
    let public = s.read("out/draws/zhian.hotel/2023-H1/public.html");
    assert!(public.contains("抽查对象名单（模拟）"), "{public}");
    assert!(public.contains("模拟时间"), "{public}");
    assert!(
        s.read("out/draws/zhian.hotel/2023-H1/teams.html")
            .contains("检查任务单（模拟）")
    );
    let listed = s.ok(&["draws", "--year", "2023"]);
    assert!(
        listed.lines().skip(1).take(3).all(|l| l.contains("模拟")),
        "{listed}"
    );
    s.ok(&[
        "results",
        "import",
        "config/examples/results-2023-zhian-hotel-H1.csv",
    ]);
    s.ok(&["publish", "--today", "2023-07-14"]);
    let notice = s.read("out/public/2023/zhian.hotel/2023-H1/notice.html");
    assert!(notice.contains("抽查结果公示（模拟）"), "{notice}");
    s.ok(&["report", "--year", "2023", "--today", "2023-12-31"]);
    let report = s.read("out/reports/report-2023.html");
    assert!(report.contains("工作情况报告（模拟）"), "{report}");
    // And its audit log says when it became one.
    let c = s.db();
    let first: String = c
        .query_row("SELECT action FROM audit_log WHERE seq = 1", [], |r| {
            r.get(0)
        })
        .expect("first entry");
    assert_eq!(first, "store.simulation");
}

#[test]
fn a_late_draw_shows_when_it_was_made_beside_when_it_was_due() {
    let p = Project::shipped();
    let out = p.ok(&["draw", "zhian.hotel", "--period", "2025-H1"]);
    assert!(out.contains("recorded as draw #1"), "{out}");
    let c = p.db();
    let (created, issue): (String, String) = c
        .query_row(
            "SELECT created_at, issue_date FROM draws WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("draw 1");
    let made = created[..16].replace('T', " ");
    // The real time of the draw, its scheduled time beside it, and 补抽.
    let public = p.read(&format!("{HOTEL_2025}/public.html"));
    assert!(
        public.contains(&format!("抽取时间 {made}（补抽，原定 {issue} ")),
        "{public}"
    );
    assert!(public.contains(&format!("实际于 {made} 补抽")), "{public}");
    assert!(!public.contains(&format!("抽取日期 {issue}")), "{public}");
    let csv = p.read(&format!("{HOTEL_2025}/public.csv"));
    assert!(csv.contains(&format!(",{}（补抽）,", &made[..10])), "{csv}");
    let teams = p.read(&format!("{HOTEL_2025}/teams.html"));
    assert!(
        teams.contains("检查任务单（补抽）") && teams.contains("原定"),
        "{teams}"
    );
    // `draws` lists the real time, the scheduled day and the mark.
    let listed = p.ok(&["draws"]);
    let line = listed.lines().nth(1).unwrap_or_default();
    assert!(
        line.contains(&made) && line.contains(&issue) && line.contains("补抽"),
        "{listed}"
    );
    // The report's table of draws too.
    p.ok(&["report", "--year", "2025"]);
    let report = p.read("out/reports/report-2025.html");
    assert!(
        report.contains(&format!("（补抽，原定 {issue}）")),
        "{report}"
    );
}

#[test]
fn a_draw_from_a_provisional_plan_says_so_in_its_documents() {
    let p = Project::shipped();
    p.set_config(&["calendar", "provisional"], true);
    let out = p.ok(&["draw", "zhian.hotel", "--period", "2027-H2"]);
    assert!(out.contains("recorded as draw #1"), "{out}");
    let folder = "out/draws/zhian.hotel/2027-H2";
    let public = p.read(&format!("{folder}/public.html"));
    assert!(public.contains("抽查对象名单（临时）"), "{public}");
    assert!(public.contains("临时推算"), "{public}");
    assert!(p.read(&format!("{folder}/teams.html")).contains("（临时）"));
    let listed = p.ok(&["draws"]);
    assert!(listed.contains("临时"), "{listed}");
    let provisional: i64 = p
        .db()
        .query_row("SELECT provisional FROM draws WHERE id = 1", [], |r| {
            r.get(0)
        })
        .expect("draw 1");
    assert_eq!(provisional, 1);
    // A draw from an official calendar says nothing of the kind.
    p.ok(&["draw", "zhian.hotel", "--period", "2025-H1"]);
    let official = p.read(&format!("{HOTEL_2025}/public.html"));
    assert!(!official.contains("临时"), "{official}");
}

/// A service on the project's rules and database, as `suiji run --since SINCE` starts it.
fn service(p: &Project, since: chrono::NaiveDateTime) -> suiji::jobs::service::Service {
    let config = p.path(util::CONFIG);
    let loaded = suiji::rules::load(&config).expect("rules load");
    let cfg = &loaded.model.config;
    let cal = suiji::calendar::Calendar::load(
        &cfg.holidays_dir,
        &mut suiji::diag::Sources::default(),
        cfg.provisional_calendar,
    )
    .expect("calendar");
    let store = suiji::store::Store::open(&cfg.data_dir).expect("database");
    suiji::jobs::service::Service::new(config, loaded, cal, Box::new(store), "scheduler", since)
}

/// The first start of the service late in the year (on the simulated clock): periods that
/// ended are recorded as missed with the reason, the running one is drawn late (补抽), and
/// `status` and the report say so.
#[test]
fn a_first_start_in_november_draws_what_still_runs_and_records_what_ended_as_missed() {
    use suiji::store::SchedulerEvent;
    let at = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("a local time")
    };
    let p = Project::shipped();
    let mut svc = service(&p, at("2026-01-01 00:00:00"));
    let mut clock = suiji::schedule::clock::SimClock {
        now: at("2026-11-30 12:00:00"),
        end: at("2026-12-01 00:00:00"),
    };
    let (_tx, rx) = std::sync::mpsc::channel();
    let stop = suiji::jobs::service::run_loop(
        &mut svc,
        &mut clock,
        &rx,
        true,
        &mut suiji::jobs::service::Alone,
    );
    assert_eq!(stop, suiji::jobs::service::Stop::Once);
    let hotel: Vec<(String, SchedulerEvent, String)> = svc
        .outcomes
        .iter()
        .filter(|o| o.draw.matter == "zhian.hotel")
        .map(|o| (o.draw.period.id.clone(), o.event, o.detail.clone()))
        .collect();
    let of = |period: &str| {
        hotel
            .iter()
            .find(|h| h.0 == period)
            .unwrap_or_else(|| panic!("no outcome for {period}: {hotel:?}"))
    };
    for period in ["2026-H1", "2026-chunjie", "2026-laodong", "2026-guoqing"] {
        assert_eq!(of(period).1, SchedulerEvent::Missed, "{hotel:?}");
    }
    assert!(
        of("2026-H1")
            .2
            .contains("period 2026-H1 ended on 2026-06-30"),
        "{hotel:?}"
    );
    assert!(
        of("2026-chunjie")
            .2
            .contains("春节 holiday began on 2026-02-"),
        "{hotel:?}"
    );
    assert_eq!(of("2026-H2").1, SchedulerEvent::CaughtUp, "{hotel:?}");
    // A year-long period is still running: drawn late.
    let yearly: Vec<SchedulerEvent> = svc
        .outcomes
        .iter()
        .filter(|o| o.draw.matter == "jindu.precursor")
        .map(|o| o.event)
        .collect();
    assert_eq!(yearly, [SchedulerEvent::CaughtUp]);
    drop(svc);

    // Only what still ran was drawn; the late draw says 补抽.
    let periods: Vec<String> = p
        .db()
        .prepare("SELECT period FROM draws WHERE matter = 'zhian.hotel'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("draws");
    assert_eq!(periods, ["2026-H2"]);
    let public = p.read("out/draws/zhian.hotel/2026-H2/public.html");
    assert!(public.contains("（补抽，原定 2026-07-"), "{public}");
    // Each missed period is audited with its reason.
    let missed: i64 = p
        .db()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'scheduler.missed'
             AND subject = 'zhian.hotel' AND detail LIKE '%missed: %'",
            [],
            |r| r.get(0),
        )
        .expect("audit");
    assert_eq!(missed, 4);
    // `status` names them, and so does the report. The exit status is 4, not 3: with no
    // 2027 holiday file the next year cannot be scheduled either, which outranks a problem.
    let (code, out, _) = run(p.suiji(&["status", "--today", "2026-11-30"]));
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("CANNOT SCHEDULE 2027"), "{out}");
    assert!(
        out.contains("MISSED 2026-H1 at 2026-11-30T12:00:00+08:00: missed: period 2026-H1 ended"),
        "{out}"
    );
    assert!(out.contains("MISSED 2026-chunjie"), "{out}");
    assert!(!out.contains("OVERDUE 2026-H1"), "{out}");
    p.ok(&["report", "--year", "2026", "--today", "2026-11-30"]);
    let report = p.read("out/reports/report-2026.html");
    assert!(report.contains("未抽取：旅馆业"), "{report}");
}

/// Every file suiji writes for a draw and its publication, with what it says first: a CSV's
/// first line, a workbook's first row, an HTML page's title; for the notice's JSON feed its
/// `marks`. The machine files the draw is checked with (the manifest and the bundles) hold
/// what was drawn, not how, and are listed as such; any other file fails the test, so a new
/// kind of file must say how it shows the marks.
fn first_words_of_every_file(folders: &[std::path::PathBuf]) -> Vec<(String, String)> {
    use calamine::Reader as _;
    let mut seen = Vec::new();
    for folder in folders {
        let mut files: Vec<_> = std::fs::read_dir(folder)
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // The exclusion detail file is a record with canonical bytes (hashed in the
            // manifest), like the manifest and the bundles, not a document.
            if name == "exclusions.csv" {
                continue;
            }
            let bytes = std::fs::read(&path).expect("read");
            let text = || String::from_utf8_lossy(&bytes).into_owned();
            let first = match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
                "csv" => text()
                    .trim_start_matches('\u{feff}')
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                "xlsx" => {
                    let mut book = calamine::open_workbook_auto(&path).expect("workbook");
                    let range = book.worksheet_range_at(0).expect("a sheet").expect("cells");
                    range
                        .rows()
                        .next()
                        .map(|r| r.iter().map(|c| c.to_string()).collect::<String>())
                        .unwrap_or_default()
                }
                "html" => text()
                    .split("<title>")
                    .nth(1)
                    .and_then(|t| t.split("</title>").next())
                    .unwrap_or_default()
                    .to_string(),
                "json" if name == "notice.json" => {
                    let feed: serde_json::Value = serde_json::from_slice(&bytes).expect("feed");
                    feed["marks"].to_string()
                }
                _ if ["manifest.json", "bundle.public.json", "bundle.audit.gz"]
                    .contains(&name.as_str()) =>
                {
                    continue;
                }
                _ => panic!(
                    "{}: a file of a kind this test does not know",
                    path.display()
                ),
            };
            seen.push((name, first));
        }
    }
    seen
}

/// The task list of a draw with the first target's rows filled in (clean, on `date`), as an
/// inspector hands it back: the heading line kept.
fn filled_task_list(p: &Project, folder: &str, date: &str) -> String {
    let text = p.read(&format!("{folder}/tasks.csv"));
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    let heading = lines.next().expect("heading");
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let at = |name: &str| header.iter().position(|c| *c == name).expect(name);
    let mut out = vec![heading.to_string(), header.join(",")];
    let mut first = None;
    for line in lines {
        let mut cells: Vec<String> = line.split(',').map(String::from).collect();
        let target = cells[at("对象编号")].clone();
        if first.get_or_insert_with(|| target.clone()) == &target {
            cells[at("检查结果")] = "未发现问题".into();
            cells[at("检查日期")] = date.into();
            cells[at("签名检查人员")] = cells[at("检查人员")].clone();
        }
        out.push(cells.join(","));
    }
    out.join("\n") + "\n"
}

#[test]
fn every_file_of_a_late_provisional_or_simulated_draw_says_so_first() {
    // A real database: a draw of 2025-H1 made today is late (补抽), and with no 2025 holiday
    // file its dates come from a provisional calendar (临时).
    let p = Project::shipped();
    p.set_config(&["calendar", "provisional"], true);
    std::fs::remove_file(p.path("config/holidays/2025.toml")).expect("remove 2025.toml");
    p.ok(&["draw", "zhian.hotel", "--period", "2025-H1"]);
    // The task list as written (its heading line first) comes back through the import.
    p.write(
        "filled.csv",
        &filled_task_list(&p, HOTEL_2025, "2025-03-03"),
    );
    let out = p.ok(&["results", "import", "filled.csv"]);
    assert!(out.contains("imported 4 results"), "{out}");
    p.ok(&["publish"]);
    let folders = [
        p.path(HOTEL_2025),
        p.path("out/public/2025/zhian.hotel/2025-H1"),
    ];
    let seen = first_words_of_every_file(&folders);
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "public.csv",
            "public.html",
            "tasks.csv",
            "tasks.xlsx",
            "teams.html",
            "notice.csv",
            "notice.html",
            "notice.json"
        ]
    );
    for (name, first) in &seen {
        if name == "notice.json" {
            assert!(
                first.contains("\"late\":true") && first.contains("\"provisional\":true"),
                "{name}: {first}"
            );
            continue;
        }
        assert!(first.contains("（临时）（补抽）"), "{name}: {first}");
        if name.ends_with(".csv") || name.ends_with(".xlsx") {
            // The spreadsheets say why on the same line: the scheduled and the real time.
            assert!(
                first.contains("临时推算")
                    && first.contains("补抽。")
                    && first.contains("原定于 2025-"),
                "{name}: {first}"
            );
        }
    }

    // A simulation: the same files say 模拟.
    let s = Project::shipped_two_person();
    s.ok(&["simulate", "--year", "2023", "--seed", "demo"]);
    s.ok(&[
        "results",
        "import",
        "config/examples/results-2023-zhian-hotel-H1.csv",
    ]);
    s.ok(&["publish", "--today", "2023-07-14"]);
    let seen = first_words_of_every_file(&[
        s.path("out/draws/zhian.hotel/2023-H1"),
        s.path("out/public/2023/zhian.hotel/2023-H1"),
    ]);
    assert_eq!(seen.len(), 8);
    for (name, first) in &seen {
        let said = if name == "notice.json" {
            first.contains("\"simulation\":true")
        } else {
            first.contains("（模拟）") && (name.ends_with(".html") || first.contains("模拟时间"))
        };
        assert!(said, "{name}: {first}");
    }
}
