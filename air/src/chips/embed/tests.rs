use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::air::{Direction, RowInteraction};
use crate::check::CheckFailure;
use crate::chips::unary::{X, Y};
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};

const TABLE: BusId = 3;

/// A 5 x 3 table and a chip reading `ids` (one id per output row of 3 elements, ids read
/// through an index column).
fn setup(ids: &[i64]) -> (EmbedTable, Embed, Vec<u32>) {
    let mut rng = SplitMix64(5);
    let entries: Vec<i64> = (0..15).map(|_| (rng.next_u64() % 2001) as i64 - 1000).collect();
    let table = EmbedTable { name: "wte".into(), bus: TABLE, entries, log_height: 4 };
    let n = ids.len() * 3;
    let at: Vec<u32> = (0..n as u32).map(|e| e / 3).collect();
    let offsets = (0..n as u64).map(|e| e % 3).collect();
    let chip = Embed::new("gather", 3, offsets, 8, TABLE, UnaryIo::gathering(BUS_DATA, BUS_OUT, at.clone())).unwrap();
    (table, chip, at)
}

fn check(table: &EmbedTable, chip: &Embed, ids: &[i64], y: &[i64], trace: &Trace, keys: &[u64]) -> Result<(), Vec<CheckFailure>> {
    let t = |bus, dir, i: usize, v: i64, m: u64| RowInteraction { bus, dir, fields: vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::from_u64(m) };
    let mut tuples: Vec<RowInteraction> = ids.iter().enumerate().map(|(i, &v)| t(BUS_DATA, Direction::Send, i, v, 3)).collect();
    tuples.extend(y.iter().enumerate().map(|(i, &v)| t(BUS_OUT, Direction::Receive, i, v, 1)));
    let tt = table.generate_trace(keys.iter().copied());
    let (p1, p2) = (chip.preprocessed_trace(), table.preprocessed_trace());
    crate::check::check_constraints_with(&[chip, table], &[trace, &tt], &[p1.as_ref(), p2.as_ref()], &[], &tuples)
}

#[test]
fn honest_traces_select_the_rows() {
    let ids = [4i64, 0, 2, 2, 1];
    let (table, chip, _) = setup(&ids);
    let (t, y, keys) = chip.generate_trace(&table, &[4, 4, 4, 0, 0, 0, 2, 2, 2, 2, 2, 2, 1, 1, 1]).unwrap();
    for (e, &v) in y.iter().enumerate() {
        assert_eq!(v, table.entries[ids[e / 3] as usize * 3 + e % 3]);
    }
    check(&table, &chip, &ids, &y, &t, &keys).unwrap();
}

#[test]
fn ids_outside_the_table_are_refused() {
    let (table, chip, _) = setup(&[1, 5]);
    assert_eq!(chip.generate_trace(&table, &[1, 1, 1, 5, 5, 5]).unwrap_err(), 3);
    assert_eq!(chip.generate_trace(&table, &[-1, -1, -1, 0, 0, 0]).unwrap_err(), 0);
}

#[test]
fn one_changed_cell_fails() {
    let ids = [3i64, 1];
    let (table, chip, _) = setup(&ids);
    let (t, y, keys) = chip.generate_trace(&table, &[3, 3, 3, 1, 1, 1]).unwrap();
    for idx in 0..2 * ids.len() * 3 {
        let mut bad = t.clone();
        bad.values[idx] += F::ONE;
        assert!(check(&table, &chip, &ids, &y, &bad, &keys).is_err(), "cell {idx} changed but passed");
    }
}

#[test]
fn another_row_is_refused() {
    // Element 0 claims row 2's value for id 3: the key (3 * 3 + 0, W[6]) is not in the table.
    let ids = [3i64, 1];
    let (table, chip, _) = setup(&ids);
    let (mut t, mut y, keys) = chip.generate_trace(&table, &[3, 3, 3, 1, 1, 1]).unwrap();
    assert_ne!(table.entries[6], table.entries[9]);
    t.set(0, Y, F::from_i64(table.entries[6]));
    y[0] = table.entries[6];
    assert!(check(&table, &chip, &ids, &y, &t, &keys).is_err());
    // And another id with the output kept: x = 2 is not what the input bus sent.
    let (mut t, y, keys) = chip.generate_trace(&table, &[3, 3, 3, 1, 1, 1]).unwrap();
    t.set(0, X, F::from_i64(2));
    assert!(check(&table, &chip, &ids, &y, &t, &keys).is_err());
}
