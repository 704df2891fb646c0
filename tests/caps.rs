//! Workload caps per period (docs/draw-algorithm.md V2-16, 同一周期内每名检查人员的任务上限):
//! the three matters of the shipped 网安大队 are drawn in one period with a cap of 1 visit per
//! inspector; the loads carried in from the earlier draws are recorded in each manifest, the cap
//! holds across the three draws, a change after a draw (人员调整) counts the carried loads, every
//! draw verifies identical (and the reference program agrees), and a redraw of the first draw
//! leaves the later draws as they were. A change counts the period's other draws as they stand
//! when it is recorded (rule 2; changes of rule 1 verify by rule 1), `verify` recomputes each
//! draw's carried loads from the records, and a change recorded while a draw is computed is
//! counted by that draw.

mod util;

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;
use suiji::draw::changes::Refusal;
use suiji::jobs::change::ChangeError;
use util::{Project, repo, run};

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
    let (ok, stdout, stderr) = reference_check(p);
    assert!(
        ok && stdout.ends_with(&format!("{n} identical, 0 differ\n")),
        "the reference program disagrees:\n{stdout}\n{stderr}"
    );
}

/// The reference program's `check` of the project's database: (success, stdout, stderr).
fn reference_check(p: &Project) -> (bool, String, String) {
    let out = Command::new("python3")
        .arg(repo().join("docs/reference/suiji_draw.py"))
        .arg("check")
        .arg(p.path("data/suiji.sqlite3"))
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed for this test (.ci/run installs it): {e}"));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
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
    let (target, member) = members(m)
        .into_iter()
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
    let (_, stdout, _) = reference_check(&p);
    for unchecked in ["no carried_loads recorded", "not in the audit log"] {
        assert!(!stdout.contains(unchecked), "{stdout}");
    }
}

const CONFIG: &str = "config/suiji.toml";

/// A 人员调整 of `member` at `target` in draw `id` (cause `ill`), expecting `expect`.
fn change_input(
    id: i64,
    (target, member): (&str, &str),
    expect: Option<&str>,
) -> suiji::jobs::change::Input {
    suiji::jobs::change::Input {
        draw_id: id,
        target_id: target.to_string(),
        inspector_id: Some(member.to_string()),
        cause: "ill".into(),
        no_replacement: false,
        expect: expect.map(str::to_string),
        reason: "病假".into(),
        actor: "operator".into(),
        now: "2023-03-01T10:00:00+08:00".into(),
    }
}

/// Whom a 人员调整 of `member` at `target` in draw `id` takes when decided by `rule`, asked
/// without recording anything (the change is refused when the expected replacement is not the
/// one the rules give, and the refusal names it); `Err`: why there is none.
fn would_take(p: &Project, id: i64, pair: (&str, &str), rule: u32) -> Result<String, String> {
    let (mut store, _) = suiji::jobs::change::open(&p.path(CONFIG)).expect("database");
    let input = change_input(id, pair, Some("nobody"));
    match suiji::jobs::change::record_under(&mut store, &input, rule) {
        Err(ChangeError::Refused {
            refusal: Refusal::WrongInspector { want, .. },
            ..
        }) => Ok(want),
        Err(e) => Err(e.to_string()),
        Ok(c) => panic!("recorded {c:?}"),
    }
}

/// (target, member) of every staffed visit of a manifest, in its order.
fn members(m: &Value) -> Vec<(String, String)> {
    m["selected"]
        .as_array()
        .expect("selected")
        .iter()
        .flat_map(|s| {
            let team = s["team"].as_array().expect("team").clone();
            team.into_iter()
                .map(move |x| (text(&s["target_id"]), text(&x)))
        })
        .collect()
}

/// The `rule` of change `id`'s audit entry (`None`: none named, rule 1).
fn rule_of(p: &Project, id: i64) -> Option<u64> {
    let detail: String = p
        .db()
        .query_row(
            "SELECT detail FROM audit_log WHERE action = 'draw.change' \
             AND json_extract(detail, '$.change_id') = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("the change's audit entry");
    let d: Value = serde_json::from_str(&detail).expect("JSON");
    d.get("rule").and_then(Value::as_u64)
}

/// A 人员调整 in an earlier draw recorded after a later draw of the period was issued counts
/// the later draw's visits (V2-16 item 5, rule 2). Cap 1: rule 1, which counted the changed
/// draw and its `carried_loads` only, gives an inspector of the second draw a second visit in
/// the period; rule 2 refuses that inspector (the CLI says whom it takes instead, or that
/// nobody is left) and the period stays within the cap. A change recorded by rule 1 (as suiji
/// recorded changes before rule 2) still verifies identical, by rule 1; the reference program
/// agrees on both.
#[test]
fn a_change_in_an_earlier_draw_counts_the_draws_issued_after_it() {
    let p = project();
    draw(&p, MATTERS[0], "demo", &[]);
    draw(&p, MATTERS[1], "demo", &[]);
    let (a, b) = (manifest(&p, MATTERS[0]), manifest(&p, MATTERS[1]));
    let mut period = loads(&a);
    add(&mut period, &loads(&b));
    assert!(period.values().all(|&n| n <= 1), "over the cap: {period:?}");

    // The failure rule 1 gives: a member of the first draw replaced by one of the second's.
    let ((target, member), old) = members(&a)
        .into_iter()
        .find_map(|(t, x)| {
            let y = would_take(&p, 1, (&t, &x), 1).ok()?;
            loads(&b).contains_key(&y).then_some(((t, x), y))
        })
        .expect("rule 1 gives an inspector of the second draw a second visit");
    let new = would_take(&p, 1, (&target, &member), 2);
    assert_ne!(new.as_ref(), Ok(&old), "rule 2 counts the second draw");
    let (code, _, err) = run(p.suiji(&[
        "change",
        "replace-inspector",
        "1",
        &target,
        &member,
        "--cause",
        "ill",
        "--reason",
        "病假",
        "--replacement",
        &old,
    ]));
    assert_ne!(code, 0, "{old} would have two visits: {err}");
    match &new {
        Ok(n) => {
            assert!(
                err.contains(&format!(
                    "the next eligible inspector for {target} is {n}, not {old}"
                )),
                "{err}"
            );
            assert!(
                !period.contains_key(n),
                "{n} already has a visit: {period:?}"
            );
            p.replace_ill("1", &target, &member);
            moved(&mut period, &member, n);
            assert!(period.values().all(|&x| x <= 1), "over the cap: {period:?}");
            assert_eq!(rule_of(&p, 1), Some(2), "a new change records its rule");
        }
        Err(e) => {
            assert!(e.contains("no eligible inspector is left"), "{e}");
            assert!(err.contains("no eligible inspector is left"), "{err}");
        }
    }
    for id in 1..=2 {
        verify(&p, id);
    }
    reference_agrees(&p, 2);

    // A change recorded by rule 1, where rule 2 would decide otherwise: it verifies by rule 1.
    let done = if new.is_ok() {
        vec![member.clone()]
    } else {
        Vec::new()
    };
    let (pair, by) = members(&manifest(&p, MATTERS[0]))
        .into_iter()
        .filter(|(_, x)| !done.contains(x))
        .find_map(|(t, x)| {
            let y = would_take(&p, 1, (&t, &x), 1).ok()?;
            (would_take(&p, 1, (&t, &x), 2).as_ref() != Ok(&y)).then_some(((t, x), y))
        })
        .expect("a change rule 1 decides otherwise than rule 2");
    let (mut store, _) = suiji::jobs::change::open(&p.path(CONFIG)).expect("database");
    let made = suiji::jobs::change::record_under(
        &mut store,
        &change_input(1, (&pair.0, &pair.1), None),
        1,
    )
    .expect("recorded by rule 1");
    drop(store);
    assert_eq!(made.change.replacement.as_deref(), Some(by.as_str()));
    assert_eq!(
        rule_of(&p, made.change.id),
        None,
        "rule 1 is written as before"
    );
    verify(&p, 1);
    reference_agrees(&p, 2);
    let audit = p.ok(&["audit", "verify"]);
    assert!(audit.contains("intact") || audit.contains("ok"), "{audit}");
}

/// `verify` recomputes a version-2 draw's `carried_loads` from the records as of its audit
/// entry (V2-16 item 2): a draw whose recorded loads are not the period's — here one raised
/// behind suiji's back, with the manifest's hash made again so that the draw re-runs identical
/// from its own record — is reported, with both; honest draws verify identical.
#[test]
fn verify_recomputes_the_carried_loads_from_the_records() {
    let p = project();
    draw(&p, MATTERS[0], "demo", &[]);
    draw(&p, MATTERS[1], "demo", &[]);
    verify(&p, 1);
    verify(&p, 2);
    let mut first = None;
    forge_second_draw(&p, |m| {
        let carried = m
            .carried_loads
            .as_mut()
            .expect("the second draw carries loads");
        assert_eq!(carried[0].load, 1, "at the cap of 1");
        carried[0].load = 2;
        first = Some(carried[0].inspector_id.clone());
    });
    let first = first.expect("forged");
    let all = verify_differs(&p, 2);
    assert!(
        all.contains("carried_loads: the manifest records")
            && all.contains(&format!("{first} 2"))
            && all.contains(&format!("{first} 1"))
            && all.contains("when this draw was recorded"),
        "{all}"
    );
    verify(&p, 1);
}

/// A `suiji-manifest/3` or `/4` draw was made after V2-16, so a manifest without `carried_loads`
/// carried none: one whose member was removed behind suiji's back (the hash made again) is
/// checked as carrying none, and both `verify` and the reference program report the period's
/// loads it should have carried (beside the teams the re-run then staffs differently).
#[test]
fn a_current_manifest_without_its_carried_loads_is_reported_by_verify_and_the_reference() {
    let p = project();
    draw(&p, MATTERS[0], "demo", &[]);
    draw(&p, MATTERS[1], "demo", &[]);
    let mut first = None;
    forge_second_draw(&p, |m| {
        assert_eq!(m.format, "suiji-manifest/6");
        let carried = m
            .carried_loads
            .take()
            .expect("the second draw carries loads");
        first = Some(carried[0].inspector_id.clone());
    });
    let first = first.expect("forged");
    let (code, out, err) = run(p.suiji(&["verify", "2"]));
    let all = format!("{out}{err}");
    assert!(
        code != 0
            && all.contains("carried_loads: the manifest records none")
            && all.contains(&format!("{first} 1")),
        "{all}"
    );
    let (ok, stdout, _) = reference_check(&p);
    assert!(
        !ok && stdout.contains("carried_loads: recorded {}"),
        "{stdout}"
    );
}

/// Rewrites draw 2's recorded manifest with `forge`, its hash made again so that the draw
/// re-runs identical from its own record (the supersede trigger dropped to allow it).
fn forge_second_draw(p: &Project, forge: impl FnOnce(&mut suiji::draw::manifest::Manifest)) {
    let db = p.db();
    let json: String = db
        .query_row(
            &format!("SELECT {} FROM draws WHERE id = 2", util::MANIFEST_TEXT),
            [],
            |r| r.get(0),
        )
        .expect("draw 2");
    let mut m: suiji::draw::manifest::Manifest = serde_json::from_str(&json).expect("manifest");
    forge(&mut m);
    m.manifest_hash = String::new();
    m.manifest_hash = m.compute_hash();
    db.execute_batch("DROP TRIGGER draws_only_supersede")
        .expect("drop trigger");
    db.execute(
        "UPDATE draws SET manifest_json = ?1, manifest_hash = ?2 WHERE id = 2",
        rusqlite::params![m.to_file_json(), m.manifest_hash],
    )
    .expect("forged");
}

/// `suiji verify ID`, which must fail without the re-run itself differing: its output.
fn verify_differs(p: &Project, id: i64) -> String {
    let (code, out, err) = run(p.suiji(&["verify", &id.to_string()]));
    assert_ne!(code, 0, "{out}{err}");
    let all = format!("{out}{err}");
    assert!(
        !all.contains("selected"),
        "the re-run itself is identical: {all}"
    );
    all
}

/// A 人员调整 recorded while a draw is being computed (after the draw read the loads, before it
/// is recorded) is counted by that draw: the recording transaction finds that a change was
/// recorded since, and the draw is drawn again from the records as they are (V2-16 item 1). The
/// change is made at the job's `draw.staged` point, in another connection, as another process
/// would.
#[test]
fn a_change_recorded_while_a_draw_is_computed_is_counted_by_that_draw() {
    let p = project();
    draw(&p, MATTERS[0], "demo", &[]);
    let first = manifest(&p, MATTERS[0]);
    let (target, member) = members(&first).into_iter().next().expect("a member");
    let config = p.path(CONFIG);
    let loaded = suiji::jobs::load_rules(&config).expect("rules");
    let passes = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = passes.clone();
    let changed = std::rc::Rc::new(std::cell::RefCell::new(None));
    let made = changed.clone();
    let drawn = suiji::jobs::probe::watching(
        move |point| {
            seen.borrow_mut().push(point);
            if point == "draw.staged" && made.borrow().is_none() {
                let (mut store, _) = suiji::jobs::change::open(&config).expect("database");
                let c = suiji::jobs::change::record(
                    &mut store,
                    &change_input(1, (&target, &member), None),
                )
                .expect("the change is recorded meanwhile");
                *made.borrow_mut() = c.change.replacement;
            }
        },
        || {
            suiji::jobs::draw::run(
                &loaded,
                &suiji::jobs::draw::Input {
                    matter: MATTERS[1].into(),
                    period: PERIOD.into(),
                    seed: suiji::jobs::issue::seed::SeedChoice::Given("demo".into()),
                    reveal: None,
                    dry_run: false,
                    redraw: None,
                    replaces: None,
                    actor: "operator".into(),
                    now: "2023-03-01T10:05:00+08:00".into(),
                },
            )
        },
    );
    drawn.expect("drawn");
    let by = changed.borrow().clone().expect("a replacement");
    let staged = passes
        .borrow()
        .iter()
        .filter(|x| **x == "draw.staged")
        .count();
    assert_eq!(staged, 2, "drawn again once: {:?}", passes.borrow());
    let mut after = loads(&first);
    moved(&mut after, &members(&first)[0].1, &by);
    let second = manifest(&p, MATTERS[1]);
    assert_eq!(
        carried(&second),
        after,
        "the second draw carries the change"
    );
    let mut period = after;
    add(&mut period, &loads(&second));
    assert!(period.values().all(|&n| n <= 1), "over the cap: {period:?}");
    for id in 1..=2 {
        verify(&p, id);
    }
    reference_agrees(&p, 2);
}
