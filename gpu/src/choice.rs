//! Choosing a backend: `cpu`, `gpu` or `auto`, with the reason for what was taken.

use std::sync::{Arc, OnceLock};

use sigil_prover::{Backend, CpuBackend};

use crate::{DEFAULT_MIN_ELEMENTS, Gpu, GpuBackend};

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

/// The process's GPU context, built on first use (an adapter is looked for once).
pub fn shared_gpu() -> Result<Arc<Gpu>, String> {
    static GPU: OnceLock<Result<Arc<Gpu>, String>> = OnceLock::new();
    GPU.get_or_init(|| Gpu::new().map(Arc::new).map_err(|e| e.to_string())).clone()
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
    match shared_gpu() {
        Err(e) if choice == BackendChoice::Gpu => cpu(format!("no GPU: {e}"), Some(format!("--backend gpu: {e}; proving on the CPU"))),
        Err(e) => cpu(format!("no GPU: {e}"), None),
        Ok(g) if choice == BackendChoice::Auto && g.info.device_type == wgpu::DeviceType::Cpu => {
            cpu(format!("the only adapter, {}, is a software one", g.info.name), None)
        }
        Ok(g) => {
            let why = format!("{}; operations under {} elements on the CPU", g.describe(), DEFAULT_MIN_ELEMENTS);
            Chosen { backend: Arc::new(GpuBackend::new(g, DEFAULT_MIN_ELEMENTS)), name: "gpu", why, warning: None }
        }
    }
}
