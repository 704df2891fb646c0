//! Rebuilding the draws' folders and the publications in `out/` from the database
//! (`suiji regenerate`).
//!
//! Everything a draw's files are made of is recorded: the manifest, the rule set and the
//! registry snapshot it was drawn from. So a deleted, damaged or never-placed folder comes
//! back as the draw first wrote it: every file byte for byte, but for a workbook, whose parts
//! are those the draw wrote while their packing is this build's (a workbook in place is
//! compared by its parts, `output::same_workbook`). Each folder is written like a draw's
//! (staged, then moved into place); a folder whose files differ from the rebuilt ones is
//! kept aside (`PERIOD.altered-PID`), never silently overwritten.
//!
//! A draw's notice (`out/public/<year>/<matter>/<period>/`) is rebuilt as its latest
//! publication wrote it: from the results and publications recorded, the draw's archived
//! registry snapshot and the rules. Each publication records the SHA-256 of every file it
//! wrote, so a rebuilt notice is written only when it has exactly those bytes; one that
//! does not (the rules it was published under have changed since) is reported, and the
//! files in place are left alone. The index of notices (`out/public/index.html`,
//! `index.json`) is rebuilt from every draw's publications.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use std::collections::{BTreeMap, HashMap, HashSet};

use super::issue::draw_folder;
use super::place::{Layout, Staging, staging_name};
use super::publish::index_files;
use crate::calendar::Calendar;
use crate::diag::{Fault, Problem, Report};
use crate::draw::manifest::{ListDigests, Manifest};
use crate::draw::pipeline::Source;
use crate::output::notice::{Notice, NoticeFile};
use crate::output::publication::{notice, notice_folder, shown};
use crate::output::tasks::DrawnCells;
use crate::registry::Target;
use crate::results::ledger::{DrawLedger, LedgerError, ledgers};
use crate::rules::Loaded;
use crate::store::{
    DrawFilter, DrawRow, DrawStatus, DrawStore, PublicationRecord, ResultStore, StoreError,
};

/// Which draws to rebuild.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// One draw (by its number); every recorded draw when `None`.
    pub draw: Option<i64>,
}

/// What happened to one draw's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The folder was there with exactly the rebuilt files.
    Unchanged,
    /// The folder was missing (or incomplete) and is written.
    Written,
    /// The folder's files differed from the record's: they are kept aside, the record's
    /// files written in their place.
    Replaced { aside: PathBuf },
    /// The draw's files cannot be rebuilt (an archived input is missing or unreadable).
    Failed(String),
}

/// One draw's folder.
#[derive(Debug, Clone)]
pub struct Regenerated {
    pub draw_id: i64,
    pub matter: String,
    pub period: String,
    pub folder: PathBuf,
    pub outcome: Outcome,
}

/// What happened to one publication output: a draw's notice folder, or the index.
#[derive(Debug, Clone)]
pub struct Republished {
    /// The draw whose notice it is; `None` for the index of notices.
    pub draw_id: Option<i64>,
    /// "zhian.hotel 2023-H1 notice", or "index".
    pub what: String,
    /// The folder (a notice) or the file (the index).
    pub path: PathBuf,
    pub outcome: Outcome,
}

#[derive(Debug, thiserror::Error)]
pub enum RegenerateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("no draw #{0} is recorded")]
    NoSuchDraw(i64),
}

impl Problem for RegenerateError {
    fn fault(&self) -> Fault {
        match self {
            RegenerateError::Store(_) | RegenerateError::Ledger(_) => Fault::Failed,
            RegenerateError::NoSuchDraw(_) => Fault::Invalid,
        }
    }

    fn report(&self) -> Report {
        match self {
            RegenerateError::NoSuchDraw(_) => Report::error(
                self.to_string(),
                &["`suiji draws` lists the recorded draws"],
            ),
            other => Report::error(crate::diag::chain(other), &[]),
        }
    }
}

/// Rebuilds the folders of the draws asked for under `output_dir` from the database.
pub fn run(
    store: &dyn ResultStore,
    output_dir: &Path,
    input: &Input,
) -> Result<Vec<Regenerated>, RegenerateError> {
    // What an interrupted run left staged first: placed when recorded, else removed.
    super::sweep::restore(output_dir, store);
    super::sweep::orphans(output_dir, store);
    // One draw read at a time: a national draw's recorded manifest is a hundred megabytes.
    let ids = match input.draw {
        Some(id) => vec![id],
        None => store
            .list_draw_heads(&DrawFilter {
                include_superseded: true,
                ..DrawFilter::default()
            })?
            .into_iter()
            .map(|h| h.id)
            .collect(),
    };
    let mut done = Vec::with_capacity(ids.len());
    for id in ids {
        let mut d = store.draw(id)?.ok_or(RegenerateError::NoSuchDraw(id))?;
        let folder = folder_of(output_dir, &d);
        let outcome = rebuilt(&folder, &mut d, store);
        done.push(Regenerated {
            draw_id: d.id,
            matter: d.record.matter,
            period: d.record.period,
            folder,
            outcome,
        });
    }
    Ok(done)
}

/// Where a draw's files belong: its period's folder, or for a superseded draw the folder
/// its files were kept in when it was replaced.
fn folder_of(output_dir: &Path, d: &DrawRow) -> PathBuf {
    let folder = draw_folder(output_dir, &d.record.matter, &d.record.period);
    match (d.status, d.superseded_by) {
        (DrawStatus::Superseded, Some(by)) => {
            super::issue::superseded_folder(&folder, &d.record.period, by)
        }
        _ => folder,
    }
}

/// Rebuilds draw `d`'s folder: its files written into a staging folder beside it, which is
/// then let go (the folder holds exactly those files) or moved into its place.
/// `d`'s recorded manifest is taken out of it ([`write_files`]).
fn rebuilt(folder: &Path, d: &mut DrawRow, store: &dyn DrawStore) -> Outcome {
    let Some(name) = folder.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Outcome::Failed(format!("{} is not a draw folder", folder.display()));
    };
    let staged = match Staging::write(folder.with_file_name(staging_name(&name)), &[]) {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    if let Err(e) = write_files(d, store, staged.dir()) {
        return Outcome::Failed(e);
    }
    if holds(folder, staged.dir()) {
        return Outcome::Unchanged;
    }
    let aside = folder.with_file_name(format!("{name}.altered-{}", std::process::id()));
    let existed = folder.exists();
    // Nothing to record: the record is already there. The folder is placed at once.
    let placed = staged
        .commit(|| Ok::<(), std::convert::Infallible>(()))
        .map(|(committed, ())| {
            committed.place(&Layout::Folder {
                dest: folder.to_path_buf(),
                aside: aside.clone(),
            })
        });
    match placed {
        Ok(Ok(())) if existed => Outcome::Replaced { aside },
        Ok(Ok(())) => Outcome::Written,
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Err(never) => match never {},
    }
}

/// The archived inputs a draw's files copy: the rules archive and the inspector snapshot, and the
/// target snapshot's file (kept as one beside the database) or bytes.
struct Held {
    rules: Vec<u8>,
    inspectors: Vec<u8>,
    targets: HeldTargets,
}

enum HeldTargets {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Held {
    fn of(m: &Manifest, store: &dyn DrawStore) -> Result<Held, String> {
        let get = |hash: &str, what: &str| {
            store
                .get_snapshot(hash)
                .map_err(|e| format!("the archived {what} snapshot {hash} cannot be used: {e}"))
        };
        let hash = &m.registry.targets_snapshot;
        let file = store
            .snapshot_file(hash)
            .map_err(|e| format!("the archived targets snapshot {hash} cannot be used: {e}"))?;
        Ok(Held {
            rules: get(&m.rules_hash, "rules")?,
            inspectors: get(&m.registry.inspectors_snapshot, "inspectors")?,
            targets: match file {
                Some(path) => HeldTargets::File(path),
                None => HeldTargets::Bytes(get(hash, "targets")?),
            },
        })
    }

    /// The bytes of the snapshot `hash` of `m`.
    fn get(&self, m: &Manifest, hash: &str, what: &str) -> Result<Vec<u8>, String> {
        let bytes = match &self.targets {
            HeldTargets::Bytes(b) if hash == m.registry.targets_snapshot => b,
            _ if hash == m.rules_hash => &self.rules,
            _ if hash == m.registry.inspectors_snapshot => &self.inspectors,
            _ => return Err(format!("no archived {what} {hash}")),
        };
        Ok(bytes.clone())
    }

    fn audit_targets(&self) -> crate::jobs::issue::AuditTargets<'_> {
        match &self.targets {
            HeldTargets::File(p) => crate::jobs::issue::AuditTargets::File(p),
            HeldTargets::Bytes(b) => crate::jobs::issue::AuditTargets::Bytes(b),
        }
    }
}

/// Writes the draw's files into `dir` as the draw wrote them, from the manifest, the rules and
/// the registry it recorded: the draw re-run over its archived registry (a snapshot file read
/// in bounded memory) writes the public bundle and the detail file; the documents show the
/// drawn rows, read from the snapshot where the re-run found them; the audit bundle copies the
/// files.
fn write_files(d: &mut DrawRow, store: &dyn DrawStore, dir: &Path) -> Result<(), String> {
    // The marks read the recorded manifest's scheduled time; then its text is let go once
    // parsed (a national draw's is a hundred megabytes).
    let marks = super::draws::marks(d, store.is_simulation().map_err(|e| e.to_string())?);
    let text = std::mem::take(&mut d.record.manifest_json);
    let (light, digests) = Manifest::digested(|| serde_json::from_str(&text))
        .map_err(|e| format!("the recorded manifest cannot be read: {e}"))?;
    drop(text);
    let algorithm = crate::draw::Algorithm::from_name(&light.algorithm).ok_or_else(|| {
        format!(
            "algorithm `{}` is not one this suiji implements",
            light.algorithm
        )
    })?;
    let held = Held::of(&light, store)?;
    let file = match &held.targets {
        HeldTargets::File(p) => Some(p.clone()),
        HeldTargets::Bytes(_) => None,
    };
    let get = |hash: &str, what: &str| held.get(&light, hash, what);
    let (_rules_dir, loaded, frozen) = super::verify::archived_over(&light, file, &get)?;
    let (m, drawn_at) = rerun_into((light, &digests), algorithm, (&loaded, &frozen), dir)?;
    let model = &loaded.model;
    let matter = model
        .matter(&m.matter)
        .ok_or_else(|| format!("the archived rules have no matter `{}`", m.matter))?;
    let mut put = |name: String, body: crate::output::tasks::Body<'_>| {
        let rel = PathBuf::from(name);
        let path = dir.join(&rel);
        let written = match body {
            crate::output::tasks::Body::Bytes(bytes) => std::fs::write(&path, bytes),
            crate::output::tasks::Body::Written(write) => write_through(&path, write),
        };
        written.map_err(|e| format!("{}: {e}", path.display()))
    };
    // The manifest goes in last, under its name once the audit bundle holds it: a staging
    // folder with the recorded manifest is put in place as the draw's (`sweep::restore`), so a
    // run stopped half way must leave none.
    let partial = dir.join(PARTIAL_MANIFEST);
    write_through(&partial, Box::new(|out| m.write_file_json(out)))
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    // The drawn rows' cells, read from the snapshot file where the re-run found them (as the
    // draw reads them for its documents), or from the registry held.
    let targets = match &frozen.file {
        Some(f) => {
            let source = Source::Csv {
                path: &f.snapshot.path,
                known: &f.known,
            };
            let fields = &DrawnCells::FIELDS;
            let cells = crate::draw::pipeline::drawn_cells(source, &drawn_at, fields)
                .map_err(|e| format!("the drawn rows of the snapshot cannot be read: {e}"))?;
            DrawnCells::of_cells(cells)
        }
        None => DrawnCells::of_targets(&frozen.registry.targets),
    };
    crate::output::tasks::documents(
        model,
        &m.manifest_hash[..12.min(m.manifest_hash.len())],
        &m,
        matter,
        targets,
        &frozen.registry.inspectors,
        &marks,
        &mut put,
    )?;
    super::probe::point("regenerate.documents");
    let v2 = super::bundle::audit_v2(&m);
    let inputs = (
        held.rules.as_slice(),
        held.audit_targets(),
        held.inspectors.as_slice(),
    );
    crate::jobs::issue::write_audit_of((dir, &partial), v2, inputs)?;
    let manifest = dir.join(crate::output::tasks::MANIFEST_FILE);
    std::fs::rename(&partial, &manifest).map_err(|e| format!("{}: {e}", manifest.display()))
}

/// The manifest's name in a staging folder until the rest of the folder is written.
const PARTIAL_MANIFEST: &str = ".manifest.json.partial";

/// A file whose bytes `write` makes, through a buffer.
fn write_through(
    path: &Path,
    write: Box<crate::output::tasks::WriteBody<'_>>,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(path)?);
    write(&mut out)?;
    out.flush()
}

/// Re-runs the draw `m` (read with its selection and substitutes digested, `digests`:
/// [`Manifest::digested`]) over its archived inputs, its public bundle and (a
/// `suiji-manifest/3`'s or `/4`'s) detail file written into `dir` as they are made, each checked
/// against the hash the manifest records, and its selection and substitutes against their
/// digests: `m` made whole with the re-run's lists, which are then the recorded ones (a
/// national draw's selection is never held twice), and where its drawn rows are in the
/// snapshot file (in the file's order; none when the registry is held in memory).
fn rerun_into(
    (mut m, digests): (Manifest, &ListDigests),
    algorithm: crate::draw::Algorithm,
    archived: (&crate::rules::Loaded, &crate::jobs::issue::Frozen),
    dir: &Path,
) -> Result<(Manifest, Vec<u64>), String> {
    let create = |name: &str| {
        let path = dir.join(name);
        std::fs::File::create(&path)
            .map(|f| (path.clone(), std::cell::RefCell::new(f)))
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let (_, public) = create(super::bundle::PUBLIC_FILE)?;
    let (detail_path, detail) = create(crate::draw::manifest::EXCLUSIONS_FILE)?;
    let crate::draw::pipeline::Drawn {
        manifest: mut re,
        drawn_at,
        selected_digest,
        ..
    } = super::verify::rerun_writing(&m, algorithm, archived, (&public, &detail))?;
    drop((public, detail));
    if ListDigests::of_sealed(&re, selected_digest) != *digests {
        return Err(
            "the re-run's selection or substitutes are not the recorded ones (suiji verify names the differences)"
                .into(),
        );
    }
    m.put_lists(re.take_lists());
    if let (Some(recorded), Some(rerun)) = (&m.public_bundle, &re.public_bundle)
        && recorded != rerun
    {
        return Err(format!(
            "the re-run's {} hashes to {rerun}, not to the recorded {recorded}",
            super::bundle::PUBLIC_FILE
        ));
    }
    match (&m.exclusion_summary, &re.exclusion_summary) {
        (None, _) => std::fs::remove_file(&detail_path)
            .map_err(|e| format!("{}: {e}", detail_path.display()))
            .map(|()| (m, drawn_at)),
        (Some(recorded), Some(rerun)) if recorded.sha256 == rerun.sha256 => Ok((m, drawn_at)),
        (Some(recorded), rerun) => Err(format!(
            "the re-run's {} hashes to {}, not to the recorded {}",
            recorded.file,
            rerun.as_ref().map_or("nothing", |r| r.sha256.as_str()),
            recorded.sha256
        )),
    }
}

/// Whether `folder` holds exactly the files staged in `staged`: the same names, the same bytes;
/// a workbook (`.xlsx`) the same parts, however they were compressed
/// ([`crate::output::same_workbook`]), so that a workbook an earlier build wrote counts as the
/// one rebuilt when only its packing differs.
fn holds(folder: &Path, staged: &Path) -> bool {
    let names = |dir: &Path| -> Option<std::collections::BTreeSet<std::ffi::OsString>> {
        std::fs::read_dir(dir)
            .ok()?
            .map(|e| e.ok().map(|e| e.file_name()))
            .collect()
    };
    let (Some(found), Some(rebuilt)) = (names(folder), names(staged)) else {
        return false;
    };
    found == rebuilt
        && rebuilt.iter().all(|name| {
            let (found, rebuilt) = (folder.join(name), staged.join(name));
            if Path::new(name).extension().is_some_and(|e| e == "xlsx") {
                return match (std::fs::read(&found), std::fs::read(&rebuilt)) {
                    (Ok(a), Ok(b)) => a == b || crate::output::same_workbook(&a, &b),
                    _ => false,
                };
            }
            super::place::same_bytes(&found, &rebuilt).unwrap_or(false)
        })
}

/// Rebuilds the publication outputs under the output folder from the database: the notice
/// of every draw with a publication (of draw `input.draw` only, when given) and, for every
/// draw, the index of notices.
pub fn publications(
    cx: &super::Context,
    input: &Input,
) -> Result<Vec<Republished>, RegenerateError> {
    publications_on(&cx.loaded, &cx.cal, &cx.store, input)
}

/// [`publications`] on either database ([`ResultStore`]): the same files from the same
/// records.
pub fn publications_on(
    loaded: &Loaded,
    cal: &Calendar,
    store: &dyn ResultStore,
    input: &Input,
) -> Result<Vec<Republished>, RegenerateError> {
    let model = &loaded.model;
    let output_dir = &model.config.output_dir;
    let all = ledgers(store, model, cal, &DrawFilter::default())?;
    let chosen: Vec<&DrawLedger> = all
        .iter()
        .filter(|l| !l.publications.is_empty() && input.draw.is_none_or(|d| d == l.draw.id))
        .collect();
    let rows = shown_rows(store, &chosen);
    let none = HashMap::new();
    let mut done = Vec::new();
    for l in chosen {
        let r = &l.draw.record;
        let folder = notice_folder(&r.matter, &r.period);
        let built = match rows.get(r.targets_snapshot.as_str()) {
            Some(Ok(registry)) => rebuilt_notice(model, l, registry, &folder),
            Some(Err(e)) => Err(e.clone()),
            None => rebuilt_notice(model, l, &none, &folder),
        };
        let outcome = match built {
            Ok((n, files)) => {
                let dir = output_dir.join(&folder);
                // Each file made again as it is written.
                let outcomes: Vec<Outcome> = files
                    .iter()
                    .map(|(name, file, sha256)| {
                        write_made(&dir.join(name), sha256, |out| n.write_file(*file, out))
                    })
                    .collect();
                let names: Vec<String> = files.into_iter().map(|(name, ..)| name).collect();
                super::publish::drop_other_pages(&dir, &names);
                summed(outcomes)
            }
            Err(e) => Outcome::Failed(e),
        };
        done.push(Republished {
            draw_id: Some(l.draw.id),
            what: format!("{} {} notice", r.matter, r.period),
            path: output_dir.join(folder),
            outcome,
        });
    }
    let published = all.iter().any(|l| !l.publications.is_empty());
    if input.draw.is_none() && published {
        let as_of = all.iter().filter_map(DrawLedger::last_published).max();
        let files = index_files(
            &model.config.bureau.name,
            &all,
            &HashMap::new(),
            as_of.unwrap_or_default(),
        );
        for (rel, bytes) in files {
            let path = output_dir.join(&rel);
            done.push(Republished {
                draw_id: None,
                what: "index".into(),
                outcome: write_file(&path, &bytes),
                path,
            });
        }
    }
    Ok(done)
}

/// The rows the notices of `ledgers` show, by target snapshot, each snapshot read once; one
/// that cannot be read fails the notices over it only.
fn shown_rows<'a>(
    store: &dyn DrawStore,
    ledgers: &[&'a DrawLedger],
) -> HashMap<&'a str, Result<HashMap<String, Target>, String>> {
    let mut by_snapshot: BTreeMap<&str, Vec<&DrawLedger>> = BTreeMap::new();
    for l in ledgers {
        by_snapshot
            .entry(l.draw.record.targets_snapshot.as_str())
            .or_default()
            .push(l);
    }
    let none = HashSet::new();
    by_snapshot
        .into_iter()
        .map(|(hash, ls)| {
            let wanted = ls
                .into_iter()
                .flat_map(|l| shown(l, &none).map(move |id| (hash, id)));
            let read = super::verify::archived_rows(store, wanted)
                .map(|mut r| r.remove(hash).unwrap_or_default());
            (hash, read)
        })
        .collect()
}

/// A notice's file as rebuilt: its name in the notice's folder, which it is, and its SHA-256
/// (the one its publication recorded).
type CheckedFile = (String, NoticeFile, String);

/// A draw's notice as its latest publication wrote it, with its files (name in its folder,
/// which, SHA-256), each made once to check it against the SHA-256 that publication recorded
/// for the file (and let go: it is made again as it is written).
fn rebuilt_notice<'a>(
    model: &'a crate::rules::model::Model,
    l: &'a DrawLedger,
    registry: &'a HashMap<String, Target>,
    folder: &Path,
) -> Result<(Notice<'a>, Vec<CheckedFile>), String> {
    let last = l
        .publications
        .last()
        .ok_or_else(|| "no publication is recorded".to_string())?;
    let record: PublicationRecord = serde_json::from_value(last.files.clone())
        .map_err(|e| format!("publication #{} cannot be read: {e}", last.id))?;
    let as_of = chrono::NaiveDate::parse_from_str(&record.as_of, "%Y-%m-%d")
        .map_err(|e| format!("publication #{}: day {:?}: {e}", last.id, record.as_of))?;
    // A notice published before notices had pages is one page, however long.
    let second = format!("/{}", crate::output::notice::page_name(2));
    let paged = record.files.iter().any(|f| f.path.ends_with(&second));
    // A notice published before its closing lines said how many were late or overdue has
    // the first wording: made again in it when the present one does not give its bytes.
    let mut n = notice(model, l, registry, &HashSet::new(), as_of);
    let mut checked = checked_files(&n, paged, folder, &record);
    if checked.is_err() {
        n.wording = crate::output::notice::Wording::First;
        if let Ok(files) = checked_files(&n, paged, folder, &record) {
            checked = Ok(files);
        }
    }
    match checked {
        Ok(files) => Ok((n, files)),
        Err(Unmatched::Differs {
            path,
            sha,
            recorded,
        }) => Err(format!(
            "{path} as rebuilt (SHA-256 {sha}) is not the file publication #{} wrote on {} \
             ({recorded}): the rules it was published under have changed since; the files in place are left as they are",
            last.id, record.as_of
        )),
        Err(Unmatched::NotRecorded { path }) => Err(format!(
            "publication #{} records no {path}; the files in place are left as they are",
            last.id
        )),
        Err(Unmatched::Unmade { path, error }) => Err(format!("{path} cannot be made: {error}")),
    }
}

/// Why a rebuilt notice's file is not one its publication wrote.
enum Unmatched {
    Differs {
        path: String,
        sha: String,
        recorded: String,
    },
    NotRecorded {
        path: String,
    },
    Unmade {
        path: String,
        error: std::io::Error,
    },
}

/// The files of notice `n` (one page, unless `paged`), each made once to check its SHA-256
/// against the one `record` has for it.
fn checked_files(
    n: &Notice<'_>,
    paged: bool,
    folder: &Path,
    record: &PublicationRecord,
) -> Result<Vec<CheckedFile>, Unmatched> {
    let mut files = Vec::new();
    for (name, file) in n.files(paged) {
        let path = folder.join(&name).to_string_lossy().replace('\\', "/");
        let sha =
            crate::digest::sha256_written(|out| n.write_file(file, out)).map_err(|error| {
                Unmatched::Unmade {
                    path: path.clone(),
                    error,
                }
            })?;
        match record.files.iter().find(|f| f.path == path) {
            Some(f) if f.sha256 == sha => files.push((name, file, sha)),
            Some(f) => {
                return Err(Unmatched::Differs {
                    path,
                    sha,
                    recorded: f.sha256.clone(),
                });
            }
            None => return Err(Unmatched::NotRecorded { path }),
        }
    }
    Ok(files)
}

/// One outcome for the files of a folder: the first failure, else the first file replaced,
/// else written if any was, else unchanged.
fn summed(outcomes: Vec<Outcome>) -> Outcome {
    let rank = |o: &Outcome| match o {
        Outcome::Failed(_) => 0,
        Outcome::Replaced { .. } => 1,
        Outcome::Written => 2,
        Outcome::Unchanged => 3,
    };
    outcomes
        .into_iter()
        .min_by_key(rank)
        .unwrap_or(Outcome::Unchanged)
}

/// Writes one file (through a temporary file renamed into place); a file there with other
/// bytes is kept aside (`NAME.altered-PID`).
fn write_file(path: &Path, bytes: &[u8]) -> Outcome {
    write_made(path, &crate::digest::sha256_hex(bytes), |out| {
        out.write_all(bytes)
    })
}

/// [`write_file`] of the bytes `fill` writes, whose SHA-256 is `sha256`: a file there that
/// hashes the same is left as it is; neither is ever held whole.
fn write_made(
    path: &Path,
    sha256: &str,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Outcome {
    let existing = path.is_file();
    if existing && crate::digest::sha256_file(path).is_ok_and(|h| h == sha256) {
        return Outcome::Unchanged;
    }
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Outcome::Failed(format!("{} is not a file", path.display()));
    };
    let tmp = path.with_file_name(format!(".{name}.regenerate-{}", std::process::id()));
    let aside = path.with_file_name(format!("{name}.altered-{}", std::process::id()));
    let written = (|| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&tmp)?);
        fill(&mut out)?;
        out.flush()?;
        drop(out);
        if existing {
            std::fs::rename(path, &aside)?;
        }
        std::fs::rename(&tmp, path)
    })();
    match written {
        Ok(()) if existing => Outcome::Replaced { aside },
        Ok(()) => Outcome::Written,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Outcome::Failed(format!("{}: {e}", path.display()))
        }
    }
}
