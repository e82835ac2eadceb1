use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::air::{Direction, RowInteraction};
use crate::chips::{BUS_DATA, BUS_OUT};
use crate::{CheckFailure, Chip, check_constraints_with};

const BUS_C: BusId = 5;

/// `c` (bus, 4 booleans) selects `a` (bus, 4 values, shifted by 2) or the constant `b`.
fn case() -> (Select, Vec<i64>, Vec<i64>, Vec<i64>) {
    let (c, a, b) = (vec![1, 0, 0, 1], vec![5, -7, 100, -3], vec![11, 12, -13, 14]);
    let s = Select::new(
        "where",
        Operand::Bus { bus: BUS_C, src: (0..4).collect(), bits: 2 },
        (Operand::Bus { bus: BUS_DATA, src: (0..4).collect(), bits: 8 }, 2),
        (Operand::Const(b.clone()), 0),
        4,
        BUS_OUT,
    )
    .unwrap();
    (s, c, a, b)
}

fn check(s: &Select, c: &[i64], a: &[i64], y: &[i64], trace: &Trace) -> Result<(), Vec<CheckFailure>> {
    let t = |bus, dir, i: usize, v: i64| RowInteraction { bus, dir, fields: vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::ONE };
    let mut tuples: Vec<RowInteraction> = c.iter().enumerate().map(|(i, &v)| t(BUS_C, Direction::Send, i, v)).collect();
    tuples.extend(a.iter().enumerate().map(|(i, &v)| t(BUS_DATA, Direction::Send, i, v)));
    tuples.extend(y.iter().enumerate().map(|(i, &v)| t(BUS_OUT, Direction::Receive, i, v)));
    let prep = Air::preprocessed_trace(s);
    let chips: [&dyn Chip; 1] = [s];
    check_constraints_with(&chips, &[trace], &[prep.as_ref()], &[], &tuples)
}

#[test]
fn honest_traces_select_and_pass() {
    let (s, c, a, b) = case();
    let (trace, y) = s.generate_trace(&c, &a, &[]).unwrap();
    assert_eq!(y, vec![20, b[1], b[2], -12]);
    check(&s, &c, &a, &y, &trace).unwrap();
}

#[test]
fn one_changed_cell_fails() {
    let (s, c, a, _) = case();
    let (trace, y) = s.generate_trace(&c, &a, &[]).unwrap();
    for idx in 0..trace.values.len() {
        let mut bad = trace.clone();
        bad.values[idx] += F::ONE;
        assert!(check(&s, &c, &a, &y, &bad).is_err(), "cell {idx} changed but passed");
    }
}

#[test]
fn a_condition_of_two_is_refused() {
    // c = 2 would make y = 2 a - b: the booleanity constraint fails.
    let (s, mut c, a, b) = case();
    let (mut trace, mut y) = s.generate_trace(&c, &a, &[]).unwrap();
    c[0] = 2;
    trace.set(0, C, F::TWO);
    y[0] = 2 * (a[0] << 2) - b[0];
    trace.set(0, Y, F::from_i64(y[0]));
    let e = check(&s, &c, &a, &y, &trace).unwrap_err();
    assert!(e.iter().any(|f| matches!(f, CheckFailure::Constraint { label: "c is 0 or 1", .. })), "{e:?}");
    assert!(s.generate_trace(&c, &a, &[]).is_err());
}
