//! `suiji publish --credit`: the export for the national enterprise credit publicity system,
//! checked against the published notices of a simulated 2023 (the same firms, dates and
//! results), with the simulation mark, a target whose id is no 统一社会信用代码 left out by
//! name, the workbook equal to the CSV, and nothing recorded.

mod util;

use std::collections::HashMap;
use std::path::Path;

use calamine::Reader;
use util::{Project, run};

type Rows = Vec<Vec<String>>;

const HEADER: [&str; 6] = [
    "统一社会信用代码",
    "名称",
    "检查实施机关",
    "检查类型",
    "检查日期",
    "检查结果",
];

/// A CSV file's records (its BOM dropped).
fn records(path: &Path) -> Rows {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    r.records()
        .map(|rec| rec.expect("record").iter().map(String::from).collect())
        .collect()
}

/// Fills every row of the first target of a task list (the CSV beside a draw) and writes the
/// filled sheet; returns the target's id.
fn fill_first_target(p: &Project, tasks: &str, sheet: &str, date: &str) -> String {
    let mut rows = records(&p.path(tasks));
    // A simulated draw's task list starts with its 模拟 line, then the header.
    let at = rows
        .iter()
        .position(|r| r.first().is_some_and(|c| c == "抽取编号"))
        .expect("header row");
    let header = rows[at].clone();
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (target, team, category, day, signed) = (
        col("对象编号"),
        col("检查人员"),
        col("检查结果"),
        col("检查日期"),
        col("签名检查人员"),
    );
    let first = rows[at + 1][target].clone();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).expect("header");
    for r in rows.iter_mut().skip(at + 1).filter(|r| r[target] == first) {
        r[category] = "未发现问题".into();
        r[day] = date.into();
        r[signed] = r[team].clone();
        w.write_record(&*r).expect("row");
    }
    p.write(
        sheet,
        &String::from_utf8(w.into_inner().expect("csv")).expect("utf-8"),
    );
    first
}

fn audit_entries(p: &Project) -> i64 {
    p.db()
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .expect("audit count")
}

#[test]
fn the_credit_export_lists_every_published_firm_as_its_notice_does() {
    let p = Project::shipped_two_person();
    let (code, _, err) = run(p.suiji(&["simulate", "--year", "2023", "--seed", "demo"]));
    assert_eq!(code, 0, "{err}");
    // The hotels of 2023-H1 from the example sheet, and one 烟花爆竹 event (its id is no code).
    let (code, _, err) = run(p.suiji(&[
        "results",
        "import",
        "config/examples/results-2023-zhian-hotel-H1.csv",
    ]));
    assert_eq!(code, 0, "{err}");
    let event = fill_first_target(
        &p,
        "out/draws/zhian.fireworks/2023/tasks.csv",
        "event.csv",
        "2023-03-10",
    );
    assert!(event.starts_with("YH-"), "{event}");
    let (code, _, err) = run(p.suiji(&["results", "import", "event.csv"]));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(p.suiji(&["publish", "--today", "2023-12-29"]));
    assert_eq!(code, 0, "{err}");
    let audit_before = audit_entries(&p);

    let (code, out, err) = run(p.suiji(&["publish", "--credit", "--year", "2023"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("(from a simulation database: the files say 模拟 and must not be filed)"),
        "{out}"
    );
    assert!(
        err.contains("1 published result is left out: the target's id is not a 统一社会信用代码")
            && err.contains(&format!("（{event}, ")),
        "the event is named as left out:\n{err}"
    );
    assert_eq!(
        audit_entries(&p),
        audit_before,
        "the export records nothing"
    );

    let csv = records(&p.path("out/public/credit/credit-2023.csv"));
    assert!(
        csv[0][0].contains("模拟") && csv[0][1..].iter().all(String::is_empty),
        "a simulation's export says so first: {:?}",
        csv[0]
    );
    assert_eq!(csv[1], HEADER);
    let rows = &csv[2..];

    // The same firms, dates and results as the hotel notice, which names firms by name.
    let notice = records(&p.path("out/public/2023/zhian.hotel/2023-H1/notice.csv"));
    let at = notice
        .iter()
        .position(|r| r.first().is_some_and(|c| c == "抽查事项"))
        .expect("notice header");
    let nh = &notice[at];
    let col = |name: &str| nh.iter().position(|h| h == name).expect(name);
    let published: HashMap<String, (String, String)> = notice[at + 1..]
        .iter()
        .map(|r| {
            (
                r[col("对象名称")].clone(),
                (r[col("检查日期")].clone(), r[col("检查结果")].clone()),
            )
        })
        .collect();
    assert!(published.len() >= 10, "{published:?}");
    assert_eq!(rows.len(), published.len(), "{rows:?}");
    assert!(
        published.values().any(|(_, r)| r != "未发现问题"),
        "the example has problems found"
    );
    for r in rows {
        assert_eq!(r.len(), 6, "{r:?}");
        assert_eq!(r[0].len(), 18, "a 统一社会信用代码: {r:?}");
        assert_eq!(
            (r[2].as_str(), r[3].as_str()),
            ("平邑县公安局", "双随机抽查")
        );
        let (date, result) = published.get(&r[1]).expect("a published firm");
        assert_eq!((&r[4], &r[5]), (date, result), "{r:?}");
    }
    assert!(!rows.iter().any(|r| r[0] == event));

    // The workbook holds the same cells.
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(p.path("out/public/credit/credit-2023.xlsx")).expect("xlsx");
    let range = book.worksheet_range("双随机抽查结果").expect("sheet");
    let cells: Rows = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(cells[1], HEADER);
    assert_eq!(&cells[2..], rows);

    // Another year has nothing published yet; --to writes elsewhere.
    let (code, out, err) =
        run(p.suiji(&["publish", "--credit", "--year", "2024", "--to", "elsewhere"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 published results"), "{out}");
    assert_eq!(records(&p.path("elsewhere/credit-2024.csv")).len(), 2);
}

#[test]
fn credit_flags_that_make_no_sense_together_are_refused() {
    let p = Project::shipped();
    for args in [
        &["publish", "--to", "x"][..],
        &["publish", "--credit", "--site"],
        &["publish", "--credit", "--dry-run"],
        &["publish", "--credit", "--today", "2023-12-29"],
    ] {
        let (code, out, err) = run(p.suiji(args));
        assert_eq!(code, 1, "{args:?}\n{out}\n{err}");
        assert!(err.contains("error:"), "{args:?}: {err}");
        assert!(
            !p.path("out/public/credit").exists(),
            "{args:?} wrote files"
        );
    }
}
