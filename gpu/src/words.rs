//! Field elements, extension elements, keys and digests as the kernels' `u32` words: an
//! element is its canonical value's (low, high) words, a digest or key eight little-endian
//! words.

use p3_field::PrimeField64;
use p3_maybe_rayon::prelude::*;
use sigil_air::field::{ef_from_base, ef_to_base};
use sigil_air::{EF, F};
use sigil_verifier::hash::Digest;

pub(crate) fn f_words(x: F) -> [u32; 2] {
    let v = x.as_canonical_u64();
    [v as u32, (v >> 32) as u32]
}

pub(crate) fn from_words(w: &[u32]) -> F {
    F::new(w[0] as u64 | (w[1] as u64) << 32)
}

pub(crate) fn ef_words(x: EF) -> [u32; 4] {
    let [a, b] = ef_to_base(x);
    let (a, b) = (f_words(a), f_words(b));
    [a[0], a[1], b[0], b[1]]
}

pub(crate) fn ef_of(w: &[u32]) -> EF {
    ef_from_base([from_words(&w[0..2]), from_words(&w[2..4])])
}

/// The words of `values`, in parallel.
pub(crate) fn words_of(values: &[F]) -> Vec<u32> {
    let mut out = vec![0u32; 2 * values.len()];
    out.par_chunks_mut(2).zip(values.par_iter()).for_each(|(o, &x)| o.copy_from_slice(&f_words(x)));
    out
}

/// The words of `values`, in parallel.
pub(crate) fn ef_words_of(values: &[EF]) -> Vec<u32> {
    let mut out = vec![0u32; 4 * values.len()];
    out.par_chunks_mut(4).zip(values.par_iter()).for_each(|(o, &x)| o.copy_from_slice(&ef_words(x)));
    out
}

pub(crate) fn key_words(key: &[u8; 32]) -> [u32; 8] {
    core::array::from_fn(|i| u32::from_le_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]))
}

pub(crate) fn digest_of(w: &[u32]) -> Digest {
    let mut d = [0u8; 32];
    for (i, x) in w.iter().enumerate().take(8) {
        d[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
    }
    d
}
