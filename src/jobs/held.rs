//! The rules and the holiday calendar held loaded by a long-running face (the console) between
//! requests, and loaded again as soon as any file they were read from changes.
//!
//! Before each use the files are read again and compared, byte for byte, with what the held
//! rules were loaded from: the config, every rule file and script, every holiday file (the
//! rule set's archive, format `suiji-rules/2`). Reading a few dozen small files costs far less
//! than compiling the rules; comparing their bytes (not their modification times) means a
//! change is seen on the very next use, whatever the file system's clock resolution, and a
//! saved file, an added or removed one, or an edited config all count as changes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::{Context, SetupError, load_calendar, load_rules};
use crate::calendar::Calendar;
use crate::rules::Loaded;
use crate::store::Store;

/// Rules and calendar loaded once and reused while their files stay the same.
#[derive(Debug)]
pub struct Held {
    config: PathBuf,
    held: Mutex<Option<Loads>>,
}

/// What was loaded, and the bytes of the files it was loaded from.
#[derive(Debug)]
struct Loads {
    files: Vec<u8>,
    rules_dir: PathBuf,
    holidays_dir: PathBuf,
    loaded: Arc<Loaded>,
    /// `None` when the calendar has problems (loading it again reports them).
    cal: Option<Arc<Calendar>>,
}

impl Held {
    /// Nothing held yet for the config at `config`.
    pub fn new(config: PathBuf) -> Held {
        Held {
            config,
            held: Mutex::new(None),
        }
    }

    /// Starts with rules already loaded from `config` (as `suiji serve` does before it
    /// listens).
    pub fn with(config: PathBuf, loaded: &Loaded) -> Held {
        let held = Held::new(config);
        let cfg = &loaded.model.config;
        if let Ok(files) = files_of(&held.config, &cfg.rules_dir, &cfg.holidays_dir) {
            let loads = Loads {
                files,
                rules_dir: cfg.rules_dir.clone(),
                holidays_dir: cfg.holidays_dir.clone(),
                loaded: Arc::new(loaded.clone()),
                cal: load_calendar(loaded, false).ok().map(Arc::new),
            };
            *held.lock() = Some(loads);
        }
        held
    }

    /// The config these rules come from.
    pub fn config(&self) -> &Path {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Loads>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The rules as their files say now (the held ones while every file is unchanged).
    /// Problems in the rules are reported as by [`load_rules`].
    pub fn rules(&self) -> Result<Arc<Loaded>, SetupError> {
        self.current().map(|(loaded, _)| loaded)
    }

    /// The rules and the holiday calendar as their files say now. Problems in the calendar
    /// are reported as when the calendar is loaded for any other job.
    pub fn both(&self) -> Result<(Arc<Loaded>, Arc<Calendar>), SetupError> {
        let (loaded, cal) = self.current()?;
        match cal {
            Some(cal) => Ok((loaded, cal)),
            None => {
                Err(load_calendar(&loaded, false)
                    .err()
                    .unwrap_or_else(|| SetupError::Calendar {
                        sources: Default::default(),
                        diagnostics: Vec::new(),
                    }))
            }
        }
    }

    /// The held loads while every file is unchanged, else the rules and calendar loaded again
    /// (and held when the files stayed the same while loading).
    fn current(&self) -> Result<(Arc<Loaded>, Option<Arc<Calendar>>), SetupError> {
        let mut held = self.lock();
        let dirs = match held.as_ref() {
            Some(h) => Some((h.rules_dir.clone(), h.holidays_dir.clone())),
            None => crate::rules::load_config(&self.config)
                .ok()
                .map(|c| (c.rules_dir, c.holidays_dir)),
        };
        let before =
            dirs.and_then(|(rules, holidays)| files_of(&self.config, &rules, &holidays).ok());
        if let (Some(h), Some(now)) = (held.as_ref(), before.as_ref())
            && h.files == *now
        {
            return Ok((h.loaded.clone(), h.cal.clone()));
        }
        *held = None;
        let loaded = load_rules(&self.config)?;
        let cfg = &loaded.model.config;
        let (rules_dir, holidays_dir) = (cfg.rules_dir.clone(), cfg.holidays_dir.clone());
        let cal = load_calendar(&loaded, false).ok().map(Arc::new);
        // Held only if the files read after loading are the ones read before it: a file saved
        // while loading is loaded again next time.
        let after = files_of(&self.config, &rules_dir, &holidays_dir).ok();
        let loaded = Arc::new(loaded);
        if let (Some(before), Some(after)) = (before, after)
            && before == after
        {
            *held = Some(Loads {
                files: after,
                rules_dir,
                holidays_dir,
                loaded: loaded.clone(),
                cal: cal.clone(),
            });
        }
        Ok((loaded, cal))
    }

    /// A job's context: the rules and calendar as their files say now, and `store`.
    pub fn context(&self, store: Store) -> Result<Context, SetupError> {
        let (loaded, cal) = self.both()?;
        Ok(Context {
            loaded: Loaded::clone(&loaded),
            cal: Calendar::clone(&cal),
            store,
        })
    }
}

/// The bytes of every file the rules and calendar are loaded from.
fn files_of(config: &Path, rules_dir: &Path, holidays_dir: &Path) -> std::io::Result<Vec<u8>> {
    crate::rules::archive::pack_v2(config, holidays_dir, rules_dir)
}
