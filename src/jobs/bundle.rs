//! A draw's two bundles, written beside its other files: the public bundle
//! (`bundle.public.json`, [`crate::draw::bundle`]) and the audit bundle (`bundle.audit.gz`):
//! what derives the frame and the teams — the manifest, the rules archive (config, rule files,
//! hook scripts and, from `suiji-rules/2`, the holiday files), the registry snapshots (the
//! targets and the inspector pool) and the public bundle — for auditors, not for publication.
//! `suiji verify --bundle FILE` checks the selection from a public bundle, and re-runs the whole
//! draw from an audit bundle, in an empty folder, without the database.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::draw::Algorithm;
use crate::draw::bundle::PublicBundle;
use crate::draw::manifest::Manifest;

/// The file names in a draw's folder.
pub const PUBLIC_FILE: &str = "bundle.public.json";
pub const AUDIT_FILE: &str = "bundle.audit.gz";

/// The first line of an audit bundle (inside the gzip stream).
pub const AUDIT_FORMAT: &str = "suiji-audit-bundle/1";

/// The records of an audit bundle, in this order.
const MANIFEST: &str = "manifest.json";
const RULES: &str = "rules.archive";
const TARGETS: &str = "targets.csv";
const INSPECTORS: &str = "inspectors.csv";

/// What an audit bundle holds.
#[derive(Debug, Clone)]
pub struct AuditBundle {
    pub manifest: Vec<u8>,
    pub public: Vec<u8>,
    pub rules: Vec<u8>,
    pub targets: Vec<u8>,
    pub inspectors: Vec<u8>,
}

impl AuditBundle {
    /// The gzip-compressed records: the format line, then per record its name, `\n`, its
    /// length in bytes (decimal), `\n`, the bytes, `\n` (as the rules archive, §16.1).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let records = [
            Record::Bytes(&self.manifest),
            Record::Bytes(&self.public),
            Record::Bytes(&self.rules),
            Record::Bytes(&self.targets),
            Record::Bytes(&self.inspectors),
        ];
        // Writing into a vector fails only if memory runs out.
        let _ = write_audit(&mut out, records);
        out
    }

    /// Reads an audit bundle's bytes.
    pub fn parse(bytes: &[u8]) -> Result<AuditBundle, String> {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut raw)
            .map_err(|e| format!("not a gzip stream: {e}"))?;
        let magic = format!("{AUDIT_FORMAT}\n");
        let mut rest = raw
            .strip_prefix(magic.as_bytes())
            .ok_or_else(|| format!("does not start with `{AUDIT_FORMAT}`"))?;
        let mut take = |want: &str| -> Result<Vec<u8>, String> {
            let line = |r: &mut &[u8]| -> Result<String, String> {
                let at = r
                    .iter()
                    .position(|&b| b == b'\n')
                    .ok_or("a record is cut short")?;
                let s = String::from_utf8_lossy(&r[..at]).into_owned();
                *r = &r[at + 1..];
                Ok(s)
            };
            let name = line(&mut rest)?;
            if name != want {
                return Err(format!("record `{name}` where `{want}` belongs"));
            }
            let len: usize = line(&mut rest)?
                .parse()
                .map_err(|_| format!("record `{want}` has no length"))?;
            let bytes = rest
                .get(..len)
                .ok_or_else(|| format!("record `{want}` is cut short"))?
                .to_vec();
            rest = rest.get(len + 1..).unwrap_or_default();
            Ok(bytes)
        };
        Ok(AuditBundle {
            manifest: take(MANIFEST)?,
            public: take(PUBLIC_FILE)?,
            rules: take(RULES)?,
            targets: take(TARGETS)?,
            inspectors: take(INSPECTORS)?,
        })
    }
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

fn write_audit_in(
    out: impl std::io::Write,
    records: [Record<'_>; 5],
    piece: usize,
) -> std::io::Result<()> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(out, flate2::Compression::default());
    let mut w = Pieces {
        inner: gz,
        buf: Vec::with_capacity(piece),
        piece,
    };
    w.write_all(AUDIT_FORMAT.as_bytes())?;
    w.write_all(b"\n")?;
    for (name, record) in [MANIFEST, PUBLIC_FILE, RULES, TARGETS, INSPECTORS]
        .into_iter()
        .zip(records)
    {
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

/// A draw's bundle files for its folder: (name, bytes).
pub fn files(
    manifest: &Manifest,
    public: &PublicBundle,
    rules: &[u8],
    targets: &[u8],
    inspectors: &[u8],
) -> Vec<(PathBuf, Vec<u8>)> {
    let public = public.to_bytes();
    let audit = AuditBundle {
        manifest: manifest.to_pretty_json().into_bytes(),
        public: public.clone(),
        rules: rules.to_vec(),
        targets: targets.to_vec(),
        inspectors: inspectors.to_vec(),
    };
    vec![
        (PathBuf::from(PUBLIC_FILE), public),
        (PathBuf::from(AUDIT_FILE), audit.to_bytes()),
    ]
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
    /// Every difference found; empty: the bundle checks.
    pub differences: Vec<String>,
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
}

impl crate::diag::Problem for BundleError {
    fn fault(&self) -> crate::diag::Fault {
        crate::diag::Fault::Invalid
    }

    fn report(&self) -> crate::diag::Report {
        crate::diag::Report::error(
            self.to_string(),
            &[
                "give a draw's bundle.public.json (to check its selection) or bundle.audit.gz (to re-run the whole draw)",
            ],
        )
    }
}

/// Checks a public bundle (the selection, from its frame) or an audit bundle (the whole draw,
/// re-run from its archived inputs in a temporary folder, without any database).
pub fn check(path: &Path) -> Result<Checked, BundleError> {
    let bytes = std::fs::read(path).map_err(|source| BundleError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let not = |detail: String| BundleError::NotABundle {
        path: path.to_path_buf(),
        detail,
    };
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let audit = AuditBundle::parse(&bytes).map_err(not)?;
        return check_audit(&audit).map_err(not);
    }
    let public: PublicBundle = serde_json::from_slice(&bytes).map_err(|e| not(e.to_string()))?;
    Ok(check_public(&public, &bytes))
}

fn check_public(b: &PublicBundle, bytes: &[u8]) -> Checked {
    let mut differences = b.check();
    if b.to_bytes() != bytes {
        differences.push(
            "the file is not in the bundle's canonical form (compact JSON in field order): its hash is not the one a manifest records"
                .into(),
        );
    }
    Checked {
        kind: "public",
        matter: b.matter.clone(),
        period: b.period.id.clone(),
        public_hash: crate::digest::sha256_hex(bytes),
        eligible: b.frame.len(),
        drawn: b.selected.len(),
        differences,
    }
}

/// The whole draw again from an audit bundle: every hash, then the re-run's manifest and
/// public bundle against the recorded ones.
fn check_audit(a: &AuditBundle) -> Result<Checked, String> {
    let m: Manifest = serde_json::from_slice(&a.manifest)
        .map_err(|e| format!("its manifest cannot be read: {e}"))?;
    let public: PublicBundle = serde_json::from_slice(&a.public)
        .map_err(|e| format!("its public bundle cannot be read: {e}"))?;
    let mut out = check_public(&public, &a.public);
    out.kind = "audit";
    let public_hash = out.public_hash.clone();
    let d = &mut out.differences;
    if m.compute_hash() != m.manifest_hash {
        d.push(format!(
            "the manifest was altered: it hashes to {}, but claims {}",
            m.compute_hash(),
            m.manifest_hash
        ));
    }
    if let Some(recorded) = &m.public_bundle
        && *recorded != public_hash
    {
        d.push(format!(
            "the manifest records public bundle {recorded}, the bundle's file hashes to {public_hash}"
        ));
    }
    for (what, bytes, want) in [
        ("targets snapshot", &a.targets, &m.registry.targets_snapshot),
        (
            "inspectors snapshot",
            &a.inspectors,
            &m.registry.inspectors_snapshot,
        ),
    ] {
        let got = crate::digest::sha256_hex(bytes);
        if got != *want {
            d.push(format!(
                "the {what} hashes to {got}, the manifest names {want}"
            ));
        }
    }
    let Some(algorithm) = Algorithm::from_name(&m.algorithm) else {
        d.push(format!(
            "algorithm `{}` is not one this suiji implements",
            m.algorithm
        ));
        return Ok(out);
    };
    let archived = super::verify::archived_from(&m, |hash: &str, what: &str| {
        if hash == m.rules_hash {
            Ok(a.rules.clone())
        } else if hash == m.registry.targets_snapshot {
            Ok(a.targets.clone())
        } else if hash == m.registry.inspectors_snapshot {
            Ok(a.inspectors.clone())
        } else {
            Err(format!("the bundle has no {what} {hash}"))
        }
    });
    match archived.and_then(|x| super::verify::rerun_archived(&m, algorithm, x)) {
        Ok((re, bundle)) => {
            d.extend(m.differences(&re));
            if re.manifest_hash != m.manifest_hash {
                d.push(format!(
                    "the re-run manifest hashes to {}, the recorded one to {}",
                    re.manifest_hash, m.manifest_hash
                ));
            }
            match bundle {
                Some(b) if b.to_bytes() == a.public => {}
                Some(_) => d.push(
                    "the re-run gives another public bundle (frame, weights or fields differ)"
                        .into(),
                ),
                None => d.push("the re-run gave no public bundle".into()),
            }
        }
        Err(e) => d.push(e),
    }
    Ok(out)
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
            Record::Bytes(&held.public),
            Record::Bytes(&held.rules),
            targets,
            Record::Bytes(&held.inspectors),
        ]
    }

    fn held(targets: Vec<u8>) -> AuditBundle {
        AuditBundle {
            manifest: b"{\"format\": \"suiji-manifest/2\"}".to_vec(),
            public: b"{\"format\":\"suiji-public-bundle/1\"}".to_vec(),
            rules: b"suiji-rules/2\n".to_vec(),
            targets,
            inspectors: b"id,name\nP1,A\n".to_vec(),
        }
    }

    #[test]
    fn an_audit_bundle_has_the_bytes_it_had_when_it_was_compressed_whole() {
        let held = held(snapshot_like());
        // As bundles were written before they were streamed: the records in one buffer,
        // compressed in one call.
        let mut raw = format!("{AUDIT_FORMAT}\n").into_bytes();
        for (name, bytes) in [
            (MANIFEST, &held.manifest),
            (PUBLIC_FILE, &held.public),
            (RULES, &held.rules),
            (TARGETS, &held.targets),
            (INSPECTORS, &held.inspectors),
        ] {
            raw.extend_from_slice(format!("{name}\n{}\n", bytes.len()).as_bytes());
            raw.extend_from_slice(bytes);
            raw.push(b'\n');
        }
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::default());
        gz.write_all(&raw).expect("compress");
        let whole = gz.finish().expect("compress");
        assert_eq!(held.to_bytes(), whole);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("snapshot.csv");
        std::fs::write(&path, &held.targets).expect("write snapshot");
        let mut copied = Vec::new();
        write_audit(&mut copied, records(&held, Record::File(&path))).expect("write");
        assert_eq!(copied, whole);
    }

    #[test]
    fn an_audit_bundle_copied_from_a_file_has_the_bytes_of_one_held_in_memory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let held = held(snapshot_like());
        let path = dir.path().join("snapshot.csv");
        std::fs::write(&path, &held.targets).expect("write snapshot");
        // Pieces much smaller than the bundle: cut inside every record.
        let piece = 4099;
        let mut copied = Vec::new();
        write_audit_in(&mut copied, records(&held, Record::File(&path)), piece).expect("write");
        let mut in_memory = Vec::new();
        write_audit_in(
            &mut in_memory,
            records(&held, Record::Bytes(&held.targets)),
            piece,
        )
        .expect("write");
        assert_eq!(copied, in_memory);
        let back = AuditBundle::parse(&copied).expect("parse");
        assert_eq!(back.targets, held.targets);
        assert_eq!(back.manifest, held.manifest);
        assert_eq!(back.inspectors, held.inspectors);
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
