use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};

/// A convolution's shape: batch, groups, input `c x h x w`, `oc` outputs, a `kh x kw` kernel,
/// strides and pads (top, left, bottom, right).
#[derive(Clone, Copy, Debug)]
struct Shape {
    batch: usize,
    groups: usize,
    c: usize,
    h: usize,
    w: usize,
    oc: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    pads: [usize; 4],
}

macro_rules! shape {
    ($batch:expr, $groups:expr, $c:expr, $h:expr, $w:expr, $oc:expr, ($kh:expr, $kw:expr), ($sh:expr, $sw:expr), $pads:expr) => {
        Shape { batch: $batch, groups: $groups, c: $c, h: $h, w: $w, oc: $oc, kh: $kh, kw: $kw, sh: $sh, sw: $sw, pads: $pads }
    };
}

const SHAPES: [Shape; 7] = [
    shape!(1, 1, 1, 4, 4, 1, (1, 1), (1, 1), [0; 4]),
    shape!(1, 1, 2, 5, 5, 3, (3, 3), (1, 1), [1; 4]),
    shape!(1, 1, 3, 6, 5, 2, (3, 2), (2, 1), [0, 1, 1, 0]),
    shape!(2, 1, 2, 4, 3, 2, (2, 2), (1, 2), [1, 0, 0, 1]),
    shape!(1, 2, 4, 5, 4, 6, (3, 3), (1, 1), [1; 4]),
    shape!(1, 3, 3, 6, 6, 3, (3, 3), (2, 2), [1; 4]),
    shape!(1, 1, 3, 7, 7, 4, (5, 5), (1, 1), [0; 4]),
];

/// The chip for `sh`, its input (in `[-1000, 1000]`), and the convolution computed directly.
fn conv(sh: Shape, seed: u64) -> (PolyConv, Vec<i64>, Vec<i64>) {
    let mut rng = SplitMix64(seed);
    let mut r = |m: u64| (rng.next_u64() % (2 * m + 1)) as i64 - m as i64;
    let Shape { batch, groups, c, h, w, oc, kh, kw, sh: sy, sw: sx, pads } = sh;
    let (cg, og) = (c / groups, oc / groups);
    let x: Vec<i64> = (0..batch * c * h * w).map(|_| r(1000)).collect();
    let wt: Vec<i64> = (0..oc * cg * kh * kw).map(|_| r(300)).collect();
    let bias: Vec<i64> = (0..oc).map(|_| r(5000)).collect();
    let (hp, wp) = (h + pads[0] + pads[2], w + pads[1] + pads[3]);
    let (oh, ow) = ((hp - kh) / sy + 1, (wp - kw) / sx + 1);
    let mut direct = vec![0i64; batch * oc * oh * ow];
    for b in 0..batch {
        for o in 0..oc {
            let g = o / og;
            for u in 0..oh {
                for v in 0..ow {
                    let mut acc = bias[o];
                    for cl in 0..cg {
                        for a in 0..kh {
                            for bb in 0..kw {
                                let (i, j) = ((u * sy + a) as isize - pads[0] as isize, (v * sx + bb) as isize - pads[1] as isize);
                                if i >= 0 && j >= 0 && (i as usize) < h && (j as usize) < w {
                                    let xi = ((b * c + g * cg + cl) * h + i as usize) * w + j as usize;
                                    acc += x[xi] * wt[((o * cg + cl) * kh + a) * kw + bb];
                                }
                            }
                        }
                    }
                    direct[((b * oc + o) * oh + u) * ow + v] = acc;
                }
            }
        }
    }
    let mut chip = PolyConv {
        name: "conv".into(),
        batch,
        groups,
        c,
        h,
        w,
        pads,
        oc,
        kh,
        kw,
        sh: sy,
        sw: sx,
        weights: wt.iter().map(|&v| F::from_i64(v)).collect(),
        bias: bias.iter().map(|&v| F::from_i64(v)).collect(),
        src: (0..x.len() as u32).collect(),
        out: (0..direct.len() as u32).collect(),
        uses: vec![1; direct.len()],
        in_bus: BUS_DATA,
        out_bus: BUS_OUT,
        log_height: 0,
    };
    chip.log_height = chip.min_log_height();
    (chip, x, direct)
}

/// The chip with its inputs sent (as often as it reads them) and its outputs received as
/// public tuples.
fn check(chip: &PolyConv, x: &[i64], y: &[i64], trace: &Trace) -> Result<(), Vec<crate::CheckFailure>> {
    crate::chips::check_product(chip, chip.reads(), x, y, trace)
}

#[test]
fn convolutions_match_the_direct_loop_and_pass() {
    for (k, sh) in SHAPES.iter().enumerate() {
        let (chip, x, direct) = conv(*sh, 7 + k as u64);
        assert_eq!(chip.reference(&x), direct, "{sh:?}");
        let (trace, y) = chip.generate_trace(&x);
        assert_eq!(y, direct, "{sh:?}");
        check(&chip, &x, &y, &trace).unwrap_or_else(|e| panic!("{sh:?}: {e:?}"));
    }
}

#[test]
fn the_chip_multiplies_auxiliary_columns_and_says_so() {
    let (chip, _, _) = conv(SHAPES[1], 1);
    let info = crate::ChipInfo::of(&chip).unwrap();
    assert_eq!(info.log_quotient_degree, 1, "degree 3 constraints");
    assert_eq!(info.challenge_degree, 2);
    // The same constraints without the opt-in are refused.
    #[derive(Clone)]
    struct Linear(PolyConv);
    impl Air for Linear {
        fn name(&self) -> String {
            self.0.name.clone()
        }
        fn width(&self) -> usize {
            1
        }
        fn preprocessed_trace(&self) -> Option<Trace> {
            Air::preprocessed_trace(&self.0)
        }
        fn n_challenges(&self) -> usize {
            3
        }
        fn aux_width(&self) -> usize {
            6
        }
        fn eval<B: AirBuilder>(&self, b: &mut B) {
            self.0.eval(b)
        }
    }
    let e = crate::ChipInfo::of(&Linear(chip)).unwrap_err();
    assert!(e.reason.contains("not linear in the auxiliary columns"), "{e}");
}

#[test]
fn one_changed_cell_fails() {
    for sh in [SHAPES[1], SHAPES[4]] {
        let (chip, x, _) = conv(sh, 3);
        let (trace, y) = chip.generate_trace(&x);
        check(&chip, &x, &y, &trace).unwrap();
        for idx in 0..trace.values.len() {
            let mut bad = trace.clone();
            bad.values[idx] += F::ONE;
            assert!(check(&chip, &x, &y, &bad).is_err(), "{sh:?}: cell {idx} changed but passed");
        }
    }
}

#[test]
fn a_wrong_output_balanced_on_the_bus_fails_the_identity() {
    // The output claimed one more and received as such: the bus balances, the identity does
    // not (T misses 0 at the group's end, or, carried round the wrap, its recurrence fails).
    for sh in [SHAPES[2], SHAPES[5]] {
        let (chip, x, _) = conv(sh, 5);
        let (mut trace, mut y) = chip.generate_trace(&x);
        let last = y.len() - 1;
        let row = chip.rows().iter().position(|r| matches!(r.kind, Kind::Y { b, o, i, j } if chip.output_at(b, o, i, j) == Some(last))).unwrap();
        trace.values[row] += F::ONE;
        y[last] += 1;
        let e = check(&chip, &x, &y, &trace).unwrap_err();
        assert!(e.iter().any(|f| matches!(f, crate::CheckFailure::Constraint { label: "T is 0 at each group's end", .. })), "{sh:?}: {e:?}");
        let t_only = |f: &crate::CheckFailure| matches!(f, crate::CheckFailure::Constraint { label, .. } if label.starts_with("T "));
        assert!(e.iter().all(t_only), "{sh:?}: {e:?}");
    }
}

#[test]
fn a_wrong_border_coefficient_fails_the_identity() {
    // The coefficients that are not outputs are pinned by the identity alone.
    let (chip, x, _) = conv(SHAPES[1], 11);
    let (mut trace, y) = chip.generate_trace(&x);
    let row = chip.rows().iter().position(|r| matches!(r.kind, Kind::Y { b, o, i, j } if chip.output_at(b, o, i, j).is_none())).unwrap();
    trace.values[row] += F::ONE;
    assert!(check(&chip, &x, &y, &trace).is_err());
}

#[test]
fn the_bound_covers_every_coefficient_and_reaches_the_field_only_for_huge_weights() {
    let (mut chip, x, _) = conv(SHAPES[4], 5);
    // |x| <= 1000 < 2^10: every coefficient, border ones included, is within the bound.
    let bits = chip.output_bits(10).unwrap();
    let products = chip.products(&x);
    assert!(products.iter().all(|p| p.unsigned_abs() < 1u128 << bits));
    chip.weights[0] = F::from_i64(1 << 55);
    assert_eq!(chip.output_bits(10), None);
}
