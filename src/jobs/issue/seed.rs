//! Where a draw's seed comes from, recorded with the draw.

use std::path::PathBuf;

use crate::draw::Seed;

/// How the operator (or the config) chose the seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedChoice {
    /// The operating system's random source.
    Os,
    /// 64 hex digits, or any public text (witness digits, a lottery result, a beacon value),
    /// which is hashed: SHA-256 of the trimmed UTF-8 text.
    Given(String),
    /// A file holding such a text (e.g. a saved lottery result).
    File(PathBuf),
}

/// Resolves a seed choice to the seed and a description of its source.
pub fn resolve(choice: &SeedChoice) -> Result<(Seed, String), String> {
    match choice {
        SeedChoice::Os => {
            let mut bytes = [0u8; 32];
            use rand::TryRngCore;
            rand::rngs::OsRng
                .try_fill_bytes(&mut bytes)
                .map_err(|e| format!("the operating system's random source failed: {e}"))?;
            Ok((Seed(bytes), "os".into()))
        }
        SeedChoice::Given(text) => {
            let t = text.trim();
            if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
                let seed = Seed::from_hex(t).map_err(|e| e.to_string())?;
                Ok((seed, "supplied hex seed".into()))
            } else if t.is_empty() {
                Err("--seed is empty: give 64 hex digits or the public text (e.g. witness digits) to hash".into())
            } else {
                Ok((
                    Seed::from_text(t),
                    format!("SHA-256 of supplied text \"{t}\""),
                ))
            }
        }
        SeedChoice::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read seed file {}: {e}", path.display()))?;
            if text.trim().is_empty() {
                return Err(format!("seed file {} is empty", path.display()));
            }
            Ok((
                Seed::from_text(&text),
                format!("SHA-256 of file {} (\"{}\")", path.display(), text.trim()),
            ))
        }
    }
}
