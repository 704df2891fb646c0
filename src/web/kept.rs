//! The public site kept between requests: built once, then its pages, feeds and each public
//! bundle's validator answered from memory while what the site is built from stays the same —
//! the database (SQLite's `data_version`, read on a connection that never writes, so a commit
//! by any process counts), the held rules and calendar (the same loading), the day (the years
//! the site lists follow it) and the public bundle files the draws' folders did not have yet
//! (a draw's files are put in place just after its commit). The first request after any of
//! them changes builds the site again; requests that come meanwhile wait and take the result.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use chrono::{NaiveDate, NaiveDateTime};

use super::{App, Fail};
use crate::calendar::Calendar;
use crate::rules::Loaded;
use crate::store::Store;

/// The last public site built and what it was built from.
#[derive(Default)]
pub(crate) struct Kept {
    state: Mutex<State>,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("kept::Kept")
    }
}

#[derive(Default)]
struct State {
    /// A connection that never writes: its `data_version` changes with every commit made by
    /// any other connection, in this process or another.
    watcher: Option<Store>,
    last: Option<Arc<Built>>,
}

/// What a site was built from.
struct Key {
    data_dir: PathBuf,
    version: i64,
    loaded: Arc<Loaded>,
    cal: Arc<Calendar>,
    day: NaiveDate,
}

impl PartialEq for Key {
    /// The same folder, database version, loaded rules and calendar (the same loading, not
    /// merely equal contents: a reload is a change) and the same day.
    fn eq(&self, other: &Key) -> bool {
        self.data_dir == other.data_dir
            && self.version == other.version
            && Arc::ptr_eq(&self.loaded, &other.loaded)
            && Arc::ptr_eq(&self.cal, &other.cal)
            && self.day == other.day
    }
}

/// A file of the site with its validator.
#[derive(Clone)]
pub(crate) struct Served {
    pub(crate) bytes: Bytes,
    pub(crate) tag: String,
}

/// A built site: every page and feed, and where each public bundle is.
struct Built {
    key: Key,
    pages: HashMap<String, Served>,
    bundles: HashMap<String, PathBuf>,
    /// The public bundles of draws whose folder did not have one when the site was built:
    /// once one of them is there, the site is built again (its draw page links it).
    awaited: Vec<PathBuf>,
    /// Each bundle's validator, computed the first time it is served (a bundle never
    /// changes: its hash is in the manifest).
    bundle_tags: Mutex<HashMap<String, String>>,
}

impl Built {
    fn current(&self, key: &Key) -> bool {
        self.key == *key && !self.awaited.iter().any(|f| f.is_file())
    }
}

impl App {
    /// The public file at `path` (relative to the site's root), from the site as kept, built
    /// again first when anything it is built from has changed; `now` is the bureau's time.
    pub(crate) fn public_file(&self, path: &str, now: NaiveDateTime) -> Result<Served, Fail> {
        let built = self.public_site(now)?;
        if let Some(page) = built.pages.get(path) {
            return Ok(page.clone());
        }
        let Some(file) = built.bundles.get(path) else {
            return Err(Fail::NotFound);
        };
        let bytes = match std::fs::read(file) {
            Ok(b) => Bytes::from(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Gone since the site was built (a folder kept aside): build it again.
                self.forget_public_site();
                return Err(Fail::NotFound);
            }
            Err(e) => return Err(Fail::Failed(format!("读取数据包失败：{e}"))),
        };
        let mut tags = built
            .bundle_tags
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let tag = tags
            .entry(path.to_string())
            .or_insert_with(|| super::public::etag(path, &bytes))
            .clone();
        Ok(Served { bytes, tag })
    }

    fn forget_public_site(&self) {
        self.inner
            .kept
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last = None;
    }

    /// The site as kept, or built again when its key or an awaited bundle says it changed.
    fn public_site(&self, now: NaiveDateTime) -> Result<Arc<Built>, Fail> {
        let (loaded, cal) = self.rules_and_calendar()?;
        let data_dir = loaded.model.config.data_dir.clone();
        // Held while building: requests that come meanwhile wait and take the result.
        let mut state = self
            .inner
            .kept
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Read before building: a commit made while building changes it, and the next
        // request builds again.
        let version = state.version(&data_dir)?;
        let key = Key {
            data_dir,
            version,
            loaded,
            cal,
            day: now.date(),
        };
        if let Some(b) = &state.last
            && b.current(&key)
        {
            return Ok(b.clone());
        }
        state.last = None;
        let built = Arc::new(build(key, now)?);
        state.last = Some(built.clone());
        Ok(built)
    }
}

/// The whole site built from the records, as of `now`.
fn build(key: Key, now: NaiveDateTime) -> Result<Built, Fail> {
    let store = Store::open_read_only(&key.data_dir).map_err(|e| Fail::of(&e))?;
    crate::jobs::sweep::report(&key.loaded.model.config.output_dir);
    let cx = crate::jobs::Context {
        loaded: Loaded::clone(&key.loaded),
        cal: Calendar::clone(&key.cal),
        store,
    };
    let site = crate::jobs::site::build(&cx, now).map_err(|e| Fail::of(&e))?;
    let pages = super::public::files(&site)
        .map_err(|e| Fail::Failed(format!("页面生成失败：{e}")))?
        .into_iter()
        .map(|(path, bytes)| {
            let tag = super::public::etag(&path, &bytes);
            let served = Served {
                bytes: Bytes::from(bytes),
                tag,
            };
            (path, served)
        })
        .collect();
    let awaited = site
        .draws()
        .filter(|d| d.bundle_file.is_none())
        .map(|d| bundle_file(&key.loaded, &d.matter, &d.period))
        .collect();
    Ok(Built {
        key,
        pages,
        bundles: super::public::bundles(&site).into_iter().collect(),
        awaited,
        bundle_tags: Mutex::default(),
    })
}

/// Where a draw's public bundle is put.
fn bundle_file(loaded: &Loaded, matter: &str, period: &str) -> PathBuf {
    crate::jobs::issue::draw_folder(&loaded.model.config.output_dir, matter, period)
        .join(crate::jobs::site::PUBLIC_BUNDLE)
}

impl State {
    /// The watcher's `data_version` (opening the watcher first if needed).
    fn version(&mut self, data_dir: &Path) -> Result<i64, Fail> {
        if self
            .watcher
            .as_ref()
            .is_none_or(|w| w.path() != data_dir.join(crate::store::DB_FILE))
        {
            self.watcher = None;
            self.last = None;
            self.watcher = Some(Store::open(data_dir).map_err(|e| Fail::of(&e))?);
        }
        match &self.watcher {
            Some(w) => w.data_version().map_err(|e| Fail::of(&e)),
            None => Err(Fail::Failed("数据库无法打开".into())),
        }
    }
}
