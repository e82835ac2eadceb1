//! Choosing a backend: `cpu`, `gpu` or `auto`, with the reason for what was taken.

use std::sync::{Arc, OnceLock};

use p3_matrix::dense::RowMajorMatrix;
use sigil_air::{Chip, EF, F};
use sigil_prover::backend::{DeepInputs, DeepOps, FriOps, Lde, MerkleOps, NttOps, QuotientInputs, QuotientOps};
use sigil_prover::{Backend, CpuBackend};
use sigil_verifier::merkle::{MerkleTree, MixedTree};

use crate::backend::size;
use crate::{DEFAULT_MIN_ELEMENTS, Gpu, GpuBackend, GpuError};

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// The CPU backend.
    Cpu,
    /// The GPU backend on any adapter, software ones included (lavapipe, for tests).
    Gpu,
    /// A hardware GPU when there is one, else the CPU.
    #[default]
    Auto,
}

/// The process's GPU context on any adapter, built on first use (an adapter is looked for once).
pub fn shared_gpu() -> Result<Arc<Gpu>, String> {
    GPU.get_or_init(|| Gpu::new().map(Arc::new).map_err(|e| e.to_string())).clone()
}

/// The process's GPU context, once built (by [`shared_gpu`] or [`hardware_gpu`]).
static GPU: OnceLock<Result<Arc<Gpu>, String>> = OnceLock::new();

/// The process's GPU context when its adapter is a hardware one. A software adapter is
/// refused by [`Gpu::new_hardware`] before any device or kernel is built (about 40 ms of a
/// process instead of 0.35 s here), and no context is kept.
fn hardware_context() -> Result<Arc<Gpu>, String> {
    static HARDWARE: OnceLock<Result<Arc<Gpu>, String>> = OnceLock::new();
    let gpu = match GPU.get() {
        Some(built) => built.clone().map_err(|e| format!("no GPU: {e}")),
        None => HARDWARE
            .get_or_init(|| match Gpu::new_hardware() {
                Ok(g) => Ok(GPU.get_or_init(|| Ok(Arc::new(g))).clone()?),
                Err(e @ GpuError::SoftwareAdapter(_)) => Err(e.to_string()),
                Err(e) => Err(format!("no GPU: {e}")),
            })
            .clone(),
    }?;
    match gpu.info.device_type {
        wgpu::DeviceType::Cpu => Err(GpuError::SoftwareAdapter(gpu.info.name.clone()).to_string()),
        _ => Ok(gpu),
    }
}

/// The backend taken, and why.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub backend: Arc<dyn Backend>,
    /// `gpu` or `cpu`.
    pub name: &'static str,
    /// The adapter, or why the CPU was taken.
    pub why: String,
    /// Set when `gpu` was asked for and could not be had.
    pub warning: Option<String>,
}

/// Builds the backend for `choice`. Never fails: without a usable GPU it is the CPU backend,
/// with a warning when the GPU was asked for by name.
pub fn choose(choice: BackendChoice) -> Chosen {
    let cpu = |why: String, warning: Option<String>| Chosen { backend: Arc::new(CpuBackend::default()), name: "cpu", why, warning };
    if choice == BackendChoice::Cpu {
        return cpu("asked for".into(), None);
    }
    let gpu = |b: GpuBackend| Chosen { why: taken(&b), backend: Arc::new(b), name: "gpu", warning: None };
    if choice == BackendChoice::Auto {
        return match hardware_gpu() {
            Ok(b) => gpu(b),
            Err(why) => cpu(why, None),
        };
    }
    match shared_gpu() {
        Err(e) => cpu(format!("no GPU: {e}"), Some(format!("--backend gpu: {e}; proving on the CPU"))),
        Ok(g) => gpu(GpuBackend::new(g, DEFAULT_MIN_ELEMENTS)),
    }
}

/// The GPU backend on the process's adapter when it is a hardware one, or why there is none
/// (no adapter, or only a software one): what `auto` takes.
fn hardware_gpu() -> Result<GpuBackend, String> {
    hardware_context().map(|g| GpuBackend::new(g, DEFAULT_MIN_ELEMENTS))
}

/// Why the GPU backend `b` was taken: its adapter, and the operations it leaves to the CPU.
fn taken(b: &GpuBackend) -> String {
    format!("{}; operations under {} elements on the CPU", b.gpu().describe(), DEFAULT_MIN_ELEMENTS)
}

/// A circuit whose extended columns (main, preprocessed and lookup, every table) hold fewer
/// field elements than this is proved on the CPU by [`AutoBackend`] without looking for a
/// GPU. Looking makes a Vulkan instance and loads every adapter's driver: about 0.05 s and
/// 50 MB of a process here when the only adapter is a software one (it stops there), and on a
/// hardware GPU the device and its kernels besides; a circuit this small proves on the CPU in
/// a few times that (dsperse-net: 2^23.6 elements, about 0.25 s as a whole `sigil prove`;
/// lstm-benchmark 2^23.3; the digits models 2^15.5 and 2^18.4, 10 to 25 ms). dsperse-doom
/// (2^25.2, about 0.8 s) and larger look.
pub const AUTO_MIN_CIRCUIT_ELEMENTS: usize = 1 << 25;

/// `--backend auto` decided per circuit: [`Backend::prepare`] (which compiling a model calls
/// before building its key) looks at the circuit's size, and only a circuit of at least
/// [`AUTO_MIN_CIRCUIT_ELEMENTS`] committed elements looks for an adapter (once per process:
/// [`shared_gpu`]), taking a hardware GPU when there is one. A small circuit never pays for the
/// look. Before any `prepare`, an operation the GPU backend would take (at least
/// [`DEFAULT_MIN_ELEMENTS`]) looks. Whichever it takes, the proof is the same bytes.
#[derive(Debug, Default)]
pub struct AutoBackend {
    cpu: CpuBackend,
    /// The GPU backend, or why the CPU proves; unset until decided.
    decided: OnceLock<Result<GpuBackend, String>>,
    /// The committed elements of the circuit that decided, when one did.
    committed: OnceLock<usize>,
}

impl AutoBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks for a GPU (once), keeping it when it is a hardware one.
    fn look(&self) -> Option<&GpuBackend> {
        self.decided.get_or_init(hardware_gpu).as_ref().ok()
    }

    /// The GPU backend when an operation of `elements` goes to it.
    fn gpu_for(&self, elements: usize) -> Option<&GpuBackend> {
        match self.decided.get() {
            Some(d) => d.as_ref().ok(),
            None if elements >= DEFAULT_MIN_ELEMENTS => self.look(),
            None => None,
        }
    }

    /// What proves (`cpu` or `gpu`) and why, as decided so far.
    pub fn chosen(&self) -> (&'static str, String) {
        let size = self.committed.get().map_or(String::new(), |&n| format!("a circuit of 2^{:.1} committed elements; ", (n.max(1) as f64).log2()));
        match self.decided.get() {
            None => ("cpu", "no operation was large enough to look for a GPU".into()),
            Some(Err(why)) => ("cpu", format!("{size}{why}")),
            Some(Ok(g)) => ("gpu", format!("{size}{}", taken(g))),
        }
    }
}

impl NttOps for AutoBackend {
    fn coset_lde(&self, trace: RowMajorMatrix<F>, log_blowup: usize, shift: F) -> Lde {
        match self.gpu_for(size::lde(&trace, log_blowup)) {
            Some(g) => g.coset_lde(trace, log_blowup, shift),
            None => self.cpu.coset_lde(trace, log_blowup, shift),
        }
    }
    fn coset_interpolate(&self, evals: RowMajorMatrix<F>, shift: F) -> RowMajorMatrix<F> {
        match self.gpu_for(size::elements(&evals)) {
            Some(g) => g.coset_interpolate(evals, shift),
            None => self.cpu.coset_interpolate(evals, shift),
        }
    }
    fn coset_evaluate(&self, coeffs: RowMajorMatrix<F>, shift: F) -> Lde {
        match self.gpu_for(size::elements(&coeffs)) {
            Some(g) => g.coset_evaluate(coeffs, shift),
            None => self.cpu.coset_evaluate(coeffs, shift),
        }
    }
}

impl MerkleOps for AutoBackend {
    fn commit_ext_cosets(&self, evals: &[EF], log_arity: usize) -> MerkleTree {
        match self.gpu_for(size::ext_tree(evals)) {
            Some(g) => g.commit_ext_cosets(evals, log_arity),
            None => self.cpu.commit_ext_cosets(evals, log_arity),
        }
    }
    fn commit_mixed(&self, levels: &[(usize, Vec<&Lde>)], depth: usize, cap_log: usize) -> MixedTree {
        match self.gpu_for(size::mixed_tree(levels, depth)) {
            Some(g) => g.commit_mixed(levels, depth, cap_log),
            None => self.cpu.commit_mixed(levels, depth, cap_log),
        }
    }
}

impl FriOps for AutoBackend {
    fn fold(&self, evals: &[EF], beta: EF, shift: F) -> Vec<EF> {
        match self.gpu_for(size::fold(evals)) {
            Some(g) => g.fold(evals, beta, shift),
            None => self.cpu.fold(evals, beta, shift),
        }
    }
    fn fold_rounds(&self, evals: &[EF], beta: EF, shift: F, rounds: usize) -> Vec<EF> {
        match self.gpu_for(size::fold(evals)) {
            Some(g) => g.fold_rounds(evals, beta, shift, rounds),
            None => self.cpu.fold_rounds(evals, beta, shift, rounds),
        }
    }
}

impl QuotientOps for AutoBackend {
    fn quotient_values(&self, chip: &dyn Chip, inputs: &QuotientInputs<'_>) -> Vec<EF> {
        match self.gpu_for(size::quotient(inputs)) {
            Some(g) => g.quotient_values(chip, inputs),
            None => self.cpu.quotient_values(chip, inputs),
        }
    }
}

impl DeepOps for AutoBackend {
    fn deep_codeword(&self, i: &DeepInputs<'_>) -> Vec<EF> {
        match self.gpu_for(size::deep(i)) {
            Some(g) => g.deep_codeword(i),
            None => self.cpu.deep_codeword(i),
        }
    }
}

impl Backend for AutoBackend {
    fn name(&self) -> &'static str {
        self.chosen().0
    }

    /// Concurrent once decided for the CPU (a GPU takes its calls in order).
    fn concurrent_tables(&self) -> bool {
        matches!(self.decided.get(), Some(Err(_)))
    }

    /// Decides for `circuit` (the first circuit prepared decides for the process's later
    /// ones): below [`AUTO_MIN_CIRCUIT_ELEMENTS`] the CPU, without looking for a GPU; else a
    /// hardware GPU when there is one, starting its quotient kernels' compile.
    fn prepare(&self, circuit: &sigil_verifier::Circuit) {
        let committed = size::committed(circuit);
        if self.decided.get().is_none() {
            let _ = self.committed.set(committed);
            if committed < AUTO_MIN_CIRCUIT_ELEMENTS {
                let _ = self.decided.set(Err(format!("under 2^{}: the CPU, no GPU looked for", AUTO_MIN_CIRCUIT_ELEMENTS.trailing_zeros())));
                return;
            }
        }
        if let Some(g) = self.look() {
            g.prepare(circuit);
        }
    }
}
