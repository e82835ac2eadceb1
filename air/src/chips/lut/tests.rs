use alloc::vec;
use alloc::vec::Vec;

use p3_field::{Field, PrimeCharacteristicRing};

use super::*;
use crate::air::{Direction, RowInteraction};
use crate::check::CheckFailure;
use crate::chips::range::RangeTable;
use crate::chips::unary::Y;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};

const TABLE_BUS: BusId = 3;

/// A smooth increasing function sampled at `t = 4` fractional bits into `f = 8` bits (a
/// stand-in for the frontend's tables, which the compiler passes in as numbers), indices
/// `lo..=hi`.
fn table(lo: i64, hi: i64) -> LutTable {
    let entries: Vec<i64> = (lo..=hi + 1).map(|i| (i * i * i) / 16 + 9 * i).collect();
    let log_height = crate::chips::unary::log_rows(entries.len() - 1);
    LutTable { name: "table".into(), bus: TABLE_BUS, lo, entries, log_height }
}

fn chip(t: &LutTable, (s, k): (u32, u32), clamp: (bool, bool), in_bits: u32, n: usize) -> Lut {
    Lut::new("f", (s, k), (t.lo, t.hi(), clamp.0, clamp.1), in_bits, 20, t, UnaryIo::new(BUS_DATA, BUS_OUT, n)).unwrap()
}

/// The direct rule, written apart from the chip: split, clamp, interpolate, round half up.
fn direct(t: &LutTable, (s, k): (u32, u32), x: i64) -> i64 {
    let xs = x << s;
    let (i, r) = (xs.div_euclid(1 << k), xs.rem_euclid(1 << k));
    if i < t.lo {
        return t.entries[0];
    }
    if i > t.hi() {
        return t.entries[t.len() - 1];
    }
    let (a, b) = (t.entries[(i - t.lo) as usize], t.entries[(i - t.lo) as usize + 1]);
    let v = (b - a) * r;
    a + if k == 0 { v } else { (v + (1 << (k - 1))).div_euclid(1 << k) }
}

fn check(c: &Lut, t: &LutTable, inputs: &[i64], outputs: &[i64], trace: &Trace, lookups: &[F], looked_up: &[i64]) -> Result<(), Vec<CheckFailure>> {
    let mut tuples = Vec::new();
    for (i, (&x, &y)) in inputs.iter().zip(outputs).enumerate() {
        let tu = |bus, dir, v: i64| RowInteraction { bus, dir, fields: vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::ONE };
        tuples.push(tu(BUS_DATA, Direction::Send, x));
        tuples.push(tu(BUS_OUT, Direction::Receive, y));
    }
    let range = RangeTable { bits: 8 };
    let rt = range.generate_trace(lookups.iter().copied());
    let tt = t.generate_trace(looked_up.iter().copied());
    let chips: [&dyn crate::Chip; 3] = [c, t, &range];
    let (own, tp, rp) = (c.preprocessed_trace(), Air::preprocessed_trace(t), Air::preprocessed_trace(&range));
    crate::check::check_constraints_with(&chips, &[trace, &tt, &rt], &[own.as_ref(), tp.as_ref(), rp.as_ref()], &[], &tuples)
}

#[test]
fn honest_traces_pass_and_match_the_direct_rule() {
    let mut rng = SplitMix64(8);
    let t = table(-40, 39);
    // Input with 6 fractional bits (k = 2), 4 (k = 0) and 2 (s = 2, k = 0); inputs past the
    // domain on both sides.
    for (sk, in_bits) in [((0, 2), 10u32), ((0, 0), 8), ((2, 0), 6)] {
        let bound = 1i64 << in_bits;
        let inputs: Vec<i64> = (0..29).map(|_| (rng.next_u64() % (2 * bound as u64 - 1)) as i64 - (bound - 1)).chain([bound - 1, -(bound - 1), 0]).collect();
        let c = chip(&t, sk, (true, true), in_bits, inputs.len());
        let (trace, out, lookups, looked_up) = c.generate_trace(&t, &inputs).unwrap();
        for (&x, &y) in inputs.iter().zip(&out) {
            assert_eq!(y, direct(&t, sk, x), "{sk:?} x = {x}");
        }
        check(&c, &t, &inputs, &out, &trace, &lookups, &looked_up).unwrap_or_else(|e| panic!("{sk:?}: {e:?}"));
    }
}

#[test]
fn one_changed_cell_fails() {
    let t = table(-40, 39);
    let c = chip(&t, (0, 2), (true, true), 10, 4);
    // Inside the domain, below it, past it, and on a table index exactly.
    let inputs = vec![37, -500, 300, 8];
    let (trace, out, lookups, looked_up) = c.generate_trace(&t, &inputs).unwrap();
    check(&c, &t, &inputs, &out, &trace, &lookups, &looked_up).unwrap();
    for idx in 0..trace.values.len() {
        let mut bad = trace.clone();
        bad.values[idx] += F::ONE;
        assert!(check(&c, &t, &inputs, &out, &bad, &lookups, &looked_up).is_err(), "cell {idx} changed but passed");
    }
}

#[test]
fn an_unclamped_side_refuses_the_input() {
    let t = table(-40, 39);
    let c = chip(&t, (0, 2), (true, false), 10, 2);
    assert_eq!(c.generate_trace(&t, &[5, 200]).unwrap_err(), 1);
    // A prover that clamps anyway is refused by the constraint.
    let ok = chip(&t, (0, 2), (true, true), 10, 2);
    let (trace, out, lookups, looked_up) = ok.generate_trace(&t, &[5, 200]).unwrap();
    let e = check(&c, &t, &[5, 200], &out, &trace, &lookups, &looked_up).unwrap_err();
    assert!(e.iter().any(|f| matches!(f, CheckFailure::Constraint { label: "no clamp above", .. })), "{e:?}");
}

#[test]
fn a_clamp_inside_the_domain_is_refused() {
    // x = 8 (index 2) claimed below the domain: c = lo, rr = 0, y = T[lo]; everything holds
    // but e = lo 2^k - 1 - x < 0, a field element with no limbs.
    let t = table(-40, 39);
    let c = chip(&t, (0, 2), (true, true), 10, 4);
    let inputs = vec![8, 1, 2, 3];
    let (trace, _, lookups, mut looked_up) = c.generate_trace(&t, &inputs).unwrap();
    let mut bad = trace.clone();
    let e = F::from_i64(-40 * 4 - 1 - 8);
    bad.set(0, BELOW, F::ONE);
    bad.set(0, C, F::from_i64(-40));
    bad.set(0, RR, F::ZERO);
    bad.set(0, E, e);
    bad.set(0, T0, F::from_i64(t.entries[0]));
    bad.set(0, T1, F::from_i64(t.entries[1]));
    bad.set(0, Y, F::from_i64(t.entries[0]));
    // q = half: (t1 - t0) 0 + 2 - 0.
    bad.set(0, Q, F::from_u64(2));
    let [nr, ne, _, _] = c.limbs();
    // Limbs that sum to e: the top one is no byte.
    assert_eq!(ne, 2);
    bad.set(0, LIMBS + nr, F::ZERO);
    bad.set(0, LIMBS + nr + 1, e * F::from_u64(256).inverse());
    bad.set(0, LIMBS + nr + ne, F::from_u64(2));
    let yb = (t.entries[0] + (1 << 19)) as u64;
    for (j, l) in byte_limbs(yb, n_limbs(20)).into_iter().enumerate() {
        bad.set(0, LIMBS + nr + ne + 1 + j, l);
    }
    looked_up[0] = -40;
    let out: Vec<i64> = vec![t.entries[0], direct(&t, (0, 2), 1), direct(&t, (0, 2), 2), direct(&t, (0, 2), 3)];
    let err = check(&c, &t, &inputs, &out, &bad, &lookups, &looked_up).unwrap_err();
    assert!(err.iter().all(|f| !matches!(f, CheckFailure::Constraint { .. })), "{err:?}");
    assert!(err.iter().any(|f| matches!(f, CheckFailure::BusImbalance { bus: 0, .. })), "{err:?}");
}

#[test]
fn a_wrapped_remainder_is_refused() {
    // q = p - 1 standing for -1 would make y one more: the constraint holds, the range check
    // does not.
    let t = table(-40, 39);
    let c = chip(&t, (0, 2), (true, true), 10, 4);
    let inputs = vec![37, 1, 2, 3];
    let (trace, out, lookups, looked_up) = c.generate_trace(&t, &inputs).unwrap();
    let mut bad = trace.clone();
    let y = out[0] + 1;
    let q = bad.get(0, Q) - F::from_u64(4);
    bad.set(0, Y, F::from_i64(y));
    bad.set(0, Q, q);
    let mut lied = out.clone();
    lied[0] = y;
    let err = check(&c, &t, &inputs, &lied, &bad, &lookups, &looked_up).unwrap_err();
    assert!(err.iter().any(|f| matches!(f, CheckFailure::Constraint { label: "q is its limbs", .. })), "{err:?}");
}

#[test]
fn bounds_that_reach_the_field_are_refused() {
    let t = table(-40, 39);
    // (y - t0) 2^k reaches 2^64.
    assert!(Lut::new("f", (0, 4), (-40, 39, true, true), 10, 61, &t, UnaryIo::new(BUS_DATA, BUS_OUT, 1)).is_err());
    assert!(Lut::new("f", (0, 4), (-40, 39, true, true), 10, 58, &t, UnaryIo::new(BUS_DATA, BUS_OUT, 1)).is_ok());
    assert!(Lut::new("f", (2, 2), (-40, 39, true, true), 10, 20, &t, UnaryIo::new(BUS_DATA, BUS_OUT, 1)).is_err());
}
