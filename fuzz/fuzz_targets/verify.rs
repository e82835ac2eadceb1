//! The verifier on arbitrary bytes, and on an honest proof with arbitrary edits: it must never
//! panic, and must accept nothing but the honest proof.
//!
//! `cargo fuzz run verify` (from the repository root; cargo-fuzz and a toolchain that builds
//! with sanitizers). CI keeps a short proptest of the same properties (`tests/tests/soundness.rs`).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sigil_air::F;
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, examples, prove};
use sigil_verifier::{ProofOptions, VerifierOptions, verify};

struct Honest {
    pk: ProvingKey,
    publics: Vec<F>,
    bytes: Vec<u8>,
}

fn make(ex: examples::Example) -> Honest {
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).expect("key");
    let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).expect("prove");
    Honest { pk, publics: ex.publics, bytes: proof.to_bytes() }
}

/// Two circuits: four tables on two buses, and a Freivalds layer (auxiliary columns).
fn honest() -> &'static [Honest; 2] {
    static H: OnceLock<[Honest; 2]> = OnceLock::new();
    H.get_or_init(|| {
        let opts = ProofOptions { log_blowup: 3, n_queries: 28, grinding_bits: 8, log_final_poly_len: 2, log_folding_factor: 3 };
        [
            make(examples::transfer(6, 4, 11, opts).expect("example")),
            make(examples::vecmat(3, 5, 11, opts).expect("example")),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, data)) = data.split_first() else { return };
    let h = &honest()[usize::from(which & 1)];
    let v = VerifierOptions { min_security_bits: 90, ..Default::default() };
    // The input as a proof.
    assert!(verify(&h.pk.circuit, &h.pk.circuit_id, &h.publics, data, &v).is_err() || data == h.bytes);
    // The input as edits of the honest proof: (offset, xor byte) pairs.
    let mut b = h.bytes.clone();
    for pair in data.chunks_exact(4) {
        let at = u32::from_le_bytes([pair[0], pair[1], pair[2], 0]) as usize % b.len();
        b[at] ^= pair[3];
    }
    let r = verify(&h.pk.circuit, &h.pk.circuit_id, &h.publics, &b, &v);
    assert!(r.is_err() || b == h.bytes, "an edited proof verified");
});
