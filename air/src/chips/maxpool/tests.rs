use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::air::{Direction, RowInteraction};
use crate::chips::range::RangeTable;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};
use crate::{Chip, check_constraints_with};

/// 2x2 max pooling with stride 2 over a `c x h x w` tensor, padded by one on the right and
/// bottom when a dimension is odd (those taps are skipped), with values below `2^(bits-1)`.
fn pool(c: usize, h: usize, w: usize, bits: u32, seed: u64) -> (MaxPool, Vec<i64>, Vec<i64>) {
    let mut rng = SplitMix64(seed);
    let m = (1u64 << (bits - 1)) - 1;
    let x: Vec<i64> = (0..c * h * w).map(|_| (rng.next_u64() % (2 * m + 1)) as i64 - m as i64).collect();
    let (oh, ow) = (h.div_ceil(2), w.div_ceil(2));
    let mut src = Vec::new();
    let mut direct = Vec::new();
    for ci in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = i64::MIN;
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let (iy, ix) = (2 * oy + dy, 2 * ox + dx);
                    if iy < h && ix < w {
                        let i = (ci * h + iy) * w + ix;
                        src.push(Some(i as u32));
                        best = best.max(x[i]);
                    } else {
                        src.push(None);
                    }
                }
                direct.push(best);
            }
        }
    }
    let n = c * oh * ow;
    let chip = MaxPool { name: "pool".into(), window: 4, src, uses: vec![1; n], bits, in_bus: BUS_DATA, out_bus: BUS_OUT, log_height: MaxPool::min_log_height(n, 4) };
    (chip, x, direct)
}

fn check(chip: &MaxPool, x: &[i64], y: &[i64], trace: &Trace, lookups: &[F]) -> Result<(), Vec<crate::CheckFailure>> {
    let t = |bus, dir, i: usize, v: i64| RowInteraction { bus, dir, fields: vec![F::from_usize(i), F::from_i64(v)], multiplicity: F::ONE };
    let mut tuples: Vec<RowInteraction> = x.iter().enumerate().map(|(i, &v)| t(BUS_DATA, Direction::Send, i, v)).collect();
    tuples.extend(y.iter().enumerate().map(|(i, &v)| t(BUS_OUT, Direction::Receive, i, v)));
    let range = RangeTable { bits: 8 };
    let rt = range.generate_trace(lookups.iter().copied());
    let (prep, rprep) = (Air::preprocessed_trace(chip), Air::preprocessed_trace(&range));
    let chips: [&dyn Chip; 2] = [chip, &range];
    check_constraints_with(&chips, &[trace, &rt], &[prep.as_ref(), rprep.as_ref()], &[], &tuples)
}

#[test]
fn honest_traces_give_the_maximum_and_pass() {
    for (c, h, w, bits) in [(1, 2, 2, 4), (2, 4, 4, 12), (3, 5, 3, 20), (1, 7, 7, 40)] {
        let (chip, x, direct) = pool(c, h, w, bits, 11);
        let (trace, y, lookups) = chip.generate_trace(&x);
        assert_eq!(y, direct);
        check(&chip, &x, &y, &trace, &lookups).unwrap_or_else(|e| panic!("{c}x{h}x{w}: {e:?}"));
    }
}

#[test]
fn one_changed_cell_fails() {
    let (chip, x, _) = pool(2, 3, 4, 10, 2);
    let (trace, y, lookups) = chip.generate_trace(&x);
    for idx in 0..trace.values.len() {
        let mut bad = trace.clone();
        bad.values[idx] += F::ONE;
        assert!(check(&chip, &x, &y, &bad, &lookups).is_err(), "cell {idx} changed but passed");
    }
}

#[test]
fn a_smaller_tap_claimed_as_the_maximum_needs_a_wrapped_difference() {
    // Output 0 claimed to be its smallest tap: z still ends at zero, but some d = y - x is
    // negative, p - something, which has no byte limbs.
    let (chip, x, _) = pool(1, 2, 2, 10, 9);
    let (mut trace, mut y, lookups) = chip.generate_trace(&x);
    let min = (0..4).map(|r| x[chip.src[r].unwrap() as usize]).min().unwrap();
    assert!(min < y[0]);
    y[0] = min;
    let mut z = F::ONE;
    for r in 0..4 {
        let xv = trace.get(r, X);
        let d = F::from_i64(min) - xv;
        trace.set(r, Y, F::from_i64(min));
        trace.set(r, D, d);
        let dl = byte_limbs(crate::field::f_to_u64(d), 2);
        trace.set(r, LIMBS, dl[0]);
        trace.set(r, LIMBS + 1, dl[1]);
        z = if r == 0 { d } else { z * d };
        trace.set(r, Z, z);
    }
    let e = check(&chip, &x, &y, &trace, &lookups).unwrap_err();
    assert!(e.iter().all(|f| !matches!(f, crate::CheckFailure::Constraint { label: "z ends at zero: y is a tap", .. })), "{e:?}");
    assert!(!e.is_empty());
}
