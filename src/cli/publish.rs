//! `suiji publish`: the public notice of inspection results, per draw, on time.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{NaiveDate, TimeZone as _};

use super::results::today_local;
use super::{Cli, exit, load_calendar, load_rules, now_local, open_store};
use crate::output::notice::{index_html, index_json};
use crate::output::publication::{index_entry, notice, notice_folder, publishable};
use crate::registry::Target;
use crate::results::ledger::{DrawLedger, ledgers};
use crate::rules::Loaded;
use crate::store::{DrawFilter, NewPublication, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Publish as of this day (default: today in the bureau's time zone). Results of
    /// inspections that ended later wait for a later publication; used to replay a past year.
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// Only draws of this year.
    #[arg(long)]
    pub year: Option<i32>,
    /// Only this matter.
    #[arg(long)]
    pub matter: Option<String>,
    /// Only this period (e.g. 2023-H1).
    #[arg(long)]
    pub period: Option<String>,
    /// Show what would be published; record and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Who publishes (recorded in the audit log).
    #[arg(long, default_value = "operator")]
    pub actor: String,
}

/// The timestamp recorded for a publication on `day`: now when `day` is today, else noon.
fn stamp(loaded: &Loaded, day: NaiveDate, today: NaiveDate) -> String {
    if day == today {
        return now_local(loaded);
    }
    let tz = loaded.model.config.timezone;
    let noon = day.and_hms_opt(12, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&noon).earliest() {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        None => format!("{day}T12:00:00"),
    }
}

/// A draw's archived target snapshot, by id (for the public fields as they were drawn).
fn snapshot_targets(
    store: &Store,
    cache: &mut HashMap<String, HashMap<String, Target>>,
    hash: &str,
) -> anyhow::Result<()> {
    if cache.contains_key(hash) {
        return Ok(());
    }
    let bytes = store.get_snapshot(hash)?;
    let targets = crate::registry::parse_canonical_targets(&bytes)
        .map_err(|e| anyhow::anyhow!("archived target snapshot {hash}: {e}"))?;
    cache.insert(
        hash.to_string(),
        targets.into_iter().map(|t| (t.id.clone(), t)).collect(),
    );
    Ok(())
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<i32> {
    let loaded = or_exit!(load_rules(cli));
    if let Some(m) = &args.matter
        && loaded.model.matter(m).is_none()
    {
        return Ok(super::unknown_matter(&loaded.model, m));
    }
    let cal = or_exit!(load_calendar(&loaded, false));
    let mut store = open_store(&loaded)?;
    let today = today_local(&loaded);
    let as_of = args.today.unwrap_or(today);
    if as_of > today {
        eprintln!("error: --today {as_of} is in the future (today is {today})");
        eprintln!(
            "  = help: a publication is recorded on the day it happens; --today is for replaying past days"
        );
        return Ok(exit::INVALID);
    }
    let model = &loaded.model;
    let all = ledgers(&store, model, &cal, &DrawFilter::default())?;
    let chosen: Vec<&DrawLedger> = all
        .iter()
        .filter(|l| {
            args.year
                .is_none_or(|y| l.draw.period.starts_with(&y.to_string()))
                && args.matter.as_ref().is_none_or(|m| &l.draw.matter == m)
                && args.period.as_ref().is_none_or(|p| &l.draw.period == p)
        })
        .collect();

    // What to publish, draw by draw; refuse the whole run if a date goes backwards.
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for l in &chosen {
        let (targets, ids) = publishable(l, as_of);
        if targets.is_empty() {
            continue;
        }
        if let Some(last) = l.last_published()
            && last > as_of
        {
            problems.push(format!(
                "draw #{} ({} {}) was last published on {last}, after --today {as_of}",
                l.draw.id, l.draw.matter, l.draw.period
            ));
            continue;
        }
        let on_time = targets
            .iter()
            .filter(|t| t.deadline.is_some_and(|d| as_of <= d))
            .count();
        let newly: HashSet<String> = targets.iter().map(|t| t.target_id.clone()).collect();
        plans.push((*l, newly, ids, on_time));
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("error: {p}");
        }
        eprintln!(
            "  = help: publications are recorded in date order: publish as of {} or later",
            as_of.max(
                chosen
                    .iter()
                    .filter_map(|l| l.last_published())
                    .max()
                    .unwrap_or(as_of)
            )
        );
        eprintln!("nothing was published.");
        return Ok(exit::INVALID);
    }
    if plans.is_empty() {
        outln!("nothing new to publish as of {as_of}");
        return Ok(exit::OK);
    }

    let out_dir = model.config.output_dir.clone();
    let mut snapshots = HashMap::new();
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut pubs = Vec::new();
    let published_at = stamp(&loaded, as_of, today);
    let recorded_at = now_local(&loaded);
    for (l, newly, ids, _) in &plans {
        snapshot_targets(&store, &mut snapshots, &l.draw.targets_snapshot)?;
        let registry = snapshots
            .get(&l.draw.targets_snapshot)
            .context("target snapshot missing")?;
        let n = notice(model, l, registry, newly, as_of);
        let folder = notice_folder(&l.draw.matter, &l.draw.period);
        let mut described = Vec::new();
        for (name, bytes) in [
            ("notice.html", n.html().into_bytes()),
            ("notice.csv", n.csv()),
            ("notice.json", n.json().into_bytes()),
        ] {
            let rel = folder.join(name);
            described.push(serde_json::json!({
                "path": rel.to_string_lossy().replace('\\', "/"),
                "sha256": sha256(&bytes),
            }));
            files.push((out_dir.join(&rel), bytes));
        }
        let mut newly_sorted: Vec<&String> = newly.iter().collect();
        newly_sorted.sort();
        pubs.push(NewPublication {
            draw_id: l.draw.id,
            published_at: published_at.clone(),
            actor: args.actor.clone(),
            files: serde_json::json!({
                "as_of": as_of.to_string(),
                "recorded_at": recorded_at,
                "targets": newly_sorted,
                "files": described,
            }),
            result_ids: ids.clone(),
        });
    }
    // The index lists every draw with anything published, whatever the filters.
    let newly_by_draw: HashMap<i64, &HashSet<String>> =
        plans.iter().map(|(l, n, _, _)| (l.draw.id, n)).collect();
    let empty = HashSet::new();
    let index: Vec<_> = all
        .iter()
        .filter_map(|l| {
            index_entry(
                l,
                newly_by_draw.get(&l.draw.id).copied().unwrap_or(&empty),
                as_of,
            )
        })
        .collect();
    let bureau = &model.config.bureau.name;
    files.push((
        out_dir.join("public").join("index.html"),
        index_html(bureau, &index).into_bytes(),
    ));
    files.push((
        out_dir.join("public").join("index.json"),
        index_json(bureau, &index).into_bytes(),
    ));

    for (l, newly, _, on_time) in &plans {
        outln!(
            "{}draw #{} {} {}: {} target{} ({} on time, {} late); notice in {}",
            if args.dry_run { "would publish " } else { "" },
            l.draw.id,
            l.draw.matter,
            l.draw.period,
            newly.len(),
            if newly.len() == 1 { "" } else { "s" },
            on_time,
            newly.len() - on_time,
            out_dir
                .join(notice_folder(&l.draw.matter, &l.draw.period))
                .join("notice.html")
                .display()
        );
    }
    if args.dry_run {
        outln!("dry run: nothing recorded, no files written");
        return Ok(exit::OK);
    }

    // Files to temporary names, the record in one transaction, then the files into place.
    let staged = stage(&files)?;
    if let Err(e) = store.record_publications(&pubs) {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e.into());
    }
    for (tmp, dest) in &staged {
        std::fs::rename(tmp, dest).with_context(|| format!("cannot write {}", dest.display()))?;
    }
    outln!(
        "published {} draw{} as of {as_of}; index in {}",
        plans.len(),
        if plans.len() == 1 { "" } else { "s" },
        out_dir.join("public").join("index.html").display()
    );
    Ok(exit::OK)
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Writes every file to a temporary name beside its destination; on failure removes them all.
fn stage(files: &[(PathBuf, Vec<u8>)]) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| -> anyhow::Result<()> {
        for (dest, bytes) in files {
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create folder {}", dir.display()))?;
            }
            let tmp = tmp_name(dest);
            std::fs::write(&tmp, bytes)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            staged.push((tmp, dest.clone()));
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    Ok(staged)
}

fn tmp_name(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// The publication part of `suiji status`: inspected results due for publication within
/// `within` working days, and everything overdue (an inspection not done by the draw's due
/// date, a result not published by its deadline, a target with no team). Prints the section;
/// returns the number of overdue lines.
pub(crate) fn status_section(
    loaded: &Loaded,
    cal: &crate::calendar::Calendar,
    store: &Store,
    today: NaiveDate,
    within: u32,
) -> anyhow::Result<usize> {
    use crate::results::ledger::State;
    let all = ledgers(store, &loaded.model, cal, &DrawFilter::default())?;
    let horizon = cal.add_working_days(today, within)?;
    outln!();
    outln!(
        "publication of results (deadlines falling within {within} working days, and everything overdue)"
    );
    let mut overdue = 0;
    let mut lines = 0;
    let mut later = 0;
    let mut awaiting_inspection = 0;
    for l in all.iter().filter(|l| l.issue_date <= today) {
        let name = format!("#{} {} {}", l.draw.id, l.draw.matter, l.draw.period);
        let mut due_soon: Vec<NaiveDate> = Vec::new();
        let mut late_pub: Vec<NaiveDate> = Vec::new();
        let (mut not_inspected, mut unstaffed) = (0, 0);
        for t in &l.targets {
            match t.state(l.due_date, today) {
                State::AwaitingPublication => match t.deadline {
                    Some(d) if d <= horizon => due_soon.push(d),
                    _ => later += 1,
                },
                State::PublicationOverdue => late_pub.extend(t.deadline),
                State::InspectionOverdue => not_inspected += 1,
                State::Unstaffed => unstaffed += 1,
                State::NotInspected | State::Partial => awaiting_inspection += 1,
                State::OnTime | State::Late => {}
            }
        }
        if let Some(first) = late_pub.iter().min() {
            overdue += 1;
            lines += 1;
            outln!(
                "  OVERDUE    {name}: {} inspected target{} not published; deadline {first} passed — counts as not done",
                late_pub.len(),
                if late_pub.len() == 1 { "" } else { "s" }
            );
        }
        if not_inspected > 0 {
            overdue += 1;
            lines += 1;
            outln!(
                "  OVERDUE    {name}: {not_inspected} of {} drawn targets without complete results; inspections were due {}",
                l.targets.len(),
                l.due_date
            );
        }
        if unstaffed > 0 {
            overdue += 1;
            lines += 1;
            outln!(
                "  UNSTAFFED  {name}: {unstaffed} drawn target{} with no team — cannot be inspected under this draw",
                if unstaffed == 1 { "" } else { "s" }
            );
        }
        if let Some(first) = due_soon.iter().min() {
            lines += 1;
            let left = cal.working_days_between(today, *first)?;
            outln!(
                "  DUE        {name}: {} inspected target{} to publish, the first by {first} ({left} working day{} left)",
                due_soon.len(),
                if due_soon.len() == 1 { "" } else { "s" },
                if left == 1 { "" } else { "s" }
            );
        }
    }
    if lines == 0 {
        outln!("  nothing overdue, nothing due within {within} working days");
    }
    outln!(
        "  ({later} inspected target{} due for publication later; {awaiting_inspection} awaiting inspection)",
        if later == 1 { "" } else { "s" }
    );
    Ok(overdue)
}
