//! Results, publication and the year's report, through the binary on a copy of the shipped
//! project: import round trips, every refusal, deadlines across 国庆 and its 调休, a simulated
//! 2023 checked figure by figure, and cooldown fed by imported results.

mod util;

use std::collections::BTreeMap;
use std::path::Path;

use calamine::{Data, Reader};
use chrono::{Datelike, NaiveDate};
use util::scheduler::crash_at;
use util::{Project, repo, run};

type Rows = Vec<Vec<String>>;

/// Column indexes of the task list (see `TASK_HEADER`).
const DRAW: usize = 0;
const TARGET: usize = 3;
const TEAM: usize = 6;
const ITEM: usize = 7;
const CATEGORY: usize = 10;
const DATE: usize = 11;
const REMARKS: usize = 12;
const SIGNED: usize = 13;

fn simulated() -> Project {
    // The shipped config as it is: the example result sheet was made from its draws.
    let p = Project::shipped_two_person();
    let (code, out, err) = run(p.suiji(&["simulate", "--year", "2023", "--seed", "demo"]));
    assert_eq!(code, 0, "simulate failed\n{out}\n{err}");
    p
}

/// A CSV's header row and rows; a simulated or late draw's CSV starts with a line that says
/// 模拟 or 补抽 (its heading: one cell, the others empty), which is checked and left out.
fn read_csv(path: &Path) -> (Vec<String>, Rows) {
    let (heading, header, rows) = read_headed_csv(path);
    if let Some(h) = heading {
        assert!(
            h.contains("（模拟）") || h.contains("（补抽）"),
            "{}: {h}",
            path.display()
        );
    }
    (header, rows)
}

/// A CSV's heading line (if any), header row and rows.
fn read_headed_csv(path: &Path) -> (Option<String>, Vec<String>, Rows) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = String::from_utf8(bytes).expect("utf-8");
    let text = text.trim_start_matches('\u{feff}');
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records: Rows = r
        .records()
        .map(|rec| rec.expect("record").iter().map(String::from).collect())
        .collect();
    assert!(!records.is_empty(), "{} is empty", path.display());
    let first = &records[0];
    let heading = (first.len() > 1 && first[1..].iter().all(String::is_empty))
        .then(|| records.remove(0)[0].clone());
    let header = records.remove(0);
    (heading, header, records)
}

fn tasks(p: &Project, matter: &str, period: &str) -> (Vec<String>, Rows) {
    read_csv(&p.path(&format!("out/draws/{matter}/{period}/tasks.csv")))
}

fn csv_text(header: &[String], rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("header");
    for r in rows {
        w.write_record(r).expect("row");
    }
    String::from_utf8(w.into_inner().expect("flush")).expect("utf-8")
}

/// Target ids in task-list order.
fn targets_of(rows: &Rows) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        if !out.contains(&r[TARGET]) {
            out.push(r[TARGET].clone());
        }
    }
    out
}

/// Team ids from a 检查人员 cell ("袁宪文（PY0119）、唐晓明（PY0104）" → [PY0119, PY0104]).
fn team_ids(cell: &str) -> Vec<String> {
    cell.split('、')
        .filter_map(|m| {
            m.split_once('（')
                .map(|(_, r)| r.trim_end_matches('）').to_string())
        })
        .collect()
}

/// Fills every row of `target` with one category and date, signed by its whole team.
fn fill(rows: &mut Rows, target: &str, category: &str, date: &str) {
    for r in rows.iter_mut().filter(|r| r[TARGET] == target) {
        r[CATEGORY] = category.into();
        r[DATE] = date.into();
        r[SIGNED] = r[TEAM].clone();
    }
}

fn results_list(p: &Project, draw: &str) -> Rows {
    let (code, out, err) = run(p.suiji(&["results", "list", "--draw", draw]));
    assert_eq!(code, 0, "{err}");
    let mut r = csv::Reader::from_reader(out.as_bytes());
    r.records()
        .map(|rec| rec.expect("record").iter().map(String::from).collect())
        .collect()
}

fn import(p: &Project, rel: &str) -> (i32, String, String) {
    run(p.suiji(&["results", "import", rel]))
}

#[test]
fn the_filled_task_list_round_trips_through_csv() {
    let p = simulated();
    let (header, mut rows) = tasks(&p, "zhian.hotel", "2023-H1");
    assert_eq!(rows.len(), 16 * 4, "16 targets × 4 checklist items");
    let draw_ref = rows[0][DRAW].clone();
    let ts = targets_of(&rows);
    fill(&mut rows, &ts[0], "未发现问题", "2023-03-02");
    fill(&mut rows, &ts[1], "未发现问题", "2023-03-03");
    // Problems on some items, signers written as ids, remarks kept.
    for r in rows.iter_mut().filter(|r| r[TARGET] == ts[2]) {
        r[CATEGORY] = if r[ITEM] == "hotel-02" {
            "发现问题已责令改正".into()
        } else {
            "未发现问题".into()
        };
        r[DATE] = "2023/3/6".into();
        r[REMARKS] = if r[ITEM] == "hotel-02" {
            "消防通道堵塞，已责令改正".into()
        } else {
            String::new()
        };
        r[SIGNED] = team_ids(&r[TEAM]).join(",");
    }
    p.write("filled.csv", &csv_text(&header, &rows));
    let (code, out, err) = import(&p, "filled.csv");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("imported 12 results from 12 filled rows")
            && out.contains("52 rows without 检查结果 skipped"),
        "{out}"
    );

    let back = results_list(&p, &draw_ref);
    assert_eq!(back.len(), 12);
    let want: Vec<&Vec<String>> = rows.iter().filter(|r| !r[CATEGORY].is_empty()).collect();
    for (got, want) in back.iter().zip(&want) {
        // draw, 抽取编号, 抽查事项, 期次, 对象编号, 检查项编号, 检查结果, 检查日期, 签名检查人员, 备注, …, source
        assert_eq!(got[1], draw_ref);
        assert_eq!(
            (&got[4], &got[5], &got[6]),
            (&want[TARGET], &want[ITEM], &want[CATEGORY])
        );
        let date = if want[DATE] == "2023/3/6" {
            "2023-03-06"
        } else {
            want[DATE].as_str()
        };
        assert_eq!(got[7], date);
        assert_eq!(got[8], team_ids(&want[TEAM]).join("、"));
        assert_eq!(got[9], want[REMARKS]);
        assert!(got[13].starts_with("filled.csv:"), "{}", got[13]);
    }
    // The source line is the sheet's line: header on line 1.
    let line_of = |t: &str, item: &str| {
        rows.iter()
            .position(|r| r[TARGET] == t && r[ITEM] == item)
            .map(|i| i + 2)
    };
    assert_eq!(
        back[0][13],
        format!("filled.csv:{}", line_of(&ts[0], "hotel-01").unwrap_or(0))
    );

    // Importing the same sheet again records nothing new and is not an error.
    let (code, out, _) = import(&p, "filled.csv");
    assert_eq!(code, 0);
    assert!(
        out.contains("imported 0 results") && out.contains("12 already recorded"),
        "{out}"
    );
    assert_eq!(results_list(&p, &draw_ref).len(), 12);

    // Results are audited like draws, and the chain holds.
    let (_, log, _) = run(p.suiji(&["audit", "log", "--limit", "5"]));
    assert!(
        log.contains("results.record") && log.contains("filled.csv"),
        "{log}"
    );
    let (code, out, _) = run(p.suiji(&["audit", "verify"]));
    assert_eq!(code, 0, "{out}");
}

/// The compact form of `rows` (a large draw's task list): a heading line, then a row per
/// target with a result column per checklist item (`检查结果：ID TEXT`), and the items' ids.
fn compact(rows: &Rows) -> (Vec<String>, Rows, Vec<String>) {
    let ts = targets_of(rows);
    let items: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r[TARGET] == ts[0])
        .map(|r| (r[ITEM].clone(), r[ITEM + 1].clone()))
        .collect();
    let mut header: Vec<String> = ["抽取编号", "对象编号", "对象名称", "地址", "检查人员"]
        .map(String::from)
        .to_vec();
    header.extend(
        items
            .iter()
            .map(|(id, text)| format!("检查结果：{id} {text}")),
    );
    header.extend(["检查日期", "备注", "签名检查人员"].map(String::from));
    let compact = ts
        .iter()
        .map(|t| {
            let r = rows.iter().find(|r| &r[TARGET] == t).expect("a row");
            let mut row = vec![
                r[DRAW].clone(),
                t.clone(),
                r[TARGET + 1].clone(),
                r[TARGET + 2].clone(),
                r[TEAM].clone(),
            ];
            row.resize(header.len(), String::new());
            row
        })
        .collect();
    (
        header,
        compact,
        items.into_iter().map(|(id, _)| id).collect(),
    )
}

/// A compact task list (a large draw's form: a row per target, a result column per checklist
/// item, what every row shares said once above the header) imports as the long one does: a
/// filled item cell is one result, located at its own cell; a row with none filled is skipped.
#[test]
fn a_compact_task_list_imports_each_filled_item_cell_as_a_result() {
    let p = simulated();
    let (_, rows) = tasks(&p, "zhian.hotel", "2023-H1");
    let draw_ref = rows[0][DRAW].clone();
    let (header, mut wide, items) = compact(&rows);
    assert_eq!((wide.len(), items.len()), (16, 4));
    let (first, date, remarks, signed) = (5, header.len() - 3, header.len() - 2, header.len() - 1);
    for cell in &mut wide[0][first..first + 4] {
        *cell = "未发现问题".into();
    }
    wide[0][date] = "2023-03-02".into();
    wide[0][signed] = wide[0][4].clone();
    // Only the second item of the second target: one result.
    wide[1][first + 1] = "发现问题已责令改正".into();
    wide[1][date] = "2023/3/6".into();
    wide[1][remarks] = "消防通道堵塞，已责令改正".into();
    wide[1][signed] = team_ids(&wide[1][4]).join(",");
    let heading = format!("检查任务清单　完成期限 …{}", ",".repeat(header.len() - 1));
    let text = |wide: &Rows| format!("{heading}\n{}", csv_text(&header, wide));
    p.write("compact.csv", &text(&wide));
    let (code, out, err) = import(&p, "compact.csv");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("imported 5 results from 2 filled rows")
            && out.contains("14 rows without 检查结果 skipped"),
        "{out}"
    );
    let back = results_list(&p, &draw_ref);
    let got: Vec<(&str, &str, &str, &str, &str)> = back
        .iter()
        .map(|r| (&*r[4], &*r[5], &*r[6], &*r[7], &*r[13]))
        .collect();
    let mut want: Vec<(&str, &str, &str, &str, &str)> = items
        .iter()
        .map(|i| {
            (
                &*wide[0][1],
                i.as_str(),
                "未发现问题",
                "2023-03-02",
                "compact.csv:3",
            )
        })
        .collect();
    want.push((
        &wide[1][1],
        &items[1],
        "发现问题已责令改正",
        "2023-03-06",
        "compact.csv:4",
    ));
    assert_eq!(got, want);
    assert_eq!(back[4][8], team_ids(&wide[1][4]).join("、"));
    assert_eq!(back[4][9], "消防通道堵塞，已责令改正");

    // A bad category is refused at its own cell (line 5, the third item's column), and
    // nothing of the sheet is recorded.
    wide[2][first + 2] = "合格".into();
    wide[2][date] = "2023-03-07".into();
    wide[2][signed] = wide[2][4].clone();
    p.write("compact.csv", &text(&wide));
    let (code, out, err) = import(&p, "compact.csv");
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!("compact.csv:5:{}", first + 3)),
        "{err}"
    );
    assert!(
        err.contains("\"合格\" is not one of the national result categories"),
        "{err}"
    );
    assert_eq!(results_list(&p, &draw_ref).len(), 5);
}

#[test]
fn the_filled_task_list_round_trips_through_xlsx_and_gbk() {
    let p = simulated();
    let xlsx = p.path("out/draws/zhian.hotel/2023-H1/tasks.xlsx");
    let mut book = calamine::open_workbook_auto(&xlsx).expect("open tasks.xlsx");
    let range = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    let cells: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    // A simulated draw: the heading above the header row says so.
    assert_eq!(cells.len(), 66);
    assert!(
        cells[0][0].starts_with("旅馆业（宾馆、旅店）监督检查 2023年上半年 检查任务清单（模拟）"),
        "{:?}",
        cells[0]
    );
    let header = cells[1].clone();
    let mut rows: Rows = cells[2..].to_vec();
    let ts = targets_of(&rows);
    fill(&mut rows, &ts[3], "未发现问题", "2023-04-11");
    fill(&mut rows, &ts[4], "发现问题待后续处理", "2023-04-12");

    // As Excel would save it: 检查日期 as a real date cell.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let date_fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, h).expect("write");
    }
    for (i, r) in rows.iter().enumerate() {
        for (c, v) in r.iter().enumerate() {
            let row = i as u32 + 1;
            if c == DATE && !v.is_empty() {
                let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").expect("date");
                let x = rust_xlsxwriter::ExcelDateTime::from_ymd(
                    d.year() as u16,
                    d.month() as u8,
                    d.day() as u8,
                )
                .expect("excel date");
                ws.write_datetime_with_format(row, c as u16, &x, &date_fmt)
                    .expect("write");
            } else {
                ws.write_string(row, c as u16, v).expect("write");
            }
        }
    }
    let bytes = wb.save_to_buffer().expect("xlsx");
    std::fs::write(p.path("filled.xlsx"), bytes).expect("write xlsx");
    let (code, out, err) = import(&p, "filled.xlsx");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("imported 8 results"), "{out}");
    let back = results_list(&p, &rows[0][DRAW]);
    assert_eq!(back.len(), 8);
    assert!(
        back[..4]
            .iter()
            .all(|r| r[7] == "2023-04-11" && r[6] == "未发现问题")
    );
    assert!(
        back[4..]
            .iter()
            .all(|r| r[7] == "2023-04-12" && r[6] == "发现问题待后续处理")
    );
    assert!(back[0][13].starts_with("filled.xlsx:"), "{:?}", back[0]);

    // The same sheet saved by Excel as GBK CSV, with one more target filled in.
    fill(&mut rows, &ts[5], "未发现问题", "2023-04-13");
    let utf8 = csv_text(&header, &rows);
    let (gbk, _, bad) = encoding_rs::GBK.encode(&utf8);
    assert!(!bad);
    std::fs::write(p.path("filled-gbk.csv"), &*gbk).expect("write gbk");
    let (code, out, err) = import(&p, "filled-gbk.csv");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("imported 4 results") && out.contains("8 already recorded"),
        "{out}"
    );
}

/// Writes a sheet with one good row and `bad` (a mutation of another row); expects the import
/// to be refused with every `needles` on stderr, at `filled.csv:<line of the bad row>`.
fn expect_refused(p: &Project, mutate: &dyn Fn(&mut Rows) -> usize, needles: &[&str]) {
    let (header, mut rows) = tasks(p, "zhian.hotel", "2023-H1");
    let draw_ref = rows[0][DRAW].clone();
    // A good row first: it must not be imported either.
    rows[0][CATEGORY] = "未发现问题".into();
    rows[0][DATE] = "2023-03-01".into();
    rows[0][SIGNED] = rows[0][TEAM].clone();
    let bad_index = mutate(&mut rows);
    p.write("bad.csv", &csv_text(&header, &rows));
    let (code, out, err) = import(p, "bad.csv");
    assert_eq!(code, 1, "not refused:\n{out}\n{err}");
    let at = format!("bad.csv:{}", bad_index + 2);
    assert!(err.contains(&at), "no {at} in\n{err}");
    for n in needles {
        assert!(err.contains(n), "no {n:?} in\n{err}");
    }
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(
        results_list(p, &draw_ref).is_empty(),
        "something was imported"
    );
}

fn filled_row(rows: &mut Rows, i: usize) {
    rows[i][CATEGORY] = "未发现问题".into();
    rows[i][DATE] = "2023-03-01".into();
    rows[i][SIGNED] = rows[i][TEAM].clone();
}

#[test]
fn every_bad_row_is_refused_with_file_line_and_reason() {
    let p = simulated();

    // A target the draw did not select.
    expect_refused(
        &p,
        &|rows| {
            filled_row(rows, 5);
            rows[5][TARGET] = "91371326XXXXXXXXXX".into();
            5
        },
        &[
            "target 91371326XXXXXXXXXX was not drawn in draw #",
            "zhian.hotel 2023-H1",
        ],
    );
    // An inspector not on the target's team.
    expect_refused(
        &p,
        &|rows| {
            filled_row(rows, 6);
            let team = team_ids(&rows[6][TEAM]);
            rows[6][SIGNED] = format!("{}、PY0140", team[0]);
            6
        },
        &["inspector PY0140 is not on the team of target"],
    );
    // An unknown category.
    expect_refused(
        &p,
        &|rows| {
            filled_row(rows, 7);
            rows[7][CATEGORY] = "合格".into();
            7
        },
        &[
            "检查结果 \"合格\" is not one of the national result categories",
            "未发现问题、",
        ],
    );
    // Dates: not a day, not a date, before the draw, in the future.
    expect_refused(
        &p,
        &|rows| {
            filled_row(rows, 8);
            rows[8][DATE] = "2023-02-30".into();
            8
        },
        &[
            "检查日期 \"2023-02-30\" is not a day of the calendar",
            "YYYY-MM-DD",
        ],
    );
    expect_refused(
        &p,
        &|rows| {
            filled_row(rows, 9);
            rows[9][DATE] = "三月二日".into();
            9
        },
        &["检查日期 \"三月二日\" is not a date"],
    );
    expect_refused(
        &p,
        &|rows| {
            filled_row(rows, 10);
            rows[10][DATE] = "2022-12-30".into();
            10
        },
        &["is before draw #", "was issued (2023-01-03)"],
    );
    expect_refused(
        &p,
        &|rows| {
            filled_row(rows, 11);
            rows[11][DATE] = "2099-01-04".into();
            11
        },
        &["检查日期 2099-01-04 is in the future"],
    );
    // An unknown draw (with the active draw of that matter and period named in the help).
    expect_refused(
        &p,
        &|rows| {
            filled_row(rows, 12);
            rows[12][DRAW] = "0123456789ab".into();
            12
        },
        &[
            "抽取编号 \"0123456789ab\" matches no recorded draw",
            "the active draw of 旅馆业（宾馆、旅店）监督检查 2023年上半年 is #",
        ],
    );
    // The same target and item twice in one sheet.
    expect_refused(
        &p,
        &|rows| {
            let copy = rows[0].clone();
            rows.insert(20, copy);
            20
        },
        &["a second result for target", "(the first is on line 2)"],
    );
    // A checklist item the matter does not have.
    expect_refused(
        &p,
        &|rows| {
            filled_row(rows, 13);
            rows[13][ITEM] = "hotel-09".into();
            13
        },
        &[
            "检查项编号 \"hotel-09\" is not a checklist item of 旅馆业（宾馆、旅店）监督检查 (zhian.hotel)",
        ],
    );

    // A result that differs from one already recorded.
    let (header, mut rows) = tasks(&p, "zhian.hotel", "2023-H1");
    filled_row(&mut rows, 0);
    p.write("first.csv", &csv_text(&header, &rows));
    assert_eq!(import(&p, "first.csv").0, 0);
    rows[0][CATEGORY] = "发现问题已责令改正".into();
    filled_row(&mut rows, 1);
    p.write("second.csv", &csv_text(&header, &rows));
    let (code, _, err) = import(&p, "second.csv");
    assert_eq!(code, 1);
    assert!(err.contains("second.csv:2:11"), "{err}");
    assert!(
        err.contains("a different result for target") && err.contains("from first.csv:2"),
        "{err}"
    );
    assert_eq!(
        results_list(&p, &rows[0][DRAW]).len(),
        1,
        "second.csv was half imported"
    );

    // A file that is not a task list.
    p.write("other.csv", "名称,结果\n某宾馆,合格\n");
    let (code, _, err) = import(&p, "other.csv");
    assert_eq!(code, 1);
    assert!(
        err.contains("other.csv:1") && err.contains("the header row has no column 抽取编号"),
        "{err}"
    );
}

#[test]
fn one_result_at_a_time() {
    let p = simulated();
    let (_, rows) = tasks(&p, "zhian.hotel", "2023-H1");
    let draw_ref = rows[0][DRAW].clone();
    let target = rows[0][TARGET].clone();
    let team = team_ids(&rows[0][TEAM]);
    let signers = team.join(",");
    let (code, out, err) = run(p.suiji(&[
        "result",
        &draw_ref,
        &target,
        "--item",
        "hotel-01",
        "--category",
        "未发现问题",
        "--date",
        "2023-03-02",
        "--inspectors",
        &signers,
        "--remarks",
        "现场检查",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("1 result recorded"), "{out}");
    // `all` records the remaining items; hotel-01 again, identical, is not an error.
    let (code, out, err) = run(p.suiji(&[
        "result",
        &draw_ref,
        &target,
        "--item",
        "all",
        "--category",
        "未发现问题",
        "--date",
        "2023-03-02",
        "--inspectors",
        &signers,
        "--remarks",
        "现场检查",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("3 results recorded") && out.contains("1 already recorded"),
        "{out}"
    );
    assert_eq!(results_list(&p, &draw_ref).len(), 4);

    // Refusals say why, and record nothing.
    let other = rows[4][TARGET].clone();
    let (code, _, err) = run(p.suiji(&[
        "result",
        &draw_ref,
        &other,
        "--item",
        "hotel-01",
        "--category",
        "未发现问题",
        "--date",
        "2023-03-02",
        "--inspectors",
        &signers,
    ]));
    assert_eq!(code, 1);
    assert!(err.contains("is not on the team of target"), "{err}");
    let (code, _, err) = run(p.suiji(&[
        "result",
        "999",
        &other,
        "--item",
        "hotel-01",
        "--category",
        "未发现问题",
        "--date",
        "2023-03-02",
        "--inspectors",
        &signers,
    ]));
    assert_eq!(code, 1);
    assert!(
        err.contains("抽取编号 \"999\" matches no recorded draw"),
        "{err}"
    );
    assert_eq!(results_list(&p, &draw_ref).len(), 4);
}

#[test]
fn deadlines_count_working_days_across_guoqing_and_its_tiaoxiu() {
    // 2023: 9-29 to 10-06 off, 10-07 (Sat) and 10-08 (Sun) worked.
    let cal = suiji::calendar::Calendar::builtin();
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    assert_eq!(
        cal.add_working_days(d("2023-09-28"), 20).ok(),
        Some(d("2023-11-01"))
    );
    assert_eq!(
        cal.add_working_days(d("2023-09-28"), 2).ok(),
        Some(d("2023-10-08"))
    );

    let p = simulated();
    // One target of each H2 draw, inspected on 2023-09-28.
    let mut picked = Vec::new();
    for matter in ["zhian.hotel", "zhian.entertainment"] {
        let (header, mut rows) = tasks(&p, matter, "2023-H2");
        let ts = targets_of(&rows);
        fill(&mut rows, &ts[0], "未发现问题", "2023-09-28");
        let name = format!("{matter}.csv");
        p.write(&name, &csv_text(&header, &rows));
        let (code, out, err) = import(&p, &name);
        assert_eq!(code, 0, "{out}\n{err}");
        picked.push(ts[0].clone());
    }

    // Friday 2023-10-27: due on Wednesday 11-01, three working days left.
    let (_, out, _) = run(p.suiji(&["status", "--today", "2023-10-27", "--within", "3"]));
    assert!(
        out.contains("zhian.hotel 2023-H2: 1 inspected target to publish, the first by 2023-11-01 (3 working days left)"),
        "{out}"
    );
    let (_, out, _) = run(p.suiji(&["status", "--today", "2023-10-20", "--within", "3"]));
    assert!(!out.contains("to publish, the first by"), "{out}");

    // Published on the deadline: on time. A day later: late, and overdue until then.
    let (code, out, err) = run(p.suiji(&[
        "publish",
        "--today",
        "2023-11-01",
        "--matter",
        "zhian.hotel",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("1 target (1 on time, 0 late)"), "{out}");
    let (code, out, _) = run(p.suiji(&["status", "--today", "2023-11-02"]));
    assert_eq!(code, 3, "an overdue publication is a problem\n{out}");
    assert!(
        out.contains("zhian.entertainment 2023-H2: 1 inspected target not published; deadline 2023-11-01 passed"),
        "{out}"
    );
    let (code, out, _) = run(p.suiji(&[
        "publish",
        "--today",
        "2023-11-02",
        "--matter",
        "zhian.entertainment",
    ]));
    assert_eq!(code, 0);
    assert!(out.contains("1 target (0 on time, 1 late)"), "{out}");
}

/// The report's figures for one matter, from the XLSX sheet 各部门各事项.
fn xlsx_rows(path: &Path, sheet: &str) -> Vec<Vec<Data>> {
    let mut book = calamine::open_workbook_auto(path).expect("open report");
    let range = book
        .worksheet_range(sheet)
        .unwrap_or_else(|e| panic!("sheet {sheet}: {e}"));
    range.rows().map(<[Data]>::to_vec).collect()
}

fn num(d: &Data) -> f64 {
    match d {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

fn text(d: &Data) -> String {
    d.to_string()
}

#[test]
fn a_simulated_year_with_results_publications_and_the_report() {
    let p = simulated();
    // The shipped example: on the same seed the draw picks the same targets, so it imports.
    let example = repo().join("config/examples/results-2023-zhian-hotel-H1.csv");
    std::fs::copy(&example, p.path("example.csv")).expect("copy example");
    let (code, out, err) = import(&p, "example.csv");
    assert_eq!(
        code, 0,
        "the shipped example no longer imports:\n{out}\n{err}"
    );
    assert!(out.contains("imported 50 results"), "{out}");

    // Firearms (100% coverage required): three of five units inspected.
    let (header, mut rows) = tasks(&p, "zhian.firearms", "2023");
    let ts = targets_of(&rows);
    assert_eq!(ts.len(), 5);
    for t in &ts[..3] {
        fill(&mut rows, t, "未发现问题", "2023-03-15");
    }
    p.write("firearms.csv", &csv_text(&header, &rows));
    assert_eq!(import(&p, "firearms.csv").0, 0);

    // What the example holds (see docs/results.md): 12 of 16 hotels inspected — five in March,
    // five in May, two in July after the due date; one half done, three untouched.
    let (_, example_rows) = read_csv(&p.path("example.csv"));
    let mut by_target: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for r in example_rows.iter().filter(|r| !r[CATEGORY].is_empty()) {
        let e = by_target.entry(r[TARGET].clone()).or_default();
        e.0 += 1;
        e.1 = e.1.clone().max(r[DATE].clone());
    }
    let complete: Vec<&String> = by_target
        .iter()
        .filter(|(_, v)| v.0 == 4)
        .map(|(_, v)| &v.1)
        .collect();
    assert_eq!(complete.len(), 12);
    let march = complete.iter().filter(|d| d.starts_with("2023-03")).count();
    let may = complete.iter().filter(|d| d.starts_with("2023-05")).count();
    let july = complete.iter().filter(|d| d.starts_with("2023-07")).count();
    assert_eq!((march, may, july), (5, 5, 2));

    // Publish on 2023-04-03 (March inspections and firearms: on time), then 2023-07-14
    // (May inspections: late; July ones: on time).
    let (code, out, err) = run(p.suiji(&["publish", "--today", "2023-04-03"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("zhian.hotel 2023-H1: 5 targets (5 on time, 0 late)"),
        "{out}"
    );
    assert!(
        out.contains("zhian.firearms 2023: 3 targets (3 on time, 0 late)"),
        "{out}"
    );
    let (code, out, err) = run(p.suiji(&["publish", "--today", "2023-07-14"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("zhian.hotel 2023-H1: 7 targets (2 on time, 5 late)"),
        "{out}"
    );
    // Publishing again finds nothing new; a day in the future is refused.
    let (code, out, _) = run(p.suiji(&["publish", "--today", "2023-07-14"]));
    assert_eq!(code, 0);
    assert!(out.contains("nothing new to publish"), "{out}");
    let (code, _, err) = run(p.suiji(&["publish", "--today", "2099-01-01"]));
    assert_eq!(code, 1);
    assert!(err.contains("is in the future"), "{err}");

    // The public files: only public fields, never inspectors.
    let folder = "out/public/2023/zhian.hotel/2023-H1";
    let (nh, notice) = read_csv(&p.path(&format!("{folder}/notice.csv")));
    assert_eq!(notice.len(), 12);
    assert_eq!(
        nh,
        [
            "抽查事项",
            "期次",
            "对象名称",
            "类别",
            "所属区域",
            "地址",
            "检查日期",
            "检查结果",
            "公示日期",
            "抽取编号"
        ]
    );
    for f in ["notice.csv", "notice.html", "notice.json"] {
        let text = p.read(&format!("{folder}/{f}"));
        assert!(!text.contains("PY01"), "{f} names an inspector");
        assert!(!text.contains("已移交治安大队"), "{f} publishes remarks");
    }
    let feed: serde_json::Value =
        serde_json::from_str(&p.read(&format!("{folder}/notice.json"))).expect("json feed");
    assert_eq!(feed["format"], "suiji-notice/1");
    assert_eq!(feed["entries"].as_array().map(Vec::len), Some(12));
    let index = p.read("out/public/index.html");
    assert!(
        index.contains("2023/zhian.hotel/2023-H1/notice.html"),
        "{index}"
    );
    assert!(
        index.contains("2023/zhian.firearms/2023/notice.html"),
        "{index}"
    );
    // A simulation's index says so, as its notices do.
    assert!(index.contains("抽查结果公示（模拟）</h1>"), "{index}");
    assert!(
        p.read("out/public/index.json")
            .contains("\"simulation\": true")
    );
    // The notice states the rule as a rule and counts those published after it; the four
    // hotels not shown are past the due date, not "to be published in time".
    let page = p.read(&format!("{folder}/notice.html"));
    assert!(
        page.contains("按规定，检查结果应自检查完成之日起 20 个工作日内公示")
            && page.contains("本公示所列 12 户中，5 户的结果晚于该期限公示。")
            && page.contains("其余 4 户检查对象已过检查完成期限（2023-06-30）仍未完成检查"),
        "{page}"
    );
    // A period no draw has is refused, naming those the year's draws have.
    let (code, out, err) = run(p.suiji(&["publish", "--period", "2023-H9"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("no draw of period `2023-H9` is recorded") && err.contains("2023-H1, 2023-H2"),
        "{err}"
    );

    // The report, as of a day when every 2023 deadline has passed.
    let (code, out, err) = run(p.suiji(&["report", "--year", "2023", "--today", "2024-06-28"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let html = p.read("out/reports/report-2023.html");
    assert!(html.matches("<svg").count() >= 4, "charts missing");
    let xlsx = p.path("out/reports/report-2023.xlsx");

    // Per draw: hotel 2023-H1 exactly as put in.
    let draws = xlsx_rows(&xlsx, "各次抽取");
    let header: Vec<String> = draws[2].iter().map(text).collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let h1 = draws
        .iter()
        .find(|r| {
            text(&r[col("期次")]) == "2023年上半年"
                && text(&r[col("抽查事项")]).starts_with("旅馆业")
        })
        .expect("hotel H1 row");
    let got: Vec<f64> = [
        "抽取户数",
        "已检查",
        "按时公示",
        "逾期公示",
        "未完成",
        "未到期",
    ]
    .iter()
    .map(|c| num(&h1[col(c)]))
    .collect();
    assert_eq!(got, [16.0, 12.0, 7.0, 5.0, 4.0, 0.0]);
    assert_eq!(num(&h1[col("公示次数")]), 2.0);

    // Per matter: every hotel draw of the year (H1 16, H2 18, three holiday draws of 4).
    let matters = xlsx_rows(&xlsx, "各部门各事项");
    let header: Vec<String> = matters[2].iter().map(text).collect();
    let mcol = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let find = |name: &str| {
        matters
            .iter()
            .find(|r| text(&r[mcol("抽查事项")]).starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}"))
            .clone()
    };
    let hotel = find("旅馆业");
    let got: Vec<f64> = ["抽取户数", "已检查", "按时公示", "逾期公示", "未完成"]
        .iter()
        .map(|c| num(&hotel[mcol(c)]))
        .collect();
    assert_eq!(got, [46.0, 12.0, 7.0, 5.0, 34.0]);
    assert_eq!(text(&hotel[mcol("应抽比例")]), "5%");
    assert_eq!(text(&hotel[mcol("抽查频次")]), "每半年 1 次");
    let firearms = find("枪支管理");
    let got: Vec<f64> = ["抽取户数", "已检查", "按时公示", "逾期公示", "未完成"]
        .iter()
        .map(|c| num(&firearms[mcol(c)]))
        .collect();
    assert_eq!(got, [5.0, 3.0, 3.0, 0.0, 2.0]);
    assert!((num(&firearms[mcol("实际比例（常规抽取）")]) - 0.6).abs() < 1e-9);
    assert_eq!(text(&firearms[mcol("是否达标")]), "未达标");
    // Every other matter: drawn, nothing done, all missing.
    let security = find("保安服务");
    assert_eq!(num(&security[mcol("已检查")]), 0.0);
    assert_eq!(
        num(&security[mcol("未完成")]),
        num(&security[mcol("抽取户数")])
    );

    // Firearms coverage against 100%.
    let cover = xlsx_rows(&xlsx, "全覆盖事项");
    let row = cover
        .iter()
        .find(|r| text(&r[0]).starts_with("枪支管理"))
        .expect("firearms row");
    assert_eq!((num(&row[2]), num(&row[5])), (5.0, 3.0));
    assert_eq!(text(&row[7]), "未全覆盖");

    // Holiday-intensified draws: all six the rules call for were carried out.
    let holidays = xlsx_rows(&xlsx, "节假日加强抽查");
    let executed = holidays
        .iter()
        .skip(3)
        .filter(|r| text(&r[4]).starts_with("已执行"))
        .count();
    assert_eq!((holidays.len() - 3, executed), (6, 6));

    // Result categories, counted per item, from the database.
    let cats = xlsx_rows(&xlsx, "抽查结果类别");
    let count = |c: &str| {
        cats.iter()
            .find(|r| text(&r[0]) == c)
            .map(|r| num(&r[1]))
            .unwrap_or_else(|| panic!("no {c}"))
    };
    let put_in = |c: &str| {
        example_rows.iter().filter(|r| r[CATEGORY] == c).count()
            + rows.iter().filter(|r| r[CATEGORY] == c).count()
    };
    for c in [
        "未发现问题",
        "发现问题已责令改正",
        "未按规定公示应当公示的信息",
        "发现问题待后续处理",
        "通过登记的住所（经营场所）无法联系",
        "未发现开展本次抽查涉及的经营活动",
    ] {
        assert_eq!(count(c) as usize, put_in(c), "{c}");
    }

    // The text summary says the same.
    let line = out
        .lines()
        .find(|l| l.starts_with("zhian.hotel "))
        .expect("hotel line");
    let nums: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &nums[1..8],
        ["5", "46", "12", "7", "5", "34", "0"],
        "{line}"
    );
    assert!(out.contains("holiday draws 6 of 6"), "{out}");

    // As of 2023-06-15 only three hotel draws had been made (H1, 春节, 劳动节: 24 targets).
    // H1: five published on time; the May inspections of 05-15..05-17 are past their deadlines
    // (06-12..06-14), those of 05-18 and 05-19 are not (06-15, 06-16); the July inspections,
    // the half-done and the untouched targets are still within the due date 06-30. The two
    // holiday draws are past their due dates with nothing done.
    let (_, out, _) = run(p.suiji(&[
        "report",
        "--year",
        "2023",
        "--today",
        "2023-06-15",
        "--format",
        "xlsx",
    ]));
    let line = out
        .lines()
        .find(|l| l.starts_with("zhian.hotel "))
        .expect("hotel line");
    let nums: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &nums[1..8],
        ["3", "24", "10", "5", "0", "11", "8"],
        "{line}"
    );

    // A result entered afterwards cannot be published back in time.
    let (header2, mut rows2) = tasks(&p, "zhian.hotel", "2023-H1");
    let untouched = targets_of(&rows2)[15].clone();
    assert!(!by_target.contains_key(&untouched));
    fill(&mut rows2, &untouched, "未发现问题", "2023-03-20");
    p.write("late-entry.csv", &csv_text(&header2, &rows2));
    assert_eq!(import(&p, "late-entry.csv").0, 0);
    let (code, _, err) = run(p.suiji(&["publish", "--today", "2023-04-03"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("was last published on 2023-07-14, after --today 2023-04-03")
            && err.contains("nothing was published"),
        "{err}"
    );

    // Nothing above touched the audit chain.
    let (code, out, _) = run(p.suiji(&["audit", "verify"]));
    assert_eq!(code, 0, "{out}");
    let (_, log, _) = run(p.suiji(&["audit", "log", "--limit", "100"]));
    assert_eq!(log.matches("publication.record").count(), 3, "{log}");
}

#[test]
fn a_clean_result_puts_the_target_in_cooldown_for_the_next_draw() {
    let p = Project::shipped();
    let (code, out, err) = run(p.suiji(&["draw", "zhian.hotel", "--period", "2023-H1"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let (header, mut rows) = tasks(&p, "zhian.hotel", "2023-H1");
    let ts = targets_of(&rows);
    // Clean on every item; a problem on one item of another; nothing for a third.
    fill(&mut rows, &ts[0], "未发现问题", "2023-03-01");
    fill(&mut rows, &ts[1], "未发现问题", "2023-03-01");
    for r in rows
        .iter_mut()
        .filter(|r| r[TARGET] == ts[1] && r[ITEM] == "hotel-04")
    {
        r[CATEGORY] = "发现问题已责令改正".into();
    }
    p.write("filled.csv", &csv_text(&header, &rows));
    let (code, out, err) = import(&p, "filled.csv");
    assert_eq!(code, 0, "{out}\n{err}");

    let (code, out, err) = run(p.suiji(&["draw", "zhian.hotel", "--period", "2023-H2"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let manifest =
        util::manifest_with_exclusions(&p.path("out/draws/zhian.hotel/2023-H2/manifest.json"));
    let excluded = |id: &str| -> Option<String> {
        manifest["exclusions"]
            .as_array()
            .and_then(|xs| xs.iter().find(|x| x["target_id"] == id))
            .map(|x| x["reason"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(
        excluded(&ts[0]).as_deref(),
        Some("cooldown"),
        "clean target not in cooldown"
    );
    assert_eq!(
        excluded(&ts[1]),
        None,
        "a target with a problem must stay drawable"
    );
    assert_eq!(
        excluded(&ts[2]),
        None,
        "a target without results must stay drawable"
    );
    let history = manifest["history"].as_array().expect("history");
    let h = history
        .iter()
        .find(|h| h["target_id"] == ts[0].as_str())
        .expect("history entry");
    assert_eq!(h["last_clean"], "2023-03-01");
    // The draw records that it used the result, so `verify` can re-run it.
    let (code, out, err) = run(p.suiji(&[
        "verify",
        &p.path("out/draws/zhian.hotel/2023-H2/manifest.json")
            .display()
            .to_string(),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
}

#[test]
fn several_files_import_together_or_not_at_all() {
    let p = simulated();
    let (hh, mut hotel) = tasks(&p, "zhian.hotel", "2023-H1");
    let (fh, mut guns) = tasks(&p, "zhian.firearms", "2023");
    let ht = targets_of(&hotel);
    let gt = targets_of(&guns);
    fill(&mut hotel, &ht[0], "未发现问题", "2023-03-02");
    fill(&mut guns, &gt[0], "未发现问题", "2023-03-02");
    fill(&mut guns, &gt[1], "未发现问题", "2023-03-32");
    p.write("hotel.csv", &csv_text(&hh, &hotel));
    p.write("guns.csv", &csv_text(&fh, &guns));
    let (code, _, err) = run(p.suiji(&["results", "import", "hotel.csv", "guns.csv"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("guns.csv:") && err.contains("\"2023-03-32\""),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(
        results_list(&p, &hotel[0][DRAW]).is_empty(),
        "hotel.csv was imported alone"
    );

    // The same rows in two files: the second names the first by file and line.
    p.write("hotel-copy.csv", &csv_text(&hh, &hotel));
    let (code, _, err) = run(p.suiji(&["results", "import", "hotel.csv", "hotel-copy.csv"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("hotel-copy.csv:2") && err.contains("(the first is at hotel.csv:2)"),
        "{err}"
    );

    fill(&mut guns, &gt[1], "未发现问题", "2023-03-31");
    p.write("guns.csv", &csv_text(&fh, &guns));
    let (code, out, err) = run(p.suiji(&["results", "import", "hotel.csv", "guns.csv"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("zhian.hotel 2023-H1") && out.contains("zhian.firearms 2023"),
        "{out}"
    );
    // Four hotel items, three firearms items per target.
    assert!(out.contains("imported 10 results"), "{out}");
    assert_eq!(results_list(&p, &hotel[0][DRAW]).len(), 4);
    assert_eq!(results_list(&p, &guns[0][DRAW]).len(), 6);
}

#[test]
fn conflicts_and_unstaffed_targets_reach_status_and_the_report() {
    let p = Project::shipped();
    // Every 治安 inspector declares a conflict (回避) with one hotel the H1 draw picks.
    let hotel = "9137132681DPN0YEA1";
    let registry = p.read("config/registry/inspectors.csv");
    let edited: Vec<String> = registry
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() == 8 && f[2] == "zhian" {
                format!("{},{hotel}", f[..7].join(","))
            } else {
                l.to_string()
            }
        })
        .collect();
    p.write(
        "config/registry/inspectors.csv",
        &(edited.join("\n") + "\n"),
    );
    let (code, out, err) = run(p.suiji(&["simulate", "--year", "2023", "--seed", "demo"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("out/draws/zhian.hotel/2023-H1/manifest.json"))
            .expect("manifest");
    let selected = manifest["selected"].as_array().expect("selected");
    let s = selected
        .iter()
        .find(|s| s["target_id"] == hotel)
        .expect("the hotel is still drawn");
    assert!(s["unstaffed"].is_string(), "{s}");
    let conflicts = manifest["inspector_skips"]
        .as_array()
        .expect("skips")
        .iter()
        .filter(|k| k["target_id"] == hotel && k["reason"] == "declared_conflict")
        .count();
    assert!(conflicts >= 2, "{conflicts}");

    // No result can be entered for it.
    let (header, rows) = tasks(&p, "zhian.hotel", "2023-H1");
    assert!(
        rows.iter().all(|r| r[TARGET] != hotel),
        "an unstaffed target has no task rows"
    );
    let mut row = rows[0].clone();
    row[TARGET] = hotel.into();
    row[CATEGORY] = "未发现问题".into();
    row[DATE] = "2023-03-01".into();
    row[SIGNED] = row[TEAM].clone();
    p.write("unstaffed.csv", &csv_text(&header, &[row]));
    let (code, _, err) = import(&p, "unstaffed.csv");
    assert_eq!(code, 1);
    assert!(
        err.contains("unstaffed.csv:2") && err.contains("has no team"),
        "{err}"
    );

    let (_, out, _) = run(p.suiji(&["status", "--today", "2023-03-01"]));
    assert!(
        out.contains("UNSTAFFED")
            && out.contains("zhian.hotel 2023-H1: 1 drawn target with no team"),
        "{out}"
    );

    let (code, out, err) = run(p.suiji(&["report", "--year", "2023", "--today", "2024-06-28"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let xlsx = p.path("out/reports/report-2023.xlsx");
    let sheet = xlsx_rows(&xlsx, "回避");
    let listed = sheet
        .iter()
        .skip(3)
        .filter(|r| text(&r[5]).contains(hotel) && text(&r[4]).starts_with("申报回避"))
        .count();
    assert_eq!(listed, conflicts + count_other_conflicts(&p, hotel));
    let unstaffed = xlsx_rows(&xlsx, "未配员对象");
    assert!(
        unstaffed.iter().skip(3).any(|r| text(&r[3]) == hotel),
        "{unstaffed:?}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("holiday draws"))
        .expect("summary");
    assert!(
        !line.contains("回避 0") && !line.contains("unstaffed 0"),
        "{line}"
    );
    let html = p.read("out/reports/report-2023.html");
    assert!(
        html.contains("执法检查人员回避") || html.contains("回避的检查人员"),
        "no 回避 section"
    );
}

/// 回避 entries for `hotel` in every other draw of the simulated year.
fn count_other_conflicts(p: &Project, hotel: &str) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(p.path("out/draws"))
        .expect("draws")
        .flatten()
    {
        for period in std::fs::read_dir(entry.path()).expect("periods").flatten() {
            let path = period.path().join("manifest.json");
            if path == p.path("out/draws/zhian.hotel/2023-H1/manifest.json") || !path.exists() {
                continue;
            }
            let m: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
            n += m["inspector_skips"].as_array().map_or(0, |a| {
                a.iter()
                    .filter(|k| k["target_id"] == hotel && k["reason"] == "declared_conflict")
                    .count()
            });
        }
    }
    n
}

/// A project with the shipped example results imported: one draw ready to publish.
fn ready_to_publish() -> Project {
    let p = simulated();
    let example = repo().join("config/examples/results-2023-zhian-hotel-H1.csv");
    std::fs::copy(&example, p.path("example.csv")).expect("copy example");
    assert_eq!(import(&p, "example.csv").0, 0);
    p
}

#[test]
fn a_publication_is_recorded_before_it_is_reported_and_a_failed_report_is_an_error() {
    let p = ready_to_publish();
    let full = std::fs::File::create("/dev/full").expect("/dev/full");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_suiji"))
        .args(["publish", "--today", "2023-04-03"])
        .current_dir(p.root())
        .env("SUIJI_CONFIG", p.path("config/suiji.toml"))
        .stdout(full)
        .output()
        .expect("run suiji");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot write to standard output"), "{err}");
    // The publication happened: recorded, files in place, nothing left to publish.
    let (code, again, _) = run(p.suiji(&["publish", "--today", "2023-04-03"]));
    assert_eq!(code, 0);
    assert!(again.contains("nothing new to publish"), "{again}");
    assert!(p.path("out/public/index.html").exists());
    assert!(
        p.path("out/public/2023/zhian.hotel/2023-H1/notice.html")
            .exists()
    );
}

/// After the commit the files are moved; here the move is made to fail, once at the very first
/// file (nothing placed: the state a kill between the commit and the move leaves) and once at
/// the last (the notices placed, the index not). Either way the record stands, the failure is
/// reported, and the next publication puts the staged files in place first.
#[test]
fn publication_files_left_staged_after_the_commit_are_put_in_place_next_time() {
    for blocker in ["out/public/2023", "out/public/index.html"] {
        let p = ready_to_publish();
        // A folder (or a file) stands where the files go.
        if blocker.ends_with(".html") {
            std::fs::create_dir_all(p.path(blocker)).expect("mkdir");
        } else {
            p.write(blocker, "in the way");
        }
        let (code, out, err) = run(p.suiji(&["publish", "--today", "2023-04-03"]));
        assert_eq!(code, 2, "{blocker}\n{out}\n{err}");
        assert!(
            err.contains("the publication is recorded, but its files stay in"),
            "{err}"
        );
        let staged: Vec<_> = std::fs::read_dir(p.path("out"))
            .expect("out")
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".publish.staging-")
            })
            .collect();
        assert_eq!(staged.len(), 1, "{blocker}");
        // A dry run changes nothing.
        let (code, out, _) = run(p.suiji(&["publish", "--today", "2023-04-03", "--dry-run"]));
        assert_eq!(code, 0);
        assert!(out.contains("nothing new to publish"), "{out}");
        assert!(staged[0].path().exists());

        let blocked = p.path(blocker);
        if blocked.is_dir() {
            std::fs::remove_dir(&blocked).expect("rmdir");
        } else {
            std::fs::remove_file(&blocked).expect("rm");
        }
        let (code, out, err) = run(p.suiji(&["publish", "--today", "2023-04-03"]));
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.contains("nothing new to publish"), "{out}");
        assert!(!staged[0].path().exists(), "the staged files were placed");
        let index = p.read("out/public/index.html");
        assert!(
            index.contains("2023/zhian.hotel/2023-H1/notice.html"),
            "{index}"
        );
        let feed: serde_json::Value =
            serde_json::from_str(&p.read("out/public/2023/zhian.hotel/2023-H1/notice.json"))
                .expect("json feed");
        assert_eq!(feed["format"], "suiji-notice/1");
        assert_eq!(
            feed["entries"].as_array().map(Vec::len),
            Some(5),
            "{blocker}"
        );
    }
}

/// How many publication staging folders `out/` holds.
fn publish_staging(p: &Project) -> usize {
    std::fs::read_dir(p.path("out")).map_or(0, |dir| {
        dir.flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".publish.staging-")
            })
            .count()
    })
}

#[test]
fn a_publication_stopped_before_its_commit_leaves_nothing_and_after_it_is_placed_next_time() {
    const PUBLISH: &[&str] = &["publish", "--today", "2023-04-03"];
    let p = ready_to_publish();
    let recorded = |p: &Project| -> (i64, i64) {
        let db = p.db();
        let count = |sql: &str| db.query_row(sql, [], |r| r.get(0)).expect("count");
        (
            count("SELECT count(*) FROM publications"),
            count("SELECT count(*) FROM results WHERE published_at IS NOT NULL"),
        )
    };
    let audit = || p.ok(&["audit", "log", "--limit", "100000"]);
    // Stopped with its files staged, and inside the transaction recording it: nothing
    // published, nothing in place, the audit chain intact.
    for point in ["publish.staged", "publish.recording"] {
        crash_at(&p, PUBLISH, point);
        assert_eq!(recorded(&p), (0, 0), "{point}");
        // (out/public holds the anchors of the draws; the publication's index is not there.)
        assert!(!p.path("out/public/index.html").exists(), "{point}");
        assert!(!audit().contains("publication.record"), "{point}");
        assert!(p.ok(&["audit", "verify"]).contains("intact"));
        // The killed run could not remove its staging folder; the next command does.
        assert_eq!(publish_staging(&p), 1, "{point}");
        let (code, out, err) = run(p.suiji(&["publish", "--today", "2023-04-03", "--dry-run"]));
        assert_eq!(code, 0, "{point}: {out}{err}");
        assert!(
            err.contains("removed a staging folder left by an interrupted run"),
            "{point}: {err}"
        );
        assert_eq!(publish_staging(&p), 0, "{point}");
        assert_eq!(recorded(&p), (0, 0), "{point}");
    }
    // Stopped just after the commit: recorded, files still staged; the next publication
    // puts them in place and finds nothing new.
    crash_at(&p, PUBLISH, "publish.committed");
    let (publications, results) = recorded(&p);
    assert!(publications > 0 && results > 0);
    assert!(!p.path("out/public/index.html").exists());
    let out = p.ok(PUBLISH);
    assert!(out.contains("nothing new to publish"), "{out}");
    assert_eq!(recorded(&p), (publications, results));
    let index = p.read("out/public/index.html");
    assert!(
        index.contains("2023/zhian.hotel/2023-H1/notice.html"),
        "{index}"
    );
    assert!(
        p.path("out/public/2023/zhian.hotel/2023-H1/notice.csv")
            .exists()
    );
}

/// A publication killed (as `kill -9`) inside its transaction leaves nothing: no record, no
/// files in place; killed after its commit, the next publication puts its files in place.
#[test]
fn a_publication_killed_before_or_after_its_commit_is_all_or_nothing() {
    for (point, recorded) in [("publish.recording", false), ("publish.committed", true)] {
        let p = ready_to_publish();
        let killed = p
            .suiji(&["publish", "--today", "2023-04-03"])
            .env("SUIJI_ABORT_AT", point)
            .output()
            .expect("run suiji");
        assert!(!killed.status.success(), "{point}");
        assert!(!p.path("out/public/index.html").exists(), "{point}");
        let (code, out, err) = run(p.suiji(&["publish", "--today", "2023-04-03"]));
        assert_eq!(code, 0, "{point}\n{out}\n{err}");
        if recorded {
            assert!(out.contains("nothing new to publish"), "{point}: {out}");
        } else {
            assert!(
                out.contains("zhian.hotel 2023-H1: 5 targets"),
                "{point}: {out}"
            );
        }
        let feed: serde_json::Value =
            serde_json::from_str(&p.read("out/public/2023/zhian.hotel/2023-H1/notice.json"))
                .expect("json feed");
        assert_eq!(feed["entries"].as_array().map(Vec::len), Some(5), "{point}");
        let audit = p.suiji(&["audit", "verify"]).output().expect("audit");
        assert!(audit.status.success(), "{point}");
    }
}

/// Every cell of every CSV under `dir`, by file.
fn csv_cells(dir: &Path, found: &mut Vec<(std::path::PathBuf, Vec<String>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            csv_cells(&path, found);
        } else if path.extension().is_some_and(|x| x == "csv") {
            let (heading, header, rows) = read_headed_csv(&path);
            let cells = heading
                .into_iter()
                .chain(header)
                .chain(rows.into_iter().flatten())
                .collect();
            found.push((path, cells));
        }
    }
}

/// Whether a spreadsheet would take the cell for a formula.
fn formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

#[test]
fn every_csv_written_is_safe_to_open_and_the_task_list_reads_back() {
    let p = Project::shipped();
    // Registry names and addresses that a spreadsheet would run as formulas.
    let hostile = [
        "=HYPERLINK(\"http://example.com/x\",\"点此\")",
        "+1+1",
        "-2+3",
        "@SUM(1,1)",
        "\t=1",
        "\r=1",
    ];
    let targets = p.read("config/registry/targets.csv");
    let mut reader = csv::Reader::from_reader(targets.as_bytes());
    let header = reader.headers().expect("header").clone();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).expect("header");
    for (i, rec) in reader.records().enumerate() {
        let mut row: Vec<String> = rec.expect("row").iter().map(String::from).collect();
        row[1] = format!("{}{i}", hostile[i % hostile.len()]);
        row[4] = format!("-{}", row[4]);
        w.write_record(&row).expect("row");
    }
    p.write(
        "config/registry/targets.csv",
        &String::from_utf8(w.into_inner().expect("flush")).expect("utf-8"),
    );
    let (code, out, err) = run(p.suiji(&["simulate", "--year", "2023", "--seed", "demo"]));
    assert_eq!(code, 0, "{out}\n{err}");

    // The task list, filled in as it was written (quoted cells and all), reads back: the
    // remarks an inspector began with a quote and `=` are recorded as the text after it.
    let (header, mut rows) = tasks(&p, "zhian.hotel", "2023-H1");
    let draw_ref = rows[0][DRAW].clone();
    let ts = targets_of(&rows);
    for t in &ts[..3] {
        fill(&mut rows, t, "未发现问题", "2023-03-02");
    }
    for r in rows.iter_mut().filter(|r| !r[CATEGORY].is_empty()) {
        r[REMARKS] = "'=1+1".into();
    }
    p.write("filled.csv", &csv_text(&header, &rows));
    let (code, out, err) = import(&p, "filled.csv");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("imported 12 results"), "{out}");
    let remarks: Vec<String> = p
        .db()
        .prepare("SELECT remarks FROM results")
        .expect("query")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("remarks");
    assert_eq!(remarks.len(), 12);
    assert!(remarks.iter().all(|r| r == "=1+1"), "{remarks:?}");
    let listed = results_list(&p, &draw_ref);
    assert!(listed.iter().all(|r| r[9] == "'=1+1"), "{listed:?}");
    // The xlsx task list holds the names as text.
    let book = xlsx_rows(
        &p.path("out/draws/zhian.hotel/2023-H1/tasks.xlsx"),
        "检查任务",
    );
    assert!(
        book.iter()
            .flatten()
            .any(|d| matches!(d, Data::String(s) if s.starts_with("=HYPERLINK"))),
        "names are strings in the xlsx"
    );

    let (code, out, err) = run(p.suiji(&["publish", "--today", "2023-04-03"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let mut found = Vec::new();
    csv_cells(&p.path("out"), &mut found);
    let names: std::collections::BTreeSet<String> = found
        .iter()
        .filter_map(|(path, _)| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["exclusions.csv", "notice.csv", "public.csv", "tasks.csv"]
    );
    let mut quoted = 0;
    for (path, cells) in &found {
        for cell in cells {
            assert!(!formula(cell), "{}: {cell:?}", path.display());
            quoted += usize::from(cell.starts_with('\'') && formula(&cell[1..]));
        }
    }
    assert!(quoted > 0, "no hostile cell reached a CSV");
    for (path, cells) in &found {
        if path.ends_with("zhian.hotel/2023-H1/notice.csv") {
            assert!(
                cells.iter().any(|c| c.starts_with("'=HYPERLINK")
                    || c.starts_with("'+1+1")
                    || c.starts_with("'-")),
                "{cells:?}"
            );
        }
    }
}

/// The year's history counts each target once for every earlier draw of the year that selected
/// it, and keeps its latest clean inspection — complete (a result for every checklist item) and
/// clean throughout; a half-finished inspection with clean results so far is not one: what the
/// draws' whole rows and their results give, read here the long way.
#[test]
fn the_history_counts_each_selection_of_the_year_and_keeps_the_latest_clean_inspection() {
    use suiji::store::{DrawFilter, DrawStore};
    let p = Project::year_with_results();
    let loaded = suiji::rules::load(&p.path(util::CONFIG)).expect("rules load");
    let store = suiji::store::Store::open(&p.path("data")).expect("open database");
    let store: &dyn DrawStore = &store;
    let history =
        suiji::jobs::issue::history(store, &loaded.model, 2023, ("", "")).expect("history");
    let mut partial_and_clean_so_far = 0;
    let mut want: BTreeMap<String, (u32, Option<NaiveDate>)> = BTreeMap::new();
    for d in store
        .list_draw_heads(&DrawFilter::default())
        .expect("draws")
    {
        for t in store.draw_targets(d.id).expect("rows") {
            if t.selected {
                want.entry(t.target_id).or_default().0 += 1;
            }
        }
        let items: Vec<String> = loaded
            .model
            .matter(&d.matter)
            .expect("the matter")
            .checklist
            .iter()
            .map(|i| i.id.clone())
            .collect();
        let mut per_target: BTreeMap<String, (bool, NaiveDate, Vec<String>)> = BTreeMap::new();
        for r in store.results(d.id).expect("results") {
            let date = NaiveDate::parse_from_str(&r.inspection_date, "%Y-%m-%d").expect("date");
            let clean = suiji::registry::types::CLEAN_RESULTS.contains(&r.category.as_str());
            let e = per_target
                .entry(r.target_id)
                .or_insert((true, date, Vec::new()));
            e.0 &= clean;
            e.1 = e.1.max(date);
            e.2.extend(r.checklist_item);
        }
        for (target, (clean, date, had)) in per_target {
            let complete = items.iter().all(|i| had.contains(i));
            if clean && !complete {
                partial_and_clean_so_far += 1;
            }
            if clean && complete {
                let e = &mut want.entry(target).or_default().1;
                *e = (*e).max(Some(date));
            }
        }
    }
    let got: BTreeMap<String, (u32, Option<NaiveDate>)> = history
        .entries
        .iter()
        .map(|(id, e)| (id.clone(), (e.inspections_this_year, e.last_clean)))
        .collect();
    assert_eq!(got, want);
    assert!(
        want.values().any(|(n, _)| *n >= 2),
        "no target was drawn twice in the year: the count is not tested"
    );
    assert!(
        want.values().any(|(_, clean)| clean.is_some()),
        "no clean inspection: the dates are not tested"
    );
    assert!(
        partial_and_clean_so_far > 0,
        "no half-finished inspection with clean results so far: completeness is not tested"
    );
}

/// A year's report judges each draw by the ratio it was drawn under (its manifest's strata),
/// not by the rules as they stand when the report is made: a ratio raised after the year was
/// drawn neither shows in its report nor fails it.
#[test]
fn the_report_judges_a_year_by_the_ratio_its_draws_were_made_under() {
    let p = Project::shipped();
    p.ok(&["simulate", "--year", "2023", "--seed", "demo"]);
    let required = |p: &Project| {
        let out = p.ok(&["report", "--year", "2023", "--today", "2023-12-31"]);
        let line = out
            .lines()
            .find(|l| l.starts_with("zhian.hotel "))
            .unwrap_or_else(|| panic!("no hotel line:\n{out}"))
            .to_string();
        let cells: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        cells[cells.len() - 2].clone()
    };
    assert_eq!(required(&p), "5%");
    let rules = p.read("rules/zhian.toml");
    assert!(rules.contains("ratio = \"5%\""));
    p.write(
        "rules/zhian.toml",
        &rules.replacen("ratio = \"5%\"", "ratio = \"10%\"", 1),
    );
    assert_eq!(required(&p), "5%", "the year was drawn at 5%");
    // As of a day before the year, the report would be all zeros in the year's report's place.
    let before = p.read("out/reports/report-2023.html");
    let (code, out, err) = run(p.suiji(&["report", "--year", "2023", "--today", "2022-01-01"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("--today 2022-01-01 is before 2023 began"),
        "{err}"
    );
    assert_eq!(p.read("out/reports/report-2023.html"), before);
}

/// A target whose inspection has results recorded is neither replaced (替补) nor marked out of
/// scope: the inspection happened; a target without results still is.
#[test]
fn an_inspected_target_is_not_replaced_after_its_results() {
    let p = Project::year_with_results();
    let (_, rows) = read_csv(&p.path("example.csv"));
    let inspected = rows
        .iter()
        .find(|r| !r[CATEGORY].is_empty())
        .map(|r| r[TARGET].clone())
        .expect("a result in the example");
    let draw = rows[0][0].clone();
    let number: i64 = p
        .db()
        .query_row(
            "SELECT id FROM draws WHERE manifest_hash LIKE ?1 || '%'",
            [&draw],
            |r| r.get(0),
        )
        .expect("the example's draw");
    let number = number.to_string();
    for cause in [["--cause", "closed"], ["--cause", "out_of_scope"]] {
        let (code, out, err) = run(p.suiji(&[
            "change",
            "replace-target",
            &number,
            &inspected,
            cause[0],
            cause[1],
            "--reason",
            "已注销",
        ]));
        assert_eq!(code, 1, "{out}{err}");
        assert!(
            err.contains(&format!("target {inspected} of draw #{number} has "))
                && err.contains("result(s) recorded: an inspected target is not replaced"),
            "{err}"
        );
    }
    let untouched = rows
        .iter()
        .map(|r| r[TARGET].clone())
        .find(|t| {
            rows.iter()
                .all(|r| r[TARGET] != *t || r[CATEGORY].is_empty())
        })
        .expect("a target without results");
    p.replace_closed(&number, &untouched);
}
