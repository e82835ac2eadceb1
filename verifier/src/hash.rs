//! The hash behind Merkle trees, the transcript and circuit ids, kept behind one trait so that
//! it can change. See `docs/hash.md` for why Blake3.
//!
//! Every use has its own domain: Blake3 in keyed mode with one fixed key per domain, so a Merkle
//! leaf of eight elements (64 bytes) never hashes like an inner node (two 32-byte digests), and
//! no transcript state can be a circuit id. Keyed mode costs nothing: the key replaces the IV.

use sigil_air::F;
use sigil_air::field::f_to_u64;

/// A 32-byte digest.
pub type Digest = [u8; 32];

/// What a hash is computed for. Each domain hashes with its own key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// The Fiat–Shamir transcript: absorbing, squeezing, proof of work.
    Transcript,
    /// Circuit descriptions and circuit ids.
    Circuit,
}

/// The operations the protocol needs from a hash function.
pub trait Hasher {
    /// Identifier written in the proof header.
    const ID: u8;
    /// Hashes a Merkle leaf: the canonical little-endian bytes of its field elements.
    fn hash_leaf(values: &[F]) -> Digest;
    /// Hashes two children into their parent.
    fn hash_node(left: &Digest, right: &Digest) -> Digest;
    /// Hashes the concatenation of `parts` in `domain`. The caller makes the concatenation
    /// unambiguous (fixed widths or length prefixes).
    fn hash_bytes(domain: Domain, parts: &[&[u8]]) -> Digest;
}

/// Blake3, the hash Sigil uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct Blake3;

/// A domain's key: its name, zero-padded to 32 bytes. Evaluated at compile time only (an
/// index out of bounds would fail the build), hence the indexing.
#[allow(clippy::indexing_slicing)]
const fn key(name: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 32];
    let mut i = 0;
    while i < name.len() && i < 32 {
        k[i] = name[i];
        i += 1;
    }
    k
}

/// The Blake3 keys of the four domains.
pub const KEY_LEAF: [u8; 32] = key(b"sigil/v2/merkle-leaf");
pub const KEY_NODE: [u8; 32] = key(b"sigil/v2/merkle-node");
pub const KEY_TRANSCRIPT: [u8; 32] = key(b"sigil/v2/transcript");
pub const KEY_CIRCUIT: [u8; 32] = key(b"sigil/v2/circuit");

impl Hasher for Blake3 {
    const ID: u8 = 1;

    #[inline]
    fn hash_leaf(values: &[F]) -> Digest {
        // Stream through a small stack buffer: leaves are a few to a few hundred elements.
        let mut buf = [0u8; 512];
        if values.len() <= 64 {
            // One row of a table, mostly: the one-shot hash, without a streaming hasher.
            for (dst, v) in buf.chunks_exact_mut(8).zip(values) {
                dst.copy_from_slice(&f_to_u64(*v).to_le_bytes());
            }
            return *blake3::keyed_hash(&KEY_LEAF, buf.get(..values.len() * 8).unwrap_or_default()).as_bytes();
        }
        let mut h = blake3::Hasher::new_keyed(&KEY_LEAF);
        for chunk in values.chunks(64) {
            for (dst, v) in buf.chunks_exact_mut(8).zip(chunk) {
                dst.copy_from_slice(&f_to_u64(*v).to_le_bytes());
            }
            h.update(buf.get(..chunk.len() * 8).unwrap_or_default());
        }
        *h.finalize().as_bytes()
    }

    #[inline]
    fn hash_node(left: &Digest, right: &Digest) -> Digest {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(left);
        buf[32..].copy_from_slice(right);
        *blake3::keyed_hash(&KEY_NODE, &buf).as_bytes()
    }

    fn hash_bytes(domain: Domain, parts: &[&[u8]]) -> Digest {
        let key = match domain {
            Domain::Transcript => &KEY_TRANSCRIPT,
            Domain::Circuit => &KEY_CIRCUIT,
        };
        let mut h = blake3::Hasher::new_keyed(key);
        for p in parts {
            h.update(p);
        }
        *h.finalize().as_bytes()
    }
}

/// The hash the protocol is instantiated with.
pub type ActiveHasher = Blake3;

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use p3_field::PrimeCharacteristicRing;

    #[test]
    fn domains_are_separated() {
        // Eight elements are 64 bytes, the size of a node's input: the same bytes hash
        // differently as a leaf and as a node.
        let values: [F; 8] = core::array::from_fn(|i| F::from_u64(i as u64 + 1));
        let mut bytes = [0u8; 64];
        for (d, v) in bytes.chunks_exact_mut(8).zip(&values) {
            d.copy_from_slice(&f_to_u64(*v).to_le_bytes());
        }
        let mut l = [0u8; 32];
        let mut r = [0u8; 32];
        l.copy_from_slice(&bytes[..32]);
        r.copy_from_slice(&bytes[32..]);
        let leaf = Blake3::hash_leaf(&values);
        let node = Blake3::hash_node(&l, &r);
        let tr = Blake3::hash_bytes(Domain::Transcript, &[&bytes]);
        let id = Blake3::hash_bytes(Domain::Circuit, &[&bytes]);
        let plain = *blake3::hash(&bytes).as_bytes();
        let all = [leaf, node, tr, id, plain];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j], "domains {i} and {j} collide");
            }
        }
    }
}
