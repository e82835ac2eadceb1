use super::*;
use crate::check::{CheckFailure, check_constraints};
use crate::chips::transfer::Producer;

#[test]
fn lookups_inside_the_table_balance() {
    let table = RangeTable { bits: 4 };
    let values: Vec<F> = [3u64, 3, 15, 0, 7, 7, 7, 1].into_iter().map(F::from_u64).collect();
    let producer = Producer;
    let p = producer.generate_trace(&values);
    let r = table.generate_trace(values.iter().copied());
    assert_eq!(r.get(7, 0), F::from_u64(3));
    let prep = Air::preprocessed_trace(&table).unwrap();
    // The producer also sends on the data bus; receive those by checking only the range bus.
    let errs = check_constraints(&[&producer, &table], &[&p, &r], &[None, Some(&prep)], &[])
        .unwrap_err();
    assert!(errs.iter().all(|e| matches!(e, CheckFailure::BusImbalance { bus: 1, .. })));
}

#[test]
fn a_value_outside_the_table_is_unbalanced() {
    let table = RangeTable { bits: 4 };
    let values: Vec<F> = [3u64, 16, 2, 1].into_iter().map(F::from_u64).collect();
    let producer = Producer;
    let p = producer.generate_trace(&values);
    let r = table.generate_trace(values.iter().copied());
    let prep = Air::preprocessed_trace(&table).unwrap();
    let errs = check_constraints(&[&producer, &table], &[&p, &r], &[None, Some(&prep)], &[])
        .unwrap_err();
    assert!(errs.contains(&CheckFailure::BusImbalance { bus: BUS_RANGE, fields: vec![16], net: 1 }));
}

#[test]
fn one_changed_multiplicity_is_unbalanced() {
    let table = RangeTable { bits: 3 };
    let values: Vec<F> = [1u64, 2, 2, 5].into_iter().map(F::from_u64).collect();
    let mut r = table.generate_trace(values.iter().copied());
    r.set(2, 0, F::ONE);
    let producer = Producer;
    let p = producer.generate_trace(&values);
    let prep = Air::preprocessed_trace(&table).unwrap();
    let errs = check_constraints(&[&producer, &table], &[&p, &r], &[None, Some(&prep)], &[])
        .unwrap_err();
    assert!(errs.contains(&CheckFailure::BusImbalance { bus: BUS_RANGE, fields: vec![2], net: 1 }));
}
