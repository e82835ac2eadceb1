//! Blake3 over many equal-length messages at once: the Merkle trees hash millions of short,
//! independent messages (a row of a table, two digests), where the `blake3` crate compresses
//! one block at a time. Here each of the 16 state words is an array of [`LANES`] words, one per
//! message, so that the compiler turns every step of the compression into one vector
//! instruction (16 lanes of `u32` fill an AVX-512 register, or two AVX2 ones).
//!
//! The digests are Blake3's, bit for bit (keyed mode, one chunk: messages up to 1,024 bytes);
//! the tests compare them with the `blake3` crate on every length up to a chunk. Longer leaves
//! go through [`Hasher::hash_leaf`].

use sigil_air::F;
use sigil_air::field::f_to_u64;
use sigil_verifier::hash::{ActiveHasher, Blake3, Digest, Hasher, KEY_LEAF, KEY_NODE, KEY_TRANSCRIPT};

/// Messages hashed together.
pub const LANES: usize = 16;

// The Merkle trees built here must be the protocol's.
const _: () = assert!(ActiveHasher::ID == Blake3::ID);

type V = [u32; LANES];

const IV: [u32; 8] = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19];
const MSG_PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const ROOT: u32 = 8;
const KEYED_HASH: u32 = 16;
/// Bytes in a Blake3 chunk: the longest message hashed here.
const CHUNK_LEN: usize = 1024;
/// Field elements in a chunk.
pub const MAX_LEAF_WIDTH: usize = CHUNK_LEN / 8;

#[inline(always)]
fn add(a: V, b: V) -> V {
    core::array::from_fn(|i| a[i].wrapping_add(b[i]))
}

#[inline(always)]
fn xor_rot(a: V, b: V, r: u32) -> V {
    core::array::from_fn(|i| (a[i] ^ b[i]).rotate_right(r))
}

#[inline(always)]
fn g(s: &mut [V; 16], a: usize, b: usize, c: usize, d: usize, mx: V, my: V) {
    s[a] = add(add(s[a], s[b]), mx);
    s[d] = xor_rot(s[d], s[a], 16);
    s[c] = add(s[c], s[d]);
    s[b] = xor_rot(s[b], s[c], 12);
    s[a] = add(add(s[a], s[b]), my);
    s[d] = xor_rot(s[d], s[a], 8);
    s[c] = add(s[c], s[d]);
    s[b] = xor_rot(s[b], s[c], 7);
}

/// One compression of every lane: `cv` becomes the chaining value (the first 8 output words).
/// The block counter is 0 (every message is one chunk).
#[inline(always)]
fn compress(cv: &mut [V; 8], block: &[V; 16], block_len: u32, flags: u32) {
    let mut s: [V; 16] = [
        cv[0],
        cv[1],
        cv[2],
        cv[3],
        cv[4],
        cv[5],
        cv[6],
        cv[7],
        [IV[0]; LANES],
        [IV[1]; LANES],
        [IV[2]; LANES],
        [IV[3]; LANES],
        [0; LANES],
        [0; LANES],
        [block_len; LANES],
        [flags; LANES],
    ];
    let mut m = *block;
    for round in 0..7 {
        g(&mut s, 0, 4, 8, 12, m[0], m[1]);
        g(&mut s, 1, 5, 9, 13, m[2], m[3]);
        g(&mut s, 2, 6, 10, 14, m[4], m[5]);
        g(&mut s, 3, 7, 11, 15, m[6], m[7]);
        g(&mut s, 0, 5, 10, 15, m[8], m[9]);
        g(&mut s, 1, 6, 11, 12, m[10], m[11]);
        g(&mut s, 2, 7, 8, 13, m[12], m[13]);
        g(&mut s, 3, 4, 9, 14, m[14], m[15]);
        if round < 6 {
            m = core::array::from_fn(|i| m[MSG_PERMUTATION[i]]);
        }
    }
    for i in 0..8 {
        cv[i] = core::array::from_fn(|l| s[i][l] ^ s[i + 8][l]);
    }
}

fn key_words(key: &[u8; 32]) -> [V; 8] {
    core::array::from_fn(|i| [u32::from_le_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]); LANES])
}

/// Keyed Blake3 of [`LANES`] messages of `len <= 1024` bytes each, given as little-endian
/// words: `words[w][l]` is word `w` of message `l`, zero past `len` (`words` holds
/// `max(1, ceil(len / 64)) * 16` words).
fn keyed_hash_lanes(key: &[u8; 32], len: usize, words: &[V]) -> [Digest; LANES] {
    debug_assert!(len <= CHUNK_LEN);
    let n_blocks = len.div_ceil(64).max(1);
    let mut cv = key_words(key);
    for b in 0..n_blocks {
        let block: &[V; 16] = words[16 * b..16 * b + 16].try_into().expect("16 words");
        let mut flags = KEYED_HASH;
        if b == 0 {
            flags |= CHUNK_START;
        }
        let block_len = if b + 1 == n_blocks {
            flags |= CHUNK_END | ROOT;
            (len - 64 * b) as u32
        } else {
            64
        };
        compress(&mut cv, block, block_len, flags);
    }
    core::array::from_fn(|l| {
        let mut d = [0u8; 32];
        for (i, c) in d.chunks_exact_mut(4).enumerate() {
            c.copy_from_slice(&cv[i][l].to_le_bytes());
        }
        d
    })
}

/// Writes [`Hasher::hash_leaf`] of `out.len() <= LANES` leaves of `width` elements into `out`:
/// `fill(i, row)` writes leaf `i`'s elements into `row`.
pub fn hash_leaves(width: usize, out: &mut [Digest], mut fill: impl FnMut(usize, &mut [F])) {
    debug_assert!(out.len() <= LANES);
    let mut row = vec![F::default(); width];
    if width > MAX_LEAF_WIDTH {
        for (i, o) in out.iter_mut().enumerate() {
            fill(i, &mut row);
            *o = ActiveHasher::hash_leaf(&row);
        }
        return;
    }
    let n_blocks = (8 * width).div_ceil(64).max(1);
    let mut words = vec![[0u32; LANES]; 16 * n_blocks];
    for l in 0..out.len() {
        fill(l, &mut row);
        for (k, v) in row.iter().enumerate() {
            let x = f_to_u64(*v);
            words[2 * k][l] = x as u32;
            words[2 * k + 1][l] = (x >> 32) as u32;
        }
    }
    let d = keyed_hash_lanes(&KEY_LEAF, 8 * width, &words);
    out.copy_from_slice(&d[..out.len()]);
}

/// Writes [`Hasher::hash_node`] of `out.len() <= LANES` pairs into `out`: pair `i` is
/// `pair(i)`.
pub fn hash_nodes<'a>(out: &mut [Digest], pair: impl Fn(usize) -> (&'a Digest, &'a Digest)) {
    debug_assert!(out.len() <= LANES);
    let mut words = [[0u32; LANES]; 16];
    for l in 0..out.len() {
        let (a, b) = pair(l);
        for (w, c) in a.chunks_exact(4).chain(b.chunks_exact(4)).enumerate() {
            words[w][l] = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
    }
    let d = keyed_hash_lanes(&KEY_NODE, 64, &words);
    out.copy_from_slice(&d[..out.len()]);
}

/// The proof-of-work digests (in the transcript's domain) of `prefix` followed by each of
/// [`LANES`] nonces, `first..first + LANES`.
pub fn pow_digests(prefix: &[u8; 35], first: u64) -> [Digest; LANES] {
    let mut words = [[0u32; LANES]; 16];
    let mut msg = [0u8; 64];
    msg[..35].copy_from_slice(prefix);
    for l in 0..LANES {
        msg[35..43].copy_from_slice(&(first + l as u64).to_le_bytes());
        for (w, c) in msg.chunks_exact(4).enumerate() {
            words[w][l] = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
    }
    keyed_hash_lanes(&KEY_TRANSCRIPT, 43, &words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p3_field::PrimeCharacteristicRing;
    use sigil_air::chips::SplitMix64;

    fn field_elems(rng: &mut SplitMix64, n: usize) -> Vec<F> {
        // Edge values beside random ones: 0, p - 1, 2^32 - 1, 2^32.
        let edges = [0u64, 0xFFFF_FFFF_0000_0000, 0xFFFF_FFFF, 1 << 32];
        (0..n).map(|i| F::from_u64(if i % 5 == 0 { edges[i / 5 % 4] } else { rng.next_u64() })).collect()
    }

    #[test]
    fn leaves_equal_the_blake3_crate() {
        let mut rng = SplitMix64(7);
        for width in (0..=MAX_LEAF_WIDTH + 3).chain([300]) {
            for count in [1, 5, LANES] {
                let rows: Vec<Vec<F>> = (0..count).map(|_| field_elems(&mut rng, width)).collect();
                let mut out = vec![[0u8; 32]; count];
                hash_leaves(width, &mut out, |i, r| r.copy_from_slice(&rows[i]));
                for (i, row) in rows.iter().enumerate() {
                    assert_eq!(out[i], ActiveHasher::hash_leaf(row), "width {width}, lane {i} of {count}");
                }
            }
        }
    }

    #[test]
    fn pow_digests_equal_the_transcripts() {
        let mut tr = sigil_verifier::transcript::Transcript::new(b"lanes test");
        tr.absorb(b"x", b"some bytes");
        let first = 1u64 << 40;
        let d = pow_digests(&tr.pow_prefix(), first);
        for (l, d) in d.iter().enumerate() {
            for bits in 0..12 {
                assert_eq!(sigil_verifier::transcript::Transcript::pow_digest_ok(d, bits), tr.check_pow(bits, first + l as u64), "lane {l}, {bits} bits");
            }
        }
    }

    #[test]
    fn nodes_equal_the_blake3_crate() {
        let mut rng = SplitMix64(9);
        let digests: Vec<Digest> = (0..2 * LANES).map(|_| core::array::from_fn(|_| rng.next_u64() as u8)).collect();
        for count in [1, 3, LANES] {
            let mut out = vec![[0u8; 32]; count];
            hash_nodes(&mut out, |i| (&digests[2 * i], &digests[2 * i + 1]));
            for i in 0..count {
                assert_eq!(out[i], ActiveHasher::hash_node(&digests[2 * i], &digests[2 * i + 1]), "lane {i} of {count}");
            }
        }
    }
}
