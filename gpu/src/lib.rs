//! # sigil-gpu
//!
//! The wgpu backend of the Sigil prover, on any vendor's GPU (Vulkan, Metal, DX12) with no
//! vendor toolkit. [`Gpu`] is the device context (adapter, device, pipelines; built once per
//! process); its kernels, in WGSL on `u32` pairs (64-bit integers are not portable):
//!
//! - Goldilocks and quadratic-extension arithmetic (`shaders/field.wgsl`),
//! - batched NTTs: coset LDE, interpolation and evaluation of many columns ([`Transform`]),
//! - keyed-Blake3 Merkle trees: the mixed-height trace trees and the FRI layers' trees,
//! - FRI folding (a layer's folds in a row on the device) and the DEEP composition,
//! - the quotient: each chip's constraints compiled into a program ([`compile_quotient`]), run
//!   as generated WGSL or by an interpreter kernel ([`QuotientKernel`]).
//!
//! Each returns the CPU backend's values bit for bit; data larger than one storage binding is
//! split into several buffers, dispatches past 65,535 workgroups use two dimensions. LDEs made
//! here stay on the device (`sigil_prover::Lde`) for the trace commitments, the quotient and
//! the DEEP composition.
//! [`GpuBackend`] puts them behind the prover's `Backend` traits, with the CPU as fallback;
//! [`choose`] picks a backend for `--backend cpu|gpu|auto`.

use std::fmt;

mod backend;
pub mod bench;
mod choice;
mod context;
mod fri;
mod merkle;
mod ntt;
mod quotient;
mod words;

pub use backend::{DEFAULT_MIN_ELEMENTS, DEFAULT_RESIDENT_BYTES, GpuBackend, Placement};
pub use choice::{AUTO_MIN_CIRCUIT_ELEMENTS, AutoBackend, BackendChoice, Chosen, choose, shared_gpu};
pub use context::{Gpu, dispatch_size};
pub use ntt::{DeviceMatrix, Transform};
pub use context::QuotientKernel;
pub use quotient::{MAX_GENERATED_INSTRUCTIONS, MAX_REGISTERS, Program, UnknownOpcode, compile as compile_quotient, generated_body, interpreter_cases};

/// Why the GPU context could not be built or a kernel could not run.
#[derive(Debug)]
pub enum GpuError {
    /// No adapter (no GPU, no driver: on Linux, a Vulkan ICD such as Mesa's lavapipe).
    NoAdapter(String),
    /// Only a software adapter where a hardware one was asked for ([`Gpu::new_hardware`]):
    /// its name.
    SoftwareAdapter(String),
    /// The adapter refused a device, or the device reported an error (lost, out of memory).
    Device(String),
    /// A buffer larger than the device allows in one binding, that cannot be split.
    TooLarge { bytes: u64, limit: u64 },
    /// Mapping a result buffer failed (a lost device, say).
    Map(String),
    /// Arguments the kernels cannot take (shapes, lengths).
    Input(String),
    /// Work this backend leaves to the CPU (a quotient program past the kernel's registers,
    /// data past the binding limit): not a fault of the device.
    Unsupported(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::NoAdapter(why) => write!(f, "no GPU adapter: {why}"),
            GpuError::SoftwareAdapter(name) => write!(f, "the only adapter, {name}, is a software one"),
            GpuError::Device(why) => write!(f, "GPU device error: {why}"),
            GpuError::TooLarge { bytes, limit } => write!(f, "a {bytes}-byte buffer is over the device's binding limit of {limit} bytes"),
            GpuError::Map(why) => write!(f, "reading a GPU buffer back failed: {why}"),
            GpuError::Input(why) => write!(f, "bad input to a GPU kernel: {why}"),
            GpuError::Unsupported(why) => write!(f, "left to the CPU: {why}"),
        }
    }
}

impl std::error::Error for GpuError {}

/// Goldilocks: `p = 2^64 - 2^32 + 1`.
pub const P: u64 = 0xffff_ffff_0000_0001;

/// Elementwise field operations of the `elementwise` kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FieldOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
}
