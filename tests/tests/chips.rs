//! Op chips against the executor: seeded random cases where the chip's trace gives the
//! executor's integers, and proofs of them whose statement is the input and the output.

use p3_field::PrimeCharacteristicRing;
use sigil_air::chips::SplitMix64;
use sigil_air::chips::range::RangeTable;
use sigil_air::chips::rescale::Rescale;
use sigil_air::chips::unary::UnaryIo;
use sigil_air::chips::{BUS_DATA, BUS_OUT};
use sigil_air::chips::range::range_lookups;
use sigil_air::{Direction, F};
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, prove};
use sigil_verifier::{Circuit, ProofOptions, PublicBus, Statement, VerifierOptions, VerifyError, verify};

fn opts() -> ProofOptions {
    ProofOptions { log_blowup: 3, n_queries: 28, grinding_bits: 8, log_final_poly_len: 2, log_folding_factor: 3 }
}

#[test]
fn rescale_matches_the_executor_on_seeded_random_cases() {
    let mut rng = SplitMix64(2026);
    for case in 0..2000 {
        let shift = (rng.next_u64() % 33) as u32;
        let in_bits = shift + 1 + (rng.next_u64() % 24) as u32;
        let out_bits = in_bits - shift + 2;
        let c = Rescale::new("r", shift, in_bits, out_bits, UnaryIo::new(BUS_DATA, BUS_OUT, 4)).unwrap();
        let m = 1i64 << in_bits;
        let inputs: Vec<i64> = (0..4).map(|_| (rng.next_u64() % (2 * m as u64 - 1)) as i64 - (m - 1)).collect();
        let (_, out, _) = c.generate_trace(&inputs);
        for (&x, &y) in inputs.iter().zip(&out) {
            assert_eq!(i128::from(y), sigil_onnx::exec::rescale(i128::from(x), shift), "case {case}: x = {x}, s = {shift}");
        }
    }
}

/// A rescale whose statement is its inputs and outputs, with its range table.
fn rescale_circuit(c: &Rescale, n: usize) -> Circuit {
    let statement = Statement {
        n_publics: 2 * n,
        public_buses: vec![
            PublicBus::new(BUS_DATA, Direction::Send, 0, n),
            PublicBus::new(BUS_OUT, Direction::Receive, n, n),
        ],
    };
    Circuit::new("rescale", vec![Box::new(c.clone()), Box::new(RangeTable { bits: 8 })], &[4, 8], statement, opts()).unwrap()
}

fn publics(inputs: &[i64], out: &[i64]) -> Vec<F> {
    inputs.iter().map(|&x| F::from_i64(x)).chain(out.iter().map(|&y| F::from_i64(y))).collect()
}

#[test]
fn rescale_proves_its_outputs_and_refuses_a_wrapped_one() {
    let c = Rescale::new("r", 16, 40, 26, UnaryIo::new(BUS_DATA, BUS_OUT, 12)).unwrap();
    let mut rng = SplitMix64(5);
    let inputs: Vec<i64> = (0..12).map(|_| (rng.next_u64() >> 24) as i64 - (1 << 39)).collect();
    let (trace, out, lookups) = c.generate_trace(&inputs);
    let range = RangeTable { bits: 8 }.generate_trace(lookups.iter().copied());
    let pk = ProvingKey::new(rescale_circuit(&c, 12), &CpuBackend::default()).unwrap();
    let v = VerifierOptions { min_security_bits: 90, ..Default::default() };
    let pubs = publics(&inputs, &out);
    let proof = prove(&pk, vec![trace.clone(), range.clone()], &pubs, &CpuBackend::default(), &ProverConfig::default()).unwrap();
    verify(&pk.circuit, &pk.circuit_id, &pubs, &proof.to_bytes(), &v).unwrap();

    // The first output one more, its remainder 2^16 less (p - something: a wrap), every limb
    // following the wrapped values, and the range table counting every lookup of the forged
    // trace that lies in the table: the rescale constraint holds; the range bus cannot balance.
    let mut bad = trace;
    let w = bad.width;
    // Columns: x, y, r, r's two limbs, y's four limbs.
    let (y, r) = (bad.get(0, 1), bad.get(0, 2));
    let wrapped = r - F::from_u64(1 << 16);
    bad.set(0, 1, y + F::ONE);
    bad.set(0, 2, wrapped);
    // Two limbs for 16 bits: put the whole wrapped value in the low one.
    bad.set(0, 3, wrapped);
    bad.set(0, 4, F::ZERO);
    let y_limbs = sigil_air::chips::range::byte_limbs((out[0] + 1 + (1 << 25)) as u64, 4);
    for (i, l) in y_limbs.into_iter().enumerate() {
        bad.set(0, 5 + i, l);
    }
    assert_eq!(w, 9);
    let mut bad_out = out.clone();
    bad_out[0] += 1;
    let bad_pubs = publics(&inputs, &bad_out);
    let off = 1u64 << 25;
    let honest_row0: Vec<F> = [range_lookups(sigil_air::field::f_to_u64(r), 16), range_lookups((out[0] + off as i64) as u64, 26)].concat();
    let forged_row0: Vec<F> = [vec![wrapped, F::ZERO], range_lookups((out[0] + 1 + off as i64) as u64, 26)].concat();
    let mut forged = lookups.clone();
    for h in &honest_row0 {
        let at = forged.iter().position(|x| x == h).unwrap();
        let _ = forged.swap_remove(at);
    }
    forged.extend(forged_row0);
    let range = RangeTable { bits: 8 }.generate_trace(forged.iter().copied());
    let unchecked = ProverConfig { check_constraints: false, log_timings: false };
    let proof = prove(&pk, vec![bad, range], &bad_pubs, &CpuBackend::default(), &unchecked).unwrap();
    let r = verify(&pk.circuit, &pk.circuit_id, &bad_pubs, &proof.to_bytes(), &v);
    assert_eq!(r, Err(VerifyError::BusImbalance));
}
