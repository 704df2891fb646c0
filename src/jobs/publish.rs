//! Publishing inspection results: per draw a notice (HTML, CSV, JSON) and the index, recorded
//! in one transaction and then placed (stage → commit → place, see [`super::place`]).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, TimeZone as _};
use serde::{Deserialize, Serialize};

use super::place::{Layout, MARKER, PlaceError, Staging};
use super::probe;
use super::{Context, SetupError, require_matter};
use crate::calendar::Calendar;
use crate::diag::{Fault, Problem, Report};
use crate::output::notice::{Notice, NoticeFile, index_html, index_json};
use crate::output::publication::{index_entry, notice, notice_folder, publishable};
use crate::results::ledger::{DrawLedger, LedgerError, ledgers_without_lists};
use crate::rules::Loaded;
use crate::store::{
    DrawFilter, DrawStore, NewPublication, PublicationRecord, PublishedFile, ResultStore,
    StoreError,
};

/// What to publish, and who publishes.
#[derive(Debug, Clone)]
pub struct Input {
    /// Publish as of this day (default: `today`); results of inspections that ended later
    /// wait for a later publication.
    pub as_of: Option<NaiveDate>,
    /// Today in the bureau's time zone.
    pub today: NaiveDate,
    /// Now, "YYYY-MM-DDTHH:MM:SS+08:00": when the publication is recorded.
    pub now: String,
    pub year: Option<i32>,
    pub matter: Option<String>,
    pub period: Option<String>,
    /// Work out what would be published; record and write nothing.
    pub dry_run: bool,
    /// Who publishes (recorded in the audit log).
    pub actor: String,
}

/// What a publication did (or, on a dry run, would do).
#[derive(Debug, Clone)]
pub struct Published {
    pub as_of: NaiveDate,
    /// One line per draw with anything new; empty when there was nothing to publish.
    pub draws: Vec<DrawPublished>,
    /// The public index.
    pub index: PathBuf,
    /// False on a dry run.
    pub recorded: bool,
}

#[derive(Debug, Clone)]
pub struct DrawPublished {
    pub draw_id: i64,
    pub matter: String,
    pub period: String,
    /// Targets made public by this publication.
    pub targets: usize,
    /// Of them, published by their deadline.
    pub on_time: usize,
    /// The draw's notice.
    pub notice: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("--today {as_of} is in the future (today is {today})")]
    FutureDay { as_of: NaiveDate, today: NaiveDate },
    #[error(
        "--today {as_of} would record a publication on a day that is not today ({today}) in {db}, \
         a database of real records"
    )]
    Backdated {
        as_of: NaiveDate,
        today: NaiveDate,
        db: String,
    },
    #[error("no draw of period `{period}`{} is recorded", matter.as_ref().map_or(String::new(), |m| format!(" of {m}")))]
    NoDraw {
        period: String,
        matter: Option<String>,
        /// The periods of the year that recorded draws have (of the matter, when one is named).
        recorded: Vec<String>,
    },
    #[error("publications are recorded in date order")]
    OutOfOrder {
        problems: Vec<String>,
        earliest: NaiveDate,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Snapshot(String),
    #[error(transparent)]
    Files(#[from] PlaceError),
    #[error(
        "the publication is recorded, but its files stay in {}: {source}; they are put in place the next time suiji publishes",
        dir.display()
    )]
    NotPlaced { dir: PathBuf, source: PlaceError },
}

impl Problem for PublishError {
    fn fault(&self) -> Fault {
        match self {
            PublishError::Setup(e) => e.fault(),
            PublishError::FutureDay { .. }
            | PublishError::Backdated { .. }
            | PublishError::NoDraw { .. }
            | PublishError::OutOfOrder { .. } => Fault::Invalid,
            _ => Fault::Failed,
        }
    }

    fn report(&self) -> Report {
        match self {
            PublishError::Setup(e) => e.report(),
            PublishError::FutureDay { .. } => Report::error(
                self.to_string(),
                &[
                    "a publication is recorded on the day it happens; --today is for replaying past days",
                ],
            ),
            PublishError::Backdated { .. } => Report::error(
                self.to_string(),
                &[
                    "every time recorded in a real database is the real clock: run `suiji publish` without --today to publish today",
                    "--today replays past days only in a database made by `suiji simulate` (its documents say 模拟); --dry-run shows what a day would have published without recording it",
                ],
            ),
            PublishError::NoDraw { recorded, .. } => {
                let help = match recorded.as_slice() {
                    [] => "no draw of that year is recorded: `suiji draws` lists the draws".into(),
                    periods => format!(
                        "the recorded draws of that year have: {}",
                        periods.join(", ")
                    ),
                };
                Report::error(self.to_string(), &[&help])
            }
            PublishError::OutOfOrder { problems, earliest } => {
                let mut diags: Vec<_> = problems
                    .iter()
                    .map(crate::diag::Diagnostic::error)
                    .collect();
                if let Some(last) = diags.last_mut() {
                    last.help.push(format!(
                        "publications are recorded in date order: publish as of {earliest} or later"
                    ));
                }
                Report::of(diags).closing("nothing was published.")
            }
            other => Report::error(crate::diag::chain(other), &[]),
        }
    }
}

/// A draw to publish: its ledger, the targets newly public, their result ids, how many on time.
struct Plan<'a> {
    ledger: &'a DrawLedger,
    newly: HashSet<String>,
    result_ids: Vec<i64>,
    on_time: usize,
}

/// Publishes what is due as of the day asked for: records the publication (results frozen
/// from then on) and writes the notices and the index; or, on a dry run, says what it would.
pub fn run(cx: &mut Context, input: &Input) -> Result<Published, PublishError> {
    run_on(&cx.loaded, &cx.cal, &mut cx.store, input)
}

/// [`run`] on either database ([`ResultStore`]): the same records and the same files.
pub fn run_on(
    loaded: &Loaded,
    cal: &Calendar,
    store: &mut dyn ResultStore,
    input: &Input,
) -> Result<Published, PublishError> {
    if let Some(m) = &input.matter {
        require_matter(loaded, m)?;
    }
    let as_of = input.as_of.unwrap_or(input.today);
    if as_of > input.today {
        return Err(PublishError::FutureDay {
            as_of,
            today: input.today,
        });
    }
    if as_of != input.today && !input.dry_run && !store.is_simulation()? {
        return Err(PublishError::Backdated {
            as_of,
            today: input.today,
            db: store.shown(),
        });
    }
    let out_dir = loaded.model.config.output_dir.clone();
    if !input.dry_run {
        restore(&out_dir, &*store);
    }
    // Each draw's ledger without its manifest's lists (the notices read its targets' ledger).
    let all = ledgers_without_lists(&*store, &loaded.model, cal, &DrawFilter::default(), &|_| {
        true
    })?;
    if let Some(period) = &input.period {
        recorded_period(&all, period, input.matter.as_deref())?;
    }
    let plans = plan(&all, input, as_of)?;
    let mut published = Published {
        as_of,
        draws: plans.iter().map(|p| summary(p, &out_dir)).collect(),
        index: out_dir.join("public").join("index.html"),
        recorded: false,
    };
    if plans.is_empty() || input.dry_run {
        return Ok(published);
    }
    let published_at = stamp(loaded, as_of, input);
    // The files are written into the staging folder as they are made, a file at a time.
    let staging = Staging::write(out_dir.join(super::place::staging_name("publish")), &[])?;
    let (pubs, written) = build(
        loaded,
        &*store,
        &all,
        &plans,
        (as_of, &published_at),
        input,
        &staging,
    )?;
    staging.add(Path::new(MARKER), &Marker::new(&pubs).to_bytes())?;
    probe::point("publish.staged");
    let (committed, _) = staging.commit(|| {
        store.record_publications_probed(&pubs, &mut || probe::point("publish.recording"))
    })?;
    probe::point("publish.committed");
    let dir = committed.dir().to_path_buf();
    committed
        .place(&Layout::Files {
            root: out_dir.clone(),
        })
        .map_err(|source| PublishError::NotPlaced { dir, source })?;
    for (p, kept) in plans.iter().zip(&written) {
        let r = &p.ledger.draw.record;
        drop_other_pages(&out_dir.join(notice_folder(&r.matter, &r.period)), kept);
    }
    let subject = subject(&plans);
    super::anchor::record_after(&out_dir, store, &published_at, "publication", &subject);
    published.recorded = true;
    Ok(published)
}

/// What a publication's anchor names: its draws' matters and periods.
fn subject(plans: &[Plan<'_>]) -> String {
    plans
        .iter()
        .map(|p| {
            let r = &p.ledger.draw.record;
            format!("{} {}", r.matter, r.period)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary(p: &Plan<'_>, out_dir: &Path) -> DrawPublished {
    let d = &p.ledger.draw;
    DrawPublished {
        draw_id: d.id,
        matter: d.record.matter.clone(),
        period: d.record.period.clone(),
        targets: p.newly.len(),
        on_time: p.on_time,
        notice: out_dir
            .join(notice_folder(&d.record.matter, &d.record.period))
            .join("notice.html"),
    }
}

/// Refuses a `--period` no recorded draw (of `matter`, when one is named) has: a mistyped
/// period would otherwise read as "nothing new to publish".
fn recorded_period(
    all: &[DrawLedger],
    period: &str,
    matter: Option<&str>,
) -> Result<(), PublishError> {
    let of_matter = |l: &&DrawLedger| matter.is_none_or(|m| l.draw.record.matter == m);
    if all
        .iter()
        .filter(of_matter)
        .any(|l| l.draw.record.period == period)
    {
        return Ok(());
    }
    let year = period.get(..4).unwrap_or(period);
    let mut recorded: Vec<String> = all
        .iter()
        .filter(of_matter)
        .map(|l| l.draw.record.period.clone())
        .filter(|p| p.starts_with(year))
        .collect();
    recorded.sort();
    recorded.dedup();
    Err(PublishError::NoDraw {
        period: period.to_string(),
        matter: matter.map(str::to_string),
        recorded,
    })
}

/// What to publish, draw by draw; refuses the whole run if a date would go backwards.
fn plan<'a>(
    all: &'a [DrawLedger],
    input: &Input,
    as_of: NaiveDate,
) -> Result<Vec<Plan<'a>>, PublishError> {
    let chosen: Vec<&DrawLedger> = all
        .iter()
        .filter(|l| {
            input
                .year
                .is_none_or(|y| l.draw.record.period.starts_with(&y.to_string()))
                && input
                    .matter
                    .as_ref()
                    .is_none_or(|m| &l.draw.record.matter == m)
                && input
                    .period
                    .as_ref()
                    .is_none_or(|p| &l.draw.record.period == p)
        })
        .collect();
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for l in &chosen {
        let (targets, result_ids) = publishable(l, as_of);
        if targets.is_empty() {
            continue;
        }
        if let Some(last) = l.last_published()
            && last > as_of
        {
            problems.push(format!(
                "draw #{} ({} {}) was last published on {last}, after --today {as_of}",
                l.draw.id, l.draw.record.matter, l.draw.record.period
            ));
            continue;
        }
        let on_time = targets
            .iter()
            .filter(|t| t.deadline.is_some_and(|d| as_of <= d))
            .count();
        let newly = targets.iter().map(|t| t.target_id.clone()).collect();
        plans.push(Plan {
            ledger: l,
            newly,
            result_ids,
            on_time,
        });
    }
    if !problems.is_empty() {
        let latest = chosen.iter().filter_map(|l| l.last_published()).max();
        return Err(PublishError::OutOfOrder {
            problems,
            earliest: as_of.max(latest.unwrap_or(as_of)),
        });
    }
    Ok(plans)
}

/// The timestamp recorded for a publication: now when it is for today, else noon of its day.
fn stamp(loaded: &Loaded, day: NaiveDate, input: &Input) -> String {
    if day == input.today {
        return input.now.clone();
    }
    let noon = day.and_hms_opt(12, 0, 0).unwrap_or_default();
    match loaded
        .model
        .config
        .timezone
        .from_local_datetime(&noon)
        .earliest()
    {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        None => format!("{day}T12:00:00"),
    }
}

type Files = Vec<(PathBuf, Vec<u8>)>;

/// Writes the notices and the index into `staging` (paths relative to the output folder),
/// each file as it is made; returns the records, and the names of each notice's files (in
/// its folder).
fn build(
    loaded: &Loaded,
    store: &dyn ResultStore,
    all: &[DrawLedger],
    plans: &[Plan<'_>],
    (as_of, published_at): (NaiveDate, &str),
    input: &Input,
    staging: &Staging,
) -> Result<(Vec<NewPublication>, Vec<Vec<String>>), PublishError> {
    let model = &loaded.model;
    let rows = notice_rows(store, plans.iter().map(|p| (p.ledger, &p.newly)))?;
    let none = HashMap::new();
    let mut pubs = Vec::new();
    let mut written = Vec::new();
    for p in plans {
        let l = p.ledger;
        let registry = rows.get(&l.draw.record.targets_snapshot).unwrap_or(&none);
        let n = notice(model, l, registry, &p.newly, as_of);
        let folder = notice_folder(&l.draw.record.matter, &l.draw.record.period);
        let files = n.files(true);
        let described = write_notice(&n, &files, &folder, staging)?;
        let mut targets: Vec<String> = p.newly.iter().cloned().collect();
        targets.sort();
        let record = PublicationRecord {
            as_of: as_of.to_string(),
            files: described,
            recorded_at: input.now.clone(),
            targets,
        };
        pubs.push(NewPublication {
            draw_id: l.draw.id,
            published_at: published_at.to_string(),
            actor: input.actor.clone(),
            files: record.to_value(),
            result_ids: p.result_ids.clone(),
        });
        written.push(files.into_iter().map(|(name, _)| name).collect());
    }
    // The index lists every draw with anything published, whatever the filters.
    let newly: HashMap<i64, &HashSet<String>> =
        plans.iter().map(|p| (p.ledger.draw.id, &p.newly)).collect();
    for (rel, bytes) in index_files(&model.config.bureau.name, all, &newly, as_of) {
        staging.add(&rel, &bytes)?;
    }
    Ok((pubs, written))
}

/// Writes a notice's `files` into `staging` under `folder`, hashed on the way: the feed (the
/// longest) on a thread of its own beside the pages and the CSV. Returns each file's record,
/// in the order of `files`.
fn write_notice(
    n: &Notice<'_>,
    files: &[(String, NoticeFile)],
    folder: &Path,
    staging: &Staging,
) -> Result<Vec<PublishedFile>, PlaceError> {
    let write = |(i, (name, file)): (usize, &(String, NoticeFile))| {
        let rel = folder.join(name);
        let sha256 = staging.add_hashed(&rel, |out| n.write_file(*file, out))?;
        let path = rel.to_string_lossy().replace('\\', "/");
        Ok::<_, PlaceError>((i, PublishedFile { path, sha256 }))
    };
    let (feed, rest): (Vec<_>, Vec<_>) = files
        .iter()
        .enumerate()
        .partition(|(_, (_, f))| *f == NoticeFile::Json);
    let (feed, rest) = std::thread::scope(|s| {
        let feed = s.spawn(|| feed.into_iter().map(write).collect::<Result<Vec<_>, _>>());
        let rest = rest.into_iter().map(write).collect::<Result<Vec<_>, _>>();
        (feed.join(), rest)
    });
    let feed = feed.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    let mut written = rest?;
    written.extend(feed);
    written.sort_by_key(|(i, _)| *i);
    Ok(written.into_iter().map(|(_, f)| f).collect())
}

/// Removes the pages of a notice in `folder` that are not among `kept` (the notice's files just
/// written): a notice written again with fewer pages (the period drawn again) leaves none of
/// the earlier one's behind. A page that cannot be removed is logged.
pub(crate) fn drop_other_pages(folder: &Path, kept: &[String]) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let page = name.starts_with("notice-page") && name.ends_with(".html");
        if page
            && !kept.contains(&name)
            && let Err(err) = std::fs::remove_file(e.path())
        {
            tracing::warn!("cannot remove {}: {err}", e.path().display());
        }
    }
}

/// The index of notices (paths relative to the output folder) once the targets in `newly`
/// (by draw) are published on `as_of`: every draw with anything published.
pub(crate) fn index_files(
    bureau: &str,
    all: &[DrawLedger],
    newly: &HashMap<i64, &HashSet<String>>,
    as_of: NaiveDate,
) -> Files {
    let empty = HashSet::new();
    let index: Vec<_> = all
        .iter()
        .filter_map(|l| index_entry(l, newly.get(&l.draw.id).copied().unwrap_or(&empty), as_of))
        .collect();
    // Every draw of a simulation database is marked 模拟, and so is the index of its notices.
    let simulation = all.iter().any(|l| l.marks.simulation);
    let public = PathBuf::from("public");
    vec![
        (
            public.join("index.html"),
            index_html(bureau, &index, simulation).into_bytes(),
        ),
        (
            public.join("index.json"),
            index_json(bureau, &index, simulation).into_bytes(),
        ),
    ]
}

/// The rows of the draws' archived target snapshots their notices show: the targets
/// published, or about to be (`newly`), each snapshot read once.
pub(crate) fn notice_rows<'a>(
    store: &dyn DrawStore,
    notices: impl IntoIterator<Item = (&'a DrawLedger, &'a HashSet<String>)>,
) -> Result<super::verify::SnapshotRows, PublishError> {
    let wanted = notices.into_iter().flat_map(|(l, newly)| {
        let hash = l.draw.record.targets_snapshot.as_str();
        crate::output::publication::shown(l, newly).map(move |id| (hash, id))
    });
    super::verify::archived_rows(store, wanted).map_err(PublishError::Snapshot)
}

/// The marker of a publication's staging folder: the records its files belong to.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    format: String,
    publications: Vec<(i64, serde_json::Value)>,
}

const MARKER_FORMAT: &str = "suiji-staged-publication/1";

impl Marker {
    fn new(pubs: &[NewPublication]) -> Marker {
        Marker {
            format: MARKER_FORMAT.into(),
            publications: pubs.iter().map(|p| (p.draw_id, p.files.clone())).collect(),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    fn read(dir: &Path) -> Option<Marker> {
        let m: Marker = serde_json::from_slice(&std::fs::read(dir.join(MARKER)).ok()?).ok()?;
        (m.format == MARKER_FORMAT).then_some(m)
    }

    /// Whether every publication it names is recorded.
    fn committed(&self, store: &dyn ResultStore) -> bool {
        !self.publications.is_empty()
            && self.publications.iter().all(|(draw_id, record)| {
                store
                    .publications(*draw_id)
                    .is_ok_and(|rows| rows.iter().any(|r| &r.files == record))
            })
    }
}

/// Whether a staging folder holds the files of publications the database records.
pub fn staged_recorded(dir: &Path, store: &dyn ResultStore) -> bool {
    Marker::read(dir).is_some_and(|m| m.committed(store))
}

/// Puts in place the files of publications that were recorded but whose files a crash (or a
/// failed move) left staged. Returns the staging folders placed.
pub fn restore(out_dir: &Path, store: &dyn ResultStore) -> Vec<PathBuf> {
    let placed = super::place::restore(out_dir, ".publish.staging-", |dir| {
        Marker::read(dir)
            .filter(|m| m.committed(store))
            .map(|_| Layout::Files {
                root: out_dir.to_path_buf(),
            })
    });
    for dir in &placed {
        tracing::warn!(folder = %dir.display(), "a publication's files were left staged by an interrupted run; moved into place");
    }
    placed
}
