//! The scheduler end to end: `suiji simulate` on the shipped 2023 rules, and real `suiji run`
//! processes on the wall clock with cron matters due seconds from now: on-time draws,
//! restarts, kill -9, concurrent runs, catch-up after downtime and rule reloads.

mod util;

use chrono::{Datelike as _, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike as _};
use util::{Project, Running, run, wait_for};

/// Now in Beijing time, to the second.
fn now() -> NaiveDateTime {
    let t = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .naive_local();
    t.with_nanosecond(0).unwrap_or(t)
}

/// A daily cron expression firing at `t`'s time of day.
fn daily_at(t: NaiveTime) -> String {
    format!("{} {} {} * * *", t.second(), t.minute(), t.hour())
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A matter of the test department, on the hotel registry.
fn matter(id: &str, cron: &str, ratio: &str, extra: &str) -> String {
    format!(
        r#"
[[matter]]
id = "{id}"
name = "测试事项 {id}"
categories = ["hotel"]
ratio = "{ratio}"
cron = "{cron}"
{extra}

[[matter.checklist]]
id = "{id}-01"
text = "测试检查项"
"#
    )
}

const DEPARTMENT: &str = r#"[department]
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
fn service_project(matters: &str) -> Project {
    let p = Project::shipped();
    for f in std::fs::read_dir(p.path("rules")).expect("rules") {
        std::fs::remove_file(f.expect("entry").path()).expect("remove rule file");
    }
    p.write("rules/zhian.toml", &format!("{DEPARTMENT}{matters}"));
    p.edit(
        "config/suiji.toml",
        "provisional = false",
        "provisional = true",
    );
    keep_zhian_inspectors(&p, "config/registry/inspectors.csv");
    p.ok(&["check"]);
    p
}

fn keep_zhian_inspectors(p: &Project, rel: &str) {
    let text = p.read(rel);
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.split(',').nth(2) == Some("zhian"))
        .map(|(_, l)| l)
        .collect();
    assert!(kept.len() > 2);
    p.write(rel, &format!("{}\n", kept.join("\n")));
}

/// (id, matter, period, manifest) of every draw, superseded ones too.
fn draws(p: &Project) -> Vec<(i64, String, String, serde_json::Value)> {
    if !p.path("data/suiji.sqlite3").exists() {
        return Vec::new();
    }
    let db = p.db();
    // The schema may not be there yet while a service is starting.
    let Ok(mut stmt) =
        db.prepare("SELECT id, matter, period, manifest_json FROM draws ORDER BY id")
    else {
        return Vec::new();
    };
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
fn events(p: &Project) -> Vec<(String, String, String, String)> {
    let db = p.db();
    let mut stmt = db
        .prepare("SELECT matter, period, event, detail FROM scheduler_events ORDER BY id")
        .expect("query events");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query events")
        .collect::<Result<_, _>>()
        .expect("events")
}

/// Draw lines of `suiji draws ARGS`.
fn listed(p: &Project, args: &[&str]) -> Vec<String> {
    let mut all = vec!["draws"];
    all.extend_from_slice(args);
    let out = p.ok(&all);
    let lines: Vec<&str> = out.lines().collect();
    lines[1..lines.len() - 1]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The audit log, all of it.
fn audit(p: &Project) -> String {
    p.ok(&["audit", "log", "--limit", "100000"])
}

/// Checks that every recorded draw's rows match its manifest.
fn assert_complete(p: &Project) {
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

/// Waits until a running service has finished its first pass and gone to sleep (it logs
/// "sleeping until" at debug level).
fn wait_asleep(r: &mut Running, after: usize) {
    wait_for(60, "the service to go to sleep", || {
        if let Some(status) = r.exited() {
            panic!("suiji run exited early ({status}):\n{}", r.stderr());
        }
        (r.stderr().matches("sleeping until").count() > after).then_some(())
    });
}

const DEBUG_LOG: &[(&str, &str)] = &[("RUST_LOG", "suiji=debug")];

#[test]
fn simulate_2023_issues_the_whole_schedule_once() {
    let p = Project::shipped();
    let schedule = p.ok(&["schedule", "--year", "2023"]);
    // issue date, matter, period
    let planned: std::collections::BTreeSet<(String, String, String)> = schedule
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[2].to_string(), f[3].to_string())
        })
        .collect();
    assert_eq!(planned.len(), schedule.lines().count() - 1);

    let out = p.ok(&["simulate", "--year", "2023", "--seed", "simulation"]);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("2023-"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let n = planned.len();
    assert_eq!(rows.len(), n, "{out}");
    assert!(
        out.contains(&format!("{n} draws of 2023 ({n} issued by this run")),
        "{out}"
    );
    let issued: std::collections::BTreeSet<(String, String, String)> = rows
        .iter()
        .map(|f| (f[0].to_string(), f[1].to_string(), f[2].to_string()))
        .collect();
    assert_eq!(issued, planned);

    // Holiday windows and half-years fall on the plan's dates.
    let dates_of = |pred: &dyn Fn(&[&str]) -> bool| {
        rows.iter()
            .filter(|f| pred(f))
            .map(|f| f[0])
            .collect::<std::collections::BTreeSet<_>>()
    };
    for (holiday, date) in [
        ("chunjie", "2023-01-13"),
        ("laodong", "2023-04-21"),
        ("guoqing", "2023-09-22"),
    ] {
        let dates = dates_of(&|f| f[3] == format!("holiday:{holiday}"));
        assert_eq!(dates.into_iter().collect::<Vec<_>>(), [date], "{holiday}");
    }
    for (half, date) in [("H1", "2023-01-03"), ("H2", "2023-07-03")] {
        let dates = dates_of(&|f| f[2] == format!("2023-{half}"));
        assert_eq!(dates.into_iter().collect::<Vec<_>>(), [date], "{half}");
    }

    // Each draw issued on time and recorded once, with its audit entry.
    let ev = events(&p);
    assert_eq!(ev.len(), n);
    assert!(ev.iter().all(|e| e.2 == "issued"), "{ev:?}");
    let log = audit(&p);
    assert_eq!(log.matches(" draw.record ").count(), n, "{log}");
    assert_complete(&p);
    // Every one of them, holiday draws included, re-runs identically.
    for (id, matter, period, _) in draws(&p) {
        let (code, out, err) = run(p.suiji(&[
            "verify",
            &format!("out/draws/{matter}/{period}/manifest.json"),
        ]));
        assert_eq!(code, 0, "draw #{id}: {out}{err}");
        assert!(out.contains(&format!("(draw #{id};")), "{out}");
    }

    // Status at the end of the year, and as of a day in it.
    // No results were entered, so the publication section lists overdue inspections (exit 3);
    // the draws themselves are all on schedule.
    let (code, status, err) = run(p.suiji(&["status", "--today", "2023-12-31"]));
    assert_eq!(code, 3, "{status}{err}");
    assert!(status.contains("OVERDUE"), "{status}");
    let status: String = status
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let hotel = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("zhian.hotel "))
            .expect("zhian.hotel in status")
            .to_string()
    };
    assert!(
        status.lines().skip(2).all(|l| l.ends_with(" ok")),
        "{status}"
    );
    assert!(
        hotel(&status).contains("2023-guoqing on 2023-09-22"),
        "{status}"
    );
    let (_, june, _) = run(p.suiji(&["status", "--today", "2023-06-01"]));
    let june: String = june
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let line = hotel(&june);
    assert!(line.contains("2023-laodong on 2023-04-21"), "{june}");
    assert!(line.contains("2023-H2 on 2023-07-03"), "{june}");

    // A second simulation finds everything done.
    let again = p.ok(&["simulate", "--year", "2023", "--seed", "simulation"]);
    assert!(
        again.contains(&format!("{n} draws of 2023 (0 issued by this run")),
        "{again}"
    );
    assert_eq!(draws(&p).len(), n);
    assert_eq!(events(&p).len(), n);
    assert_eq!(audit(&p), log);
}

#[test]
fn a_cron_firing_twice_in_a_minute_draws_twice() {
    let p = service_project(&matter("twice", "0,30 0 9 1 * *", "2%", ""));
    let out = p.ok(&["simulate", "--year", "2023", "--seed", "simulation"]);
    assert!(
        out.contains("24 draws of 2023 (24 issued by this run"),
        "{out}"
    );
    let periods: Vec<String> = draws(&p).into_iter().map(|d| d.2).collect();
    assert_eq!(periods.len(), 24);
    assert!(
        periods.contains(&"2023-03-01T09:00:00".to_string()),
        "{periods:?}"
    );
    assert!(
        periods.contains(&"2023-03-01T09:00:30".to_string()),
        "{periods:?}"
    );
    assert_complete(&p);
}

#[test]
fn a_catch_up_over_several_years_misses_none() {
    let now = now();
    let p = service_project(&matter("june", "0 0 9 1 6 *", "2%", ""));
    let since = NaiveDate::from_ymd_opt(now.year() - 2, 1, 1).expect("date");
    let expected: Vec<String> = (now.year() - 2..=now.year())
        .filter_map(|y| NaiveDate::from_ymd_opt(y, 6, 1)?.and_hms_opt(9, 0, 0))
        .filter(|t| *t <= now)
        .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
        .collect();
    let out = p.ok(&["run", "--once", "--since", &day(since)]);
    assert!(
        out.contains(&format!("issued {} draw(s), 0 failed", expected.len())),
        "{out}"
    );
    let periods: Vec<String> = draws(&p).into_iter().map(|d| d.2).collect();
    assert_eq!(periods, expected);
}

#[test]
fn run_issues_a_draw_on_time_and_a_restart_draws_nothing_twice() {
    let fire = now() + Duration::seconds(10);
    let p = service_project(&matter("soon", &daily_at(fire.time()), "5%", ""));
    let today = day(now().date());
    let mut service = p.spawn_env("run1", &["run", "--since", &today], DEBUG_LOG);
    let line = wait_for(60, "the draw to be issued", || {
        if let Some(status) = service.exited() {
            panic!("suiji run exited ({status}):\n{}", service.stderr());
        }
        listed(&p, &[]).into_iter().next()
    });
    assert!(
        line.contains("zhian.soon") && line.contains("scheduled"),
        "{line}"
    );
    let after = now();
    assert!(after >= fire, "drawn before its time: {after} < {fire}");
    let [(_, _, period, m)] = draws(&p).try_into().expect("one draw");
    assert_eq!(period, fire.format("%Y-%m-%dT%H:%M").to_string());
    assert_eq!(m["issue_at"], fire.format("%Y-%m-%dT%H:%M").to_string());
    assert_eq!(m["seed_source"], "os");
    let ev = events(&p);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].2.as_str(), ev[0].3.as_str()),
        ("issued", "issued on time")
    );

    // SIGTERM: a clean stop.
    wait_asleep(&mut service, 1);
    service.signal("TERM");
    let status = service.wait(30);
    assert_eq!(status.code(), Some(0), "{}", service.stderr());
    assert!(
        service
            .stderr()
            .contains("suiji stopped (SIGTERM) after issuing 1 draw(s)"),
        "{}",
        service.stderr()
    );

    // A restart sees the draw and does not repeat it.
    let mut again = p.spawn_env("run2", &["run", "--since", &today], DEBUG_LOG);
    wait_asleep(&mut again, 0);
    again.signal("TERM");
    let status = again.wait(30);
    assert_eq!(status.code(), Some(0), "{}", again.stderr());
    assert!(
        again
            .stderr()
            .contains("suiji stopped (SIGTERM) after issuing 0 draw(s)"),
        "{}",
        again.stderr()
    );
    assert_eq!(listed(&p, &["--all"]).len(), 1);
    assert_eq!(events(&p).len(), 1);
    let (code, out, err) = run(p.suiji(&["run", "--once", "--since", &today]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("issued 0 draw(s), 0 failed"), "{out}");
    assert_eq!(draws(&p).len(), 1);
    assert_complete(&p);
    let (code, out, _) = run(p.suiji(&[
        "verify",
        &format!("out/draws/zhian.soon/{period}/manifest.json"),
    ]));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn kill_9_during_a_scheduled_draw_then_restart_leaves_one_complete_draw() {
    let fire = now() + Duration::seconds(4);
    let p = service_project(&matter("big", &daily_at(fire.time()), "5%", ""));
    let n = if cfg!(debug_assertions) {
        "40000"
    } else {
        "200000"
    };
    p.ok(&["gen-registry", "--targets", n, "--out", "big"]);
    keep_zhian_inspectors(&p, "big/inspectors.csv");
    p.use_registries("big/targets.csv", "big/inspectors.csv");
    let today = day(now().date());

    let mut service = p.spawn("run1", &["run", "--since", &today]);
    // Killed inside the transaction recording the draw: its files are staged and the
    // write-ahead log has grown well past what archiving the snapshots writes.
    let staged = p.path(&format!(
        "out/draws/zhian.big/.{}.staging-{}/public.html",
        fire.format("%Y-%m-%dT%H:%M"),
        service.pid()
    ));
    let wal = p.path("data/suiji.sqlite3-wal");
    wait_for(180, "the draw to be recorded", || {
        if let Some(status) = service.exited() {
            panic!("suiji run exited ({status}):\n{}", service.stderr());
        }
        let recording = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 8 << 20);
        (staged.exists() && recording || !draws(&p).is_empty()).then_some(())
    });
    service.signal("KILL");
    assert!(!service.wait(10).success());
    let before = draws(&p);
    assert!(before.len() <= 1);
    assert_complete(&p);

    let (code, out, err) = run(p.suiji(&["run", "--once", "--since", &today]));
    assert_eq!(code, 0, "{out}\n{err}");
    let expect = if before.is_empty() { 1 } else { 0 };
    assert!(
        out.contains(&format!("issued {expect} draw(s), 0 failed")),
        "{out}"
    );
    let after = draws(&p);
    assert_eq!(after.len(), 1);
    assert_eq!(
        (after[0].1.as_str(), after[0].2.as_str()),
        (
            "zhian.big",
            fire.format("%Y-%m-%dT%H:%M").to_string().as_str()
        )
    );
    assert_complete(&p);
}

#[test]
fn sigterm_during_a_long_catch_up_stops_after_the_draw_in_progress() {
    let now = now();
    let at = (now - Duration::hours(6)).time();
    let p = service_project(&matter("slow", &daily_at(at), "5%", ""));
    let n = if cfg!(debug_assertions) {
        "10000"
    } else {
        "40000"
    };
    p.ok(&["gen-registry", "--targets", n, "--out", "big"]);
    keep_zhian_inspectors(&p, "big/inspectors.csv");
    p.use_registries("big/targets.csv", "big/inspectors.csv");
    let since = now.date() - Duration::days(7);
    let due = (0..=7)
        .map(|i| (since + Duration::days(i)).and_time(at))
        .filter(|f| *f <= now)
        .count();
    let since = day(since);

    let mut service = p.spawn("run", &["run", "--since", &since]);
    wait_for(120, "the first draw to be caught up", || {
        if let Some(status) = service.exited() {
            panic!("suiji run exited ({status}):\n{}", service.stderr());
        }
        (!draws(&p).is_empty()).then_some(())
    });
    service.signal("TERM");
    let status = service.wait(60);
    assert_eq!(status.code(), Some(0), "{}", service.stderr());
    let drawn = draws(&p).len();
    assert!(
        drawn < due,
        "SIGTERM did not stop the catch-up: all {due} draws were made"
    );
    assert!(
        service.stderr().contains(&format!(
            "suiji stopped (SIGTERM) after issuing {drawn} draw(s)"
        )),
        "{}",
        service.stderr()
    );
    assert_complete(&p);

    // The rest is caught up by the next run.
    let (code, out, err) = run(p.suiji(&["run", "--once", "--since", &since]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!("issued {} draw(s), 0 failed", due - drawn)),
        "{out}"
    );
    assert_eq!(draws(&p).len(), due);
    assert_complete(&p);
}

#[test]
fn processes_opening_a_new_database_at_once_all_succeed() {
    // Services and commands started together on a fresh data folder race to create it.
    let p = Project::shipped();
    for round in 0..25 {
        let _ = std::fs::remove_dir_all(p.path("data"));
        let mut all: Vec<Running> = (0..4)
            .map(|i| p.spawn(&format!("open{i}"), &["audit", "verify"]))
            .collect();
        for r in &mut all {
            let status = r.wait(60);
            assert!(
                status.success(),
                "round {round}: {status}\n{}{}",
                r.stdout(),
                r.stderr()
            );
        }
    }
}

#[test]
fn two_run_once_processes_draw_each_due_draw_exactly_once() {
    let now = now();
    let at = (now - Duration::hours(6)).time();
    let cron = daily_at(at);
    let rules: String = ["a", "b", "c"]
        .iter()
        .map(|id| matter(id, &cron, "3%", ""))
        .collect();
    let p = service_project(&rules);
    let since = now.date() - Duration::days(4);
    let fires = (0..=4)
        .map(|i| (since + Duration::days(i)).and_time(at))
        .filter(|f| *f <= now)
        .count();
    let expected = 3 * fires;

    let since = day(since);
    let args = ["run", "--once", "--since", since.as_str()];
    let mut one = p.spawn("one", &args);
    let mut two = p.spawn("two", &args);
    let (s1, s2) = (one.wait(180), two.wait(180));
    assert_eq!(s1.code(), Some(0), "{}\n{}", one.stdout(), one.stderr());
    assert_eq!(s2.code(), Some(0), "{}\n{}", two.stdout(), two.stderr());
    let issued = |r: &Running| -> usize {
        let out = r.stdout();
        let n = out
            .strip_prefix("issued ")
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected output: {out}"));
        assert!(out.contains(" 0 failed"), "{out}");
        n
    };
    assert_eq!(issued(&one) + issued(&two), expected);

    let all = draws(&p);
    assert_eq!(all.len(), expected);
    let keys: std::collections::BTreeSet<_> =
        all.iter().map(|d| (d.1.clone(), d.2.clone())).collect();
    assert_eq!(keys.len(), expected, "a (matter, period) drawn twice");
    assert_eq!(audit(&p).matches(" draw.record ").count(), expected);
    assert_eq!(events(&p).len(), expected);
    assert_complete(&p);

    let (code, out, _) = run(p.suiji(&args));
    assert_eq!(code, 0);
    assert!(out.contains("issued 0 draw(s), 0 failed"), "{out}");
}

#[test]
fn a_week_of_downtime_is_caught_up_or_skipped_by_policy_and_audited() {
    let now = now();
    // Six hours from the draws' time of day, so nothing is near a boundary.
    let at = (now - Duration::hours(6)).time();
    let cron = daily_at(at);
    let p = service_project(&format!(
        "{}{}",
        matter("daily", &cron, "2%", ""),
        matter(
            "recent-only",
            &cron,
            "2%",
            "catch_up = \"skip\"\ncatch_up_grace_days = 2"
        )
    ));
    let since = now.date() - Duration::days(7);
    let fires: Vec<NaiveDateTime> = (0..=7)
        .map(|i| (since + Duration::days(i)).and_time(at))
        .filter(|f| *f <= now)
        .collect();
    assert!(fires.len() >= 7);
    let period = |f: &NaiveDateTime| f.format("%Y-%m-%dT%H:%M").to_string();
    let (old, recent): (Vec<_>, Vec<_>) = fires.iter().partition(|f| now - **f > Duration::days(2));
    assert!(!old.is_empty() && !recent.is_empty());

    let mut cmd = p.suiji(&["run", "--once", "--since", &day(since)]);
    cmd.env("RUST_LOG", "suiji=info");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    let caught = fires.len() + recent.len();
    assert!(
        out.contains(&format!("issued {caught} draw(s), 0 failed")),
        "{out}"
    );
    // Each one logged.
    assert_eq!(err.matches("caught up: due ").count(), caught, "{err}");
    assert_eq!(
        err.matches("skipped: issue time ").count(),
        old.len(),
        "{err}"
    );

    let ev = events(&p);
    let of = |m: &str, e: &str| -> Vec<String> {
        ev.iter()
            .filter(|x| x.0 == m && x.2 == e)
            .map(|x| x.1.clone())
            .collect()
    };
    let all: Vec<String> = fires.iter().map(period).collect();
    let recent: Vec<String> = recent.into_iter().map(period).collect();
    let old: Vec<String> = old.into_iter().map(period).collect();
    assert_eq!(of("zhian.daily", "caught_up"), all);
    assert_eq!(of("zhian.recent-only", "caught_up"), recent);
    assert_eq!(of("zhian.recent-only", "skipped"), old);
    assert_eq!(ev.len(), all.len() + recent.len() + old.len());
    for e in ev.iter().filter(|e| e.2 == "caught_up") {
        assert!(e.3.starts_with("caught up: due "), "{e:?}");
    }
    for e in ev.iter().filter(|e| e.2 == "skipped") {
        assert!(e.3.contains("skips draws more than 2 day(s) late"), "{e:?}");
    }
    let drawn: Vec<(String, String)> = draws(&p).into_iter().map(|d| (d.1, d.2)).collect();
    assert_eq!(drawn.len(), caught);
    assert!(
        old.iter()
            .all(|o| !drawn.contains(&("zhian.recent-only".into(), o.clone())))
    );

    // Each one audited, the skips with their reason.
    let log = audit(&p);
    let lines: Vec<&str> = log.lines().collect();
    let caught_lines: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(" scheduler.caught_up "))
        .collect();
    assert_eq!(caught_lines.len(), caught, "{log}");
    let skipped: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(" scheduler.skipped "))
        .collect();
    assert_eq!(skipped.len(), old.len(), "{log}");
    for (line, period) in skipped.iter().zip(&old) {
        assert!(line.contains("zhian.recent-only"), "{line}");
        assert!(line.contains(period.as_str()), "{line}");
        assert!(line.contains("more than 2 day(s) late"), "{line}");
    }
    assert_eq!(log.matches(" draw.record ").count(), caught);
    assert_complete(&p);

    // Nothing is done twice, and the skipped draws stay skipped.
    let (code, out, _) = run(p.suiji(&["run", "--once", "--since", &day(since)]));
    assert_eq!(code, 0);
    assert!(out.contains("issued 0 draw(s), 0 failed"), "{out}");
    assert_eq!(events(&p).len(), ev.len());
    assert_eq!(audit(&p), log);
}

#[test]
fn a_broken_rule_file_keeps_the_old_rules_and_a_valid_edit_takes_over() {
    let start = now();
    let first = start + Duration::seconds(15);
    let second = start + Duration::seconds(30);
    let rules = format!(
        "{}{}{}",
        DEPARTMENT,
        matter("first", &daily_at(first.time()), "5%", ""),
        matter("second", &daily_at(second.time()), "5%", "")
    );
    let p = service_project(&rules[DEPARTMENT.len()..]);
    let today = day(start.date());
    let mut service = p.spawn_env("run", &["run", "--since", &today], DEBUG_LOG);
    wait_asleep(&mut service, 0);

    // A broken cron expression in the second matter.
    let second_cron = daily_at(second.time());
    let broken = rules.replace(&format!("cron = \"{second_cron}\""), "cron = \"every day\"");
    let line = broken
        .lines()
        .position(|l| l.contains("every day"))
        .expect("broken line")
        + 1;
    p.write("rules/zhian.toml", &broken);
    let where_ = format!("rules/zhian.toml:{line}:");
    wait_for(30, "the reload error in the log", || {
        let err = service.stderr();
        (err.contains("rules NOT reloaded") && err.contains(&where_)).then_some(())
    });
    assert!(
        now() < first,
        "the machine was too slow: the first draw was due before the broken file was seen"
    );

    // The service keeps running on the old rules: the first draw comes, from them.
    let old_hash = {
        let d = wait_for(60, "the first draw", || {
            draws(&p).into_iter().find(|d| d.1 == "zhian.first")
        });
        assert_eq!(d.3["ratio_ppm"], 50000);
        d.3["rules_hash"].as_str().expect("rules hash").to_string()
    };
    assert!(!audit(&p).contains("rules.reload"));

    // A valid edit: the second matter's ratio goes up; it is drawn with it.
    let edited = {
        let at = rules.find("id = \"second\"").expect("second matter");
        let (head, tail) = rules.split_at(at);
        format!(
            "{head}{}",
            tail.replacen("ratio = \"5%\"", "ratio = \"20%\"", 1)
        )
    };
    p.write("rules/zhian.toml", &edited);
    let reload = wait_for(30, "the reload to be audited", || {
        audit(&p)
            .lines()
            .find(|l| l.contains(" rules.reload "))
            .map(str::to_string)
    });
    assert!(reload.contains(&old_hash), "{reload}");
    assert!(reload.contains("rule files changed"), "{reload}");
    let d = wait_for(60, "the second draw", || {
        draws(&p).into_iter().find(|d| d.1 == "zhian.second")
    });
    assert_eq!(
        d.3["ratio_ppm"], 200000,
        "the second draw used the old ratio"
    );
    assert_ne!(d.3["rules_hash"].as_str(), Some(old_hash.as_str()));

    service.signal("TERM");
    let status = service.wait(30);
    assert_eq!(status.code(), Some(0), "{}", service.stderr());
    assert_complete(&p);
}

#[test]
fn a_restart_puts_files_left_staged_by_a_crash_in_place() {
    let now = now();
    let at = (now - Duration::hours(6)).time();
    let p = service_project(&matter("daily", &daily_at(at), "5%", ""));
    let since = day(now.date() - Duration::days(1));
    let args = ["run", "--once", "--since", since.as_str()];
    p.ok(&args);
    let all = draws(&p);
    assert!(!all.is_empty());
    let period = &all[0].2;
    // The state a crash between the commit and the move leaves behind.
    std::fs::rename(
        p.path(&format!("out/draws/zhian.daily/{period}")),
        p.path(&format!("out/draws/zhian.daily/.{period}.staging-4242")),
    )
    .expect("rename");
    let out = p.ok(&args);
    assert!(out.contains("issued 0 draw(s), 0 failed"), "{out}");
    assert_complete(&p);
}

#[test]
fn sighup_reloads_the_rules() {
    // Due in a day's time: nothing is drawn while the test runs.
    let at = (now() - Duration::minutes(30)).time();
    let p = service_project(&matter("later", &daily_at(at), "5%", ""));
    let tomorrow = day(now().date() + Duration::days(1));
    let mut service = p.spawn_env("run", &["run", "--since", &tomorrow], DEBUG_LOG);
    wait_asleep(&mut service, 0);
    assert!(!audit(&p).contains("rules.reload"));
    service.signal("HUP");
    let line = wait_for(30, "the reload to be audited", || {
        audit(&p)
            .lines()
            .find(|l| l.contains(" rules.reload "))
            .map(str::to_string)
    });
    assert!(line.contains("\"why\":\"SIGHUP\""), "{line}");
    assert!(
        service.stderr().contains("rules reloaded (SIGHUP)"),
        "{}",
        service.stderr()
    );
    service.signal("TERM");
    assert_eq!(service.wait(30).code(), Some(0), "{}", service.stderr());
    assert!(draws(&p).is_empty());
}
