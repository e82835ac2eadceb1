use alloc::vec;
use alloc::vec::Vec;

use p3_field::{PrimeCharacteristicRing, PrimeField64};

use super::*;
use crate::air::{Direction, RowInteraction};
use crate::check::{CheckFailure, check_constraints_with};
use crate::chips::SplitMix64;
use crate::chips::mac::MacChain;
use crate::chips::range::RangeTable;
use crate::chips::relu::Relu;
use crate::chips::rescale::Rescale;
use crate::chips::unary::UnaryIo;

/// Rescale `i` reads bus `10 + 2i` and writes bus `11 + 2i`, `n` elements each.
fn rescales(k: usize, shift: u32, n: usize) -> Vec<Rescale> {
    (0..k)
        .map(|i| {
            Rescale::new(
                alloc::format!("rescale {i}"),
                shift,
                20,
                14,
                UnaryIo::new(10 + 2 * i as u32, 11 + 2 * i as u32, n),
            )
            .unwrap()
        })
        .collect()
}

/// Each member's inputs and outputs as public tuples on its buses, its main trace, and the
/// range lookups of all of them.
struct Honest {
    tuples: Vec<RowInteraction>,
    traces: Vec<Trace>,
    lookups: Vec<F>,
}

fn honest(members: &[Rescale], seed: u64) -> Honest {
    let mut rng = SplitMix64(seed);
    let (mut tuples, mut traces, mut lookups) = (Vec::new(), Vec::new(), Vec::new());
    for m in members {
        let inputs: Vec<i64> = (0..m.io.len())
            .map(|_| (rng.next_u64() % (1 << 20)) as i64 - (1 << 19))
            .collect();
        let (t, out, l) = m.generate_trace(&inputs);
        for (i, (&x, &y)) in inputs.iter().zip(&out).enumerate() {
            let tuple = |bus, dir, v: i64| RowInteraction {
                bus,
                dir,
                fields: vec![F::from_usize(i), F::from_i64(v)],
                multiplicity: F::ONE,
            };
            tuples.push(tuple(m.io.in_bus, Direction::Send, x));
            tuples.push(tuple(m.io.out_bus, Direction::Receive, y));
        }
        traces.push(t);
        lookups.extend(l);
    }
    Honest {
        tuples,
        traces,
        lookups,
    }
}

fn stacked_of(members: &[Rescale]) -> Stacked {
    let lh: Vec<usize> = members.iter().map(|m| m.io.log_height).collect();
    let rows: usize = lh.iter().map(|&h| 1usize << h).sum();
    let boxed: Vec<Box<dyn Chip>> = members
        .iter()
        .map(|m| Box::new(m.clone()) as Box<dyn Chip>)
        .collect();
    Stacked::new(
        boxed,
        lh,
        rows.next_power_of_two().trailing_zeros() as usize,
    )
    .unwrap()
}

/// The stacked table and the range table, checked row by row with every bus balanced.
fn check(s: &Stacked, main: &Trace, prep: &Trace, h: &Honest) -> Result<(), Vec<CheckFailure>> {
    let range = RangeTable { bits: 8 };
    let rt = range.generate_trace(h.lookups.iter().copied());
    let rp = crate::Air::preprocessed_trace(&range);
    let chips: [&dyn Chip; 2] = [s, &range];
    check_constraints_with(
        &chips,
        &[main, &rt],
        &[Some(prep), rp.as_ref()],
        &[],
        &h.tuples,
    )
}

#[test]
fn stacked_members_pass_as_one_table_with_padding() {
    // Three members of 4 rows (3 elements each): 12 rows, padded to 16.
    let members = rescales(3, 6, 3);
    let h = honest(&members, 1);
    let s = stacked_of(&members);
    assert_eq!(s.log_height, 4);
    assert!(
        s.buses.enabled.is_some(),
        "12 rows in 16: the padding is switched off"
    );
    assert_eq!(
        s.buses.varying.count_ones(),
        2,
        "the input and output buses differ; the range bus does not"
    );
    let main = s.stack_traces(h.traces.clone()).unwrap();
    let prep = s.preprocessed_trace().unwrap();
    assert_eq!((main.height(), prep.height()), (16, 16));
    check(&s, &main, &prep, &h).unwrap();
}

#[test]
fn a_full_stack_needs_no_enabled_column() {
    let members = rescales(4, 6, 3);
    let s = stacked_of(&members);
    assert_eq!((s.log_height, s.buses.enabled), (4, None));
    let h = honest(&members, 2);
    let main = s.stack_traces(h.traces.clone()).unwrap();
    check(&s, &main, &s.preprocessed_trace().unwrap(), &h).unwrap();
}

#[test]
fn one_changed_cell_fails_on_every_row_padding_included() {
    let members = rescales(3, 6, 3);
    let h = honest(&members, 3);
    let s = stacked_of(&members);
    let main = s.stack_traces(h.traces.clone()).unwrap();
    let prep = s.preprocessed_trace().unwrap();
    for idx in 0..main.values.len() {
        let mut bad = main.clone();
        bad.values[idx] += F::ONE;
        assert!(
            check(&s, &bad, &prep, &h).is_err(),
            "cell {idx} (row {}) changed but passed",
            idx / main.width
        );
    }
}

#[test]
fn a_row_moved_to_another_bus_or_a_padding_row_switched_on_unbalances() {
    let members = rescales(3, 6, 3);
    let h = honest(&members, 4);
    let s = stacked_of(&members);
    let main = s.stack_traces(h.traces.clone()).unwrap();
    let prep = s.preprocessed_trace().unwrap();
    let first_bus = s.buses.first_col;
    // Row 5 (member 1) claims member 0's input bus.
    let mut moved = prep.clone();
    moved.set(5, first_bus, F::from_u32(10));
    let e = check(&s, &main, &moved, &h).unwrap_err();
    assert!(
        e.iter()
            .all(|f| matches!(f, CheckFailure::BusImbalance { .. })),
        "{e:?}"
    );
    // Padding row 13 (a copy of member 0's row 1) switched on: its tuples enter the buses twice.
    let mut on = prep.clone();
    on.set(13, s.buses.enabled.unwrap(), F::ONE);
    let e = check(&s, &main, &on, &h).unwrap_err();
    assert!(
        e.iter()
            .any(|f| matches!(f, CheckFailure::BusImbalance { bus: 10, .. })),
        "{e:?}"
    );
}

#[test]
fn shapes_tell_what_may_share_a_table() {
    let a = &rescales(2, 6, 3);
    assert_eq!(
        shape_key(&a[0]),
        shape_key(&a[1]),
        "buses and names do not count"
    );
    let other_shift = &rescales(1, 7, 3)[0];
    assert_ne!(
        shape_key(&a[0]),
        shape_key(other_shift),
        "another constant is another shape"
    );
    let relu = Relu {
        name: "relu".into(),
        bits: 12,
        abs: false,
        io: UnaryIo::new(1, 2, 3),
    };
    assert_ne!(shape_key(&a[0]), shape_key(&relu));
    // A chip that reads the next row stays alone.
    assert_eq!(shape_key(&MacChain), None);
}

#[test]
fn stack_groups_by_shape_keeps_order_and_maps_traces() {
    let r = rescales(3, 6, 3);
    let relu = Relu {
        name: "relu".into(),
        bits: 12,
        abs: false,
        io: UnaryIo::new(40, 41, 3),
    };
    let chips: Vec<Box<dyn Chip>> = vec![
        Box::new(r[0].clone()),
        Box::new(relu.clone()),
        Box::new(r[1].clone()),
        Box::new(MacChain),
        Box::new(r[2].clone()),
    ];
    let heights = [2, 2, 2, 4, 2];
    let (out, lh, plan) = stack(chips, &heights).unwrap();
    let names: Vec<String> = out.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        ["rescale 0 (+2 stacked)", "relu", "mac"]
            .map(String::from)
            .to_vec()
    );
    assert_eq!(lh, [4, 2, 4]);
    assert_eq!(plan.tables[0].members, [0, 2, 4]);
    assert!(plan.stacks());
    // Traces go where the plan says: the stacked table gets its members' rows in order, then
    // the first member's again.
    let w: Vec<usize> = (0..5)
        .map(|i| match i {
            1 => Chip::width(&relu),
            3 => Chip::width(&MacChain),
            _ => Chip::width(&r[0]),
        })
        .collect();
    let traces: Vec<Trace> = (0..5)
        .map(|i| Trace::new(vec![F::from_usize(i); (1 << heights[i]) * w[i]], w[i]))
        .collect();
    let stacked = plan.apply(traces).unwrap();
    assert_eq!(stacked.len(), 3);
    let col0: Vec<u64> = (0..16)
        .map(|r| stacked[0].get(r, 0).as_canonical_u64())
        .collect();
    assert_eq!(col0, [0, 0, 0, 0, 2, 2, 2, 2, 4, 4, 4, 4, 0, 0, 0, 0]);
    assert_eq!(plan.apply(Vec::new()).unwrap_err(), "0 traces for 5 tables");
    // No stacked table grows past the circuit's tallest: with the MAC at 2^3, two rescales fill
    // a table of 8 rows and the third stays alone.
    let chips: Vec<Box<dyn Chip>> = vec![Box::new(r[0].clone()), Box::new(r[1].clone()), Box::new(MacChain), Box::new(r[2].clone())];
    let (out, lh, _) = stack(chips, &[2, 2, 3, 2]).unwrap();
    let names: Vec<String> = out.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["rescale 0 (+1 stacked)", "mac", "rescale 2"].map(String::from).to_vec());
    assert_eq!(lh, [3, 3, 2]);
}

#[test]
fn members_of_other_shapes_or_too_many_rows_are_refused() {
    let r = rescales(2, 6, 3);
    let other = rescales(1, 7, 3).remove(0);
    let e = Stacked::new(vec![Box::new(r[0].clone()), Box::new(other)], vec![2, 2], 3).unwrap_err();
    assert!(e.contains("differs in shape"), "{e}");
    let e = Stacked::new(
        vec![Box::new(r[0].clone()), Box::new(r[1].clone())],
        vec![2, 2],
        2,
    )
    .unwrap_err();
    assert!(e.contains("do not fit"), "{e}");
    let e = Stacked::new(vec![Box::new(MacChain), Box::new(MacChain)], vec![2, 2], 3).unwrap_err();
    assert!(e.contains("cannot be stacked"), "{e}");
}

#[test]
fn packing_fills_powers_of_two_and_pads_little() {
    let sized = |rows: &[usize]| -> Vec<(usize, usize)> { rows.iter().copied().enumerate().collect() };
    // Eleven steps of 128 rows: one table of 2048 (640 padding rows, within 2^11).
    assert_eq!(pack(&sized(&[128; 11]), 1 << 14, true), vec![(0..11).collect::<Vec<_>>()]);
    // A tall member alone; 34816 rows left would pad to 65536: split into 32768 exactly and
    // the last member alone.
    let rows = [65536, 16384, 4096, 2048, 2048, 2048, 2048, 2048, 2048, 2048];
    assert_eq!(pack(&sized(&rows), 1 << 16, true), vec![vec![0], (1..9).collect::<Vec<_>>(), vec![9]]);
    // Full bins of the capacity first.
    assert_eq!(pack(&sized(&[1 << 14; 3]), 1 << 14, true), vec![vec![0], vec![1], vec![2]]);
    assert_eq!(pack(&sized(&[1 << 13; 3]), 1 << 14, true), vec![vec![0, 1], vec![2]]);
    // Without padding, 11 steps are 8 + 2 + 1.
    assert_eq!(pack(&sized(&[128; 11]), 1 << 14, false), vec![(0..8).collect::<Vec<_>>(), vec![8, 9], vec![10]]);
}

#[test]
fn padding_keeps_the_members_quotient_degree() {
    let members = rescales(3, 6, 3);
    let s = stacked_of(&members);
    assert!(s.buses.enabled.is_some());
    let (a, b) = (crate::ChipInfo::of(&s).unwrap(), crate::ChipInfo::of(&members[0]).unwrap());
    assert_eq!((a.log_quotient_degree, a.logup_batches.clone()), (b.log_quotient_degree, b.logup_batches.clone()), "stacked {} / member {}", a.max_degree, b.max_degree);
}
