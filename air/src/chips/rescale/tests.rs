use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::chips::unary::Y;
use crate::check::CheckFailure;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};

fn chip(shift: u32, in_bits: u32, out_bits: u32, n: usize) -> Rescale {
    Rescale::new("rescale", shift, in_bits, out_bits, UnaryIo::new(BUS_DATA, BUS_OUT, n)).unwrap()
}

/// The chip with its inputs sent and its outputs received as public tuples, and the range table.
fn check(c: &Rescale, inputs: &[i64], outputs: &[i64], trace: &Trace, lookups: &[F]) -> Result<(), Vec<CheckFailure>> {
    crate::chips::check_unary(c, inputs, outputs, trace, lookups)
}

fn random_inputs(rng: &mut SplitMix64, n: usize, in_bits: u32) -> Vec<i64> {
    (0..n)
        .map(|_| {
            let m = 1i64 << in_bits;
            (rng.next_u64() % (2 * m as u64 - 1)) as i64 - (m - 1)
        })
        .collect()
}

#[test]
fn honest_traces_pass_and_match_the_rule() {
    let mut rng = SplitMix64(1);
    for (shift, in_bits, out_bits) in [(0, 7, 8), (1, 8, 9), (7, 20, 14), (16, 40, 25), (17, 33, 17), (24, 50, 27)] {
        let c = chip(shift, in_bits, out_bits, 12);
        let inputs = random_inputs(&mut rng, 12, in_bits);
        let (t, out, lookups) = c.generate_trace(&inputs);
        for (&x, &y) in inputs.iter().zip(&out) {
            let want = (x as f64 / (1u64 << shift) as f64 + 0.5).floor() as i64;
            assert_eq!(y, want, "x = {x}, s = {shift}");
        }
        check(&c, &inputs, &out, &t, &lookups).unwrap_or_else(|e| panic!("s = {shift}: {e:?}"));
    }
}

#[test]
fn one_changed_cell_fails() {
    let c = chip(5, 12, 9, 4);
    let inputs = random_inputs(&mut SplitMix64(2), 4, 12);
    let (t, out, lookups) = c.generate_trace(&inputs);
    crate::chips::every_changed_cell_fails_unary(&c, &inputs, &out, &t, &lookups);
}

#[test]
fn a_wrapped_remainder_does_not_pass_for_another_output() {
    // x + 2^(s-1) = (y + 1) 2^s + (r - 2^s): with r - 2^s < 0 written as a field element
    // (p - something), the equation holds for the wrong output y + 1; its range check must fail.
    let c = chip(4, 12, 10, 4);
    let inputs = vec![100i64, -37, 5, 0];
    let (t, out, lookups) = c.generate_trace(&inputs);
    let (w, nr) = (Air::width(&c), c.r_limbs());
    let mut bad = t.clone();
    let y = bad.get(0, Y);
    let r = bad.get(0, R);
    let wrapped = r - F::from_u64(16);
    bad.set(0, Y, y + F::ONE);
    bad.set(0, R, wrapped);
    let mut bad_out = out.clone();
    bad_out[0] += 1;
    // (a) The limbs of the honest remainder: the recomposition fails.
    let e = check(&c, &inputs, &bad_out, &bad, &lookups).unwrap_err();
    assert!(e.iter().any(|f| matches!(f, CheckFailure::Constraint { label: "r is its limbs", .. })), "{e:?}");
    // (b) The single limb set to the wrapped value itself: the recomposition holds, but the
    // limb is not in the table.
    assert_eq!(nr, 1);
    bad.values[LIMBS] = wrapped;
    // The output's limbs follow y + 1.
    let off = 1u64 << (c.out_bits - 1);
    let yl = byte_limbs((bad_out[0] + off as i64) as u64, c.y_limbs());
    for (i, l) in yl.iter().enumerate() {
        bad.values[LIMBS + nr + i] = *l;
    }
    assert_eq!(bad.values.len() % w, 0);
    let e = check(&c, &inputs, &bad_out, &bad, &lookups).unwrap_err();
    assert!(e.iter().all(|f| !matches!(f, CheckFailure::Constraint { .. })), "only the range bus fails: {e:?}");
    assert!(e.iter().any(|f| matches!(f, CheckFailure::BusImbalance { bus: 0, .. })), "{e:?}");
}

#[test]
fn rescales_that_could_wrap_are_refused() {
    assert!(Rescale::new("r", 16, 62, 20, UnaryIo::new(1, 2, 4)).is_err());
    assert!(Rescale::new("r", 30, 40, 40, UnaryIo::new(1, 2, 4)).is_err());
    assert!(Rescale::new("r", 16, 48, 33, UnaryIo::new(1, 2, 4)).is_ok());
}

#[test]
fn with_relu_honest_traces_pass_and_match_the_rule() {
    let mut rng = SplitMix64(3);
    for (shift, in_bits, out_bits) in [(0, 7, 8), (1, 8, 9), (7, 20, 14), (16, 40, 25), (17, 33, 17), (24, 50, 27)] {
        let c = chip(shift, in_bits, out_bits, 16).with_relu();
        let mut inputs = random_inputs(&mut rng, 14, in_bits);
        // Zero and the smallest negative quotient beside random values.
        inputs.extend([0, -(1i64 << shift.max(1))]);
        let (t, out, lookups) = c.generate_trace(&inputs);
        for (&x, &y) in inputs.iter().zip(&out) {
            let q = (x as f64 / (1u64 << shift) as f64 + 0.5).floor() as i64;
            assert_eq!(y, q.max(0), "x = {x}, s = {shift}");
        }
        check(&c, &inputs, &out, &t, &lookups).unwrap_or_else(|e| panic!("s = {shift}: {e:?}"));
    }
}

#[test]
fn with_relu_one_changed_cell_fails() {
    let c = chip(5, 12, 9, 4).with_relu();
    let inputs = vec![1000, -1000, 17, -3];
    let (t, out, lookups) = c.generate_trace(&inputs);
    crate::chips::every_changed_cell_fails_unary(&c, &inputs, &out, &t, &lookups);
}

#[test]
fn with_relu_a_negative_quotient_claimed_positive_is_refused() {
    // q < 0 passed through as if it were positive (b = 1): then low = q must have limbs,
    // and a negative q is a field element near p, which has none.
    let c = chip(2, 12, 9, 4).with_relu();
    let inputs = vec![-400i64, 5, 0, 9];
    let (t, out, lookups) = c.generate_trace(&inputs);
    let q = out_q(&c, inputs[0]);
    assert!(q < 0);
    let mut bad = t.clone();
    let qc = c.q_col();
    bad.set(0, Y, F::from_i64(q));
    bad.set(0, qc + 1, F::ONE);
    // The limbs of low = q (a field element), as many as fit.
    let low = F::from_i64(q);
    bad.set(0, qc + 2, low);
    let mut bad_out = out.clone();
    bad_out[0] = q;
    let e = check(&c, &inputs, &bad_out, &bad, &lookups).unwrap_err();
    assert!(!e.is_empty());
}

fn out_q(c: &Rescale, x: i64) -> i64 {
    c.reference(x)
}
