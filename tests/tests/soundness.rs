//! Rejection: bad traces, tampered proofs (one mutation per test, each with its exact error),
//! and random bytes.

use p3_field::PrimeCharacteristicRing;
use proptest::prelude::*;
use sigil_air::F;
use sigil_prover::examples::{self, Example};
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, prove};
use sigil_verifier::proof::Proof;
use sigil_verifier::{Phase, ProofOptions, VerifierOptions, VerifyError, decode_proof, verify, verify_proof};
use std::sync::OnceLock;

fn opts() -> ProofOptions {
    ProofOptions { log_blowup: 3, n_queries: 28, grinding_bits: 8, log_final_poly_len: 2, log_folding_factor: 3 }
}

fn vopts() -> VerifierOptions {
    VerifierOptions { min_security_bits: 90, ..Default::default() }
}

fn unchecked() -> ProverConfig {
    ProverConfig { check_constraints: false, log_timings: false }
}

struct Fixture {
    pk: ProvingKey,
    publics: Vec<F>,
    proof: Proof,
}

fn honest() -> &'static Fixture {
    static FX: OnceLock<Fixture> = OnceLock::new();
    FX.get_or_init(|| {
        let Example { circuit, traces, publics } = examples::transfer(6, 4, 11).unwrap();
        let pk = ProvingKey::new(circuit, opts(), &CpuBackend::default()).unwrap();
        let proof = prove(&pk, traces, &publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
        Fixture { pk, publics, proof }
    })
}

fn check(proof: &Proof) -> Result<(), VerifyError> {
    let fx = honest();
    verify_proof(&fx.pk.circuit, &fx.pk.circuit_id, &fx.publics, proof, &vopts())
}

fn prove_bad(mutate: impl FnOnce(&mut Example)) -> Result<(), VerifyError> {
    let mut ex = examples::transfer(6, 4, 11).unwrap();
    mutate(&mut ex);
    let pk = ProvingKey::new(ex.circuit, opts(), &CpuBackend::default()).unwrap();
    let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &unchecked()).unwrap();
    verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts())
}

#[test]
fn honest_proof_verifies() {
    check(&honest().proof).unwrap();
    let bytes = honest().proof.to_bytes();
    assert_eq!(decode_proof(&bytes, 1 << 26).unwrap(), honest().proof);
}

// ---- Bad witnesses --------------------------------------------------------------------------

#[test]
fn one_changed_trace_cell_is_rejected() {
    // The MAC accumulator on row 9 (table 0, column 0).
    let r = prove_bad(|ex| {
        let v = ex.traces[0].get(9, 0);
        ex.traces[0].set(9, 0, v + F::ONE);
    });
    assert_eq!(r, Err(VerifyError::OodMismatch { chip: "mac".into() }));
}

#[test]
fn one_changed_cell_in_each_table_is_rejected() {
    for t in 0..4 {
        let r = prove_bad(|ex| {
            let v = ex.traces[t].get(3, 0);
            ex.traces[t].set(3, 0, v + F::from_u64(5));
        });
        assert!(r.is_err(), "table {t}: a changed cell verified");
    }
}

#[test]
fn unbalanced_bus_is_rejected() {
    // The consumer drops one received tuple (a padding row in its place) and sums the rest:
    // every constraint holds, but the data bus does not balance.
    let r = prove_bad(|ex| {
        let c = &mut ex.traces[2];
        let dropped = c.get(5, 1);
        for col in 0..3 {
            c.set(5, col, F::ZERO);
        }
        let mut sum = F::ZERO;
        for row in 0..c.height() {
            sum += c.get(row, 1) * c.get(row, 2);
            c.set(row, 3, sum);
        }
        ex.publics[1] -= dropped;
    });
    assert_eq!(r, Err(VerifyError::BusImbalance));
}

#[test]
fn value_outside_lookup_table_is_rejected() {
    // A producer value of 300 is sent (and received by the consumer) but 300 is not in the
    // 8-bit range table.
    let r = prove_bad(|ex| {
        let old = ex.traces[1].get(2, 1);
        let new = F::from_u64(300);
        ex.traces[1].set(2, 1, new);
        let c = &mut ex.traces[2];
        c.set(2, 1, new);
        let mut sum = F::ZERO;
        for row in 0..c.height() {
            sum += c.get(row, 1) * c.get(row, 2);
            c.set(row, 3, sum);
        }
        ex.publics[1] += new - old;
        // Remove the old value's lookup so that only 300 is unmatched.
        let idx = sigil_air::field::f_to_u64(old) as usize;
        let m = ex.traces[3].get(idx, 0);
        ex.traces[3].set(idx, 0, m - F::ONE);
    });
    assert_eq!(r, Err(VerifyError::BusImbalance));
}

// ---- Tampered proofs ------------------------------------------------------------------------

fn tampered(f: impl FnOnce(&mut Proof)) -> Result<(), VerifyError> {
    let mut p = honest().proof.clone();
    f(&mut p);
    check(&p)
}

#[test]
fn proof_with_changed_merkle_sibling_is_rejected() {
    let r = tampered(|p| p.fri.queries[3].main[0].siblings[0][7] ^= 1);
    assert_eq!(r, Err(VerifyError::MerklePath { phase: Phase::Main, query: 3 }));
}

#[test]
fn proof_with_changed_leaf_value_is_rejected() {
    let r = tampered(|p| p.fri.queries[0].quotient[0].values.0[1] ^= 1);
    assert_eq!(r, Err(VerifyError::MerklePath { phase: Phase::Quotient, query: 0 }));
}

#[test]
fn proof_with_changed_opened_value_is_rejected() {
    let r = tampered(|p| p.openings[0].main_local.0[0] ^= 1);
    assert_eq!(r, Err(VerifyError::OodMismatch { chip: "mac".into() }));
}

#[test]
fn proof_with_changed_fri_layer_commitment_is_rejected() {
    let r = tampered(|p| p.fri.layer_roots[0].iter_mut().for_each(|d| d[0] ^= 1));
    assert_eq!(r, Err(VerifyError::MerklePath { phase: Phase::FriLayer(1), query: 0 }));
}

#[test]
fn proof_with_changed_fri_layer_value_is_rejected() {
    // Changing both halves of a leaf consistently needs a new root; changing one breaks the path.
    let r = tampered(|p| p.fri.queries[1].fri_layers[0].values.0[0] ^= 1);
    assert_eq!(r, Err(VerifyError::MerklePath { phase: Phase::FriLayer(1), query: 1 }));
}

#[test]
fn proof_with_changed_final_polynomial_is_rejected() {
    let r = tampered(|p| p.fri.final_poly.0[0] ^= 1);
    assert_eq!(r, Err(VerifyError::FinalPolyMismatch { query: 0 }));
}

#[test]
fn proof_with_changed_pow_nonce_is_rejected() {
    let r = tampered(|p| p.fri.pow_nonce ^= 1 << 40);
    assert_eq!(r, Err(VerifyError::InvalidPowNonce));
}

#[test]
fn proof_with_changed_query_index_is_rejected() {
    // Another index opens other leaves: the paths no longer reach the roots.
    let r = tampered(|p| p.fri.queries[4].index ^= 1);
    assert_eq!(r, Err(VerifyError::MerklePath { phase: Phase::Preprocessed, query: 4 }));
}

#[test]
fn proof_with_swapped_queries_is_rejected() {
    // Both openings are valid on their own, at indices the transcript did not draw.
    let r = tampered(|p| {
        let (a, b) = (p.fri.queries[0].index, p.fri.queries[1].index);
        assert_ne!(a, b);
        p.fri.queries.swap(0, 1);
    });
    assert_eq!(r, Err(VerifyError::QueryIndexMismatch { query: 0 }));
}

#[test]
fn proof_with_unbalanced_cumulative_sums_is_rejected() {
    let r = tampered(|p| p.cumulative_sums.0[0] ^= 1);
    assert_eq!(r, Err(VerifyError::BusImbalance));
}

#[test]
fn truncated_proof_is_rejected() {
    let bytes = honest().proof.to_bytes();
    let fx = honest();
    for cut in [1, 10, bytes.len() / 2, bytes.len() - 1] {
        let r = verify(&fx.pk.circuit, &fx.pk.circuit_id, &fx.publics, &bytes[..cut], &vopts());
        assert_eq!(r, Err(VerifyError::Truncated), "cut at {cut}");
    }
}

#[test]
fn proof_with_trailing_bytes_is_rejected() {
    let mut bytes = honest().proof.to_bytes();
    bytes.push(0);
    let fx = honest();
    let r = verify(&fx.pk.circuit, &fx.pk.circuit_id, &fx.publics, &bytes, &vopts());
    assert_eq!(r, Err(VerifyError::TrailingBytes(1)));
}

#[test]
fn proof_for_another_circuit_id_is_rejected() {
    let fx = honest();
    let mut other = fx.pk.circuit_id;
    other[0] ^= 1;
    let r = verify_proof(&fx.pk.circuit, &other, &fx.publics, &fx.proof, &vopts());
    assert_eq!(r, Err(VerifyError::WrongCircuit));
}

#[test]
fn proof_with_other_preprocessed_root_is_rejected() {
    let r = tampered(|p| p.prep_roots[0][0][5] ^= 1);
    assert_eq!(r, Err(VerifyError::CircuitIdMismatch));
}

#[test]
fn proof_with_another_public_value_is_rejected() {
    let fx = honest();
    let mut publics = fx.publics.clone();
    publics[0] += F::ONE;
    let r = verify_proof(&fx.pk.circuit, &fx.pk.circuit_id, &publics, &fx.proof, &vopts());
    assert!(matches!(r, Err(VerifyError::OodMismatch { .. })), "{r:?}");
    let r = verify_proof(&fx.pk.circuit, &fx.pk.circuit_id, &publics[..1], &fx.proof, &vopts());
    assert_eq!(r, Err(VerifyError::PublicValuesLength { expected: 2, found: 1 }));
}

#[test]
fn proof_with_weaker_parameters_is_rejected() {
    let r = tampered(|p| p.fri.queries.truncate(10));
    assert_eq!(r, Err(VerifyError::InvalidShape("one opening per query")));
    let r = tampered(|p| p.header.n_queries = 10);
    assert_eq!(r, Err(VerifyError::InsufficientSecurity { bits: 38, required: 90 }));
    // An honest proof at weaker parameters is refused for its parameters.
    let ex = examples::mac(5, 2).unwrap();
    let weak = ProofOptions { log_blowup: 1, n_queries: 40, grinding_bits: 0, log_final_poly_len: 0, log_folding_factor: 3 };
    let pk = ProvingKey::new(ex.circuit, weak, &CpuBackend::default()).unwrap();
    let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
    let r = verify_proof(&pk.circuit, &pk.circuit_id, &ex.publics, &proof, &vopts());
    assert_eq!(r, Err(VerifyError::InsufficientSecurity { bits: 40, required: 90 }));
    let lenient = VerifierOptions { min_security_bits: 40, ..Default::default() };
    verify_proof(&pk.circuit, &pk.circuit_id, &ex.publics, &proof, &lenient).unwrap();
}

#[test]
fn proof_with_bad_magic_or_version_is_rejected() {
    assert_eq!(tampered(|p| p.header.magic[0] = b'X'), Err(VerifyError::BadMagic));
    assert_eq!(tampered(|p| p.header.version = 99), Err(VerifyError::UnsupportedVersion(99)));
    assert_eq!(tampered(|p| p.header.hash = 7), Err(VerifyError::UnsupportedHash(7)));
}

#[test]
fn proof_with_non_canonical_element_is_rejected() {
    let r = tampered(|p| p.fri.final_poly.0[1] = u64::MAX);
    assert_eq!(r, Err(VerifyError::NonCanonical("final polynomial")));
}

// ---- Random bytes ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_and_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let fx = honest();
        let r = verify(&fx.pk.circuit, &fx.pk.circuit_id, &fx.publics, &bytes, &vopts());
        prop_assert!(r.is_err());
    }

    #[test]
    fn single_byte_flips_never_panic_and_are_rejected(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let fx = honest();
        let mut bytes = fx.proof.to_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let r = verify(&fx.pk.circuit, &fx.pk.circuit_id, &fx.publics, &bytes, &vopts());
        prop_assert!(r.is_err(), "flip at byte {} bit {} verified", i, bit);
    }
}

/// Every byte of a valid proof, flipped one at a time: `cargo test --release -p sigil-tests
/// --test soundness -- --ignored every_byte_flip`.
#[test]
#[ignore = "exhaustive: one verification per proof byte (about a minute in release)"]
fn every_byte_flip_is_rejected_without_panic() {
    let fx = honest();
    let bytes = fx.proof.to_bytes();
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        let r = verify(&fx.pk.circuit, &fx.pk.circuit_id, &fx.publics, &b, &vopts());
        assert!(r.is_err(), "flip at byte {i} verified");
    }
}
