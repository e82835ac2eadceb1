use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};

fn chip(divisor: i64, shift: u32, n: usize) -> DivConst {
    DivConst::new("div", divisor, shift, 20, 40, UnaryIo::new(BUS_DATA, BUS_OUT, n)).unwrap()
}

fn inputs(seed: u64, n: usize) -> Vec<i64> {
    let mut rng = SplitMix64(seed);
    (0..n).map(|_| (rng.next_u64() % (2 << 20)) as i64 - (1 << 20) + 1).collect()
}

#[test]
fn honest_traces_round_half_up_and_pass() {
    for (d, k) in [(3, 0), (1000, 16), (-7, 4), (65536, 16), (1, 0), (-1, 2)] {
        let c = chip(d, k, 12);
        let x = inputs(d.unsigned_abs(), 12);
        let (t, y, lookups) = c.generate_trace(&x);
        for (&xi, &yi) in x.iter().zip(&y) {
            let want = ((xi as f64) * (1u64 << k) as f64 / d as f64 + 0.5).floor() as i64;
            assert_eq!(yi, want, "{xi} 2^{k} / {d}");
        }
        crate::chips::check_unary(&c, &x, &y, &t, &lookups).unwrap_or_else(|e| panic!("{d}: {e:?}"));
    }
}

#[test]
fn one_changed_cell_fails() {
    // A division, and Neg's exact division by -1.
    for (d, k) in [(1000, 4), (-1, 0)] {
        let c = chip(d, k, 4);
        let x = inputs(9, 4);
        let (t, y, lookups) = c.generate_trace(&x);
        crate::chips::every_changed_cell_fails_unary(&c, &x, &y, &t, &lookups);
    }
}

#[test]
fn a_remainder_of_2d_or_more_is_refused() {
    // y one less and q = q + 2D: the equation holds, q still has limbs of its width (2D = 6 is
    // not a power of two), but 2D - 1 - q is negative.
    let c = chip(3, 0, 4);
    let x = vec![10i64, 11, 12, 13];
    let (mut t, mut y, lookups) = c.generate_trace(&x);
    // x = 11: 2 * 11 + 3 = 6 * 4 + 1, so q = 1 and q + 6 = 7 still fits q's 3 bits.
    let q = t.get(1, Q);
    assert_eq!(q, F::ONE);
    t.set(1, Q, q + F::from_u64(6));
    t.set(1, crate::chips::unary::Y, t.get(1, crate::chips::unary::Y) - F::ONE);
    y[1] -= 1;
    t.set(1, LIMBS, F::from_u64(7));
    let e = crate::chips::check_unary(&c, &x, &y, &t, &lookups).unwrap_err();
    assert!(e.iter().any(|f| matches!(f, crate::CheckFailure::Constraint { label: "2D - 1 - q is its limbs", .. })), "{e:?}");
}
