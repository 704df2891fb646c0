//! A registry frozen once per version: a freeze notes, beside the snapshots, how the target
//! file looked (its length and modification time) and the snapshot it froze to. A later draw
//! over a file that looks the same checks it again in full (every row, duplicate ids
//! included) and hashes its canonical form, but does not write the snapshot a second time
//! (at national scale 1.5 GB, and the wait for it to reach the disk): the snapshot already
//! there is used when the hash just computed names it. When it does not (the file was
//! changed and kept its look), the file is frozen again, written; a note is only ever a
//! reason not to write, never a reason to trust a file unchecked.

use std::path::{Path, PathBuf};

use crate::digest::sha256_hex;
use crate::registry::SnapshotFile;

/// How a file looked: its length and modification time (nanoseconds since 1970).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Look {
    len: u64,
    modified_ns: u128,
}

/// How `path` looks now (`None` when it cannot be read, or its time is not known).
pub(crate) fn look(path: &Path) -> Option<Look> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(Look {
        len: meta.len(),
        modified_ns: since.as_nanos(),
    })
}

/// The snapshot a file that looked as it does now froze to: its hash and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Noted {
    pub sha256: String,
    pub size: u64,
}

/// The note of target file `path` in the snapshot folder `dir`: named by the hash of the
/// file's full path, so that each target file has its own.
fn note_path(dir: &Path, path: &Path) -> PathBuf {
    let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let key = sha256_hex(full.as_os_str().as_encoded_bytes());
    dir.join(format!(".frozen-{}", &key[..32]))
}

/// The snapshot noted for `path` when the file looks now as it did (`now`) and the snapshot
/// is still in `dir` with its size; `None` otherwise (no note, another look, a note that does
/// not read).
pub(crate) fn noted(dir: &Path, path: &Path, now: Look) -> Option<Noted> {
    let text = std::fs::read_to_string(note_path(dir, path)).ok()?;
    let mut words = text.split_whitespace();
    let len: u64 = words.next()?.parse().ok()?;
    let modified_ns: u128 = words.next()?.parse().ok()?;
    let sha256 = words.next()?.to_string();
    let size: u64 = words.next()?.parse().ok()?;
    let well_formed = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed || words.next().is_some() || (Look { len, modified_ns }) != now {
        return None;
    }
    let there = std::fs::metadata(dir.join(format!("{sha256}.csv"))).ok()?;
    (there.is_file() && there.len() == size).then_some(Noted { sha256, size })
}

/// Notes that `path`, looking as it did before (`before`) and after (`after`) it was checked,
/// froze to `snapshot`; nothing when the two looks differ (the file changed while it was read:
/// what it looks like now is not what was frozen). A note that cannot be written is said in
/// the log and costs only the next draw's writing of the snapshot.
pub(crate) fn note(
    dir: &Path,
    path: &Path,
    (before, after): (Option<Look>, Option<Look>),
    snapshot: &SnapshotFile,
) {
    let Some(look) = before.filter(|b| Some(*b) == after) else {
        return;
    };
    let text = format!(
        "{} {} {} {}\n",
        look.len, look.modified_ns, snapshot.sha256, snapshot.size
    );
    if let Err(e) = crate::jobs::place::write_file(&note_path(dir, path), text.as_bytes()) {
        tracing::warn!("the registry snapshot was not noted for the next draw: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(dir: &Path, bytes: &[u8]) -> SnapshotFile {
        let sha256 = sha256_hex(bytes);
        let path = dir.join(format!("{sha256}.csv"));
        std::fs::write(&path, bytes).expect("snapshot");
        SnapshotFile {
            path,
            sha256,
            size: bytes.len() as u64,
        }
    }

    /// A folder with a target file and the snapshot it froze to.
    fn frozen_file() -> (tempfile::TempDir, PathBuf, SnapshotFile) {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("targets.csv");
        std::fs::write(&file, "id\nT1\n").expect("file");
        let snap = snapshot(dir.path(), b"id\nT1\n");
        (dir, file, snap)
    }

    #[test]
    fn a_note_names_the_snapshot_while_the_file_looks_the_same() {
        let (dir, file, snap) = frozen_file();
        let before = look(&file);
        assert!(noted(dir.path(), &file, before.expect("look")).is_none());
        note(dir.path(), &file, (before, look(&file)), &snap);
        let want = Noted {
            sha256: snap.sha256.clone(),
            size: snap.size,
        };
        assert_eq!(
            noted(dir.path(), &file, look(&file).expect("look")),
            Some(want)
        );
        // Another length: not the file noted.
        std::fs::write(&file, "id\nT1\nT2\n").expect("file");
        assert!(noted(dir.path(), &file, look(&file).expect("look")).is_none());
    }

    #[test]
    fn no_note_for_a_file_that_changed_while_read_nor_for_a_snapshot_gone() {
        let (dir, file, snap) = frozen_file();
        let before = look(&file);
        std::fs::write(&file, "id\nT9\nT8\n").expect("file");
        note(dir.path(), &file, (before, look(&file)), &snap);
        assert!(noted(dir.path(), &file, look(&file).expect("look")).is_none());
        note(dir.path(), &file, (look(&file), look(&file)), &snap);
        assert!(noted(dir.path(), &file, look(&file).expect("look")).is_some());
        std::fs::remove_file(&snap.path).expect("gone");
        assert!(noted(dir.path(), &file, look(&file).expect("look")).is_none());
    }
}
