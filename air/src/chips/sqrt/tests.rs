use alloc::vec;
use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::check::CheckFailure;
use crate::chips::unary::Y;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};

fn chip(offset: u64, in_bits: u32, n: usize) -> Sqrt {
    Sqrt::new("sqrt", offset, 0, in_bits, UnaryIo::new(BUS_DATA, BUS_OUT, n)).unwrap()
}

#[test]
fn roots_are_the_rounded_square_roots() {
    for v in 0u128..2000 {
        let y = isqrt_round(v);
        // (y - 1/2)^2 <= v < (y + 1/2)^2, in quarters.
        assert!((2 * y).saturating_sub(1).pow(2) <= 4 * v && 4 * v < (2 * y + 1).pow(2), "{v} -> {y}");
    }
    let big = (1u128 << 60) - 1;
    assert_eq!(isqrt_round(big), 1 << 30);
}

#[test]
fn honest_traces_pass() {
    let mut rng = SplitMix64(11);
    for (offset, bits) in [(0u64, 8u32), (1, 20), (7, 40), (655, 52), (0, 60)] {
        let mut x: Vec<i64> = (0..13).map(|_| 1 + (rng.next_u64() % ((1u64 << bits) - 1)) as i64).collect();
        // Every edge of the tiling: y^2 - y + 1 and y^2 + y, less the offset.
        x.extend([1i64, 2, 3, 6, 7, 12, 13].map(|v| (v - offset as i64).max(1 - offset as i64)));
        let c = chip(offset, bits, x.len());
        let (t, y, lookups) = c.generate_trace(&x).unwrap();
        for (&xi, &yi) in x.iter().zip(&y) {
            let v = (xi as i128 + offset as i128) as f64;
            assert!((yi as f64 - v.sqrt()).abs() <= 0.5 + 1e-9 * v.sqrt(), "sqrt({v}) = {yi}");
        }
        crate::chips::check_unary(&c, &x, &y, &t, &lookups).unwrap_or_else(|e| panic!("c = {offset}, {bits} bits: {e:?}"));
    }
}

#[test]
fn zero_is_its_own_root_and_negatives_have_none() {
    let c = chip(0, 10, 4);
    let x = [4i64, 0, 9, 1];
    let (t, y, lookups) = c.generate_trace(&x).unwrap();
    assert_eq!(y, vec![2, 0, 3, 1]);
    crate::chips::check_unary(&c, &x, &y, &t, &lookups).unwrap();
    crate::chips::every_changed_cell_fails_unary(&c, &x, &y, &t, &lookups);
    assert_eq!(c.generate_trace(&[5, -1]).unwrap_err(), 1);
    assert_eq!(chip(3, 10, 2).generate_trace(&[5, -4]).unwrap_err(), 1);
    // Zero claimed for a positive radicand (z = 1, y = 0, t = v = 2): 2y - 1 + z - t = -2.
    let x = [2i64, 1, 1, 1];
    let (mut t, _, lookups) = c.generate_trace(&x).unwrap();
    t.set(0, Y, F::ZERO);
    t.set(0, Z, F::ONE);
    t.set(0, T, F::from_u64(2));
    assert!(crate::chips::check_unary(&c, &x, &[0, 1, 1, 1], &t, &lookups).is_err());
}

#[test]
fn shifted_inputs_take_the_root_at_the_output_s_scale() {
    // sqrt(x / 2^8) at 8 fractional bits: round(sqrt(x 2^8)).
    let c = Sqrt::new("sqrt", 0, 8, 20, UnaryIo::new(BUS_DATA, BUS_OUT, 4)).unwrap();
    let x = [256i64, 1024, 0, 77];
    let (t, y, lookups) = c.generate_trace(&x).unwrap();
    assert_eq!(y, vec![256, 512, 0, isqrt_round(77 << 8) as i64]);
    crate::chips::check_unary(&c, &x, &y, &t, &lookups).unwrap();
}

#[test]
fn one_changed_cell_fails() {
    for offset in [0u64, 5] {
        let c = chip(offset, 16, 4);
        let x = vec![3i64, 1000, 65535, 12];
        let (t, y, lookups) = c.generate_trace(&x).unwrap();
        crate::chips::every_changed_cell_fails_unary(&c, &x, &y, &t, &lookups);
    }
}

#[test]
fn a_neighbouring_root_is_refused() {
    // v = 10: y = 3 (7 <= 10 <= 12). Claim y = 2 or 4 with t balancing the equation: t is then
    // 10 - 4 + 2 - 1 = 7 > 2y - 1 = 3, or 10 - 16 + 4 - 1 = -3 (no limbs).
    let c = chip(0, 8, 4);
    let x = vec![10i64, 1, 1, 1];
    let (t, _, lookups) = c.generate_trace(&x).unwrap();
    for (y, tv) in [(2i64, 7i64), (4, -3)] {
        let mut bad = t.clone();
        bad.set(0, Y, F::from_i64(y));
        bad.set(0, T, F::from_i64(tv));
        let nt = n_limbs(c.t_bits());
        let limbs = byte_limbs(tv as u64, nt);
        for (i, l) in limbs.into_iter().enumerate() {
            bad.set(0, LIMBS + i, l);
        }
        let s = byte_limbs((2 * y - 1 - tv) as u64, nt);
        for (i, l) in s.into_iter().enumerate() {
            bad.set(0, LIMBS + nt + i, l);
        }
        let ny = n_limbs(c.y_bits as usize);
        for (i, l) in byte_limbs((y - 1) as u64, ny).into_iter().enumerate() {
            bad.set(0, LIMBS + 2 * nt + i, l);
        }
        let out = vec![y, 1, 1, 1];
        let e = crate::chips::check_unary(&c, &x, &out, &bad, &lookups).unwrap_err();
        assert!(
            e.iter().any(|f| matches!(f, CheckFailure::Constraint { .. } | CheckFailure::BusImbalance { bus: 0, .. })),
            "y = {y}: {e:?}"
        );
    }
}
