//! # sigil-gpu
//!
//! The wgpu backend of the Sigil prover (NTT/LDE, Merkle hashing, FRI folding in WGSL) will
//! live here, implementing `sigil_prover::Backend` and producing byte-identical proofs to the CPU
//! backend. It is not built yet: this crate is empty, and nothing uses it.
