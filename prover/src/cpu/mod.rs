//! The CPU backend: p3-dft for transforms (the small-batch radix-2 DFT, which parallelizes
//! within columns: ~40% faster than the row-parallel one on our 3 to 8 column traces), Blake3 Merkle trees, all parallel with rayon when
//! the `parallel` feature is on.

use p3_dft::{Radix2DFTSmallBatch, TwoAdicSubgroupDft};
use p3_field::{Field, PrimeCharacteristicRing, batch_multiplicative_inverse};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use p3_maybe_rayon::prelude::*;
use sigil_air::field::ef_to_base;
use sigil_air::{EF, F};
use sigil_verifier::hash::Digest;
use sigil_verifier::merkle::{MerkleTree, MixedTree, mixed_tree_base};
use sigil_verifier::protocol::omega;

use crate::backend::{Backend, FriOps, Lde, MerkleOps, NttOps};

mod deep;
pub mod lanes;
mod quotient;

use lanes::LANES;

/// The reference backend.
#[derive(Clone, Debug, Default)]
pub struct CpuBackend {
    dft: Radix2DFTSmallBatch<F>,
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn concurrent_tables(&self) -> bool {
        true
    }
}

impl NttOps for CpuBackend {
    fn coset_lde(&self, trace: RowMajorMatrix<F>, log_blowup: usize, shift: F) -> Lde {
        Lde::host(self.dft.coset_lde_batch(trace, log_blowup, shift))
    }
    fn coset_interpolate(&self, evals: RowMajorMatrix<F>, shift: F) -> RowMajorMatrix<F> {
        self.dft.coset_idft_batch(evals, shift)
    }
    fn coset_evaluate(&self, coeffs: RowMajorMatrix<F>, shift: F) -> Lde {
        Lde::host(self.dft.coset_dft_batch(coeffs, shift))
    }
}

/// Builds the inner nodes of a heap-ordered tree over `leaves` in parallel, layer by layer.
fn tree_from_leaves(leaves: Vec<Digest>) -> MerkleTree {
    let n = leaves.len();
    let mut nodes = vec![[0u8; 32]; n];
    nodes.extend(leaves);
    let mut width = n / 2;
    while width >= 1 {
        let (upper, lower) = nodes.split_at_mut(2 * width);
        let parents = &mut upper[width..];
        let children = &lower[..2 * width];
        parents.par_chunks_mut(LANES).enumerate().for_each(|(c, out)| {
            let base = c * LANES;
            lanes::hash_nodes(out, |i| (&children[2 * (base + i)], &children[2 * (base + i) + 1]));
        });
        width /= 2;
    }
    MerkleTree { nodes }
}

impl MerkleOps for CpuBackend {
    fn commit_ext_cosets(&self, evals: &[EF], log_arity: usize) -> MerkleTree {
        let m = evals.len() >> log_arity;
        let a = 1usize << log_arity;
        let mut leaves = vec![[0u8; 32]; m];
        leaves.par_chunks_mut(LANES).enumerate().for_each(|(c, out)| {
            lanes::hash_leaves(2 * a, out, |l, row| {
                let j = c * LANES + l;
                for i in 0..a {
                    row[2 * i..2 * i + 2].copy_from_slice(&ef_to_base(evals[j + i * m]));
                }
            });
        });
        tree_from_leaves(leaves)
    }

    fn commit_mixed(&self, levels: &[(usize, Vec<&Lde>)], depth: usize, cap_log: usize) -> MixedTree {
        let top: &[&Lde] = levels.first().map_or(&[], |(_, m)| m.as_slice());
        let base = mixed_tree_base(depth, cap_log);
        // Levels 0 to `base` for LANES nodes of level `base` at a time, in a scratch of
        // 2^base x LANES digests: node `n + k W` of level `s` (W = 2^(depth - base), k below
        // 2^(base - s)) pairs nodes `n + k W` and `n + (k + 2^(base - s)) W` of level `s - 1`,
        // as the levels below would, without storing them.
        let wb = 1usize << (depth - base);
        let mut cur = vec![[0u8; 32]; wb];
        cur.par_chunks_mut(LANES).enumerate().for_each(|(c, out)| {
            let (a, len) = (c * LANES, out.len());
            let mut prev = vec![[0u8; 32]; len << base];
            for (k, group) in prev.chunks_mut(len).enumerate() {
                hash_rows_into(top, group, a + k * wb);
            }
            for s in 1..=base {
                let groups = 1usize << (base - s);
                let mut next = vec![[0u8; 32]; groups * len];
                for (k, group) in next.chunks_mut(len).enumerate() {
                    lanes::hash_nodes(group, |i| (&prev[k * len + i], &prev[(k + groups) * len + i]));
                }
                if let Some((_, mats)) = levels.iter().find(|(l, _)| *l == s) {
                    let mut rows = [[0u8; 32]; LANES];
                    for (k, group) in next.chunks_mut(len).enumerate() {
                        hash_rows_into(mats, &mut rows[..len], a + k * wb);
                        let pairs: [Digest; LANES] = std::array::from_fn(|i| if i < len { group[i] } else { [0u8; 32] });
                        lanes::hash_nodes(group, |i| (&pairs[i], &rows[i]));
                    }
                }
                prev = next;
            }
            out.copy_from_slice(&prev[..len]);
        });
        let mut out = Vec::with_capacity(depth - cap_log + 1 - base);
        for s in base + 1..=depth - cap_log {
            let w = 1usize << (depth - s);
            let prev = &cur;
            let mut next = vec![[0u8; 32]; w];
            next.par_chunks_mut(LANES).enumerate().for_each(|(c, out)| {
                let base = c * LANES;
                lanes::hash_nodes(out, |i| (&prev[base + i], &prev[base + i + w]));
            });
            if let Some((_, mats)) = levels.iter().find(|(l, _)| *l == s) {
                let mut rows = vec![[0u8; 32]; w];
                rows.par_chunks_mut(LANES).enumerate().for_each(|(c, out)| hash_rows_into(mats, out, c * LANES));
                let pairs = next;
                next = vec![[0u8; 32]; w];
                next.par_chunks_mut(LANES).enumerate().for_each(|(c, out)| {
                    let base = c * LANES;
                    lanes::hash_nodes(out, |i| (&pairs[base + i], &rows[base + i]));
                });
            }
            out.push(std::mem::replace(&mut cur, next));
        }
        out.push(cur);
        MixedTree { levels: out, base }
    }
}

/// The leaf hashes of rows `first..first + out.len()` (at most [`LANES`]) of `mats` side by
/// side (row `j` of each, in order), into `out`.
fn hash_rows_into(mats: &[&Lde], out: &mut [Digest], first: usize) {
    let width = mats.iter().map(|m| m.width()).sum();
    lanes::hash_leaves(width, out, |l, row| {
        let j = first + l;
        let mut at = 0;
        for m in mats {
            let w = m.width();
            row[at..at + w].copy_from_slice(&m.values[j * w..(j + 1) * w]);
            at += w;
        }
    });
}

impl FriOps for CpuBackend {
    fn fold(&self, evals: &[EF], beta: EF, shift: F) -> Vec<EF> {
        let n = evals.len();
        let half = n / 2;
        let log_n = n.trailing_zeros() as usize;
        let w = omega(log_n);
        // 1 / (2x) for x = shift * w^j, j < N/2.
        let xs: Vec<F> = {
            let mut v = Vec::with_capacity(half);
            let mut x = shift.double();
            for _ in 0..half {
                v.push(x);
                x *= w;
            }
            v
        };
        let inv = batch_multiplicative_inverse(&xs);
        let two_inv = F::TWO.inverse();
        (0..half)
            .into_par_iter()
            .map(|j| {
                let a = evals[j];
                let b = evals[j + half];
                (a + b) * two_inv + beta * (a - b) * inv[j]
            })
            .collect()
    }
}
