//! Stage → commit → place: how a job writes files that belong to a database record.
//!
//! The files are written to a staging folder beside where they go ([`Staging::write`]); the
//! record is committed in one transaction ([`Staging::commit`], which removes the staging
//! folder if the record is refused); only then are the files moved into place
//! ([`Committed::place`]). A crash, or a failed move, between the commit and the move leaves
//! the staging folder behind: [`restore`] finds such folders the next time a job opens the
//! output folder and places the ones whose record is committed and whose process has ended
//! (a process that still runs places its own, and another must not race it). So the files on disk are
//! either the record's or none, never files of a record that does not exist.
//!
//! A staging folder whose record was never committed is removed: by its own job when the job
//! fails (a failed write, a full disk, a refused record, an early return or a panic: dropping
//! a [`Staging`] removes it), and, when the job was killed before its commit, by the next
//! command that opens the data ([`sweep`]). A folder is swept only when both hold: nothing in
//! the database refers to it, and the process named in its name (`…staging-PID-N`) no longer
//! runs — a running process may still be writing it or about to commit it.

use std::path::{Path, PathBuf};

/// Where a staging folder's files go.
#[derive(Debug, Clone)]
pub enum Layout {
    /// The staging folder becomes `dest`; an existing `dest` is first moved to `aside`.
    Folder { dest: PathBuf, aside: PathBuf },
    /// Every file in the staging folder (except [`MARKER`]) moves to the same relative path
    /// under `root`, replacing what is there.
    Files { root: PathBuf },
}

/// A file in a staging folder that says what the folder belongs to; never placed.
pub const MARKER: &str = "staged.json";

#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct PlaceError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl crate::diag::Problem for PlaceError {
    fn fault(&self) -> crate::diag::Fault {
        crate::diag::Fault::Failed
    }

    fn report(&self) -> crate::diag::Report {
        crate::diag::Report::error(
            crate::diag::chain(self),
            &["check that its folder exists and can be written to, and that the disk has room"],
        )
    }
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> PlaceError + '_ {
    move |source| PlaceError {
        path: path.to_path_buf(),
        source,
    }
}

/// Files written to a staging folder, not yet belonging to any record. Dropped without being
/// committed (a failure, an early return), it removes the folder.
#[derive(Debug)]
#[must_use = "a staging folder is committed or removed"]
pub struct Staging {
    dir: PathBuf,
}

/// A staging folder whose record is committed: its files are to be placed.
#[derive(Debug)]
#[must_use = "committed files are placed"]
pub struct Committed {
    dir: PathBuf,
}

impl Staging {
    /// Writes `files` (paths relative to `dir`) into `dir`, which is emptied first. On
    /// failure nothing is left behind.
    pub fn write(dir: PathBuf, files: &[(PathBuf, Vec<u8>)]) -> Result<Staging, PlaceError> {
        let _ = std::fs::remove_dir_all(&dir);
        let staging = Staging { dir };
        let written = (|| {
            std::fs::create_dir_all(&staging.dir).map_err(at(&staging.dir))?;
            for (rel, bytes) in files {
                staging.add(rel, bytes)?;
            }
            Ok(())
        })();
        match written {
            Ok(()) => Ok(staging),
            Err(e) => {
                staging.discard();
                Err(e)
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one more file (`rel`, relative to the folder) into the staging folder.
    pub fn add(&self, rel: &Path, bytes: &[u8]) -> Result<(), PlaceError> {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(at(parent))?;
        }
        std::fs::write(&path, bytes).map_err(at(&path))
    }

    /// Writes one more file (`rel`) whose bytes `write` makes, through a buffer, so that a
    /// long file is never held whole.
    pub fn add_written(
        &self,
        rel: &Path,
        write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), PlaceError> {
        use std::io::Write as _;
        let (path, file) = self.create(rel)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        write(&mut out)
            .and_then(|()| out.flush())
            .map_err(at(&path))
    }

    /// [`Staging::add_written`], the bytes hashed as they go to the file: their SHA-256
    /// (lowercase hex).
    pub fn add_hashed(
        &self,
        rel: &Path,
        write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<String, PlaceError> {
        use std::io::Write as _;
        let (path, file) = self.create(rel)?;
        // Hashed below the buffer, a buffer's worth at a time.
        let hashed = crate::digest::HashingWriter::new(file);
        let mut out = std::io::BufWriter::with_capacity(1 << 16, hashed);
        write(&mut out)
            .and_then(|()| out.flush())
            .map_err(at(&path))?;
        let hashed = out.into_inner().map_err(|e| at(&path)(e.into_error()))?;
        Ok(hashed.finish().0)
    }

    /// The new file `rel` (its folders made), with its path.
    fn create(&self, rel: &Path) -> Result<(PathBuf, std::fs::File), PlaceError> {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(at(parent))?;
        }
        let file = std::fs::File::create(&path).map_err(at(&path))?;
        Ok((path, file))
    }

    /// Runs `record` (one transaction); removes the staged files when it fails.
    pub fn commit<T, E>(self, record: impl FnOnce() -> Result<T, E>) -> Result<(Committed, T), E> {
        match record() {
            Ok(v) => {
                let mut this = self;
                let dir = std::mem::take(&mut this.dir);
                Ok((Committed { dir }, v))
            }
            Err(e) => {
                self.discard();
                Err(e)
            }
        }
    }

    /// Removes the staged files (nothing was recorded).
    pub fn discard(self) {
        drop(self);
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Committed {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the files into place. On failure they stay staged, and [`restore`] places them
    /// later.
    pub fn place(self, layout: &Layout) -> Result<(), PlaceError> {
        place(&self.dir, layout)
    }
}

/// Moves a staging folder's files into place.
pub fn place(dir: &Path, layout: &Layout) -> Result<(), PlaceError> {
    match layout {
        Layout::Folder { dest, aside } => {
            if dest.exists() {
                let _ = std::fs::rename(dest, aside);
            }
            std::fs::rename(dir, dest).map_err(at(dest))
        }
        Layout::Files { root } => {
            move_tree(dir, dir, root)?;
            std::fs::remove_dir_all(dir).map_err(at(dir))
        }
    }
}

fn move_tree(base: &Path, dir: &Path, root: &Path) -> Result<(), PlaceError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(at(dir))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            move_tree(base, &path, root)?;
            continue;
        }
        let Ok(rel) = path.strip_prefix(base) else {
            continue;
        };
        if rel == Path::new(MARKER) {
            continue;
        }
        let dest = root.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(at(parent))?;
        }
        std::fs::rename(&path, &dest).map_err(at(&dest))?;
    }
    Ok(())
}

/// Staging folders in `parent` whose names start with `prefix`, in name order.
pub fn pending(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found
}

/// Places the staging folders in `parent` named `prefix…` that `committed` recognises as
/// belonging to a committed record (it returns where their files go). Folders of records
/// not committed are left alone: their job may still be running. So are the folders of
/// another process that still runs, committed or not: that process is between its commit and
/// its own placing, and moving its folder under it would fail its job. Returns the folders
/// placed.
pub fn restore(
    parent: &Path,
    prefix: &str,
    mut committed: impl FnMut(&Path) -> Option<Layout>,
) -> Vec<PathBuf> {
    let mut placed = Vec::new();
    for dir in pending(parent, prefix) {
        if placing_elsewhere(&dir) {
            continue;
        }
        if let Some(layout) = committed(&dir)
            && place(&dir, &layout).is_ok()
        {
            placed.push(dir);
        }
    }
    placed
}

/// The process that made a staging folder, from its name (`….staging-PID-N`, or
/// `….staging-PID` as earlier versions named them).
pub fn owner(dir: &Path) -> Option<u32> {
    let name = dir.file_name()?.to_str()?;
    let (_, rest) = name.rsplit_once(".staging-")?;
    let pid = rest.split_once('-').map_or(rest, |(pid, _)| pid);
    pid.parse().ok()
}

/// Whether `dir` belongs to another process that may still run (and so may still place it).
fn placing_elsewhere(dir: &Path) -> bool {
    owner(dir).is_some_and(|pid| pid != std::process::id() && running(pid))
}

/// Whether process `pid` may still be running: this process, or one the system lists
/// (`/proc/PID`). Where the system cannot tell (no `/proc`), every process counts as running,
/// so nothing is swept.
pub fn running(pid: u32) -> bool {
    pid == std::process::id()
        || !Path::new("/proc/self").exists()
        || Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes the staging folders in `parent` named `prefix…` that no job will ever commit or
/// place: the process named in the folder's name no longer runs and `recorded` says nothing
/// in the database refers to the folder. Returns the folders removed, with their process.
pub fn sweep(
    parent: &Path,
    prefix: &str,
    mut recorded: impl FnMut(&Path) -> bool,
) -> Vec<(PathBuf, u32)> {
    let mut removed = Vec::new();
    for dir in pending(parent, prefix) {
        let Some(pid) = owner(&dir) else {
            continue;
        };
        if running(pid) || recorded(&dir) {
            continue;
        }
        if std::fs::remove_dir_all(&dir).is_ok() {
            removed.push((dir, pid));
        }
    }
    removed
}

/// Writes one file that belongs to no record all at once: to a temporary name beside it
/// (this process's own), flushed to disk, then renamed into place; a reader sees the old file
/// or the new one, never a part. A failed write leaves no temporary file behind.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PlaceError> {
    use std::io::Write as _;
    write_file_with(path, |f| f.write_all(bytes))
}

/// [`write_file`] with the bytes of the file `from`, copied by the kernel (a public bundle of
/// hundreds of megabytes is never held in memory).
pub(crate) fn copy_file(from: &Path, path: &Path) -> Result<(), PlaceError> {
    let mut source = std::fs::File::open(from).map_err(at(from))?;
    write_file_with(path, |f| std::io::copy(&mut source, f).map(|_| ()))
}

fn write_file_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), PlaceError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(at(dir))?;
    }
    let tmp = path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        fill(&mut f)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(at(&tmp)(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        at(path)(e)
    })
}

/// Whether two files hold the same bytes, read a piece at a time.
pub(crate) fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::io::Read as _;
    let (mut a, mut b) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    if a.metadata()?.len() != b.metadata()?.len() {
        return Ok(false);
    }
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x)?;
        if n == 0 {
            return Ok(b.read(&mut y[..1])? == 0);
        }
        b.read_exact(&mut y[..n])?;
        if x[..n] != y[..n] {
            return Ok(false);
        }
    }
}

/// A staging folder's name for a job of this process: `.{name}.staging-{pid}-{n}`, `n`
/// counting this process's jobs, so that two jobs of one process at once (two approvals of
/// one redraw in the console) never write into one folder.
pub(crate) fn staging_name(name: &str) -> String {
    static JOBS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = JOBS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(".{name}.staging-{}-{n}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    type R = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn each_job_of_a_process_stages_in_a_folder_of_its_own_named_by_the_process() {
        let (a, b) = (staging_name("2023-H1"), staging_name("2023-H1"));
        assert_ne!(a, b);
        let pid = std::process::id();
        for name in [
            a.as_str(),
            b.as_str(),
            ".2023-H1.staging-77",
            ".publish.staging-77-3",
        ] {
            let want = if name.contains("-77") { 77 } else { pid };
            assert_eq!(owner(Path::new(name)), Some(want), "{name}");
        }
        assert!(a.starts_with(&format!(".2023-H1.staging-{pid}-")), "{a}");
    }

    #[test]
    fn refused_records_leave_no_files() -> R {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join(".x.staging-1");
        let s = Staging::write(dir.clone(), &[("a/b.txt".into(), b"b".to_vec())])?;
        assert!(dir.join("a/b.txt").exists());
        let r: Result<(Committed, ()), &str> = s.commit(|| Err("refused"));
        assert!(r.is_err());
        assert!(!dir.exists());
        Ok(())
    }

    #[test]
    fn files_are_placed_and_a_left_over_folder_is_restored() -> R {
        let tmp = tempfile::tempdir()?;
        let root = tmp.path().join("out");
        let dir = root.join(".pub.staging-4194305");
        let files = [
            (PathBuf::from("x/one.txt"), b"1".to_vec()),
            (PathBuf::from(MARKER), b"{}".to_vec()),
        ];
        let (done, ()) =
            Staging::write(dir.clone(), &files)?.commit(|| Ok::<_, std::io::Error>(()))?;
        // As a crash after the commit leaves it: not placed. Uncommitted folders stay.
        drop(done);
        assert!(restore(&root, ".pub.staging-", |_| None).is_empty());
        assert!(dir.exists());
        let layout = Layout::Files { root: root.clone() };
        let placed = restore(&root, ".pub.staging-", |_| Some(layout.clone()));
        assert_eq!((placed.len(), placed.first()), (1, Some(&dir)));
        assert_eq!(std::fs::read(root.join("x/one.txt"))?, b"1");
        assert!(!root.join(MARKER).exists());
        assert!(!dir.exists());
        Ok(())
    }

    #[test]
    fn a_committed_folder_of_a_process_still_running_is_left_to_it() -> R {
        let tmp = tempfile::tempdir()?;
        let root = tmp.path().join("out");
        let layout = Layout::Files { root: root.clone() };
        // Process 1 always runs where `/proc` tells; a process id above the kernel's limit
        // (4194304) never does.
        let theirs = root.join(".pub.staging-1");
        let ended = root.join(".pub.staging-4194305");
        let ours = root.join(format!(".pub.staging-{}", std::process::id()));
        for (dir, name) in [(&theirs, "1.txt"), (&ended, "2.txt"), (&ours, "3.txt")] {
            let (done, ()) = Staging::write(dir.clone(), &[(name.into(), b"x".to_vec())])?
                .commit(|| Ok::<_, std::io::Error>(()))?;
            drop(done);
        }
        let mut placed = restore(&root, ".pub.staging-", |_| Some(layout.clone()));
        placed.sort();
        if Path::new("/proc/self").exists() {
            let mut expected = vec![ended.clone(), ours.clone()];
            expected.sort();
            assert_eq!(placed, expected);
            assert!(theirs.join("1.txt").exists());
            assert!(root.join("2.txt").exists() && root.join("3.txt").exists());
        } else {
            assert_eq!(placed, vec![ours.clone()]);
        }
        Ok(())
    }

    #[test]
    fn a_failed_job_leaves_no_staging_folder() -> R {
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join(".x.staging-1");
        let staging = Staging::write(dir.clone(), &[("a.txt".into(), b"a".to_vec())])?;
        assert!(dir.join("a.txt").exists());
        // An early return (`?`) between staging and commit drops it.
        drop(staging);
        assert!(!dir.exists());
        // A committed folder is kept for placing even when the handle is dropped.
        let staging = Staging::write(dir.clone(), &[("a.txt".into(), b"a".to_vec())])?;
        let (done, ()) = staging.commit(|| Ok::<_, std::io::Error>(()))?;
        drop(done);
        assert!(dir.join("a.txt").exists());
        Ok(())
    }

    #[test]
    fn only_folders_of_ended_processes_that_nothing_records_are_swept() -> R {
        let tmp = tempfile::tempdir()?;
        let own = std::process::id();
        // A process id above the kernel's limit (4194304) never runs.
        let ended = 4_194_305_u32;
        let live = tmp.path().join(format!(".H1.staging-{own}"));
        let orphan = tmp.path().join(format!(".H1.staging-{ended}"));
        let kept = tmp.path().join(format!(".H2.staging-{ended}"));
        let unnamed = tmp.path().join(".H3.staging-x");
        for d in [&live, &orphan, &kept, &unnamed] {
            std::fs::create_dir_all(d)?;
        }
        assert_eq!((owner(&orphan), owner(&unnamed)), (Some(ended), None));
        assert!(running(own));
        assert!(!running(ended) || !Path::new("/proc/self").exists());
        let removed = sweep(tmp.path(), ".", |d| d == kept);
        if Path::new("/proc/self").exists() {
            assert_eq!(removed, vec![(orphan.clone(), ended)]);
            assert!(!orphan.exists());
        }
        assert!(live.exists() && kept.exists() && unnamed.exists());
        Ok(())
    }

    #[test]
    fn a_folder_replaces_the_old_one_which_is_kept_aside() -> R {
        let tmp = tempfile::tempdir()?;
        let dest = tmp.path().join("H1");
        std::fs::create_dir_all(&dest)?;
        std::fs::write(dest.join("old.txt"), "old")?;
        let s = Staging::write(
            tmp.path().join(".H1.staging-1"),
            &[("new.txt".into(), vec![])],
        )?;
        let (done, ()) = s.commit(|| Ok::<_, std::io::Error>(()))?;
        let aside = tmp.path().join("H1.superseded-2");
        done.place(&Layout::Folder {
            dest: dest.clone(),
            aside: aside.clone(),
        })?;
        assert!(dest.join("new.txt").exists() && aside.join("old.txt").exists());
        Ok(())
    }
}
