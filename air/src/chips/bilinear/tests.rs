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
fn case(seed: u64, (batches, m, k, n): (usize, usize, usize, usize), bits: u32) -> (Bilinear, Vec<i64>, Vec<i64>) {
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
    let c = Bilinear::new("mm", (batches, m, k, n), (BUS_DATA, a_src, bits), (BUS_B, b_src.collect(), bits), BUS_OUT).unwrap();
    (c, a, b)
}

fn check(c: &Bilinear, a: &[i64], b: &[i64], out: &[i64], trace: &Trace) -> Result<(), Vec<CheckFailure>> {
    let t = |bus, dir, i: usize, v: i64| RowInteraction { bus, dir, fields: vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::ONE };
    let mut tuples: Vec<RowInteraction> = Vec::new();
    // The bus tuples each product term reads, as a producer would send them.
    let mut reads_a = vec![0u64; a.len()];
    let mut reads_b = vec![0u64; b.len()];
    for r in 0..c.batches * c.m * c.n * c.k {
        let (x, y) = c.term(r);
        reads_a[c.a_src[x] as usize] += 1;
        reads_b[c.b_src[y] as usize] += 1;
    }
    for (i, &v) in a.iter().enumerate() {
        tuples.push(RowInteraction { multiplicity: F::from_u64(reads_a[i]), ..t(BUS_DATA, Direction::Send, i, v) });
    }
    for (i, &v) in b.iter().enumerate() {
        tuples.push(RowInteraction { multiplicity: F::from_u64(reads_b[i]), ..t(BUS_B, Direction::Send, i, v) });
    }
    for (i, &v) in out.iter().enumerate() {
        tuples.push(t(BUS_OUT, Direction::Receive, i, v));
    }
    let prep = c.preprocessed_trace();
    crate::check::check_constraints_with(&[c as &dyn crate::Chip], &[trace], &[prep.as_ref()], &[], &tuples)
}

/// The product written apart from the chip.
fn direct(c: &Bilinear, a: &[i64], b: &[i64]) -> Vec<i64> {
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
    for (seed, shape, bits) in [(1, (1, 2, 5, 3), 17), (2, (3, 4, 1, 2), 30), (3, (2, 3, 7, 5), 8)] {
        let (c, a, b) = case(seed, shape, bits);
        let (trace, out) = c.generate_trace(&a, &b);
        assert_eq!(out, direct(&c, &a, &b), "{shape:?}");
        assert_eq!(out, c.reference(&a, &b));
        check(&c, &a, &b, &out, &trace).unwrap_or_else(|e| panic!("{shape:?}: {e:?}"));
    }
}

#[test]
fn one_changed_cell_fails() {
    let (c, a, b) = case(4, (1, 2, 3, 2), 10);
    let (trace, out) = c.generate_trace(&a, &b);
    let terms = c.batches * c.m * c.n * c.k;
    for r in 0..terms {
        for col in 0..3 {
            let mut bad = trace.clone();
            bad.set(r, col, bad.get(r, col) + F::ONE);
            assert!(check(&c, &a, &b, &out, &bad).is_err(), "row {r} col {col} changed but passed");
        }
    }
}

#[test]
fn sums_that_may_pass_the_field_are_refused() {
    assert!(Bilinear::new("mm", (1, 1, 4, 1), (BUS_DATA, vec![0; 4], 31), (BUS_B, vec![0; 4], 31), BUS_OUT).is_err());
    assert!(Bilinear::new("mm", (1, 1, 4, 1), (BUS_DATA, vec![0; 4], 30), (BUS_B, vec![0; 4], 30), BUS_OUT).is_ok());
}
