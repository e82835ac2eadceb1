//! What the op families share: rounding helpers, attribute readers for window operators, and
//! the imports every family module takes ([`prelude`]).

use crate::error::OnnxError;
use crate::attrs::{AutoPad, Window};
use crate::fixed::{Ctx, Get, rescale};
use crate::model::{Attribute, Node};

/// What every family module imports.
pub(crate) mod prelude {
    pub(crate) use super::{MAX_WINDOW, R, align, attr_s, isqrt_round, param_frac, reals, window_pads_nd};
    pub(crate) use crate::error::OnnxError;
    pub(crate) use crate::fixed::{
        MAX_BITS,
        Ctx, Get, QTensor, attr_f, attr_i, attr_ints, axis_of, bcast_index, bits_of, broadcast, checked_numel, div_round, ints, lift,
        opt_input, quantize, rescale, sat, strides, zip2,
    };
    pub(crate) use crate::lut::Func;
    pub(crate) use crate::model::{Attribute, ElemType, Node};
    pub(crate) use crate::registry::Op;
    pub(crate) use rayon::prelude::*;
}

pub(crate) type R<T> = Result<T, OnnxError>;

/// `v` (with `from` fractional bits) with `to` fractional bits: exact upward, rounded downward.
pub fn align(v: i128, from: u32, to: u32) -> i128 {
    if to >= from { v << (to - from) } else { rescale(v, from - to) }
}

/// `round(sqrt(v))` for `v >= 0`, exact: the `r` with `(r - 1/2)^2 <= v < (r + 1/2)^2`.
pub(crate) fn isqrt_round(v: i128) -> i128 {
    let r = v.isqrt();
    // (r + 1/2)^2 = r^2 + r + 1/4: round up when v > r^2 + r.
    if v - r * r > r { r + 1 } else { r }
}

/// A string attribute, or `d`.
pub fn attr_s(n: &Node, k: &str, d: &str) -> String {
    match n.attributes.get(k) {
        Some(Attribute::String(s)) => String::from_utf8_lossy(s).into_owned(),
        _ => d.into(),
    }
}

/// The largest kernel size, stride, dilation or pad a window operator accepts (beyond it the
/// window arithmetic could overflow; no real model comes near).
pub(crate) const MAX_WINDOW: i64 = 1 << 24;

/// Input `k` as reals: the float initializer's values (un-quantized, for parameters folded
/// before quantization such as BatchNormalization's) when it is one, else the dequantized
/// tensor.
pub(crate) fn reals(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>, k: usize) -> R<Vec<f64>> {
    if let Some(v) = n.inputs.get(k).and_then(|name| ctx.inits.get(name)?.data.floats()) {
        return Ok(v);
    }
    let t = get(k)?;
    let s = (1u64 << t.frac_bits) as f64;
    Ok(t.data.iter().map(|&v| v as f64 / s).collect())
}

/// Fractional bits for a constant whose largest magnitude is `max_abs`, so that it has
/// `bits` significant bits (at most `cap` fractional bits).
pub(crate) fn param_frac(max_abs: f64, bits: u32, cap: u32) -> u32 {
    if !max_abs.is_finite() || max_abs <= 0.0 {
        return cap;
    }
    let e = libm::floor(libm::log2(max_abs)) as i64;
    (i64::from(bits) - 1 - e).clamp(0, i64::from(cap)) as u32
}

/// `(begin pads, end pads)` of an N-D window operator from `auto_pad` or `pads`.
pub fn window_pads_nd(w: &Window, input: &[usize], kernel: &[usize], stride: &[usize]) -> Result<(Vec<usize>, Vec<usize>), String> {
    let d = input.len();
    match &w.auto_pad {
        AutoPad::NotSet => {
            let p = w.pads.clone().unwrap_or(vec![0; 2 * d]);
            if p.len() != 2 * d || p.iter().any(|&v| !(0..=MAX_WINDOW).contains(&v)) {
                return Err(format!("pads {p:?} are not {} values in [0, {MAX_WINDOW}]", 2 * d));
            }
            Ok((p[..d].iter().map(|&v| v as usize).collect(), p[d..].iter().map(|&v| v as usize).collect()))
        }
        AutoPad::Valid => Ok((vec![0; d], vec![0; d])),
        mode @ (AutoPad::SameUpper | AutoPad::SameLower) => {
            let (mut b, mut e) = (vec![0; d], vec![0; d]);
            for a in 0..d {
                let o = input[a].div_ceil(stride[a]);
                let total = ((o.max(1) - 1) * stride[a] + kernel[a]).saturating_sub(input[a]);
                let (small, big) = (total / 2, total - total / 2);
                (b[a], e[a]) = if *mode == AutoPad::SameUpper { (small, big) } else { (big, small) };
            }
            Ok((b, e))
        }
        AutoPad::Other(other) => Err(format!("auto_pad {other} is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_is_close_to_the_logarithm_across_magnitudes() {
        for k in [0u32, 8, 16, 30] {
            for e in -20i32..40 {
                for m in [1.0, 1.1, 1.5, 1.999] {
                    let x = m * 2f64.powi(e);
                    let q = (x * 2f64.powi(k as i32)).round() as i64;
                    if q <= 0 || q.unsigned_abs() >= 1 << 60 {
                        continue;
                    }
                    let got = crate::ops::nonlinear::ln_q(q, k, 16).unwrap() as f64 / 65536.0;
                    let want = (q as f64 / 2f64.powi(k as i32)).ln();
                    // Entry and interpolation rounding (3 * 2^-17), ln 2's rounding times e.
                    assert!((got - want).abs() < 4e-5, "ln({x}) at {k} bits: {got} vs {want}");
                }
            }
        }
        assert!(crate::ops::nonlinear::ln_q(0, 16, 16).is_err() && crate::ops::nonlinear::ln_q(-5, 16, 16).is_err());
    }

    #[test]
    fn rounding_helpers_round_half_up() {
        assert_eq!(isqrt_round(0), 0);
        assert_eq!(isqrt_round(2), 1); // sqrt 2 = 1.41
        assert_eq!(isqrt_round(3), 2); // sqrt 3 = 1.73
        assert_eq!(isqrt_round(6), 2); // 2.45
        assert_eq!(isqrt_round(7), 3); // 2.65
        assert_eq!(align(5, 2, 4), 20);
        assert_eq!(align(6, 2, 0), 2); // 1.5 rounds to 2
        assert_eq!(align(-6, 2, 0), -1); // -1.5 rounds up to -1
        assert_eq!(param_frac(0.3, 16, 32), 17);
        assert_eq!(param_frac(0.0, 16, 32), 32);
    }
}
