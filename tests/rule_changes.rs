//! Rule changes through the library (`jobs::rule_changes`): draft, submit, approve, return,
//! conflicts, rollback, outside changes, each audited.

mod util;

use suiji::jobs::check::Keeper;
use suiji::jobs::rule_changes::{
    self, ChangeError, Draft, Files, Submitted, Who, apply, approve, on_disk,
};
use suiji::store::Store;
use util::Project;

fn who(actor: &str, at: &str) -> Who {
    Who {
        actor: actor.into(),
        at: at.into(),
    }
}

/// The registries' facts, read afresh (a clock before any file of the tests was written: every
/// registry file is hashed by its bytes).
fn facts() -> Keeper {
    Keeper::new(|| chrono::DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01"))
}

fn two_person() -> (Project, suiji::rules::model::Config, Store) {
    let p = Project::shipped();
    p.set_config(&["rules", "approval"], "two-person");
    let cfg = suiji::rules::load_config(&p.path("config/suiji.toml")).expect("config");
    let mut store = Store::open(&cfg.data_dir).expect("store");
    let v = rule_changes::adopt(
        &mut store,
        &cfg,
        &who("cli:root", "2026-01-05T09:00:00+08:00"),
    )
    .expect("adopt");
    assert_eq!(v, Some(1));
    (p, cfg, store)
}

fn hotel_ratio(files: &Files, from: &str, to: &str) -> Files {
    let text = files["rules/zhian.toml"].replacen(from, to, 1);
    [("rules/zhian.toml".to_string(), text)].into()
}

#[test]
fn a_change_is_approved_by_someone_else_and_then_written_and_versioned() {
    let (p, cfg, mut store) = two_person();
    let v1 = rule_changes::latest(&store).expect("latest").expect("v1");
    assert_eq!(v1.rules_hash, on_disk(&cfg).expect("disk").hash);
    let files = hotel_ratio(&v1.files, "ratio = \"5%\"", "ratio = \"10%\"");
    let alice = who("web:alice", "2026-01-05T10:00:00+08:00");
    let id = rule_changes::save_draft(
        &mut store,
        &Draft {
            id: None,
            department: "zhian".into(),
            files: files.clone(),
            removed: vec![],
            base_hash: v1.rules_hash.clone(),
        },
        &alice,
    )
    .expect("draft");
    // Nothing reaches the disk before approval.
    assert!(p.read("rules/zhian.toml").contains("ratio = \"5%\""));
    assert_eq!(
        rule_changes::submit(&mut store, &cfg, id, &alice, &facts()).expect("submit"),
        Submitted::Waiting
    );
    let own = approve(&mut store, &cfg, id, &alice, &facts()).expect_err("own change");
    assert!(matches!(own, ChangeError::OwnChange), "{own}");
    let bob = who("web:bob", "2026-01-05T11:00:00+08:00");
    let done = approve(&mut store, &cfg, id, &bob, &facts()).expect("approve");
    assert_eq!(done.version, 2);
    assert!(p.read("rules/zhian.toml").contains("ratio = \"10%\""));
    assert_eq!(on_disk(&cfg).expect("disk").hash, done.rules_hash);
    let v2 = rule_changes::version(&store, 2).expect("v2");
    assert_eq!(v2.files, apply(&v1.files, &files, &[]));
    assert_eq!(
        (v2.author.as_str(), v2.approver.as_str()),
        ("web:alice", "web:bob")
    );
    let actions: Vec<String> = audit_actions(&p);
    assert_eq!(
        actions,
        [
            "rules.adopt",
            "rules.draft",
            "rules.submit",
            "rules.approve"
        ]
    );
}

fn audit_actions(p: &Project) -> Vec<String> {
    let db = p.db();
    let mut stmt = db
        .prepare("SELECT action FROM audit_log WHERE action LIKE 'rules.%' ORDER BY seq")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn the_second_editor_of_a_department_gets_a_conflict_with_the_diff() {
    let (_p, cfg, mut store) = two_person();
    let v1 = rule_changes::latest(&store).expect("latest").expect("v1");
    let draft = |files: Files| Draft {
        id: None,
        department: "zhian".into(),
        files,
        removed: vec![],
        base_hash: v1.rules_hash.clone(),
    };
    let alice = who("web:alice", "2026-01-05T10:00:00+08:00");
    let carol = who("web:carol", "2026-01-05T10:05:00+08:00");
    let a = rule_changes::save_draft(
        &mut store,
        &draft(hotel_ratio(&v1.files, "ratio = \"5%\"", "ratio = \"10%\"")),
        &alice,
    )
    .expect("a");
    let c = rule_changes::save_draft(
        &mut store,
        &draft(hotel_ratio(&v1.files, "ratio = \"5%\"", "ratio = \"8%\"")),
        &carol,
    )
    .expect("c");
    rule_changes::submit(&mut store, &cfg, a, &alice, &facts()).expect("first submit");
    let err = rule_changes::submit(&mut store, &cfg, c, &carol, &facts()).expect_err("conflict");
    let ChangeError::Conflict { conflicts, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].path, "rules/zhian.toml");
    assert_eq!(conflicts[0].change, Some(a));
    let shown = rule_changes::unified(&[conflicts[0].diff.clone()]);
    assert!(shown.contains("+ratio = \"10%\""), "{shown}");
    // Once the first is approved, the second is stale against the new version.
    approve(
        &mut store,
        &cfg,
        a,
        &who("web:bob", "2026-01-05T11:00:00+08:00"),
        &facts(),
    )
    .expect("ok");
    let err = rule_changes::submit(&mut store, &cfg, c, &carol, &facts()).expect_err("stale");
    assert!(matches!(err, ChangeError::Conflict { .. }), "{err}");
    assert_eq!(
        rule_changes::change(&store, c).expect("view").row.state,
        "draft"
    );
}

#[test]
fn a_change_with_errors_stays_a_draft_and_a_returned_change_carries_its_comment() {
    let (_p, cfg, mut store) = two_person();
    let v1 = rule_changes::latest(&store).expect("latest").expect("v1");
    let alice = who("web:alice", "2026-01-05T10:00:00+08:00");
    let mut d = Draft {
        id: None,
        department: "zhian".into(),
        files: hotel_ratio(&v1.files, "ratio = \"5%\"", "ratoi = \"10%\""),
        removed: vec![],
        base_hash: v1.rules_hash.clone(),
    };
    let id = rule_changes::save_draft(&mut store, &d, &alice).expect("draft with a typo");
    let err = rule_changes::submit(&mut store, &cfg, id, &alice, &facts()).expect_err("typo");
    let shown = suiji::diag::Problem::report(&err).render();
    assert!(shown.contains("rules/zhian.toml:15:1"), "{shown}");
    assert!(shown.contains("ratio"), "{shown}");
    d.id = Some(id);
    d.files = hotel_ratio(&v1.files, "ratio = \"5%\"", "ratio = \"10%\"");
    rule_changes::save_draft(&mut store, &d, &alice).expect("fixed");
    rule_changes::submit(&mut store, &cfg, id, &alice, &facts()).expect("submit");
    let bob = who("web:bob", "2026-01-05T11:00:00+08:00");
    let err = rule_changes::return_change(&mut store, id, "  ", &bob).expect_err("no comment");
    assert!(matches!(err, ChangeError::NoComment));
    rule_changes::return_change(&mut store, id, "请说明依据", &bob).expect("return");
    let row = rule_changes::change(&store, id).expect("view").row;
    assert_eq!(row.state, "returned");
    assert_eq!(row.comment.as_deref(), Some("请说明依据"));
    assert_eq!(row.decided_by.as_deref(), Some("web:bob"));
}

#[test]
fn outside_changes_are_seen_and_a_rollback_needs_approval_too() {
    let (p, cfg, mut store) = two_person();
    p.edit("rules/zhian.toml", "ratio = \"5%\"", "ratio = \"7%\"");
    let st = rule_changes::status(&store, &cfg).expect("status");
    assert_eq!(st.outside.len(), 1);
    assert_eq!(st.outside[0].path, "rules/zhian.toml");
    let root = who("cli:root", "2026-01-06T09:00:00+08:00");
    let v2 = rule_changes::approve_outside(&mut store, &cfg, Some(&st.disk.hash), &root, &facts())
        .expect("approve outside");
    assert_eq!(v2.version, 2);
    let again =
        rule_changes::approve_outside(&mut store, &cfg, None, &root, &facts()).expect_err("none");
    assert!(matches!(again, ChangeError::NoOutsideChange));
    let id = rule_changes::rollback(
        &mut store,
        &cfg,
        1,
        &who("web:alice", "2026-01-06T10:00:00+08:00"),
        &facts(),
    )
    .expect("rollback");
    assert!(
        p.read("rules/zhian.toml").contains("7%"),
        "not before approval"
    );
    let done = approve(
        &mut store,
        &cfg,
        id,
        &who("web:bob", "2026-01-06T11:00:00+08:00"),
        &facts(),
    )
    .expect("approve rollback");
    assert!(p.read("rules/zhian.toml").contains("ratio = \"5%\""));
    let v1 = rule_changes::version(&store, 1).expect("v1");
    assert_eq!(done.rules_hash, v1.rules_hash);
    let v3 = rule_changes::version(&store, 3).expect("v3");
    assert_eq!(v3.kind, "rollback");
}

// ---- The command line: `suiji rules …` on a server without the console. ----

fn hotel_line(p: &Project, period: &str) -> String {
    let out = p.ok(&["schedule", "--year", "2023"]);
    out.lines()
        .find(|l| l.contains("zhian.hotel ") && l.contains(period))
        .unwrap_or_else(|| panic!("no hotel {period} line:\n{out}"))
        .to_string()
}

fn latest_draw_hash(p: &Project, matter: &str) -> String {
    p.db()
        .query_row(
            "SELECT rules_hash FROM draws WHERE matter = ?1 ORDER BY id DESC LIMIT 1",
            [matter],
            |r| r.get(0),
        )
        .expect("a draw")
}

fn version_hash(p: &Project, id: i64) -> String {
    p.db()
        .query_row(
            "SELECT rules_hash FROM rule_versions WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("a version")
}

#[test]
fn cli_an_outside_change_is_shown_checked_and_used_only_once_approved() {
    let p = Project::shipped_two_person();
    let (code, out, _) = util::run(p.suiji(&["rules", "status"]));
    assert_eq!(code, 0);
    assert!(out.contains("no version is approved yet"), "{out}");
    let out = p.ok(&["rules", "approve"]);
    assert!(out.contains("approved as version 1"), "{out}");
    assert!(hotel_line(&p, "2023-H1").contains(" 5%"));

    // An editor on the server changes the hotel ratio.
    p.edit("rules/zhian.toml", "ratio = \"5%\"", "ratio = \"10%\"");
    let out = p.ok(&["rules", "status"]);
    assert!(out.contains("changed outside the console"), "{out}");
    assert!(out.contains("  rules/zhian.toml\n"), "{out}");
    assert!(out.contains("check: ok"), "{out}");
    // `check` checks the disk as before; plan, schedule and draws keep the approved version.
    let out = p.ok(&["check"]);
    assert!(out.starts_with("ok:"), "{out}");
    let (code, out, err) = util::run(p.suiji(&["schedule", "--year", "2023"]));
    assert_eq!(code, 0);
    assert!(
        err.contains("not used until approved: rules/zhian.toml"),
        "{err}"
    );
    let line = out
        .lines()
        .find(|l| l.contains("zhian.hotel "))
        .expect("hotel");
    assert!(line.contains(" 5%"), "{line}");
    let diff = p.ok(&["rules", "diff"]);
    assert!(
        diff.contains("-ratio = \"5%\"") && diff.contains("+ratio = \"10%\""),
        "{diff}"
    );
    p.ok(&["draw", "zhian.hotel", "--period", "2024-H1"]);
    assert_eq!(latest_draw_hash(&p, "zhian.hotel"), version_hash(&p, 1));

    let out = p.ok(&["rules", "approve"]);
    assert!(out.contains("approved as version 2"), "{out}");
    assert!(hotel_line(&p, "2023-H1").contains(" 10%"));
    p.ok(&["draw", "zhian.hotel", "--period", "2024-H2"]);
    assert_eq!(latest_draw_hash(&p, "zhian.hotel"), version_hash(&p, 2));
    let out = p.ok(&["rules", "history"]);
    assert!(out.contains("(outside the console)"), "{out}");
    assert!(out.contains("adopted"), "{out}");
    let audit = p.ok(&["audit", "log"]);
    assert!(audit.contains("rules.approve"), "{audit}");
}

#[test]
fn cli_a_broken_outside_change_cannot_be_approved_and_draws_go_on() {
    let p = Project::shipped_two_person();
    p.ok(&["rules", "approve"]);
    p.edit("rules/zhian.toml", "ratio = \"5%\"", "ratoi = \"10%\"");
    let out = p.ok(&["rules", "status"]);
    assert!(out.contains("cannot be approved"), "{out}");
    assert!(out.contains("rules/zhian.toml:15:1"), "{out}");
    let (code, _, err) = util::run(p.suiji(&["rules", "approve"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("did you mean `ratio`?"), "{err}");
    // The approved rules still draw.
    p.ok(&["draw", "zhian.hotel", "--period", "2024-H1"]);
    assert_eq!(latest_draw_hash(&p, "zhian.hotel"), version_hash(&p, 1));
}

#[test]
fn cli_self_approval_is_refused_unless_configured_and_a_rollback_returns_after_approval() {
    let p = Project::shipped_two_person();
    p.ok(&["rules", "approve"]);
    p.edit("rules/zhian.toml", "ratio = \"5%\"", "ratio = \"10%\"");
    p.ok(&["rules", "approve"]);
    let out = p.ok(&["rules", "rollback", "1"]);
    assert!(
        out.contains("change #1 proposes going back to version 1"),
        "{out}"
    );
    assert!(
        hotel_line(&p, "2023-H1").contains(" 10%"),
        "not before approval"
    );
    let (code, _, err) = util::run(p.suiji(&["rules", "approve", "--change", "1"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("the author of a change cannot approve it"),
        "{err}"
    );
    // A one-person office allows it (the setting is read from the config on disk).
    p.edit(
        "config/suiji.toml",
        "self_approval = false",
        "self_approval = true",
    );
    let out = p.ok(&["rules", "approve", "--change", "1"]);
    assert!(out.contains("approved as version 3"), "{out}");
    assert!(hotel_line(&p, "2023-H1").contains(" 5%"));
    assert!(p.read("rules/zhian.toml").contains("ratio = \"5%\""));
    let out = p.ok(&["rules", "history"]);
    assert!(out.contains("rollback"), "{out}");
}

#[test]
fn cli_the_first_draw_adopts_the_files_on_disk_as_version_1() {
    let p = Project::shipped_two_person();
    p.ok(&["draw", "zhian.hotel", "--period", "2024-H1"]);
    assert_eq!(latest_draw_hash(&p, "zhian.hotel"), version_hash(&p, 1));
    let out = p.ok(&["rules", "history"]);
    assert!(out.contains("adopted"), "{out}");
    let out = p.ok(&["rules", "status"]);
    assert!(out.contains("files on disk: the approved version"), "{out}");
}

#[test]
fn cli_a_retired_matter_leaves_plan_and_schedule_once_approved_and_its_draws_still_verify() {
    let p = Project::shipped_two_person();
    p.ok(&["rules", "approve"]);
    p.ok(&["draw", "zhian.hotel", "--period", "2024-H1"]);
    p.edit(
        "rules/zhian.toml",
        "categories = [\"hotel\"]\n",
        "categories = [\"hotel\"]\nretired = true\n",
    );
    // Not before approval.
    assert!(hotel_line(&p, "2023-H1").contains(" 5%"));
    let out = p.ok(&["rules", "approve"]);
    assert!(out.contains("approved as version 2"), "{out}");
    let schedule = p.ok(&["schedule", "--year", "2024"]);
    assert!(!schedule.contains("zhian.hotel "), "{schedule}");
    assert!(schedule.contains("zhian.entertainment "), "{schedule}");
    let plan = p.ok(&["plan", "--year", "2024"]);
    assert!(!plan.contains("旅馆业（宾馆、旅店）监督检查"), "{plan}");
    assert!(plan.contains("娱乐服务场所监督检查"), "{plan}");
    let (code, _, err) = util::run(p.suiji(&["draw", "zhian.hotel", "--period", "2024-H2"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("matter `zhian.hotel` is retired"), "{err}");
    assert!(err.contains("set retired = false"), "{err}");
    // The draw made before keeps verifying against its own rule version.
    let out = p.ok(&["verify", "out/draws/zhian.hotel/2024-H1/manifest.json"]);
    assert!(out.starts_with("identical"), "{out}");
    assert_eq!(latest_draw_hash(&p, "zhian.hotel"), version_hash(&p, 1));
    // The rest of the department still draws, with the new version.
    p.ok(&["draw", "zhian.entertainment", "--period", "2024-H1"]);
    assert_eq!(
        latest_draw_hash(&p, "zhian.entertainment"),
        version_hash(&p, 2)
    );
}

#[test]
fn cli_retiring_a_department_retires_all_its_matters_and_retired_is_no_default() {
    let p = Project::shipped_two_person();
    p.ok(&["rules", "approve"]);
    p.edit(
        "rules/zhian.toml",
        "[defaults]\n",
        "[defaults]\nretired = true\n",
    );
    let (code, out, err) = util::run(p.suiji(&["check"]));
    assert_ne!(code, 0, "{out}");
    assert!(
        format!("{out}{err}").contains("`retired` is not a default"),
        "{out}{err}"
    );
    p.edit(
        "rules/zhian.toml",
        "[defaults]\nretired = true\n",
        "[defaults]\n",
    );
    p.edit(
        "rules/zhian.toml",
        "publication_note = \"抽查检查结果上网公示。\"\n",
        "publication_note = \"抽查检查结果上网公示。\"\nretired = true\n",
    );
    p.ok(&["rules", "approve"]);
    let schedule = p.ok(&["schedule", "--year", "2024"]);
    assert!(!schedule.contains("zhian."), "{schedule}");
    let plan = p.ok(&["plan", "--year", "2024"]);
    assert!(!plan.contains("治安大队年度抽查计划"), "{plan}");
}

/// Submitting and approving check the rule set against the registries' facts the console
/// keeps, known by the files' look: a registry changed after the change was submitted is read
/// again at approval, and a rule set it no longer fits is refused (nothing written); the
/// registry restored, the same change is approved.
#[test]
fn an_approval_on_kept_facts_is_refused_when_the_registry_changed_under_it() {
    let (p, cfg, mut store) = two_person();
    let keeper =
        Keeper::new(|| chrono::DateTime::from_timestamp(4_102_444_800, 0).expect("2100-01-01"));
    let v1 = rule_changes::latest(&store).expect("latest").expect("v1");
    let alice = who("web:alice", "2026-01-05T10:00:00+08:00");
    let bob = who("web:bob", "2026-01-05T11:00:00+08:00");
    let draft = Draft {
        id: None,
        department: "zhian".into(),
        files: hotel_ratio(&v1.files, "ratio = \"5%\"", "ratio = \"10%\""),
        removed: vec![],
        base_hash: v1.rules_hash.clone(),
    };
    let id = rule_changes::save_draft(&mut store, &draft, &alice).expect("draft");
    assert_eq!(
        rule_changes::submit(&mut store, &cfg, id, &alice, &keeper).expect("submit"),
        Submitted::Waiting
    );
    let hashed = keeper.hashed();

    let targets = p.read("config/registry/targets.csv");
    let header = targets.lines().next().expect("header");
    p.write("config/registry/targets.csv", &format!("{header}\n"));
    let err = approve(&mut store, &cfg, id, &bob, &keeper).expect_err("refused");
    assert!(matches!(err, ChangeError::Invalid(_)), "{err}");
    let shown = suiji::diag::Problem::report(&err).render();
    assert!(shown.contains("the target registry has no rows"), "{shown}");
    assert!(keeper.hashed() > hashed, "the changed file hashed again");
    assert!(p.read("rules/zhian.toml").contains("ratio = \"5%\""));
    assert_eq!(
        rule_changes::change(&store, id).expect("view").row.state,
        "submitted"
    );

    p.write("config/registry/targets.csv", &targets);
    approve(&mut store, &cfg, id, &bob, &keeper).expect("approved");
    assert!(p.read("rules/zhian.toml").contains("ratio = \"10%\""));
}
