//! Registry snapshots, addressed by the SHA-256 of their uncompressed canonical bytes. Each
//! distinct snapshot is stored once; a draw refers to the two it was made from, so anyone can
//! fetch them and re-run the draw.
//!
//! A snapshot is kept either gzip-compressed in the database (`data`), or, for a target registry
//! frozen as a file, as that file: `snapshots/<hash>.csv` beside the database, its row then
//! holding an empty `data` and a `compressed_size` of 0. Both are read back by
//! [`Store::get_snapshot`], checked against the hash.

use std::io::{Read, Write};

use flate2::{Compression, read::GzDecoder, write::GzEncoder};
use rusqlite::{OptionalExtension, params};

use std::path::PathBuf;

use crate::digest::sha256_hex;

use super::error::{Fail, R};
use super::util::{to_i64, to_u64};
use super::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SnapshotKind {
    Targets,
    Inspectors,
    /// A packed rule set (config, rule files and scripts).
    Rules,
}

impl SnapshotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Targets => "targets",
            SnapshotKind::Inspectors => "inspectors",
            SnapshotKind::Rules => "rules",
        }
    }

    pub(crate) fn parse(s: &str) -> R<Self> {
        match s {
            "targets" => Ok(SnapshotKind::Targets),
            "inspectors" => Ok(SnapshotKind::Inspectors),
            "rules" => Ok(SnapshotKind::Rules),
            other => Err(Fail::corrupt(format!("unknown snapshot kind {other:?}"))),
        }
    }
}

/// What is known about an archived snapshot without unpacking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub hash: String,
    pub kind: SnapshotKind,
    pub row_count: u64,
    /// Uncompressed size in bytes.
    pub size: u64,
    pub compressed_size: u64,
}

/// The folder of the snapshots kept as files of the database in `data_dir`.
pub fn snapshot_dir_in(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("snapshots")
}

impl Store {
    /// Archives a snapshot's canonical bytes (with the number of rows they hold, which the
    /// caller knows from the registry format) and returns its hash. Archiving the same bytes
    /// again stores nothing and returns the same hash.
    pub fn put_snapshot(
        &mut self,
        kind: SnapshotKind,
        row_count: u64,
        bytes: &[u8],
    ) -> Result<String, StoreError> {
        let hash = sha256_hex(bytes);
        if let Some(info) = self.snapshot_info(&hash)? {
            return check_kind(&info, kind).map(|()| hash);
        }
        // Compress outside the write lock: it is the slow part.
        let compressed = gzip(bytes)
            .map_err(|e| StoreError::invalid("snapshot", format!("cannot compress: {e}")))?;
        self.insert_snapshot(kind, row_count, (&hash, bytes.len() as u64), &compressed)
    }

    /// The folder of the snapshots kept as files (`snapshots/` beside the database).
    pub fn snapshot_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map_or_else(|| PathBuf::from("snapshots"), snapshot_dir_in)
    }

    /// Records a snapshot kept as a file in [`Store::snapshot_dir`] (named `<hash>.csv`),
    /// once: recording the same snapshot again stores nothing.
    pub fn put_snapshot_file(
        &mut self,
        kind: SnapshotKind,
        row_count: u64,
        (hash, size): (&str, u64),
    ) -> Result<String, StoreError> {
        let hash = hash.to_string();
        if let Some(info) = self.snapshot_info(&hash)? {
            return check_kind(&info, kind).map(|()| hash);
        }
        self.insert_snapshot(kind, row_count, (&hash, size), &[])
    }

    /// Inserts a snapshot's row once: `data` is its gzip form, or empty for one kept as a
    /// file. Returns the hash; a row another process inserted meanwhile must be of the same kind.
    fn insert_snapshot(
        &mut self,
        kind: SnapshotKind,
        row_count: u64,
        (hash, size): (&str, u64),
        data: &[u8],
    ) -> Result<String, StoreError> {
        self.write(|tx| {
            let rows = to_i64("row count", row_count)?;
            let size = to_i64("snapshot size", size)?;
            let csize = to_i64("snapshot size", data.len() as u64)?;
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO snapshots (hash, kind, row_count, size, compressed_size, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (hash) DO NOTHING",
                )?
                .execute(params![hash, kind.as_str(), rows, size, csize, data])?;
            if inserted == 0 {
                // Another process archived it in the meantime.
                let existing: String =
                    tx.query_row("SELECT kind FROM snapshots WHERE hash = ?1", [hash], |r| {
                        r.get(0)
                    })?;
                if existing != kind.as_str() {
                    return Err(conflict(hash, &existing, kind).into());
                }
            }
            Ok(hash.to_string())
        })
    }

    /// The file of a snapshot kept as a file (see [`Store::put_snapshot_file`]), if it is one.
    /// Its bytes are not checked here: a re-run that reads it compares the hash it records.
    pub fn snapshot_file(&self, hash: &str) -> Result<Option<PathBuf>, StoreError> {
        let Some(info) = self.snapshot_info(hash)? else {
            return Ok(None);
        };
        if info.compressed_size != 0 || info.size == 0 || !valid_hash(hash) {
            return Ok(None);
        }
        Ok(Some(self.snapshot_dir().join(format!("{hash}.csv"))))
    }

    /// The snapshot's uncompressed bytes, checked against its hash.
    pub fn get_snapshot(&self, hash: &str) -> Result<Vec<u8>, StoreError> {
        let found: Option<(Vec<u8>, i64)> = self.read(|c| {
            Ok(
                c.prepare_cached("SELECT data, size FROM snapshots WHERE hash = ?1")?
                    .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?,
            )
        })?;
        let Some((data, size)) = found else {
            return Err(StoreError::NoSuchSnapshot {
                hash: hash.to_string(),
            });
        };
        let damaged = |detail: String| StoreError::SnapshotDamaged {
            path: self.path.clone(),
            hash: hash.to_string(),
            detail,
        };
        let size = u64::try_from(size).map_err(|_| damaged(format!("recorded size {size}")))?;
        if data.is_empty() && size > 0 && valid_hash(hash) {
            // Kept as a file beside the database.
            let path = self.snapshot_dir().join(format!("{hash}.csv"));
            let out = std::fs::read(&path)
                .map_err(|e| damaged(format!("cannot read {}: {e}", path.display())))?;
            let actual = sha256_hex(&out);
            if actual != hash || out.len() as u64 != size {
                return Err(damaged(format!(
                    "{} holds {} bytes hashing to {actual}",
                    path.display(),
                    out.len()
                )));
            }
            return Ok(out);
        }
        gunzip(&data, size, hash).map_err(damaged)
    }

    /// Metadata of an archived snapshot, if present.
    pub fn snapshot_info(&self, hash: &str) -> Result<Option<SnapshotInfo>, StoreError> {
        self.read(|c| {
            let row: Option<(String, String, i64, i64, i64)> = c
                .prepare_cached(
                    "SELECT hash, kind, row_count, size, compressed_size
                     FROM snapshots WHERE hash = ?1",
                )?
                .query_row([hash], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()?;
            row.map(|(hash, kind, rows, size, csize)| {
                Ok(SnapshotInfo {
                    hash,
                    kind: SnapshotKind::parse(&kind)?,
                    row_count: to_u64("snapshots.row_count", rows)?,
                    size: to_u64("snapshots.size", size)?,
                    compressed_size: to_u64("snapshots.compressed_size", csize)?,
                })
            })
            .transpose()
        })
    }
}

/// A snapshot's gzip form unpacked, checked against its recorded size and hash.
pub(crate) fn gunzip(data: &[u8], size: u64, hash: &str) -> Result<Vec<u8>, String> {
    // Never unpack more than the recorded size (plus one byte to notice a longer stream).
    let mut out = Vec::new();
    GzDecoder::new(data)
        .take(size.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot decompress: {e}"))?;
    if out.len() as u64 != size {
        return Err(format!("unpacks to {} bytes, {size} recorded", out.len()));
    }
    let actual = sha256_hex(&out);
    if actual != hash {
        return Err(format!("content hashes to {actual}"));
    }
    Ok(out)
}

/// A snapshot hash (64 lowercase hex digits), safe as a file name.
pub(crate) fn valid_hash(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub(crate) fn check_kind(info: &SnapshotInfo, kind: SnapshotKind) -> Result<(), StoreError> {
    if info.kind == kind {
        Ok(())
    } else {
        Err(conflict(&info.hash, info.kind.as_str(), kind))
    }
}

pub(crate) fn conflict(hash: &str, existing: &str, requested: SnapshotKind) -> StoreError {
    StoreError::SnapshotKindConflict {
        hash: hash.to_string(),
        existing: existing.to_string(),
        requested: requested.as_str().to_string(),
    }
}

pub(crate) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::default());
    enc.write_all(bytes)?;
    enc.finish()
}
