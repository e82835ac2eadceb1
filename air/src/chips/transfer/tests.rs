use super::*;
use crate::check::{CheckFailure, check_constraints};
use crate::chips::SplitMix64;
use crate::chips::range::RangeTable;
use crate::info::ChipInfo;
use crate::air::Chip;

fn setup(n: usize, height: usize, seed: u64) -> (Vec<F>, Trace, Trace, Trace, F) {
    let mut rng = SplitMix64(seed);
    let values: Vec<F> = (0..n).map(|_| F::from_u64(rng.next_u64() & 0xff)).collect();
    let p = Producer.generate_trace(&values);
    let (c, sum) = Consumer { sum_public: 0, ..Consumer::default() }.generate_trace(&values, height);
    let r = RangeTable { bits: 8 }.generate_trace(values.iter().copied());
    (values, p, c, r, sum)
}

fn check(p: &Trace, c: &Trace, r: &Trace, sum: F) -> Result<(), Vec<CheckFailure>> {
    let table = RangeTable { bits: 8 };
    let prep = Air::preprocessed_trace(&table).unwrap();
    let consumer = Consumer { sum_public: 0, ..Consumer::default() };
    check_constraints(
        &[&Producer, &consumer, &table],
        &[p, c, r],
        &[None, None, Some(&prep)],
        &[sum],
    )
}

#[test]
fn honest_traces_balance() {
    for seed in 0..20 {
        let (values, p, c, r, sum) = setup(16, 32, seed);
        assert_eq!(sum, values.iter().copied().sum::<F>());
        check(&p, &c, &r, sum).unwrap();
    }
}

#[test]
fn a_dropped_receive_is_unbalanced() {
    let (_, p, mut c, r, _) = setup(8, 16, 5);
    let ix = ConsumerCols::index();
    // Turn row 3 into a padding row.
    for col in [ix.index, ix.value, ix.multiplicity] {
        c.set(3, col, F::ZERO);
    }
    // Recompute the sum so only the bus is wrong.
    let mut sum = F::ZERO;
    for row in 0..c.height() {
        sum += c.get(row, ix.multiplicity) * c.get(row, ix.value);
        c.set(row, ix.sum, sum);
    }
    let errs = check(&p, &c, &r, sum).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(matches!(errs[0], CheckFailure::BusImbalance { bus: BUS_DATA, net: 1, .. }));
}

#[test]
fn every_single_cell_change_is_caught() {
    let (_, p, c, r, sum) = setup(4, 8, 7);
    for (which, t) in [&p, &c, &r].into_iter().enumerate() {
        for idx in 0..t.values.len() {
            let mut bad = t.clone();
            bad.values[idx] += F::ONE;
            let (pp, cc, rr) = match which {
                0 => (&bad, &c, &r),
                1 => (&p, &bad, &r),
                _ => (&p, &c, &bad),
            };
            assert!(check(pp, cc, rr, sum).is_err(), "table {which} cell {idx} changed but passed");
        }
    }
}

#[test]
fn degrees_and_interactions_are_inferred() {
    let p = ChipInfo::of(&Producer as &dyn Chip).unwrap();
    assert_eq!(p.interactions.len(), 2);
    // Both interactions share one LogUp column: h * d1 * d2 - (m1 d2 - m2 d1) has degree 3.
    assert_eq!(p.logup_batches, [2]);
    assert_eq!(p.max_degree, 3);
    let c = ChipInfo::of(&Consumer { sum_public: 0, ..Consumer::default() } as &dyn Chip).unwrap();
    assert_eq!(c.max_degree, 3); // selector * m * value
    assert_eq!(c.log_quotient_degree, 1);
    assert_eq!(c.n_publics_read(), 1);
}
