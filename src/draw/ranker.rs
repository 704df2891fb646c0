//! The keyed hash that ranks entities.
//!
//! ```text
//! enc(b)  = u32_be(len(b)) ‖ b
//! D       = SHA-256( enc("suiji-draw/1") ‖ enc(purpose) ‖ enc(seed) ‖ enc(matter) ‖ enc(period) ‖ enc(stratum) )
//! P       = D ‖ 32 zero bytes                      (exactly one 64-byte SHA-256 block)
//! key(id) = SHA-256( P ‖ utf8(id) )
//! ```
//!
//! Because P fills one block, its compression is done once per [`Ranker`] and every key costs
//! one further compression for ids of up to 55 bytes.

use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};

use super::{ALGORITHM_VERSION, Seed};

/// SHA-256's initial hash value (FIPS 180-4 §5.3.3).
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// What a ranking is for; part of the hashed parameters so that a target's key in the target
/// draw is unrelated to any key in a team draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Ranking targets (the stratum is the stratum label, "" when not stratified).
    Targets,
    /// Ranking inspectors for one target (the stratum is that target's id).
    Team,
    /// `suiji-draw/2`: the order in which drawn targets are staffed (the stratum is `""`).
    Staffing,
    /// `suiji-draw/2`: the steps of one target's walk through the inspector pool (the stratum
    /// is that target's id).
    Walk,
}

impl Purpose {
    /// The bytes hashed for this purpose.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Purpose::Targets => "targets",
            Purpose::Team => "team",
            Purpose::Staffing => "staffing",
            Purpose::Walk => "walk",
        }
    }
}

/// Hashes entity ids under one (version, seed, matter, period, stratum, purpose).
#[derive(Clone)]
pub struct Ranker {
    digest: [u8; 32],
    /// SHA-256's state after absorbing the 64-byte block P.
    mid: [u32; 8],
}

impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker")
            .field("params_digest", &hex::encode(self.digest))
            .finish_non_exhaustive()
    }
}

fn enc(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths above u32::MAX cannot be encoded; no id, matter or period comes near.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

impl Ranker {
    /// A ranker of `suiji-draw/1` (the version hashed into D).
    pub fn new(seed: &Seed, matter: &str, period: &str, stratum: &str, purpose: Purpose) -> Ranker {
        Ranker::versioned(ALGORITHM_VERSION, seed, matter, period, stratum, purpose)
    }

    /// A ranker of the algorithm `version` (e.g. `suiji-draw/2`), hashed first into D.
    pub fn versioned(
        version: &str,
        seed: &Seed,
        matter: &str,
        period: &str,
        stratum: &str,
        purpose: Purpose,
    ) -> Ranker {
        let mut params = Vec::with_capacity(128 + matter.len() + period.len() + stratum.len());
        enc(&mut params, version.as_bytes());
        enc(&mut params, purpose.tag().as_bytes());
        enc(&mut params, &seed.0);
        enc(&mut params, matter.as_bytes());
        enc(&mut params, period.as_bytes());
        enc(&mut params, stratum.as_bytes());
        let digest: [u8; 32] = Sha256::digest(&params).into();
        let mut mid = IV;
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&digest);
        sha2::compress256(&mut mid, &[GenericArray::from(block)]);
        Ranker { digest, mid }
    }

    /// D, the SHA-256 of the encoded parameters (the first half of P).
    pub fn params_digest(&self) -> [u8; 32] {
        self.digest
    }

    /// P, the 64-byte block every key hash starts with.
    pub(crate) fn prefix_block(&self) -> [u8; 64] {
        let mut p = [0u8; 64];
        p[..32].copy_from_slice(&self.digest);
        p
    }

    /// SHA-256(P ‖ utf8(entity_id)).
    #[inline]
    pub fn key(&self, entity_id: &str) -> [u8; 32] {
        self.key_of_bytes(entity_id.as_bytes())
    }

    /// The first 8 bytes of [`Ranker::key_of_bytes`], as a big-endian number.
    pub(crate) fn head_of_bytes(&self, id: &[u8]) -> u64 {
        if id.len() > 55 {
            return head(&self.key_of_bytes(id));
        }
        let state = self.compress_one(id);
        (u64::from(state[0]) << 32) | u64::from(state[1])
    }

    /// The state after the block holding `id` (at most 55 bytes) and SHA-256's padding.
    fn compress_one(&self, id: &[u8]) -> [u32; 8] {
        let mut block = [0u8; 64];
        block[..id.len()].copy_from_slice(id);
        block[id.len()] = 0x80;
        // Message length in bits: the 64-byte prefix block plus the id.
        let bits = (64 + id.len() as u64) * 8;
        block[56..].copy_from_slice(&bits.to_be_bytes());
        let mut state = self.mid;
        sha2::compress256(&mut state, &[GenericArray::from(block)]);
        state
    }

    /// SHA-256(P ‖ id) for the id's bytes. An id of up to 55 bytes is padded into one block and
    /// compressed directly from the midstate (the common case, and measurably faster than going
    /// through the buffered hasher); longer ids are hashed in full.
    pub(crate) fn key_of_bytes(&self, id: &[u8]) -> [u8; 32] {
        if id.len() > 55 {
            let mut h = Sha256::new();
            h.update(self.prefix_block());
            h.update(id);
            return h.finalize().into();
        }
        let state = self.compress_one(id);
        let mut key = [0u8; 32];
        for (out, word) in key.chunks_exact_mut(4).zip(state) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        key
    }

    /// U in (0, 1) from the key: the top 52 bits m of its first 8 bytes (big-endian),
    /// U = (m + 0.5) / 2^52. Exact in binary64, never 0 or 1.
    pub fn uniform(&self, entity_id: &str) -> f64 {
        uniform_from_key(&self.key(entity_id))
    }
}

/// U from a key (see [`Ranker::uniform`]).
pub fn uniform_from_key(key: &[u8; 32]) -> f64 {
    uniform_from_head(head(key))
}

/// A key's first 8 bytes as a big-endian number (its "head").
#[inline]
pub(crate) fn head(key: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key[..8]);
    u64::from_be_bytes(first)
}

/// U from the key's first 8 bytes as a big-endian number.
pub(crate) fn uniform_from_head(head: u64) -> f64 {
    let m = head >> 12;
    // m < 2^52, so m as f64 and m + 0.5 are exact; multiplying by 2^-52 is exact.
    (m as f64 + 0.5) * (1.0 / 4_503_599_627_370_496.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_bounds() {
        let lo = uniform_from_key(&[0u8; 32]);
        let hi = uniform_from_key(&[0xffu8; 32]);
        assert!(lo > 0.0 && lo == 2f64.powi(-53));
        assert!(hi < 1.0 && hi == 1.0 - 2f64.powi(-53));
    }

    #[test]
    fn midstate_equals_one_shot_hash() {
        let seed = Seed([7u8; 32]);
        let r = Ranker::new(&seed, "m", "p", "s", Purpose::Targets);
        for id in [
            "",
            "a",
            "旅馆-004",
            &"w".repeat(54),
            &"x".repeat(55),
            &"y".repeat(56),
            &"z".repeat(200),
        ] {
            let mut msg = r.prefix_block().to_vec();
            msg.extend_from_slice(id.as_bytes());
            let direct: [u8; 32] = Sha256::digest(&msg).into();
            assert_eq!(r.key(id), direct, "{id}");
            assert_eq!(
                r.head_of_bytes(id.as_bytes()).to_be_bytes(),
                direct[..8],
                "{id}"
            );
        }
    }

    #[test]
    fn parameters_are_separated() {
        let seed = Seed([1u8; 32]);
        let base = Ranker::new(&seed, "ab", "c", "", Purpose::Targets).key("x");
        assert_ne!(
            base,
            Ranker::new(&seed, "a", "bc", "", Purpose::Targets).key("x")
        );
        assert_ne!(
            base,
            Ranker::new(&seed, "ab", "c", "", Purpose::Team).key("x")
        );
        assert_ne!(
            base,
            Ranker::new(&Seed([2u8; 32]), "ab", "c", "", Purpose::Targets).key("x")
        );
        assert_ne!(
            base,
            Ranker::new(&seed, "ab", "c", "d", Purpose::Targets).key("x")
        );
    }
}
