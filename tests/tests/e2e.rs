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

#[test]
fn freivalds_layer_proves_and_verifies() {
    for (log_k, n) in [(1, 1), (3, 10), (6, 16), (4, 40)] {
        let ex = examples::vecmat(log_k, n, 7, fast()).unwrap();
        let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
        assert_eq!(pk.circuit.n_challenges, 1);
        let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
        let vopts = VerifierOptions { min_security_bits: 80, ..Default::default() };
        verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts)
            .unwrap_or_else(|e| panic!("2^{log_k} x {n}: {e}"));
    }
}

#[test]
fn auxiliary_columns_without_lookups_prove_and_verify() {
    // The layer alone: auxiliary columns, no LogUp columns in its table.
    use sigil_air::F;
    use sigil_air::chips::matmul::VecMat;
    use sigil_verifier::Circuit;
    let weights: Vec<F> = (0..24u64).map(F::new).collect();
    let layer = VecMat { name: "fc".into(), k: 4, n: 6, weights, bias: vec![], log_height: 3, in_bus: None, out_bus: None };
    let a: Vec<F> = [3u64, 1, 4, 1].map(F::new).to_vec();
    let (trace, _) = layer.generate_trace(&a);
    let circuit = Circuit::new("fc", vec![Box::new(layer)], &[3], 0, fast()).unwrap();
    assert_eq!(circuit.infos[0].interactions.len(), 0);
    let pk = ProvingKey::new(circuit, &CpuBackend::default()).unwrap();
    let proof = prove(&pk, vec![trace], &[], &CpuBackend::default(), &ProverConfig::default()).unwrap();
    let vopts = VerifierOptions { min_security_bits: 80, ..Default::default() };
    verify(&pk.circuit, &pk.circuit_id, &[], &proof.to_bytes(), &vopts).unwrap();
}

#[test]
fn a_layer_whose_statement_is_its_input_and_output_proves_and_verifies() {
    for (log_k, n) in [(1, 1), (3, 10), (5, 3)] {
        let ex = examples::dense(log_k, n, 9, fast()).unwrap();
        assert_eq!(ex.publics.len(), (1 << log_k) + n);
        let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
        let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
        let vopts = VerifierOptions { min_security_bits: 80, ..Default::default() };
        verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts)
            .unwrap_or_else(|e| panic!("2^{log_k} x {n}: {e}"));
    }
}

#[test]
fn a_quantized_perceptron_proves_its_output() {
    use sigil_prover::examples::{MLP, mlp, mlp_parameters, mlp_reference, to_signed};
    for seed in [1, 2, 3] {
        let ex = mlp(seed, fast()).unwrap();
        let (k, _, o, _) = MLP;
        let p: Vec<i64> = ex.publics.iter().map(|&x| to_signed(x)).collect();
        let params = mlp_parameters(seed);
        assert_eq!(&p[..k], &params[0][..]);
        assert_eq!(&p[k..], &mlp_reference(&params)[..], "seed {seed}");
        assert_eq!(p.len(), k + o);
        let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
        let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
        let vopts = VerifierOptions { min_security_bits: 80, ..Default::default() };
        verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts).unwrap();
    }
}
