//! The public site (一公开): what anyone may read without logging in — the yearly plans, the
//! list of matters, per draw the list of drawn targets (抽查对象名单) with its public bundle, and
//! per draw the results notice once published. One model for both faces: `suiji serve` answers
//! it under `/public`, `suiji publish --site` writes it as static files. Only the target fields
//! `[publication] public_fields` names appear; inspectors, teams and remarks never do.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use super::{Context, SetupError};
use crate::output::notice::Notice;
use crate::output::plan::MatterSheet;
use crate::output::publication::notice;
use crate::output::tasks::{public_field, public_field_label};
use crate::registry::Target;
use crate::results::ledger::{DrawLedger, LedgerError, ledgers};
use crate::rules::names::{period_label, seed_source_text};
use crate::schedule::marks::DrawMarks;
use crate::store::PublicationRecord;
use crate::store::{DrawFilter, Records, StoreError};

/// The name of a draw's public bundle, beside its other files and on the public site.
pub const PUBLIC_BUNDLE: &str = super::bundle::PUBLIC_FILE;
/// A draw's changes after the draw on the public site, beside its bundle
/// (`draws/<id>/changes.json`, [`PublicChanges`]).
pub const PUBLIC_CHANGES: &str = "changes.json";

/// Everything the public site shows.
#[derive(Debug, Clone)]
pub struct Site {
    pub bureau: String,
    pub region: String,
    /// When this site was built (real time, "YYYY-MM-DD HH:MM").
    pub built_at: String,
    /// The database is a simulation: every page says 模拟.
    pub simulation: bool,
    /// The public fields' column names, in the config's order.
    pub field_labels: Vec<String>,
    pub matters: Vec<MatterSheet>,
    /// Newest first.
    pub years: Vec<SiteYear>,
    /// Every commitment to a draw's public seed source, newest first.
    pub commitments: Vec<SiteCommitment>,
    /// The bureau's time zone: the site's times are local to it.
    pub timezone: chrono_tz::Tz,
    /// `[publication] site_url`, ending in `/`: the feeds' links are absolute under it.
    pub url: Option<String>,
}

/// One entry of the site's feed (`feed.json`, `feed.xml`): a draw's list, a results notice
/// or a seed commitment.
#[derive(Debug, Clone)]
pub struct FeedItem {
    /// Stable while the entry is unchanged (a notice published again is a new entry).
    pub id: String,
    /// The page: under the site's address when the config gives it, else relative to the
    /// site's root.
    pub link: String,
    pub title: String,
    pub summary: String,
    pub at: chrono::DateTime<chrono::FixedOffset>,
}

/// The most entries a feed holds (the newest).
pub const FEED_ITEMS: usize = 200;

/// A commitment to a draw's seed source as the public sees it: made (and published) before
/// the source's value existed; revealed by the draw that used the value.
#[derive(Debug, Clone)]
pub struct SiteCommitment {
    pub id: i64,
    pub matter_name: String,
    pub department_name: String,
    pub period_label: String,
    /// The named public source of the seed.
    pub source: String,
    /// When the source announces its value, "YYYY-MM-DD HH:MM" (local time).
    pub source_time: String,
    /// When the commitment was made, "YYYY-MM-DD HH:MM".
    pub committed_at: String,
    /// A draw has used the source's value (已揭示).
    pub revealed: bool,
    /// The draw that used it, when the site shows it: (draw id, when it was drawn).
    pub draw: Option<(i64, String)>,
}

/// One year: its plan and its draws by department and matter.
#[derive(Debug, Clone)]
pub struct SiteYear {
    pub year: i32,
    /// The year's schedule, in issue order; empty with `plan_note` when it cannot be dated.
    pub plan: Vec<PlanLine>,
    pub plan_note: Option<String>,
    pub departments: Vec<SiteDepartment>,
}

#[derive(Debug, Clone)]
pub struct PlanLine {
    pub issue: String,
    pub due: String,
    pub department: String,
    pub matter: String,
    pub period: String,
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct SiteDepartment {
    pub name: String,
    pub matters: Vec<SiteMatter>,
}

#[derive(Debug, Clone)]
pub struct SiteMatter {
    pub name: String,
    pub draws: Vec<SiteDraw>,
}

/// One draw as the public sees it.
#[derive(Debug, Clone)]
pub struct SiteDraw {
    pub id: i64,
    pub matter: String,
    pub matter_name: String,
    pub department_name: String,
    pub period: String,
    pub period_label: String,
    /// 按计划, 手动抽取, or a holiday's 专项.
    pub kind: String,
    pub marks: DrawMarks,
    pub due_date: String,
    pub algorithm: String,
    pub seed: String,
    pub seed_source: String,
    pub manifest_hash: String,
    /// 抽取编号 (the manifest hash's first 12 digits).
    pub draw_ref: String,
    /// SHA-256 of the public bundle, when the manifest records it (`suiji-manifest/2`).
    pub bundle_hash: Option<String>,
    /// The public bundle's file, when the draw's folder has one.
    pub bundle_file: Option<PathBuf>,
    /// Whether `exclusions.csv` is published beside the bundle (a `suiji-public-bundle/2`, `/3` or `/4`
    /// keeps only its summary; the file lists the exclusions).
    pub bundle_detail: bool,
    /// (stratum, eligible, drawn).
    pub strata: Vec<(String, usize, usize)>,
    /// The drawn targets' public fields, in draw order.
    pub rows: Vec<Vec<String>>,
    /// This draw replaced an earlier one: why.
    pub redraw_reason: Option<String>,
    /// The draw this one replaced.
    pub redraw_of: Option<i64>,
    /// The draw that replaced this one (its list no longer stands; what it published stays).
    pub superseded_by: Option<i64>,
    /// The commitment whose source's value seeded this draw.
    pub commitment: Option<i64>,
    pub notice: Option<SiteNotice>,
    /// Targets replaced after the draw (替补) or marked out of scope (不在范围), in order.
    pub changes: Vec<SiteChange>,
    /// Team members replaced after the draw (人员调整): counted, never named.
    pub staff_changes: usize,
    /// Every change after the draw as the verification page replays it
    /// (`draws/<id>/changes.json`, [`PublicChanges`]).
    pub public_changes: PublicChanges,
}

/// The changes after a draw as the public site publishes them (`draws/<id>/changes.json`,
/// `suiji-public-changes/1`, docs/draw-algorithm.md V2-13.4): what the verification page needs
/// to replay them over the draw's public bundle. Inspectors are never named: a 人员调整 shows
/// only its target and cause.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PublicChanges {
    pub format: &'static str,
    pub draw: i64,
    pub matter: String,
    pub period: String,
    /// The SHA-256 of the draw's public bundle, when the manifest records it.
    pub public_bundle: Option<String>,
    /// In the order they were made (their numbers).
    pub changes: Vec<PublicChange>,
}

/// One change after a draw, as [`PublicChanges`] lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PublicChange {
    pub id: i64,
    /// `target` (替补, 不在范围) or `inspector` (人员调整).
    pub kind: String,
    pub cause: String,
    pub target_id: String,
    /// The substitute taken in (target changes); `null` when marked without one, and for
    /// inspector changes (not published).
    pub replacement: Option<String>,
    pub changed_at: String,
}

/// The format of `draws/<id>/changes.json`.
pub const PUBLIC_CHANGES_FORMAT: &str = "suiji-public-changes/1";

/// A draw's changes as published for the verification page.
fn public_changes(d: &SiteDraw, changes: &[crate::store::DrawChange]) -> PublicChanges {
    PublicChanges {
        format: PUBLIC_CHANGES_FORMAT,
        draw: d.id,
        matter: d.matter.clone(),
        period: d.period.clone(),
        public_bundle: d.bundle_hash.clone(),
        changes: changes
            .iter()
            .map(|c| PublicChange {
                id: c.id,
                kind: c.kind.clone(),
                cause: c.cause.clone(),
                target_id: c.target_id.clone(),
                replacement: (c.kind == "target")
                    .then(|| c.replacement.clone())
                    .flatten(),
                changed_at: c.changed_at.clone(),
            })
            .collect(),
    }
}

/// A drawn target replaced or marked after the draw, as the public sees it.
#[derive(Debug, Clone)]
pub struct SiteChange {
    /// 替补, or 不在范围（不替补）.
    pub what: String,
    pub cause: String,
    /// The target and its substitute by their public name (or id), "—" for none.
    pub target: String,
    pub replacement: String,
    pub reason: String,
    /// "YYYY-MM-DD HH:MM".
    pub at: String,
}

/// A draw's results notice as last published.
#[derive(Debug, Clone)]
pub struct SiteNotice {
    /// When the latest publication was recorded (real time, "YYYY-MM-DD HH:MM").
    pub published_at: String,
    /// The day it speaks for.
    pub as_of: String,
    pub channel: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl SiteDraw {
    /// The year the draw belongs to (its period's).
    pub fn year(&self) -> i32 {
        self.period
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or_default()
    }
}

impl SiteYear {
    /// Draws of the year.
    pub fn draw_count(&self) -> usize {
        self.departments
            .iter()
            .flat_map(|d| &d.matters)
            .map(|m| m.draws.len())
            .sum()
    }
}

impl Site {
    /// Every draw, newest year first, then by department and matter.
    pub fn draws(&self) -> impl Iterator<Item = &SiteDraw> {
        self.years
            .iter()
            .flat_map(|y| &y.departments)
            .flat_map(|d| &d.matters)
            .flat_map(|m| &m.draws)
    }

    /// The feed: every draw's list, every results notice (as last published) and every seed
    /// commitment, newest first, at most [`FEED_ITEMS`].
    pub fn feed(&self) -> Vec<FeedItem> {
        let mut items = Vec::new();
        for d in self.draws() {
            let what = format!("{} {}", d.matter_name, d.period_label);
            items.extend(self.zoned(&d.marks.drawn_at).map(|at| FeedItem {
                id: format!("draw-{}", d.id),
                link: format!("draws/{}.html", d.id),
                title: format!("{what} 抽查对象名单{}", d.marks.labels()),
                summary: format!(
                    "{} {}：{what}（{}）抽中 {} 户，{}。",
                    self.bureau,
                    d.department_name,
                    d.kind,
                    d.rows.len(),
                    d.marks.when()
                ),
                at,
            }));
            if let Some(n) = &d.notice {
                items.extend(self.zoned(&n.published_at).map(|at| FeedItem {
                    id: format!(
                        "notice-{}-{}",
                        d.id,
                        n.published_at.replace([' ', ':'], "-")
                    ),
                    link: format!("draws/{}/notice.html", d.id),
                    title: format!("{what} 抽查结果公示"),
                    summary: format!(
                        "{} {}：{what} 抽查结果公示（截至 {}，{} 户）。",
                        self.bureau,
                        d.department_name,
                        n.as_of,
                        n.rows.len()
                    ),
                    at,
                }));
            }
        }
        for k in &self.commitments {
            let what = format!("{} {}", k.matter_name, k.period_label);
            items.extend(self.zoned(&k.committed_at).map(|at| FeedItem {
                id: format!("commitment-{}", k.id),
                link: format!("commitments.html#k-{}", k.id),
                title: format!("随机种子承诺 #{}：{what}", k.id),
                summary: format!(
                    "{what} 的随机种子将取自“{}”，该值于 {} 公布。",
                    k.source, k.source_time
                ),
                at,
            }));
        }
        items.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.id.cmp(&b.id)));
        items.truncate(FEED_ITEMS);
        for i in &mut items {
            i.link = self.address(&i.link);
        }
        items
    }

    /// The address of `page` (relative to the site's root): absolute under `[publication]
    /// site_url` when the config gives it, else `page` as it is.
    pub fn address(&self, page: &str) -> String {
        match &self.url {
            Some(base) => format!("{base}{page}"),
            None => page.to_string(),
        }
    }

    /// A site time ("YYYY-MM-DD HH:MM", local) with the bureau's offset (a time recorded with
    /// its offset as it is).
    fn zoned(&self, local: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        use chrono::TimeZone;
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(local) {
            return Some(t);
        }
        let t = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").ok()?;
        self.timezone
            .from_local_datetime(&t)
            .earliest()
            .map(|t| t.fixed_offset())
    }

    /// Commitments no draw has revealed yet (待揭示).
    pub fn waiting_commitments(&self) -> usize {
        self.commitments.iter().filter(|k| !k.revealed).count()
    }

    pub fn draw(&self, id: i64) -> Option<&SiteDraw> {
        self.draws().find(|d| d.id == id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Snapshot(String),
    #[error("cannot render the site's pages: {0}")]
    Render(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl crate::diag::Problem for SiteError {
    fn fault(&self) -> crate::diag::Fault {
        match self {
            SiteError::Setup(e) => e.fault(),
            _ => crate::diag::Fault::Failed,
        }
    }

    fn report(&self) -> crate::diag::Report {
        match self {
            SiteError::Setup(e) => e.report(),
            other => crate::diag::Report::error(crate::diag::chain(other), &[]),
        }
    }
}

/// Builds the public site from the records, as of `now` (the real time, local).
pub fn build<S: Records>(cx: &Context<S>, now: chrono::NaiveDateTime) -> Result<Site, SiteError> {
    let model = &cx.loaded.model;
    // Superseded draws too: a redraw does not take back what was made public (the list, the
    // results published), and the public sees that the draw was made again.
    let every = DrawFilter {
        include_superseded: true,
        ..DrawFilter::default()
    };
    let all = ledgers(cx.store.records(), model, &cx.cal, &every)?;
    let changes = all
        .iter()
        .map(|l| cx.store.records().changes_of(l.draw.id))
        .collect::<Result<Vec<_>, _>>()?;
    // The rows the pages show: each draw's drawn targets and those its changes name.
    let wanted = all.iter().zip(&changes).flat_map(|(l, changes)| {
        let hash = l.draw.record.targets_snapshot.as_str();
        let drawn = l.targets.iter().map(|t| t.target_id.as_str());
        let changed = changes
            .iter()
            .flat_map(|c| std::iter::once(c.target_id.as_str()).chain(c.replacement.as_deref()));
        drawn.chain(changed).map(move |id| (hash, id))
    });
    let rows =
        super::verify::archived_rows(cx.store.records(), wanted).map_err(SiteError::Snapshot)?;
    let none = HashMap::new();
    let mut draws = Vec::with_capacity(all.len());
    for (l, changes) in all.iter().zip(changes) {
        let registry = rows.get(&l.draw.record.targets_snapshot).unwrap_or(&none);
        let mut d = site_draw(cx, l, registry);
        d.staff_changes = changes.iter().filter(|c| c.kind == "inspector").count();
        d.changes = site_changes(&cx.loaded.model, &changes, registry);
        d.public_changes = public_changes(&d, &changes);
        draws.push(d);
    }
    let commitments = site_commitments(cx, &draws)?;
    // Each draw moved into its year (a national draw's rows are never copied).
    let mut by_year: BTreeMap<i32, Vec<SiteDraw>> = BTreeMap::new();
    by_year.entry(now.year()).or_default();
    for d in draws {
        by_year.entry(d.year()).or_default().push(d);
    }
    let years = by_year
        .into_iter()
        .rev()
        .map(|(year, draws)| site_year(cx, year, draws))
        .collect();
    Ok(Site {
        bureau: model.config.bureau.name.clone(),
        region: model.config.bureau.region.clone(),
        built_at: now.format("%Y-%m-%d %H:%M").to_string(),
        simulation: cx.store.records().is_simulation()?,
        field_labels: model
            .config
            .public_fields
            .iter()
            .map(|f| public_field_label(f).to_string())
            .collect(),
        matters: super::plan::matters(&cx.loaded, |_| true),
        years,
        commitments,
        timezone: model.config.timezone,
        url: model.config.site_url.clone(),
    })
}

/// Every commitment, newest first, each with the draw that revealed it.
fn site_commitments<S: Records>(
    cx: &Context<S>,
    draws: &[SiteDraw],
) -> Result<Vec<SiteCommitment>, SiteError> {
    let model = &cx.loaded.model;
    let mut out: Vec<SiteCommitment> = cx
        .store
        .records()
        .commitments()?
        .into_iter()
        .map(|(k, revealed)| {
            let m = model.matter(&k.matter);
            SiteCommitment {
                id: k.id,
                matter_name: m.map_or_else(|| k.matter.clone(), |m| m.name.clone()),
                department_name: m.map_or_else(String::new, |m| department_name(cx, &m.department)),
                period_label: period_label(&k.period),
                source: k.source.clone(),
                source_time: minutes(&k.source_time),
                committed_at: minutes(&k.committed_at),
                revealed,
                draw: draws
                    .iter()
                    .find(|d| d.commitment == Some(k.id))
                    .map(|d| (d.id, d.marks.drawn_at.clone())),
            }
        })
        .collect();
    out.reverse();
    Ok(out)
}

/// A recorded time (RFC 3339) as the site shows it: "YYYY-MM-DD HH:MM", local to its offset.
fn minutes(recorded: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(recorded).map_or_else(
        |_| recorded.to_string(),
        |t| t.naive_local().format("%Y-%m-%d %H:%M").to_string(),
    )
}

fn site_year<S>(cx: &Context<S>, year: i32, draws: Vec<SiteDraw>) -> SiteYear {
    let (plan, plan_note) = plan_lines(cx, year);
    let mut by_dept: BTreeMap<(i64, String), BTreeMap<String, Vec<SiteDraw>>> = BTreeMap::new();
    for d in draws {
        let order = cx
            .loaded
            .model
            .departments
            .iter()
            .find(|x| x.name == d.department_name)
            .map_or(i64::MAX, |x| x.order);
        by_dept
            .entry((order, d.department_name.clone()))
            .or_default()
            .entry(d.matter_name.clone())
            .or_default()
            .push(d);
    }
    let departments = by_dept
        .into_iter()
        .map(|((_, name), matters)| SiteDepartment {
            name,
            matters: matters
                .into_iter()
                .map(|(name, draws)| SiteMatter { name, draws })
                .collect(),
        })
        .collect();
    SiteYear {
        year,
        plan,
        plan_note,
        departments,
    }
}

/// The year's schedule, or why there is none yet.
fn plan_lines<S>(cx: &Context<S>, year: i32) -> (Vec<PlanLine>, Option<String>) {
    let input = super::schedule::Input {
        year,
        provisional: false,
        matter: None,
    };
    let Ok(schedule) = super::schedule::run(&cx.loaded, &input) else {
        return (
            Vec::new(),
            Some(format!("{year} 年节假日安排尚未公布，抽取日程待定。")),
        );
    };
    let model = &cx.loaded.model;
    let lines = schedule
        .draws
        .iter()
        .map(|d| {
            let m = model.matter(&d.matter);
            PlanLine {
                issue: d.issue_date().to_string(),
                due: d.due.to_string(),
                department: m.map_or_else(String::new, |m| department_name(cx, &m.department)),
                matter: m.map_or_else(|| d.matter.clone(), |m| m.name.clone()),
                period: d.period.label_zh(),
                kind: match d.kind {
                    crate::schedule::DrawKind::Regular => "按计划".into(),
                    crate::schedule::DrawKind::Holiday(h) => format!("{}专项", h.name_zh()),
                },
            }
        })
        .collect();
    (lines, None)
}

fn department_name<S>(cx: &Context<S>, id: &str) -> String {
    cx.loaded
        .model
        .departments
        .iter()
        .find(|d| d.id == id)
        .map_or_else(|| id.to_string(), |d| d.name.clone())
}

fn site_draw<S>(cx: &Context<S>, l: &DrawLedger, registry: &HashMap<String, Target>) -> SiteDraw {
    let model = &cx.loaded.model;
    let m = &l.manifest;
    let fields = &model.config.public_fields;
    let rows = l
        .targets
        .iter()
        .map(|s| match registry.get(&s.target_id) {
            Some(t) => fields.iter().map(|f| public_field(model, t, f)).collect(),
            None => fields
                .iter()
                .map(|f| match f.as_str() {
                    "id" => s.target_id.clone(),
                    "name" => s.target_name.clone(),
                    _ => String::new(),
                })
                .collect(),
        })
        .collect();
    let mut folder = super::issue::draw_folder(&model.config.output_dir, &m.matter, &m.period.id);
    if let Some(by) = l.draw.superseded_by {
        folder = super::issue::superseded_folder(&folder, &m.period.id, by);
    }
    let bundle = folder.join(PUBLIC_BUNDLE);
    let mut strata: Vec<(String, usize, usize)> = m
        .strata
        .iter()
        .map(|s| (s.stratum.clone(), s.eligible, s.k))
        .collect();
    strata.sort();
    SiteDraw {
        id: l.draw.id,
        matter: m.matter.clone(),
        matter_name: l.matter_name.clone(),
        department_name: department_name(cx, &m.department),
        period: m.period.id.clone(),
        period_label: period_label(&m.period.id),
        kind: crate::rules::names::kind_label(&l.draw.record.kind, &l.draw.record.period),
        marks: l.marks.clone(),
        due_date: m.due_date.to_string(),
        algorithm: m.algorithm.clone(),
        seed: m.seed.clone(),
        seed_source: seed_source_text(&m.seed_source),
        manifest_hash: m.manifest_hash.clone(),
        draw_ref: l.draw_ref.clone(),
        bundle_hash: m.public_bundle.clone(),
        bundle_detail: bundle.is_file()
            && bundle
                .with_file_name(crate::draw::manifest::EXCLUSIONS_FILE)
                .is_file(),
        bundle_file: bundle.is_file().then_some(bundle),
        strata,
        rows,
        redraw_reason: l.draw.redraw_reason.clone(),
        redraw_of: l.draw.redraw_of,
        superseded_by: l.draw.superseded_by,
        commitment: crate::store::commitment_in(&m.seed_source),
        notice: site_notice(model, l, registry),
        changes: Vec::new(),
        staff_changes: 0,
        public_changes: PublicChanges::default(),
    }
}

/// The target changes of a draw, each target named by a public field: its name when the
/// config publishes names, else its id when it publishes ids, else its first public field.
fn site_changes(
    model: &crate::rules::model::Model,
    changes: &[crate::store::DrawChange],
    registry: &HashMap<String, Target>,
) -> Vec<SiteChange> {
    let fields = &model.config.public_fields;
    let field = ["name", "id"]
        .into_iter()
        .find(|f| fields.iter().any(|x| x == f))
        .map(str::to_string)
        .or_else(|| fields.first().cloned());
    let named = |id: &str| match (registry.get(id), &field) {
        (Some(t), Some(f)) => public_field(model, t, f),
        _ => id.to_string(),
    };
    changes
        .iter()
        .filter(|c| c.kind == "target")
        .map(|c| {
            let (what, cause) =
                crate::rules::names::change_text(&c.kind, c.replacement.is_some(), &c.cause);
            SiteChange {
                what,
                cause,
                target: named(&c.target_id),
                replacement: c.replacement.as_deref().map_or_else(|| "—".into(), named),
                reason: c.reason.clone(),
                at: c.changed_at.replace('T', " ").chars().take(16).collect(),
            }
        })
        .collect()
}

/// The notice as its latest publication left it.
fn site_notice(
    model: &crate::rules::model::Model,
    l: &DrawLedger,
    registry: &HashMap<String, Target>,
) -> Option<SiteNotice> {
    let last = l.publications.last()?;
    let as_of: NaiveDate = l.last_published()?;
    let record: Option<PublicationRecord> = serde_json::from_value(last.files.clone()).ok();
    let recorded = record.map_or_else(|| last.published_at.clone(), |r| r.recorded_at);
    let n: Notice = notice(model, l, registry, &HashSet::new(), as_of);
    Some(SiteNotice {
        published_at: minutes(&recorded),
        as_of: as_of.to_string(),
        channel: n.channel.clone(),
        header: n.header(),
        rows: n.rows(),
    })
}

/// Writes one of the site's files, `rel` under `dir`, through a temporary file renamed into
/// place; a file already there with the same bytes is left as it is (its time too, which a web
/// server answering from the folder gives as the page's Last-Modified).
pub fn write_file(dir: &Path, rel: &str, bytes: &[u8]) -> Result<(), SiteError> {
    let path = dir.join(rel);
    if std::fs::read(&path).is_ok_and(|b| b == *bytes) {
        return Ok(());
    }
    super::place::write_file(&path, bytes).map_err(written)
}

/// Copies the public bundles beside their draws' pages under `dir`, those already there with
/// the same bytes left untouched.
pub fn write_bundles(dir: &Path, bundles: &[(String, PathBuf)]) -> Result<(), SiteError> {
    for (rel, from) in bundles {
        let path = dir.join(rel);
        if super::place::same_bytes(from, &path).unwrap_or(false) {
            continue;
        }
        super::place::copy_file(from, &path).map_err(written)?;
    }
    Ok(())
}

fn written(e: super::place::PlaceError) -> SiteError {
    SiteError::Write {
        path: e.path,
        source: e.source,
    }
}
