//! Rebuilding the draws' folders in `out/` from the database (`suiji regenerate`).
//!
//! Everything a draw's files are made of is recorded: the manifest, the rule set and the
//! registry snapshot it was drawn from. So a deleted, damaged or never-placed folder comes
//! back byte for byte as the draw first wrote it. Each folder is written like a draw's
//! (staged, then moved into place); a folder whose files differ from the rebuilt ones is
//! kept aside (`PERIOD.altered-PID`), never silently overwritten.

use std::path::{Path, PathBuf};

use super::issue::draw_folder;
use super::place::{Layout, Staging, staging_name};
use crate::diag::{Fault, Problem, Report};
use crate::draw::manifest::Manifest;
use crate::store::{DrawFilter, DrawRow, DrawStatus, Store, StoreError};

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

#[derive(Debug, thiserror::Error)]
pub enum RegenerateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no draw #{0} is recorded")]
    NoSuchDraw(i64),
}

impl Problem for RegenerateError {
    fn fault(&self) -> Fault {
        match self {
            RegenerateError::Store(_) => Fault::Failed,
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
    store: &Store,
    output_dir: &Path,
    input: &Input,
) -> Result<Vec<Regenerated>, RegenerateError> {
    // What an interrupted run left staged first: placed when recorded, else removed.
    super::sweep::restore(output_dir, store);
    super::sweep::orphans(output_dir, store);
    let draws = match input.draw {
        Some(id) => vec![store.draw(id)?.ok_or(RegenerateError::NoSuchDraw(id))?],
        None => store.list_draws(&DrawFilter {
            include_superseded: true,
            ..DrawFilter::default()
        })?,
    };
    Ok(draws
        .into_iter()
        .map(|d| {
            let folder = folder_of(output_dir, &d);
            let outcome = match files_of(&d, store) {
                Ok(files) => write(&folder, &files),
                Err(e) => Outcome::Failed(e),
            };
            Regenerated {
                draw_id: d.id,
                matter: d.record.matter,
                period: d.record.period,
                folder,
                outcome,
            }
        })
        .collect())
}

/// Where a draw's files belong: its period's folder, or for a superseded draw the folder
/// its files were kept in when it was replaced.
fn folder_of(output_dir: &Path, d: &DrawRow) -> PathBuf {
    let folder = draw_folder(output_dir, &d.record.matter, &d.record.period);
    match (d.status, d.superseded_by) {
        (DrawStatus::Superseded, Some(by)) => {
            folder.with_file_name(format!("{}.superseded-{by}", d.record.period))
        }
        _ => folder,
    }
}

/// The draw's files, rebuilt from the manifest, the rules and the registry it recorded.
pub(crate) fn files_of(d: &DrawRow, store: &Store) -> Result<Vec<(PathBuf, Vec<u8>)>, String> {
    let m: Manifest = serde_json::from_str(&d.record.manifest_json)
        .map_err(|e| format!("the recorded manifest cannot be read: {e}"))?;
    let get = |hash: &str, what: &str| {
        store
            .get_snapshot(hash)
            .map_err(|e| format!("the archived {what} snapshot {hash} cannot be used: {e}"))
    };
    let rules = get(&m.rules_hash, "rules")?;
    let targets = get(&m.registry.targets_snapshot, "targets")?;
    let inspectors = get(&m.registry.inspectors_snapshot, "inspectors")?;
    let archived = super::verify::archived_from(&m, |hash: &str, what: &str| {
        [
            (&m.rules_hash, &rules),
            (&m.registry.targets_snapshot, &targets),
            (&m.registry.inspectors_snapshot, &inspectors),
        ]
        .into_iter()
        .find(|(h, _)| h.as_str() == hash)
        .map(|(_, b)| b.clone())
        .ok_or_else(|| format!("no archived {what} {hash}"))
    })?;
    let model = &archived.loaded.model;
    let matter = model
        .matter(&m.matter)
        .ok_or_else(|| format!("the archived rules have no matter `{}`", m.matter))?;
    let files = crate::output::tasks::draw_files(
        model,
        &m.manifest_hash[..12.min(m.manifest_hash.len())],
        &m,
        matter,
        &archived.registry.targets,
        &archived.registry.inspectors,
        &super::draws::marks(d, store.is_simulation().map_err(|e| e.to_string())?),
    )?;
    let mut out: Vec<(PathBuf, Vec<u8>)> = files
        .files
        .into_iter()
        .map(|(name, bytes)| (PathBuf::from(name), bytes))
        .collect();
    // The bundles need the frame: the draw is re-run from the same archived inputs.
    let algorithm = crate::draw::Algorithm::from_name(&m.algorithm).ok_or_else(|| {
        format!(
            "algorithm `{}` is not one this suiji implements",
            m.algorithm
        )
    })?;
    if let (_, Some(bundle)) = super::verify::rerun_archived(&m, algorithm, archived)? {
        out.extend(super::bundle::files(
            &m,
            &bundle,
            &rules,
            &targets,
            &inspectors,
        ));
    }
    Ok(out)
}

/// Whether `folder` holds exactly `files` (the same names, the same bytes).
fn holds(folder: &Path, files: &[(PathBuf, Vec<u8>)]) -> bool {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return false;
    };
    entries.count() == files.len()
        && files
            .iter()
            .all(|(rel, bytes)| std::fs::read(folder.join(rel)).is_ok_and(|b| &b == bytes))
}

/// Writes `files` as `folder` (staged, then moved into place).
fn write(folder: &Path, files: &[(PathBuf, Vec<u8>)]) -> Outcome {
    if holds(folder, files) {
        return Outcome::Unchanged;
    }
    let Some(name) = folder.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Outcome::Failed(format!("{} is not a draw folder", folder.display()));
    };
    let aside = folder.with_file_name(format!("{name}.altered-{}", std::process::id()));
    let existed = folder.exists();
    let staged = match Staging::write(folder.with_file_name(staging_name(&name)), files) {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
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
