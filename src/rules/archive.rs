//! The rule set as one archived blob (config + rule files + scripts), so a draw can be re-run
//! years later with exactly the rules it was made under.
//!
//! Format (`suiji-rules/1`): the magic line `suiji-rules/1\n`, then for each file in path order:
//! the relative path (UTF-8, `/`-separated), `\n`, the byte length in decimal, `\n`, the bytes, `\n`.

use std::path::{Component, Path, PathBuf};

const MAGIC: &[u8] = b"suiji-rules/1\n";

/// Packs `config/suiji.toml` (as `config/suiji.toml`) and every `*.toml` / `*.rhai` in the rules
/// folder (as `rules/<name>`).
pub fn pack(config: &Path, rules_dir: &Path) -> std::io::Result<Vec<u8>> {
    let mut files: Vec<(String, PathBuf)> =
        vec![("config/suiji.toml".into(), config.to_path_buf())];
    let mut rules: Vec<PathBuf> = std::fs::read_dir(rules_dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml" || x == "rhai"))
        .collect();
    rules.sort();
    for r in rules {
        if let Some(name) = r.file_name().and_then(|n| n.to_str()) {
            files.push((format!("rules/{name}"), r.clone()));
        }
    }
    let mut out = MAGIC.to_vec();
    for (name, path) in files {
        let bytes = std::fs::read(&path)?;
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(bytes.len().to_string().as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&bytes);
        out.push(b'\n');
    }
    Ok(out)
}

/// SHA-256 (hex) of a packed rule set: the `rules_hash` recorded with every draw.
pub fn hash(packed: &[u8]) -> String {
    crate::digest::sha256_hex(packed)
}

/// Unpacks into `dir` (creating `config/` and `rules/`); returns the config path.
pub fn unpack(packed: &[u8], dir: &Path) -> Result<PathBuf, String> {
    let mut rest = packed
        .strip_prefix(MAGIC)
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
}
