//! Registry files uploaded through the console, kept on the server: their bytes in parts,
//! content-addressed (`registry_files`, as `snapshot_files` keeps a snapshot's), and which
//! configured file (kind, index) is at which version, when and by whom (`registry_versions`).
//! What every node sharing the database brings its own project folder's registry files up to
//! (`jobs::shared_registries`).

use postgres::Transaction;

use super::super::StoreError;
use super::super::error::{Fail, R};
use super::super::registries::{RegistryAudit, RegistryFile, RegistryVersion};
use super::PgStore;
use crate::digest::sha256_hex;

/// Bytes of a registry file per row of `registry_files` (as `snapshot_files` keeps them).
const PART: usize = 8 << 20;

/// Keeps `file`'s bytes (once per hash: a file uploaded again is kept already) and records
/// them as the current version of the audit's (kind, index), in the caller's transaction.
pub(super) fn keep(
    tx: &mut Transaction<'_>,
    (at, actor): (&str, &str),
    audit: &RegistryAudit,
    file: RegistryFile<'_>,
) -> R<i64> {
    let hash = sha256_hex(file.bytes);
    if hash != audit.sha256 {
        return Err(StoreError::invalid(
            "registry file",
            format!(
                "the bytes hash to {hash}, the replacement names {}",
                audit.sha256
            ),
        )
        .into());
    }
    if !kept_whole(tx, &hash)? {
        let insert =
            tx.prepare("INSERT INTO registry_files (hash, part, data) VALUES ($1, $2, $3)")?;
        for (part, chunk) in file.bytes.chunks(PART).enumerate() {
            tx.execute(&insert, &[&hash, &(part as i64), &chunk])?;
        }
    }
    let index = i64::try_from(file.index)
        .map_err(|_| StoreError::invalid("registry file", "index out of range"))?;
    let size = file.bytes.len() as i64;
    Ok(tx
        .query_one(
            "INSERT INTO registry_versions (kind, file_index, file, hash, size, at, actor)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[&audit.kind, &index, &audit.file, &hash, &size, &at, &actor],
        )?
        .try_get(0)?)
}

/// Whether the server keeps file `hash` already (a file uploaded again), whole: its parts, in
/// order, hash to it. Parts that do not (changed behind suiji's back) refuse the upload, since
/// kept files are permanent: the table is restored from a backup.
fn kept_whole(tx: &mut Transaction<'_>, hash: &str) -> R<bool> {
    let found: Option<String> = tx
        .query_one(
            "SELECT encode(sha256(string_agg(data, ''::bytea ORDER BY part)), 'hex')
             FROM registry_files WHERE hash = $1",
            &[&hash],
        )?
        .try_get(0)?;
    match found {
        None => Ok(false),
        Some(h) if h == hash => Ok(true),
        Some(h) => Err(StoreError::invalid(
            "registry file",
            format!(
                "the database keeps this file ({hash}) already, but its parts in registry_files hash to {h}: restore the table registry_files from a backup of the database"
            ),
        )
        .into()),
    }
}

fn version(r: &postgres::Row) -> R<RegistryVersion> {
    let id: i64 = r.try_get(0)?;
    let bad = |what: &str| Fail::corrupt(format!("registry version {id}: {what}"));
    Ok(RegistryVersion {
        id,
        kind: r.try_get(1)?,
        index: usize::try_from(r.try_get::<_, i64>(2)?).map_err(|_| bad("negative index"))?,
        file: r.try_get(3)?,
        sha256: r.try_get(4)?,
        size: u64::try_from(r.try_get::<_, i64>(5)?).map_err(|_| bad("negative size"))?,
        at: r.try_get(6)?,
        actor: r.try_get(7)?,
    })
}

impl PgStore {
    /// The numbers of the latest approved rule version and of the latest registry version, in
    /// one small query: what a node holding rules and registry files asks to know whether
    /// another node approved rules or uploaded a registry file since.
    pub fn shared_versions(&self) -> Result<(Option<i64>, Option<i64>), StoreError> {
        self.read(|tx| {
            let r = tx.query_one(
                "SELECT (SELECT max(id) FROM rule_versions), (SELECT max(id) FROM registry_versions)",
                &[],
            )?;
            Ok((r.try_get(0)?, r.try_get(1)?))
        })
    }

    /// The current version of every configured registry file uploaded through the console:
    /// the latest of each (kind, index), by kind and index.
    pub fn registry_versions(&self) -> Result<Vec<RegistryVersion>, StoreError> {
        self.read(|tx| {
            tx.query(
                "SELECT DISTINCT ON (kind, file_index)
                        id, kind, file_index, file, hash, size, at, actor
                 FROM registry_versions ORDER BY kind, file_index, id DESC",
                &[],
            )?
            .iter()
            .map(version)
            .collect()
        })
    }

    /// How many parts of registry file `hash` the server keeps.
    pub fn registry_file_parts(&self, hash: &str) -> Result<i64, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_one(
                    "SELECT count(*) FROM registry_files WHERE hash = $1",
                    &[&hash],
                )?
                .try_get(0)?)
        })
    }

    /// Part `part` of registry file `hash` (`None` when the server has no such part). A file
    /// is read a part at a time, in bounded memory; the reader checks the whole against its
    /// hash.
    pub fn registry_file_part(&self, hash: &str, part: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT data FROM registry_files WHERE hash = $1 AND part = $2",
                    &[&hash, &part],
                )?
                .map(|r| r.try_get(0))
                .transpose()?)
        })
    }
}
