//! Committed proofs that the current verifier must still accept: validators run mixed
//! versions. `cargo test -p sigil-tests --test fixtures -- --ignored` regenerates them (only
//! when the proof format version changes). Version 4 (the running sum carries a table's last
//! LogUp batch) is current; version 3 (a helper column for every batch), version 2 (cosets of
//! 8 rows per query) and version 1 are refused by their version.

use sigil_prover::examples;
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, prove};
use sigil_verifier::{ProofOptions, VerifierOptions, VerifyError, verify};

const TRANSFER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transfer-6-4-v4.proof");
const MAC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/mac-10-v4.proof");
/// Proofs of the same circuits in earlier format versions, with their version.
const OLD: [(&str, u16); 4] = [
    (concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transfer-6-4-v3.proof"), 3),
    (concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/mac-10-v3.proof"), 3),
    (concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transfer-6-4-v2.proof"), 2),
    (concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/mac-10-v2.proof"), 2),
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
fn older_proofs_are_refused_by_their_version() {
    // The old proofs alternate transfer and MAC, as `keys` lists them.
    for (k, &(path, version)) in OLD.iter().enumerate() {
        let (_, ex) = keys().swap_remove(k % 2);
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
        let r = verify(&pk.circuit, &pk.circuit_id, &ex.publics, &bytes, &VerifierOptions::default());
        assert_eq!(r, Err(VerifyError::UnsupportedVersion(version)), "{path}");
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
