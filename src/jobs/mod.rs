//! Jobs: everything a user can start (check, plan, issue a draw, verify one, import, publish,
//! report, run the service), each one library call from typed input (including who acts) to a
//! typed result or a typed error, over the core and the model. Jobs own transactions, staging
//! and file placement; the faces (`cli`) only parse, call a job and render its result.

pub mod anchor;
pub mod audit;
pub mod beacon;
pub mod bundle;
pub mod change;
pub mod check;
pub mod commit;
pub mod credit;
pub mod database;
pub mod draw;
pub mod draws;
pub mod held;
pub mod hooks;
pub mod issue;
pub mod lease;
pub mod loads;
pub mod place;
pub mod plan;
pub mod platform;
pub mod probe;
pub mod publish;
pub mod redraw;
pub mod regenerate;
pub mod registry;
pub mod replace;
pub mod report;
pub mod results;
pub mod rule_changes;
pub mod rule_edit;
pub mod run;
pub mod schedule;
pub(crate) mod secret;
pub mod service;
pub mod shared_registries;
pub mod site;
pub mod status;
pub mod sweep;
pub mod users;
pub mod verify;

use std::path::Path;

use crate::calendar::{Calendar, CalendarError};
use crate::diag::{Diagnostic, Fault, Problem, Report, Sources};
use crate::rules::{LoadError, Loaded};
use crate::store::{RecordStore, RuleStore, Store, StoreError};

/// What most jobs work on: the validated rules, the holiday calendar and the database (the
/// SQLite file; the jobs that read records through [`crate::store::Records`] also take a PostgreSQL
/// database, or either behind a box, see [`open_read_only_on`]).
pub struct Context<S = Store> {
    pub loaded: Loaded,
    pub cal: Calendar,
    pub store: S,
}

/// Loading what a job works on failed, or its input names something that does not exist.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the rules have problems")]
    Rules(LoadError),
    #[error("the config has problems")]
    Config(LoadError),
    #[error("the holiday calendar has problems")]
    Calendar {
        sources: Sources,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("{0}")]
    Year(CalendarError),
    #[error("no matter `{given}`")]
    UnknownMatter { given: String, known: Vec<String> },
    #[error("matter `{0}` is retired: retired matters are not drawn")]
    Retired(String),
    #[error("the registries have problems")]
    Registry(Vec<Diagnostic>),
    #[error("the config takes the seed from a file on a database of real records")]
    SeedFile {
        sources: Sources,
        diagnostic: Box<Diagnostic>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    SharedRegistry(#[from] shared_registries::FollowError),
}

impl Problem for SetupError {
    fn fault(&self) -> Fault {
        match self {
            SetupError::Store(_) | SetupError::SharedRegistry(_) => Fault::Failed,
            _ => Fault::Invalid,
        }
    }

    fn report(&self) -> Report {
        match self {
            SetupError::Rules(e) => {
                let report = Report {
                    sources: e.sources.clone(),
                    diagnostics: e.diagnostics.clone(),
                    closing: None,
                };
                let n = report.errors();
                let closing = format!(
                    "{} found; nothing was done.",
                    crate::diag::count(n, "problem")
                );
                report.closing(closing)
            }
            SetupError::Config(e) => Report {
                sources: e.sources.clone(),
                diagnostics: e.diagnostics.clone(),
                closing: Some("the config has problems; nothing was done.".into()),
            },
            SetupError::Calendar {
                sources,
                diagnostics,
            } => Report {
                sources: sources.clone(),
                diagnostics: diagnostics.clone(),
                closing: None,
            },
            SetupError::Year(e @ CalendarError::OutOfRange { .. }) => Report::error(
                e.to_string(),
                &[
                    "give a year in that range, or add config/holidays/YEAR.toml with the year's official notice",
                ],
            ),
            SetupError::Year(e) => Report::error(
                e.to_string(),
                &[
                    "or pass --provisional for a calendar computed from lunar dates, marked provisional",
                ],
            ),
            SetupError::Retired(_) => Report::error(
                self.to_string(),
                &[
                    "its draws and results stay; to draw it again, set retired = false in a rule change and have it approved",
                ],
            ),
            SetupError::UnknownMatter { given, known } => {
                let help = match crate::diag::did_you_mean(given, known.iter().map(String::as_str))
                {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("matters are: {}", known.join(", ")),
                };
                Report::error(self.to_string(), &[&help])
            }
            SetupError::Registry(diagnostics) => {
                let report = Report::of(diagnostics.clone());
                let n = report.errors();
                let closing = format!(
                    "{} found; nothing was drawn.",
                    crate::diag::count(n, "registry problem")
                );
                report.closing(closing)
            }
            SetupError::SeedFile {
                sources,
                diagnostic,
            } => Report {
                sources: sources.clone(),
                diagnostics: vec![(**diagnostic).clone()],
                closing: Some("nothing was drawn.".into()),
            },
            SetupError::Store(e) => Report::error(crate::diag::chain(e), &[]),
            SetupError::SharedRegistry(e) => e.report(),
        }
    }
}

/// Refuses `[seed] source = "file"` on a database of real records: whoever writes the file
/// chooses the seed, and nothing published proves otherwise. A simulation database may keep
/// it. The error points at `source = "file"` in the config and says what to use instead.
pub fn refuse_seed_file(
    loaded: &Loaded,
    store: &dyn crate::store::DrawStore,
) -> Result<(), SetupError> {
    let crate::rules::model::SeedSourceConfig::File { path, at } = &loaded.model.config.seed_source
    else {
        return Ok(());
    };
    if store.is_simulation()? {
        return Ok(());
    }
    let mut d = Diagnostic::error(
        "`[seed] source = \"file\"` is refused on a database of real records: whoever writes the file chooses the seed",
    )
    .label(format!("the seed would be the text of {}", path.display()))
    .help("write source = \"public\": each scheduled draw waits for a public source committed to before its value exists (suiji commit MATTER --period P --source S --source-time T, then suiji draw --reveal VALUE)")
    .help("or write source = \"os\": the system's random source (public pages say 系统生成)")
    .help("a simulation database (suiji simulate) may keep source = \"file\"");
    d.location = at.clone();
    Err(SetupError::SeedFile {
        sources: loaded.sources.clone(),
        diagnostic: Box::new(d),
    })
}

/// Loads and validates the config, the rule files and their scripts, as they are on disk
/// (what `suiji check` checks, and what `suiji rules status` compares).
pub fn load_disk_rules(config: &Path) -> Result<Loaded, SetupError> {
    crate::rules::load(config).map_err(SetupError::Rules)
}

/// Loads the rules draws use. With `[rules] approval = "two-person"` that is the latest
/// approved version of the rule set ([`rule_changes`]): the files on disk when they are that
/// version, else the version's own files (staged once in `<data>/rules-approved/<hash>/`),
/// with a warning naming the files changed outside the console, which are not used until
/// approved. Without a version yet (the first start) and with `approval = "none"`, the files
/// on disk. The versions are read from the SQLite file in the data folder.
pub fn load_rules(config: &Path) -> Result<Loaded, SetupError> {
    load_rules_on(config, None)
}

/// [`load_rules`], the versions read from the PostgreSQL database at `database` when one is
/// named (a shared deployment keeps them there, so every node draws with the same); there the
/// configured registry files are brought up to the versions uploaded on any node too
/// ([`shared_registries`]).
pub fn load_rules_on(
    config: &Path,
    database: Option<&crate::store::pg::Place>,
) -> Result<Loaded, SetupError> {
    let loaded = load_approved_rules(config, database)?;
    if let Some(place) = database {
        let store = crate::store::pg::PgStore::open_at(place)?;
        shared_registries::follow_once(&store, &loaded.model.config)?;
    }
    Ok(loaded)
}

/// [`load_rules_on`] without bringing the registry files up to the shared database's versions
/// (what a long-running node does itself, before each use: `held`, `service`).
pub(crate) fn load_approved_rules(
    config: &Path,
    database: Option<&crate::store::pg::Place>,
) -> Result<Loaded, SetupError> {
    let Ok(cfg) = crate::rules::load_config(config) else {
        return load_disk_rules(config);
    };
    if !cfg.approval.required {
        return load_disk_rules(config);
    }
    let latest = match database {
        Some(url) => crate::store::pg::PgStore::open_at(url)?.latest_rule_version()?,
        None => Store::open_read_only(&cfg.data_dir)?.latest_rule_version()?,
    };
    let Some(latest) = latest else {
        return load_disk_rules(config);
    };
    let disk = rule_changes::on_disk(&cfg).ok();
    if disk.as_ref().is_some_and(|d| d.hash == latest.rules_hash) {
        return load_disk_rules(config);
    }
    let dir = rule_changes::staged_version(&cfg.data_dir, &latest)
        .map_err(|e| SetupError::Store(StoreError::invalid("approved rules", e.to_string())))?;
    let mut loaded = crate::rules::load::load_staged(config, &dir).map_err(SetupError::Rules)?;
    let changed: Vec<String> = match &disk {
        Some(d) => rule_changes::diff(&latest.files, &d.files)
            .into_iter()
            .map(|f| f.path)
            .collect(),
        None => vec!["(the files on disk cannot be read)".into()],
    };
    loaded.warnings.push(
        Diagnostic::warning(format!(
            "rule files changed outside the console are not used until approved: {}",
            changed.join(", ")
        ))
        .help(format!(
            "draws use approved version {} ({}); run `suiji rules status` to see the change and `suiji rules approve` to approve it",
            latest.id,
            &latest.rules_hash[..12]
        )),
    );
    Ok(loaded)
}

/// Loads the holiday calendar named by the config.
pub fn load_calendar(loaded: &Loaded, provisional: bool) -> Result<Calendar, SetupError> {
    let cfg = &loaded.model.config;
    let provisional = provisional || cfg.provisional_calendar;
    let mut sources = Sources::default();
    Calendar::load(&cfg.holidays_dir, &mut sources, provisional).map_err(|diagnostics| {
        SetupError::Calendar {
            sources,
            diagnostics,
        }
    })
}

/// Refuses a year the calendar cannot answer for; `Ok(false)` when it answers only with a
/// provisional calendar (no official notice).
pub(crate) fn require_year(cal: &Calendar, year: i32) -> Result<bool, SetupError> {
    let probe = chrono::NaiveDate::from_ymd_opt(year, 7, 1)
        .ok_or(SetupError::Year(CalendarError::OutOfRange { year }))?;
    cal.is_working_day(probe).map_err(SetupError::Year)?;
    Ok(cal.is_official(year))
}

/// Refuses a matter id the rules do not have.
pub(crate) fn require_matter(loaded: &Loaded, id: &str) -> Result<(), SetupError> {
    match loaded.model.matter(id) {
        Some(_) => Ok(()),
        None => Err(SetupError::UnknownMatter {
            given: id.to_string(),
            known: loaded.model.matters().map(|m| m.id.clone()).collect(),
        }),
    }
}

/// Refuses a matter id the rules do not have, or a retired matter (a new draw or a seed
/// commitment for it).
pub(crate) fn require_in_force(loaded: &Loaded, id: &str) -> Result<(), SetupError> {
    require_matter(loaded, id)?;
    match loaded.model.matter(id) {
        Some(m) if m.retired => Err(SetupError::Retired(id.to_string())),
        _ => Ok(()),
    }
}

/// Opens the database in the config's data folder; puts in place the files that interrupted
/// jobs left staged after their record was committed ([`sweep::restore`]), and removes the
/// staging folders that nothing will ever place ([`sweep::orphans`]).
pub fn open_store(loaded: &Loaded) -> Result<Store, SetupError> {
    let store = Store::open(&loaded.model.config.data_dir)?;
    sweep::restore(&loaded.model.config.output_dir, &store);
    sweep::orphans(&loaded.model.config.output_dir, &store);
    Ok(store)
}

/// [`open_store`], on the PostgreSQL database at `database` when one is named: what results
/// and publications are recorded in. Files an interrupted draw or publication left staged are
/// put in place (or removed) first, on either database.
pub fn open_result_store(
    loaded: &Loaded,
    database: Option<&crate::store::pg::Place>,
) -> Result<Box<dyn crate::store::ResultStore>, SetupError> {
    let Some(url) = database else {
        return Ok(Box::new(open_store(loaded)?));
    };
    let store = crate::store::pg::PgStore::open_at(url)?;
    sweep::restore(&loaded.model.config.output_dir, &store);
    sweep::orphans(&loaded.model.config.output_dir, &store);
    Ok(Box::new(store))
}

/// The database console accounts and sessions are kept in: the PostgreSQL database at
/// `database` when one is named, else the SQLite file of [`open_store`].
pub fn open_user_store(
    loaded: &Loaded,
    database: Option<&crate::store::pg::Place>,
) -> Result<Box<dyn crate::store::UserStore>, SetupError> {
    match database {
        Some(url) => Ok(Box::new(crate::store::pg::PgStore::open_at(url)?)),
        None => Ok(Box::new(open_store(loaded)?)),
    }
}

/// The first start under `[rules] approval = "two-person"`: with no approved version of the
/// rule set recorded yet, the files on disk (just loaded and checked) are adopted as version 1,
/// recorded with the OS account of this process (`cli:USER`) at `at` and audited
/// (`rules.adopt`). Later changes need approval. Nothing is done when a version exists or
/// approval is off. A failure is logged, never fatal: draws then use the files on disk.
pub fn adopt_on_first_start(
    store: &mut dyn crate::store::DrawStore,
    loaded: &Loaded,
    at: &str,
) -> Option<i64> {
    let cfg = &loaded.model.config;
    if !cfg.approval.required {
        return None;
    }
    let who = rule_changes::Who {
        actor: format!("cli:{}", store.origin().os_user),
        at: at.to_string(),
    };
    match rule_changes::adopt(store, cfg, &who) {
        Ok(Some(v)) => {
            tracing::info!(
                version = v,
                "no approved rule version yet: the rule files on disk are adopted as version {v} (rules {}); later changes need approval",
                &loaded.model.rules_hash[..12.min(loaded.model.rules_hash.len())]
            );
            Some(v)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::error!("cannot record the first approved rule version: {e}");
            None
        }
    }
}

/// Opens the database named by the config alone, without loading the rules: jobs that only
/// read or write records without the rules keep working while a rule file has problems.
pub fn open_store_of_config(config: &Path) -> Result<Store, SetupError> {
    let config = crate::rules::load_config(config).map_err(SetupError::Config)?;
    Ok(Store::open(&config.data_dir)?)
}

/// The config alone and the database it names, opened read-only
/// ([`Store::open_read_only`]), for jobs that only read records (draws, audit, verify,
/// regenerate): they keep working while a rule file has problems, and on a read-only copy of
/// the data. Files left staged by an interrupted run are reported ([`sweep::report`]).
pub fn open_data(config: &Path) -> Result<(crate::rules::model::Config, Store), SetupError> {
    let config = crate::rules::load_config(config).map_err(SetupError::Config)?;
    let store = Store::open_read_only(&config.data_dir)?;
    sweep::report(&config.output_dir);
    Ok((config, store))
}

/// Loads the rules and the calendar and opens the database read-only ([`Store::open_read_only`]):
/// for jobs that only read records (`status`, `report`), which then also work on a read-only
/// copy of the data. Files left staged are reported, not moved.
pub fn open_read_only(config: &Path) -> Result<Context, SetupError> {
    let loaded = load_rules(config)?;
    let cal = load_calendar(&loaded, false)?;
    let store = Store::open_read_only(&loaded.model.config.data_dir)?;
    sweep::report(&loaded.model.config.output_dir);
    Ok(Context { loaded, cal, store })
}

/// [`open_read_only`], on the PostgreSQL database at `database` when one is named (the rules
/// then are the version approved there, when approval is on): for the jobs that read records
/// through [`crate::store::Records`] on either database (`status`, `report`, `publish --site`,
/// `publish --credit`).
pub fn open_read_only_on(
    config: &Path,
    database: Option<&crate::store::pg::Place>,
) -> Result<Context<Box<dyn RecordStore>>, SetupError> {
    let Some(url) = database else {
        let Context { loaded, cal, store } = open_read_only(config)?;
        let store: Box<dyn RecordStore> = Box::new(store);
        return Ok(Context { loaded, cal, store });
    };
    let loaded = load_rules_on(config, Some(url))?;
    let cal = load_calendar(&loaded, false)?;
    let store: Box<dyn RecordStore> = Box::new(crate::store::pg::PgStore::open_at(url)?);
    sweep::report(&loaded.model.config.output_dir);
    Ok(Context { loaded, cal, store })
}

/// Loads the rules and the calendar and opens the database.
pub fn open(config: &Path) -> Result<Context, SetupError> {
    let loaded = load_rules(config)?;
    let cal = load_calendar(&loaded, false)?;
    let store = open_store(&loaded)?;
    Ok(Context { loaded, cal, store })
}

impl Problem for StoreError {
    fn fault(&self) -> Fault {
        Fault::Failed
    }

    fn report(&self) -> Report {
        Report::error(crate::diag::chain(self), &[])
    }
}
