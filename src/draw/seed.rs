//! The 256-bit draw seed.

use sha2::{Digest, Sha256};

/// The 256-bit seed of a draw. Published with the result so anyone can re-run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seed(pub [u8; 32]);

/// Why a text is not a seed in hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("a seed is 64 hexadecimal digits; this has {0} characters")]
    Length(usize),
    #[error("a seed is 64 hexadecimal digits; `{found}` at character {position} is not one")]
    NotHex { position: usize, found: char },
}

impl Seed {
    /// Parses 64 hex digits (either case); surrounding whitespace is ignored.
    pub fn from_hex(s: &str) -> Result<Seed, SeedError> {
        let s = s.trim();
        let chars = s.chars().count();
        if let Some((position, found)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_hexdigit())
        {
            return Err(SeedError::NotHex {
                position: position + 1,
                found,
            });
        }
        if chars != 64 {
            return Err(SeedError::Length(chars));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| SeedError::Length(chars))?;
        Ok(Seed(out))
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// For witness digits, a lottery result or a beacon value: SHA-256 of the exact UTF-8 text
    /// after trimming leading and trailing Unicode White_Space (as `str::trim`; the code points
    /// are listed in `docs/draw-algorithm.md`). Nothing else is normalised.
    pub fn from_text(s: &str) -> Seed {
        Seed(Sha256::digest(s.trim().as_bytes()).into())
    }
}

impl std::fmt::Display for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::str::FromStr for Seed {
    type Err = SeedError;
    fn from_str(s: &str) -> Result<Seed, SeedError> {
        Seed::from_hex(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let hex = "00ff".repeat(16);
        let seed = Seed::from_hex(&format!("  {}\n", hex.to_uppercase())).expect("valid");
        assert_eq!(seed.to_hex(), hex);
        assert_eq!(seed.to_string(), hex);
        assert_eq!(Seed::from_hex("abc"), Err(SeedError::Length(3)));
        assert_eq!(
            Seed::from_hex(&format!("{}g", "0".repeat(63))),
            Err(SeedError::NotHex {
                position: 64,
                found: 'g'
            })
        );
        assert_eq!(
            Seed::from_hex("随机"),
            Err(SeedError::NotHex {
                position: 1,
                found: '随'
            })
        );
    }

    #[test]
    fn from_text_trims_only_the_ends() {
        assert_eq!(Seed::from_text(" 1 2 3\n"), Seed::from_text("1 2 3"));
        assert_eq!(
            Seed::from_text("\u{3000}1 2 3\u{a0}"),
            Seed::from_text("1 2 3")
        );
        assert_ne!(Seed::from_text("1 2 3"), Seed::from_text("1  2 3"));
        // SHA-256("abc")
        assert_eq!(
            Seed::from_text("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
