//! Changes after a draw through the binary (`suiji change`): a drawn target replaced by its
//! stratum's next substitute in rank order (替补), marked out of scope (不在范围), an inspector
//! replaced by the next eligible one (人员调整); every refusal; `verify` replaying every change
//! and finding a forged one; the records permanent and audited.

mod util;

use serde_json::Value;
use util::drawn::{staffed_besides, stratum_with_substitutes as stratum_of, substitutes_of, text};
use util::{HOTEL_MANIFEST as MANIFEST, Project, SEEDED_HOTEL as DRAW, run};

fn drawn() -> Project {
    let p = Project::shipped().simulation();
    p.ok(DRAW);
    p
}

fn manifest(p: &Project) -> Value {
    serde_json::from_str(&p.read(MANIFEST)).expect("manifest is JSON")
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn change(p: &Project, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["change"];
    all.extend_from_slice(args);
    run(p.suiji(&all))
}

fn refused(p: &Project, args: &[&str], want: &str) {
    let (code, out, err) = change(p, args);
    assert_eq!(code, 1, "{args:?} must be refused:\n{out}\n{err}");
    assert!(err.contains(want), "{args:?}: expected {want:?} in:\n{err}");
}

/// `python3 docs/reference/suiji_draw.py check DB --draw 1` (the shipped weights): (exit code,
/// stdout).
fn reference(p: &Project) -> (i32, String) {
    let out = std::process::Command::new("python3")
        .arg(util::repo().join("docs/reference/suiji_draw.py"))
        .arg("check")
        .arg(p.path("data/suiji.sqlite3"))
        .args(["--draw", "1", "--weights"])
        .arg(util::repo().join("docs/reference/weights-shipped.json"))
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed for this test (.ci/run installs it): {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &*String::from_utf8_lossy(&out.stderr),
    )
}

/// The reference program re-runs draw 1 and checks its `n` changes.
fn reference_ok(p: &Project, n: usize) {
    let (code, out) = reference(p);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("drawn, {n} changes checked)")),
        "{out}"
    );
}

fn verify_ok(p: &Project) {
    let out = p.ok(&["verify", "1"]);
    assert!(out.starts_with("identical"), "{out}");
}

#[test]
fn a_closed_target_is_replaced_by_its_strata_next_substitutes_in_rank_order() {
    let p = drawn();
    let (_, drawn, spare) = stratum_of(&manifest(&p));
    let out = p.replace_closed("1", &drawn[0]);
    assert!(
        out.contains(&format!("replaced by substitute {}", spare[0])),
        "{out}"
    );
    // The second replacement takes the next rank, skipping the one used; the user may name it.
    let out = p.ok(&[
        "change",
        "replace-target",
        "1",
        &drawn[1],
        "--cause",
        "moved",
        "--substitute",
        &spare[1],
        "--reason",
        "已迁出本县",
    ]);
    assert!(out.contains(&spare[1]), "{out}");
    // A substitute taken in can itself be replaced.
    let listed = p.ok(&["change", "list", "1"]);
    assert!(
        listed.contains(&format!("{} (substitute for {})", spare[0], drawn[0])),
        "{listed}"
    );
    assert!(!listed.contains(&format!("  {}:", drawn[0])), "{listed}");
    verify_ok(&p);
    reference_ok(&p, 2);
    let audit = p.ok(&["audit", "verify"]);
    assert!(audit.contains("intact") || audit.contains("ok"), "{audit}");
    let db = p.db();
    let n: i64 = db
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'draw.change'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(n, 2);
    // Permanent: the triggers refuse an edit and a removal.
    for sql in [
        "UPDATE draw_changes SET reason = 'x'",
        "DELETE FROM draw_changes",
    ] {
        let e = db.execute(sql, []).expect_err(sql);
        assert!(e.to_string().contains("permanent"), "{e}");
    }
}

#[test]
fn changes_are_refused_out_of_order_for_unknown_or_undrawn_targets_and_on_a_superseded_draw() {
    let p = drawn();
    let (_, drawn, spare) = stratum_of(&manifest(&p));
    let base = |target: &str| -> Vec<String> {
        [
            "replace-target",
            "1",
            target,
            "--cause",
            "closed",
            "--reason",
            "停业",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut wrong = base(&drawn[0]);
    wrong.extend(["--substitute".into(), spare[1].clone()]);
    refused(&p, &args(&wrong), &format!("is {} (rank", spare[0]));
    refused(&p, &args(&base("no-such-target")), "not in this draw");
    refused(&p, &args(&base(&spare[0])), "was not drawn");
    let mut cause = base(&drawn[0]);
    cause[4] = "bankrupt".into();
    refused(&p, &args(&cause), "not a cause");
    refused(
        &p,
        &[
            "replace-target",
            "1",
            &drawn[0],
            "--cause",
            "closed",
            "--reason",
            " ",
        ],
        "needs a reason",
    );
    let mut other = base(&drawn[0]);
    other[1] = "#9".into();
    refused(&p, &args(&other), "no draw #9");
    // Nothing was recorded by the refusals.
    let n: i64 = p
        .db()
        .query_row("SELECT count(*) FROM draw_changes", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 0);
    // Replaced once, a target cannot be replaced again.
    let (code, out, err) = change(&p, &args(&base(&drawn[0])));
    assert_eq!(code, 0, "{out}\n{err}");
    refused(&p, &args(&base(&drawn[0])), "already replaced");
    // A redraw supersedes the draw: its changes stay, new ones go to the new draw.
    p.ok(&[
        "draw",
        "zhian.hotel",
        "--period",
        "2023-H1",
        "--seed",
        "again",
        "--redraw",
        "--reason",
        "见证人缺席",
    ]);
    refused(&p, &args(&base(&drawn[1])), "superseded by draw #2");
}

#[test]
fn the_substitutes_run_out_and_out_of_scope_may_be_marked_without_one() {
    let p = drawn();
    let (_, drawn, spare) = stratum_of(&manifest(&p));
    // Each substitute taken in is replaced in turn until none is left.
    let mut current = drawn[0].clone();
    for next in &spare {
        let out = p.ok(&[
            "change",
            "replace-target",
            "1",
            &current,
            "--cause",
            "out-of-scope",
            "--reason",
            "经营范围不含住宿",
        ]);
        assert!(out.contains(&format!("substitute {next}")), "{out}");
        current = next.clone();
    }
    refused(
        &p,
        &[
            "replace-target",
            "1",
            &current,
            "--cause",
            "closed",
            "--reason",
            "停业",
        ],
        "no substitute left",
    );
    // Marked without a substitute (不在范围): the visit ends, no substitute is used.
    let out = p.ok(&[
        "change",
        "mark-out-of-scope",
        "1",
        &current,
        "--reason",
        "不属于旅馆业",
    ]);
    assert!(out.contains("marked out of scope, not replaced"), "{out}");
    verify_ok(&p);
}

/// (target, its team) of the first staffed target.
fn staffed(m: &Value) -> (String, Vec<String>) {
    staffed_besides(m, &[])
}

#[test]
fn an_ill_inspector_is_replaced_by_the_next_eligible_one_and_verify_replays_it() {
    let p = drawn();
    let (target, team) = staffed(&manifest(&p));
    let out = p.replace_ill("1", &target, &team[0]);
    let db = p.db();
    let by: String = db
        .query_row(
            "SELECT replacement FROM draw_changes WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .expect("recorded");
    assert!(out.contains(&format!("replaced by {by}")), "{out}");
    assert!(!team.contains(&by), "{by} is already on the team {team:?}");
    verify_ok(&p);
    reference_ok(&p, 1);
    refused(
        &p,
        &[
            "replace-inspector",
            "1",
            &target,
            &team[0],
            "--cause",
            "ill",
            "--reason",
            "x",
        ],
        "is not on the team",
    );
    refused(
        &p,
        &[
            "replace-inspector",
            "1",
            &target,
            &by,
            "--cause",
            "ill",
            "--replacement",
            &team[0],
            "--reason",
            "x",
        ],
        "next eligible inspector",
    );
}

#[test]
fn verify_finds_a_forged_substitute_and_a_forged_inspector() {
    let p = drawn();
    let m = manifest(&p);
    let (_, drawn, spare) = stratum_of(&m);
    let (target, team) = staffed(&m);
    let db = p.db();
    // Written behind suiji's back (an INSERT passes the triggers): a substitute out of turn.
    db.execute(
        "INSERT INTO draw_changes (draw_id, kind, cause, target_id, replacement, reason, actor, changed_at)
         VALUES (1, 'target', 'closed', ?1, ?2, '伪造', 'x', '2023-02-01T09:00:00+08:00')",
        [&drawn[0], &spare[1]],
    )
    .expect("insert");
    let (code, out, _) = run(p.suiji(&["verify", "1"]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("DIFFERS") && out.contains("change #1"),
        "{out}"
    );
    assert!(out.contains(&format!("is {} (rank", spare[0])), "{out}");
    // The reference program replays the changes too (V2-13) and finds the same.
    let (code, out) = reference(&p);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("DIFFERS") && out.contains(&format!("is {} (rank", spare[0])),
        "{out}"
    );

    let q = drawn_project_with_forged_inspector(&target, &team);
    let (code, out, _) = run(q.suiji(&["verify", "1"]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("change #1") && out.contains("next eligible inspector"),
        "{out}"
    );
    let (code, out) = reference(&q);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("change #1 (inspector") && out.contains("next eligible inspector"),
        "{out}"
    );
}

/// A fresh draw whose first change names, as the replacement of `team[0]`, the team's other
/// member's place-holder: an inspector who is not the next eligible one.
fn drawn_project_with_forged_inspector(target: &str, team: &[String]) -> Project {
    let p = drawn();
    let ids: Vec<String> = p
        .read("config/registry/inspectors.csv")
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next().map(str::to_string))
        .collect();
    // The recorded replacement, made properly, tells which one is right; forge another.
    p.replace_ill("1", target, &team[0]);
    let db = p.db();
    let right: String = db
        .query_row(
            "SELECT replacement FROM draw_changes WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .expect("recorded");
    let q = drawn();
    let forged = ids
        .iter()
        .find(|i| **i != right && !team.contains(i))
        .expect("another inspector");
    q.db()
        .execute(
            "INSERT INTO draw_changes (draw_id, kind, cause, target_id, inspector_id, replacement, reason, actor, changed_at)
             VALUES (1, 'inspector', 'ill', ?1, ?2, ?3, '伪造', 'x', '2023-02-01T09:00:00+08:00')",
            [target, &team[0], forged],
        )
        .expect("insert");
    q
}

#[test]
fn a_version_1_draw_records_no_substitutes_to_replace_from() {
    let p = Project::shipped().simulation();
    let text = p.read("config/suiji.toml");
    p.write(
        "config/suiji.toml",
        &text.replace(
            "algorithm = \"suiji-draw/2\"",
            "algorithm = \"suiji-draw/1\"",
        ),
    );
    p.ok(DRAW);
    let m = manifest(&p);
    let first = text_of_first(&m);
    refused(
        &p,
        &[
            "replace-target",
            "1",
            &first,
            "--cause",
            "closed",
            "--reason",
            "停业",
        ],
        "records no substitutes",
    );
}

fn text_of_first(m: &Value) -> String {
    text(&m["selected"][0]["target_id"])
}

#[test]
fn verify_the_report_and_the_public_list_show_the_changes_without_naming_inspectors() {
    let p = drawn();
    let m = manifest(&p);
    let (_, drawn, spare) = stratum_of(&m);
    let (target, team) = staffed(&m);
    p.replace_closed("1", &drawn[0]);
    p.ok(&[
        "change",
        "mark-out-of-scope",
        "1",
        &drawn[1],
        "--reason",
        "不属于旅馆业",
    ]);
    if target != drawn[0] && target != drawn[1] {
        p.ok(&[
            "change",
            "replace-inspector",
            "1",
            &target,
            &team[0],
            "--cause",
            "transferred",
            "--reason",
            "调离",
        ]);
    }
    let inspector_changes = usize::from(target != drawn[0] && target != drawn[1]);
    let out = p.ok(&["verify", "1"]);
    assert!(
        out.contains(&format!(
            "its {} changes after the draw each the one its rules give",
            2 + inspector_changes
        )),
        "{out}"
    );
    p.ok(&["report", "--year", "2023", "--today", "2023-12-31"]);
    let report = p.read("out/reports/report-2023.html");
    assert!(
        report.contains(&format!(
            "抽取后变更 {} 项：替补 1 户，不在范围未替补 1 户，人员调整 {inspector_changes} 人次",
            2 + inspector_changes
        )),
        "{report}"
    );
    assert!(
        report.contains("其中 1 户抽取后经核实不在抽查范围、未替补，不计入以下各项"),
        "{report}"
    );
    p.ok(&["publish", "--site"]);
    let page = p.read("out/site/draws/1.html");
    assert!(
        page.contains("抽取后变更") && page.contains("已注销或停业"),
        "{page}"
    );
    assert!(
        page.contains("不在范围（不替补）") && page.contains("不属于旅馆业"),
        "{page}"
    );
    let name = |id: &str| -> String {
        p.read("config/registry/targets.csv")
            .lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .and_then(|l| l.split(',').nth(1).map(str::to_string))
            .expect("the substitute's row")
    };
    assert!(
        page.contains(&name(&spare[0])),
        "the substitute by its name: {page}"
    );
    for x in &team {
        assert!(
            !page.contains(x.as_str()),
            "no inspector on the public page: {x}"
        );
    }
}

/// The row of `id` in the shipped target registry, split at commas.
fn target_row(p: &Project, id: &str) -> Vec<String> {
    p.read("config/registry/targets.csv")
        .lines()
        .find(|l| l.starts_with(&format!("{id},")))
        .unwrap_or_else(|| panic!("no target {id}"))
        .split(',')
        .map(str::to_string)
        .collect()
}

#[test]
fn a_substitute_taking_over_a_team_runs_the_conflict_hook_on_its_members() {
    // 保安服务 has a `conflict` hook: an inspector who declared a tie to a firm's legal
    // representative (法定代表人) avoids the firm. Drawn once to learn a team and the
    // substitute that would take it over.
    const SECURITY: &[&str] = &[
        "draw",
        "zhian.security",
        "--period",
        "2023-H1",
        "--seed",
        "demo",
    ];
    let first = Project::shipped().simulation();
    first.ok(SECURITY);
    let path = "out/draws/zhian.security/2023-H1/manifest.json";
    let m: Value = serde_json::from_str(&first.read(path)).expect("manifest");
    let (stratum, drawn, spare) = stratum_with_substitute(&m);
    let visit = m["selected"]
        .as_array()
        .expect("selected")
        .iter()
        .find(|s| text(&s["target_id"]) == drawn && !s["team"].as_array().expect("team").is_empty())
        .expect("a staffed visit")
        .clone();
    let member = text(&visit["team"][0]);
    let rep = target_row(&first, &spare)[11].clone();
    assert!(
        !rep.is_empty(),
        "substitute {spare} of {stratum:?} has no 法定代表人"
    );
    // The same draw, but the member declares a tie to the substitute's legal representative: the
    // draw does not change (no drawn firm has that representative); the substitute's would.
    let p = Project::shipped().simulation();
    let inspectors = p.read("config/registry/inspectors.csv");
    let edited: Vec<String> = inspectors
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{member},")) {
                if l.ends_with(',') {
                    format!("{l}{rep}")
                } else {
                    format!("{l}；{rep}")
                }
            } else {
                l.to_string()
            }
        })
        .collect();
    p.write(
        "config/registry/inspectors.csv",
        &(edited.join("\n") + "\n"),
    );
    p.ok(SECURITY);
    let again: Value = serde_json::from_str(&p.read(path)).expect("manifest");
    assert_eq!(
        again["selected"], m["selected"],
        "the edit changed the draw"
    );
    let out = p.replace_closed("1", &drawn);
    assert!(
        out.contains(&format!(
            "team member {member} has a 回避, by the matter's conflict hook, with {spare}"
        )),
        "{out}"
    );
    // Replaced for the 回避, the member's successor is not them.
    let out = p.ok(&[
        "change",
        "replace-inspector",
        "1",
        &spare,
        &member,
        "--cause",
        "conflict",
        "--reason",
        "与法定代表人有关联",
    ]);
    assert!(out.contains("replaced by"), "{out}");
    verify_ok(&p);
}

/// A stratum's first drawn, staffed target and the substitute that would replace it.
fn stratum_with_substitute(m: &Value) -> (String, String, String) {
    for s in m["selected"].as_array().expect("selected") {
        if s["team"].as_array().expect("team").is_empty() {
            continue;
        }
        let stratum = text(&s["stratum"]);
        if let Some(first) = substitutes_of(m, &stratum).into_iter().next() {
            return (stratum, text(&s["target_id"]), first);
        }
    }
    panic!("no staffed target with a substitute");
}

#[test]
fn a_change_refuses_an_archived_snapshot_file_altered_since_the_draw() {
    let p = drawn();
    let m = manifest(&p);
    let (target, team) = staffed(&m);
    let hash = text(&m["registry"]["targets_snapshot"]);
    let file = p.path(&format!("data/snapshots/{hash}.csv"));
    let kept = std::fs::read_to_string(&file).expect("the snapshot is kept as a file");
    // One letter of one row changed: the file no longer has the hash it is named by.
    let altered = kept.replacen("hotel", "Hotel", 1);
    assert_ne!(altered, kept);
    std::fs::write(&file, altered).expect("alter the snapshot");
    let (code, out, err) = change(
        &p,
        &[
            "replace-inspector",
            "1",
            &target,
            &team[0],
            "--cause",
            "ill",
            "--reason",
            "病假",
        ],
    );
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "the archived targets snapshot {hash} cannot be used"
        )) && err.contains("hashes to"),
        "{err}"
    );
    let recorded: i64 = p
        .db()
        .query_row("SELECT count(*) FROM draw_changes", [], |r| r.get(0))
        .expect("count");
    assert_eq!(recorded, 0, "nothing is recorded");
}

/// `suiji result 1 TARGET` for every checklist item, signed by `signers`: (code, stderr).
fn enter(p: &Project, target: &str, signers: &str) -> (i32, String) {
    let args = Project::result_args("1", target, signers);
    let (code, out, err) = run(p.suiji(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    (code, format!("{out}{err}"))
}

/// The 分派户数 of each inspector in the report's workload sheet (检查人员工作量).
fn workload(p: &Project) -> std::collections::BTreeMap<String, u64> {
    use calamine::Reader;
    let mut book =
        calamine::open_workbook_auto(p.path("out/reports/report-2023.xlsx")).expect("the report");
    let range = book
        .worksheet_range("检查人员工作量")
        .expect("the workload sheet");
    range
        .rows()
        .filter_map(|r| {
            let n = r.get(2)?.to_string().parse::<f64>().ok()?;
            Some((r.first()?.to_string(), n as u64))
        })
        .collect()
}

/// Results follow the changes after a draw: a replaced target takes no result, its substitute
/// takes one signed by the team it took over; a member replaced on a team no longer signs, the
/// inspector who took the place does; the report counts the visits as the changes left them.
#[test]
fn results_and_the_report_follow_the_changes_after_the_draw() {
    let p = drawn();
    let m = manifest(&p);
    let (_, drawn, spare) = stratum_of(&m);
    let team_of = |id: &str| -> Vec<String> {
        m["selected"]
            .as_array()
            .expect("selected")
            .iter()
            .find(|s| text(&s["target_id"]) == id)
            .map(|s| {
                s["team"]
                    .as_array()
                    .expect("team")
                    .iter()
                    .map(text)
                    .collect()
            })
            .expect("drawn")
    };
    let inherited = team_of(&drawn[0]);
    assert!(!inherited.is_empty(), "{} is staffed", drawn[0]);
    p.replace_closed("1", &drawn[0]);
    let (target, team) = staffed_besides(&m, &drawn[..1]);
    p.replace_ill("1", &target, &team[0]);
    let by: String = p
        .db()
        .query_row(
            "SELECT replacement FROM draw_changes WHERE id = 2",
            [],
            |r| r.get(0),
        )
        .expect("recorded");
    let (code, out) = enter(&p, &drawn[0], &inherited.join(","));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("target {} of draw #1 (", drawn[0]))
            && out.contains(&format!(
                "was replaced by substitute {} after the draw (change #1)",
                spare[0]
            )),
        "{out}"
    );
    let (code, out) = enter(&p, &spare[0], &inherited.join(","));
    assert_eq!(code, 0, "the substitute's inherited team signs: {out}");
    // A target already replaced is not marked out of scope too, nor is its substitute's team
    // changed once its results are recorded.
    refused(
        &p,
        &["mark-out-of-scope", "1", &drawn[0], "--reason", "x"],
        "was already replaced",
    );
    refused(
        &p,
        &[
            "replace-inspector",
            "1",
            &spare[0],
            &inherited[0],
            "--cause",
            "ill",
            "--reason",
            "x",
        ],
        "the team of an inspected target is not changed",
    );
    let (code, out) = enter(&p, &target, &team[0]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "inspector {} is not on the team of target {target}",
            team[0]
        )),
        "{out}"
    );
    let mut signers = team.clone();
    signers[0] = by.clone();
    let (code, out) = enter(&p, &target, &signers.join(","));
    assert_eq!(code, 0, "the inspector who took the place signs: {out}");
    // The task list as it stands: the substitute's rows, its results filled in; none of the
    // target it replaced.
    let out = p.ok(&[
        "results",
        "tasks",
        "--inspector",
        &inherited[0],
        "--out",
        "mine.csv",
    ]);
    assert!(out.contains("written to mine.csv"), "{out}");
    let sheet = p.read("mine.csv");
    let rows: Vec<&str> = sheet.lines().filter(|l| l.contains(&spare[0])).collect();
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r.contains(",未发现问题,2023-03-01,")),
        "{sheet}"
    );
    assert!(!sheet.contains(&drawn[0]), "{sheet}");
    let (code, _, err) = run(p.suiji(&["results", "tasks", "--inspector", "NOSUCH"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no inspector `NOSUCH` in the inspector registry"),
        "{err}"
    );
    // The yearly workload: each inspector's visits as the changes left them.
    let mut expected: std::collections::BTreeMap<String, u64> = Default::default();
    for s in m["selected"].as_array().expect("selected") {
        let id = text(&s["target_id"]);
        for x in s["team"].as_array().expect("team").iter().map(text) {
            let x = if id == target && x == team[0] {
                by.clone()
            } else {
                x
            };
            *expected.entry(x).or_default() += 1;
        }
    }
    p.ok(&[
        "report",
        "--year",
        "2023",
        "--today",
        "2023-12-31",
        "--format",
        "xlsx",
    ]);
    assert_eq!(workload(&p), expected);
}

/// A draw is named by its number or by its 抽取编号, as a task list prints it.
#[test]
fn a_change_names_its_draw_by_number_or_by_its_draw_code() {
    let p = drawn();
    let code: String = p
        .db()
        .query_row(
            "SELECT substr(manifest_hash, 1, 12) FROM draws WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .expect("draw 1");
    let by_number = change(&p, &["list", "1"]);
    assert_eq!(by_number.0, 0, "{}", by_number.2);
    assert_eq!(change(&p, &["list", &code.to_uppercase()]), by_number);
    refused(
        &p,
        &["list", "abcdef123456"],
        "抽取编号 abcdef123456 matches no recorded draw",
    );
    let (code, _, err) = change(&p, &["list", "zz"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("neither a draw number nor an 抽取编号"),
        "{err}"
    );
}
