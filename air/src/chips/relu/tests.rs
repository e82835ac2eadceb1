use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::chips::unary::Y;
use crate::check::CheckFailure;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};

fn chip(bits: u32, n: usize) -> Relu {
    Relu { name: "relu".into(), bits, abs: false, io: UnaryIo::new(BUS_DATA, BUS_OUT, n) }
}

fn check(c: &Relu, inputs: &[i64], outputs: &[i64], trace: &Trace, lookups: &[F]) -> Result<(), Vec<CheckFailure>> {
    crate::chips::check_unary(c, inputs, outputs, trace, lookups)
}

#[test]
fn honest_traces_pass() {
    let mut rng = SplitMix64(4);
    for bits in [2u32, 9, 17, 33, 62] {
        let half = 1i64 << (bits - 1);
        let inputs: Vec<i64> = (0..16).map(|_| (rng.next_u64() % (2 * half as u64 - 1)) as i64 - (half - 1)).collect();
        let (t, out, lookups) = chip(bits, 16).generate_trace(&inputs);
        for (&x, &y) in inputs.iter().zip(&out) {
            assert_eq!(y, x.max(0));
        }
        check(&chip(bits, 16), &inputs, &out, &t, &lookups).unwrap_or_else(|e| panic!("{bits} bits: {e:?}"));
    }
}

#[test]
fn one_changed_cell_fails() {
    // No zero input: the sign of 0 is free (either way y = 0), the one cell that may change.
    let c = chip(12, 4);
    let inputs = vec![5, -7, 1, 2047];
    let (t, out, lookups) = c.generate_trace(&inputs);
    crate::chips::every_changed_cell_fails_unary(&c, &inputs, &out, &t, &lookups);
}

#[test]
fn a_positive_input_claimed_negative_is_refused() {
    // x = 5 claimed negative (neg = 1, m = -5 = p - 5, y = 0): every constraint but the range
    // check of m holds.
    let c = chip(12, 4);
    let inputs = vec![5, 3, 1, 4];
    let (t, _, lookups) = c.generate_trace(&inputs);
    let mut bad = t.clone();
    bad.set(0, NEG, F::ONE);
    bad.set(0, M, -F::from_u64(5));
    bad.set(0, Y, F::ZERO);
    bad.set(0, LIMBS, -F::from_u64(5));
    bad.set(0, LIMBS + 1, F::ZERO);
    let out = vec![0, 3, 1, 4];
    let e = check(&c, &inputs, &out, &bad, &lookups).unwrap_err();
    assert!(e.iter().all(|f| !matches!(f, CheckFailure::Constraint { .. })), "{e:?}");
    assert!(e.iter().any(|f| matches!(f, CheckFailure::BusImbalance { bus: 0, .. })), "{e:?}");
}

#[test]
fn zero_may_carry_either_sign_and_still_gives_zero() {
    let c = chip(12, 4);
    let inputs = vec![0, 0, 0, 0];
    let (t, out, lookups) = c.generate_trace(&inputs);
    let mut other = t.clone();
    other.set(0, NEG, F::ONE);
    check(&c, &inputs, &out, &other, &lookups).unwrap();
    // The output stays 0: claiming 1 fails.
    other.set(0, Y, F::ONE);
    assert!(check(&c, &inputs, &[1, 0, 0, 0], &other, &lookups).is_err());
}

#[test]
fn abs_gives_the_magnitude_and_every_changed_cell_fails() {
    let c = Relu { name: "abs".into(), bits: 12, abs: true, io: UnaryIo::new(BUS_DATA, BUS_OUT, 4) };
    let inputs = vec![5, -7, 1, -2047];
    let (t, out, lookups) = c.generate_trace(&inputs);
    assert_eq!(out, vec![5, 7, 1, 2047]);
    check(&c, &inputs, &out, &t, &lookups).unwrap();
    crate::chips::every_changed_cell_fails_unary(&c, &inputs, &out, &t, &lookups);
}

#[test]
fn an_input_read_out_of_order_is_received_at_its_index() {
    // Element r reads input 3 - r: the bus tuples are the producer's (index, value) pairs.
    let c = Relu { name: "relu".into(), bits: 12, abs: false, io: UnaryIo::gathering(BUS_DATA, BUS_OUT, vec![3, 2, 1, 0]) };
    let produced = vec![5, -7, 1, -2];
    let inputs = c.io.inputs(&produced);
    assert_eq!(inputs, vec![-2, 1, -7, 5]);
    let (t, out, lookups) = c.generate_trace(&inputs);
    assert_eq!(out, vec![0, 1, 0, 5]);
    // The producer sends (i, produced[i]); the chip receives (3 - r, inputs[r]), which are
    // those tuples: balanced. Sent in row order instead, they are not.
    check(&c, &produced, &out, &t, &lookups).unwrap();
    assert!(check(&c, &inputs, &out, &t, &lookups).is_err());
}
