//! The scheduler. The service loop runs in-process on a simulated clock, with signals and
//! rule-file changes injected at given simulated times: on-time draws, restarts, catch-up after
//! downtime, shutdown during a catch-up and rule reloads, none of it depending on the time of
//! day or the machine's speed. `suiji simulate` runs through the binary; real `suiji run`
//! processes are kept for what only a process shows: `--once`, signals and the rule-file
//! watcher, a crash at a named point (`SUIJI_ABORT_AT`) and two processes at once.

mod util;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use suiji::jobs::probe;
use suiji::jobs::service::{Alone, Service, Stop, run_loop};
use suiji::schedule::clock::{Clock, Event, RULE_FILES_CHANGED, SimClock, Wake};
use suiji::store::SchedulerEvent;
use util::scheduler::{
    DEPARTMENT, RUN_ONCE, assert_complete, audit, crash_at, draws, events, matter, service_project,
    staged,
};
use util::{Project, Running, Test, run};

/// A local time, "YYYY-MM-DD HH:MM:SS".
fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap_or_else(|e| panic!("{s}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The loop in-process on a simulated clock.

type Action = Box<dyn FnOnce() -> Event>;

/// The simulated clock with things that happen at given simulated times (a signal, a rule
/// file saved). Records every wait the loop asked for.
struct Script {
    sim: SimClock,
    script: VecDeque<(NaiveDateTime, Action)>,
    waits: Vec<Option<NaiveDateTime>>,
}

impl Script {
    /// Starts at `now`; the clock runs out a year later.
    fn new(now: NaiveDateTime) -> Script {
        Script {
            sim: SimClock {
                now,
                end: now + chrono::Duration::days(366),
            },
            script: VecDeque::new(),
            waits: Vec::new(),
        }
    }

    /// At `t`, `action` runs (it may change files) and its event reaches the loop.
    fn at(mut self, t: &str, action: impl FnOnce() -> Event + 'static) -> Script {
        let t = at(t);
        assert!(
            self.script.back().is_none_or(|(last, _)| *last <= t),
            "script out of order"
        );
        self.script.push_back((t, Box::new(action)));
        self
    }
}

impl Clock for Script {
    fn now(&self) -> NaiveDateTime {
        self.sim.now()
    }

    fn wait(&mut self, until: Option<NaiveDateTime>, events: &Receiver<Event>) -> Wake {
        self.waits.push(until);
        if let Ok(e) = events.try_recv() {
            return Wake::Event(e);
        }
        let next = self.script.front().map(|(t, _)| *t);
        if let Some(t) = next
            && until.is_none_or(|u| t < u)
            && let Some((_, action)) = self.script.pop_front()
        {
            self.sim.now = self.sim.now.max(t);
            return Wake::Event(action());
        }
        self.sim.wait(until, events)
    }
}

fn shutdown() -> Event {
    Event::Shutdown("SIGTERM".into())
}

/// A service on the project's rules and database, as `suiji run --since SINCE` starts it.
fn service(p: &Project, since: &str) -> Service {
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
    Service::new(config, loaded, cal, Box::new(store), "scheduler", at(since))
}

/// Log lines written while `f` runs on this thread.
fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("suiji=debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buf.0.lock().expect("log buffer")).into_owned();
    (out, text)
}

/// Starts the service as `suiji run` does (files left staged put in place first) and runs its
/// loop on `clock` until it stops. Returns how it stopped and the log.
fn start(svc: &mut Service, clock: &mut Script, once: bool) -> (Stop, String) {
    let (_tx, rx) = mpsc::channel();
    logged(|| {
        svc.restore_files();
        run_loop(svc, clock, &rx, once, &mut Alone)
    })
}

/// (event, detail) of the outcomes of the service's run.
fn outcomes(svc: &Service) -> Vec<(SchedulerEvent, String)> {
    svc.outcomes
        .iter()
        .map(|o| (o.event, o.detail.clone()))
        .collect()
}

#[test]
fn a_draw_is_issued_at_its_time_and_a_restart_draws_nothing_twice() {
    let p = service_project(&matter("soon", "10 0 9 * * *", "5%", ""));
    let mut svc = service(&p, "2024-03-05 00:00:00");
    let mut clock = Script::new(at("2024-03-05 09:00:00")).at("2024-03-05 09:05:00", shutdown);
    let (stop, log) = start(&mut svc, &mut clock, false);
    assert_eq!(stop, Stop::Shutdown("SIGTERM".into()), "{log}");
    // It slept until the issue time, then until the next day's.
    assert_eq!(
        clock.waits,
        [
            Some(at("2024-03-05 09:00:10")),
            Some(at("2024-03-06 09:00:10"))
        ]
    );
    assert!(log.contains("sleeping until 2024-03-05 09:00:10"), "{log}");
    assert_eq!(
        outcomes(&svc),
        [(SchedulerEvent::Issued, "issued on time".into())]
    );
    let [(id, matter, period, m)] = draws(&p).try_into().expect("one draw");
    assert_eq!(
        (matter.as_str(), period.as_str()),
        ("zhian.soon", "2024-03-05T0900")
    );
    assert_eq!(m["issue_at"], "2024-03-05T09:00");
    assert_eq!(m["seed_source"], "os");
    let created: String = p
        .db()
        .query_row("SELECT created_at FROM draws WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .expect("created_at");
    assert_eq!(created, "2024-03-05T09:00:10+08:00", "issued at its time");
    let listed = p.ok(&["draws"]);
    assert!(listed.contains("scheduled"), "{listed}");
    assert_eq!(
        events(&p),
        [(
            "zhian.soon".into(),
            "2024-03-05T0900".into(),
            "issued".into(),
            "issued on time".into()
        )]
    );
    drop(svc);

    // A restart the same morning sees the draw and sleeps until the next one.
    let mut again = service(&p, "2024-03-05 00:00:00");
    let mut clock = Script::new(at("2024-03-05 09:30:00")).at("2024-03-05 10:00:00", shutdown);
    let (stop, log) = start(&mut again, &mut clock, false);
    assert_eq!(stop, Stop::Shutdown("SIGTERM".into()), "{log}");
    assert_eq!(clock.waits, [Some(at("2024-03-06 09:00:10"))]);
    assert!(again.outcomes.is_empty());
    // So does `--once`.
    let mut clock = Script::new(at("2024-03-05 11:00:00"));
    let (stop, _) = start(&mut again, &mut clock, true);
    assert_eq!(stop, Stop::Once);
    assert!(again.outcomes.is_empty() && clock.waits.is_empty());
    assert_eq!(draws(&p).len(), 1);
    assert_eq!(events(&p).len(), 1);
    assert_complete(&p);
    let (code, out, _) = run(p.suiji(&[
        "verify",
        &format!("out/draws/zhian.soon/{period}/manifest.json"),
    ]));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_catch_up_over_several_years_misses_none() {
    let p = service_project(&matter("june", "0 0 9 1 6 *", "2%", ""));
    let mut svc = service(&p, "2021-01-01 00:00:00");
    let mut clock = Script::new(at("2023-07-01 12:00:00"));
    let (stop, log) = start(&mut svc, &mut clock, true);
    assert_eq!(stop, Stop::Once, "{log}");
    let periods: Vec<String> = draws(&p).into_iter().map(|d| d.2).collect();
    assert_eq!(
        periods,
        ["2021-06-01T0900", "2022-06-01T0900", "2023-06-01T0900"]
    );
    assert_eq!(
        outcomes(&svc),
        [
            "caught up: due 2021-06-01 09:00, issued 2023-07-01 12:00",
            "caught up: due 2022-06-01 09:00, issued 2023-07-01 12:00",
            "caught up: due 2023-06-01 09:00, issued 2023-07-01 12:00",
        ]
        .map(|d| (SchedulerEvent::CaughtUp, d.to_string()))
    );
    assert_complete(&p);
}

#[test]
fn a_shutdown_during_a_long_catch_up_stops_after_the_draw_in_progress() {
    let p = service_project(&matter("slow", "0 0 3 * * *", "5%", ""));
    let mut svc = service(&p, "2024-03-03 00:00:00");
    let mut clock = Script::new(at("2024-03-10 09:00:00"));
    // SIGTERM arrives while the first draw is being recorded.
    let (tx, rx) = mpsc::channel();
    let signals = Rc::new(RefCell::new(Some(tx)));
    let (stop, log) = probe::watching(
        {
            let signals = signals.clone();
            move |point| {
                if point == "draw.committed"
                    && let Some(tx) = signals.borrow_mut().take()
                {
                    tx.send(shutdown()).expect("send");
                }
            }
        },
        || logged(|| run_loop(&mut svc, &mut clock, &rx, false, &mut Alone)),
    );
    assert!(signals.borrow().is_none(), "no draw was recorded");
    assert_eq!(stop, Stop::Shutdown("SIGTERM".into()), "{log}");
    assert_eq!(svc.outcomes.len(), 1, "{log}");
    let [(_, _, period, _)] = draws(&p).try_into().expect("one draw");
    assert_eq!(period, "2024-03-03T0300");
    assert_complete(&p);
    drop(svc);

    // The rest is caught up by the next run.
    let mut again = service(&p, "2024-03-03 00:00:00");
    let (stop, _) = start(
        &mut again,
        &mut Script::new(at("2024-03-10 09:05:00")),
        true,
    );
    assert_eq!(stop, Stop::Once);
    assert_eq!(again.outcomes.len(), 7);
    assert_eq!(draws(&p).len(), 8);
    assert_complete(&p);
}

#[test]
fn a_week_of_downtime_is_caught_up_or_skipped_by_policy_and_audited() {
    let cron = "0 0 9 * * *";
    let p = service_project(&format!(
        "{}{}",
        matter("daily", cron, "2%", ""),
        matter(
            "recent-only",
            cron,
            "2%",
            "catch_up = \"skip\"\ncatch_up_grace_days = 2"
        )
    ));
    let since = "2024-03-03 00:00:00";
    let mut svc = service(&p, since);
    let (stop, log) = start(&mut svc, &mut Script::new(at("2024-03-10 15:00:00")), true);
    assert_eq!(stop, Stop::Once, "{log}");
    // Eight firings, 3 to 10 March; those more than two days late are skipped by the second
    // matter.
    let all: Vec<String> = (3..=10).map(|d| format!("2024-03-{d:02}T0900")).collect();
    let (old, recent) = all.split_at(6);
    let caught = all.len() + recent.len();
    assert_eq!(
        svc.outcomes
            .iter()
            .filter(|o| o.event == SchedulerEvent::CaughtUp)
            .count(),
        caught
    );
    // Each one logged.
    assert_eq!(log.matches("caught up: due ").count(), caught, "{log}");
    assert_eq!(
        log.matches("skipped: issue time ").count(),
        old.len(),
        "{log}"
    );

    let ev = events(&p);
    let of = |m: &str, e: &str| -> Vec<String> {
        ev.iter()
            .filter(|x| x.0 == m && x.2 == e)
            .map(|x| x.1.clone())
            .collect()
    };
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
    let caught_lines = lines
        .iter()
        .filter(|l| l.contains(" scheduler.caught_up "))
        .count();
    assert_eq!(caught_lines, caught, "{log}");
    let skipped: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(" scheduler.skipped "))
        .collect();
    assert_eq!(skipped.len(), old.len(), "{log}");
    for (line, period) in skipped.iter().zip(old) {
        assert!(line.contains("zhian.recent-only"), "{line}");
        assert!(line.contains(period.as_str()), "{line}");
        assert!(line.contains("more than 2 day(s) late"), "{line}");
    }
    assert_eq!(log.matches(" draw.record ").count(), caught);
    assert_complete(&p);
    drop(svc);

    // Nothing is done twice, and the skipped draws stay skipped.
    let mut again = service(&p, since);
    let (stop, _) = start(
        &mut again,
        &mut Script::new(at("2024-03-10 16:00:00")),
        true,
    );
    assert_eq!(stop, Stop::Once);
    assert!(again.outcomes.is_empty());
    assert_eq!(events(&p).len(), ev.len());
    assert_eq!(audit(&p), log);
}

#[test]
fn a_broken_rule_file_keeps_the_old_rules_and_a_valid_edit_takes_over() {
    let rules = format!(
        "{DEPARTMENT}{}{}",
        matter("first", "15 0 9 * * *", "5%", ""),
        matter("second", "30 0 9 * * *", "5%", "")
    );
    let p = service_project(&rules[DEPARTMENT.len()..]);
    let file = p.path("rules/zhian.toml");
    // A broken cron expression in the second matter…
    let broken = rules.replace("cron = \"30 0 9 * * *\"", "cron = \"every day\"");
    let line = broken
        .lines()
        .position(|l| l.contains("every day"))
        .expect("broken line")
        + 1;
    // …then a valid edit: the second matter's ratio goes up.
    let edited = {
        let at = rules.find("id = \"second\"").expect("second matter");
        let (head, tail) = rules.split_at(at);
        format!(
            "{head}{}",
            tail.replacen("ratio = \"5%\"", "ratio = \"20%\"", 1)
        )
    };
    let save = |text: String| {
        let file = file.clone();
        move || {
            std::fs::write(&file, text).expect("save rules");
            Event::Reload(RULE_FILES_CHANGED.into())
        }
    };
    let mut svc = service(&p, "2024-03-05 00:00:00");
    let mut clock = Script::new(at("2024-03-05 09:00:00"))
        // An editor touching the file without changing it.
        .at("2024-03-05 09:00:02", save(rules.clone()))
        .at("2024-03-05 09:00:05", save(broken))
        .at("2024-03-05 09:00:20", save(edited))
        .at("2024-03-05 09:01:00", shutdown);
    let (stop, log) = start(&mut svc, &mut clock, false);
    assert_eq!(stop, Stop::Shutdown("SIGTERM".into()), "{log}");
    assert!(
        log.contains("rules reloaded (rule files changed): unchanged"),
        "{log}"
    );
    assert!(
        log.contains("rules NOT reloaded (rule files changed)"),
        "{log}"
    );
    assert!(log.contains(&format!("rules/zhian.toml:{line}:")), "{log}");

    // The first draw came from the old rules while the file was broken.
    let all = draws(&p);
    let first = &all.iter().find(|d| d.1 == "zhian.first").expect("first").3;
    assert_eq!(first["ratio_ppm"], 50000);
    let old_hash = first["rules_hash"].as_str().expect("rules hash");
    // The valid edit was audited once (the touch and the broken file were not), and the
    // second draw used it.
    let audit = audit(&p);
    let reloads: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains(" rules.reload "))
        .collect();
    let [reload] = reloads[..] else {
        panic!("{audit}")
    };
    assert!(reload.contains(old_hash), "{reload}");
    assert!(reload.contains("rule files changed"), "{reload}");
    let second = &all
        .iter()
        .find(|d| d.1 == "zhian.second")
        .expect("second")
        .3;
    assert_eq!(
        second["ratio_ppm"], 200000,
        "the second draw used the old ratio"
    );
    assert_ne!(second["rules_hash"].as_str(), Some(old_hash));
    assert_eq!(all.len(), 2);
    assert_complete(&p);
}

#[test]
fn sighup_reloads_the_rules_and_is_audited() {
    let p = service_project(&matter("later", "0 30 8 * * *", "5%", ""));
    let mut svc = service(&p, "2024-03-06 00:00:00");
    let mut clock = Script::new(at("2024-03-05 09:00:00"))
        .at("2024-03-05 10:00:00", || Event::Reload("SIGHUP".into()))
        .at("2024-03-05 11:00:00", shutdown);
    let (stop, log) = start(&mut svc, &mut clock, false);
    assert_eq!(stop, Stop::Shutdown("SIGTERM".into()), "{log}");
    assert!(log.contains("rules reloaded (SIGHUP): unchanged"), "{log}");
    let line = audit(&p)
        .lines()
        .find(|l| l.contains(" rules.reload "))
        .map(str::to_string)
        .expect("the reload audited");
    assert!(line.contains("\"why\":\"SIGHUP\""), "{line}");
    assert!(draws(&p).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Through the binary.

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
        periods.contains(&"2023-03-01T090000".to_string()),
        "{periods:?}"
    );
    assert!(
        periods.contains(&"2023-03-01T090030".to_string()),
        "{periods:?}"
    );
    assert_complete(&p);
}

/// A matter with one firing, on 1 June 2023: whenever the test runs, `--since 2023-01-01`
/// finds exactly that draw due.
fn one_past_draw() -> Project {
    service_project(&matter("once", "0 0 9 1 6 * 2023", "5%", ""))
}

#[test]
fn run_once_catches_up_and_a_second_run_draws_nothing() {
    let p = one_past_draw();
    let ran = Test::at(p)
        .args(RUN_ONCE)
        .stdout("issued 1 draw(s), 0 failed\n")
        .run();
    let p = ran.project;
    let [(_, matter, period, _)] = draws(&p).try_into().expect("one draw");
    assert_eq!(
        (matter.as_str(), period.as_str()),
        ("zhian.once", "2023-06-01T0900")
    );
    assert_eq!(events(&p)[0].2, "caught_up");
    let p = Test::at(p)
        .args(RUN_ONCE)
        .stdout("issued 0 draw(s), 0 failed\n")
        .run()
        .project;
    assert_complete(&p);
}

/// The service draws from a target file noted clean before while its bytes are hashed, and
/// records the draw only once they are the noted ones: other bytes that kept the file's length
/// and time are checked in full and the draw made again from their own snapshot.
#[test]
fn a_service_draw_started_on_a_noted_registry_whose_bytes_changed_is_drawn_again() {
    let p = one_past_draw();
    let run_once = |p: &Project| {
        let mut cmd = p.suiji(RUN_ONCE);
        cmd.env("RUST_LOG", "suiji::progress=debug");
        let (code, out, err) = run(cmd);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("issued 1 draw(s), 0 failed"), "{out}{err}");
        err
    };
    run_once(&p);
    // A second matter due, and the target file's bytes changed with its length and time kept.
    let second = matter("twice", "0 0 9 2 6 * 2023", "5%", "");
    let rules = p.read("rules/zhian.toml");
    p.write("rules/zhian.toml", &format!("{rules}{second}"));
    p.edit_keeping_time("config/registry/targets.csv", "西街9号", "西街8号");
    let err = run_once(&p);
    assert!(
        err.contains("looks like the version checked and frozen before")
            && err.contains("bytes are not the ones checked and frozen before"),
        "{err}"
    );
    let all = draws(&p);
    assert_eq!(all.len(), 2, "each draw recorded once");
    let snapshot = |m: &serde_json::Value| m["registry"]["targets_snapshot"].clone();
    assert_ne!(
        snapshot(&all[0].3),
        snapshot(&all[1].3),
        "drawn from the new bytes"
    );
    assert!(p.ok(&["verify", "2"]).starts_with("identical"));
    assert_complete(&p);
}

#[test]
fn a_running_service_answers_signals_and_rule_file_changes() {
    let p = one_past_draw();
    let args = ["run", "--since", "2023-01-01"];
    let mut service = p.spawn_env("run", &args, &[("RUST_LOG", "suiji=info")]);
    service.expect_line("suiji service started");
    service.expect_line("caught up: due 2023-06-01 09:00");
    service.signal("HUP");
    service.expect_line("rules reloaded (SIGHUP): unchanged");
    // A saved rule file is seen by the watcher.
    p.edit("rules/zhian.toml", "ratio = \"5%\"", "ratio = \"6%\"");
    service.expect_line("rules reloaded (rule files changed): ");
    service.signal("TERM");
    let status = service.wait();
    assert_eq!(status.code(), Some(0), "{}", service.stderr());
    assert!(
        service
            .stderr()
            .contains("suiji stopped (SIGTERM) after issuing 1 draw(s)"),
        "{}",
        service.stderr()
    );
    let reloads = audit(&p).matches(" rules.reload ").count();
    assert_eq!(reloads, 2, "the SIGHUP and the change");
    assert_complete(&p);
}

#[test]
fn a_crash_inside_the_recording_transaction_leaves_no_draw_and_no_files() {
    let p = one_past_draw();
    for point in ["draw.staged", "draw.recording"] {
        crash_at(&p, RUN_ONCE, point);
        assert!(draws(&p).is_empty(), "{point}");
        assert!(events(&p).is_empty(), "{point}");
        assert!(!p.path("out/draws/zhian.once/2023-06-01T0900").exists());
        let (code, out, _) = run(p.suiji(&["audit", "verify"]));
        assert_eq!(code, 0, "{out}");
        assert!(!audit(&p).contains("draw.record"), "{point}");
    }
    // The next start issues it.
    Test::at(p)
        .args(RUN_ONCE)
        .stdout("issued 1 draw(s), 0 failed\n")
        .run();
}

#[test]
fn a_crash_after_the_commit_is_repaired_on_the_next_start() {
    let p = one_past_draw();
    crash_at(&p, RUN_ONCE, "draw.committed");
    // Recorded, but its files are still staged.
    assert_eq!(draws(&p).len(), 1);
    assert!(!p.path("out/draws/zhian.once/2023-06-01T0900").exists());
    assert_eq!(staged(&p, "zhian.once").len(), 1);
    let p = Test::at(p)
        .args(RUN_ONCE)
        .stdout("issued 0 draw(s), 0 failed\n")
        .run()
        .project;
    assert!(staged(&p, "zhian.once").is_empty());
    assert_complete(&p);
}

#[test]
fn two_run_once_processes_draw_each_due_draw_exactly_once() {
    // Three matters firing on five days: fifteen draws due.
    let cron = "0 0 9 1-5 6 * 2023";
    let rules: String = ["a", "b", "c"]
        .iter()
        .map(|id| matter(id, cron, "3%", ""))
        .collect();
    let p = service_project(&rules);
    let expected = 15;
    let args = RUN_ONCE;
    let mut one = p.spawn("one", args);
    let mut two = p.spawn("two", args);
    let (s1, s2) = (one.wait(), two.wait());
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

    Test::at(p)
        .args(args)
        .stdout("issued 0 draw(s), 0 failed\n")
        .run();
}

/// The test department's matters on the official calendar only (2023–2026 shipped).
fn official_calendar_project(matters: &str) -> Project {
    Test::new()
        .provisional_calendar(false)
        .only_rules(&[("zhian.toml", &format!("{DEPARTMENT}{matters}"))])
        .inspectors_of("zhian")
        .args(&["check"])
        .run()
        .project
}

const HOLIDAYS_2027: &str = include_str!("fixtures/holidays-2027.toml");

#[test]
fn a_year_without_a_holiday_file_is_logged_and_scheduled_once_the_file_is_added() {
    // Drawn at 09:00 on the 4th of every month.
    let p = official_calendar_project(&matter("monthly", "0 0 9 4 * *", "5%", ""));
    let mut svc = service(&p, "2026-11-30 00:00:00");
    let holidays = p.path("config/holidays/2027.toml");
    let mut clock = Script::new(at("2026-11-30 10:00:00"))
        .at("2026-12-10 15:00:00", move || {
            std::fs::write(&holidays, HOLIDAYS_2027).expect("write 2027.toml");
            Event::Reload("SIGHUP".into())
        })
        .at("2027-01-05 00:00:00", shutdown);
    let (stop, log) = start(&mut svc, &mut clock, false);
    assert_eq!(stop, Stop::Shutdown("SIGTERM".into()), "{log}");
    // Before the file: December's draw, then nothing to wake for, and the log says why.
    let (before, after) = log
        .split_once("holiday calendars reloaded (SIGHUP)")
        .unwrap_or_else(|| panic!("no calendar reload:\n{log}"));
    assert!(
        before.contains("the draws of 2027 cannot be scheduled")
            && before
                .contains("no official holiday calendar for 2027: add config/holidays/2027.toml"),
        "{before}"
    );
    assert!(
        after.contains("years 2023, 2024, 2025, 2026, 2027"),
        "{after}"
    );
    assert!(
        after.contains("the draws of 2027 can be scheduled again"),
        "{after}"
    );
    assert_eq!(
        clock.waits,
        [
            Some(at("2026-12-04 09:00:00")),
            None,
            Some(at("2027-01-04 09:00:00")),
            Some(at("2027-02-04 09:00:00")),
        ],
        "{log}"
    );
    let periods: Vec<String> = draws(&p).into_iter().map(|d| d.2).collect();
    assert_eq!(periods, ["2026-12-04T0900", "2027-01-04T0900"]);
}

#[test]
fn status_says_when_next_year_cannot_be_scheduled_with_its_own_exit_code() {
    let p = official_calendar_project(&matter("monthly", "0 0 9 4 * *", "5%", ""));
    // Before November a missing next year is no problem yet; from then on it is, with its
    // own exit status; on the last day of the year status still works.
    for (today, code, says) in [
        ("2026-10-31", 3, false),
        ("2026-11-30", 4, true),
        ("2026-12-31", 4, true),
    ] {
        let (got, out, err) = run(p.suiji(&["status", "--today", today]));
        assert_eq!(got, code, "{today}:\n{out}{err}");
        assert_eq!(
            out.contains("CANNOT SCHEDULE 2027: the draws of 2027 cannot be scheduled (1 matter(s): zhian.monthly): no official holiday calendar for 2027"),
            says,
            "{today}:\n{out}"
        );
    }
    p.write("config/holidays/2027.toml", HOLIDAYS_2027);
    let (got, out, err) = run(p.suiji(&["status", "--today", "2026-12-31"]));
    assert_eq!(got, 3, "overdue draws only:\n{out}{err}");
    assert!(!out.contains("CANNOT SCHEDULE"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Seeds from a public source the service commits to and fetches by itself.

/// A local HTTP server standing in for a public source's site: `GET /3d/DAY` answers 404
/// the first time (not announced yet), then `3 1 7 DAY`. Returns its address and the paths
/// asked for.
fn public_source_server() -> (String, Arc<Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let asked = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request)
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut asked = seen.lock().expect("asked");
            let first = !asked.contains(&path);
            asked.push(path.clone());
            let answer = match path.strip_prefix("/3d/") {
                Some(day) if !first => {
                    format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n3 1 7 {day}\n")
                }
                _ => "HTTP/1.1 404 Not Found\r\n\r\n".to_string(),
            };
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (addr, asked)
}

/// With `[seed]` naming a daily public source and a fetcher, the service commits each draw
/// `commit_days` before its issue date, waits past the value's announced time, and draws
/// with exactly the fetched value; a failed fetch leaves the draw waiting (status says why)
/// and is tried again, never replaced by another seed.
#[test]
fn the_service_commits_ahead_fetches_the_announced_value_and_draws_with_it() {
    let p = service_project(&matter("march", "0 0 9 5 3 *", "5%", ""));
    let (addr, asked) = public_source_server();
    p.set_config(&["seed", "source"], "public");
    p.set_config(&["seed", "name"], "福彩3D {date} 开奖号码");
    p.set_config(&["seed", "announce"], "21:15");
    p.set_config(&["seed", "commit_days"], 2);
    p.set_config(&["seed", "fetch_url"], format!("http://{addr}/3d/{{date}}"));

    let mut svc = service(&p, "2024-03-01 00:00:00");
    let mut clock = Script::new(at("2024-03-02 00:00:00")).at("2024-03-05 21:20:00", shutdown);
    let (stop, log) = start(&mut svc, &mut clock, false);
    assert_eq!(stop, Stop::Shutdown("SIGTERM".into()), "{log}");
    assert_eq!(
        clock.waits,
        [
            Some(at("2024-03-03 09:00:00")),
            Some(at("2024-03-05 09:00:00")),
            Some(at("2024-03-05 21:16:00")),
            Some(at("2024-03-05 21:26:00")),
        ],
        "{log}"
    );
    assert!(draws(&p).is_empty(), "{log}");
    let published: serde_json::Value =
        serde_json::from_str(&p.read("out/public/commitments.json")).expect("json");
    let k = &published["commitments"][0];
    assert_eq!(k["source"], "福彩3D 2024-03-05 开奖号码", "{published}");
    assert_eq!(k["source_time"], "2024-03-05T21:15:00+08:00");
    assert_eq!(k["committed_at"], "2024-03-03T09:00:00+08:00");
    assert_eq!(k["revealed"], false);
    assert_eq!(*asked.lock().expect("asked"), ["/3d/2024-03-05"]);
    let (_, out, err) = run(p.suiji(&["status", "--today", "2024-03-05"]));
    assert!(
        out.contains("WAITING 2024-03-05T0900")
            && out.contains(&format!(
                "the service fetches it from http://{addr}/3d/{{date}} and draws"
            ))
            && out.contains("could not be fetched from")
            && out.contains("404 Not Found"),
        "{out}{err}"
    );
    drop(svc);

    // Restarted: the value is there now.
    let mut svc = service(&p, "2024-03-01 00:00:00");
    let mut clock = Script::new(at("2024-03-05 21:30:00")).at("2024-03-06 00:00:00", shutdown);
    let (_, log) = start(&mut svc, &mut clock, false);
    let [(_, _, period, m)] = draws(&p).try_into().expect("one draw");
    assert_eq!(period, "2024-03-05T0900", "{log}");
    assert_eq!(
        m["seed"],
        suiji::digest::sha256_hex(b"3 1 7 2024-03-05"),
        "the fetched value, trimmed: {m}"
    );
    assert!(
        m["seed_source"]
            .as_str()
            .is_some_and(|s| s.contains("(commitment #1, 2024-03-03T09:00:00+08:00)")),
        "{m}"
    );
    let verified = p.ok(&[
        "verify",
        "out/draws/zhian.march/2024-03-05T0900/manifest.json",
    ]);
    assert!(verified.starts_with("identical"), "{verified}");
}

/// A fetch command that never finishes is stopped at `fetch_timeout_secs`: the draw keeps
/// waiting, as after any failed fetch, and `status` says why. The command never ends by
/// itself, so the outcome is the same on any machine; the test takes the 1 s limit.
#[test]
fn a_fetch_command_that_never_finishes_is_stopped_and_the_draw_keeps_waiting() {
    let p = service_project(&matter("march", "0 0 9 5 3 *", "5%", ""));
    p.set_config(&["seed", "source"], "public");
    p.set_config(&["seed", "name"], "福彩3D {date} 开奖号码");
    p.set_config(&["seed", "announce"], "21:15");
    p.set_config(&["seed", "commit_days"], 2);
    p.set_config(
        &["seed", "fetch_command"],
        toml::Value::Array(vec!["sleep".into(), "100000".into()]),
    );
    p.set_config(&["seed", "fetch_timeout_secs"], 1);

    let mut svc = service(&p, "2024-03-01 00:00:00");
    let mut clock = Script::new(at("2024-03-02 00:00:00")).at("2024-03-05 21:20:00", shutdown);
    let (stop, log) = start(&mut svc, &mut clock, false);
    assert_eq!(stop, Stop::Shutdown("SIGTERM".into()), "{log}");
    assert!(draws(&p).is_empty(), "{log}");
    let (_, out, err) = run(p.suiji(&["status", "--today", "2024-03-05"]));
    assert!(
        out.contains("WAITING 2024-03-05T0900")
            && out.contains("could not be fetched from sleep 100000")
            && out.contains("sleep did not finish within 1 s (fetch_timeout_secs)"),
        "{out}{err}"
    );
}
