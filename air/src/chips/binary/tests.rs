use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::air::{Direction, RowInteraction};
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};
use crate::{Chip, check_constraints_with};

const BUS_B: BusId = 5;

fn random(rng: &mut SplitMix64, n: usize, bits: u32) -> Vec<i64> {
    let m = (1u64 << bits) - 1;
    (0..n).map(|_| (rng.next_u64() % (2 * m + 1)) as i64 - m as i64).collect()
}

/// `a` (4 elements) op `b` (one element broadcast, or 4 constants).
fn chip(op: BinaryOp, b_const: bool, seed: u64) -> (Binary, Vec<i64>, Vec<i64>) {
    let mut rng = SplitMix64(seed);
    let a = random(&mut rng, 4, 20);
    let b = random(&mut rng, 4, 20);
    let (sa, sb) = if op == BinaryOp::Mul { (0, 0) } else { (3, 0) };
    let ob = if b_const { Operand::Const(b.clone()) } else { Operand::Bus { bus: BUS_B, src: vec![0; 4], bits: 20 } };
    let c = Binary::new("op", op, (Operand::Bus { bus: BUS_DATA, src: (0..4).collect(), bits: 20 }, sa), (ob, sb), 4, BUS_OUT, 2).unwrap();
    (c, a, b)
}

fn check(c: &Binary, a: &[i64], b: &[i64], y: &[i64], trace: &Trace) -> Result<(), Vec<crate::CheckFailure>> {
    let t = |bus, dir, i: usize, v: i64, m: u64| RowInteraction { bus, dir, fields: vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::from_u64(m) };
    let mut tuples: Vec<RowInteraction> = a.iter().enumerate().map(|(i, &v)| t(BUS_DATA, Direction::Send, i, v, 1)).collect();
    if let Operand::Bus { .. } = c.b {
        tuples.push(t(BUS_B, Direction::Send, 0, b[0], 4));
    }
    tuples.extend(y.iter().enumerate().map(|(i, &v)| t(BUS_OUT, Direction::Receive, i, v, 1)));
    let prep = Air::preprocessed_trace(c);
    let chips: [&dyn Chip; 1] = [c];
    check_constraints_with(&chips, &[trace], &[prep.as_ref()], &[], &tuples)
}

#[test]
fn honest_traces_compute_the_executors_rule_and_pass() {
    for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul] {
        for b_const in [false, true] {
            let (c, a, b) = chip(op, b_const, 3);
            let (trace, y) = c.generate_trace(&a, &b);
            for r in 0..4 {
                let bv = if b_const { b[r] } else { b[0] };
                let want = match op {
                    BinaryOp::Add => a[r] * 8 + bv,
                    BinaryOp::Sub => a[r] * 8 - bv,
                    BinaryOp::Mul => a[r] * bv,
                };
                assert_eq!(y[r], want);
            }
            check(&c, &a, &b, &y, &trace).unwrap_or_else(|e| panic!("{op:?} {b_const}: {e:?}"));
        }
    }
}

#[test]
fn one_changed_cell_fails() {
    for op in [BinaryOp::Add, BinaryOp::Mul] {
        for b_const in [false, true] {
            let (c, a, b) = chip(op, b_const, 4);
            let (trace, y) = c.generate_trace(&a, &b);
            for idx in 0..4 * 3 {
                let mut bad = trace.clone();
                bad.values[idx] += F::ONE;
                assert!(check(&c, &a, &b, &y, &bad).is_err(), "{op:?} {b_const}: cell {idx} changed but passed");
            }
        }
    }
}

#[test]
fn results_past_the_field_are_refused() {
    let big = Operand::Bus { bus: BUS_DATA, src: vec![0], bits: 40 };
    assert!(Binary::new("m", BinaryOp::Mul, (big.clone(), 0), (big.clone(), 0), 1, BUS_OUT, 2).is_err());
    assert!(Binary::new("a", BinaryOp::Add, (big.clone(), 22), (big, 0), 1, BUS_OUT, 2).is_err());
}
