//! The service (`suiji run`) and a year on the simulated clock (`suiji simulate`): the
//! service loop of [`super::service`] with its clock and its events.

use std::path::PathBuf;
use std::sync::mpsc;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone};

use super::issue::seed::SeedChoice;
use super::service::{Alone, Gate, Service, Stop, run_loop, year_start};
use super::{SetupError, load_calendar, open_store, require_year};
use crate::diag::{Diagnostic, Fault, Problem, Report};
use crate::rules::Loaded;
use crate::schedule::clock::{Clock, Event, RULE_FILES_CHANGED, SimClock};
use crate::store::{DrawFilter, SchedulerEvent, ServiceStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen for signals: {0}")]
    Signals(#[from] std::io::Error),
    #[error("cannot watch the rule files: {0}")]
    Watch(#[from] notify::Error),
    #[error(
        "the clock is simulated ({0}), and this database holds real records: a simulated clock runs only on a database marked as a simulation"
    )]
    SimulatedClock(String),
    #[error("{0}")]
    Clock(String),
}

impl Problem for RunError {
    fn fault(&self) -> Fault {
        match self {
            RunError::Setup(e) => e.fault(),
            _ => Fault::Failed,
        }
    }

    fn report(&self) -> Report {
        match self {
            RunError::Setup(e) => e.report(),
            other => Report::error(crate::diag::chain(other), &[]),
        }
    }
}

/// How the service is to run.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// The engine config (reloaded on SIGHUP or a rule edit).
    pub config: PathBuf,
    /// Issue whatever is due now, then stop.
    pub once: bool,
    /// Ignore draws scheduled before this date (default: 1 January of this year).
    pub since: Option<NaiveDate>,
    /// The PostgreSQL database of a shared deployment (else the SQLite file of the data
    /// folder): the node holding the scheduler's lease issues the draws.
    pub database: Option<crate::store::pg::Place>,
    /// How often a node without the lease tries to take it.
    pub lease_retry: std::time::Duration,
    /// The clock is not the system's (a testing aid, `SUIJI_TEST_CLOCK`), named so: refused
    /// unless the database is marked as a simulation.
    pub simulated_clock: Option<String>,
}

impl RunInput {
    /// The service on the config's database, with the system clock.
    pub fn new(config: PathBuf) -> RunInput {
        RunInput {
            config,
            once: false,
            since: None,
            database: None,
            lease_retry: super::lease::LEASE_RETRY,
            simulated_clock: None,
        }
    }
}

/// What a run of the service did.
#[derive(Debug, Clone)]
pub struct Ran {
    pub stop: Stop,
    /// Draws issued (on time or caught up).
    pub issued: usize,
    pub failed: usize,
}

fn count(service: &Service, event: impl Fn(SchedulerEvent) -> bool) -> usize {
    service.outcomes.iter().filter(|o| event(o.event)).count()
}

fn issued(e: SchedulerEvent) -> bool {
    matches!(e, SchedulerEvent::Issued | SchedulerEvent::CaughtUp)
}

/// Runs the service on `clock`: issues every draw on time, exactly once, until a signal stops
/// it (or, with `once`, after what is due now). Signals and rule edits reload the rules.
pub fn serve(loaded: Loaded, clock: &mut dyn Clock, input: &RunInput) -> Result<Ran, RunError> {
    let cal = load_calendar(&loaded, false)?;
    let mut store = open_service_store(&loaded, input.database.as_ref())?;
    super::refuse_seed_file(&loaded, &*store)?;
    if let Some(clock) = &input.simulated_clock
        && !store.is_simulation()?
    {
        return Err(RunError::SimulatedClock(clock.clone()));
    }
    let started = stamp_of(&loaded, clock.now());
    super::adopt_on_first_start(&mut *store, &loaded, &started);
    let since = input.since.map_or_else(
        || year_start(clock.now().year()),
        |d| d.and_hms_opt(0, 0, 0).unwrap_or_default(),
    );
    // The project's own folders, also when the rules in use are an approved version staged
    // elsewhere: an approval writes into these.
    let (rules_dir, holidays_dir) = match crate::rules::load_config(&input.config) {
        Ok(c) => (c.rules_dir, c.holidays_dir),
        Err(_) => (
            loaded.model.config.rules_dir.clone(),
            loaded.model.config.holidays_dir.clone(),
        ),
    };
    let mut service = Service::new(input.config.clone(), loaded, cal, store, "scheduler", since);
    service.database = input.database.clone();
    let (tx, rx) = mpsc::channel();
    let _watcher = if input.once {
        None
    } else {
        spawn_signals(tx.clone())?;
        // Approvals note the latest version there (`rule_changes`), also those that write no
        // rule file.
        let approved = service.loaded.model.config.data_dir.join("rules-approved");
        let _ = std::fs::create_dir_all(&approved);
        Some(watch_rules(
            &[&rules_dir, &holidays_dir, &approved],
            &input.config,
            tx,
        )?)
    };
    let mut gate: Box<dyn Gate> = match &input.database {
        // The node that takes the lease puts in place what others left staged.
        Some(url) => Box::new(super::lease::Leader::new(url, input.lease_retry)),
        None => {
            service.restore_files();
            if let Some(sqlite) = service.store.sqlite() {
                super::publish::restore(&service.loaded.model.config.output_dir, sqlite);
            }
            Box::new(Alone)
        }
    };
    tracing::info!(since = %since, "suiji service started");
    let stop = run_loop(&mut service, clock, &rx, input.once, &mut *gate);
    Ok(Ran {
        stop,
        issued: count(&service, issued),
        failed: count(&service, |e| e == SchedulerEvent::Failed),
    })
}

/// The database the service works on: PostgreSQL's at `database`, else the SQLite file (the
/// files that interrupted jobs left staged put in place, or removed, first, as [`open_store`]
/// does; on PostgreSQL the node that takes the scheduler's lease does that, so that it never
/// moves the files of a draw the holder is placing).
fn open_service_store(
    loaded: &Loaded,
    database: Option<&crate::store::pg::Place>,
) -> Result<Box<dyn ServiceStore>, SetupError> {
    match database {
        Some(url) => Ok(Box::new(crate::store::pg::PgStore::open_at(url)?)),
        None => Ok(Box::new(open_store(loaded)?)),
    }
}

fn spawn_signals(tx: mpsc::Sender<Event>) -> std::io::Result<()> {
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

/// Watches the rule folder, the holiday folder and the config's folder: a change to a
/// `.toml` or `.rhai` file there asks for a reload (rules and holiday calendars).
fn watch_rules(
    dirs: &[&std::path::Path],
    config: &std::path::Path,
    tx: mpsc::Sender<Event>,
) -> notify::Result<notify::RecommendedWatcher> {
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
    for dir in dirs {
        // The holiday folder may not exist yet; the config's folder (watched too) holds it.
        if dir.is_dir() {
            watcher.watch(dir, RecursiveMode::NonRecursive)?;
        }
    }
    if let Some(dir) = config.parent().filter(|d| !d.as_os_str().is_empty()) {
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
    }
    Ok(watcher)
}

/// A year to run through on the simulated clock.
#[derive(Debug, Clone)]
pub struct SimulateInput {
    pub config: PathBuf,
    pub year: i32,
    pub seed: SeedChoice,
    /// The PostgreSQL database to simulate on (marked as a simulation, as the SQLite file
    /// is), else the SQLite file of the data folder.
    pub database: Option<crate::store::pg::Place>,
}

/// One draw of a simulated year.
#[derive(Debug, Clone)]
pub struct SimulatedDraw {
    pub id: i64,
    pub issue_date: String,
    pub matter: String,
    pub period: String,
    pub kind: String,
    pub eligible: usize,
    pub drawn: usize,
    pub unstaffed: usize,
}

/// A simulated year: every draw of it recorded (by this run or before).
#[derive(Debug, Clone)]
pub struct Simulated {
    pub draws: Vec<SimulatedDraw>,
    /// Issued by this run.
    pub issued: usize,
    /// Folder of the draws' files.
    pub files: PathBuf,
    /// Draws that failed (the others went on).
    pub failures: Vec<Diagnostic>,
    /// The dates come from a provisional calendar (no official holiday notice).
    pub provisional: bool,
}

/// `now` (local) as recorded: with the time zone's offset.
fn stamp_of(loaded: &Loaded, now: NaiveDateTime) -> String {
    loaded
        .model
        .config
        .timezone
        .from_local_datetime(&now)
        .earliest()
        .map_or_else(
            || now.format("%Y-%m-%dT%H:%M:%S").to_string(),
            |t| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        )
}

/// Runs a whole year on a simulated clock, exactly as the service would, on the SQLite file or
/// on the PostgreSQL database of `input.database` (one process: the scheduler's lease is not
/// asked for, the unique index of active draws is the last word as ever).
pub fn simulate(loaded: Loaded, input: &SimulateInput) -> Result<Simulated, RunError> {
    let cal = load_calendar(&loaded, false)?;
    let official = require_year(&cal, input.year)?;
    let mut store = open_service_store(&loaded, input.database.as_ref())?;
    let start = year_start(input.year);
    // A simulation's times are simulated: its database says so, and so does every document
    // made from it. A database holding real records is refused.
    let marked_at = loaded
        .model
        .config
        .timezone
        .from_local_datetime(&start)
        .earliest()
        .map_or_else(
            || start.format("%Y-%m-%dT%H:%M:%S").to_string(),
            |t| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        );
    store.mark_simulation(&marked_at, "simulate", input.year)?;
    super::adopt_on_first_start(&mut *store, &loaded, &marked_at);
    let end = year_start(input.year + 1) - chrono::Duration::seconds(1);
    let mut clock = SimClock { now: start, end };
    // Matters the year's schedule leaves out are failures of the run, not silence.
    let (_, unscheduled) = crate::schedule::year_schedule(&loaded.model, &cal, input.year);
    let mut service = Service::new(input.config.clone(), loaded, cal, store, "simulate", start);
    service.database = input.database.clone();
    service.seed = Some(input.seed.clone());
    service.until = Some(end);
    let (_tx, rx) = mpsc::channel();
    let _ = run_loop(&mut service, &mut clock, &rx, false, &mut Alone);
    let mut draws = Vec::new();
    for d in service.store.list_draws(&DrawFilter::year(input.year))? {
        let Ok(m) =
            serde_json::from_str::<crate::draw::manifest::Manifest>(&d.record.manifest_json)
        else {
            continue;
        };
        draws.push(SimulatedDraw {
            id: d.id,
            issue_date: d.record.issue_date,
            matter: d.record.matter,
            period: d.record.period,
            kind: m.kind.clone(),
            eligible: m.strata.iter().map(|s| s.eligible).sum(),
            drawn: m.selected.len(),
            unstaffed: m.selected.iter().filter(|s| s.unstaffed.is_some()).count(),
        });
    }
    let failures = service
        .outcomes
        .iter()
        .filter(|o| o.event == SchedulerEvent::Failed)
        .map(|f| {
            let (m, p) = (&f.draw.matter, &f.draw.period.id);
            Diagnostic::error(format!("{m} {p} failed: {}", f.detail))
        })
        .chain(unscheduled.iter().map(|u| {
            Diagnostic::error(format!(
                "{} has no draws in {}: it cannot be scheduled: {}",
                u.matter, input.year, u.error
            ))
        }))
        .collect();
    Ok(Simulated {
        draws,
        issued: count(&service, issued),
        files: service.loaded.model.config.output_dir.join("draws"),
        failures,
        provisional: !official,
    })
}
