//! `suiji run`, `suiji simulate` and `suiji status`.

use chrono::NaiveDate;

use super::{Cli, Failed, exit, load_rules};
use crate::jobs::issue::seed::SeedChoice;
use crate::jobs::run::{RunInput, SimulateInput, Simulated};
use crate::jobs::service::Stop;
use crate::jobs::status::{Input, PublicationLine, Status};
use crate::schedule::clock::{Clock, FileClock, SystemClock, TEST_CLOCK_ENV};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Issue whatever is due now, then exit (for a systemd timer or cron).
    #[arg(long)]
    pub once: bool,
    /// Ignore draws scheduled before this date (default: 1 January of this year).
    #[arg(long)]
    pub since: Option<NaiveDate>,
    /// On a shared database (PostgreSQL), how often a node that does not hold the scheduler's
    /// lease tries to take it, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub lease_retry: u64,
    /// Run the scheduler of every bureau of this platform file, one thread per bureau, each
    /// as `suiji run --config` runs it on that bureau's config.
    #[arg(long, value_name = "FILE")]
    pub platform: Option<std::path::PathBuf>,
}

pub fn run(cli: &Cli, args: &RunArgs) -> Result<i32, Failed> {
    if let Some(file) = &args.platform {
        return run_platform(file, args, cli.database.as_deref());
    }
    let loaded = load_rules(cli)?;
    let mut input = RunInput::new(cli.config.clone());
    input.once = args.once;
    input.since = args.since;
    input.database = super::db::postgres(cli)?;
    input.lease_retry = std::time::Duration::from_secs(args.lease_retry);
    let mut clock: Box<dyn Clock> = match std::env::var_os(TEST_CLOCK_ENV) {
        Some(path) => {
            let clock = FileClock::open(std::path::Path::new(&path))
                .map_err(|e| Failed::from(crate::jobs::run::RunError::Clock(e)))?;
            input.simulated_clock = Some(format!("{TEST_CLOCK_ENV}={}", clock.path().display()));
            Box::new(clock)
        }
        None => Box::new(SystemClock {
            tz: loaded.model.config.timezone,
        }),
    };
    let ran = crate::jobs::run::serve(loaded, &mut *clock, &input)?;
    let (issued, failed) = (ran.issued, ran.failed);
    match ran.stop {
        Stop::Shutdown(why) => super::say(
            super::Level::Info,
            &format!("suiji stopped ({why}) after issuing {issued} draw(s)\n"),
        ),
        Stop::Once | Stop::ClockEnd => outln!("issued {issued} draw(s), {failed} failed"),
        Stop::Follows(node) => outln!(
            "issued nothing: another node ({}) holds the scheduler's lease and issues what is due",
            node.as_deref().unwrap_or("unknown")
        ),
    }
    Ok(if failed > 0 { exit::PARTIAL } else { exit::OK })
}

/// `suiji run --platform FILE`: each bureau's service in a thread of its own, on its own
/// config and database (opened exactly as its config says); one line per bureau at the end.
fn run_platform(
    file: &std::path::Path,
    args: &RunArgs,
    given: Option<&str>,
) -> Result<i32, Failed> {
    let platform = super::load_platform(file)?;
    let mut threads = Vec::new();
    for b in &platform.bureaus {
        crate::rules::load_config(&b.config)
            .map_err(|e| Failed::from(crate::jobs::SetupError::Config(e)))?;
        // The database the platform was given (`--database`, `SUIJI_DATABASE`), else the
        // bureau's own, in the bureau's own schema.
        let database = crate::jobs::database::configured(&b.config, given)?;
        let loaded = crate::jobs::load_rules_on(&b.config, database.as_ref())?;
        super::warn(&loaded);
        let mut input = RunInput::new(b.config.clone());
        input.once = args.once;
        input.since = args.since;
        input.database = database;
        input.lease_retry = std::time::Duration::from_secs(args.lease_retry);
        let mut clock = SystemClock {
            tz: loaded.model.config.timezone,
        };
        let thread = std::thread::spawn(move || {
            crate::jobs::run::serve(loaded, &mut clock, &input)
                .map(|ran| (ran.issued, ran.failed))
                .map_err(|e| super::render_report(&crate::diag::Problem::report(&e)))
        });
        threads.push((b.bureau.name.clone(), thread));
    }
    let mut status = exit::OK;
    for (name, thread) in threads {
        match thread.join() {
            Ok(Ok((issued, failed))) => {
                outln!("{name}: issued {issued} draw(s), {failed} failed");
                if failed > 0 && status == exit::OK {
                    status = exit::PARTIAL;
                }
            }
            Ok(Err(report)) => {
                super::say(super::Level::Error, &format!("{name}:\n{report}"));
                status = exit::FAILED;
            }
            Err(_) => {
                super::say(
                    super::Level::Error,
                    &format!("{name}: the service stopped\n"),
                );
                status = exit::FAILED;
            }
        }
    }
    Ok(status)
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

pub fn simulate(cli: &Cli, args: &SimulateArgs) -> Result<i32, Failed> {
    let loaded = load_rules(cli)?;
    let input = SimulateInput {
        config: cli.config.clone(),
        year: args.year,
        seed: if args.seed == "os" {
            SeedChoice::Os
        } else {
            SeedChoice::Given(args.seed.clone())
        },
        database: super::db::postgres(cli)?,
    };
    let began = std::time::Instant::now();
    let sim = crate::jobs::run::simulate(loaded, &input)?;
    let seconds = began.elapsed().as_secs_f64();
    if sim.provisional {
        super::provisional_warning(args.year);
    }
    render_simulated(&sim, args.year, seconds);
    Ok(super::with_problems(&sim.failures))
}

fn render_simulated(sim: &Simulated, year: i32, seconds: f64) {
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
    for d in &sim.draws {
        outln!(
            "{:<12} {:<26} {:<14} {:<16} {:>8} {:>6} {:>9}  #{}",
            d.issue_date,
            d.matter,
            d.period,
            d.kind,
            d.eligible,
            d.drawn,
            d.unstaffed,
            d.id
        );
    }
    let total: usize = sim.draws.iter().map(|d| d.drawn).sum();
    outln!(
        "{} draws of {year} ({} issued by this run in {:.1}s, {} already recorded), {total} targets drawn; files in {}",
        sim.draws.len(),
        sim.issued,
        seconds,
        sim.draws.len().saturating_sub(sim.issued),
        sim.files.display()
    );
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

pub fn status(cli: &Cli, args: &StatusArgs) -> Result<i32, Failed> {
    let cx = super::open_read_only(cli)?;
    let clock = SystemClock {
        tz: cx.loaded.model.config.timezone,
    };
    let now = match args.today {
        Some(d) => d.and_hms_opt(23, 59, 59).unwrap_or_default(),
        None => clock.now(),
    };
    let input = Input {
        now,
        within: args.within,
    };
    let status = crate::jobs::status::run(&cli.config, cx, &input)?;
    render_status(&status);
    Ok(if !status.unscheduled.is_empty() {
        exit::UNSCHEDULED
    } else if status.problems() == 0 {
        exit::OK
    } else {
        exit::PARTIAL
    })
}

fn render_status(s: &Status) {
    outln!("as of {}", s.now.format("%Y-%m-%d %H:%M"));
    outln!(
        "{:<26} {:<28} {:<28} problems",
        "matter",
        "last draw",
        "next draw"
    );
    for m in &s.matters {
        outln!(
            "{:<26} {:<28} {:<28} {}",
            m.matter,
            m.last.as_deref().unwrap_or("—"),
            m.next.as_deref().unwrap_or("—"),
            if m.problems.is_empty() {
                "ok".into()
            } else {
                m.problems.join("; ")
            }
        );
    }
    for u in &s.unscheduled {
        outln!("CANNOT SCHEDULE {}: {}", u.year, u.message());
    }
    let within = s.within;
    outln!();
    if let Some(why) = &s.horizon_unknown {
        outln!(
            "(working days cannot be counted that far: {why}; every result awaiting publication is listed)"
        );
    }
    outln!(
        "publication of results (deadlines falling within {within} working days, and everything overdue)"
    );
    for line in &s.publication {
        render_publication_line(line);
    }
    if s.publication.is_empty() {
        outln!("  nothing overdue, nothing due within {within} working days");
    }
    outln!(
        "  ({} inspected target{} due for publication later; {} awaiting inspection)",
        s.later,
        plural(s.later),
        s.awaiting_inspection
    );
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn render_publication_line(line: &PublicationLine) {
    match line {
        PublicationLine::Overdue {
            draw,
            targets,
            first,
            ..
        } => outln!(
            "  OVERDUE    {draw}: {targets} inspected target{} not published; deadline {first} passed — counts as not done",
            plural(*targets)
        ),
        PublicationLine::NotInspected {
            draw,
            targets,
            drawn,
            due,
            ..
        } => outln!(
            "  OVERDUE    {draw}: {targets} of {drawn} drawn targets without complete results; inspections were due {due}"
        ),
        PublicationLine::Unstaffed { draw, targets, .. } => outln!(
            "  UNSTAFFED  {draw}: {targets} drawn target{} with no team — cannot be inspected under this draw",
            plural(*targets)
        ),
        PublicationLine::Due {
            draw,
            targets,
            first,
            working_days_left,
            ..
        } => outln!(
            "  DUE        {draw}: {targets} inspected target{} to publish, the first by {first} ({})",
            plural(*targets),
            match working_days_left {
                Some(1) => "1 working day left".to_string(),
                Some(n) => format!("{n} working days left"),
                None => "working days left unknown: no holiday calendar that far".to_string(),
            }
        ),
    }
}
