use alloc::vec::Vec;

use p3_field::PrimeCharacteristicRing;

use super::*;
use crate::chips::{BUS_DATA, BUS_OUT, SplitMix64};

/// A convolution's shape: input `c x h x w`, `oc` output channels, a `kh x kw` kernel, stride
/// `s` and padding `pad`.
type Geometry = (usize, usize, usize, usize, usize, usize, usize, usize);

/// The convolution `geometry` as a [`Linear`] chip, its input, and the same convolution
/// computed directly.
fn conv((c, h, w, oc, kh, kw, s, pad): Geometry, seed: u64) -> (Linear, Vec<i64>, Vec<i64>) {
    conv_chunked((c, h, w, oc, kh, kw, s, pad), oc, seed)
}

/// [`conv`] with `chunk` outputs per block.
fn conv_chunked((c, h, w, oc, kh, kw, s, pad): Geometry, chunk: usize, seed: u64) -> (Linear, Vec<i64>, Vec<i64>) {
    let mut rng = SplitMix64(seed);
    let mut r = |m: u64| (rng.next_u64() % (2 * m + 1)) as i64 - m as i64;
    let x: Vec<i64> = (0..c * h * w).map(|_| r(1000)).collect();
    let wt: Vec<i64> = (0..oc * c * kh * kw).map(|_| r(300)).collect();
    let bias: Vec<i64> = (0..oc).map(|_| r(5000)).collect();
    let (oh, ow) = ((h + 2 * pad - kh) / s + 1, (w + 2 * pad - kw) / s + 1);
    let k = c * kh * kw;
    let mut src = Vec::new();
    let mut out = Vec::new();
    let mut direct = vec![0i64; oc * oh * ow];
    for oy in 0..oh {
        for ox in 0..ow {
            let p = oy * ow + ox;
            for ci in 0..c {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let (iy, ix) = ((oy * s + ky) as isize - pad as isize, (ox * s + kx) as isize - pad as isize);
                        let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                        src.push(inside.then(|| ((ci * h + iy as usize) * w + ix as usize) as u32));
                    }
                }
            }
            for o in 0..oc {
                out.push((o * oh * ow + p) as u32);
                let mut acc = bias[o];
                for (j, sv) in src[p * k..(p + 1) * k].iter().enumerate() {
                    if let Some(sv) = sv {
                        acc += x[*sv as usize] * wt[o * k + j];
                    }
                }
                direct[o * oh * ow + p] = acc;
            }
        }
    }
    // W[j, o] = wt[o, j].
    let weights = (0..k * oc).map(|i| F::from_i64(wt[(i % oc) * k + i / oc])).collect();
    let positions = oh * ow;
    let chip = Linear {
        name: "conv".into(),
        positions,
        k,
        n: oc,
        chunk,
        weights,
        bias: bias.iter().map(|&b| F::from_i64(b)).collect(),
        src,
        out,
        uses: vec![1; oc * positions],
        in_bus: BUS_DATA,
        out_bus: BUS_OUT,
        log_height: Linear::min_log_height(positions, k, oc, chunk),
    };
    (chip, x, direct)
}

/// The chip with its inputs sent (as often as it reads them) and its outputs received as
/// public tuples.
fn check(chip: &Linear, x: &[i64], y: &[i64], trace: &Trace) -> Result<(), Vec<crate::CheckFailure>> {
    crate::chips::check_product(chip, chip.reads(), x, y, trace)
}

#[test]
fn convolutions_and_dense_layers_match_the_direct_product_and_pass() {
    for (c, h, w, oc, kh, kw, s, pad) in [(1, 4, 4, 1, 1, 1, 1, 0), (2, 5, 5, 3, 3, 3, 1, 1), (3, 6, 5, 2, 3, 2, 2, 0), (5, 1, 1, 7, 1, 1, 1, 0), (12, 1, 1, 3, 1, 1, 1, 0)] {
        let (chip, x, direct) = conv((c, h, w, oc, kh, kw, s, pad), 7);
        let (trace, y) = chip.generate_trace(&x);
        assert_eq!(y, direct);
        check(&chip, &x, &y, &trace).unwrap_or_else(|e| panic!("{c}x{h}x{w} -> {oc}, {kh}x{kw}/{s} pad {pad}: {e:?}"));
    }
}

#[test]
fn outputs_cut_into_chunks_match_and_pass() {
    for (geometry, chunk) in [((5, 1, 1, 7, 1, 1, 1, 0), 3), ((3, 1, 1, 12, 1, 1, 1, 0), 4), ((2, 5, 5, 5, 3, 3, 1, 1), 2), ((12, 1, 1, 20, 1, 1, 1, 0), 16)] {
        let (chip, x, direct) = conv_chunked(geometry, chunk, 9);
        let (trace, y) = chip.generate_trace(&x);
        assert_eq!(y, direct);
        check(&chip, &x, &y, &trace).unwrap_or_else(|e| panic!("{geometry:?} in chunks of {chunk}: {e:?}"));
    }
    // Every changed cell of a chunked layer fails too.
    let (chip, x, _) = conv_chunked((3, 1, 1, 7, 1, 1, 1, 0), 3, 4);
    let (trace, y) = chip.generate_trace(&x);
    for idx in 0..trace.values.len() {
        let mut bad = trace.clone();
        bad.values[idx] += F::ONE;
        assert!(check(&chip, &x, &y, &bad).is_err(), "cell {idx} changed but passed");
    }
}

#[test]
fn one_changed_cell_fails() {
    let (chip, x, _) = conv((2, 4, 4, 3, 3, 3, 1, 1), 3);
    let (trace, y) = chip.generate_trace(&x);
    check(&chip, &x, &y, &trace).unwrap();
    for idx in 0..trace.values.len() {
        let mut bad = trace.clone();
        bad.values[idx] += F::ONE;
        assert!(check(&chip, &x, &y, &bad).is_err(), "cell {idx} changed but passed");
    }
}

#[test]
fn a_wrong_output_balanced_on_the_bus_fails_the_product() {
    // The output claimed one more and received as such: the bus balances, Freivalds does not.
    let (chip, x, _) = conv((2, 4, 4, 3, 3, 3, 1, 1), 5);
    let (mut trace, mut y) = chip.generate_trace(&x);
    trace.set(0, Y, trace.get(0, Y) + F::ONE);
    y[chip.out[0] as usize] += 1;
    let e = check(&chip, &x, &y, &trace).unwrap_err();
    assert!(e.iter().all(|f| matches!(f, crate::CheckFailure::Constraint { label: "acc adds each term, cyclically", .. })), "{e:?}");
}

#[test]
fn the_bound_reaches_the_field_only_for_huge_weights() {
    let (mut chip, _, _) = conv((2, 4, 4, 3, 3, 3, 1, 1), 5);
    assert!(chip.output_bits(20).unwrap() < 40);
    chip.weights[0] = F::from_u64(1 << 50);
    assert_eq!(chip.output_bits(20), None);
}
