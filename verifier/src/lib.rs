//! # sigil-verifier
//!
//! The Sigil proof format and the STARK verifier. `no_std` + `alloc`: no rayon, no wgpu, no
//! tokio, so that it can be built for a browser or a chain.
//!
//! 1. Build the [`Circuit`] from the same chips, heights and options the prover used.
//! 2. Take the 32-byte circuit id the model was published with, and the public values.
//! 3. Call [`verify`] on the proof bytes; it returns `Ok(())` or the exact [`VerifyError`].
//!
//! The circuit fixes everything a proof's shape depends on: every table's height and every
//! security parameter are in its id, so a proof of a circuit has exactly one size
//! ([`Circuit::proof_size`]). The verifier checks the header and that size before it decodes
//! anything, and never panics on any bytes. Features: `std` (default) only adds
//! `std::error::Error` impls.
#![no_std]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

extern crate alloc;

pub mod circuit;
pub mod error;
pub mod hash;
pub mod layout;
pub mod merkle;
pub mod proof;
pub mod protocol;
pub mod security;
pub mod transcript;
pub mod verify;

pub use circuit::{Circuit, CircuitError, PublicBus, Statement};
pub use error::{Phase, VerifyError};
pub use layout::ProofLayout;
pub use proof::{CircuitId, Proof};
pub use protocol::ProofOptions;
pub use security::Security;
pub use verify::{MAX_CONTEXT_BYTES, VerifierOptions, check_statement, decode_proof, verify, verify_in_context, verify_proof};
