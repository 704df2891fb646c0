//! The rule set as one archived blob (config + rule files + scripts), so a draw can be re-run
//! years later with exactly the rules it was made under.
//!
//! Format `suiji-rules/1`: the magic line `suiji-rules/1\n`, then for each file: the relative
//! path (UTF-8, `/`-separated), `\n`, the byte length in decimal, `\n`, the bytes, `\n`. The
//! files are `config/suiji.toml`, then every `*.toml` / `*.rhai` of the rules folder as
//! `rules/<name>` in byte order of their paths.
//!
//! Format `suiji-rules/2` (the rules of new draws): the magic line `suiji-rules/2\n` and the
//! same records, with the holiday files that decided the periods added after the config:
//! `config/suiji.toml`, every `*.toml` of the holidays folder as `config/holidays/<name>`, then
//! the rules files, each group in byte order of the names. A change to a holiday file changes
//! the rules hash. Both formats unpack; docs/draw-algorithm.md V2-7 has a worked example.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

const MAGIC: &[u8] = b"suiji-rules/1\n";
const MAGIC_V2: &[u8] = b"suiji-rules/2\n";

/// Rule files given as text instead of read from the rules folder (a draft), by file name.
pub type Draft = std::collections::BTreeMap<String, String>;

/// Where a packed file's bytes come from.
enum Bytes<'a> {
    File(PathBuf),
    Text(&'a str),
}

/// The files of `dir` with one of `exts`, in byte order of their names, as `<prefix>/<name>`;
/// the files of `draft` replace or add to them.
fn folder<'a>(
    dir: &Path,
    prefix: &str,
    exts: &[&str],
    draft: &'a Draft,
) -> std::io::Result<Vec<(String, Bytes<'a>)>> {
    let mut files: std::collections::BTreeMap<String, Bytes<'a>> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)))
        .filter_map(|p| {
            let name = p.file_name().and_then(|n| n.to_str())?.to_string();
            Some((name, Bytes::File(p)))
        })
        .collect();
    for (name, text) in draft {
        if exts.iter().any(|e| name.ends_with(&format!(".{e}"))) {
            files.insert(name.clone(), Bytes::Text(text));
        }
    }
    let mut files: Vec<(String, Bytes<'a>)> = files
        .into_iter()
        .map(|(name, b)| (format!("{prefix}/{name}"), b))
        .collect();
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(files)
}

/// Packs `config/suiji.toml` (as `config/suiji.toml`) and every `*.toml` / `*.rhai` in the rules
/// folder (as `rules/<name>`): format `suiji-rules/1`.
pub fn pack(config: &Path, rules_dir: &Path) -> std::io::Result<Vec<u8>> {
    pack_draft(config, None, rules_dir, &Draft::new())
}

/// Packs format `suiji-rules/2`: as [`pack`], with the holiday files of `holidays_dir` (as
/// `config/holidays/<name>`; a missing folder adds none).
pub fn pack_v2(config: &Path, holidays_dir: &Path, rules_dir: &Path) -> std::io::Result<Vec<u8>> {
    pack_draft(config, Some(holidays_dir), rules_dir, &Draft::new())
}

/// Packs the rule set as it would be with `draft` saved in the rules folder: format
/// `suiji-rules/2` with `holidays_dir`, `suiji-rules/1` without.
pub fn pack_draft(
    config: &Path,
    holidays_dir: Option<&Path>,
    rules_dir: &Path,
    draft: &Draft,
) -> std::io::Result<Vec<u8>> {
    let mut files: Vec<(String, Bytes<'_>)> = vec![(
        "config/suiji.toml".into(),
        Bytes::File(config.to_path_buf()),
    )];
    let none = Draft::new();
    if let Some(dir) = holidays_dir
        && dir.is_dir()
    {
        files.extend(folder(dir, "config/holidays", &["toml"], &none)?);
    }
    files.extend(folder(rules_dir, "rules", &["toml", "rhai"], draft)?);
    let magic = if holidays_dir.is_some() {
        MAGIC_V2
    } else {
        MAGIC
    };
    write(magic, files)
}

fn write(magic: &[u8], files: Vec<(String, Bytes<'_>)>) -> std::io::Result<Vec<u8>> {
    let mut out = magic.to_vec();
    for (name, source) in files {
        let bytes = match source {
            Bytes::File(path) => std::fs::read(&path)?,
            Bytes::Text(t) => t.as_bytes().to_vec(),
        };
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(bytes.len().to_string().as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&bytes);
        out.push(b'\n');
    }
    Ok(out)
}

/// The files a rule set is made of, read from disk, named as in an archive
/// (`config/suiji.toml`, `config/holidays/<name>.toml`, `rules/<name>.toml|rhai`) with their
/// bytes: what [`pack_v2`] packs. A missing holidays folder adds none.
pub fn read_set(
    config: &Path,
    holidays_dir: &Path,
    rules_dir: &Path,
) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let none = Draft::new();
    let mut files: Vec<(String, Bytes<'_>)> = vec![(
        "config/suiji.toml".into(),
        Bytes::File(config.to_path_buf()),
    )];
    if holidays_dir.is_dir() {
        files.extend(folder(holidays_dir, "config/holidays", &["toml"], &none)?);
    }
    files.extend(folder(rules_dir, "rules", &["toml", "rhai"], &none)?);
    files
        .into_iter()
        .map(|(name, source)| match source {
            Bytes::File(path) => Ok((name, std::fs::read(&path)?)),
            Bytes::Text(t) => Ok((name, t.as_bytes().to_vec())),
        })
        .collect()
}

/// Packs a rule set given as files named as in an archive ([`read_set`]): format
/// `suiji-rules/2` when `v2`, else `suiji-rules/1` (without the holiday files). The bytes are
/// those [`pack`] and [`pack_v2`] give for the same files on disk.
pub fn pack_set(files: &BTreeMap<String, Vec<u8>>, v2: bool) -> Vec<u8> {
    let mut out = if v2 { MAGIC_V2 } else { MAGIC }.to_vec();
    let config = files.get_key_value("config/suiji.toml");
    let holidays = files
        .iter()
        .filter(|(n, _)| v2 && n.starts_with("config/holidays/"));
    let rules = files.iter().filter(|(n, _)| n.starts_with("rules/"));
    // BTreeMap order is the byte order of the names, as `folder` sorts them.
    for (name, bytes) in config.into_iter().chain(holidays).chain(rules) {
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(bytes.len().to_string().as_bytes());
        out.push(b'\n');
        out.extend_from_slice(bytes);
        out.push(b'\n');
    }
    out
}

/// SHA-256 (hex) of a packed rule set: the `rules_hash` recorded with every draw.
pub fn hash(packed: &[u8]) -> String {
    crate::digest::sha256_hex(packed)
}

/// Unpacks into `dir` (creating `config/` and `rules/`); returns the config path.
pub fn unpack(packed: &[u8], dir: &Path) -> Result<PathBuf, String> {
    let mut rest = packed
        .strip_prefix(MAGIC)
        .or_else(|| packed.strip_prefix(MAGIC_V2))
        .ok_or("not a suiji rule archive (bad magic)")?;
    while !rest.is_empty() {
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated archive (name)")?;
        let name = std::str::from_utf8(&rest[..nl]).map_err(|_| "file name is not UTF-8")?;
        rest = &rest[nl + 1..];
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated archive (length)")?;
        let len: usize = std::str::from_utf8(&rest[..nl])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("bad length in archive")?;
        rest = &rest[nl + 1..];
        if rest.len() < len + 1 {
            return Err("truncated archive (content)".into());
        }
        let rel = Path::new(name);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(format!("unsafe path in archive: {name}"));
        }
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, &rest[..len]).map_err(|e| e.to_string())?;
        rest = &rest[len + 1..];
    }
    Ok(dir.join("config/suiji.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let src = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(src.path().join("rules")).expect("mkdir");
        std::fs::write(src.path().join("suiji.toml"), "a = 1\n").expect("w");
        std::fs::write(src.path().join("rules/x.toml"), "名 = \"值\"\n").expect("w");
        std::fs::write(src.path().join("rules/x.rhai"), "fn f(a, b) { true }").expect("w");
        let packed = pack(&src.path().join("suiji.toml"), &src.path().join("rules")).expect("pack");
        let out = tempfile::tempdir().expect("tmp");
        let cfg = unpack(&packed, out.path()).expect("unpack");
        assert_eq!(std::fs::read_to_string(cfg).expect("r"), "a = 1\n");
        assert_eq!(
            std::fs::read_to_string(out.path().join("rules/x.toml")).expect("r"),
            "名 = \"值\"\n"
        );
        let again = pack(
            &out.path().join("config/suiji.toml"),
            &out.path().join("rules"),
        )
        .expect("pack");
        assert_eq!(hash(&packed), hash(&again));
        assert!(unpack(b"nope", out.path()).is_err());
    }

    #[test]
    fn version_2_holds_the_holiday_files_and_they_change_the_hash() {
        let src = tempfile::tempdir().expect("tmp");
        let (rules, holidays) = (src.path().join("rules"), src.path().join("holidays"));
        std::fs::create_dir_all(&rules).expect("mkdir");
        std::fs::create_dir_all(&holidays).expect("mkdir");
        let config = src.path().join("suiji.toml");
        std::fs::write(&config, "a = 1\n").expect("w");
        std::fs::write(rules.join("x.toml"), "b = 2\n").expect("w");
        std::fs::write(holidays.join("2025.toml"), "year = 2025\n").expect("w");
        std::fs::write(holidays.join("notes.txt"), "not packed").expect("w");
        let packed = pack_v2(&config, &holidays, &rules).expect("pack");
        let want = "suiji-rules/2\nconfig/suiji.toml\n6\na = 1\n\n\
                    config/holidays/2025.toml\n12\nyear = 2025\n\n\
                    rules/x.toml\n6\nb = 2\n\n";
        assert_eq!(String::from_utf8_lossy(&packed), want);
        // Version 1 of the same files leaves the holidays out.
        let v1 = pack(&config, &rules).expect("pack");
        assert!(!String::from_utf8_lossy(&v1).contains("holidays"));
        std::fs::write(holidays.join("2025.toml"), "year = 2025 # 调休\n").expect("w");
        let edited = pack_v2(&config, &holidays, &rules).expect("pack");
        assert_ne!(hash(&packed), hash(&edited));
        let set = read_set(&config, &holidays, &rules).expect("read");
        assert_eq!(pack_set(&set, true), edited);
        assert_eq!(pack_set(&set, false), pack(&config, &rules).expect("pack"));
        let out = tempfile::tempdir().expect("tmp");
        unpack(&packed, out.path()).expect("unpack");
        assert_eq!(
            std::fs::read_to_string(out.path().join("config/holidays/2025.toml")).expect("r"),
            "year = 2025\n"
        );
    }
}
