//! A registry frozen once per version: a freeze notes, beside the snapshots, how the target
//! file looked (its length and modification time) and the snapshot it froze to. A later draw
//! over a file that looks the same does not write the snapshot a second time (at national
//! scale 1.5 GB, and the wait for it to reach the disk): the snapshot already there is used
//! when the file's canonical form hashes to its name. When the check that froze it found
//! nothing to say, the note also keeps the SHA-256 of the file's bytes, its rows and the
//! check's key (`registry::check_key`: this build, the inspector files, the known ids); a
//! later draw whose file hashes to those bytes, checked under that key, takes that check's
//! word for them (`registry::check_again`) instead of reading every row again: the same
//! bytes checked the same way. Anything else — another look, other bytes, another key, a
//! check that warned — is checked in full, every row, duplicate ids included; when the
//! canonical form no longer hashes to the snapshot noted (the file was changed and kept its
//! look), the file is frozen again, written. A look is only ever a reason not to write, never
//! a reason to trust a file unchecked: what is trusted is named by its hash.

use std::path::{Path, PathBuf};

use crate::digest::sha256_hex;
use crate::registry::{CleanCheck, SnapshotFile};

/// How a file looked: its length and modification time (nanoseconds since 1970), which a note
/// keeps, and on Unix its change time, inode and device, which only the kernel sets: equal
/// before and after a check, they say nothing wrote the file meanwhile (a length and a
/// modification time can be put back as they were; a change time cannot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Look {
    len: u64,
    modified_ns: u128,
    changed: Option<[i64; 4]>,
}

/// How `path` looks now (`None` when it cannot be read, or its time is not known).
pub(crate) fn look(path: &Path) -> Option<Look> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(Look {
        len: meta.len(),
        modified_ns: since.as_nanos(),
        changed: changed(&meta),
    })
}

/// The change time (seconds, nanoseconds), inode and device of a file.
#[cfg(unix)]
fn changed(meta: &std::fs::Metadata) -> Option<[i64; 4]> {
    use std::os::unix::fs::MetadataExt as _;
    let ino = i64::try_from(meta.ino()).ok()?;
    let dev = i64::try_from(meta.dev()).ok()?;
    Some([meta.ctime(), meta.ctime_nsec(), ino, dev])
}

/// Not known here: no check is noted as clean.
#[cfg(not(unix))]
fn changed(_meta: &std::fs::Metadata) -> Option<[i64; 4]> {
    None
}

/// The snapshot a file that looked as it does now froze to: its hash and size, and the check
/// that froze it when it found nothing to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Noted {
    pub sha256: String,
    pub size: u64,
    pub clean: Option<CleanCheck>,
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
    let clean = match (words.next(), words.next(), words.next()) {
        (None, ..) => None,
        (Some(source), Some(rows), Some(key)) if is_sha256(source) && is_sha256(key) => {
            Some(CleanCheck {
                source_sha256: source.to_string(),
                rows: rows.parse().ok()?,
                check_key: key.to_string(),
            })
        }
        _ => return None,
    };
    if !is_sha256(&sha256)
        || words.next().is_some()
        || (len, modified_ns) != (now.len, now.modified_ns)
    {
        return None;
    }
    let there = std::fs::metadata(dir.join(format!("{sha256}.csv"))).ok()?;
    (there.is_file() && there.len() == size).then_some(Noted {
        sha256,
        size,
        clean,
    })
}

/// Whether `s` is a SHA-256 in hex.
fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Notes that `path`, looking as it did before (`before`) and after (`after`) it was checked,
/// froze to `snapshot`, with the check when it found nothing to say (`clean`, kept only where
/// the look includes the change time); nothing when the two looks differ (the file changed
/// while it was read: what it looks like now is not what was frozen, nor are the bytes hashed
/// beside the check those it checked). A note that cannot be written is said in the log and
/// costs only the next draw's writing of the snapshot.
pub(crate) fn note(
    dir: &Path,
    path: &Path,
    (before, after): (Option<Look>, Option<Look>),
    snapshot: &SnapshotFile,
    clean: Option<&CleanCheck>,
) {
    let Some(look) = before.filter(|b| Some(*b) == after) else {
        return;
    };
    // Clean only where nothing can have written the file between the check and its hash,
    // which read it beside each other.
    let clean = clean.filter(|_| look.changed.is_some());
    let mut text = format!(
        "{} {} {} {}",
        look.len, look.modified_ns, snapshot.sha256, snapshot.size
    );
    if let Some(c) = clean {
        text.push_str(&format!(" {} {} {}", c.source_sha256, c.rows, c.check_key));
    }
    text.push('\n');
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
        note(dir.path(), &file, (before, look(&file)), &snap, None);
        let want = Noted {
            sha256: snap.sha256.clone(),
            size: snap.size,
            clean: None,
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
        note(dir.path(), &file, (before, look(&file)), &snap, None);
        assert!(noted(dir.path(), &file, look(&file).expect("look")).is_none());
        note(dir.path(), &file, (look(&file), look(&file)), &snap, None);
        assert!(noted(dir.path(), &file, look(&file).expect("look")).is_some());
        std::fs::remove_file(&snap.path).expect("gone");
        assert!(noted(dir.path(), &file, look(&file).expect("look")).is_none());
    }

    #[test]
    fn a_clean_check_is_noted_with_its_bytes_rows_and_key_and_a_torn_note_is_none() {
        let (dir, file, snap) = frozen_file();
        let clean = CleanCheck {
            source_sha256: sha256_hex(b"id\nT1\n"),
            rows: 1,
            check_key: sha256_hex(b"key"),
        };
        let now = || look(&file).expect("look");
        note(
            dir.path(),
            &file,
            (look(&file), look(&file)),
            &snap,
            Some(&clean),
        );
        let got = noted(dir.path(), &file, now()).expect("noted");
        assert_eq!(got.clean, Some(clean.clone()));
        assert_eq!(got.sha256, snap.sha256);
        // A note cut short, or with a word that is not a hash, is no note at all.
        let path = note_path(dir.path(), &file);
        let text = std::fs::read_to_string(&path).expect("note");
        let words: Vec<&str> = text.split_whitespace().collect();
        for torn in [
            words[..5].join(" "),
            words[..6].join(" "),
            format!("{} x", words.join(" ")),
            words.join(" ").replace(&clean.check_key, "not-a-hash"),
        ] {
            std::fs::write(&path, torn.as_bytes()).expect("note");
            assert!(noted(dir.path(), &file, now()).is_none(), "{torn}");
        }
        // Noted without a check (one that warned): the snapshot alone.
        note(dir.path(), &file, (look(&file), look(&file)), &snap, None);
        assert_eq!(noted(dir.path(), &file, now()).expect("noted").clean, None);
    }

    #[test]
    fn a_file_written_during_its_check_is_not_noted_even_with_its_length_and_time_put_back() {
        let (dir, file, snap) = frozen_file();
        let now = look(&file).expect("look");
        let clean = CleanCheck {
            source_sha256: sha256_hex(b"id\nT1\n"),
            rows: 1,
            check_key: sha256_hex(b"key"),
        };
        // Length and modification time as they were, the change time moved on: not noted.
        let before = Look {
            changed: Some([1, 0, 5, 6]),
            ..now
        };
        let after = Look {
            changed: Some([1, 1, 5, 6]),
            ..now
        };
        note(
            dir.path(),
            &file,
            (Some(before), Some(after)),
            &snap,
            Some(&clean),
        );
        assert!(noted(dir.path(), &file, now).is_none());
        // Where the change time is not known, the snapshot is noted but not the check.
        let unknown = Look {
            changed: None,
            ..now
        };
        note(
            dir.path(),
            &file,
            (Some(unknown), Some(unknown)),
            &snap,
            Some(&clean),
        );
        assert_eq!(noted(dir.path(), &file, now).expect("noted").clean, None);
        note(
            dir.path(),
            &file,
            (Some(after), Some(after)),
            &snap,
            Some(&clean),
        );
        assert_eq!(
            noted(dir.path(), &file, now).expect("noted").clean,
            Some(clean)
        );
    }
}
