use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::Chip;
use crate::air::{Direction, RowInteraction};
use crate::check::{CheckFailure, check_constraints_with};
use crate::chips::SplitMix64;

const A: BusId = 1;
const B: BusId = 2;
const OUT: BusId = 3;

fn check(c: &Add, elements: &[(u64, i64, i64)], outputs: &[i64], trace: &Trace) -> Result<(), Vec<CheckFailure>> {
    let t = |bus, dir, i: u64, v: i64| RowInteraction { bus, dir, fields: vec![F::from_u64(i), F::from_i64(v)], multiplicity: F::ONE };
    let mut tuples = Vec::new();
    for (&(i, a, b), &y) in elements.iter().zip(outputs) {
        tuples.push(t(A, Direction::Send, i, a));
        tuples.push(t(B, Direction::Send, i, b));
        tuples.push(t(OUT, Direction::Receive, i, y));
    }
    let chips: [&dyn Chip; 1] = [c];
    check_constraints_with(&chips, &[trace], &[None], &[], &tuples)
}

#[test]
fn honest_traces_pass_and_align_by_shifts() {
    let mut rng = SplitMix64(8);
    for (sa, sb) in [(0, 0), (3, 0), (0, 9), (16, 2)] {
        let c = Add::new("add", (20, sa), (20, sb), A, B, OUT).unwrap();
        let el: Vec<(u64, i64, i64)> =
            (0..10).map(|i| (i, (rng.next_u64() >> 45) as i64 - (1 << 18), (rng.next_u64() >> 45) as i64 - (1 << 18))).collect();
        let (t, out) = c.generate_trace(&el, 4);
        for (&(_, a, b), &y) in el.iter().zip(&out) {
            assert_eq!(i128::from(y), (i128::from(a) << sa) + (i128::from(b) << sb));
            assert!(y.unsigned_abs() < 1u64 << c.out_bits);
        }
        check(&c, &el, &out, &t).unwrap();
    }
}

#[test]
fn one_changed_cell_fails() {
    let c = Add::new("add", (8, 1), (8, 0), A, B, OUT).unwrap();
    let el = vec![(0, 3, -4), (1, -100, 7), (2, 0, 1), (3, 12, 12)];
    let (t, out) = c.generate_trace(&el, 2);
    for idx in 0..t.values.len() {
        let mut bad = t.clone();
        bad.values[idx] += F::ONE;
        assert!(check(&c, &el, &out, &bad).is_err(), "cell {idx} changed but passed");
    }
}

#[test]
fn additions_that_could_pass_half_the_field_are_refused() {
    assert!(Add::new("add", (41, 22), (8, 0), A, B, OUT).is_none());
    assert!(Add::new("add", (40, 22), (40, 22), A, B, OUT).is_none());
    assert!(Add::new("add", (40, 22), (8, 0), A, B, OUT).is_some());
}
