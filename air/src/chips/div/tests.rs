use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::air::{Direction, RowInteraction};
use crate::chips::range::RangeTable;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};
use crate::{CheckFailure, Chip, check_constraints_with};

const BUS_B: BusId = 5;

/// `a` (bus, `n` elements) divided by `b` (bus, `n` elements of either sign, none zero).
fn case(seed: u64, n: usize, (sa, sb): (u32, u32)) -> (Div, Vec<i64>, Vec<i64>) {
    let mut rng = SplitMix64(seed);
    let a: Vec<i64> = (0..n).map(|_| (rng.next_u64() % (1 << 21)) as i64 - (1 << 20)).collect();
    let b: Vec<i64> = (0..n).map(|_| ((rng.next_u64() % (1 << 12)) as i64 + 1) * if rng.next_u64().is_multiple_of(2) { 1 } else { -1 }).collect();
    let c = Div::new(
        "div",
        (Operand::Bus { bus: BUS_DATA, src: (0..n as u32).collect(), bits: 21 }, sa),
        (Operand::Bus { bus: BUS_B, src: (0..n as u32).collect(), bits: 13 }, sb),
        40,
        n,
        BUS_OUT,
    )
    .unwrap();
    (c, a, b)
}

fn check(c: &Div, a: &[i64], b: &[i64], y: &[i64], trace: &Trace, lookups: &[F]) -> Result<(), Vec<CheckFailure>> {
    let t = |bus, dir, i: usize, v: i64| RowInteraction { bus, dir, fields: vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::ONE };
    let mut tuples: Vec<RowInteraction> = a.iter().enumerate().map(|(i, &v)| t(BUS_DATA, Direction::Send, i, v)).collect();
    tuples.extend(b.iter().enumerate().map(|(i, &v)| t(BUS_B, Direction::Send, i, v)));
    tuples.extend(y.iter().enumerate().map(|(i, &v)| t(BUS_OUT, Direction::Receive, i, v)));
    let range = RangeTable { bits: 8 };
    let rt = range.generate_trace(lookups.iter().copied());
    let (prep, rp) = (Air::preprocessed_trace(c), Air::preprocessed_trace(&range));
    let chips: [&dyn Chip; 2] = [c, &range];
    check_constraints_with(&chips, &[trace, &rt], &[prep.as_ref(), rp.as_ref()], &[], &tuples)
}

/// The executor's rule written apart: real quotient, rounded half up.
fn direct(a: i64, b: i64, (sa, sb): (u32, u32)) -> i64 {
    let (n, d) = ((a as i128) << sa, (b as i128) << sb);
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    let q = n.div_euclid(d);
    let r = n - q * d;
    (if 2 * r >= d { q + 1 } else { q }) as i64
}

#[test]
fn honest_traces_match_the_direct_rule_and_pass() {
    for (seed, shifts) in [(1, (0, 0)), (2, (16, 0)), (3, (0, 5))] {
        let (c, a, b) = case(seed, 13, shifts);
        let (trace, y, lookups) = c.generate_trace(&a, &b).unwrap();
        for i in 0..13 {
            assert_eq!(y[i], direct(a[i], b[i], shifts), "{a:?} / {b:?}");
        }
        check(&c, &a, &b, &y, &trace, &lookups).unwrap_or_else(|e| panic!("{shifts:?}: {e:?}"));
    }
}

#[test]
fn one_changed_cell_fails() {
    let (c, a, b) = case(4, 3, (4, 0));
    let (trace, y, lookups) = c.generate_trace(&a, &b).unwrap();
    for idx in 0..trace.values.len() {
        let mut bad = trace.clone();
        bad.values[idx] += F::ONE;
        assert!(check(&c, &a, &b, &y, &bad, &lookups).is_err(), "cell {idx} changed but passed");
    }
}

#[test]
fn a_quotient_one_less_needs_a_remainder_past_the_divisor() {
    // y - 1 with q + 2M: the equation holds, the check of 2M - 1 - q does not.
    let (c, a, b) = case(5, 4, (0, 0));
    let (trace, y, lookups) = c.generate_trace(&a, &b).unwrap();
    let mut bad = trace.clone();
    let big_m = F::from_u64(b[0].unsigned_abs());
    bad.set(0, Y, F::from_i64(y[0] - 1));
    bad.set(0, Q, bad.get(0, Q) + big_m * F::TWO);
    let mut lied = y.clone();
    lied[0] -= 1;
    let e = check(&c, &a, &b, &lied, &bad, &lookups).unwrap_err();
    assert!(e.iter().any(|f| matches!(f, CheckFailure::Constraint { label: "q is its limbs", .. })), "{e:?}");
    // And one more with the remainder wrapped below zero.
    let mut bad = trace.clone();
    bad.set(0, Y, F::from_i64(y[0] + 1));
    bad.set(0, Q, bad.get(0, Q) - big_m * F::TWO);
    let mut lied = y.clone();
    lied[0] += 1;
    let e = check(&c, &a, &b, &lied, &bad, &lookups).unwrap_err();
    assert!(e.iter().any(|f| matches!(f, CheckFailure::Constraint { label: "q is its limbs", .. })), "{e:?}");
}

#[test]
fn a_constant_divisor_or_a_wide_one_is_refused() {
    let a = Operand::Bus { bus: BUS_DATA, src: vec![0], bits: 40 };
    assert!(Div::new("d", (a.clone(), 0), (Operand::Const(vec![3]), 0), 20, 1, BUS_OUT).is_err());
    assert!(Div::new("d", (a.clone(), 16), (Operand::Bus { bus: BUS_B, src: vec![0], bits: 30 }, 0), 34, 1, BUS_OUT).is_err());
    assert!(Div::new("d", (a, 16), (Operand::Bus { bus: BUS_B, src: vec![0], bits: 30 }, 0), 20, 1, BUS_OUT).is_ok());
}
