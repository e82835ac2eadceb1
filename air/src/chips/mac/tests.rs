use super::*;
use crate::check::{CheckFailure, check_constraints};
use crate::chips::SplitMix64;

fn check(trace: &Trace, result: F) -> Result<(), alloc::vec::Vec<CheckFailure>> {
    check_constraints(&[&MacChain], &[trace], &[None], &[result])
}

#[test]
fn honest_trace_passes() {
    let (t, r) = MacChain::generate_trace(6, 1);
    assert_eq!(r, MacChain::reference_result(&t));
    check(&t, r).unwrap();
}

#[test]
fn one_changed_cell_fails_with_its_label() {
    let (t, r) = MacChain::generate_trace(5, 2);
    let ix = MacCols::index();
    // A changed acc in the middle breaks the accumulation into and out of that row.
    let mut bad = t.clone();
    bad.set(7, ix.acc, bad.get(7, ix.acc) + F::ONE);
    let errs = check(&bad, r).unwrap_err();
    assert_eq!(
        errs,
        alloc::vec![
            CheckFailure::Constraint { chip: "mac".into(), row: 6, label: "acc accumulates a*b" },
            CheckFailure::Constraint { chip: "mac".into(), row: 7, label: "acc accumulates a*b" },
        ]
    );
    // A changed first acc breaks the start.
    let mut bad = t.clone();
    bad.set(0, ix.acc, F::ONE);
    let errs = check(&bad, r).unwrap_err();
    assert!(errs.contains(&CheckFailure::Constraint {
        chip: "mac".into(),
        row: 0,
        label: "acc starts at zero"
    }));
    // Another public result breaks the end.
    let errs = check(&t, r + F::ONE).unwrap_err();
    assert_eq!(
        errs,
        alloc::vec![CheckFailure::Constraint { chip: "mac".into(), row: 31, label: "result is public" }]
    );
}

#[test]
fn every_single_cell_change_is_caught() {
    let (t, r) = MacChain::generate_trace(4, 3);
    let mut rng = SplitMix64(99);
    for idx in 0..t.values.len() {
        let mut bad = t.clone();
        bad.values[idx] += F::from_u64(1 + (rng.next_u64() >> 8));
        assert!(check(&bad, r).is_err(), "cell {idx} changed but the trace passed");
    }
}

#[test]
fn seeded_traces_match_the_reference() {
    for seed in 0..200 {
        let (t, r) = MacChain::generate_trace(3, seed);
        let mut acc = F::ZERO;
        for row in 0..t.height() {
            assert_eq!(t.get(row, 0), acc);
            acc += t.get(row, 1) * t.get(row, 2);
        }
        assert_eq!(acc, r);
    }
}
