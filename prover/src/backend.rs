//! The backend: small operation traits that the prover is written against. The CPU backend
//! ([`crate::cpu::CpuBackend`]) is the reference; a GPU backend must produce the same bytes.

use std::any::Any;
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::{DenseMatrix, DenseStorage, RowMajorMatrix};
use sigil_air::{Chip, EF, F, LookupChallenges};
use sigil_verifier::merkle::{MerkleTree, MixedTree};

use crate::mapped::MappedElements;

/// Evaluations over an LDE domain as the prover holds them: the values on the host, and the
/// backend's own copy where it keeps one (a GPU's buffers), so that committing to them and the
/// DEEP composition read them where they already are instead of uploading them again. A
/// backend ignores a copy that is not its own (another backend's, another device's).
#[derive(Clone)]
pub struct Lde {
    pub matrix: LdeMatrix,
    pub resident: Option<Arc<dyn Any + Send + Sync>>,
}

/// An LDE's values on the host: row-major, in memory or read in place from a mapped file.
pub type LdeMatrix = DenseMatrix<F, LdeValues>;

/// Where an LDE's host values are: computed into memory, or read in place from a cached
/// proving key's file ([`crate::mapped`]). Either reads as one slice.
#[derive(Clone, Debug)]
pub enum LdeValues {
    Owned(Vec<F>),
    Mapped(MappedElements),
}

impl Deref for LdeValues {
    type Target = [F];
    fn deref(&self) -> &[F] {
        match self {
            Self::Owned(v) => v,
            Self::Mapped(m) => m,
        }
    }
}

impl Borrow<[F]> for LdeValues {
    fn borrow(&self) -> &[F] {
        self
    }
}

impl DenseStorage<F> for LdeValues {
    fn to_vec(self) -> Vec<F> {
        match self {
            Self::Owned(v) => v,
            Self::Mapped(m) => m.to_vec(),
        }
    }
}

/// Equal values, wherever they are.
impl PartialEq for LdeValues {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Lde {
    /// Values on the host alone.
    pub fn host(matrix: RowMajorMatrix<F>) -> Self {
        Self { matrix: DenseMatrix::new(LdeValues::Owned(matrix.values), matrix.width), resident: None }
    }

    /// Values read in place from a mapped file, `width` per row.
    pub fn mapped(values: MappedElements, width: usize) -> Self {
        Self { matrix: DenseMatrix::new(LdeValues::Mapped(values), width), resident: None }
    }

    /// The values as an owned row-major matrix (a copy when they are mapped).
    pub fn into_matrix(self) -> RowMajorMatrix<F> {
        let width = self.matrix.width;
        RowMajorMatrix::new(self.matrix.values.to_vec(), width)
    }
}

impl Deref for Lde {
    type Target = LdeMatrix;
    fn deref(&self) -> &LdeMatrix {
        &self.matrix
    }
}

/// Equal values: the device copy holds the same ones.
impl PartialEq for Lde {
    fn eq(&self, other: &Self) -> bool {
        self.matrix == other.matrix
    }
}

impl fmt::Debug for Lde {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mapped = matches!(self.matrix.values, LdeValues::Mapped(_));
        f.debug_struct("Lde").field("width", &self.matrix.width).field("len", &self.matrix.values.len()).field("mapped", &mapped).field("resident", &self.resident.is_some()).finish()
    }
}

/// Polynomial transforms over columns.
pub trait NttOps {
    /// Treats each column of `trace` (height `n`) as evaluations over the subgroup of order `n`
    /// and evaluates it over `shift * K`, `|K| = n << log_blowup`, in natural order.
    fn coset_lde(&self, trace: RowMajorMatrix<F>, log_blowup: usize, shift: F) -> Lde;
    /// Coefficients (lowest first) of the columns of `evals`, given over `shift * H`.
    fn coset_interpolate(&self, evals: RowMajorMatrix<F>, shift: F) -> RowMajorMatrix<F>;
    /// Evaluations over `shift * H` of the columns of `coeffs` (`H` of the matrix's height).
    fn coset_evaluate(&self, coeffs: RowMajorMatrix<F>, shift: F) -> Lde;
}

/// Merkle commitments.
pub trait MerkleOps {
    /// Commits to an extension-field codeword of size `N` folded by `2^log_arity` (FRI layers):
    /// leaf `j < N / 2^log_arity` holds `evals[j + i * N / 2^log_arity]` for every `i`.
    fn commit_ext_cosets(&self, evals: &[EF], log_arity: usize) -> MerkleTree;
    /// Commits to matrices of several heights in one tree ([`sigil_verifier::merkle::MixedTree`]):
    /// `levels` lists, tallest first, the level each group of matrices enters at (level `s`
    /// has `2^(depth - s)` rows) and the group; the tree stops at the cap level `depth -
    /// cap_log`.
    ///
    /// # Soundness
    /// The verifier recomputes nodes in exactly this layout (`verify_mixed_path`); any other
    /// order breaks every opening.
    fn commit_mixed(&self, levels: &[(usize, Vec<&Lde>)], depth: usize, cap_log: usize) -> MixedTree;
}

/// FRI folding.
pub trait FriOps {
    /// Folds evaluations over `shift * H` (size `N`) into evaluations over `shift^2 * H^2`:
    /// `f'(x^2) = (f(x) + f(-x)) / 2 + beta (f(x) - f(-x)) / (2x)`.
    fn fold(&self, evals: &[EF], beta: EF, shift: F) -> Vec<EF>;

    /// `rounds` folds in a row, `beta` and `shift` squared after each (a FRI layer of arity
    /// `2^rounds`). A backend may keep the intermediate codewords where it computes them.
    fn fold_rounds(&self, evals: &[EF], beta: EF, shift: F, rounds: usize) -> Vec<EF> {
        if rounds == 0 {
            return evals.to_vec();
        }
        let mut f = self.fold(evals, beta, shift);
        let (mut beta, mut shift) = (beta, shift);
        for _ in 1..rounds {
            beta = beta.square();
            shift = shift.square();
            f = self.fold(&f, beta, shift);
        }
        f
    }
}

/// What one table's quotient is computed from.
#[derive(Clone, Copy, Debug)]
pub struct QuotientInputs<'a> {
    /// log2 of the table's height `n`.
    pub log_n: usize,
    /// log2 of the number of quotient chunks `Q`.
    pub log_quotient_degree: usize,
    pub log_blowup: usize,
    /// The LDEs over `shift * H_{nB}`: main columns, preprocessed and LogUp columns (two base
    /// columns per extension column) if the table has them.
    /// (The backend's own LDEs: a GPU backend reads its device copies.)
    pub main_lde: &'a Lde,
    pub prep_lde: Option<&'a Lde>,
    pub perm_lde: Option<&'a Lde>,
    pub publics: &'a [F],
    pub alpha: EF,
    pub lookup: LookupChallenges,
    /// The circuit's challenges, and the table's number of auxiliary columns (the last ones
    /// of `perm_lde`, two base columns each).
    pub challenges: &'a [EF],
    pub aux_width: usize,
    /// The table's claimed LogUp sum.
    pub cumulative_sum: EF,
    /// The chip's LogUp batches (`ChipInfo::logup_batches`).
    pub logup_batches: &'a [usize],
}

/// `Z_H(x) = x^n - 1` (`n = 2^log_n`) on the quotient domain `shift * H_{nQ}` (`Q = 2^log_q`):
/// it takes `Q` values, point `i`'s being the `i mod Q`-th.
pub fn vanishing_values(log_n: usize, log_q: usize) -> Vec<F> {
    let s_n = sigil_verifier::protocol::lde_shift().exp_power_of_2(log_n);
    let w_q = sigil_verifier::protocol::omega(log_q);
    (0..1usize << log_q).map(|i| s_n * w_q.exp_u64(i as u64) - F::ONE).collect()
}

/// The quotient: constraints over the quotient domain, divided by the vanishing polynomial.
pub trait QuotientOps {
    /// The chip's constraints (then its LogUp constraints), folded with powers of `alpha` as
    /// `ConstraintFolder` does, divided by `Z_H`, at the `nQ` points of `shift * H_{nQ}`
    /// (every `B/Q`-th point of the LDE domain), in natural order.
    ///
    /// # Soundness
    /// The verifier evaluates the same fold at `z` with the same `eval`; a different order or
    /// selector breaks every honest proof, never a false one.
    fn quotient_values(&self, chip: &dyn Chip, inputs: &QuotientInputs<'_>) -> Vec<EF>;
}

/// What one table's DEEP codeword is computed from.
#[derive(Clone, Copy, Debug)]
pub struct DeepInputs<'a> {
    /// The table's LDEs in DEEP order: preprocessed, main, LogUp, quotient.
    pub mats: &'a [&'a Lde],
    /// One coefficient per column at `z` (all columns) and at `z g` (all but the quotient's).
    pub cz: &'a [EF],
    pub czg: &'a [EF],
    /// The combined openings `sum cz_c p_c(z)` and `sum czg_c p_c(z g)`.
    pub a_z: EF,
    pub a_zg: EF,
    pub z: EF,
    pub zg: EF,
    pub log_lde: usize,
    pub shift: F,
}

/// The DEEP composition.
pub trait DeepOps {
    /// `f(x) = (sum cz_c p_c(x) - a_z) / (x - z) + (sum czg_c p_c(x) - a_zg) / (x - z g)` at the
    /// `2^log_lde` points `shift * w^i` of the LDE domain, in natural order.
    fn deep_codeword(&self, inputs: &DeepInputs<'_>) -> Vec<EF>;
}

/// Everything the prover needs from a backend.
pub trait Backend: NttOps + MerkleOps + FriOps + QuotientOps + DeepOps + Send + Sync + core::fmt::Debug {
    /// A name for reports.
    fn name(&self) -> &'static str;

    /// Work the backend may start ahead of `circuit`'s proofs (a GPU backend compiles its
    /// quotient kernels in the background). Nothing by default.
    fn prepare(&self, circuit: &sigil_verifier::Circuit) {
        let _ = circuit;
    }

    /// Whether the prover may extend several tables at once, from several threads (the CPU
    /// backend: a model of many small tables then keeps every core busy). By default a
    /// backend gets one table's call after another, in the circuit's order.
    fn concurrent_tables(&self) -> bool {
        false
    }
}
