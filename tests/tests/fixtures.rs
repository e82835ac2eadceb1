//! Committed proofs that the current verifier must still accept: validators run mixed
//! versions. `cargo test -p sigil-tests --test fixtures -- --ignored` regenerates them (only
//! when the proof format version changes). Version 3 opens one row of every table per query
//! and commits FRI's first layer; version 2 (cosets of 8 rows per query) and version 1 are
//! refused by their version.

use sigil_prover::examples;
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, prove};
use sigil_verifier::{ProofOptions, VerifierOptions, VerifyError, verify};

const TRANSFER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transfer-6-4-v3.proof");
const MAC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/mac-10-v3.proof");
/// Proofs of the same circuits in format version 2.
const OLD: [&str; 2] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transfer-6-4-v2.proof"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/mac-10-v2.proof"),
];

fn keys() -> Vec<(&'static str, examples::Example)> {
    vec![
        (TRANSFER, examples::transfer(6, 4, 11, ProofOptions::default()).unwrap()),
        (MAC, examples::mac(10, 1, ProofOptions::default()).unwrap()),
    ]
}

#[test]
fn committed_proofs_still_verify() {
    for (path, ex) in keys() {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
        verify(&pk.circuit, &pk.circuit_id, &ex.publics, &bytes, &VerifierOptions::default())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

#[test]
fn version_2_proofs_are_refused_by_their_version() {
    for (path, (_, ex)) in OLD.iter().zip(keys()) {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
        let r = verify(&pk.circuit, &pk.circuit_id, &ex.publics, &bytes, &VerifierOptions::default());
        assert_eq!(r, Err(VerifyError::UnsupportedVersion(2)), "{path}");
    }
}

#[test]
#[ignore = "regenerates the committed fixtures"]
fn regenerate_fixtures() {
    for (path, ex) in keys() {
        let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
        let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, proof.to_bytes()).unwrap();
    }
}
