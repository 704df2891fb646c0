//! Workload caps per period (docs/draw-algorithm.md V2-16, 同一周期内每名检查人员的任务上限):
//! the three matters of the shipped 网安大队 are drawn in one period with a cap of 1 visit per
//! inspector; the loads carried in from the earlier draws are recorded in each manifest, the cap
//! holds across the three draws, a change after a draw (人员调整) counts the carried loads, every
//! draw verifies identical (and the reference program agrees), and a redraw of the first draw
//! leaves the later draws as they were.

mod util;

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;
use util::{Project, repo};

const MATTERS: [&str; 3] = [
    "wangan.internet-cafe",
    "wangan.network-security",
    "wangan.internet-culture",
];
const PERIOD: &str = "2023";

fn manifest_path(matter: &str) -> String {
    format!("out/draws/{matter}/{PERIOD}/manifest.json")
}

fn manifest(p: &Project, matter: &str) -> Value {
    serde_json::from_str(&p.read(&manifest_path(matter))).expect("manifest is JSON")
}

fn text(v: &Value) -> String {
    v.as_str().expect("a string").to_string()
}

/// Visits per inspector in a manifest's teams.
fn loads(m: &Value) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for s in m["selected"].as_array().expect("selected") {
        for x in s["team"].as_array().expect("team") {
            *out.entry(text(x)).or_default() += 1;
        }
    }
    out
}

/// The manifest's `carried_loads`, empty when it has none.
fn carried(m: &Value) -> BTreeMap<String, u64> {
    m.get("carried_loads")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|c| (text(&c["inspector_id"]), c["load"].as_u64().expect("load")))
                .collect()
        })
        .unwrap_or_default()
}

fn add(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (id, n) in from {
        *into.entry(id.clone()).or_default() += n;
    }
}

/// The shipped project with the department's cap lowered to one visit per inspector: seven
/// active inspectors hold 7 places, the three draws ask for 10.
fn project() -> Project {
    let p = Project::shipped().simulation();
    p.edit("rules/wangan.toml", "workload_cap = 10", "workload_cap = 1");
    p
}

fn draw(p: &Project, matter: &str, seed: &str, extra: &[&str]) {
    let mut args = vec!["draw", matter, "--period", PERIOD, "--seed", seed];
    args.extend_from_slice(extra);
    p.ok(&args);
}

fn verify(p: &Project, id: i64) {
    let out = p.ok(&["verify", &id.to_string()]);
    assert!(out.starts_with("identical"), "draw #{id}: {out}");
}

/// `python3 docs/reference/suiji_draw.py check DB`: every active draw identical.
fn reference_agrees(p: &Project, n: usize) {
    let out = Command::new("python3")
        .arg(repo().join("docs/reference/suiji_draw.py"))
        .arg("check")
        .arg(p.path("data/suiji.sqlite3"))
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed for this test (.ci/run installs it): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.ends_with(&format!("{n} identical, 0 differ\n")),
        "the reference program disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_cap_holds_across_the_draws_of_a_period_verifies_and_survives_a_redraw() {
    let p = project();
    for m in MATTERS {
        draw(&p, m, "demo", &[]);
    }
    let ms: Vec<Value> = MATTERS.iter().map(|m| manifest(&p, m)).collect();
    // Each draw carries in exactly the visits of the draws before it.
    let mut before = BTreeMap::new();
    for (i, m) in ms.iter().enumerate() {
        assert_eq!(carried(m), before, "draw #{} of {}", i + 1, MATTERS[i]);
        if i == 0 {
            assert!(
                m.get("carried_loads").is_none(),
                "nothing carried: no member"
            );
        }
        add(&mut before, &loads(m));
    }
    // The cap holds across the period, and it binds: per draw, every visit could be staffed.
    assert!(before.values().all(|&n| n <= 1), "over the cap: {before:?}");
    let unstaffed: Vec<String> = ms
        .iter()
        .flat_map(|m| m["selected"].as_array().expect("selected").clone())
        .filter_map(|s| s["unstaffed"].as_str().map(str::to_string))
        .collect();
    assert!(
        unstaffed.iter().any(|u| u.contains("at workload cap")),
        "the cap should leave a visit unstaffed: {unstaffed:?}"
    );

    // 人员调整 in the second draw: the replacement is below the cap counting what the first
    // draw gave them.
    let second = &ms[1];
    let staffed = second["selected"]
        .as_array()
        .expect("selected")
        .iter()
        .find(|s| !s["team"].as_array().expect("team").is_empty())
        .expect("a staffed visit in the second draw");
    let target = text(&staffed["target_id"]);
    let member = text(&staffed["team"][0]);
    p.replace_ill("2", &target, &member);
    let by: String = p
        .db()
        .query_row(
            "SELECT replacement FROM draw_changes WHERE draw_id = 2",
            [],
            |r| r.get(0),
        )
        .expect("recorded");
    assert!(
        !loads(&ms[0]).contains_key(&by) && !loads(second).contains_key(&by),
        "{by} already has a visit in the period"
    );
    for id in 1..=3 {
        verify(&p, id);
    }
    reference_agrees(&p, 3);

    // A redraw of the first draw: the later draws keep their manifests and verify; the redraw
    // carries their visits (the second's as the change left it), and the cap still holds.
    let later: Vec<String> = MATTERS[1..]
        .iter()
        .map(|m| p.read(&manifest_path(m)))
        .collect();
    draw(
        &p,
        MATTERS[0],
        "again",
        &["--redraw", "--reason", "见证人缺席"],
    );
    for (m, was) in MATTERS[1..].iter().zip(&later) {
        assert_eq!(&p.read(&manifest_path(m)), was, "{m} changed");
    }
    for id in 2..=4 {
        verify(&p, id);
    }
    let redrawn = manifest(&p, MATTERS[0]);
    let mut others = loads(second);
    if let Some(n) = others.get_mut(&member) {
        *n -= 1;
    }
    others.retain(|_, n| *n > 0);
    *others.entry(by.clone()).or_default() += 1;
    add(&mut others, &loads(&ms[2]));
    assert_eq!(carried(&redrawn), others);
    add(&mut others, &loads(&redrawn));
    assert!(others.values().all(|&n| n <= 1), "over the cap: {others:?}");
    reference_agrees(&p, 3);
}

/// Replaces (cause `ill`) the first member, in `m`'s order of visits and teams, who is not in
/// `skip`, and returns (member replaced, replacement).
fn replace_first_member(p: &Project, id: i64, m: &Value, skip: &[String]) -> (String, String) {
    let (target, member) = m["selected"]
        .as_array()
        .expect("selected")
        .iter()
        .flat_map(|s| {
            let team = s["team"].as_array().expect("team").clone();
            team.into_iter()
                .map(move |x| (text(&s["target_id"]), text(&x)))
        })
        .find(|(_, x)| !skip.contains(x))
        .expect("a member to replace");
    p.replace_ill(&id.to_string(), &target, &member);
    let by: String = p
        .db()
        .query_row(
            "SELECT replacement FROM draw_changes WHERE draw_id = ?1 AND inspector_id = ?2",
            rusqlite::params![id, member],
            |r| r.get(0),
        )
        .expect("recorded");
    (member, by)
}

/// Moves one visit from `member` to `by` in `loads` (a 人员调整 as recorded).
fn moved(loads: &mut BTreeMap<String, u64>, member: &str, by: &str) {
    if let Some(n) = loads.get_mut(member) {
        *n -= 1;
    }
    loads.retain(|_, n| *n > 0);
    *loads.entry(by.to_string()).or_default() += 1;
}

/// A 人员调整 counts in the loads of the draws issued after it, as of their issue (V2-16): a
/// change in the first draw gives a visit to an inspector who then reaches the cap of 1, and
/// the second draw, issued after it, carries the team as changed (the replacement at the cap,
/// so on none of its teams; the member replaced no longer). A change recorded in the first draw
/// after the second was issued leaves the second as it was (its manifest, and verify); the
/// third draw carries both changes. Every draw verifies identical and the reference program,
/// which recomputes each draw's carried loads from the database as of its issue, agrees.
#[test]
fn a_change_counts_in_the_loads_of_the_draws_issued_after_it_as_of_their_issue() {
    let p = project();
    draw(&p, MATTERS[0], "demo", &[]);
    let first = manifest(&p, MATTERS[0]);
    let (member, by) = replace_first_member(&p, 1, &first, &[]);
    let mut after = loads(&first);
    assert!(!after.contains_key(&by), "{by} already had a visit");
    moved(&mut after, &member, &by);
    assert_eq!(after[&by], 1, "the replacement reaches the cap of 1");

    draw(&p, MATTERS[1], "demo", &[]);
    let second_text = p.read(&manifest_path(MATTERS[1]));
    let second = manifest(&p, MATTERS[1]);
    assert_eq!(
        carried(&second),
        after,
        "the second draw carries the team as changed"
    );
    assert!(
        !loads(&second).contains_key(&by),
        "{by} is at the cap and gets no visit in the second draw"
    );
    let mut period = after.clone();
    add(&mut period, &loads(&second));
    assert!(period.values().all(|&n| n <= 1), "over the cap: {period:?}");

    // A change in the first draw after the second was issued: the second stays as it was.
    let (member2, by2) = replace_first_member(&p, 1, &first, std::slice::from_ref(&member));
    moved(&mut after, &member2, &by2);
    assert_eq!(p.read(&manifest_path(MATTERS[1])), second_text);
    verify(&p, 2);

    draw(&p, MATTERS[2], "demo", &[]);
    let third = manifest(&p, MATTERS[2]);
    let mut want = after.clone();
    add(&mut want, &loads(&second));
    assert_eq!(carried(&third), want, "the third draw carries both changes");
    for id in 1..=3 {
        verify(&p, id);
    }
    reference_agrees(&p, 3);
    let reference = Command::new("python3")
        .arg(repo().join("docs/reference/suiji_draw.py"))
        .arg("check")
        .arg(p.path("data/suiji.sqlite3"))
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&reference.stdout);
    for unchecked in ["no carried_loads recorded", "not in the audit log"] {
        assert!(!stdout.contains(unchecked), "{stdout}");
    }
}
