//! The public site kept between requests: built once, then its pages, feeds and each public
//! bundle's validator answered from memory while what the site is built from stays the same —
//! the database (its change marker, `keep`: SQLite's `data_version`, read on a connection
//! that never writes, so a commit by any process counts; on PostgreSQL what every node reads
//! alike), the held rules and calendar (the same loading), the day (the years
//! the site lists follow it) and the public bundle files the draws' folders did not have yet
//! (a draw's files are put in place just after its commit). The first request after any of
//! them changes builds the site again; requests that come meanwhile wait and take the result.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use chrono::{NaiveDate, NaiveDateTime};

use super::keep::{Keep, Source};
use super::{App, Fail};
use crate::calendar::Calendar;
use crate::rules::Loaded;
use crate::store::{ConsoleStore, Store};

/// The last public site built, with what it was built from: the source and the day.
pub(crate) type Kept = Keep<(Source, NaiveDate), Arc<Built>>;

/// A file of the site with its validator.
#[derive(Clone)]
pub(crate) struct Served {
    pub(crate) bytes: Bytes,
    pub(crate) tag: String,
}

/// A built site: every page and feed, and where each public bundle is.
pub(crate) struct Built {
    pages: HashMap<String, Served>,
    bundles: HashMap<String, PathBuf>,
    /// The public bundles of draws whose folder did not have one when the site was built:
    /// once one of them is there, the site is built again (its draw page links it).
    awaited: Vec<PathBuf>,
    /// Each bundle's validator, computed the first time it is served (a bundle never
    /// changes: its hash is in the manifest).
    bundle_tags: Mutex<HashMap<String, String>>,
    /// What a platform's index shows of this site.
    pub(crate) summary: Summary,
}

/// What a platform's index shows of a bureau's public site: its years (newest first) and its
/// latest draws (newest first), each as (draw number, what it drew).
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub(crate) years: Vec<i32>,
    pub(crate) latest: Vec<(i64, String)>,
}

/// How many of the latest draws a platform's index lists per bureau.
const LATEST: usize = 5;

fn summary(site: &crate::jobs::site::Site) -> Summary {
    let mut latest: Vec<(i64, String)> = site
        .draws()
        .map(|d| {
            let what = format!(
                "{} · {} · {}",
                d.department_name, d.matter_name, d.period_label
            );
            (d.id, what)
        })
        .collect();
    latest.sort_by_key(|d| std::cmp::Reverse(d.0));
    latest.truncate(LATEST);
    Summary {
        years: site.years.iter().map(|y| y.year).collect(),
        latest,
    }
}

impl Built {
    /// Whether no awaited bundle has come since the site was built.
    fn current(&self) -> bool {
        !self.awaited.iter().any(|f| f.is_file())
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
                self.inner.kept.forget();
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

    /// The site as kept, or built again when its source, its day or an awaited bundle says
    /// it changed. The source is read before building: a commit made while building changes
    /// it, and the next request builds again.
    pub(crate) fn public_site(&self, now: NaiveDateTime) -> Result<Arc<Built>, Fail> {
        let source = self.seen()?.source(self)?;
        self.inner.kept.get_if(
            (source, now.date()),
            |b| b.current(),
            |(source, _)| Ok(Arc::new(build(self, source, now)?)),
        )
    }
}

/// The whole site built from the records, as of `now`.
fn build(app: &App, source: &Source, now: NaiveDateTime) -> Result<Built, Fail> {
    let store: Box<dyn ConsoleStore> = match &source.db.place {
        super::pool::Place::Folder(dir) => {
            Box::new(Store::open_read_only(dir).map_err(|e| Fail::of(&e))?)
        }
        super::pool::Place::Server(_) => app.context_of(source, None)?.store,
    };
    let loaded = &source.loaded;
    crate::jobs::sweep::report(&loaded.model.config.output_dir);
    let cx = crate::jobs::Context {
        loaded: Loaded::clone(loaded),
        cal: Calendar::clone(&*source.calendar(app)?),
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
        .map(|d| bundle_file(loaded, &d.matter, &d.period))
        .collect();
    Ok(Built {
        summary: summary(&site),
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
