//! [`GpuBackend`]: the prover's [`Backend`] on the device. Every operation returns the CPU
//! backend's values (the proofs are byte-identical), the quotient included (each chip's
//! constraints compiled to a program the device runs, `quotient.rs`). An operation
//! smaller than the threshold runs on the CPU, where a dispatch would cost more than it
//! saves, as does a quotient the kernel cannot hold ([`GpuError::Unsupported`]); an operation
//! that fails on the device (lost, out of memory) is redone on the CPU with a warning, and the
//! rest of the process stays on the CPU.
//!
//! Resident data: an LDE made here keeps its device copy beside the host values (in
//! [`Lde::resident`], up to a budget of bytes), and the trace commitments and the DEEP
//! composition and the quotient read it there; the host values serve the openings. A FRI
//! layer's folds stay on the device from its upload to the next layer's read-back
//! (`fold_rounds`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use p3_matrix::dense::RowMajorMatrix;
use sigil_air::{Chip, EF, F};
use sigil_prover::backend::{Backend, DeepInputs, DeepOps, FriOps, Lde, MerkleOps, NttOps, QuotientInputs, QuotientOps};
use sigil_prover::CpuBackend;
use sigil_verifier::merkle::{MerkleTree, MixedTree};

use crate::ntt::{DeviceMatrix, Transform};
use crate::{Gpu, GpuError};

/// Operations of at least this many field elements go to the device by default.
pub const DEFAULT_MIN_ELEMENTS: usize = 1 << 14;

/// Bytes of LDEs kept on the device at once by default (past it, new ones live on the host
/// alone and are uploaded again when committed).
pub const DEFAULT_RESIDENT_BYTES: u64 = 8 << 30;

/// A device matrix held by an [`Lde`], counted against the backend's residency budget until
/// it is dropped.
#[derive(Debug)]
pub(crate) struct Held {
    matrix: DeviceMatrix,
    counter: Arc<AtomicU64>,
}

impl Held {
    /// A device matrix counted against `counter`'s budget (already added to it).
    pub(crate) fn new(matrix: DeviceMatrix, counter: Arc<AtomicU64>) -> Self {
        Self { matrix, counter }
    }

    pub(crate) fn matrix(&self) -> &DeviceMatrix {
        &self.matrix
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.counter.fetch_sub(self.matrix.bytes(), Ordering::Relaxed);
    }
}

/// The prover's backend on a GPU, with the CPU backend beside it.
#[derive(Debug)]
pub struct GpuBackend {
    gpu: Arc<Gpu>,
    cpu: CpuBackend,
    min_elements: usize,
    /// Bytes of LDEs on the device now, and the most allowed.
    resident: Arc<AtomicU64>,
    resident_budget: u64,
    failed: AtomicBool,
    on_gpu: AtomicUsize,
    on_cpu: AtomicUsize,
}

/// How many operations ran where, for reports and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    pub on_gpu: usize,
    /// Smaller than the threshold, or left to the CPU ([`GpuError::Unsupported`]).
    pub on_cpu: usize,
    /// Whether an operation failed on the device (and everything since ran on the CPU).
    pub fell_back: bool,
}

impl GpuBackend {
    /// A backend on `gpu`; operations of at least `min_elements` field elements run there.
    pub fn new(gpu: Arc<Gpu>, min_elements: usize) -> Self {
        Self {
            gpu,
            cpu: CpuBackend::default(),
            min_elements,
            resident: Arc::default(),
            resident_budget: DEFAULT_RESIDENT_BYTES,
            failed: AtomicBool::new(false),
            on_gpu: AtomicUsize::new(0),
            on_cpu: AtomicUsize::new(0),
        }
    }

    /// Keeps at most `bytes` of LDEs on the device (0: none; every commitment uploads).
    pub fn with_resident_budget(mut self, bytes: u64) -> Self {
        self.resident_budget = bytes;
        self
    }

    /// Bytes of LDEs on the device now.
    pub fn resident_bytes(&self) -> u64 {
        self.resident.load(Ordering::Relaxed)
    }

    /// The LDE of a transform: the device copy kept when the budget allows.
    fn lde(&self, (matrix, dm): (RowMajorMatrix<F>, DeviceMatrix)) -> Lde {
        let bytes = dm.bytes();
        let taken = self.resident.fetch_add(bytes, Ordering::Relaxed);
        if taken + bytes > self.resident_budget {
            self.resident.fetch_sub(bytes, Ordering::Relaxed);
            return Lde::host(matrix);
        }
        Lde { resident: Some(Arc::new(Held { matrix: dm, counter: self.resident.clone() })), ..Lde::host(matrix) }
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    pub fn placement(&self) -> Placement {
        Placement { on_gpu: self.on_gpu.load(Ordering::Relaxed), on_cpu: self.on_cpu.load(Ordering::Relaxed), fell_back: self.failed.load(Ordering::Relaxed) }
    }

    /// Runs `f` on the device when the operation is large enough and the device is healthy;
    /// `None` sends the caller to the CPU.
    fn try_gpu<T>(&self, what: &str, elements: usize, f: impl FnOnce(&Gpu) -> Result<T, GpuError>) -> Option<T> {
        if elements >= self.min_elements && elements > 0 && !self.failed.load(Ordering::Relaxed) {
            // wgpu panics on some paths of a lost device: caught, that is one more failure.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&self.gpu))).unwrap_or_else(|p| {
                let why = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                Err(GpuError::Device(format!("panicked: {why}")))
            });
            match r {
                Ok(v) => {
                    self.on_gpu.fetch_add(1, Ordering::Relaxed);
                    return Some(v);
                }
                // Not the device's fault: this one operation runs on the CPU.
                Err(GpuError::Unsupported(_)) => {}
                Err(e) => {
                    if !self.failed.swap(true, Ordering::Relaxed) {
                        eprintln!("warning: the GPU failed in {what} ({e}); continuing on the CPU");
                    }
                }
            }
        }
        self.on_cpu.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// Each operation's size in field elements, which the GPU backend (and `AutoBackend`)
/// compares with its threshold: operations below it stay on the CPU.
pub(crate) mod size {
    use super::*;

    /// A quotient's size against the threshold: its points times the columns it reads.
    pub(crate) fn quotient_elements(log_points: usize, width: usize) -> usize {
        (1usize << log_points) * width.max(1)
    }

    /// Elements of a matrix, 0 for one without columns (the CPU handles those).
    pub(crate) fn elements(m: &RowMajorMatrix<F>) -> usize {
        if m.width == 0 { 0 } else { m.values.len() }
    }

    pub(crate) fn lde(trace: &RowMajorMatrix<F>, log_blowup: usize) -> usize {
        elements(trace) << log_blowup
    }

    pub(crate) fn ext_tree(evals: &[EF]) -> usize {
        2 * evals.len()
    }

    pub(crate) fn mixed_tree(levels: &[(usize, Vec<&Lde>)], depth: usize) -> usize {
        levels.iter().flat_map(|(_, m)| m.iter()).map(|m| m.values.len()).sum::<usize>().max(1 << depth)
    }

    pub(crate) fn fold(evals: &[EF]) -> usize {
        2 * evals.len()
    }

    pub(crate) fn quotient(inputs: &QuotientInputs<'_>) -> usize {
        let width = inputs.main_lde.width + inputs.prep_lde.map_or(0, |m| m.width) + inputs.perm_lde.map_or(0, |m| m.width);
        quotient_elements(inputs.log_n + inputs.log_quotient_degree, width)
    }

    pub(crate) fn deep(i: &DeepInputs<'_>) -> usize {
        i.mats.iter().map(|m| m.values.len()).sum()
    }

    /// Per table of `circuit`, whether its quotient is large enough for the device.
    pub(crate) fn large_quotients(circuit: &sigil_verifier::Circuit, min_elements: usize) -> Vec<bool> {
        circuit
            .infos
            .iter()
            .zip(&circuit.log_heights)
            .map(|(i, &lh)| quotient_elements(lh + i.log_quotient_degree, { let w = sigil_verifier::protocol::PhaseWidths::of(i); w.main + w.prep + w.perm }) >= min_elements)
            .collect()
    }

    /// The field elements of every table's extended columns (main, preprocessed and lookup):
    /// what a proof of `circuit` commits, the measure of its work.
    pub(crate) fn committed(circuit: &sigil_verifier::Circuit) -> usize {
        let lb = usize::from(circuit.options.log_blowup);
        circuit
            .infos
            .iter()
            .zip(&circuit.log_heights)
            .map(|(i, &lh)| {
                let w = sigil_verifier::protocol::PhaseWidths::of(i);
                (w.main + w.prep + w.perm) << (lh + lb)
            })
            .sum()
    }
}

use size::elements;

impl NttOps for GpuBackend {
    fn coset_lde(&self, trace: RowMajorMatrix<F>, log_blowup: usize, shift: F) -> Lde {
        self.try_gpu("coset LDE", size::lde(&trace, log_blowup), |g| g.transform_resident(&trace, Transform::Lde { log_blowup, shift }))
            .map(|r| self.lde(r))
            .unwrap_or_else(|| self.cpu.coset_lde(trace, log_blowup, shift))
    }
    fn coset_interpolate(&self, evals: RowMajorMatrix<F>, shift: F) -> RowMajorMatrix<F> {
        self.try_gpu("interpolation", elements(&evals), |g| g.transform(&evals, Transform::Interpolate { shift })).unwrap_or_else(|| self.cpu.coset_interpolate(evals, shift))
    }
    fn coset_evaluate(&self, coeffs: RowMajorMatrix<F>, shift: F) -> Lde {
        self.try_gpu("evaluation", elements(&coeffs), |g| g.transform_resident(&coeffs, Transform::Evaluate { shift }))
            .map(|r| self.lde(r))
            .unwrap_or_else(|| self.cpu.coset_evaluate(coeffs, shift))
    }
}

impl MerkleOps for GpuBackend {
    fn commit_ext_cosets(&self, evals: &[EF], log_arity: usize) -> MerkleTree {
        self.try_gpu("a FRI layer's tree", size::ext_tree(evals), |g| g.commit_ext_cosets(evals, log_arity)).unwrap_or_else(|| self.cpu.commit_ext_cosets(evals, log_arity))
    }
    fn commit_mixed(&self, levels: &[(usize, Vec<&Lde>)], depth: usize, cap_log: usize) -> MixedTree {
        self.try_gpu("a trace tree", size::mixed_tree(levels, depth), |g| g.commit_mixed(levels, depth, cap_log)).unwrap_or_else(|| self.cpu.commit_mixed(levels, depth, cap_log))
    }
}

impl FriOps for GpuBackend {
    fn fold(&self, evals: &[EF], beta: EF, shift: F) -> Vec<EF> {
        self.try_gpu("FRI folding", size::fold(evals), |g| g.fold(evals, beta, shift)).unwrap_or_else(|| self.cpu.fold(evals, beta, shift))
    }
    fn fold_rounds(&self, evals: &[EF], beta: EF, shift: F, rounds: usize) -> Vec<EF> {
        self.try_gpu("FRI folding", size::fold(evals), |g| g.fold_rounds(evals, beta, shift, rounds)).unwrap_or_else(|| self.cpu.fold_rounds(evals, beta, shift, rounds))
    }
}

impl QuotientOps for GpuBackend {
    fn quotient_values(&self, chip: &dyn Chip, inputs: &QuotientInputs<'_>) -> Vec<EF> {
        self.try_gpu("the quotient", size::quotient(inputs), |g| g.quotient_values(chip, inputs)).unwrap_or_else(|| self.cpu.quotient_values(chip, inputs))
    }
}

impl DeepOps for GpuBackend {
    fn deep_codeword(&self, i: &DeepInputs<'_>) -> Vec<EF> {
        self.try_gpu("the DEEP composition", size::deep(i), |g| g.deep_codeword(i.mats, i.cz, i.czg, i.a_z, i.a_zg, i.z, i.zg, i.log_lde, i.shift)).unwrap_or_else(|| self.cpu.deep_codeword(i))
    }
}

impl Backend for GpuBackend {
    fn name(&self) -> &'static str {
        "gpu"
    }

    /// Starts compiling the generated quotient kernels of `circuit`'s tables in the background
    /// (those large enough for the device), so that its first proof finds them ready.
    fn prepare(&self, circuit: &sigil_verifier::Circuit) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        let large = size::large_quotients(circuit, self.min_elements);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.gpu.prepare_quotients(circuit, &large)));
    }
}

impl Gpu {
    /// `lde`'s copy on this context's device, if it has one here of its shape.
    pub(crate) fn resident<'a>(&self, lde: &'a sigil_prover::Lde) -> Option<&'a DeviceMatrix> {
        let dm = lde.resident.as_ref()?.downcast_ref::<Held>()?.matrix();
        (dm.context == self.id && dm.width == lde.width && dm.rows * dm.width == lde.values.len()).then_some(dm)
    }
}
