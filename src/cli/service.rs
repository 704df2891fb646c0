//! `suiji run`, `suiji simulate` and `suiji status`.

use std::sync::mpsc;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::{Cli, exit, load_calendar, load_rules, open_store};
use crate::jobs::issue::seed::SeedChoice;
use crate::jobs::service::{Service, Stop, due, next_wake, run_loop, year_start};
use crate::schedule::clock::{Clock, Event, RULE_FILES_CHANGED, SimClock, SystemClock};
use crate::store::{DrawFilter, EventFilter, SchedulerEvent};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Issue whatever is due now, then exit (for a systemd timer or cron).
    #[arg(long)]
    pub once: bool,
    /// Ignore draws scheduled before this date (default: 1 January of this year).
    #[arg(long)]
    pub since: Option<NaiveDate>,
}

pub fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<i32> {
    let loaded = or_exit!(load_rules(cli));
    let cal = or_exit!(load_calendar(&loaded, false));
    let store = open_store(&loaded)?;
    let mut clock = SystemClock {
        tz: loaded.model.config.timezone,
    };
    let now = clock.now();
    let since = args.since.map_or_else(
        || year_start(now.year()),
        |d| d.and_hms_opt(0, 0, 0).unwrap_or_default(),
    );
    let rules_dir = loaded.model.config.rules_dir.clone();
    let mut service = Service::new(cli.config.clone(), loaded, cal, store, "scheduler", since);
    let (tx, rx) = mpsc::channel();
    let _watcher = if args.once {
        None
    } else {
        spawn_signals(tx.clone())?;
        Some(watch_rules(&rules_dir, &cli.config, tx)?)
    };
    service.restore_files();
    tracing::info!(since = %since, "suiji service started");
    let stop = run_loop(&mut service, &mut clock, &rx, args.once);
    let issued = service
        .outcomes
        .iter()
        .filter(|o| matches!(o.event, SchedulerEvent::Issued | SchedulerEvent::CaughtUp))
        .count();
    let failed = service
        .outcomes
        .iter()
        .filter(|o| o.event == SchedulerEvent::Failed)
        .count();
    match stop {
        Stop::Shutdown(why) => eprintln!("suiji stopped ({why}) after issuing {issued} draw(s)"),
        Stop::Once | Stop::ClockEnd => outln!("issued {issued} draw(s), {failed} failed"),
    }
    Ok(if failed > 0 { exit::PARTIAL } else { exit::OK })
}

fn spawn_signals(tx: mpsc::Sender<Event>) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            let e = match sig {
                SIGHUP => Event::Reload("SIGHUP".into()),
                SIGINT => Event::Shutdown("SIGINT".into()),
                _ => Event::Shutdown("SIGTERM".into()),
            };
            if tx.send(e).is_err() {
                break;
            }
        }
    });
    Ok(())
}

fn watch_rules(
    rules: &std::path::Path,
    config: &std::path::Path,
    tx: mpsc::Sender<Event>,
) -> anyhow::Result<notify::RecommendedWatcher> {
    use notify::{EventKind, RecursiveMode, Watcher};
    // One save is often several file events (truncate, write, rename, an editor's backup):
    // wait until they stop, then reload once.
    let (changed, settled) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        while settled.recv().is_ok() {
            while settled
                .recv_timeout(std::time::Duration::from_millis(200))
                .is_ok()
            {}
            if tx.send(Event::Reload(RULE_FILES_CHANGED.into())).is_err() {
                break;
            }
        }
    });
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && matches!(
                ev.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            )
            && ev
                .paths
                .iter()
                .any(|p| p.extension().is_some_and(|x| x == "toml" || x == "rhai"))
        {
            let _ = changed.send(());
        }
    })?;
    watcher.watch(rules, RecursiveMode::NonRecursive)?;
    if let Some(dir) = config.parent().filter(|d| !d.as_os_str().is_empty()) {
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
    }
    Ok(watcher)
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The year to run through.
    #[arg(long)]
    pub year: i32,
    /// Seed text for the year's draws. A simulation is reproducible by default (the same text
    /// gives the same draws); `--seed os` takes each seed from the OS, as the service does.
    #[arg(long, default_value = "demo")]
    pub seed: String,
}

pub fn simulate(cli: &Cli, args: &SimulateArgs) -> anyhow::Result<i32> {
    let loaded = or_exit!(load_rules(cli));
    let cal = or_exit!(load_calendar(&loaded, false));
    or_exit!(super::require_year(&cal, args.year));
    let store = open_store(&loaded)?;
    let start = year_start(args.year);
    let end = year_start(args.year + 1) - chrono::Duration::seconds(1);
    let mut clock = SimClock { now: start, end };
    let mut service = Service::new(cli.config.clone(), loaded, cal, store, "simulate", start);
    service.seed = Some(if args.seed == "os" {
        SeedChoice::Os
    } else {
        SeedChoice::Given(args.seed.clone())
    });
    let (_tx, rx) = mpsc::channel();
    let began = std::time::Instant::now();
    let _ = run_loop(&mut service, &mut clock, &rx, false);
    let elapsed = began.elapsed();

    let draws = service.store.list_draws(&DrawFilter::year(args.year))?;
    outln!(
        "{:<12} {:<26} {:<14} {:<16} {:>8} {:>6} {:>9}  draw",
        "issued",
        "matter",
        "period",
        "kind",
        "eligible",
        "drawn",
        "unstaffed"
    );
    let mut total = 0;
    for d in &draws {
        let m: crate::draw::manifest::Manifest = match serde_json::from_str(&d.manifest_json) {
            Ok(m) => m,
            Err(_) => continue,
        };
        let eligible: usize = m.strata.iter().map(|s| s.eligible).sum();
        let unstaffed = m.selected.iter().filter(|s| s.unstaffed.is_some()).count();
        total += m.selected.len();
        outln!(
            "{:<12} {:<26} {:<14} {:<16} {:>8} {:>6} {:>9}  #{}",
            d.issue_date,
            d.matter,
            d.period,
            m.kind,
            eligible,
            m.selected.len(),
            unstaffed,
            d.id
        );
    }
    let now_issued = service
        .outcomes
        .iter()
        .filter(|o| matches!(o.event, SchedulerEvent::Issued | SchedulerEvent::CaughtUp))
        .count();
    let failed: Vec<_> = service
        .outcomes
        .iter()
        .filter(|o| o.event == SchedulerEvent::Failed)
        .collect();
    outln!(
        "{} draws of {} ({} issued by this run in {:.1}s, {} already recorded), {total} targets drawn; files in {}",
        draws.len(),
        args.year,
        now_issued,
        elapsed.as_secs_f64(),
        draws.len().saturating_sub(now_issued),
        service
            .loaded
            .model
            .config
            .output_dir
            .join("draws")
            .display()
    );
    for f in &failed {
        eprintln!(
            "error: {} {} failed: {}",
            f.draw.matter, f.draw.period.id, f.detail
        );
    }
    Ok(if failed.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    })
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Report as of this date (default: today).
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// List results whose publication deadline falls within this many working days.
    #[arg(long, default_value_t = 5)]
    pub within: u32,
}

pub fn status(cli: &Cli, args: &StatusArgs) -> anyhow::Result<i32> {
    let loaded = or_exit!(load_rules(cli));
    let cal = or_exit!(load_calendar(&loaded, false));
    let store = open_store(&loaded)?;
    let clock = SystemClock {
        tz: loaded.model.config.timezone,
    };
    let now: NaiveDateTime = match args.today {
        Some(d) => d.and_hms_opt(23, 59, 59).unwrap_or_default(),
        None => clock.now(),
    };
    let since = year_start(now.year());
    let model_matters: Vec<String> = loaded.model.matters().map(|m| m.id.clone()).collect();
    let service = Service::new(cli.config.clone(), loaded, cal, store, "status", since);
    let schedule = service.schedule(now);
    // As of a past date (--today), draws made after it do not count yet.
    let as_of = now.format("%Y-%m-%d").to_string();
    let made_by =
        |d: &crate::store::DrawRow| d.created_at.get(..10).is_none_or(|c| c <= as_of.as_str());
    let mut done = service.done()?;
    for d in service.store.list_draws(&DrawFilter::default())? {
        if !made_by(&d) {
            done.remove(&(d.matter, d.period));
        }
    }
    let overdue = due(&schedule, &done, since, now);
    outln!("as of {}", now.format("%Y-%m-%d %H:%M"));
    outln!(
        "{:<26} {:<28} {:<28} problems",
        "matter",
        "last draw",
        "next draw"
    );
    let mut problems_total = 0;
    for id in &model_matters {
        let mut draws = service.store.list_draws(&DrawFilter {
            matter: Some(id.clone()),
            ..DrawFilter::default()
        })?;
        draws.retain(|d| made_by(d));
        let last = draws
            .iter()
            .max_by(|a, b| a.issue_date.cmp(&b.issue_date).then(a.id.cmp(&b.id)));
        let last_s = last.map_or_else(
            || "—".to_string(),
            |d| format!("#{} {} on {}", d.id, d.period, d.issue_date),
        );
        let only: Vec<_> = schedule
            .iter()
            .filter(|s| &s.matter == id)
            .cloned()
            .collect();
        let next = next_wake(&only, &done, now)
            .and_then(|t| only.iter().find(|s| s.issue_at == t))
            .map_or_else(
                || "—".to_string(),
                |s| format!("{} on {}", s.period.id, s.issue_date()),
            );
        let mut problems = Vec::new();
        for o in overdue.iter().filter(|s| &s.matter == id) {
            problems.push(format!("OVERDUE {} (due {})", o.period.id, o.issue_date()));
        }
        let events = service.store.events(&EventFilter {
            matter: Some(id.clone()),
            ..EventFilter::default()
        })?;
        for e in events.iter().filter(|e| e.event == SchedulerEvent::Failed) {
            let later_ok = draws.iter().any(|d| d.period == e.period);
            if !later_ok {
                problems.push(format!(
                    "FAILED {} at {}: {}",
                    e.period,
                    e.at,
                    e.detail.lines().next().unwrap_or("")
                ));
            }
        }
        problems_total += problems.len();
        outln!(
            "{:<26} {:<28} {:<28} {}",
            id,
            last_s,
            next,
            if problems.is_empty() {
                "ok".into()
            } else {
                problems.join("; ")
            }
        );
    }
    problems_total += super::publish::status_section(
        &service.loaded,
        &service.cal,
        &service.store,
        now.date(),
        args.within,
    )?;
    Ok(if problems_total == 0 {
        exit::OK
    } else {
        exit::PARTIAL
    })
}
