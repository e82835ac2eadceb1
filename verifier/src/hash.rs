//! The hash behind Merkle trees and the transcript, kept behind one trait so that it can change.
//! See `docs/hash.md` for why Blake3.

use sigil_air::F;
use sigil_air::field::f_to_u64;

/// A 32-byte digest.
pub type Digest = [u8; 32];

/// The operations the protocol needs from a hash function.
pub trait Hasher {
    /// Identifier written in the proof header.
    const ID: u8;
    /// Hashes a Merkle leaf: the canonical little-endian bytes of its field elements.
    fn hash_leaf(values: &[F]) -> Digest;
    /// Hashes two children into their parent.
    fn hash_node(left: &Digest, right: &Digest) -> Digest;
    /// Hashes arbitrary bytes (the transcript).
    fn hash_bytes(parts: &[&[u8]]) -> Digest;
}

/// Blake3, the hash Sigil uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct Blake3;

impl Hasher for Blake3 {
    const ID: u8 = 1;

    #[inline]
    fn hash_leaf(values: &[F]) -> Digest {
        let mut h = blake3::Hasher::new();
        // Stream through a small stack buffer: leaves are a few to a few hundred elements.
        let mut buf = [0u8; 512];
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
        *blake3::hash(&buf).as_bytes()
    }

    fn hash_bytes(parts: &[&[u8]]) -> Digest {
        let mut h = blake3::Hasher::new();
        for p in parts {
            h.update(p);
        }
        *h.finalize().as_bytes()
    }
}

/// The hash the protocol is instantiated with.
pub type ActiveHasher = Blake3;
