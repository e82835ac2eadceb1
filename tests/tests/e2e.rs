//! End-to-end: prove and verify the built-in circuits.

use sigil_prover::examples;
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, prove};
use sigil_verifier::{ProofOptions, VerifierOptions, verify};

fn fast() -> ProofOptions {
    ProofOptions { log_blowup: 3, n_queries: 28, grinding_bits: 4, log_final_poly_len: 2, log_folding_factor: 3 }
}

#[test]
fn mac_chain_proves_and_verifies() {
    let ex = examples::mac(6, 1, fast()).unwrap();
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
    let bytes = proof.to_bytes();
    let vopts = VerifierOptions { min_security_bits: 80, ..Default::default() };
    verify(&pk.circuit, &pk.circuit_id, &ex.publics, &bytes, &vopts).unwrap();
}

#[test]
fn four_tables_of_four_heights_prove_and_verify() {
    let ex = examples::transfer(7, 5, 3, fast()).unwrap();
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
    assert_eq!(proof.log_heights, vec![7, 5, 6, 8]);
    let bytes = proof.to_bytes();
    let vopts = VerifierOptions { min_security_bits: 80, ..Default::default() };
    verify(&pk.circuit, &pk.circuit_id, &ex.publics, &bytes, &vopts).unwrap();
}

#[test]
fn every_folding_factor_and_final_size_verifies() {
    for log_folding_factor in 1..=4 {
        for log_final_poly_len in [0, 2, 5] {
            let opts = ProofOptions { log_blowup: 2, n_queries: 20, grinding_bits: 0, log_final_poly_len, log_folding_factor };
            let ex = examples::transfer(9, 3, 5, opts).unwrap();
            let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
            let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
            let vopts = VerifierOptions { min_security_bits: 40, ..Default::default() };
            verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts)
                .unwrap_or_else(|e| panic!("folding 2^{log_folding_factor}, final 2^{log_final_poly_len}: {e}"));
        }
    }
}
