use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::air::{Direction, RowInteraction};
use crate::check::CheckFailure;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};

const BUS_B: BusId = 3;

/// `batches` products of `m x k` by `k x n`, A read in order, B read transposed (its bus holds
/// `B[t, j, l]`), with signed operands below `2^bits`.
fn case(seed: u64, (batches, m, k, n): (usize, usize, usize, usize), bits: u32) -> (MatProd, Vec<i64>, Vec<i64>) {
    let mut rng = SplitMix64(seed);
    let mut val = |_| (rng.next_u64() % (1 << (bits + 1))) as i64 - (1 << bits) + 1;
    let a: Vec<i64> = (0..batches * m * k).map(&mut val).collect();
    let b: Vec<i64> = (0..batches * k * n).map(&mut val).collect();
    let a_src = (0..(batches * m * k) as u32).collect();
    let b_src = (0..batches * k * n).map(|x| {
        let (j, rest) = (x % n, x / n);
        let (l, t) = (rest % k, rest / k);
        ((t * n + j) * k + l) as u32
    });
    let c = MatProd::new("mm", (batches, m, k, n), (BUS_DATA, a_src, bits), (BUS_B, b_src.collect(), bits), BUS_OUT).unwrap();
    (c, a, b)
}

/// The chip with A and B sent (each element as often as the chip reads it: once) and C
/// received as public tuples.
fn check(c: &MatProd, a: &[i64], b: &[i64], out: &[i64], trace: &Trace) -> Result<(), Vec<CheckFailure>> {
    let t = |bus, dir, i: usize, v: i64| RowInteraction { bus, dir, fields: vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::ONE };
    let mut tuples: Vec<RowInteraction> = Vec::new();
    tuples.extend(a.iter().enumerate().map(|(i, &v)| t(BUS_DATA, Direction::Send, i, v)));
    tuples.extend(b.iter().enumerate().map(|(i, &v)| t(BUS_B, Direction::Send, i, v)));
    tuples.extend(out.iter().enumerate().map(|(i, &v)| t(BUS_OUT, Direction::Receive, i, v)));
    let prep = c.preprocessed_trace();
    crate::check::check_constraints_with(&[c as &dyn crate::Chip], &[trace], &[prep.as_ref()], &[], &tuples)
}

/// The product written apart from the chip.
fn direct(c: &MatProd, a: &[i64], b: &[i64]) -> Vec<i64> {
    let (m, k, n) = (c.m, c.k, c.n);
    let mut out = Vec::new();
    for t in 0..c.batches {
        for i in 0..m {
            for j in 0..n {
                out.push((0..k).map(|l| a[(t * m + i) * k + l] * b[(t * n + j) * k + l]).sum());
            }
        }
    }
    out
}

#[test]
fn honest_traces_pass_and_match_the_direct_product() {
    for (seed, shape, bits) in [(1, (1, 2, 5, 3), 17), (2, (3, 4, 1, 2), 30), (3, (2, 3, 7, 5), 8), (4, (4, 8, 4, 8), 12), (5, (1, 1, 1, 1), 3)] {
        let (c, a, b) = case(seed, shape, bits);
        let (trace, out) = c.generate_trace(&a, &b);
        assert_eq!(out, direct(&c, &a, &b), "{shape:?}");
        check(&c, &a, &b, &out, &trace).unwrap_or_else(|e| panic!("{shape:?}: {e:?}"));
    }
}

#[test]
fn one_changed_cell_fails() {
    let (c, a, b) = case(6, (2, 2, 3, 2), 10);
    let (trace, out) = c.generate_trace(&a, &b);
    let rows = c.batches * c.per_batch();
    for r in 0..rows {
        let mut bad = trace.clone();
        bad.set(r, V, bad.get(r, V) + F::ONE);
        assert!(check(&c, &a, &b, &out, &bad).is_err(), "row {r} changed but passed");
    }
}

#[test]
fn another_product_balanced_on_the_bus_is_refused() {
    // C[0, 1, 0] one more in the trace and in what the consumer receives: the bus balances,
    // only the random linear combination sees it.
    let (c, a, b) = case(7, (2, 3, 4, 2), 9);
    let (mut trace, mut out) = c.generate_trace(&a, &b);
    let row = c.k * (c.m + c.n) + c.n;
    assert!(matches!(c.role(row), Role::C { t: 0, i: 1, j: 0 }));
    trace.set(row, V, trace.get(row, V) + F::ONE);
    out[c.n] += 1;
    let e = check(&c, &a, &b, &out, &trace).unwrap_err();
    assert!(e.iter().all(|f| matches!(f, CheckFailure::Constraint { label: "acc adds each term, cyclically", .. })), "{e:?}");
    // An error in another batch, and two that cancel in the plain sum, are seen as well.
    let (mut trace, mut out) = c.generate_trace(&a, &b);
    let last = c.batches * c.per_batch() - 1;
    trace.set(last, V, trace.get(last, V) + F::ONE);
    trace.set(row, V, trace.get(row, V) - F::ONE);
    out[c.batches * c.m * c.n - 1] += 1;
    out[c.n] -= 1;
    assert!(check(&c, &a, &b, &out, &trace).is_err());
}

#[test]
fn sums_that_may_pass_the_field_are_refused() {
    assert!(MatProd::new("mm", (1, 1, 4, 1), (BUS_DATA, vec![0; 4], 31), (BUS_B, vec![0; 4], 31), BUS_OUT).is_err());
    assert!(MatProd::new("mm", (1, 1, 4, 1), (BUS_DATA, vec![0; 4], 30), (BUS_B, vec![0; 4], 30), BUS_OUT).is_ok());
    assert!(MatProd::new("mm", (1, 1, 0, 1), (BUS_DATA, vec![], 3), (BUS_B, vec![], 3), BUS_OUT).is_err());
}
