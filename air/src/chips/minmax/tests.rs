use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::air::{Direction, RowInteraction};
use crate::chips::range::RangeTable;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};
use crate::{Chip, check_constraints_with};

fn chip(op: MinMaxOp, seed: u64) -> (MinMax, Vec<i64>, Vec<i64>) {
    let mut rng = SplitMix64(seed);
    let mut r = || (rng.next_u64() % 2001) as i64 - 1000;
    let a: Vec<i64> = (0..4).map(|_| r()).collect();
    let b: Vec<i64> = (0..4).map(|_| r() * 4).collect();
    let c = MinMax::new("mm", op, (Operand::Bus { bus: BUS_DATA, src: (0..4).collect(), bits: 11 }, 2), (Operand::Const(b.clone()), 0), 4, BUS_OUT, 2).unwrap();
    (c, a, b)
}

fn check(c: &MinMax, a: &[i64], y: &[i64], trace: &Trace, lookups: &[F]) -> Result<(), Vec<crate::CheckFailure>> {
    let t = |bus, dir, i: usize, v: i64| RowInteraction { bus, dir, fields: vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::ONE };
    let mut tuples: Vec<RowInteraction> = a.iter().enumerate().map(|(i, &v)| t(BUS_DATA, Direction::Send, i, v)).collect();
    tuples.extend(y.iter().enumerate().map(|(i, &v)| t(BUS_OUT, Direction::Receive, i, v)));
    let range = RangeTable { bits: 8 };
    let rt = range.generate_trace(lookups.iter().copied());
    let (prep, rprep) = (Air::preprocessed_trace(c), Air::preprocessed_trace(&range));
    let chips: [&dyn Chip; 2] = [c, &range];
    check_constraints_with(&chips, &[trace, &rt], &[prep.as_ref(), rprep.as_ref()], &[], &tuples)
}

#[test]
fn honest_traces_give_the_executors_rule_and_pass() {
    for op in [MinMaxOp::Min, MinMaxOp::Max] {
        let (c, a, b) = chip(op, 3);
        let (trace, y, lookups) = c.generate_trace(&a, &[]);
        for r in 0..4 {
            let (x, z) = (a[r] * 4, b[r]);
            assert_eq!(y[r], if op == MinMaxOp::Min { x.min(z) } else { x.max(z) });
        }
        check(&c, &a, &y, &trace, &lookups).unwrap_or_else(|e| panic!("{op:?}: {e:?}"));
    }
}

#[test]
fn one_changed_cell_fails() {
    let (c, a, _) = chip(MinMaxOp::Max, 5);
    let (trace, y, lookups) = c.generate_trace(&a, &[]);
    for idx in 0..trace.values.len() {
        // The sign of an equal pair is free (same y): there is none in this case.
        let mut bad = trace.clone();
        bad.values[idx] += F::ONE;
        assert!(check(&c, &a, &y, &bad, &lookups).is_err(), "cell {idx} changed but passed");
    }
}

#[test]
fn the_smaller_claimed_as_the_maximum_needs_a_wrapped_magnitude() {
    let (c, a, _) = chip(MinMaxOp::Max, 7);
    let (mut trace, mut y, lookups) = c.generate_trace(&a, &[]);
    // Flip row 0's sign bit and take the other operand: m must become p - m, with no limbs.
    let w = Air::width(&c);
    let (x, z) = (trace.get(0, A) * F::from_u64(4), trace.get(0, B));
    let s = F::ONE - trace.get(0, S);
    let m = -trace.get(0, M);
    trace.set(0, S, s);
    trace.set(0, M, m);
    let other = if s == F::ONE { z } else { x };
    trace.set(0, Y, other);
    y[0] = sigil_to_signed(other);
    assert_eq!(trace.values.len() % w, 0);
    let e = check(&c, &a, &y, &trace, &lookups).unwrap_err();
    assert!(e.iter().any(|f| matches!(f, crate::CheckFailure::Constraint { label: "m is its limbs", .. })), "{e:?}");
}

fn sigil_to_signed(x: F) -> i64 {
    crate::field::to_signed(x)
}
