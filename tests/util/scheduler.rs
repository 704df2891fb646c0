//! Projects for scheduler tests: a department of test matters on the demo registry, and
//! checks of what the service recorded.

use super::{Project, Test, run};

/// A matter of the test department, on the hotel registry. Its draws are issued at the cron's
/// fire times, days off included (`on_holiday = "keep"`), so tests of the service loop can
/// name them by the fire time.
pub fn matter(id: &str, cron: &str, ratio: &str, extra: &str) -> String {
    format!(
        r#"
[[matter]]
id = "{id}"
name = "测试事项 {id}"
categories = ["hotel"]
ratio = "{ratio}"
cron = "{cron}"
on_holiday = "keep"
{extra}

[[matter.checklist]]
id = "{id}-01"
text = "测试检查项"
"#
    )
}

pub const DEPARTMENT: &str = r#"[department]
id = "zhian"
name = "治安大队"
order = 1
summary = "测试"
frequency_note = "测试"
publication_note = "测试"

[defaults]
qualifications = ["public_order"]
team_size = 2
"#;

/// A project whose only rules are the given matters of department `zhian` (on a provisional
/// calendar, so any year works), with the zhian inspectors of the demo registry.
pub fn service_project(matters: &str) -> Project {
    Test::new()
        .provisional_calendar(true)
        .only_rules(&[("zhian.toml", &format!("{DEPARTMENT}{matters}"))])
        .inspectors_of("zhian")
        .args(&["check"])
        .run()
        .project
}

/// (id, matter, period, manifest) of every draw, superseded ones too.
pub fn draws(p: &Project) -> Vec<(i64, String, String, serde_json::Value)> {
    if !p.path("data/suiji.sqlite3").exists() {
        return Vec::new();
    }
    let db = p.db();
    let mut stmt = db
        .prepare(&format!(
            "SELECT id, matter, period, {} FROM draws ORDER BY id",
            super::MANIFEST_TEXT
        ))
        .expect("query draws");
    stmt.query_map([], |r| {
        let json: String = r.get(3)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            serde_json::from_str(&json).expect("manifest"),
        ))
    })
    .expect("query draws")
    .collect::<Result<_, _>>()
    .expect("draws")
}

/// (matter, period, event, detail) of every scheduler event.
pub fn events(p: &Project) -> Vec<(String, String, String, String)> {
    let db = p.db();
    let mut stmt = db
        .prepare("SELECT matter, period, event, detail FROM scheduler_events ORDER BY id")
        .expect("query events");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query events")
        .collect::<Result<_, _>>()
        .expect("events")
}

/// The audit log, all of it.
pub fn audit(p: &Project) -> String {
    p.ok(&["audit", "log", "--limit", "100000"])
}

/// Checks that every recorded draw's rows match its manifest, that its files are in place,
/// and that nothing is left in a staging folder.
pub fn assert_complete(p: &Project) {
    let db = p.db();
    for (id, matter, period, m) in draws(p) {
        let selected = m["selected"].as_array().expect("selected");
        let n: i64 = db
            .query_row(
                "SELECT count(*) FROM draw_targets WHERE draw_id = ?1",
                [id],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(n, selected.len() as i64, "draw #{id} {matter} {period}");
        let members: usize = selected
            .iter()
            .map(|s| s["team"].as_array().map_or(0, Vec::len))
            .sum();
        let n: i64 = db
            .query_row(
                "SELECT count(*) FROM draw_team_members WHERE draw_id = ?1",
                [id],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(n, members as i64, "draw #{id} {matter} {period}");
        let folder = p.path(&format!("out/draws/{matter}/{period}"));
        let on_disk: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(folder.join("manifest.json"))
                .unwrap_or_else(|e| panic!("draw #{id}: {e}")),
        )
        .expect("manifest");
        assert_eq!(on_disk, m, "draw #{id}: files in place match the record");
    }
    let (code, out, _) = run(p.suiji(&["audit", "verify"]));
    assert_eq!(code, 0, "{out}");
}

/// Folders of `out/draws/MATTER` whose names start with a dot (staged, not in place).
pub fn staged(p: &Project, matter: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(p.path(&format!("out/draws/{matter}"))) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// `suiji run --once --since 2023-01-01`.
pub const RUN_ONCE: &[&str] = &["run", "--once", "--since", "2023-01-01"];

/// Runs `suiji ARGS` made to stop at `point` (`POINT`, or `POINT@N` for its N-th passing) as
/// `kill -9` would; returns its standard error.
pub fn crash_at(p: &Project, args: &[&str], point: &str) -> String {
    let mut cmd = p.suiji(args);
    cmd.env(suiji::jobs::probe::ABORT_ENV, point);
    let (code, out, err) = run(cmd);
    assert_ne!(code, 0, "not stopped at {point}: {out}{err}");
    let name = point.split('@').next().unwrap_or(point);
    assert!(err.contains(&format!("stopped at {name}")), "{err}");
    err
}
