//! Removing the staging folders of jobs that were killed before their record was committed.
//!
//! A draw is staged in `out/draws/MATTER/.PERIOD.staging-PID-N`, a publication in
//! `out/.publish.staging-PID-N` (see [`super::place`]). A job that fails removes its own folder;
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
use crate::store::{DrawFilter, DrawStore, ResultStore};

/// Removes the staging folders under `output_dir` that no job will commit or place; returns
/// them.
pub fn orphans(output_dir: &Path, store: &dyn ResultStore) -> Vec<PathBuf> {
    let mut removed = orphan_draws(output_dir, store);
    removed.extend(place::sweep(output_dir, ".publish.staging-", |dir| {
        super::publish::staged_recorded(dir, store)
    }));
    logged(removed)
}

/// [`orphans`] of draws alone.
pub fn orphan_draw_folders(output_dir: &Path, store: &dyn DrawStore) -> Vec<PathBuf> {
    logged(orphan_draws(output_dir, store))
}

fn orphan_draws(output_dir: &Path, store: &dyn DrawStore) -> Vec<(PathBuf, u32)> {
    let mut removed = Vec::new();
    if let Ok(draws) = store.list_draw_heads(&DrawFilter::default()) {
        let hashes: HashSet<String> = draws.into_iter().map(|d| d.manifest_hash).collect();
        let recorded =
            |dir: &Path| super::issue::manifest_hash_in(dir).is_some_and(|h| hashes.contains(&h));
        for matter in place::pending(&output_dir.join("draws"), "") {
            removed.extend(place::sweep(&matter, ".", recorded));
        }
    }
    removed
}

/// Logs each removed folder; returns the folders.
fn logged(removed: Vec<(PathBuf, u32)>) -> Vec<PathBuf> {
    for (dir, pid) in &removed {
        tracing::warn!(
            folder = %dir.display(),
            process = pid,
            "removed a staging folder left by an interrupted run (the process has ended, nothing was recorded)"
        );
    }
    removed.into_iter().map(|(dir, _)| dir).collect()
}

/// Puts in place the files a crash left staged after their record was committed (draws and
/// publications), and removes staged copies of files already in place; returns the folders
/// placed. Cheap when nothing is staged: only folders named `.….staging-PID-N` are looked at.
pub fn restore(output_dir: &Path, store: &dyn ResultStore) -> Vec<PathBuf> {
    let mut placed = restore_draws(output_dir, store);
    placed.extend(super::publish::restore(output_dir, store));
    placed
}

/// [`restore`] of draws alone.
pub fn restore_draws(output_dir: &Path, store: &dyn DrawStore) -> Vec<PathBuf> {
    let mut placed = Vec::new();
    for (matter, period) in staged_draws(output_dir) {
        if let Ok(Some(d)) = store.active_draw(&matter, &period)
            && super::issue::restore_files(output_dir, &d)
        {
            tracing::warn!(matter = %matter, period = %period, draw = d.id, "the draw's files were left staged by an interrupted run; moved into place");
            placed.push(super::issue::draw_folder(output_dir, &matter, &period));
        }
    }
    placed
}

/// Staging folders found under `output_dir`, for commands that only read: they report what an
/// interrupted run left, and the next command that writes puts it in place or removes it.
pub fn report(output_dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = place::pending(&output_dir.join("draws"), "")
        .iter()
        .flat_map(|matter| place::pending(matter, "."))
        .filter(|d| place::owner(d).is_some())
        .collect();
    found.extend(place::pending(output_dir, ".publish.staging-"));
    for dir in &found {
        tracing::warn!(
            folder = %dir.display(),
            "files left staged by an interrupted run; the next command that writes (suiji run, simulate, draw, publish, regenerate) puts them in place or removes them"
        );
    }
    found
}

/// (matter, period) of every draw staging folder (`out/draws/MATTER/.PERIOD.staging-PID-N`).
fn staged_draws(output_dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for matter_dir in place::pending(&output_dir.join("draws"), "") {
        let Some(matter) = matter_dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        for dir in place::pending(&matter_dir, ".") {
            let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some((period, _)) = name
                .strip_prefix('.')
                .and_then(|n| n.rsplit_once(".staging-"))
                && !out.iter().any(|(m, p)| m == matter && p == period)
            {
                out.push((matter.to_string(), period.to_string()));
            }
        }
    }
    out
}
