//! # sigil-prover
//!
//! The multi-table STARK prover of Sigil over Goldilocks: every chip's trace is committed
//! together (tables of different heights side by side), bus interactions are proven with
//! LogUp, and one FRI proves every table's DEEP quotient at once.
//!
//! 1. Build a [`sigil_verifier::Circuit`] from chips, their heights and the proof options.
//! 2. [`ProvingKey::new`] extends and commits the preprocessed columns once; keep the key to
//!    prove the same circuit again.
//! 3. [`prove`] takes one trace per chip and the public values and returns a
//!    [`sigil_verifier::Proof`]; [`sigil_verifier::verify`] checks it.
//!
//! The prover is written against the [`Backend`] trait; [`CpuBackend`] is the reference.
//! Features: `parallel` (default): rayon across rows and columns.

pub mod backend;
pub mod cpu;
pub mod examples;
pub mod key_cache;
pub mod mapped;
pub mod prove;

pub use backend::{Backend, DeepInputs, DeepOps, FriOps, Lde, LdeMatrix, LdeValues, MerkleOps, NttOps, QuotientInputs, QuotientOps};
pub use cpu::CpuBackend;
pub use prove::{Attack, ProveError, ProverConfig, ProvingKey, prove, prove_in_context};
#[cfg(feature = "malicious")]
pub use prove::prove_malicious;
