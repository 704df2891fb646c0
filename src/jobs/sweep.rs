//! Removing the staging folders of jobs that were killed before their record was committed.
//!
//! A draw is staged in `out/draws/MATTER/.PERIOD.staging-PID`, a publication in
//! `out/.publish.staging-PID` (see [`super::place`]). A job that fails removes its own folder;
//! a job killed before its commit cannot, so every command that opens the database for
//! writing ([`super::open_store`]) sweeps such folders. The rule: a folder is removed only
//! when the process named in its name no longer runs (a running one may still be writing
//! the folder or committing its record) **and** nothing in the database refers to it — no
//! draw has the manifest hash of the folder's `manifest.json`, no recorded publication
//! matches its marker. A folder the database refers to is left for the restore that places
//! it; when the database cannot be read, nothing is removed. Each removal is logged.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::place;
use crate::store::{DrawFilter, Store};

/// Removes the staging folders under `output_dir` that no job will commit or place; returns
/// them.
pub fn orphans(output_dir: &Path, store: &Store) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    if let Ok(draws) = store.list_draws(&DrawFilter::default()) {
        let hashes: HashSet<String> = draws.into_iter().map(|d| d.record.manifest_hash).collect();
        let recorded =
            |dir: &Path| super::issue::manifest_hash_in(dir).is_some_and(|h| hashes.contains(&h));
        for matter in place::pending(&output_dir.join("draws"), "") {
            removed.extend(place::sweep(&matter, ".", recorded));
        }
    }
    removed.extend(place::sweep(output_dir, ".publish.staging-", |dir| {
        super::publish::staged_recorded(dir, store)
    }));
    for (dir, pid) in &removed {
        tracing::warn!(
            folder = %dir.display(),
            process = pid,
            "removed a staging folder left by an interrupted run (the process has ended, nothing was recorded)"
        );
    }
    removed.into_iter().map(|(dir, _)| dir).collect()
}
