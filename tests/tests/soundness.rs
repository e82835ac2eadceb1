//! Rejection: bad traces, tampered proofs (one mutation per test, each with its exact error),
//! a malicious prover that gets past the out-of-domain check (caught by FRI), structured
//! header edits, the circuit's heights and parameters, the encoding, and random bytes.

use p3_field::PrimeCharacteristicRing;
use proptest::prelude::*;
use sigil_air::chips::mac::MacChain;
use sigil_air::{F, Trace};
use sigil_prover::examples::{self, Example};
use sigil_prover::{Attack, CpuBackend, ProverConfig, ProvingKey, prove, prove_malicious};
use sigil_verifier::proof::{HEADER_BYTES, Proof};
use sigil_verifier::{
    Circuit, CircuitError, Phase, ProofOptions, VerifierOptions, VerifyError, decode_proof, verify, verify_proof,
};
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

fn transfer() -> Example {
    examples::transfer(6, 4, 11, opts()).unwrap()
}

struct Fixture {
    pk: ProvingKey,
    publics: Vec<F>,
    proof: Proof,
    bytes: Vec<u8>,
}

fn honest() -> &'static Fixture {
    static FX: OnceLock<Fixture> = OnceLock::new();
    FX.get_or_init(|| {
        let Example { circuit, traces, publics } = transfer();
        let pk = ProvingKey::new(circuit, &CpuBackend::default()).unwrap();
        let proof = prove(&pk, traces, &publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
        let bytes = proof.to_bytes();
        Fixture { pk, publics, proof, bytes }
    })
}

fn check(proof: &Proof) -> Result<(), VerifyError> {
    let fx = honest();
    verify_proof(&fx.pk.circuit, &fx.pk.circuit_id, &fx.publics, proof, &vopts())
}

fn check_bytes(bytes: &[u8]) -> Result<(), VerifyError> {
    let fx = honest();
    verify(&fx.pk.circuit, &fx.pk.circuit_id, &fx.publics, bytes, &vopts())
}

fn prove_bad(mutate: impl FnOnce(&mut Example)) -> Result<(), VerifyError> {
    let mut ex = transfer();
    mutate(&mut ex);
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &unchecked()).unwrap();
    verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts())
}

#[test]
fn honest_proof_verifies() {
    check(&honest().proof).unwrap();
    let fx = honest();
    check_bytes(&fx.bytes).unwrap();
    assert_eq!(fx.bytes.len(), fx.pk.circuit.proof_size());
    assert_eq!(decode_proof(&fx.pk.circuit, &fx.bytes, 1 << 26).unwrap(), fx.proof);
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

/// The consumer drops one received tuple (a padding row in its place) and sums the rest: every
/// constraint holds, but the data bus does not balance.
fn drop_one_tuple(ex: &mut Example) {
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
}

#[test]
fn unbalanced_bus_is_rejected() {
    assert_eq!(prove_bad(drop_one_tuple), Err(VerifyError::BusImbalance));
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

// ---- A malicious prover: past the out-of-domain check, caught by FRI ---------------------------

fn prove_lying(mutate: impl FnOnce(&mut Example), attack: Attack) -> Result<(), VerifyError> {
    let mut ex = transfer();
    mutate(&mut ex);
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let proof = prove_malicious(&pk, ex.traces, &ex.publics, &CpuBackend::default(), attack).unwrap();
    verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts())
}

fn assert_caught_by_fri(r: Result<(), VerifyError>) {
    assert!(
        matches!(r, Err(VerifyError::FinalPolyMismatch { .. } | VerifyError::FriFoldMismatch { .. })),
        "expected FRI to reject, got {r:?}"
    );
}

#[test]
fn forged_out_of_domain_opening_of_an_honest_trace_still_verifies() {
    // The attack rewrites nothing when the traces are honest: the forgery is a no-op there, so
    // the rejections below come from the lie, not from the tool.
    prove_lying(|_| {}, Attack::ForgeOutOfDomain).unwrap();
}

#[test]
fn false_public_value_with_forged_out_of_domain_opening_is_rejected_by_fri() {
    let r = prove_lying(|ex| ex.publics[0] += F::ONE, Attack::ForgeOutOfDomain);
    assert_caught_by_fri(r);
}

#[test]
fn one_row_violation_with_forged_out_of_domain_opening_is_rejected_by_fri() {
    let r = prove_lying(
        |ex| {
            let v = ex.traces[0].get(9, 0);
            ex.traces[0].set(9, 0, v + F::ONE);
        },
        Attack::ForgeOutOfDomain,
    );
    assert_caught_by_fri(r);
}

#[test]
fn unbalanced_bus_with_balanced_sums_and_forged_opening_is_rejected_by_fri() {
    let r = prove_lying(drop_one_tuple, Attack::BalanceBusesAndForgeOutOfDomain);
    assert_caught_by_fri(r);
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
    // The layer roots feed the transcript: the query indices change first.
    let r = tampered(|p| p.fri.layer_roots[0].iter_mut().for_each(|d| d[0] ^= 1));
    assert!(matches!(r, Err(VerifyError::InvalidPowNonce | VerifyError::QueryIndexMismatch { .. })), "{r:?}");
}

#[test]
fn proof_with_changed_fri_layer_value_is_rejected() {
    // Changing both halves of a leaf consistently needs a new root; changing one breaks the path.
    let r = tampered(|p| p.fri.queries[1].fri_layers[0].values.0[0] ^= 1);
    assert_eq!(r, Err(VerifyError::MerklePath { phase: Phase::FriLayer(0), query: 1 }));
}

#[test]
fn proof_with_changed_final_polynomial_is_rejected() {
    // The final polynomial is absorbed before the proof of work.
    let r = tampered(|p| p.fri.final_poly.0[0] ^= 1);
    assert!(matches!(r, Err(VerifyError::InvalidPowNonce | VerifyError::QueryIndexMismatch { .. })), "{r:?}");
}

#[test]
fn proof_with_changed_pow_nonce_is_rejected() {
    let r = tampered(|p| p.fri.pow_nonce ^= 1 << 40);
    assert_eq!(r, Err(VerifyError::InvalidPowNonce));
}

#[test]
fn proof_with_changed_query_index_is_rejected() {
    let r = tampered(|p| p.fri.queries[4].index ^= 1);
    assert_eq!(r, Err(VerifyError::QueryIndexMismatch { query: 4 }));
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
fn proof_with_non_canonical_element_is_rejected() {
    let r = tampered(|p| p.fri.final_poly.0[1] = u64::MAX);
    assert_eq!(r, Err(VerifyError::NonCanonical("final polynomial")));
}

#[test]
fn proof_with_fewer_queries_is_rejected() {
    let r = tampered(|p| p.fri.queries.truncate(10));
    assert_eq!(r, Err(VerifyError::InvalidShape("one opening per query")));
}

// ---- The header, field by field (on the bytes) -------------------------------------------------

/// The honest bytes with `f` applied to them.
fn edited(f: impl FnOnce(&mut Vec<u8>)) -> Result<(), VerifyError> {
    let mut b = honest().bytes.clone();
    f(&mut b);
    check_bytes(&b)
}

#[test]
fn header_fields_are_each_checked() {
    let param = |parameter, expected, found| Err(VerifyError::ParameterMismatch { parameter, expected, found });
    assert_eq!(edited(|b| b[0] = b'X'), Err(VerifyError::BadMagic));
    assert_eq!(edited(|b| b[3] = 2), Err(VerifyError::BadMagic));
    assert_eq!(edited(|b| b[4] = 1), Err(VerifyError::UnsupportedVersion(1)));
    assert_eq!(edited(|b| b[5] = 1), Err(VerifyError::UnsupportedVersion(0x0100 | sigil_verifier::proof::FORMAT_VERSION)));
    assert_eq!(edited(|b| b[6] = 2), Err(VerifyError::UnsupportedField(2)));
    assert_eq!(edited(|b| b[7] = 7), Err(VerifyError::UnsupportedHash(7)));
    assert_eq!(edited(|b| b[8] = 2), param("log_blowup", 3, 2));
    assert_eq!(edited(|b| b[9] = 27), param("n_queries", 28, 27));
    assert_eq!(edited(|b| b[10] = 1), param("n_queries", 28, 256 + 28));
    assert_eq!(edited(|b| b[11] = 19), param("grinding_bits", 8, 19));
    assert_eq!(edited(|b| b[12] = 5), param("log_final_poly_len", 2, 5));
    assert_eq!(edited(|b| b[13] = 1), param("log_folding_factor", 3, 1));
    for i in 14..HEADER_BYTES {
        assert_eq!(edited(|b| b[i] ^= 1), Err(VerifyError::WrongCircuit), "circuit id byte {}", i - 14);
    }
    assert_eq!(
        edited(|b| b[HEADER_BYTES + 2] = 9),
        Err(VerifyError::HeightMismatch { chip: "consumer".into(), expected: 5, found: 9 })
    );
    assert_eq!(
        edited(|b| b[HEADER_BYTES] = 16),
        Err(VerifyError::HeightMismatch { chip: "mac".into(), expected: 6, found: 16 })
    );
    assert_eq!(
        edited(|b| b[HEADER_BYTES + 3] = 7),
        Err(VerifyError::HeightMismatch { chip: "range8".into(), expected: 8, found: 7 })
    );
}

#[test]
fn header_mutations_never_verify() {
    // Every value of every header and height byte: one accepted value per byte, the honest one.
    let fx = honest();
    for i in 0..HEADER_BYTES + fx.pk.circuit.n_tables() {
        for v in 0..=255u8 {
            if v == fx.bytes[i] {
                continue;
            }
            let r = edited(|b| b[i] = v);
            assert!(r.is_err(), "byte {i} = {v} verified");
            assert!(!matches!(r, Err(VerifyError::InvalidShape(_))), "byte {i} = {v}: {r:?}");
        }
    }
}

// ---- The circuit fixes the heights and the parameters -------------------------------------------

/// A MAC trace of `2^log_n` rows whose result is `target`: seeded rows, and the last row's
/// factors chosen to land on it.
fn mac_trace_reaching(log_n: usize, target: F) -> Trace {
    let (mut t, _) = MacChain::generate_trace(log_n, 77);
    let last = t.height() - 1;
    let acc = t.get(last, 0);
    t.set(last, 1, target - acc);
    t.set(last, 2, F::ONE);
    t
}

#[test]
fn short_trace_reaching_the_public_result_is_not_the_tall_circuit() {
    // The circuit a verifier holds: a MAC chain of 2^16 rows, and its public result.
    let tall = examples::mac(16, 1, ProofOptions::default()).unwrap();
    let tall_pk = ProvingKey::new(tall.circuit, &CpuBackend::default()).unwrap();
    let target = tall.publics[0];
    // A 32-row trace reaching the same result, proven honestly as a 32-row circuit.
    let short = Circuit::new("mac", vec![Box::new(MacChain)], &[5], 1, ProofOptions::default()).unwrap();
    let short_pk = ProvingKey::new(short, &CpuBackend::default()).unwrap();
    let mut proof =
        prove(&short_pk, vec![mac_trace_reaching(5, target)], &[target], &CpuBackend::default(), &ProverConfig::default()).unwrap();
    let v = VerifierOptions::default();
    verify(&short_pk.circuit, &short_pk.circuit_id, &[target], &proof.to_bytes(), &v).unwrap();
    // Presented as the tall circuit: another id; with the tall id in its header, other heights.
    let r = verify(&tall_pk.circuit, &tall_pk.circuit_id, &[target], &proof.to_bytes(), &v);
    assert_eq!(r, Err(VerifyError::WrongCircuit));
    proof.header.circuit_id = tall_pk.circuit_id;
    let r = verify(&tall_pk.circuit, &tall_pk.circuit_id, &[target], &proof.to_bytes(), &v);
    assert_eq!(r, Err(VerifyError::HeightMismatch { chip: "mac".into(), expected: 16, found: 5 }));
    let r = verify_proof(&tall_pk.circuit, &tall_pk.circuit_id, &[target], &proof, &v);
    assert_eq!(r, Err(VerifyError::HeightMismatch { chip: "mac".into(), expected: 16, found: 5 }));
}

#[test]
fn proof_of_other_parameters_is_not_the_circuit() {
    // 3 * 27 + 19 = 100 and 3 * 26 + 22 = 100: as many conjectured bits as 28 / 16, another circuit.
    let ours = examples::mac(8, 1, ProofOptions::default()).unwrap();
    let ours_pk = ProvingKey::new(ours.circuit, &CpuBackend::default()).unwrap();
    for (n_queries, grinding_bits) in [(27u16, 19u8), (26, 22)] {
        let o = ProofOptions { n_queries, grinding_bits, ..ProofOptions::default() };
        let ex = examples::mac(8, 1, o).unwrap();
        let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
        assert_eq!(pk.circuit.security.conjectured_bits, 100);
        let mut proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
        let v = VerifierOptions::default();
        let r = verify(&ours_pk.circuit, &ours_pk.circuit_id, &ex.publics, &proof.to_bytes(), &v);
        assert_eq!(r, Err(VerifyError::WrongCircuit));
        proof.header.circuit_id = ours_pk.circuit_id;
        let r = verify(&ours_pk.circuit, &ours_pk.circuit_id, &ex.publics, &proof.to_bytes(), &v);
        let e = VerifyError::ParameterMismatch { parameter: "n_queries", expected: 28, found: n_queries.into() };
        assert_eq!(r, Err(e));
    }
}

#[test]
fn circuit_id_binds_heights_options_and_publics() {
    let id = |log_n: usize, o: ProofOptions| {
        let c = Circuit::new("mac", vec![Box::new(MacChain)], &[log_n], 1, o).unwrap();
        ProvingKey::new(c, &CpuBackend::default()).unwrap().circuit_id
    };
    let base = id(6, opts());
    assert_ne!(base, id(7, opts()));
    for o in [
        ProofOptions { log_blowup: 2, ..opts() },
        ProofOptions { n_queries: 27, ..opts() },
        ProofOptions { grinding_bits: 9, ..opts() },
        ProofOptions { log_final_poly_len: 1, ..opts() },
        ProofOptions { log_folding_factor: 2, ..opts() },
    ] {
        assert_ne!(base, id(6, o), "{o:?}");
    }
}

#[test]
fn circuit_refuses_a_public_value_no_constraint_reads() {
    let r = Circuit::new("mac", vec![Box::new(MacChain)], &[6], 2, opts());
    assert_eq!(r.unwrap_err(), CircuitError::UnreadPublic(1));
    let r = Circuit::new("mac", vec![Box::new(MacChain)], &[6], 0, opts());
    assert!(matches!(r, Err(CircuitError::PublicOutOfRange { index: 0, .. })), "{r:?}");
}

#[test]
fn circuit_refuses_bad_heights_and_options() {
    let mac = |h: &[usize], o| Circuit::new("mac", vec![Box::new(MacChain)], h, 1, o).map(|_| ());
    assert_eq!(mac(&[6, 7], opts()), Err(CircuitError::HeightCount { chips: 1, heights: 2 }));
    assert!(matches!(mac(&[0], opts()), Err(CircuitError::Height { log_height: 0, .. })));
    assert!(matches!(mac(&[23], opts()), Err(CircuitError::Height { log_height: 23, max: 22, .. })));
    assert_eq!(mac(&[6], ProofOptions { n_queries: 0, ..opts() }), Err(CircuitError::Options("n_queries must be in 1..=512")));
    // The range table's preprocessed column has 256 rows.
    let r = Circuit::new("t", vec![Box::new(sigil_air::chips::range::RangeTable { bits: 8 })], &[9], 0, opts());
    assert!(matches!(r, Err(CircuitError::PreprocessedHeight { log_height: 9, prep_height: 256, .. })), "{r:?}");
}

#[test]
fn prover_refuses_a_trace_of_another_height() {
    let ex = examples::mac(6, 1, opts()).unwrap();
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let (t, r) = MacChain::generate_trace(5, 1);
    let e = prove(&pk, vec![t], &[r], &CpuBackend::default(), &ProverConfig::default()).unwrap_err();
    assert_eq!(e.to_string(), "chip `mac`: trace has 32 rows; the circuit fixes 2^6");
}

// ---- Sizes and encoding ---------------------------------------------------------------------------

#[test]
fn proof_of_another_size_is_rejected_before_decoding() {
    let fx = honest();
    let n = fx.bytes.len();
    for cut in [HEADER_BYTES, HEADER_BYTES + 2, HEADER_BYTES + 4, n / 2, n - 1] {
        assert_eq!(check_bytes(&fx.bytes[..cut]), Err(VerifyError::WrongSize { expected: n, found: cut }), "cut {cut}");
    }
    for cut in [0, 1, HEADER_BYTES - 1] {
        assert_eq!(check_bytes(&fx.bytes[..cut]), Err(VerifyError::Truncated), "cut {cut}");
    }
    let mut longer = fx.bytes.clone();
    longer.push(0);
    assert_eq!(check_bytes(&longer), Err(VerifyError::WrongSize { expected: n, found: n + 1 }));
    let huge = vec![0u8; (64 << 20) + 1];
    assert_eq!(check_bytes(&huge), Err(VerifyError::TooLarge { size: huge.len(), limit: 64 << 20 }));
}

#[test]
fn a_version_1_proof_is_refused_by_its_version() {
    // The header of a version-1 proof of the same circuit: magic, varint version 1, field 1,
    // hash 1, then the parameters as varints.
    let mut b = honest().bytes.clone();
    b[4..8].copy_from_slice(&[1, 1, 1, 3]);
    assert_eq!(check_bytes(&b), Err(VerifyError::UnsupportedVersion(1)));
}

#[test]
fn an_overlong_encoding_of_a_field_is_rejected() {
    // Version 1's varints let `01` be written `81 00`; every field now has one width, so the
    // longer spelling is another size.
    let fx = honest();
    let mut b = fx.bytes.clone();
    b.insert(5, 0x00);
    b[4] |= 0x80;
    assert!(matches!(check_bytes(&b), Err(VerifyError::UnsupportedVersion(_))));
    let mut b = fx.bytes.clone();
    b.insert(HEADER_BYTES + 8, 0);
    assert_eq!(check_bytes(&b), Err(VerifyError::WrongSize { expected: b.len() - 1, found: b.len() }));
}

#[test]
fn non_canonical_words_are_refused_when_decoding() {
    // The first LogUp sum word follows the header, the heights and the caps.
    let fx = honest();
    let caps: usize = [&fx.proof.prep_roots, &fx.proof.main_roots, &fx.proof.perm_roots]
        .iter()
        .map(|c| c.iter().map(|c| 32 * c.len()).sum::<usize>())
        .sum();
    let at = HEADER_BYTES + fx.pk.circuit.n_tables() + caps;
    let mut b = fx.bytes.clone();
    let w = u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    // w + p is the same field element, spelled differently.
    let alias = w.checked_add(sigil_air::field::P);
    if let Some(alias) = alias {
        b[at..at + 8].copy_from_slice(&alias.to_le_bytes());
        assert_eq!(check_bytes(&b), Err(VerifyError::NonCanonical("LogUp sums")));
    }
    b[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(check_bytes(&b), Err(VerifyError::NonCanonical("LogUp sums")));
}

// ---- Random bytes ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_and_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        prop_assert!(check_bytes(&bytes).is_err());
    }

    #[test]
    fn random_bytes_of_the_right_size_never_panic_and_are_rejected(seed in any::<u64>()) {
        let fx = honest();
        let mut s = seed;
        let mut b: Vec<u8> = (0..fx.bytes.len()).map(|_| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 56) as u8 }).collect();
        // With a valid header and heights, the body is what is tested.
        b[..HEADER_BYTES + 4].copy_from_slice(&fx.bytes[..HEADER_BYTES + 4]);
        prop_assert!(check_bytes(&b).is_err());
    }

    #[test]
    fn single_byte_flips_never_panic_and_are_rejected(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let fx = honest();
        let mut bytes = fx.bytes.clone();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let r = check_bytes(&bytes);
        prop_assert!(r.is_err(), "flip at byte {} bit {} verified", i, bit);
    }

    #[test]
    fn what_decodes_encodes_back_to_the_same_bytes(pos in any::<prop::sample::Index>(), v in any::<u8>()) {
        // One proof, one byte string: any bytes that decode are the encoding of what they
        // decode to.
        let fx = honest();
        let mut bytes = fx.bytes.clone();
        let i = pos.index(bytes.len());
        bytes[i] = v;
        if let Ok(p) = decode_proof(&fx.pk.circuit, &bytes, 1 << 26) {
            prop_assert_eq!(p.to_bytes(), bytes);
        }
    }
}

/// Every byte of a valid proof, flipped one at a time: `cargo test --release -p sigil-tests
/// --test soundness -- --ignored every_byte_flip`.
#[test]
#[ignore = "exhaustive: one verification per proof byte (about a minute in release)"]
fn every_byte_flip_is_rejected_without_panic() {
    let fx = honest();
    for i in 0..fx.bytes.len() {
        let mut b = fx.bytes.clone();
        b[i] ^= 0x5a;
        assert!(check_bytes(&b).is_err(), "flip at byte {i} verified");
    }
}

// ---- Freivalds' check of a fully connected layer ---------------------------------------------------

/// The `fc` layer's first output changed by one, with the consumer's trace and the public sum
/// following it: every bus balances and every base constraint holds; only the product is false.
fn false_product(ex: &mut Example) {
    let c0 = ex.traces[1].get(0, 1);
    ex.traces[1].set(0, 1, c0 + F::ONE);
    let out = &mut ex.traces[2];
    out.set(0, 1, c0 + F::ONE);
    let mut sum = F::ZERO;
    for row in 0..out.height() {
        sum += out.get(row, 1) * out.get(row, 2);
        out.set(row, 3, sum);
    }
    ex.publics[0] = sum;
}

#[test]
fn false_matrix_product_is_rejected() {
    let mut ex = examples::vecmat(4, 10, 3, opts()).unwrap();
    false_product(&mut ex);
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let checked = prove(&pk, ex.traces.clone(), &ex.publics, &CpuBackend::default(), &ProverConfig { check_constraints: true, log_timings: false });
    let e = checked.unwrap_err().to_string();
    assert!(e.contains("chip `fc`") && e.contains("s ends at zero"), "{e}");
    let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &unchecked()).unwrap();
    let r = verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts());
    // `fc` shares its quotient with `producer` and `out` (one height, one chunk count).
    assert_eq!(r, Err(VerifyError::OodMismatch { chip: "producer + fc + out".into() }));
}

#[test]
fn false_matrix_product_with_forged_opening_is_rejected_by_fri() {
    let mut ex = examples::vecmat(4, 10, 3, opts()).unwrap();
    false_product(&mut ex);
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let proof = prove_malicious(&pk, ex.traces, &ex.publics, &CpuBackend::default(), Attack::ForgeOutOfDomain).unwrap();
    assert_caught_by_fri(verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts()));
}

// ---- Public tensors on buses -----------------------------------------------------------------------

fn dense() -> (ProvingKey, Vec<F>, Vec<u8>) {
    let ex = examples::dense(3, 5, 21, opts()).unwrap();
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
    (pk, ex.publics, proof.to_bytes())
}

#[test]
fn proof_of_a_layer_against_another_output_or_input_is_rejected() {
    let (pk, publics, bytes) = dense();
    verify(&pk.circuit, &pk.circuit_id, &publics, &bytes, &vopts()).unwrap();
    for i in [0, 7, 8, 12] {
        // Inputs are publics 0..8, outputs 8..13.
        let mut other = publics.clone();
        other[i] += F::ONE;
        let r = verify(&pk.circuit, &pk.circuit_id, &other, &bytes, &vopts());
        assert_eq!(r, Err(VerifyError::BusImbalance), "public {i}");
    }
}

#[test]
fn false_output_of_a_public_layer_is_rejected() {
    // The layer's first output and the public output both off by one: the buses balance, the
    // product does not.
    let mut ex = examples::dense(3, 5, 21, opts()).unwrap();
    let c0 = ex.traces[0].get(0, 1);
    ex.traces[0].set(0, 1, c0 + F::ONE);
    ex.publics[8] += F::ONE;
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let checked = prove(&pk, ex.traces.clone(), &ex.publics, &CpuBackend::default(), &ProverConfig::default());
    assert!(checked.unwrap_err().to_string().contains("s ends at zero"));
    let proof = prove(&pk, ex.traces.clone(), &ex.publics, &CpuBackend::default(), &unchecked()).unwrap();
    let r = verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts());
    assert_eq!(r, Err(VerifyError::OodMismatch { chip: "fc".into() }));
    let proof = prove_malicious(&pk, ex.traces, &ex.publics, &CpuBackend::default(), Attack::ForgeOutOfDomain).unwrap();
    assert_caught_by_fri(verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts()));
}

#[test]
fn claimed_output_unlike_the_trace_with_balanced_sums_is_rejected_by_fri() {
    // An honest trace, another public output, and the layer's claimed LogUp sum rewritten so
    // that the buses (public tuples included) balance: its running sum then breaks.
    let ex = examples::dense(3, 5, 21, opts()).unwrap();
    let mut publics = ex.publics.clone();
    publics[9] += F::ONE;
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let proof = prove_malicious(&pk, ex.traces, &publics, &CpuBackend::default(), Attack::BalanceBusesAndForgeOutOfDomain).unwrap();
    assert_caught_by_fri(verify(&pk.circuit, &pk.circuit_id, &publics, &proof.to_bytes(), &vopts()));
}

#[test]
fn public_bus_outside_the_public_values_is_refused() {
    let m = sigil_air::chips::matmul::VecMat {
        name: "fc".into(),
        k: 2,
        n: 2,
        weights: vec![F::ONE; 4],
        bias: vec![],
        log_height: 1,
        in_bus: Some(sigil_air::chips::BUS_DATA),
        out_bus: None,
    };
    let st = sigil_verifier::Statement {
        n_publics: 2,
        public_buses: vec![sigil_verifier::PublicBus::new(1, sigil_air::Direction::Send, 1, 2)],
    };
    let r = Circuit::new("x", vec![Box::new(m)], &[1], st, opts());
    assert_eq!(r.unwrap_err(), CircuitError::PublicBusRange { bus: 1, start: 1, end: 3, n_publics: 2 });
}

#[test]
fn perceptron_proof_against_another_output_is_rejected() {
    let ex = examples::mlp(4, opts()).unwrap();
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let proof = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap().to_bytes();
    verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof, &vopts()).unwrap();
    let mut other = ex.publics.clone();
    *other.last_mut().unwrap() += F::ONE;
    assert_eq!(verify(&pk.circuit, &pk.circuit_id, &other, &proof, &vopts()), Err(VerifyError::BusImbalance));
}

// ---- Stacked tables ------------------------------------------------------------------------------

/// Three rescales of 3 inputs each in one table of 16 rows (12 of them the members', 4 of
/// padding), and the range table.
fn stacked() -> Example {
    examples::stacked_rescales(3, 3, 17, opts()).unwrap()
}

fn prove_stacked(mutate: impl FnOnce(&mut Example), attack: Attack) -> Result<(), VerifyError> {
    let mut ex = stacked();
    mutate(&mut ex);
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let proof = prove_malicious(&pk, ex.traces, &ex.publics, &CpuBackend::default(), attack).unwrap();
    verify(&pk.circuit, &pk.circuit_id, &ex.publics, &proof.to_bytes(), &vopts())
}

/// Adds one to cell `(row, col)` of the stacked table.
fn bump(row: usize, col: usize) -> impl FnOnce(&mut Example) {
    move |ex| {
        let v = ex.traces[0].get(row, col);
        ex.traces[0].set(row, col, v + F::ONE);
    }
}

#[test]
fn a_stacked_table_proves_and_verifies() {
    let ex = stacked();
    assert_eq!(ex.circuit.n_tables(), 2, "three rescales in one table, and the range table");
    assert_eq!(ex.circuit.log_heights[0], 4);
    assert_eq!(ex.circuit.infos[0].name, "rescale 0 (+2 stacked)");
    // The constraint check of the honest prover passes too.
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap();
    prove_stacked(|_| {}, Attack::None).unwrap();
}

#[test]
fn one_changed_cell_of_a_stacked_table_is_rejected_in_a_member_and_in_padding() {
    // Column 2 is the remainder (on no bus): row 5 is the second member's second element, row
    // 9 the third member's; rows 12 to 15 are padding, whose every cell is constrained too.
    for (row, col) in [(5, 2), (9, 2), (14, 0), (14, 2), (15, 1)] {
        let r = prove_stacked(bump(row, col), Attack::None);
        assert_eq!(r, Err(VerifyError::OodMismatch { chip: "rescale 0 (+2 stacked)".into() }), "row {row}, column {col}");
    }
    // A member's output (column 1) is also on its bus: the sums catch it first.
    assert_eq!(prove_stacked(bump(5, 1), Attack::None), Err(VerifyError::BusImbalance));
}

#[test]
fn another_output_of_a_stacked_member_is_refused_by_the_bus() {
    // The third member's first output, as the statement claims it: nothing on the buses sends it.
    let r = prove_stacked(|ex| ex.publics[9 + 6] += F::ONE, Attack::None);
    assert_eq!(r, Err(VerifyError::BusImbalance));
}

#[test]
fn a_row_violation_in_a_stacked_table_with_a_forged_opening_is_rejected_by_fri() {
    prove_stacked(|_| {}, Attack::ForgeOutOfDomain).unwrap();
    assert_caught_by_fri(prove_stacked(bump(5, 2), Attack::ForgeOutOfDomain));
    assert_caught_by_fri(prove_stacked(bump(14, 0), Attack::ForgeOutOfDomain));
}
