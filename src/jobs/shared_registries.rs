//! Registry files on a shared PostgreSQL database: every node brings its own project folder's
//! configured registry files up to the versions uploaded through the console on any node.
//!
//! An accepted upload (`jobs::replace`) keeps the file's bytes on the server and records it as
//! the current version of its configured file (kind, index). Before a node reads its registry
//! files — the console on each request that loads the rules, the service before each draw it
//! issues, a command run with `--database` when it loads the rules — it compares each
//! configured file that has a version on the server with that version's SHA-256 and, when they
//! differ, writes the server's bytes in place of its own: into a file beside it, checked
//! against the version's size and hash, then renamed into place (the replaced file kept in
//! `<data>/registry-history/`, named as the uploading node named it). A server copy that does
//! not match its hash is refused and nothing is written.
//!
//! Cheap while nothing changed: the versions are read again only when the number of the latest
//! one moved (asked with the approved rule version in one small query), and the console takes
//! a local file's hash again only when its look changed (`held::FileHashes`); the service
//! hashes it before each draw, which reads the whole file anyway, and a command once. SQLite's
//! project folder holds the one copy there is: nothing here runs on it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::diag::{Fault, Problem, Report};
use crate::jobs::held::{Clock, FileHashes};
use crate::jobs::replace::{Kind, extension, keep_previous};
use crate::rules::model::Config;
use crate::store::pg::PgStore;
use crate::store::{RegistryVersion, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(
        "registry file {}: the database's copy of the version uploaded at {at} ({sha256}) holds {size} bytes hashing to {actual}, not the {want} bytes recorded; nothing was written",
        file.display()
    )]
    Damaged {
        file: PathBuf,
        at: String,
        sha256: String,
        size: u64,
        actual: String,
        want: u64,
    },
    #[error(
        "registry file {}: the version on the database is a {theirs} file ({uploaded}), this node's config names a {ours} file",
        file.display()
    )]
    Format {
        file: PathBuf,
        uploaded: String,
        theirs: String,
        ours: String,
    },
    #[error("cannot bring registry file {} up to the database's version: cannot write {}: {source}", file.display(), path.display())]
    Io {
        file: PathBuf,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Problem for FollowError {
    fn fault(&self) -> Fault {
        Fault::Failed
    }

    fn report(&self) -> Report {
        let message = crate::diag::chain(self);
        match self {
            FollowError::Damaged { .. } => Report::error(
                message,
                &[
                    "the database's copy was changed behind suiji's back: restore the table registry_files from a backup of the database",
                    "or upload a corrected registry file in 名录库 (/registries) on a node that has this version (the node it was uploaded on): every node takes the new version",
                ],
            ),
            FollowError::Format { .. } => Report::error(
                message,
                &[
                    "every node sharing the database names the same kind of file (CSV or XLSX) for each registry file in [registries] of its config",
                ],
            ),
            FollowError::Io { .. } => Report::error(
                message,
                &[
                    "give the account running suiji write access to the registry file's folder and to <data>/registry-history/",
                ],
            ),
            FollowError::Store(_) => Report::error(message, &[]),
        }
    }
}

/// A registry file brought up to the database's version: where, to which SHA-256, and where
/// the file it replaced was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brought {
    pub file: PathBuf,
    pub sha256: String,
    pub kept: Option<PathBuf>,
}

/// The versions on the database as last read, and the number of the latest one then.
type Known = Option<(i64, Vec<RegistryVersion>)>;

/// What a long-running node keeps between the times it brings its registry files up to the
/// database's versions.
#[derive(Debug)]
pub struct Follower {
    known: Mutex<Known>,
    hashes: FileHashes,
}

impl Follower {
    /// Nothing known yet; `clock` tells the time of day the files' times are compared with.
    pub fn new(clock: Clock) -> Follower {
        Follower {
            known: Mutex::new(None),
            hashes: FileHashes::new(clock),
        }
    }

    /// A follower that takes each file's SHA-256 whenever it looks at it (no file counts as
    /// settled): what a command uses once, and the service before each draw, which reads the
    /// whole file anyway.
    pub fn hashing_each_time() -> Follower {
        Follower::new(before_any_file)
    }

    /// Brings the registry files `cfg` names up to the versions on the database of `store`;
    /// `latest` is the number of the latest registry version as just asked
    /// ([`PgStore::shared_versions`]): the versions are read again only when it moved. `None`:
    /// no file was ever uploaded there, and the project's files are used as they are.
    pub fn follow(
        &self,
        store: &PgStore,
        cfg: &Config,
        latest: Option<i64>,
    ) -> Result<Vec<Brought>, FollowError> {
        let Some(latest) = latest else {
            return Ok(Vec::new());
        };
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        let versions = match known.take() {
            Some((id, versions)) if id == latest => versions,
            _ => store.registry_versions()?,
        };
        let brought = self.bring_all(store, cfg, &versions);
        *known = Some((latest, versions));
        brought
    }

    fn bring_all(
        &self,
        store: &PgStore,
        cfg: &Config,
        versions: &[RegistryVersion],
    ) -> Result<Vec<Brought>, FollowError> {
        let mut out = Vec::new();
        for v in versions {
            let Some(dest) = configured(cfg, &v.kind, v.index) else {
                continue;
            };
            if self.hashes.sha_of(&dest).as_deref() == Some(v.sha256.as_str()) {
                continue;
            }
            out.push(bring(store, cfg, v, &dest)?);
        }
        Ok(out)
    }
}

/// Brings the registry files `cfg` names up to the versions on the database of `store`, once
/// (a command run with `--database`).
pub fn follow_once(store: &PgStore, cfg: &Config) -> Result<Vec<Brought>, FollowError> {
    let (_, latest) = store.shared_versions()?;
    Follower::hashing_each_time().follow(store, cfg, latest)
}

/// A time before any file's last change: a [`Clock`] by which no file has settled.
fn before_any_file() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::UNIX_EPOCH
}

/// The configured registry file `index` of `kind` (`None`: this node's config names no such
/// file, and the version is not this node's to follow).
fn configured(cfg: &Config, kind: &str, index: usize) -> Option<PathBuf> {
    let files = match Kind::parse(kind)? {
        Kind::Targets => &cfg.registries.targets,
        Kind::Inspectors => &cfg.registries.inspectors,
    };
    files.get(index).map(|f| cfg.root.join(f))
}

/// Writes version `v` in place of `dest`: staged beside it, checked against the version's size
/// and hash, the file it replaces kept in the history folder, then renamed into place. A
/// refused or failed copy leaves `dest` as it was and removes the staged file.
fn bring(
    store: &PgStore,
    cfg: &Config,
    v: &RegistryVersion,
    dest: &Path,
) -> Result<Brought, FollowError> {
    let ours = extension(dest);
    let theirs = extension(Path::new(&v.file));
    if ours != theirs {
        return Err(FollowError::Format {
            file: dest.to_path_buf(),
            uploaded: v.file.clone(),
            theirs: theirs.to_uppercase(),
            ours: ours.to_uppercase(),
        });
    }
    let io = |path: &Path| {
        let (file, path) = (dest.to_path_buf(), path.to_path_buf());
        move |source| FollowError::Io { file, path, source }
    };
    let dir = dest.parent().unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let mut staged = tempfile::Builder::new()
        .prefix(".fetch-")
        .suffix(&format!(".{ours}"))
        .tempfile_in(&dir)
        .map_err(io(&dir))?;
    let (size, actual) = copy_parts(store, &v.sha256, staged.as_file_mut())
        .map_err(|e| e.into_follow(dest, staged.path()))?;
    if size != v.size || actual != v.sha256 {
        return Err(FollowError::Damaged {
            file: dest.to_path_buf(),
            at: v.at.clone(),
            sha256: v.sha256.clone(),
            size,
            actual,
            want: v.size,
        });
    }
    staged.as_file().sync_all().map_err(io(staged.path()))?;
    let kept =
        keep_previous(&cfg.data_dir, dest, &v.at).map_err(|(path, source)| io(&path)(source))?;
    staged.persist(dest).map_err(|e| io(dest)(e.error))?;
    tracing::info!(file = %dest.display(), sha256 = %v.sha256, "registry file brought up to the version uploaded at {} by {}", v.at, v.actor);
    Ok(Brought {
        file: dest.to_path_buf(),
        sha256: v.sha256.clone(),
        kept,
    })
}

/// Why copying a file's parts stopped.
enum CopyError {
    Store(StoreError),
    Io(std::io::Error),
}

impl CopyError {
    fn into_follow(self, file: &Path, staged: &Path) -> FollowError {
        match self {
            CopyError::Store(e) => FollowError::Store(e),
            CopyError::Io(source) => FollowError::Io {
                file: file.to_path_buf(),
                path: staged.to_path_buf(),
                source,
            },
        }
    }
}

/// Writes the database's parts of file `hash` to `out`, a part at a time: how many bytes they
/// held and their SHA-256.
fn copy_parts(
    store: &PgStore,
    hash: &str,
    out: &mut std::fs::File,
) -> Result<(u64, String), CopyError> {
    let parts = store.registry_file_parts(hash).map_err(CopyError::Store)?;
    let mut hasher = crate::digest::Hasher::default();
    let mut size = 0u64;
    for part in 0..parts {
        let Some(data) = store
            .registry_file_part(hash, part)
            .map_err(CopyError::Store)?
        else {
            // A missing part: the whole no longer hashes to `hash`, which the caller reports.
            break;
        };
        hasher.update(&data);
        size += data.len() as u64;
        out.write_all(&data).map_err(CopyError::Io)?;
    }
    out.flush().map_err(CopyError::Io)?;
    Ok((size, hasher.finish()))
}
