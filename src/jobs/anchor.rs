//! Anchoring the audit chain outside the database (`out/public/anchors.json`, see
//! `store::anchors` for the format) and checking the chain against published anchors
//! (`suiji audit verify --against FILE-or-URL`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::SetupError;
use crate::diag::{Fault, Problem, Report};
use crate::store::pg::PgStore;
use crate::store::{
    ANCHORS_FORMAT, Anchor, AnchorCheck, Anchors, AuditLog, DrawStore, Store, StoreError,
    check_anchors,
};

/// Where the anchors go, under the output folder.
pub const ANCHORS_FILE: &str = "public/anchors.json";

/// Why anchors could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    #[error("{0} is not an anchors file ({ANCHORS_FORMAT}): {1}")]
    Format(String, String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: suiji fetches http:// addresses itself, not https://")]
    Https(String),
    #[error(
        "{} holds an anchor the database does not keep ({} {} of {}: entry {} with hash {}; the database keeps {kept} anchors); the file is left as it is",
        path.display(), anchor.reason, anchor.subject, anchor.at, anchor.seq, anchor.hash
    )]
    Diverges {
        path: PathBuf,
        anchor: Box<Anchor>,
        kept: usize,
    },
}

impl Problem for AnchorError {
    fn fault(&self) -> Fault {
        match self {
            AnchorError::Setup(e) => e.fault(),
            AnchorError::Store(e) => e.fault(),
            AnchorError::Format(..) | AnchorError::Https(_) | AnchorError::Diverges { .. } => {
                Fault::Invalid
            }
            AnchorError::Read(..) | AnchorError::Write { .. } => Fault::Failed,
        }
    }

    fn report(&self) -> Report {
        match self {
            AnchorError::Setup(e) => e.report(),
            AnchorError::Store(e) => e.report(),
            AnchorError::Https(url) => Report::error(
                self.to_string(),
                &[&format!(
                    "download it first (`curl -o anchors.json {url}`) and pass the file: \
                     `suiji audit verify --against anchors.json`"
                )],
            ),
            AnchorError::Format(..) => Report::error(
                self.to_string(),
                &[
                    "give the anchors.json a bureau published (its public site's /public/anchors.json, or out/public/anchors.json)",
                ],
            ),
            AnchorError::Diverges { path, .. } => Report::error(
                self.to_string(),
                &[
                    &format!(
                        "published anchors are never rewritten: check the chain against the file with `suiji audit verify --against {}`",
                        path.display()
                    ),
                    "a county moved with `suiji db migrate` keeps its file: move it aside (and keep it published) before the first anchor on PostgreSQL",
                ],
            ),
            other => Report::error(other.to_string(), &[]),
        }
    }
}

/// Appends the chain's current head to `out_dir/public/anchors.json`, as published at `at`
/// for `reason` (`draw`, `publication`, `commitment`, `daily`) and `subject`. Returns the
/// anchor written; nothing is written for an empty chain, nor for a daily anchor when the
/// head has not moved since the last anchor. An anchors file that cannot be read is an error
/// and is left as it is.
pub fn record(
    out_dir: &Path,
    store: &mut Store,
    at: &str,
    reason: &str,
    subject: &str,
) -> Result<Option<Anchor>, AnchorError> {
    let path = out_dir.join(ANCHORS_FILE);
    store.with_head(|seq, hash| {
        if seq == 0 {
            return Ok(None);
        }
        let mut anchors = match std::fs::read(&path) {
            Ok(bytes) => parse(&path.display().to_string(), &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Anchors::default(),
            Err(e) => return Err(AnchorError::Read(path.display().to_string(), e.to_string())),
        };
        let unchanged = anchors
            .anchors
            .last()
            .is_some_and(|a| a.seq == seq && a.hash == hash);
        if reason == "daily" && unchanged {
            return Ok(None);
        }
        let anchor = Anchor {
            at: at.into(),
            hash: hash.into(),
            reason: reason.into(),
            seq,
            subject: subject.into(),
        };
        anchors.anchors.push(anchor.clone());
        write_atomically(&path, &anchors)?;
        Ok(Some(anchor))
    })?
}

/// [`record`] on either database: on PostgreSQL the anchor is kept in the database (shared by
/// every node) and `out_dir/public/anchors.json` is written from the anchors kept there.
pub fn record_on(
    out_dir: &Path,
    store: &mut dyn DrawStore,
    at: &str,
    reason: &str,
    subject: &str,
) -> Result<Option<Anchor>, AnchorError> {
    if let Some(pg) = store.postgres() {
        let (anchor, written) =
            pg.append_anchor(at, (reason, subject), |all| write_kept(out_dir, all))?;
        written?;
        return Ok(anchor);
    }
    match store.sqlite() {
        Some(store) => record(out_dir, store, at, reason, subject),
        None => Ok(None),
    }
}

/// Writes `out_dir/public/anchors.json` with the anchors a database keeps (nothing while it
/// keeps none). Published anchors are never rewritten: a file there must hold the first
/// anchors the database keeps, exactly, else it is left as it is (it is evidence about the
/// database) and the divergence is the error.
fn write_kept(out_dir: &Path, anchors: &Anchors) -> Result<(), AnchorError> {
    let path = out_dir.join(ANCHORS_FILE);
    let shown = path.display().to_string();
    let published = match std::fs::read(&path) {
        Ok(bytes) => parse(&shown, &bytes)?.anchors,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(AnchorError::Read(shown, e.to_string())),
    };
    let kept = &anchors.anchors;
    if let Some(i) = (0..published.len()).find(|&i| kept.get(i) != Some(&published[i])) {
        return Err(AnchorError::Diverges {
            path,
            anchor: Box::new(published[i].clone()),
            kept: kept.len(),
        });
    }
    if kept.is_empty() || kept.len() == published.len() {
        return Ok(());
    }
    write_atomically(&path, anchors)
}

/// [`record_on`], for a job whose own work is done: a failure is logged (the anchor is written
/// again with the next one, as every anchor names the head) and never undoes the job.
pub fn record_after(
    out_dir: &Path,
    store: &mut dyn DrawStore,
    at: &str,
    reason: &str,
    subject: &str,
) {
    if let Err(e) = record_on(out_dir, store, at, reason, subject) {
        tracing::warn!(
            "the audit chain's head was not anchored ({reason} {subject}): {e}; run `suiji audit anchor` once it is fixed"
        );
    }
}

fn parse(source: &str, bytes: &[u8]) -> Result<Anchors, AnchorError> {
    let anchors: Anchors = serde_json::from_slice(bytes)
        .map_err(|e| AnchorError::Format(source.into(), e.to_string()))?;
    if anchors.format != ANCHORS_FORMAT {
        return Err(AnchorError::Format(
            source.into(),
            format!("its format is `{}`", anchors.format),
        ));
    }
    Ok(anchors)
}

fn write_atomically(path: &Path, anchors: &Anchors) -> Result<(), AnchorError> {
    let fail = |source| AnchorError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut text = serde_json::to_string_pretty(anchors)
        .map_err(|e| fail(std::io::Error::other(e.to_string())))?;
    text.push('\n');
    super::place::write_file(path, text.as_bytes()).map_err(|e| AnchorError::Write {
        path: e.path,
        source: e.source,
    })
}

/// Reads published anchors from a file or an `http://` address.
pub fn load(source: &str) -> Result<Anchors, AnchorError> {
    let bytes = if source.starts_with("https://") {
        return Err(AnchorError::Https(source.into()));
    } else if let Some(rest) = source.strip_prefix("http://") {
        fetch(rest).map_err(|e| AnchorError::Read(source.into(), e))?
    } else {
        std::fs::read(source).map_err(|e| AnchorError::Read(source.into(), e.to_string()))?
    };
    parse(source, &bytes)
}

/// The largest anchors file read from the network.
const MAX_BYTES: u64 = 64 << 20;

/// A plain HTTP/1.0 GET of `host[:port]/path`; the body of a 200 answer. Connecting and
/// each read wait at most 30 s.
pub(crate) fn fetch(rest: &str) -> Result<Vec<u8>, String> {
    fetch_within(rest, Duration::from_secs(30))
}

/// [`fetch`], connecting and each read waiting at most `timeout`.
pub(crate) fn fetch_within(rest: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    let sock = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let mut stream =
        std::net::TcpStream::connect_timeout(&sock, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: suiji\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .take(MAX_BYTES)
        .read_to_end(&mut answer)
        .map_err(|e| e.to_string())?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer has no end of headers")?;
    let head = String::from_utf8_lossy(&answer[..split]);
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("the server answered `{status}`"));
    }
    Ok(answer[split + 4..].to_vec())
}

/// Checks the chain (of either database) against the anchors published at `source`.
pub fn verify_against(store: &dyn AuditLog, source: &str) -> Result<AnchorCheck, AnchorError> {
    let anchors = load(source)?;
    Ok(check_anchors(store, &anchors)?)
}

/// `suiji audit anchor`: the daily anchor (run by a timer, see docs/operations.md). Opens
/// the database named by `config` (the PostgreSQL database at `database` when one is named)
/// and anchors its head at `now` unless it has not moved since the last anchor. On
/// PostgreSQL the node's `anchors.json` is written from the database's anchors either way.
pub fn daily(
    config: &Path,
    database: Option<&crate::store::pg::Place>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Anchor>, AnchorError> {
    let config = crate::rules::load_config(config).map_err(SetupError::Config)?;
    let mut store: Box<dyn DrawStore> = match database {
        Some(url) => Box::new(PgStore::open_at(url)?),
        None => Box::new(Store::open(&config.data_dir)?),
    };
    let at = now
        .with_timezone(&config.timezone)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    record_on(&config.output_dir, &mut *store, &at, "daily", "")
}

/// Writes `out/public/anchors.json` from the anchors the PostgreSQL database keeps, for a node
/// whose output folder lacks it or holds an old one (`suiji regenerate`); returns how many.
pub fn write_from(out_dir: &Path, store: &PgStore) -> Result<usize, AnchorError> {
    let anchors = store.anchors()?;
    write_kept(out_dir, &anchors)?;
    Ok(anchors.anchors.len())
}
