//! SHA-256 as lowercase hex: the one way suiji names bytes (registry files and snapshots, rule
//! sets, manifests, published files).

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes` in lowercase hex (64 characters).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digest() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
