//! Rules checked against what they meet: the registry's columns and classes, the calendar, the
//! year asked for. Each test names what the draw did before: it drew the wrong set, silently.

mod util;

use util::{Project, run};

/// A department of one matter on the hotel registry, written as `rules/extra.toml`.
fn with_matter(p: &Project, keys: &str) {
    p.write(
        "rules/extra.toml",
        &format!(
            "[department]\nid = \"extra\"\nname = \"测试大队\"\n\n[[matter]]\nid = \"a\"\nname = \"测试事项\"\ncategories = [\"hotel\"]\n{keys}\n[[matter.checklist]]\nid = \"a-01\"\ntext = \"检查内容\"\n"
        ),
    );
}

/// (stratum, ratio in ppm, eligible) of the manifest of a real draw of `extra.a` for 2023.
fn strata(p: &Project) -> Vec<(String, u64, u64)> {
    p.ok(&["draw", "extra.a", "--period", "2023"]);
    let m: serde_json::Value =
        serde_json::from_str(&p.read("out/draws/extra.a/2023/manifest.json")).expect("JSON");
    m["strata"]
        .as_array()
        .expect("strata")
        .iter()
        .map(|s| {
            (
                s["stratum"].as_str().unwrap_or_default().to_string(),
                s["ratio_ppm"].as_u64().unwrap_or_default(),
                s["eligible"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// The hotels of the shipped registry with risk class D.
fn hotels_of_class(p: &Project, class: &str) -> u64 {
    p.read("config/registry/targets.csv")
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split(',').collect();
            f.get(2) == Some(&"hotel") && f.get(6) == Some(&class)
        })
        .count() as u64
}

/// `class_field = "风险等级"` (the column's Chinese header) used to leave the draw unsplit: every
/// class was drawn at the base 1%. It now draws by that column, as `class` does.
#[test]
fn a_class_column_named_by_its_chinese_header_splits_the_draw() {
    let p = Project::shipped();
    with_matter(
        &p,
        "ratio = \"1%\"\nfrequency = \"yearly\"\nclass_field = \"风险等级\"\nclass_ratios = { D = \"30%\" }",
    );
    let s = strata(&p);
    let d = s
        .iter()
        .find(|x| x.0 == "class=D")
        .unwrap_or_else(|| panic!("no class=D stratum: {s:?}"));
    assert_eq!(d.1, 300_000, "{s:?}");
    assert!(d.2 > 0 && d.2 <= hotels_of_class(&p, "D"), "{s:?}");

    let q = Project::shipped();
    with_matter(
        &q,
        "ratio = \"1%\"\nfrequency = \"yearly\"\nclass_field = \"class\"\nclass_ratios = { D = \"30%\" }",
    );
    assert_eq!(strata(&q), s);
}

/// A registry with 风险等级 and 信用等级 side by side used to be refused; now each matter names the
/// column it uses, and the draw uses that column.
#[test]
fn a_registry_with_two_class_columns_draws_by_the_one_the_matter_names() {
    let p = Project::shipped();
    let rows: Vec<String> = p
        .read("config/registry/targets.csv")
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<&str> = l.split(',').collect();
            let credit = if i == 0 {
                "信用等级"
            } else {
                ["A", "B", "C"][i % 3]
            };
            f.insert(7, credit);
            f.join(",")
        })
        .collect();
    p.write("config/registry/targets.csv", &(rows.join("\n") + "\n"));
    with_matter(
        &p,
        "ratio = \"1%\"\nfrequency = \"yearly\"\nclass_field = \"信用等级\"\nclass_ratios = { C = \"50%\" }",
    );
    let (code, out, err) = run(p.suiji(&["check"]));
    assert_eq!(code, 0, "{out}{err}");
    let s = strata(&p);
    let names: Vec<&str> = s.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(names, ["class=A", "class=B", "class=C"], "{s:?}");
    assert_eq!(s[2].1, 500_000);
    assert_eq!(s[0].1, 10_000);
}

/// A target file with only its header used to give a draw of nobody, recorded for good. Now
/// every draw fails, the service records the failure and `status` shows it.
#[test]
fn an_empty_target_registry_fails_every_draw_and_status_shows_it() {
    let p = Project::shipped();
    let header = p
        .read("config/registry/targets.csv")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    p.write("config/registry/targets.csv", &format!("{header}\n"));
    let (code, out, err) = run(p.suiji(&["draw", "zhian.hotel", "--period", "2023-H1"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("the target registry has no rows: there is nothing to draw from"),
        "{err}"
    );
    let (_, out, err) = run(p.suiji(&["simulate", "--year", "2023", "--seed", "s"]));
    assert!(
        out.contains("0 draws of 2023 (0 issued by this run"),
        "{out}{err}"
    );
    // Run again, each failing draw tried and failing again: said once each, with its count.
    run(p.suiji(&["simulate", "--year", "2023", "--seed", "s"]));
    let (_, status, err) = run(p.suiji(&["status", "--today", "2023-12-31"]));
    let hotel = status
        .lines()
        .find(|l| l.starts_with("zhian.hotel "))
        .unwrap_or_else(|| panic!("no zhian.hotel line:\n{status}{err}"));
    assert_eq!(hotel.matches("FAILED 2023-H1 ").count(), 1, "{status}");
    assert!(hotel.contains("(failed 2 times)"), "{status}");
    assert!(
        p.db()
            .query_row("SELECT count(*) FROM draws", [], |r| r.get::<_, i64>(0))
            .expect("count")
            == 0
    );
}

/// `plan --year 262144` names the range of years it can plan and how to get another.
#[test]
fn a_year_out_of_range_is_refused_with_a_message() {
    let p = Project::shipped();
    let (code, out, err) = run(p.suiji(&["plan", "--year", "262144"]));
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        err,
        "error: no holiday calendar for 262144: provisional calendars are only computed for 1901–2199\n  = help: give a year in that range, or add config/holidays/YEAR.toml with the year's official notice\n\n"
    );
}

/// A cron draw whose fire time is a day off used to be issued that day, due the same day. It
/// now moves to the next working day (its due date counted from there), unless the matter
/// says `on_holiday = "keep"`.
#[test]
fn a_cron_draw_on_a_day_off_moves_to_the_next_working_day_unless_kept() {
    let p = Project::shipped();
    // 2023-06-03 is a Saturday; the next working day is Monday 2023-06-05.
    with_matter(
        &p,
        "ratio = \"5%\"\ncron = \"0 30 10 3 6 * 2023\"\ndue_working_days = 2",
    );
    let line = |p: &Project| {
        p.ok(&["schedule", "--year", "2023"])
            .lines()
            .find(|l| l.contains("extra.a"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let moved = line(&p);
    assert!(moved.starts_with("2023-06-05 10:30  extra.a"), "{moved}");
    assert!(
        moved.ends_with("2023-06-07 每年6月3日10时30分（2023年）"),
        "{moved}"
    );
    with_matter(
        &p,
        "ratio = \"5%\"\ncron = \"0 30 10 3 6 * 2023\"\ndue_working_days = 2\non_holiday = \"keep\"",
    );
    let kept = line(&p);
    assert!(kept.starts_with("2023-06-03 10:30  extra.a"), "{kept}");
}

/// Class ratios naming classes no row has (`高风险` where rows say `D`) used to give those rows
/// the base ratio without a word. `plan` now lists the warning `check` gives, and the plan says
/// what the classes without a ratio get.
#[test]
fn the_plan_lists_class_ratios_no_row_has_and_the_base_ratio_of_the_others() {
    let p = Project::shipped();
    with_matter(
        &p,
        "ratio = \"1%\"\nfrequency = \"yearly\"\nclass_ratios = { \"高风险\" = \"30%\", D = \"20%\" }",
    );
    let (code, out, err) = run(p.suiji(&["plan", "--year", "2023"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: class ratios of `extra.a` name `高风险` that no target in its scope has in column `class`"),
        "{err}"
    );
    assert!(
        err.contains("`A`, `B`, `C` have no class ratio and are drawn at the base ratio 1%"),
        "{err}"
    );
    assert!(
        out.contains("按等级：D 类 20%，高风险 类 30%；其他等级（含未定级）1%"),
        "{out}"
    );
}

/// A matter the year's schedule cannot place (here a 元旦 draw a week before 2023-01-01 needs
/// the 2022 calendar) used to be left out of `simulate` with exit 0. Now the run names it.
#[test]
fn simulate_names_a_matter_it_cannot_schedule() {
    let p = Project::shipped();
    with_matter(
        &p,
        "ratio = \"5%\"\nfrequency = \"yearly\"\n[matter.holiday]\nholidays = [\"yuandan\"]\ndays_before = 7\nratio = \"10%\"",
    );
    let (code, out, err) = run(p.suiji(&["simulate", "--year", "2023", "--seed", "s"]));
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("error: extra.a has no draws in 2023: it cannot be scheduled: no official holiday calendar for 2022"),
        "{err}"
    );
}
