//! Re-running a recorded draw from its archived inputs.

use chrono::NaiveDateTime;
use std::cell::RefCell;

use crate::draw::Algorithm;
use crate::draw::bundle::PublicBundle;
use crate::draw::manifest::{ListDigests, Manifest};
use crate::draw::pipeline::BundleOut;
use crate::draw::pipeline::History;
use crate::jobs::issue::{Frozen, Request, compute_public};
use crate::registry::types::Registry;
use crate::rules::model::Ratio;
use crate::schedule::{DrawKind, Period, ScheduledDraw};
use crate::store::{DrawFilter, DrawHead, DrawStatus, DrawStore, Store};

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Identical,
    Differs(Vec<String>),
}

/// Checks the manifest's own hash, then re-runs the draw from the snapshots and rules archived
/// in `store` and compares every selection, team and exclusion; and checks that `store`
/// recorded this very manifest as a draw.
pub(crate) fn verify_manifest(m: &mut Manifest, store: &dyn DrawStore) -> Verdict {
    let compared = Algorithm::from_name(&m.algorithm).map(|algorithm| {
        rerun(m, algorithm, store, (None, false)).map(|(re, _)| Compared::of(m, &re))
    });
    judge(m, compared, store)
}

/// [`verify_manifest`] of a manifest read with its lists digested (`light`, `digests`:
/// [`Manifest::digested`]), so that a national draw's selection is never held twice. The
/// draw is re-run; when the re-run's selection and substitutes digest as the recorded ones,
/// they are the recorded lists and are moved into it. Otherwise (or when the draw cannot be
/// re-run) the recorded manifest is read again whole by `whole` and compared as
/// [`verify_manifest`] compares it, so every difference is named. The manifest verified,
/// whole, and the verdict.
fn verify_digested(
    light: Manifest,
    digests: &ListDigests,
    store: &dyn DrawStore,
    whole: &dyn Fn() -> Result<Manifest, VerifyError>,
    beside: Option<&Beside<'_>>,
) -> Result<(Manifest, Verdict), VerifyError> {
    let re =
        Algorithm::from_name(&light.algorithm).map(|a| rerun(&light, a, store, (beside, true)));
    let re = match re {
        Some(Ok((mut re, sealed))) if ListDigests::of_sealed(&re, sealed) == *digests => {
            // The same lists: compared without them, then the re-run's moved into the
            // recorded manifest, which they make whole.
            let lists = re.take_lists();
            let mut compared = Compared::of(&light, &re);
            compared.content = Compared::same_content(&light, &mut re);
            drop(re);
            let mut m = light;
            m.put_lists(lists);
            let verdict = judge(&mut m, Some(Ok(compared)), store);
            return Ok((m, verdict));
        }
        other => other.map(|re| re.map(|(re, _)| re)),
    };
    drop(light);
    let mut m = whole()?;
    let compared = re.map(|re| re.map(|re| Compared::of(&m, &re)));
    let verdict = judge(&mut m, compared, store);
    Ok((m, verdict))
}

/// A re-run compared with the recorded manifest: their differences, and the re-run's hash.
pub(crate) struct Compared {
    differences: Vec<String>,
    hash: String,
    /// The recorded manifest's content hash, when it is known to be the re-run's without
    /// serialising the recorded manifest again ([`Compared::same_content`]).
    content: Option<String>,
}

impl Compared {
    fn of(recorded: &Manifest, re: &Manifest) -> Compared {
        Compared {
            differences: recorded.differences(re),
            hash: re.manifest_hash.clone(),
            content: None,
        }
    }

    /// The re-run's hash, when the recorded manifest read without its lists (`light`) equals
    /// the re-run without them, member by member, its claimed hash aside: the recorded
    /// manifest made whole with the re-run's lists is then the re-run's manifest, whose
    /// content the re-run hashed as it sealed it (a national draw's is 150 MB of JSON to
    /// serialise and hash again). `None` otherwise, and the content is hashed.
    pub(crate) fn same_content(
        light: &Manifest,
        re_without_lists: &mut Manifest,
    ) -> Option<String> {
        let re = re_without_lists;
        let hash = std::mem::replace(&mut re.manifest_hash, light.manifest_hash.clone());
        let same = *light == *re;
        re.manifest_hash = hash;
        same.then(|| re.manifest_hash.clone())
    }
}

/// The verdict on the recorded manifest `m`, given its re-run compared with it (`None`: its
/// algorithm is not one this suiji implements): its own hash, the re-run's differences, and
/// whether `store` recorded it, with its changes after the draw and its carried loads.
fn judge(
    m: &mut Manifest,
    compared: Option<Result<Compared, String>>,
    store: &dyn DrawStore,
) -> Verdict {
    let mut diffs = Vec::new();
    let known = match &compared {
        Some(Ok(c)) => c.content.clone(),
        _ => None,
    };
    let recomputed = known.unwrap_or_else(|| m.content_hash());
    if recomputed != m.manifest_hash {
        diffs.push(format!(
            "the manifest was altered: its content hashes to {recomputed}, but it claims {}",
            m.manifest_hash
        ));
    }
    match compared {
        None => {
            diffs.push(format!(
                "algorithm `{}` is not one this suiji implements (`{}`, `{}`); re-run it with a suiji that implements `{}`",
                m.algorithm,
                Algorithm::V1.name(),
                Algorithm::V2.name(),
                m.algorithm
            ));
            return Verdict::Differs(diffs);
        }
        Some(Ok(c)) => {
            diffs.extend(c.differences);
            if diffs.is_empty() && c.hash != m.manifest_hash {
                diffs.push("the re-run manifest hashes differently".into());
            }
        }
        Some(Err(e)) => diffs.push(e),
    }
    match recorded(m, store) {
        // Every change made after the draw must be the one its rules give.
        Ok(d) => {
            if diffs.is_empty() {
                diffs.extend(super::change::check(store, m, d.id));
            }
            // The loads it carried in must be those the records held when it was recorded
            // (said also when the re-run differs: loads not the period's are why it would).
            diffs.extend(carried_check(store, m, d.id));
        }
        Err(e) => diffs.push(e),
    }
    if diffs.is_empty() {
        Verdict::Identical
    } else {
        Verdict::Differs(diffs)
    }
}

/// Recomputes the `carried_loads` of a version-2 draw (recorded as draw `id`) from the
/// database as of its audit entry (docs/draw-algorithm.md V2-16 item 2): the difference, if
/// any. A re-run takes them from the manifest, so this is what finds a draw recorded with
/// loads that are not the period's.
fn carried_check(store: &dyn DrawStore, m: &Manifest, id: i64) -> Option<String> {
    let since_v2_16 = crate::draw::manifest::since_v2_16(&m.format);
    if m.algorithm != Algorithm::V2.name() || (m.carried_loads.is_none() && !since_v2_16) {
        return None;
    }
    let counted = match team_inspectors(m, store) {
        Ok(c) => c,
        Err(e) => return Some(format!("carried_loads cannot be checked: {e}")),
    };
    let counted = counted.iter().map(String::as_str).collect();
    match super::loads::carried_problem(store, m, id, &counted) {
        Ok(problem) => problem,
        Err(e) => Some(format!("carried_loads cannot be checked: {e}")),
    }
}

/// The draw's archived inspector registry and rule set, from the database (the rules unpacked
/// in the returned folder, which must outlive them).
fn archived_inspectors_and_rules(
    m: &Manifest,
    store: &dyn DrawStore,
) -> Result<
    (
        Vec<crate::registry::Inspector>,
        tempfile::TempDir,
        crate::rules::Loaded,
    ),
    String,
> {
    inspectors_and_rules(m, &|hash: &str, what: &str| {
        store
            .get_snapshot(hash)
            .map_err(|e| format!("the archived {what} snapshot {hash} cannot be used: {e}"))
    })
}

/// The draw's archived inspector registry and rule set, their bytes read by `get` (hash,
/// what): from the database or from an audit bundle.
fn inspectors_and_rules(
    m: &Manifest,
    get: &impl Fn(&str, &str) -> Result<Vec<u8>, String>,
) -> Result<
    (
        Vec<crate::registry::Inspector>,
        tempfile::TempDir,
        crate::rules::Loaded,
    ),
    String,
> {
    let inspectors = crate::registry::parse_canonical_inspectors(&get(
        &m.registry.inspectors_snapshot,
        "inspectors",
    )?)
    .map_err(|e| format!("inspectors snapshot unreadable: {e}"))?;
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let loaded = archived_rules(m, &get(&m.rules_hash, "rules")?, dir.path())?;
    Ok((inspectors, dir, loaded))
}

/// The inspectors whose loads a draw carries in: those of its team's departments in its
/// archived inspector snapshot (V2-16 item 1).
fn team_inspectors(m: &Manifest, store: &dyn DrawStore) -> Result<Vec<String>, String> {
    let (inspectors, _dir, loaded) = archived_inspectors_and_rules(m, store)?;
    let matter = loaded
        .model
        .matter(&m.matter)
        .ok_or_else(|| format!("the archived rules have no matter {}", m.matter))?;
    let spec = super::issue::joint_team(matter)
        .unwrap_or_else(|| crate::draw::pipeline::matter_team(matter));
    Ok(inspectors
        .into_iter()
        .filter(|i| spec.departments.contains(&i.department))
        .map(|i| i.id)
        .collect())
}

/// The recorded draw this manifest belongs to. A manifest that re-runs identically but was
/// never recorded (say, one of several private draws with other seeds) is not the draw.
/// Read without the recorded manifests (a large draw's runs to a hundred megabytes).
pub fn recorded(m: &Manifest, store: &dyn DrawStore) -> Result<DrawHead, String> {
    let draws = store
        .list_draw_heads(&DrawFilter {
            matter: Some(m.matter.clone()),
            period_prefix: Some(m.period.id.clone()),
            include_superseded: true,
        })
        .map_err(|e| format!("cannot read the recorded draws: {e}"))?;
    let draws: Vec<DrawHead> = draws
        .into_iter()
        .filter(|d| d.period == m.period.id)
        .collect();
    if let Some(d) = draws.iter().find(|d| d.manifest_hash == m.manifest_hash) {
        return Ok(d.clone());
    }
    // The hash the manifest states may be a recorded draw's whose matter or period it no
    // longer says: the text was changed after it was sealed.
    let all = store
        .list_draw_heads(&DrawFilter {
            include_superseded: true,
            ..DrawFilter::default()
        })
        .map_err(|e| format!("cannot read the recorded draws: {e}"))?;
    if let Some(d) = all.iter().find(|d| d.manifest_hash == m.manifest_hash) {
        return Err(format!(
            "this manifest states the hash {} of draw #{} ({} {}), but names {} {}: it was \
             changed after it was sealed",
            m.manifest_hash, d.id, d.matter, d.period, m.matter, m.period.id
        ));
    }
    let recorded = match draws.iter().find(|d| d.status == DrawStatus::Active) {
        Some(d) => format!(
            "the recorded draw of {} {} is #{} with manifest {}",
            m.matter, m.period.id, d.id, d.manifest_hash
        ),
        None => format!("no draw of {} {} is recorded", m.matter, m.period.id),
    };
    Err(format!(
        "this manifest ({}) was never recorded in {}: {recorded}",
        m.manifest_hash,
        store.shown()
    ))
}

/// A recorded draw's archived inputs: its rules (unpacked into a temporary folder, which
/// lives as long as this) and its registry snapshot.
pub(crate) struct Archived {
    _dir: tempfile::TempDir,
    pub loaded: crate::rules::Loaded,
    pub registry: Registry,
}

impl Archived {
    fn of(
        m: &Manifest,
        (targets, inspectors): (
            Vec<crate::registry::Target>,
            Vec<crate::registry::Inspector>,
        ),
        dir: tempfile::TempDir,
        loaded: crate::rules::Loaded,
    ) -> Archived {
        let registry = Registry {
            targets,
            inspectors,
            sources: m
                .registry
                .sources
                .iter()
                .map(|s| (s.file.clone(), s.sha256.clone()))
                .collect(),
            target_columns: Vec::new(),
        };
        Archived {
            _dir: dir,
            loaded,
            registry,
        }
    }
}

/// The workload cap (每人每期最多承担户数) of the manifest's matter in the rules it was drawn
/// by, read from the database's archive (the registry snapshots are not read).
pub(crate) fn archived_workload_cap(m: &Manifest, store: &dyn DrawStore) -> Result<u32, String> {
    let rules = store.get_snapshot(&m.rules_hash).map_err(|e| {
        format!(
            "the archived rules snapshot {} cannot be used: {e}",
            m.rules_hash
        )
    })?;
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let loaded = archived_rules(m, &rules, dir.path())?;
    loaded
        .model
        .matter(&m.matter)
        .map(|x| x.workload_cap)
        .ok_or_else(|| format!("the archived rules have no matter {}", m.matter))
}

/// Loads the rules a manifest names and its registry snapshot with only the targets whose id
/// `keep` accepts (a change or a notice needs a few rows of a snapshot that may run to
/// gigabytes), from the database's archive.
pub(crate) fn archived_with(
    m: &Manifest,
    store: &dyn DrawStore,
    keep: impl FnMut(&str) -> bool,
) -> Result<Archived, String> {
    let (inspectors, dir, loaded) = archived_inspectors_and_rules(m, store)?;
    let targets = archived_targets(store, &m.registry.targets_snapshot, keep)?;
    Ok(Archived::of(m, (targets, inspectors), dir, loaded))
}

pub(crate) use crate::results::{archived_targets, each_archived_target};

/// Rows of archived target snapshots, by snapshot hash, then by target id.
pub(crate) type SnapshotRows =
    std::collections::HashMap<String, std::collections::HashMap<String, crate::registry::Target>>;

/// The rows `wanted` names, as (snapshot hash, target id), each snapshot read once and only
/// the rows asked for kept (what a notice or a public page shows of a national snapshot is
/// its drawn rows, not its millions), each without the other columns rules read (`extra`).
pub(crate) fn archived_rows<'a>(
    store: &dyn DrawStore,
    wanted: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<SnapshotRows, String> {
    let mut by_hash: std::collections::BTreeMap<&str, std::collections::HashSet<&str>> =
        std::collections::BTreeMap::new();
    for (hash, id) in wanted {
        by_hash.entry(hash).or_default().insert(id);
    }
    let mut out = SnapshotRows::new();
    for (hash, ids) in by_hash {
        let mut rows = std::collections::HashMap::with_capacity(ids.len());
        // Kept without the other columns rules read: what is shown of a row is its registry
        // columns (`output::tasks::public_field`).
        let each = |mut t: crate::registry::Target| {
            t.extra = Default::default();
            rows.insert(t.id.clone(), t);
        };
        each_archived_target(store, hash, |id| ids.contains(id), each)?;
        out.insert(hash.to_string(), rows);
    }
    Ok(out)
}

/// Loads the rules and the registry snapshot a manifest names, their bytes given by `get`
/// (hash, what) — from the database, or from an audit bundle.
pub(crate) fn archived_from(
    m: &Manifest,
    get: &impl Fn(&str, &str) -> Result<Vec<u8>, String>,
) -> Result<Archived, String> {
    let targets =
        crate::registry::parse_canonical_targets(&get(&m.registry.targets_snapshot, "targets")?)
            .map_err(|e| format!("targets snapshot unreadable: {e}"))?;
    let (inspectors, dir, loaded) = inspectors_and_rules(m, get)?;
    Ok(Archived::of(m, (targets, inspectors), dir, loaded))
}

/// A recorded draw's rules and its registry as the re-run reads it: the target snapshot file
/// when the snapshot is kept as one (read in bounded memory), else loaded whole.
fn archived_for_rerun(
    m: &Manifest,
    store: &dyn DrawStore,
) -> Result<(tempfile::TempDir, crate::rules::Loaded, Frozen), String> {
    let hash = &m.registry.targets_snapshot;
    let file = store
        .snapshot_file(hash)
        .map_err(|e| format!("the archived targets snapshot {hash} cannot be used: {e}"))?;
    archived_over(m, file, &|hash: &str, what: &str| {
        store
            .get_snapshot(hash)
            .map_err(|e| format!("the archived {what} snapshot {hash} cannot be used: {e}"))
    })
}

/// Re-runs a draw over its target snapshot file `path` (hashed as it is read), the rules and
/// inspectors given by `get` (hash, what): an audit bundle that refers to the snapshot.
pub(crate) fn rerun_over_file(
    m: &Manifest,
    algorithm: Algorithm,
    path: std::path::PathBuf,
    get: &impl Fn(&str, &str) -> Result<Vec<u8>, String>,
) -> Result<Rerun, String> {
    let (_dir, loaded, frozen) = archived_over(m, Some(path), get)?;
    rerun_frozen(
        m,
        algorithm,
        &loaded,
        &frozen,
        (BundleOut::Hash, None, false),
    )
}

/// A recorded draw's rules and registry, their bytes given by `get` (hash, what), the target
/// snapshot read from the file `file` when there is one (in bounded memory).
pub(crate) fn archived_over(
    m: &Manifest,
    file: Option<std::path::PathBuf>,
    get: &impl Fn(&str, &str) -> Result<Vec<u8>, String>,
) -> Result<(tempfile::TempDir, crate::rules::Loaded, Frozen), String> {
    let hash = &m.registry.targets_snapshot;
    let Some(path) = file else {
        let Archived {
            _dir,
            loaded,
            registry,
        } = archived_from(m, get)?;
        return Ok((_dir, loaded, Frozen::new(registry)));
    };
    let (inspectors, dir, loaded) = inspectors_and_rules(m, get)?;
    let size = std::fs::metadata(&path)
        .map_err(|e| format!("the archived targets snapshot {}: {e}", path.display()))?
        .len();
    let known = crate::registry::Known::from_model(&loaded.model);
    let file = crate::jobs::issue::FrozenFile {
        snapshot: crate::registry::SnapshotFile {
            path,
            sha256: hash.clone(),
            size,
        },
        known,
    };
    let sources = m
        .registry
        .sources
        .iter()
        .map(|s| (s.file.clone(), s.sha256.clone()))
        .collect();
    let frozen = Frozen::of_file(inspectors, sources, m.registry.targets_rows, file);
    Ok((dir, loaded, frozen))
}

/// The re-run of `m`'s draw: its manifest, and (when `digest`) its selection's digest made as
/// it was sealed.
fn rerun(
    m: &Manifest,
    algorithm: Algorithm,
    store: &dyn DrawStore,
    (beside, digest): (Option<&Beside<'_>>, bool),
) -> Result<(Manifest, Option<crate::draw::manifest::ListDigest>), String> {
    let (_dir, loaded, frozen) = archived_for_rerun(m, store)?;
    rerun_frozen(
        m,
        algorithm,
        &loaded,
        &frozen,
        (BundleOut::Hash, beside, digest),
    )
    .map(|(re, _, _, digest)| (re, digest))
}

/// A re-run's manifest, public bundle (when kept), excluded targets (a detail file's), and
/// its selection's digest when made as it was sealed.
pub(crate) type Rerun = (
    Manifest,
    Option<PublicBundle>,
    Vec<crate::draw::manifest::Exclusion>,
    Option<crate::draw::manifest::ListDigest>,
);

/// Re-runs a draw from its archived inputs: the manifest and the public bundle it gives (the
/// bundle's hash recorded in the manifest only if the recorded one has it), and the excluded
/// targets its detail file lists (`suiji-manifest/3`, `/4`).
pub(crate) fn rerun_archived(
    m: &Manifest,
    algorithm: Algorithm,
    archived: Archived,
) -> Result<Rerun, String> {
    let Archived {
        _dir,
        loaded,
        registry,
    } = archived;
    rerun_frozen(
        m,
        algorithm,
        &loaded,
        &Frozen::new(registry),
        (BundleOut::Keep, None, false),
    )
}

/// Re-runs a draw over its frozen registry (a target snapshot file is hashed while the draw
/// reads it, or was hashed `beside` it, so an altered file fails the re-run); its selection
/// digested as it is sealed when `digest`.
fn rerun_frozen(
    m: &Manifest,
    algorithm: Algorithm,
    loaded: &crate::rules::Loaded,
    frozen: &Frozen,
    (out, beside, digest): (BundleOut<'_>, Option<&Beside<'_>>, bool),
) -> Result<Rerun, String> {
    let req = rerun_request(m, algorithm)?;
    let history = History::of_manifest(m);
    let at = crate::jobs::issue::BundleAt::of(m);
    over_frozen(frozen, beside, || {
        compute_public(loaded, frozen, &history, &req, (at, out, digest))
    })
}

/// Re-runs a recorded draw over its frozen registry as [`rerun_frozen`] does, writing its public
/// bundle and its detail file (`suiji-manifest/3`, `/4`) into `public` and `detail` as the draw
/// wrote them (`regenerate`, which never holds a national draw's bundle whole).
pub(crate) fn rerun_writing(
    m: &Manifest,
    algorithm: Algorithm,
    (loaded, frozen): (&crate::rules::Loaded, &Frozen),
    (public, detail): (
        &RefCell<dyn crate::draw::pipeline::StagedFile>,
        &RefCell<dyn crate::draw::pipeline::StagedFile>,
    ),
) -> Result<crate::draw::pipeline::Drawn, String> {
    let req = rerun_request(m, algorithm)?;
    let history = History::of_manifest(m);
    let at = crate::jobs::issue::BundleAt::of(m);
    over_frozen(frozen, None, || {
        crate::jobs::issue::compute_written(loaded, (frozen, &history), &req, at, (public, detail))
    })
}

/// The request that re-runs `m`'s draw with `algorithm`: its period, dates, ratio and seed as
/// recorded, a dry run.
fn rerun_request(m: &Manifest, algorithm: Algorithm) -> Result<Request, String> {
    let kind = match m.kind.strip_prefix("holiday:") {
        Some(h) => DrawKind::Holiday(
            crate::calendar::Holiday::parse(h).ok_or(format!("unknown holiday kind {}", m.kind))?,
        ),
        None => DrawKind::Regular,
    };
    let issue_at = NaiveDateTime::parse_from_str(&m.issue_at, "%Y-%m-%dT%H:%M")
        .map_err(|e| format!("bad issue_at: {e}"))?;
    let seed = crate::draw::Seed::from_hex(&m.seed).map_err(|e| format!("bad seed: {e}"))?;
    let req = Request {
        algorithm,
        draw: ScheduledDraw {
            matter: m.matter.clone(),
            kind,
            period: Period {
                id: m.period.id.clone(),
                start: m.period.start,
                end: m.period.end,
            },
            issue_at,
            due: m.due_date,
            ratio: Ratio::from_ppm(m.ratio_ppm).ok_or("bad ratio")?,
            key_area_only: m.key_area_only,
        },
        seed,
        seed_source: m.seed_source.clone(),
        actor: "verify".into(),
        created_at: m.drawn_at.clone().unwrap_or_default(),
        redraw: None,
        replaces: None,
        dry_run: true,
        provisional: false,
        exclusions_in_file: m.exclusion_summary.is_some(),
    };
    // The re-run's reference date is the recorded one, not the issue date.
    if req.draw.issue_date() != m.reference_date {
        return Err("manifest reference date differs from its issue date".into());
    }
    Ok(req)
}

/// `compute` over `frozen`: a target snapshot file is hashed while the draw reads it (from the
/// moment the manifest's text was read, `beside`), so a file that is not the recorded snapshot
/// fails it.
fn over_frozen<T>(
    frozen: &Frozen,
    beside: Option<&Beside<'_>>,
    compute: impl FnOnce() -> Result<T, crate::jobs::issue::IssueError>,
) -> Result<T, String> {
    let Some(file) = &frozen.file else {
        return compute().map_err(|e| e.to_string());
    };
    let path = &file.snapshot.path;
    let (computed, hashed) = hashed_while(path, beside, compute);
    match hashed {
        Ok(h) if h == file.snapshot.sha256 => {}
        Ok(h) => {
            return Err(format!(
                "the archived targets snapshot {} cannot be used: {} is damaged (its content hashes to {h})",
                file.snapshot.sha256,
                path.display()
            ));
        }
        _ => return Err(format!("cannot read {}", path.display())),
    }
    computed.map_err(|e| e.to_string())
}

/// `compute` run while the file at `path` is hashed on a thread of its own (the one hashing it
/// `beside`, when there is one): what it gives, and the file's hash.
fn hashed_while<T>(
    path: &std::path::Path,
    beside: Option<&Beside<'_>>,
    compute: impl FnOnce() -> T,
) -> (T, std::io::Result<String>) {
    let joined = |join: HashJoin<'_>| {
        join.join().unwrap_or_else(|_| {
            Err(std::io::Error::other(
                "the thread hashing the snapshot stopped",
            ))
        })
    };
    if let Some(hashing) = beside.and_then(|b| b.take(path)) {
        let computed = compute();
        return (computed, joined(hashing));
    }
    std::thread::scope(|s| {
        let hashing = s.spawn(|| crate::digest::sha256_file(path));
        let computed = compute();
        (computed, joined(hashing))
    })
}

/// The rules archived as `m.rules_hash`, unpacked into `dir` and loaded.
fn archived_rules(
    m: &Manifest,
    rules: &[u8],
    dir: &std::path::Path,
) -> Result<crate::rules::Loaded, String> {
    if crate::rules::archive::hash(rules) != m.rules_hash {
        return Err(format!(
            "the archived rules {} do not hash to their name",
            m.rules_hash
        ));
    }
    let config = crate::rules::archive::unpack(rules, dir)?;
    let mut loaded = crate::rules::load_archived(&config)
        .map_err(|e| format!("the archived rules do not load:\n{}", e.render()))?;
    // The draw is re-run from exactly the archived bytes, whose hash was checked above (packed
    // again, an archive need not come back byte for byte: a `suiji-rules/1` archive of a
    // config without `[draw]` packs as `suiji-rules/2`).
    loaded.model.rules_hash = m.rules_hash.clone();
    Ok(loaded)
}

/// Which draw to check: a manifest file, or a recorded draw by its number.
#[derive(Debug, Clone)]
pub enum Which {
    /// A draw's manifest.json (the public copy anyone holds).
    Manifest(std::path::PathBuf),
    /// The manifest the database recorded for draw #N.
    Draw(i64),
}

/// A recorded draw's manifest to check, and where its archived inputs are.
#[derive(Debug, Clone)]
pub struct Input {
    pub which: Which,
    /// Data folder holding the archived snapshots (default: the config's).
    pub data: Option<std::path::PathBuf>,
    /// The engine config (to find the data folder).
    pub config: std::path::PathBuf,
    /// The PostgreSQL database holding the draw (its archived inputs are there too); `None`:
    /// the SQLite file in the data folder.
    pub database: Option<crate::store::pg::Place>,
}

/// The outcome of re-running a recorded draw.
#[derive(Debug, Clone)]
pub struct Verified {
    pub manifest: Manifest,
    pub verdict: Verdict,
    /// The draw as recorded (identical draws only), or why it is not found.
    pub record: Option<Result<DrawHead, String>>,
    /// How many changes made after the draw were replayed and found right (identical only).
    pub changes: usize,
    /// A `suiji-manifest/3`'s exclusion detail file found beside the manifest (or in the
    /// recorded draw's folder) and checked against the hash the manifest records; `None` when
    /// there is none to check (the re-run has checked the summary and the hash either way).
    pub detail_file: Option<std::path::PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a suiji draw manifest: {detail}", path.display())]
    NotAManifest {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error("no draw #{0} is recorded")]
    NoSuchDraw(i64),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl crate::diag::Problem for VerifyError {
    fn fault(&self) -> crate::diag::Fault {
        match self {
            VerifyError::Store(_) => crate::diag::Fault::Failed,
            _ => crate::diag::Fault::Invalid,
        }
    }

    fn report(&self) -> crate::diag::Report {
        crate::diag::Report::error(crate::diag::chain(self), &[])
    }
}

/// Re-runs the draw of a manifest from its archived registry and rules and says whether it
/// gives the recorded draw.
pub fn run(input: &Input) -> Result<Verified, VerifyError> {
    let data = match &input.data {
        Some(d) => d.clone(),
        None => match crate::rules::load_config(&input.config) {
            Ok(config) => config.data_dir,
            Err(_) => crate::rules::config::root_of(&input.config).join("data"),
        },
    };
    let store: Box<dyn DrawStore> = match &input.database {
        Some(url) => Box::new(crate::store::pg::PgStore::open_at(url)?),
        None => Box::new(Store::open_read_only(&data)?),
    };
    let store = &*store;
    let folder = match &input.which {
        Which::Manifest(path) => path.parent().map(|p| (p.to_path_buf(), true)),
        Which::Draw(id) => recorded_folder(store, *id, &input.config)?,
    };
    let ((manifest, mut verdict), detail_file) =
        std::thread::scope(|s| rerun_beside(s, input, store, &folder))?;
    if let Some((_, Some(problem))) = &detail_file {
        match &mut verdict {
            Verdict::Differs(diffs) => diffs.push(problem.clone()),
            Verdict::Identical => verdict = Verdict::Differs(vec![problem.clone()]),
        }
    }
    let record = matches!(verdict, Verdict::Identical).then(|| recorded(&manifest, store));
    let changes = match &record {
        Some(Ok(d)) => store.changes_of(d.id)?.len(),
        _ => 0,
    };
    Ok(Verified {
        manifest,
        verdict,
        record,
        changes,
        detail_file: detail_file.map(|(path, _)| path),
    })
}

/// A draw's detail file: its path, and what is wrong with it.
type DetailFile = Option<(std::path::PathBuf, Option<String>)>;

/// Reads the manifest `input` names and re-runs its draw, with what can go beside it on
/// threads of `s`: the target snapshot's hash, started as soon as the manifest's head is read
/// ([`Beside`]), and the check of the exclusions' detail file in `folder` (it reads the draw
/// folder's manifest, whose hash says whether the folder holds this draw, and hashes its
/// exclusions.csv: 150 MB each at 10M). The verdict, and the detail file.
fn rerun_beside<'s>(
    s: &'s std::thread::Scope<'s, '_>,
    input: &Input,
    store: &dyn DrawStore,
    folder: &'s Option<(std::path::PathBuf, bool)>,
) -> Result<((Manifest, Verdict), DetailFile), VerifyError> {
    let beside = Beside::default();
    // The recorded text's hash, when the draw's folder is to be asked whether it holds this
    // draw: its manifest.json is the text recorded, byte for byte, when it does.
    let ask_folder = folder.as_ref().is_some_and(|(_, own)| !own);
    let text_hash = RefCell::new(None);
    let lined = read_lines(&input.which, store, ask_folder, &mut |head| {
        beside.start(s, store, head);
    });
    let (light, digests) = match lined {
        Some((read, hash)) => {
            *text_hash.borrow_mut() = hash;
            read
        }
        None => read_which(&input.which, store, |j| match j {
            Json::Held(text) => {
                beside.start(s, store, text);
                let (parsed, hash) = rayon::join(
                    || Manifest::digested(|| Json::Held(text).parse()),
                    || ask_folder.then(|| crate::digest::sha256_hex(text)),
                );
                *text_hash.borrow_mut() = hash;
                parsed
            }
            j => Manifest::digested(|| j.parse()),
        })?,
    };
    let whole = || read_which(&input.which, store, |j| j.parse());
    let claims = (light.exclusion_summary.clone(), light.manifest_hash.clone());
    let text_hash = text_hash.into_inner();
    let detail = s.spawn(move || {
        let (f, own) = folder.as_ref()?;
        let holds = Holds {
            manifest_hash: &claims.1,
            text_hash: text_hash.as_deref(),
        };
        detail_file((claims.0.as_ref()?, holds), f, *own)
    });
    // On an error the scope waits for the detail file's thread.
    let outcome = verify_digested(light, &digests, store, &whole, Some(&beside))?;
    let detail = detail.join().unwrap_or_else(|_| {
        let (f, _) = folder.as_ref()?;
        let problem = "the check of the exclusions' detail file stopped".to_string();
        Some((
            f.join(crate::draw::manifest::EXCLUSIONS_FILE),
            Some(problem),
        ))
    });
    Ok((outcome, detail))
}

/// The hash of a draw's target snapshot file taken on a thread of its own from the moment
/// the manifest's head is read (a file's layout) or its text is (any other), before its lists
/// are read (0.8 s at 10M, on a core the reading leaves free), instead of beside the re-run's
/// reading of the rows. The snapshot is named by the
/// `targets_snapshot` found near the text's start; the re-run uses the hash only for the file
/// it reads, found from the parsed manifest ([`Beside::take`]), and hashes any other itself.
#[derive(Default)]
struct Beside<'s> {
    hashing: RefCell<Option<(std::path::PathBuf, HashJoin<'s>)>>,
}

type HashJoin<'s> = std::thread::ScopedJoinHandle<'s, std::io::Result<String>>;

impl<'s> Beside<'s> {
    /// Starts hashing the snapshot file the manifest `text` names, if the store keeps it as a
    /// file (once).
    fn start(&self, s: &'s std::thread::Scope<'s, '_>, store: &dyn DrawStore, text: &[u8]) {
        const KEY: &[u8] = b"\"targets_snapshot\"";
        let head = &text[..text.len().min(64 << 10)];
        let Some(at) = memchr::memmem::find(head, KEY) else {
            return;
        };
        let after = &head[at + KEY.len()..];
        let Some(open) = after.iter().position(|&b| b == b'"') else {
            return;
        };
        let hash = after
            .get(open + 1..open + 65)
            .and_then(|h| std::str::from_utf8(h).ok());
        let Some(hash) = hash.filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit())) else {
            return;
        };
        let Ok(Some(path)) = store.snapshot_file(hash) else {
            return;
        };
        let mut hashing = self.hashing.borrow_mut();
        if hashing.is_none() {
            let file = path.clone();
            *hashing = Some((path, s.spawn(move || crate::digest::sha256_file(&file))));
        }
    }

    /// The thread hashing `path` beside, when it was `path` that it hashes (once): joined
    /// once the re-run is done, so that the two go on together.
    fn take(&self, path: &std::path::Path) -> Option<HashJoin<'s>> {
        let mut hashing = self.hashing.borrow_mut();
        if hashing.as_ref().is_none_or(|(p, _)| p != path) {
            return None;
        }
        hashing.take().map(|(_, join)| join)
    }
}

/// Bytes of a manifest's text held whole to be parsed ([`Json::Held`]): a national draw's
/// (150 MB at 10M, 200 MB for the year's second draw) is parsed from memory three times as
/// fast as from a reader, before the re-run holds anything.
const HELD: u64 = 256 << 20;

/// A manifest's JSON as it is parsed: held whole when it is at most [`HELD`] bytes, else read
/// as it is parsed (the bytes read to learn that, from memory), so that the memory it takes stays
/// bounded whatever its length.
enum Json<'a> {
    Held(&'a [u8]),
    Read(&'a mut dyn std::io::Read),
}

impl Json<'_> {
    fn parse<T: serde::de::DeserializeOwned>(self) -> serde_json::Result<T> {
        match self {
            Json::Held(bytes) => serde_json::from_slice(bytes),
            Json::Read(read) => serde_json::from_reader(read),
        }
    }

    /// `parse` given the text of `read`, of about `len` bytes: held whole when it is at most
    /// [`HELD`] bytes, in room made for it once (grown by doubling, a national manifest's
    /// copies and fresh pages cost the process's start more than its parse).
    fn of<T>(
        read: &mut dyn std::io::Read,
        len: u64,
        parse: &impl Fn(Json<'_>) -> serde_json::Result<T>,
    ) -> serde_json::Result<T> {
        use std::io::Read as _;
        let mut held = Vec::with_capacity(usize::try_from(len.min(HELD + 1)).unwrap_or(0));
        read.take(HELD + 1)
            .read_to_end(&mut held)
            .map_err(serde_json::Error::io)?;
        if held.len() as u64 <= HELD {
            return parse(Json::Held(&held));
        }
        let mut rest =
            std::io::BufReader::with_capacity(1 << 16, std::io::Cursor::new(held).chain(read));
        parse(Json::Read(&mut rest))
    }
}

/// The manifest `which` names, parsed by `parse` ([`Json::of`]: held whole up to [`HELD`]
/// bytes): a file, or draw `id`'s text read from the database a piece at a time.
fn read_which<T>(
    which: &Which,
    store: &dyn DrawStore,
    parse: impl Fn(Json<'_>) -> serde_json::Result<T>,
) -> Result<T, VerifyError> {
    let id = match which {
        Which::Manifest(path) => {
            let read = |source| VerifyError::Read {
                path: path.clone(),
                source,
            };
            let file = std::fs::File::open(path).map_err(read)?;
            let len = file.metadata().map_err(read)?.len();
            return Json::of(
                &mut std::io::BufReader::with_capacity(1 << 16, file),
                len,
                &parse,
            )
            .map_err(|e| {
                if e.is_io() {
                    read(e.into())
                } else {
                    VerifyError::NotAManifest {
                        path: path.clone(),
                        detail: e.to_string(),
                    }
                }
            });
        }
        Which::Draw(id) => *id,
    };
    let mut parsed = None;
    let found = store.read_manifest(id, &mut |text, len| {
        parsed = Some(Json::of(text, len, &parse));
    })?;
    match (found, parsed) {
        (true, Some(Ok(m))) => Ok(m),
        (true, Some(Err(e))) => Err(VerifyError::NotAManifest {
            path: std::path::PathBuf::from(store.shown()).join(format!("#{id}")),
            detail: e.to_string(),
        }),
        _ => Err(VerifyError::NoSuchDraw(id)),
    }
}

/// The manifest `which` names, read a line at a time as [`Manifest::digested_lines`] reads it
/// (a file's layout: a national draw's selection hashed line by line, its text never held
/// whole), with the text's hash when `hash`; `head` is given the text before its lists.
/// `None` when it cannot be read so (another layout, or a failure to read or parse it):
/// [`read_which`] then reads it, and says what is wrong.
fn read_lines(
    which: &Which,
    store: &dyn DrawStore,
    hash: bool,
    head: &mut dyn FnMut(&[u8]),
) -> Option<(
    (Manifest, crate::draw::manifest::ListDigests),
    Option<String>,
)> {
    let mut lined = |read: &mut dyn std::io::Read| {
        let mut text = hash.then(crate::digest::Hasher::default);
        let mut read = std::io::BufReader::with_capacity(1 << 16, read);
        let got = Manifest::digested_lines(&mut read, text.as_mut(), head).ok()??;
        Some((got, text.map(crate::digest::Hasher::finish)))
    };
    match which {
        Which::Manifest(path) => lined(&mut std::fs::File::open(path).ok()?),
        Which::Draw(id) => {
            let mut got = None;
            store
                .read_manifest(*id, &mut |text, _| got = lined(text))
                .ok()?;
            got
        }
    }
}

/// Draw `id`'s folder, as the config places it (`None` without a readable config).
fn recorded_folder(
    store: &dyn DrawStore,
    id: i64,
    config: &std::path::Path,
) -> Result<Option<(std::path::PathBuf, bool)>, VerifyError> {
    let filter = DrawFilter {
        include_superseded: true,
        ..DrawFilter::default()
    };
    let head = store
        .list_draw_heads(&filter)?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or(VerifyError::NoSuchDraw(id))?;
    Ok(crate::rules::load_config(config).ok().map(|c| {
        let f = super::issue::draw_folder(&c.output_dir, &head.matter, &head.period);
        (f, false)
    }))
}

/// What says whether a draw's folder holds the manifest verified: its `manifest_hash`, and
/// the SHA-256 of its recorded text when known.
struct Holds<'a> {
    manifest_hash: &'a str,
    text_hash: Option<&'a str>,
}

impl Holds<'_> {
    /// Whether `folder`'s manifest.json is the manifest: the recorded text itself (hashed, not
    /// parsed: a national draw's is 150 MB of JSON), else a manifest claiming its hash.
    fn folder(&self, folder: &std::path::Path) -> bool {
        let file = folder.join("manifest.json");
        let same_text = self
            .text_hash
            .is_some_and(|t| crate::digest::sha256_file(&file).is_ok_and(|h| h == t));
        same_text || super::issue::manifest_hash_in(folder).as_deref() == Some(self.manifest_hash)
    }
}

/// A `suiji-manifest/3`'s detail file in `folder` (the manifest's own folder, `own`, or the
/// draw's when it holds this manifest): its path, and what is wrong with it, when it does not
/// hash to what the manifest records (its summary and `manifest_hash`). `None`: no such
/// manifest, or no such file there.
fn detail_file(
    (summary, holds): (&crate::draw::manifest::ExclusionSummary, Holds<'_>),
    folder: &std::path::Path,
    own: bool,
) -> Option<(std::path::PathBuf, Option<String>)> {
    // The draw's folder may hold another draw (a redraw); only this manifest's is checked.
    if !own && !holds.folder(folder) {
        return None;
    }
    // The name is the format's, not the manifest's (which a forger could point elsewhere).
    let path = folder.join(crate::draw::manifest::EXCLUSIONS_FILE);
    let problem = match crate::digest::sha256_file(&path) {
        Ok(h) if h == summary.sha256 => None,
        Ok(h) => Some(format!(
            "{} was altered: it hashes to {h}, but the manifest records {}",
            path.display(),
            summary.sha256
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => Some(format!("cannot read {}: {e}", path.display())),
    };
    Some((path, problem))
}

/// Re-runs the recorded draw `id` (its manifest as the database holds it) and says whether it
/// gives the same draw; `None` when there is no such draw.
pub fn recorded_draw(store: &dyn DrawStore, id: i64) -> Result<Option<Verdict>, VerifyError> {
    let Some(row) = store.draw(id)? else {
        return Ok(None);
    };
    let mut manifest: Manifest =
        serde_json::from_str(&row.record.manifest_json).map_err(|e| VerifyError::NotAManifest {
            path: std::path::PathBuf::from(format!("draw #{id}")),
            detail: e.to_string(),
        })?;
    Ok(Some(verify_manifest(&mut manifest, store)))
}
