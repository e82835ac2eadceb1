//! The backend: small operation traits that the prover is written against. The CPU backend
//! ([`crate::cpu::CpuBackend`]) is the reference; a GPU backend must produce the same bytes.

use p3_matrix::dense::RowMajorMatrix;
use sigil_air::{EF, F};
use sigil_verifier::merkle::MerkleTree;

/// Polynomial transforms over columns.
pub trait NttOps {
    /// Treats each column of `trace` (height `n`) as evaluations over the subgroup of order `n`
    /// and evaluates it over `shift * K`, `|K| = n << log_blowup`, in natural order.
    fn coset_lde(&self, trace: RowMajorMatrix<F>, log_blowup: usize, shift: F) -> RowMajorMatrix<F>;
    /// Coefficients (lowest first) of the columns of `evals`, given over `shift * H`.
    fn coset_interpolate(&self, evals: RowMajorMatrix<F>, shift: F) -> RowMajorMatrix<F>;
    /// Evaluations over `shift * H` of the columns of `coeffs` (`H` of the matrix's height).
    fn coset_evaluate(&self, coeffs: RowMajorMatrix<F>, shift: F) -> RowMajorMatrix<F>;
}

/// Merkle commitments.
pub trait MerkleOps {
    /// Commits to matrices of equal height `N`, leaves of `2^log_arity` rows: leaf
    /// `j < N / 2^log_arity` hashes, for `i = 0, 1, ..`, row `j + i * N / 2^log_arity` of every
    /// matrix in turn (the coset that FRI folds together).
    ///
    /// # Soundness
    /// The verifier recomputes leaves in exactly this layout; any other order breaks every
    /// opening.
    fn commit_cosets(&self, mats: &[&RowMajorMatrix<F>], log_arity: usize) -> MerkleTree;
    /// Commits to an extension-field codeword of size `N` folded by `2^log_arity` (FRI layers):
    /// leaf `j < N / 2^log_arity` holds `evals[j + i * N / 2^log_arity]` for every `i`.
    fn commit_ext_cosets(&self, evals: &[EF], log_arity: usize) -> MerkleTree;
}

/// FRI folding.
pub trait FriOps {
    /// Folds evaluations over `shift * H` (size `N`) into evaluations over `shift^2 * H^2`:
    /// `f'(x^2) = (f(x) + f(-x)) / 2 + beta (f(x) - f(-x)) / (2x)`.
    fn fold(&self, evals: &[EF], beta: EF, shift: F) -> Vec<EF>;
}


/// Everything the prover needs from a backend.
pub trait Backend: NttOps + MerkleOps + FriOps + Send + Sync {
    /// A name for reports.
    fn name(&self) -> &'static str;
}
