//! The rules and the holiday calendar held loaded by a long-running face (the console) between
//! requests, and loaded again as soon as any file they were read from changes.
//!
//! Before each use the files are listed and looked at again — the config, every rule file and
//! script, every holiday file (what the rule set's archive, format `suiji-rules/2`, packs) —
//! each by its path, size, inode, modification and change times. While all of them are as
//! when the held rules were last found current, and none had changed within
//! [`SETTLE`] of that moment, nothing is read. Otherwise their bytes are read and compared
//! with what the held rules were loaded from: equal bytes keep the held rules (and record the
//! files' new look), different ones load the rules again.
//!
//! So an edit is seen on the very next use: it changes a file's change time (which no tool
//! sets back), its size or its inode (a file renamed into place), or it lands within the
//! file system's clock resolution of an earlier change, and then the recent change time sends
//! the check to the bytes until the files have settled. A saved file, an added or removed one,
//! or an edited config all count as changes.
//!
//! On a shared PostgreSQL database ([`Held::on_database`]) the rules are those approved
//! there (with `[rules] approval = "two-person"`), and another node may approve a version
//! without any file of this node changing: the latest approved version's number is asked too
//! (one small query), and a new one loads the rules again. The same query asks for the latest
//! registry version's number, and the configured registry files are brought up to the versions
//! uploaded on any node before the rules are handed out ([`super::shared_registries`]).

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::shared_registries::Follower;
use super::{Context, SetupError, load_approved_rules, load_calendar};
use crate::calendar::Calendar;
use crate::rules::Loaded;
use crate::store::pg::PgStore;

/// How long after a file's last change its look alone (size, inode, times) is trusted to
/// say it has not changed: a second change within the file system's clock resolution (up to
/// two seconds on some file systems) can leave every time as it was.
pub const SETTLE: chrono::TimeDelta = chrono::TimeDelta::seconds(2);

/// The time of day, as the face holding the rules reads it (the clock is passed in).
pub type Clock = fn() -> DateTime<Utc>;

/// Rules and calendar loaded once and reused while their files stay the same.
#[derive(Debug)]
pub struct Held {
    config: PathBuf,
    held: Mutex<Option<Loads>>,
    /// The clock the files' times are compared with.
    clock: Clock,
    /// How many times the files' bytes were read to be compared.
    reads: AtomicUsize,
    /// The PostgreSQL database whose approved rule versions are followed, if any.
    database: Option<crate::store::pg::Place>,
    /// The connection that asks it for the latest approved version.
    watch: Mutex<Option<PgStore>>,
    /// What brings the registry files up to the versions uploaded on the shared database.
    registries: Follower,
}

/// How the files looked: each one's path, size, inode and times, in the archive's order.
type Looks = Vec<(PathBuf, Look)>;

/// How one file looks: its size, inode and times (what a change of its bytes changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Look {
    len: u64,
    inode: (u64, u64),
    modified: (i64, i64),
    changed: (i64, i64),
}

/// What was loaded, and the bytes of the files it was loaded from.
#[derive(Debug)]
struct Loads {
    /// How the files looked when their bytes were last found to be these.
    looks: Looks,
    /// Whether `looks` alone can be trusted: every file had settled then.
    settled: bool,
    files: Vec<u8>,
    rules_dir: PathBuf,
    holidays_dir: PathBuf,
    loaded: Arc<Loaded>,
    /// `None` when the calendar has problems (loading it again reports them).
    cal: Option<Arc<Calendar>>,
    /// The latest approved rule version on the shared database when these were loaded.
    version: Option<i64>,
}

impl Held {
    /// Nothing held yet for the config at `config`; `clock` tells the time of day.
    pub fn new(config: PathBuf, clock: Clock) -> Held {
        Held {
            config,
            held: Mutex::new(None),
            clock,
            reads: AtomicUsize::new(0),
            database: None,
            watch: Mutex::new(None),
            registries: Follower::new(clock),
        }
    }

    /// The same, following the rule versions approved on the PostgreSQL database (and schema) at `url`
    /// (when one is given): the rules are loaded as on that database, and again whenever a
    /// version is approved there.
    pub fn on_database(mut self, url: Option<crate::store::pg::Place>) -> Held {
        self.database = url;
        if let Some(Some(version)) = self.approved()
            && let Some(h) = self.lock().as_mut()
        {
            h.version = Some(version);
        }
        self
    }

    /// The latest approved version on the shared database: `None` without one, or when it
    /// cannot be asked (then the held rules stay: a database that does not answer fails the
    /// request that needs it, not the rules).
    fn approved(&self) -> Option<Option<i64>> {
        self.shared().map(|(rules, _)| rules)
    }

    /// The numbers of the latest approved rule version and of the latest registry version on
    /// the shared database (one small query); `None` without a shared database, or when it
    /// cannot be asked.
    fn shared(&self) -> Option<(Option<i64>, Option<i64>)> {
        let url = self.database.as_ref()?;
        let mut watch = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
        if watch.as_ref().is_none_or(|s| !s.is_open()) {
            *watch = PgStore::open_at(url).ok();
        }
        watch.as_ref()?.shared_versions().ok()
    }

    /// Brings the registry files `loaded` names up to the versions uploaded on the shared
    /// database, `latest` being the latest registry version's number just asked.
    fn follow(&self, loaded: &Loaded, latest: Option<i64>) -> Result<(), SetupError> {
        let watch = self.watch.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(store) = watch.as_ref() else {
            return Ok(());
        };
        self.registries
            .follow(store, &loaded.model.config, latest)
            .map(drop)
            .map_err(SetupError::from)
    }

    /// How many times the files' bytes were read to be compared with the held rules' (when
    /// their look alone could not say they are unchanged).
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    /// Starts with rules already loaded from `config` (as `suiji serve` does before it
    /// listens).
    pub fn with(config: PathBuf, loaded: &Loaded, clock: Clock) -> Held {
        let held = Held::new(config, clock);
        let cfg = &loaded.model.config;
        let at = (held.clock)();
        let looks = looks_of(&held.config, &cfg.rules_dir, &cfg.holidays_dir);
        if let (Ok(looks), Ok(files)) = (
            looks,
            files_of(&held.config, &cfg.rules_dir, &cfg.holidays_dir),
        ) {
            let loads = Loads {
                settled: settled(&looks, at),
                looks,
                files,
                rules_dir: cfg.rules_dir.clone(),
                holidays_dir: cfg.holidays_dir.clone(),
                loaded: Arc::new(loaded.clone()),
                cal: load_calendar(loaded, false).ok().map(Arc::new),
                version: None,
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
    /// Problems in the rules are reported as by [`super::load_rules_on`].
    pub fn rules(&self) -> Result<Arc<Loaded>, SetupError> {
        self.current().map(|(loaded, _)| loaded)
    }

    /// The rules as their files say now, and the holiday calendar unless its files have
    /// problems (`None`: [`Held::both`] reports them).
    pub fn loads(&self) -> Result<(Arc<Loaded>, Option<Arc<Calendar>>), SetupError> {
        self.current()
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
        // The shared database is asked (and a handle may be opened and dropped) from the
        // console's async threads too.
        crate::store::pg::may_block(|| {
            let shared = self.shared();
            let loads = self.current_here(shared.map(|(rules, _)| rules))?;
            if let Some((_, registries)) = shared {
                self.follow(&loads.0, registries)?;
            }
            Ok(loads)
        })
    }

    /// The held loads, or the rules and calendar loaded again; `approved` is the latest
    /// approved version on the shared database as just asked (`None`: not asked).
    fn current_here(
        &self,
        approved: Option<Option<i64>>,
    ) -> Result<(Arc<Loaded>, Option<Arc<Calendar>>), SetupError> {
        let mut held = self.lock();
        let dirs = match held.as_ref() {
            Some(h) => Some((h.rules_dir.clone(), h.holidays_dir.clone())),
            None => crate::rules::load_config(&self.config)
                .ok()
                .map(|c| (c.rules_dir, c.holidays_dir)),
        };
        // Looked at before the bytes are read: a change after this is seen next time.
        let at = (self.clock)();
        let looks = dirs
            .as_ref()
            .and_then(|(rules, holidays)| looks_of(&self.config, rules, holidays).ok());
        let same = |h: &Loads| approved.is_none_or(|v| v == h.version);
        if let (Some(h), Some(looks)) = (held.as_ref(), looks.as_ref())
            && h.settled
            && h.looks == *looks
            && same(h)
        {
            return Ok((h.loaded.clone(), h.cal.clone()));
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
        let before =
            dirs.and_then(|(rules, holidays)| files_of(&self.config, &rules, &holidays).ok());
        if let (Some(h), Some(now)) = (held.as_mut(), before.as_ref())
            && h.files == *now
            && same(h)
        {
            if let Some(looks) = looks.clone() {
                h.settled = settled(&looks, at);
                h.looks = looks;
            }
            return Ok((h.loaded.clone(), h.cal.clone()));
        }
        *held = None;
        let loaded = load_approved_rules(&self.config, self.database.as_ref())?;
        let cfg = &loaded.model.config;
        let (rules_dir, holidays_dir) = (cfg.rules_dir.clone(), cfg.holidays_dir.clone());
        let cal = load_calendar(&loaded, false).ok().map(Arc::new);
        // Held only if the files read after loading are the ones read before it: a file saved
        // while loading is loaded again next time.
        let after = files_of(&self.config, &rules_dir, &holidays_dir).ok();
        let loaded = Arc::new(loaded);
        if let (Some(before), Some(after), Some(looks)) = (before, after, looks)
            && before == after
        {
            *held = Some(Loads {
                settled: settled(&looks, at),
                looks,
                files: after,
                rules_dir,
                holidays_dir,
                loaded: loaded.clone(),
                cal: cal.clone(),
                version: approved.flatten(),
            });
        }
        Ok((loaded, cal))
    }

    /// A job's context: the rules and calendar as their files say now, and `store`.
    pub fn context<S>(&self, store: S) -> Result<Context<S>, SetupError> {
        let (loaded, cal) = self.both()?;
        Ok(Context {
            loaded: Loaded::clone(&loaded),
            cal: Calendar::clone(&cal),
            store,
        })
    }
}

/// How every file the rules and calendar are loaded from looks: the files [`files_of`] reads,
/// in the same order.
fn looks_of(config: &Path, rules_dir: &Path, holidays_dir: &Path) -> std::io::Result<Looks> {
    let mut out = vec![(config.to_path_buf(), look(&std::fs::metadata(config)?))];
    if holidays_dir.is_dir() {
        out.extend(folder_looks(holidays_dir, &["toml"])?);
    }
    out.extend(folder_looks(rules_dir, &["toml", "rhai"])?);
    Ok(out)
}

/// The files of `dir` with one of the extensions `exts`, as the archive takes them.
fn folder_looks(dir: &Path, exts: &[&str]) -> std::io::Result<Looks> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path
            .extension()
            .is_some_and(|x| exts.iter().any(|e| x == *e))
        {
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => out.push((path, look(&m))),
            Ok(_) => {}
            // Removed since the folder was listed: the next look sees it gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// How the file at `path` looks now.
pub(crate) fn look_at(path: &Path) -> std::io::Result<Look> {
    std::fs::metadata(path).map(|m| look(&m))
}

fn look(m: &std::fs::Metadata) -> Look {
    use std::os::unix::fs::MetadataExt as _;
    Look {
        len: m.len(),
        inode: (m.dev(), m.ino()),
        modified: (m.mtime(), m.mtime_nsec()),
        changed: (m.ctime(), m.ctime_nsec()),
    }
}

/// Whether every file's last change (modification and change time) is at least [`SETTLE`]
/// before `at`: then a later change cannot leave its look as it was.
fn settled(looks: &Looks, at: DateTime<Utc>) -> bool {
    looks.iter().all(|(_, l)| has_settled(l, at))
}

/// Whether a file's last change (modification and change time) is at least [`SETTLE`]
/// before `at`.
pub(crate) fn has_settled(l: &Look, at: DateTime<Utc>) -> bool {
    let limit = at - SETTLE;
    let before = |(secs, nanos): (i64, i64)| {
        u32::try_from(nanos)
            .ok()
            .and_then(|n| DateTime::from_timestamp(secs, n))
            .is_some_and(|t| t < limit)
    };
    before(l.modified) && before(l.changed)
}

/// The SHA-256 of files known by their look: each file's hash is taken again only when its
/// look (size, inode, modification and change times) differs from when it was last taken, or
/// it had not settled then ([`SETTLE`]), so a file replaced by another version is read again
/// on the next use and an unchanged large file is never read twice.
#[derive(Debug)]
pub(crate) struct FileHashes {
    /// Each file's look when its SHA-256 was taken, whether it had settled then, and the
    /// SHA-256.
    files: Mutex<HashMap<PathBuf, (Look, bool, String)>>,
    /// The clock the files' times are compared with.
    clock: Clock,
    /// How many times a file's bytes were hashed.
    hashed: AtomicUsize,
}

impl FileHashes {
    /// Nothing known yet; `clock` tells the time of day the files' times are compared with.
    pub(crate) fn new(clock: Clock) -> FileHashes {
        FileHashes {
            files: Mutex::new(HashMap::new()),
            clock,
            hashed: AtomicUsize::new(0),
        }
    }

    /// How many times a file's bytes were hashed (when its look alone could not say it is
    /// unchanged).
    pub(crate) fn hashed(&self) -> usize {
        self.hashed.load(Ordering::Relaxed)
    }

    /// The SHA-256 of the file at `path`: the one taken before while the file looks as it did
    /// then and had settled, else taken now (`None`: the file cannot be read).
    pub(crate) fn sha_of(&self, path: &Path) -> Option<String> {
        // The time is read before the file is looked at: a change after it is seen next time.
        let at = (self.clock)();
        let look = look_at(path).ok()?;
        {
            let files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, _, sha)) = files
                .get(path)
                .filter(|(l, settled, _)| *settled && *l == look)
            {
                return Some(sha.clone());
            }
        }
        self.hashed.fetch_add(1, Ordering::Relaxed);
        let sha = crate::digest::sha256_file(path).ok()?;
        let settled = has_settled(&look, at);
        let mut files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        files.insert(path.to_path_buf(), (look, settled, sha.clone()));
        Some(sha)
    }
}

/// The bytes of every file the rules and calendar are loaded from.
fn files_of(config: &Path, rules_dir: &Path, holidays_dir: &Path) -> std::io::Result<Vec<u8>> {
    crate::rules::archive::pack_v2(config, holidays_dir, rules_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the shipped project (rule changes need no approval, as in the tests of
    /// `tests/`), and its config.
    fn project() -> (tempfile::TempDir, PathBuf) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["config", "config/holidays", "rules"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("folder");
            for e in std::fs::read_dir(repo.join(sub)).expect("read").flatten() {
                if e.path().is_file() {
                    std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name()))
                        .expect("copy");
                }
            }
        }
        let config = dir.path().join("config/suiji.toml");
        let text = std::fs::read_to_string(&config).expect("config");
        let text = text.replace("approval = \"two-person\"", "approval = \"none\"");
        std::fs::write(&config, text).expect("config");
        (dir, config)
    }

    /// A clock long after any file of the tests was written: every file has settled.
    fn far_on() -> DateTime<Utc> {
        DateTime::from_timestamp(4_102_444_800, 0).expect("2100-01-01")
    }

    /// A clock before any file of the tests was written: no file has settled.
    fn long_ago() -> DateTime<Utc> {
        DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01")
    }

    fn hotel_name(loaded: &Loaded) -> String {
        loaded
            .model
            .matter("zhian.hotel")
            .map(|m| m.name.clone())
            .expect("the hotel matter")
    }

    /// Settled files are checked by their look alone (nothing read while it stays the same);
    /// an edit outside the console — same size, same inode, its modification time set to
    /// another day as `touch -d` or a copy keeping times would — is seen on the next use.
    #[test]
    fn settled_files_are_checked_by_their_look_and_an_edit_is_seen_on_the_next_use() {
        let (dir, config) = project();
        let held = Held::new(config, far_on);
        let first = held.rules().expect("rules");
        let reads = held.reads();
        for _ in 0..3 {
            let again = held.rules().expect("rules");
            assert!(Arc::ptr_eq(&first, &again), "the held rules");
        }
        assert_eq!(
            held.reads(),
            reads,
            "nothing read while the files look the same"
        );

        let rule = dir.path().join("rules/zhian.toml");
        let text = std::fs::read_to_string(&rule).expect("rule file");
        let edited = text.replacen("旅馆业（宾馆、旅店）", "旅馆业（宾馆、客栈）", 1);
        assert_eq!(edited.len(), text.len());
        assert_ne!(edited, text);
        std::fs::write(&rule, &edited).expect("saved");
        std::fs::File::options()
            .write(true)
            .open(&rule)
            .and_then(|f| {
                f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30))
            })
            .expect("modification time set");
        let next = held.rules().expect("rules");
        assert!(!Arc::ptr_eq(&first, &next), "loaded again");
        assert_eq!(
            hotel_name(&next),
            hotel_name(&first).replace("旅店", "客栈")
        );
        assert_eq!(held.reads(), reads + 1);

        // A file added to the rules folder is a change too.
        std::fs::write(dir.path().join("rules/extra.rhai"), "fn f() { 1 }\n").expect("added");
        if let Ok(added) = held.rules() {
            assert!(!Arc::ptr_eq(&next, &added), "loaded again");
        }
        assert_eq!(held.reads(), reads + 2, "the new file's bytes read");
    }

    /// Files changed within [`SETTLE`] of the last look are compared byte for byte on every
    /// use, so a second edit within the file system's clock resolution is seen too.
    #[test]
    fn recently_changed_files_are_compared_by_their_bytes() {
        let (_dir, config) = project();
        let held = Held::new(config, long_ago);
        let first = held.rules().expect("rules");
        let reads = held.reads();
        let again = held.rules().expect("rules");
        assert!(Arc::ptr_eq(&first, &again), "the held rules");
        assert_eq!(
            held.reads(),
            reads + 1,
            "the bytes compared: the files are new"
        );
    }

    #[test]
    fn files_settle_two_seconds_after_their_last_change() {
        let t = 1_700_000_000_i64;
        let looks = |m: (i64, i64), c: (i64, i64)| {
            vec![(
                PathBuf::from("rules/a.toml"),
                Look {
                    len: 1,
                    inode: (1, 1),
                    modified: m,
                    changed: c,
                },
            )]
        };
        let at = DateTime::from_timestamp(t + 3, 0).expect("a time");
        assert!(settled(&looks((t, 0), (t, 0)), at));
        assert!(!settled(&looks((t, 0), (t + 1, 500_000_000)), at));
        assert!(!settled(&looks((t + 1, 500_000_000), (t, 0)), at));
        assert!(!settled(&looks((t, 0), (t + 60, 0)), at), "a time to come");
    }
}
