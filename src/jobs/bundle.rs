//! A draw's two bundles, written beside its other files: the public bundle
//! (`bundle.public.json`, [`crate::draw::bundle`]) and the audit bundle (`bundle.audit.gz`):
//! what derives the frame and the teams — the manifest, the rules archive (config, rule files,
//! hook scripts and, from `suiji-rules/2`, the holiday files), the registry snapshots (the
//! targets and the inspector pool) and the public bundle — for auditors, not for publication.
//! A `suiji-audit-bundle/2` (a `suiji-manifest/4` draw's) leaves out the public bundle (the
//! manifest records its hash) and, when the registry was frozen as a file, the target snapshot
//! (the manifest names it by hash: `snapshots/<hash>.csv`, kept once per registry version).
//! `suiji verify --bundle FILE` checks the selection from a public bundle, and re-runs the whole
//! draw from an audit bundle, in an empty folder, without the database.

use std::io::{BufRead, Read, Write as _};
use std::path::{Path, PathBuf};

use crate::draw::Algorithm;
use crate::draw::bundle::{PublicBundle, ReadBundle};
use crate::draw::manifest::{ListDigests, Manifest};

/// The file names in a draw's folder.
pub const PUBLIC_FILE: &str = crate::draw::bundle::PUBLIC_FILE;
pub const AUDIT_FILE: &str = "bundle.audit.gz";

/// The first line of an audit bundle (inside the gzip stream).
pub const AUDIT_FORMAT: &str = "suiji-audit-bundle/1";

/// The audit bundle of a `suiji-manifest/4` draw (docs/draw-algorithm.md V2-18): the manifest,
/// the rules archive, the inspector snapshot and, only when the draw's target snapshot is not
/// kept as a file, the target snapshot.
pub const AUDIT_FORMAT_V2: &str = "suiji-audit-bundle/2";

/// The records of an audit bundle, in this order.
const MANIFEST: &str = "manifest.json";
const RULES: &str = "rules.archive";
const TARGETS: &str = "targets.csv";
const INSPECTORS: &str = "inspectors.csv";

/// What an audit bundle holds. Version 2 has no public bundle, and no target snapshot when
/// it refers to the snapshot file by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBundle {
    pub manifest: Vec<u8>,
    pub public: Option<Vec<u8>>,
    pub rules: Vec<u8>,
    pub targets: Option<Vec<u8>>,
    pub inspectors: Vec<u8>,
}

impl AuditBundle {
    /// The gzip-compressed records: the format line, then per record its name, `\n`, its
    /// length in bytes (decimal), `\n`, the bytes, `\n` (as the rules archive, §16.1).
    /// Version 1 when it holds a public bundle, else version 2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing into a vector fails only if memory runs out.
        let _ = match (&self.public, &self.targets) {
            (Some(public), Some(targets)) => write_audit(
                &mut out,
                [
                    Record::Bytes(&self.manifest),
                    Record::Bytes(public),
                    Record::Bytes(&self.rules),
                    Record::Bytes(targets),
                    Record::Bytes(&self.inspectors),
                ],
            ),
            _ => write_audit_v2(
                &mut out,
                [
                    Record::Bytes(&self.manifest),
                    Record::Bytes(&self.rules),
                    Record::Bytes(&self.inspectors),
                ],
                self.targets.as_deref().map(Record::Bytes),
            ),
        };
        out
    }

    /// Reads an audit bundle's bytes.
    pub fn parse(bytes: &[u8]) -> Result<AuditBundle, String> {
        AuditBundle::read(bytes)
    }

    /// Reads an audit bundle from `r` (its compressed bytes), each record decompressed
    /// straight into its own buffer (the whole stream is never held as well).
    pub fn read(r: impl Read) -> Result<AuditBundle, String> {
        let mut r = std::io::BufReader::with_capacity(1 << 16, flate2::read::GzDecoder::new(r));
        let mut first = Vec::new();
        r.read_until(b'\n', &mut first).map_err(not_gzip)?;
        let version = if first == format!("{AUDIT_FORMAT}\n").as_bytes() {
            1
        } else if first == format!("{AUDIT_FORMAT_V2}\n").as_bytes() {
            2
        } else {
            return Err(format!(
                "does not start with `{AUDIT_FORMAT}` or `{AUDIT_FORMAT_V2}`"
            ));
        };
        if version == 2 {
            let manifest = take_record(&mut r, MANIFEST)?;
            let rules = take_record(&mut r, RULES)?;
            let inspectors = take_record(&mut r, INSPECTORS)?;
            // The target snapshot only when the bundle holds it (the last record).
            let targets = match r.fill_buf().map_err(not_gzip)?.is_empty() {
                true => None,
                false => Some(take_record(&mut r, TARGETS)?),
            };
            read_to_end(&mut r)?;
            return Ok(AuditBundle {
                manifest,
                public: None,
                rules,
                targets,
                inspectors,
            });
        }
        let mut take = |want: &str| take_record(&mut r, want);
        let bundle = AuditBundle {
            manifest: take(MANIFEST)?,
            public: Some(take(PUBLIC_FILE)?),
            rules: take(RULES)?,
            targets: Some(take(TARGETS)?),
            inspectors: take(INSPECTORS)?,
        };
        read_to_end(&mut r)?;
        Ok(bundle)
    }
}

/// Reads what is left of the stream: the gzip trailer's checksum and length are checked only
/// once the stream is read past its end (a bundle cut short or altered there is not one).
fn read_to_end(r: &mut impl Read) -> Result<(), String> {
    std::io::copy(r, &mut std::io::sink())
        .map(drop)
        .map_err(not_gzip)
}

fn not_gzip(e: std::io::Error) -> String {
    format!("not a gzip stream: {e}")
}

/// The record `want` next in `r` (name, length and bytes, each ended by `\n`).
fn take_record(r: &mut impl BufRead, want: &str) -> Result<Vec<u8>, String> {
    let line = |r: &mut dyn BufRead| -> Result<String, String> {
        let mut l = Vec::new();
        r.read_until(b'\n', &mut l).map_err(not_gzip)?;
        if l.pop() != Some(b'\n') {
            return Err("a record is cut short".into());
        }
        Ok(String::from_utf8_lossy(&l).into_owned())
    };
    let name = line(r)?;
    if name != want {
        return Err(format!("record `{name}` where `{want}` belongs"));
    }
    let len: usize = line(r)?
        .parse()
        .map_err(|_| format!("record `{want}` has no length"))?;
    // Sized once (up to 1 GiB: a length is the file's word, not a promise).
    let mut bytes = Vec::with_capacity(len.min(1 << 30));
    r.take(len as u64)
        .read_to_end(&mut bytes)
        .map_err(not_gzip)?;
    if bytes.len() < len {
        return Err(format!("record `{want}` is cut short"));
    }
    // The `\n` after the bytes (the last record's may be missing).
    let mut end = [0u8; 1];
    let _ = r.read(&mut end).map_err(not_gzip)?;
    Ok(bytes)
}

/// Where one record of an audit bundle comes from: bytes at hand, or a file copied in as it is
/// read (a target snapshot kept as a file, too large to hold in memory at national scale).
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// The compressor takes an audit bundle's bytes in pieces of this size: its output depends on
/// where its input is cut, so the cuts are fixed by the stream alone (not by where the records
/// come from). A bundle smaller than this is compressed in one piece.
const AUDIT_PIECE: usize = 32 << 20;

/// Writes an audit bundle to `out`: its records in the order of [`AuditBundle`] (manifest,
/// public bundle, rules archive, targets, inspectors), gzip-compressed with a fixed header (no
/// name, no time) so that the same draw gives the same bytes, whatever the records' sources.
pub fn write_audit(out: impl std::io::Write, records: [Record<'_>; 5]) -> std::io::Result<()> {
    write_audit_in(out, records, AUDIT_PIECE)
}

/// Writes a `suiji-audit-bundle/2` to `out`: the manifest, the rules archive and the inspector
/// snapshot, then the target snapshot when it is given (a registry not kept as a snapshot file).
pub fn write_audit_v2(
    out: impl std::io::Write,
    [manifest, rules, inspectors]: [Record<'_>; 3],
    targets: Option<Record<'_>>,
) -> std::io::Result<()> {
    let mut records = vec![
        (MANIFEST, manifest),
        (RULES, rules),
        (INSPECTORS, inspectors),
    ];
    records.extend(targets.map(|t| (TARGETS, t)));
    write_records(out, AUDIT_FORMAT_V2, &records, AUDIT_PIECE)
}

fn write_audit_in(
    out: impl std::io::Write,
    records: [Record<'_>; 5],
    piece: usize,
) -> std::io::Result<()> {
    let named: Vec<(&str, Record<'_>)> = [MANIFEST, PUBLIC_FILE, RULES, TARGETS, INSPECTORS]
        .into_iter()
        .zip(records)
        .collect();
    write_records(out, AUDIT_FORMAT, &named, piece)
}

/// The format line and `records` (name, where its bytes come from), gzip-compressed.
/// The gzip level of an audit bundle: the fastest. A national draw's 149 MB manifest compresses
/// in 0.38 s to 30.6 MB at this level, and in 1.95 s to 26.7 MB at the default one.
/// Any level reads back the same; no hash is taken of the compressed bytes.
const LEVEL: flate2::Compression = flate2::Compression::fast();

fn write_records(
    out: impl std::io::Write,
    format: &str,
    records: &[(&str, Record<'_>)],
    piece: usize,
) -> std::io::Result<()> {
    let gz = flate2::GzBuilder::new().mtime(0).write(out, LEVEL);
    let mut w = Pieces {
        inner: gz,
        buf: Vec::with_capacity(piece),
        piece,
    };
    w.write_all(format.as_bytes())?;
    w.write_all(b"\n")?;
    for &(name, record) in records {
        match record {
            Record::Bytes(bytes) => {
                w.write_all(format!("{name}\n{}\n", bytes.len()).as_bytes())?;
                w.write_all(bytes)?;
            }
            Record::File(path) => copy_file(&mut w, name, path)?,
        }
        w.write_all(b"\n")?;
    }
    if !w.buf.is_empty() {
        w.inner.write_all(&w.buf)?;
    }
    w.inner.finish()?.flush()
}

/// Copies the file at `path` into `w` as the record `name`.
fn copy_file(w: &mut impl std::io::Write, name: &str, path: &Path) -> std::io::Result<()> {
    let mut file = std::fs::File::open(path).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
    })?;
    let len = file.metadata()?.len();
    w.write_all(format!("{name}\n{len}\n").as_bytes())?;
    let copied = std::io::copy(&mut (&mut file).take(len), w)?;
    if copied != len || file.read(&mut [0u8; 1])? != 0 {
        return Err(std::io::Error::other(format!(
            "{} changed while it was copied into the audit bundle",
            path.display()
        )));
    }
    Ok(())
}

/// Hands `inner` whole pieces of `piece` bytes (the last one, shorter, is left in `buf`).
struct Pieces<W> {
    inner: W,
    buf: Vec<u8>,
    piece: usize,
}

impl<W: std::io::Write> std::io::Write for Pieces<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = bytes.len().min(self.piece - self.buf.len());
        self.buf.extend_from_slice(&bytes[..n]);
        if self.buf.len() == self.piece {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether a draw recorded as `m` has a `suiji-audit-bundle/2` (a `suiji-manifest/4`'s, `/5`'s
/// or `/6`'s).
pub fn audit_v2(m: &Manifest) -> bool {
    crate::draw::manifest::summarised(&m.format)
}

/// What `verify --bundle` found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// `public` or `audit`.
    pub kind: &'static str,
    pub matter: String,
    pub period: String,
    /// SHA-256 of the public bundle's bytes (compare it with the manifest's `public_bundle`
    /// and the draw's public page).
    pub public_hash: String,
    /// Targets drawn from and drawn.
    pub eligible: usize,
    pub drawn: usize,
    /// Every difference found; empty: the bundle checks, as far as it could be checked.
    pub differences: Vec<String>,
    /// What could not be checked, and why (a file beside the bundle it refers to that cannot
    /// be read); empty: everything was.
    pub unchecked: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a suiji bundle: {detail}", path.display())]
    NotABundle { path: PathBuf, detail: String },
    #[error(
        "cannot re-run the draw of {}: the target snapshot {name} it refers to by its hash is in none of {folders}",
        bundle.display()
    )]
    NoSnapshot {
        bundle: PathBuf,
        name: String,
        folders: String,
    },
}

impl crate::diag::Problem for BundleError {
    fn fault(&self) -> crate::diag::Fault {
        crate::diag::Fault::Invalid
    }

    fn report(&self) -> crate::diag::Report {
        if let BundleError::NoSnapshot { .. } = self {
            return crate::diag::Report::error(
                self.to_string(),
                &[
                    "put the snapshot file beside the bundle, or give the data folder that holds it in snapshots/ (--data); nothing was checked",
                ],
            );
        }
        crate::diag::Report::error(
            self.to_string(),
            &[
                "the file does not read as a bundle suiji writes: it was altered or damaged, or it is another file; give a draw's bundle.public.json (to check its selection) or bundle.audit.gz (to re-run the whole draw)",
            ],
        )
    }
}

/// Checks a public bundle (the selection, from its frame) or an audit bundle (the whole draw,
/// re-run from its archived inputs in a temporary folder, without any database). `snapshots`:
/// a folder holding target snapshot files by hash (`<hash>.csv`: a data folder's
/// `snapshots/`), for a `suiji-audit-bundle/2` that refers to its snapshot; the bundle's own
/// folder is looked in first.
pub fn check(path: &Path, snapshots: Option<&Path>) -> Result<Checked, BundleError> {
    let read_error = |source| BundleError::Read {
        path: path.to_path_buf(),
        source,
    };
    let not = |detail: String| BundleError::NotABundle {
        path: path.to_path_buf(),
        detail,
    };
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let mut magic = [0u8; 2];
    let gzip = match std::io::Read::read_exact(&mut file, &mut magic) {
        Ok(()) => magic == [0x1f, 0x8b],
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => false,
        Err(e) => return Err(read_error(e)),
    };
    std::io::Seek::rewind(&mut file).map_err(read_error)?;
    if gzip {
        let audit = AuditBundle::read(std::io::BufReader::new(file)).map_err(not)?;
        let own = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let folders: Vec<&Path> = std::iter::once(own).chain(snapshots).collect();
        return check_audit(path, audit, &folders);
    }
    // The public bundle is read once as it is checked (a national one is 430 MB).
    let public = crate::draw::bundle::read(std::io::BufReader::new(file)).map_err(not)?;
    // The detail file is read while the selection is recomputed.
    // A detail file that cannot be read leaves the exclusions unchecked: nothing differs.
    let detail = || match public.head.exclusion_summary {
        None => Ok(Vec::new()),
        Some(_) => {
            let beside = path.with_file_name(crate::draw::manifest::EXCLUSIONS_FILE);
            match std::fs::File::open(&beside) {
                Ok(detail) => Ok(public.check_detail(detail)),
                Err(e) => Err(format!(
                    "the exclusions the bundle summarises, checked by their hash against {}: \
                     it cannot be read ({e}); put the draw's {} beside the bundle",
                    beside.display(),
                    crate::draw::manifest::EXCLUSIONS_FILE
                )),
            }
        }
    };
    let (mut checked, detail) = rayon::join(|| check_public(&public), detail);
    match detail {
        Ok(differences) => checked.differences.extend(differences),
        Err(unchecked) => checked.unchecked.push(unchecked),
    }
    Ok(checked)
}

fn check_public(b: &ReadBundle) -> Checked {
    let mut differences = b.check();
    if !b.canonical {
        differences.push(
            "the file is not in the bundle's canonical form (compact JSON in field order): its hash is not the one a manifest records"
                .into(),
        );
    }
    Checked {
        kind: "public",
        matter: b.head.matter.clone(),
        period: b.head.period.id.clone(),
        public_hash: b.sha256.clone(),
        eligible: b.eligible(),
        drawn: b.head.selected.len(),
        differences,
        unchecked: Vec::new(),
    }
}

/// What an audit bundle says before the re-run: its public bundle checked (version 1), or the
/// manifest's account of it (version 2, which leaves the public bundle out).
fn audit_checked(a: &AuditBundle, m: &Manifest, drawn: usize) -> Result<Checked, String> {
    let Some(public) = &a.public else {
        return Ok(Checked {
            kind: "audit",
            matter: m.matter.clone(),
            period: m.period.id.clone(),
            public_hash: m.public_bundle.clone().unwrap_or_default(),
            eligible: m.strata.iter().map(|s| s.eligible).sum(),
            drawn,
            differences: Vec::new(),
            unchecked: Vec::new(),
        });
    };
    let b = crate::draw::bundle::read(public.as_slice())
        .map_err(|e| format!("its public bundle cannot be read: {e}"))?;
    let mut out = check_public(&b);
    out.kind = "audit";
    if let Some(recorded) = &m.public_bundle
        && *recorded != out.public_hash
    {
        out.differences.push(format!(
            "the manifest records public bundle {recorded}, the bundle's file hashes to {}",
            out.public_hash
        ));
    }
    Ok(out)
}

/// The whole draw again from an audit bundle: every hash, then the re-run's manifest and
/// public bundle against the recorded ones. A version 2 bundle without the target snapshot
/// finds it as `<hash>.csv` in one of `folders`.
///
/// The recorded manifest is read without its selection and substitutes, which are hashed as
/// they are read ([`Manifest::digested`]): a national draw's are hundreds of megabytes once
/// parsed, held through the whole re-run. When the re-run's lists have the same digests, they
/// are the recorded ones; otherwise the manifest is read again whole from the bundle's file
/// and compared as it stands, so that every difference is named.
fn check_audit(path: &Path, mut a: AuditBundle, folders: &[&Path]) -> Result<Checked, BundleError> {
    let not = |detail: String| BundleError::NotABundle {
        path: path.to_path_buf(),
        detail,
    };
    // The manifest's bytes are let go once read (a national one is 110 MB).
    let (light, digests) = light_manifest(&std::mem::take(&mut a.manifest))
        .map_err(|e| not(format!("its manifest cannot be read: {e}")))?;
    let snapshot = snapshot_file(path, &a, &light, folders)?;
    let mut out = audit_checked(&a, &light, digests.selected_len()).map_err(not)?;
    let d = &mut out.differences;
    let unheld = unheld(&a, &light);
    let Some(algorithm) = Algorithm::from_name(&light.algorithm) else {
        let m = whole_manifest(path)?;
        altered(d, &m, None);
        d.extend(unheld);
        d.push(format!(
            "algorithm `{}` is not one this suiji implements",
            m.algorithm
        ));
        return Ok(out);
    };
    let rerun = rerun_audit(&a, &light, algorithm, snapshot);
    match rerun {
        Ok((mut re, bundle, _, sealed)) if ListDigests::of_sealed(&re, sealed) == digests => {
            // The same lists: compared without them (the recorded manifest made whole with
            // the re-run's is the one recorded).
            let lists = re.take_lists();
            let content = super::verify::Compared::same_content(&light, &mut re);
            let mut m = light;
            let differences = rerun_differences(&a, &m, &re, bundle.as_ref());
            drop(re);
            m.put_lists(lists);
            altered(d, &m, content);
            d.extend(unheld);
            d.extend(differences);
        }
        rerun => {
            drop(light);
            let m = whole_manifest(path)?;
            altered(d, &m, None);
            d.extend(unheld);
            match rerun {
                Ok((re, bundle, ..)) => d.extend(rerun_differences(&a, &m, &re, bundle.as_ref())),
                Err(e) => d.push(e),
            }
        }
    }
    Ok(out)
}

/// The target snapshot file an audit bundle that does not hold it refers to (`None` when it
/// holds it), found as `<hash>.csv` in one of `folders`. A bundle that refers to its target
/// snapshot cannot be re-run without it: that is not a difference but nothing checked.
fn snapshot_file(
    path: &Path,
    a: &AuditBundle,
    m: &Manifest,
    folders: &[&Path],
) -> Result<Option<PathBuf>, BundleError> {
    if a.targets.is_some() {
        return Ok(None);
    }
    let name = format!("{}.csv", m.registry.targets_snapshot);
    let found = folders.iter().map(|f| f.join(&name)).find(|p| p.is_file());
    found.map(Some).ok_or_else(|| BundleError::NoSnapshot {
        bundle: path.to_path_buf(),
        folders: folders
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        name,
    })
}

/// The snapshots an audit bundle holds that do not hash to the ones its manifest `m` names.
fn unheld(a: &AuditBundle, m: &Manifest) -> Vec<String> {
    let held = [
        (
            "targets snapshot",
            a.targets.as_deref(),
            &m.registry.targets_snapshot,
        ),
        (
            "inspectors snapshot",
            Some(&a.inspectors[..]),
            &m.registry.inspectors_snapshot,
        ),
    ];
    let mut out = Vec::new();
    for (what, bytes, want) in held {
        let got = bytes.map(crate::digest::sha256_hex);
        if let Some(got) = got.filter(|got| got != want) {
            out.push(format!(
                "the {what} hashes to {got}, the manifest names {want}"
            ));
        }
    }
    out
}

/// A manifest's JSON read without its lists: hashed a line at a time when it is laid out as
/// the draw's files are, else parsed ([`Manifest::digested`]).
fn light_manifest(bytes: &[u8]) -> serde_json::Result<(Manifest, ListDigests)> {
    if let Ok(Some(read)) = Manifest::digested_lines(&mut &bytes[..], None, &mut |_| {}) {
        return Ok(read);
    }
    Manifest::digested(|| serde_json::from_slice(bytes))
}

/// The manifest of the audit bundle at `path`, read again whole.
fn whole_manifest(path: &Path) -> Result<Manifest, BundleError> {
    let not = |detail: String| BundleError::NotABundle {
        path: path.to_path_buf(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(|source| BundleError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut a = AuditBundle::read(std::io::BufReader::new(file)).map_err(not)?;
    serde_json::from_slice(&std::mem::take(&mut a.manifest))
        .map_err(|e| not(format!("its manifest cannot be read: {e}")))
}

/// Says, into `d`, that the manifest `m` was altered when its content does not hash to the hash
/// it claims (`content`: that hash, when known without hashing it again).
fn altered(d: &mut Vec<String>, m: &Manifest, content: Option<String>) {
    let recomputed = content.unwrap_or_else(|| m.compute_hash());
    if recomputed != m.manifest_hash {
        d.push(format!(
            "the manifest was altered: it hashes to {recomputed}, but claims {}",
            m.manifest_hash
        ));
    }
}

/// The draw re-run from an audit bundle's records (the target snapshot from its file
/// `snapshot` when the bundle refers to it).
fn rerun_audit(
    a: &AuditBundle,
    m: &Manifest,
    algorithm: Algorithm,
    snapshot: Option<PathBuf>,
) -> Result<super::verify::Rerun, String> {
    let get = |hash: &str, what: &str| {
        if hash == m.rules_hash {
            Ok(a.rules.clone())
        } else if hash == m.registry.inspectors_snapshot {
            Ok(a.inspectors.clone())
        } else if let (true, Some(t)) = (hash == m.registry.targets_snapshot, &a.targets) {
            Ok(t.clone())
        } else {
            Err(format!("the bundle has no {what} {hash}"))
        }
    };
    match snapshot {
        Some(path) => super::verify::rerun_over_file(m, algorithm, path, &get),
        None => {
            let archived = super::verify::archived_from(m, &get)?;
            super::verify::rerun_archived(m, algorithm, archived)
        }
    }
}

/// How a re-run differs from the recorded draw: its manifest, and its public bundle (the
/// bundle's bytes for version 1, which holds it; its hash in the manifest for version 2).
fn rerun_differences(
    a: &AuditBundle,
    m: &Manifest,
    re: &Manifest,
    bundle: Option<&PublicBundle>,
) -> Vec<String> {
    let mut d = m.differences(re);
    if re.manifest_hash != m.manifest_hash {
        d.push(format!(
            "the re-run manifest hashes to {}, the recorded one to {}",
            re.manifest_hash, m.manifest_hash
        ));
    }
    let same = match (&a.public, bundle) {
        (Some(held), Some(b)) => b.is_written_as(held),
        (Some(_), None) => {
            d.push("the re-run gave no public bundle".into());
            return d;
        }
        (None, _) => re.public_bundle == m.public_bundle,
    };
    if !same {
        d.push("the re-run gives another public bundle (frame, weights or fields differ)".into());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few megabytes of registry-like lines: several deflate blocks, many copy buffers.
    fn snapshot_like() -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0u64..60_000 {
            let mixed = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            out.extend_from_slice(
                format!("T{i:07},丰阳{mixed}旅馆,hotel,{}\n", mixed % 97).as_bytes(),
            );
        }
        out
    }

    fn records<'a>(held: &'a AuditBundle, targets: Record<'a>) -> [Record<'a>; 5] {
        [
            Record::Bytes(&held.manifest),
            Record::Bytes(held.public.as_deref().unwrap_or_default()),
            Record::Bytes(&held.rules),
            targets,
            Record::Bytes(&held.inspectors),
        ]
    }

    fn held(targets: Vec<u8>) -> AuditBundle {
        AuditBundle {
            manifest: b"{\"format\": \"suiji-manifest/2\"}".to_vec(),
            public: Some(b"{\"format\":\"suiji-public-bundle/1\"}".to_vec()),
            rules: b"suiji-rules/2\n".to_vec(),
            targets: Some(targets),
            inspectors: b"id,name\nP1,A\n".to_vec(),
        }
    }

    #[test]
    fn a_version_2_audit_bundle_reads_back_with_or_without_its_target_snapshot() {
        let full = held(snapshot_like());
        for targets in [None, full.targets.clone()] {
            let v2 = AuditBundle {
                public: None,
                targets,
                ..full.clone()
            };
            let bytes = v2.to_bytes();
            let mut raw = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut raw)
                .expect("gzip");
            assert!(raw.starts_with(b"suiji-audit-bundle/2\nmanifest.json\n"));
            let back = AuditBundle::parse(&bytes).expect("parse");
            assert_eq!(back.public, None);
            assert_eq!(back.targets, v2.targets);
            assert_eq!(
                (back.manifest, back.rules, back.inspectors),
                (v2.manifest, v2.rules, v2.inspectors)
            );
        }
    }

    #[test]
    fn an_audit_bundle_has_the_bytes_it_had_when_it_was_compressed_whole() {
        let held = held(snapshot_like());
        // As bundles were written before they were streamed: the records in one buffer,
        // compressed in one call.
        let mut raw = format!("{AUDIT_FORMAT}\n").into_bytes();
        for (name, bytes) in [
            (MANIFEST, &held.manifest[..]),
            (PUBLIC_FILE, held.public.as_deref().unwrap_or_default()),
            (RULES, &held.rules),
            (TARGETS, held.targets.as_deref().unwrap_or_default()),
            (INSPECTORS, &held.inspectors),
        ] {
            raw.extend_from_slice(format!("{name}\n{}\n", bytes.len()).as_bytes());
            raw.extend_from_slice(bytes);
            raw.push(b'\n');
        }
        let mut gz = flate2::GzBuilder::new().mtime(0).write(Vec::new(), LEVEL);
        gz.write_all(&raw).expect("compress");
        let whole = gz.finish().expect("compress");
        assert_eq!(held.to_bytes(), whole);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("snapshot.csv");
        std::fs::write(&path, held.targets.as_deref().unwrap_or_default()).expect("write snapshot");
        let mut copied = Vec::new();
        write_audit(&mut copied, records(&held, Record::File(&path))).expect("write");
        assert_eq!(copied, whole);
    }

    #[test]
    fn an_audit_bundle_copied_from_a_file_has_the_bytes_of_one_held_in_memory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let held = held(snapshot_like());
        let path = dir.path().join("snapshot.csv");
        std::fs::write(&path, held.targets.as_deref().unwrap_or_default()).expect("write snapshot");
        // Pieces much smaller than the bundle: cut inside every record.
        let piece = 4099;
        let mut copied = Vec::new();
        write_audit_in(&mut copied, records(&held, Record::File(&path)), piece).expect("write");
        let mut in_memory = Vec::new();
        write_audit_in(
            &mut in_memory,
            records(
                &held,
                Record::Bytes(held.targets.as_deref().unwrap_or_default()),
            ),
            piece,
        )
        .expect("write");
        assert_eq!(copied, in_memory);
        let back = AuditBundle::parse(&copied).expect("parse");
        assert_eq!(back.targets, held.targets);
        assert_eq!(back.manifest, held.manifest);
        assert_eq!(back.inspectors, held.inspectors);
    }

    /// An audit bundle read as it is decompressed is the one written; one cut short, with its
    /// records out of order, of another format or not compressed at all is said, not read.
    #[test]
    fn an_audit_bundle_is_read_as_it_is_decompressed_and_a_broken_one_is_said() {
        use std::io::Read as _;
        let bundle = held(snapshot_like());
        for b in [
            bundle.clone(),
            AuditBundle {
                public: None,
                targets: None,
                ..bundle.clone()
            },
        ] {
            let bytes = b.to_bytes();
            assert_eq!(AuditBundle::read(&bytes[..]), Ok(b));
        }
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&bundle.to_bytes()[..])
            .read_to_end(&mut raw)
            .expect("gzip");
        let gz = |raw: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(raw).expect("write");
            e.finish().expect("finish")
        };
        let text = String::from_utf8_lossy(&raw).into_owned();
        let swapped = text.replacen(MANIFEST, "x", 1);
        for (broken, said) in [
            (gz(&raw[..raw.len() / 2]), "is cut short"),
            (gz(swapped.as_bytes()), "where `"),
            (gz(b"suiji-audit-bundle/9\n"), "does not start with"),
            (raw.clone(), "not a gzip stream"),
        ] {
            let e = AuditBundle::read(&broken[..]).expect_err(said);
            assert!(e.contains(said), "{e}");
        }
        // The gzip trailer is checked: its checksum altered, or cut off.
        let whole = bundle.to_bytes();
        let mut altered = whole.clone();
        let crc = altered.len() - 8;
        altered[crc] ^= 1;
        for (broken, said) in [
            (altered, "not a gzip stream"),
            (whole[..whole.len() - 3].to_vec(), "not a gzip stream"),
        ] {
            let e = AuditBundle::read(&broken[..]).expect_err(said);
            assert!(e.contains(said), "{e}");
        }
    }

    #[test]
    fn a_missing_snapshot_file_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("gone.csv");
        let e = write_audit(
            Vec::new(),
            [
                Record::Bytes(b"m"),
                Record::Bytes(b"p"),
                Record::Bytes(b"r"),
                Record::File(&path),
                Record::Bytes(b"i"),
            ],
        )
        .expect_err("the snapshot is missing");
        assert!(e.to_string().contains("gone.csv"), "{e}");
    }
}
