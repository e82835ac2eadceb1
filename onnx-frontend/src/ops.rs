//! Operators beyond the linear core of [`crate::exec`]: non-linear functions through lookup
//! tables, comparisons and logic, reductions, pooling, padding, normalization and LSTM.
//!
//! Every operator works on exact integers with the rounding the circuit proves: rescales round
//! half up ([`rescale`]), divisions round half up ([`div_round`]), square roots round to nearest
//! ([`isqrt_round`]), and non-linear functions go through [`Func`]'s tables.

use crate::error::OnnxError;
use crate::exec::{
    Ctx, Get, QTensor, attr_f, attr_i, attr_ints, axis_of, bcast_index, broadcast, checked_numel, div_round, ints, lift,
    opt_input, quantize, rescale, sat, strides, zip2,
};
use crate::lut::Func;
use crate::model::{Attribute, Node};

type R<T> = Result<T, OnnxError>;

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
fn reals(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>, k: usize) -> R<Vec<f64>> {
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

/// A non-linear function applied elementwise through its table; the output has `f` bits. Tan's
/// argument is first reduced by its period: `x - k pi` with `k = round(x / pi)` (pi with
/// `fx + 8` fractional bits, so that the reduction is exact to the input's precision).
pub(crate) fn unary_lut(ctx: &Ctx<'_>, n: &Node, a: &QTensor, func: Func) -> R<QTensor> {
    let fx = a.frac_bits;
    let pi = i128::from(quantize(std::f64::consts::PI, fx + 8));
    let reduce = |x: i64| -> i64 {
        if func != Func::Tan {
            return x;
        }
        let k = div_round(i128::from(x) << 8, pi);
        sat(i128::from(x) - rescale(k * pi, 8))
    };
    let data = a.data.iter().map(|&x| func.apply(reduce(x), fx, ctx.f)).collect::<Result<Vec<_>, _>>().map_err(|e| ctx.err(n, e))?;
    Ok(QTensor { dims: a.dims.clone(), data, frac_bits: ctx.f })
}

/// `ln(x)` for `x > 0` with `k` fractional bits, as `f`-bit fixed point: `x = m 2^e` with `m` in
/// [1, 2) (`e` from the position of the top bit), `ln x = ln m + (e - k) ln 2`, `ln m` through
/// the table, `ln 2` with `f + 16` fractional bits.
pub(crate) fn ln_q(x: i64, k: u32, f: u32) -> Result<i64, String> {
    if x <= 0 {
        return Err(format!("Log of the non-positive value {}", x as f64 / (1u64 << k) as f64));
    }
    let e = 63 - x.leading_zeros();
    let ln_m = Func::Log.apply(x, e, f)?;
    let ln2 = i128::from(quantize(std::f64::consts::LN_2, f + 16));
    Ok(ln_m + rescale((i128::from(e) - i128::from(k)) * ln2, 16) as i64)
}

/// Log elementwise.
pub(crate) fn log(ctx: &Ctx<'_>, n: &Node, a: &QTensor) -> R<QTensor> {
    let data = a.data.iter().map(|&x| ln_q(x, a.frac_bits, ctx.f)).collect::<Result<Vec<_>, _>>().map_err(|e| ctx.err(n, e))?;
    Ok(QTensor { dims: a.dims.clone(), data, frac_bits: ctx.f })
}

/// Softplus: `ln(1 + exp(x))`; for x above 24 (where exp leaves its table) it is x.
pub(crate) fn softplus(ctx: &Ctx<'_>, n: &Node, a: &QTensor) -> R<QTensor> {
    let f = ctx.f;
    let mut data = Vec::with_capacity(a.data.len());
    for &x in &a.data {
        let xf = sat(align(i128::from(x), a.frac_bits, f));
        data.push(if xf >= 24 << f {
            xf
        } else {
            let e = Func::Exp.apply(xf, f, f).map_err(|err| ctx.err(n, err))?;
            ln_q(e + (1 << f), f, f).map_err(|err| ctx.err(n, err))?
        });
    }
    Ok(QTensor { dims: a.dims.clone(), data, frac_bits: f })
}

/// Equal, Greater, GreaterOrEqual, Less, LessOrEqual: exact 0/1 outputs.
pub(crate) fn compare(ctx: &Ctx<'_>, n: &Node, a: &QTensor, b: &QTensor) -> R<QTensor> {
    let (dims, pairs) = zip2(ctx, n, a, b)?;
    let fr = a.frac_bits.max(b.frac_bits);
    let data = pairs
        .into_iter()
        .map(|(x, y)| {
            let (x, y) = (i128::from(x) << (fr - a.frac_bits), i128::from(y) << (fr - b.frac_bits));
            i64::from(match n.op_type.as_str() {
                "Equal" => x == y,
                "Greater" => x > y,
                "GreaterOrEqual" => x >= y,
                "Less" => x < y,
                _ => x <= y,
            })
        })
        .collect();
    Ok(QTensor { dims, data, frac_bits: 0 })
}

/// And, Or, Xor (`op`) on booleans (any non-zero is true).
pub(crate) fn logic(ctx: &Ctx<'_>, n: &Node, a: &QTensor, b: &QTensor, op: &str) -> R<QTensor> {
    let (dims, pairs) = zip2(ctx, n, a, b)?;
    let data = pairs
        .into_iter()
        .map(|(x, y)| {
            let (x, y) = (x != 0, y != 0);
            i64::from(match op {
                "And" => x && y,
                "Or" => x || y,
                _ => x != y,
            })
        })
        .collect();
    Ok(QTensor { dims, data, frac_bits: 0 })
}

/// Where(cond, x, y).
pub(crate) fn where_op(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<QTensor> {
    let (c, x, y) = (get(0)?, get(1)?, get(2)?);
    let xy = broadcast(&x.dims, &y.dims).ok_or_else(|| ctx.err(n, format!("shapes {:?} and {:?} do not broadcast", x.dims, y.dims)))?;
    let dims = broadcast(&c.dims, &xy).ok_or_else(|| ctx.err(n, format!("the condition {:?} does not broadcast to {xy:?}", c.dims)))?;
    let numel = checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
    let fr = x.frac_bits.max(y.frac_bits);
    let data = (0..numel)
        .map(|i| {
            if c.data[bcast_index(&c.dims, &dims, i)] != 0 {
                lift(x.data[bcast_index(&x.dims, &dims, i)], fr - x.frac_bits)
            } else {
                lift(y.data[bcast_index(&y.dims, &dims, i)], fr - y.frac_bits)
            }
        })
        .collect();
    Ok(QTensor { dims, data, frac_bits: fr })
}

/// Clip(x, min, max): bounds from inputs (opset 11+) or attributes.
pub(crate) fn clip(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<QTensor> {
    let a = get(0)?;
    let fa = a.frac_bits;
    let bound = |k: usize, attr: &str| -> R<Option<i64>> {
        if ctx.opset >= 11 {
            if !opt_input(n, k) {
                return Ok(None);
            }
            let t = get(k)?;
            let v = *t.data.first().ok_or_else(|| ctx.err(n, format!("{attr} is empty")))?;
            Ok(Some(sat(align(i128::from(v), t.frac_bits, fa))))
        } else {
            Ok(match n.attributes.get(attr) {
                Some(Attribute::Float(v)) => Some(quantize(f64::from(*v).clamp(-1e15, 1e15), fa)),
                _ => None,
            })
        }
    };
    let lo = bound(1, "min")?.unwrap_or(i64::MIN);
    let hi = bound(2, "max")?.unwrap_or(i64::MAX);
    Ok(QTensor { dims: a.dims.clone(), data: a.data.iter().map(|&v| v.max(lo).min(hi)).collect(), frac_bits: fa })
}

/// LeakyRelu: `x` for `x >= 0`, `alpha * x` rounded otherwise.
pub(crate) fn leaky_relu(ctx: &Ctx<'_>, n: &Node, a: &QTensor) -> R<QTensor> {
    let alpha = quantize(f64::from(attr_f(n, "alpha", 0.01)), ctx.f);
    let data = a.data.iter().map(|&v| if v >= 0 { v } else { sat(rescale(i128::from(v) * i128::from(alpha), ctx.f)) }).collect();
    Ok(QTensor { dims: a.dims.clone(), data, frac_bits: a.frac_bits })
}

/// The per-channel affine map `y = a x + b` of an inference BatchNormalization with parameters
/// `[scale, B, mean, var]` (each with one value per channel): `a = scale / sqrt(var + eps)`,
/// `b = B - mean a`, in f64. Used when it runs and when it is folded into a Conv or Gemm.
pub(crate) fn bn_affine(p: &[Vec<f64>; 4], eps: f64) -> Result<(Vec<f64>, Vec<f64>), String> {
    let [scale, bias, mean, var] = p;
    let c = scale.len();
    if bias.len() != c || mean.len() != c || var.len() != c {
        return Err(format!("parameters do not have {c} values"));
    }
    let mut a = Vec::with_capacity(c);
    let mut b = Vec::with_capacity(c);
    for ch in 0..c {
        let den = var[ch] + eps;
        if den.is_nan() || den <= 0.0 {
            return Err(format!("variance + epsilon of channel {ch} is {den}"));
        }
        let ac = scale[ch] / den.sqrt();
        a.push(ac);
        b.push(bias[ch] - mean[ch] * ac);
    }
    Ok((a, b))
}

/// BatchNormalization (inference): `y = x * a_c + b_c` with `a_c = scale / sqrt(var + eps)` and
/// `b_c = B - mean * a_c` per channel, computed from the float parameters and quantized once
/// (`a_c` with 24 significant bits, `b_c` at the output precision).
pub(crate) fn batch_norm(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<Vec<QTensor>> {
    let x = get(0)?;
    if x.dims.len() < 2 {
        return Err(ctx.err(n, format!("input of shape {:?} has no channel axis", x.dims)));
    }
    if attr_i(n, "training_mode", 0) != 0 {
        return batch_norm_training(ctx, n, get);
    }
    let c = x.dims[1];
    let p = [reals(ctx, n, get, 1)?, reals(ctx, n, get, 2)?, reals(ctx, n, get, 3)?, reals(ctx, n, get, 4)?];
    if p.iter().any(|v| v.len() != c) {
        return Err(ctx.err(n, format!("parameters do not have {c} values")));
    }
    let (a, b) = bn_affine(&p, f64::from(attr_f(n, "epsilon", 1e-5))).map_err(|e| ctx.err(n, e))?;
    let fa = param_frac(a.iter().fold(0.0f64, |m, v| m.max(v.abs())), 24, 40);
    let aq: Vec<i64> = a.iter().map(|&v| quantize(v, fa)).collect();
    let fo = ctx.f.min(x.frac_bits + fa).max(x.frac_bits.min(ctx.f));
    let bq: Vec<i64> = b.iter().map(|&v| quantize(v, fo)).collect();
    let inner: usize = x.dims[2..].iter().product();
    let data = x
        .data
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = (i / inner) % c;
            sat(rescale(i128::from(v) * i128::from(aq[ch]), x.frac_bits + fa - fo) + i128::from(bq[ch]))
        })
        .collect();
    Ok(vec![QTensor { dims: x.dims.clone(), data, frac_bits: fo }])
}

/// BatchNormalization in training mode: normalizes with the batch's own per-channel mean and
/// (population) variance, rounded as LayerNormalization does, and returns Y and the updated
/// running mean and variance (`running * momentum + batch * (1 - momentum)`).
fn batch_norm_training(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<Vec<QTensor>> {
    let (x, scale, bias, mean_in, var_in) = (get(0)?, get(1)?, get(2)?, get(3)?, get(4)?);
    let (f, fx) = (ctx.f, x.frac_bits);
    let c = x.dims[1];
    if [scale, bias, mean_in, var_in].iter().any(|t| t.data.len() != c) {
        return Err(ctx.err(n, format!("parameters do not have {c} values")));
    }
    let inner: usize = x.dims[2..].iter().product();
    let batch = x.dims[0];
    let count = (batch * inner) as i128;
    if count == 0 {
        return Err(ctx.err(n, "an empty batch"));
    }
    let eps = quantize(f64::from(attr_f(n, "epsilon", 1e-5)), 2 * fx);
    let mom = i128::from(quantize(f64::from(attr_f(n, "momentum", 0.9)), f));
    let at = |b: usize, ch: usize, i: usize| x.data[(b * c + ch) * inner + i];
    let mut y = vec![0i64; x.data.len()];
    let (mut run_mean, mut run_var) = (Vec::with_capacity(c), Vec::with_capacity(c));
    for ch in 0..c {
        let vals = (0..batch).flat_map(|b| (0..inner).map(move |i| (b, i)));
        let mean = div_round(vals.clone().map(|(b, i)| i128::from(at(b, ch, i))).sum(), count);
        let var = div_round(vals.clone().map(|(b, i)| (i128::from(at(b, ch, i)) - mean).pow(2)).sum(), count);
        let std = isqrt_round(var + i128::from(eps)).max(1);
        for (b, i) in vals {
            let z = div_round((i128::from(at(b, ch, i)) - mean) << f, std);
            let z = rescale(z * i128::from(scale.data[ch]), scale.frac_bits) + align(i128::from(bias.data[ch]), bias.frac_bits, f);
            y[(b * c + ch) * inner + i] = sat(z);
        }
        let blend = |old: i128, new: i128| sat(rescale(old * mom + new * ((1i128 << f) - mom), f));
        run_mean.push(blend(align(i128::from(mean_in.data[ch]), mean_in.frac_bits, f), align(mean, fx, f)));
        run_var.push(blend(align(i128::from(var_in.data[ch]), var_in.frac_bits, f), align(var, 2 * fx, f)));
    }
    Ok(vec![
        QTensor { dims: x.dims.clone(), data: y, frac_bits: f },
        QTensor { dims: vec![c], data: run_mean, frac_bits: f },
        QTensor { dims: vec![c], data: run_var, frac_bits: f },
    ])
}

/// Pad: constant, reflect, edge or wrap, with pads (and axes) from inputs (opset 11+) or the
/// attribute. Negative pads crop.
pub(crate) fn pad(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<QTensor> {
    let a = get(0)?;
    let r = a.dims.len();
    let mode = attr_s(n, "mode", "constant");
    if !matches!(mode.as_str(), "constant" | "edge" | "wrap" | "reflect") {
        return Err(ctx.err(n, format!("mode {mode} is not supported")));
    }
    let (pads, value) = if ctx.opset >= 11 {
        let p = ints(get(1)?).ok_or_else(|| ctx.err(n, "pads are not integers"))?.to_vec();
        let v = if opt_input(n, 2) {
            let t = get(2)?;
            t.data.first().map_or(0, |&v| sat(align(i128::from(v), t.frac_bits, a.frac_bits)))
        } else {
            0
        };
        (p, v)
    } else {
        (attr_ints(n, "pads").unwrap_or_default(), quantize(f64::from(attr_f(n, "value", 0.0)), a.frac_bits))
    };
    let axes: Vec<usize> = if opt_input(n, 3) {
        let ax = ints(get(3)?).ok_or_else(|| ctx.err(n, "axes are not integers"))?;
        ax.iter().map(|&x| axis_of(x, r).ok_or_else(|| ctx.err(n, format!("axis {x} out of range")))).collect::<R<_>>()?
    } else {
        (0..r).collect()
    };
    if pads.len() != 2 * axes.len() {
        return Err(ctx.err(n, format!("{} pads for {} axes", pads.len(), axes.len())));
    }
    let mut begin = vec![0i64; r];
    let mut out_dims = a.dims.clone();
    for (k, &ax) in axes.iter().enumerate() {
        begin[ax] = pads[k];
        let d = a.dims[ax] as i64 + pads[k] + pads[k + axes.len()];
        if d < 0 {
            return Err(ctx.err(n, format!("pads {pads:?} crop axis {ax} below zero")));
        }
        out_dims[ax] = d as usize;
    }
    if mode != "constant" && a.dims.iter().zip(&out_dims).any(|(&d, &o)| d == 0 && o > 0) {
        return Err(ctx.err(n, format!("{mode} padding of an empty axis")));
    }
    let numel = checked_numel(&out_dims).map_err(|e| ctx.err(n, e))?;
    let src = strides(&a.dims);
    let mut data = Vec::with_capacity(numel);
    for flat in 0..numel {
        let mut rem = flat;
        let mut off = 0usize;
        let mut inside = true;
        for k in (0..r).rev() {
            let o = (rem % out_dims[k]) as i64;
            rem /= out_dims[k];
            let d = a.dims[k] as i64;
            let mut c = o - begin[k];
            if c < 0 || c >= d {
                match mode.as_str() {
                    "constant" => inside = false,
                    "edge" => c = c.clamp(0, d - 1),
                    "wrap" => c = c.rem_euclid(d),
                    _ if d == 1 => c = 0,
                    _ => {
                        // reflect
                        let period = 2 * (d - 1);
                        c = c.rem_euclid(period);
                        if c >= d {
                            c = period - c;
                        }
                    }
                }
            }
            if inside {
                off += c as usize * src[k];
            }
        }
        data.push(if inside { a.data[off] } else { value });
    }
    Ok(QTensor { dims: out_dims, data, frac_bits: a.frac_bits })
}

/// `(begin pads, end pads)` of an N-D window operator from `auto_pad` or `pads`.
pub fn window_pads_nd(n: &Node, input: &[usize], kernel: &[usize], stride: &[usize]) -> Result<(Vec<usize>, Vec<usize>), String> {
    let d = input.len();
    match attr_s(n, "auto_pad", "NOTSET").as_str() {
        "NOTSET" => {
            let p = attr_ints(n, "pads").unwrap_or(vec![0; 2 * d]);
            if p.len() != 2 * d || p.iter().any(|&v| !(0..=MAX_WINDOW).contains(&v)) {
                return Err(format!("pads {p:?} are not {} values in [0, {MAX_WINDOW}]", 2 * d));
            }
            Ok((p[..d].iter().map(|&v| v as usize).collect(), p[d..].iter().map(|&v| v as usize).collect()))
        }
        "VALID" => Ok((vec![0; d], vec![0; d])),
        mode @ ("SAME_UPPER" | "SAME_LOWER") => {
            let (mut b, mut e) = (vec![0; d], vec![0; d]);
            for a in 0..d {
                let o = input[a].div_ceil(stride[a]);
                let total = ((o.max(1) - 1) * stride[a] + kernel[a]).saturating_sub(input[a]);
                let (small, big) = (total / 2, total - total / 2);
                (b[a], e[a]) = if mode == "SAME_UPPER" { (small, big) } else { (big, small) };
            }
            Ok((b, e))
        }
        other => Err(format!("auto_pad {other} is not supported")),
    }
}

/// MaxPool and AveragePool over any number of spatial axes (NC...), with strides, pads,
/// auto_pad, dilations, ceil_mode and count_include_pad; Global{Average,Max}Pool. Returns the
/// output and, for MaxPool, its Indices (the flat row-major index into the input of each
/// maximum, the first one on ties).
pub(crate) fn pool(ctx: &Ctx<'_>, n: &Node, x: &QTensor) -> R<Vec<QTensor>> {
    let op = n.op_type.as_str();
    let global = op.starts_with("Global");
    let max = op.ends_with("MaxPool");
    if x.dims.len() < 3 {
        return Err(ctx.err(n, format!("input of shape {:?} has no spatial axes", x.dims)));
    }
    let sp = &x.dims[2..];
    let d = sp.len();
    let (k, s, dil) = if global {
        (sp.to_vec(), vec![1; d], vec![1; d])
    } else {
        let k = attr_ints(n, "kernel_shape").ok_or_else(|| ctx.err(n, "kernel_shape is required"))?;
        let s = attr_ints(n, "strides").unwrap_or(vec![1; d]);
        let dil = attr_ints(n, "dilations").unwrap_or(vec![1; d]);
        if k.len() != d || s.len() != d || dil.len() != d || k.iter().chain(&s).chain(&dil).any(|&v| v < 1) {
            return Err(ctx.err(n, format!("kernel {k:?}, strides {s:?} or dilations {dil:?} do not fit {d} spatial axes")));
        }
        if k.iter().chain(&s).chain(&dil).any(|&v| v > MAX_WINDOW) {
            return Err(ctx.err(n, format!("kernel {k:?}, strides {s:?} or dilations {dil:?} exceed {MAX_WINDOW}")));
        }
        let u = |v: Vec<i64>| v.into_iter().map(|x| x as usize).collect::<Vec<_>>();
        (u(k), u(s), u(dil))
    };
    if k.contains(&0) {
        return Err(ctx.err(n, format!("input of shape {:?} has an empty spatial axis", x.dims)));
    }
    // Indices count spatial positions row-major (storage_order 0) or column-major (1).
    let column_major = attr_i(n, "storage_order", 0) != 0;
    let ek: Vec<usize> = (0..d).map(|a| dil[a] * (k[a] - 1) + 1).collect();
    let (pb, pe) = if global { (vec![0; d], vec![0; d]) } else { window_pads_nd(n, sp, &ek, &s).map_err(|e| ctx.err(n, e))? };
    let ceil = !global && attr_i(n, "ceil_mode", 0) != 0;
    let mut out = Vec::with_capacity(d);
    for a in 0..d {
        let padded = sp[a] + pb[a] + pe[a];
        if padded < ek[a] {
            return Err(ctx.err(n, format!("kernel {:?} is larger than the padded input {:?}", ek, x.dims)));
        }
        let span = padded - ek[a];
        let mut o = if ceil { span.div_ceil(s[a]) + 1 } else { span / s[a] + 1 };
        // The last window must start inside the input or its begin padding.
        if ceil && (o - 1) * s[a] >= sp[a] + pb[a] {
            o -= 1;
        }
        out.push(o);
    }
    let include_pad = attr_i(n, "count_include_pad", 0) != 0;
    let mut dims = x.dims[..2].to_vec();
    dims.extend_from_slice(&out);
    let numel = checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
    let inner: usize = sp.iter().product();
    let kn: usize = k.iter().product();
    let per: usize = out.iter().product();
    let src = strides(sp);
    let mut data = Vec::with_capacity(numel);
    let mut indices = Vec::with_capacity(if max { numel } else { 0 });
    let mut oc = vec![0usize; d];
    for bc in 0..x.dims[0] * x.dims[1] {
        let base = bc * inner;
        for o in 0..per {
            let mut rem = o;
            for a in (0..d).rev() {
                oc[a] = rem % out[a];
                rem /= out[a];
            }
            let (mut best, mut best_at, mut sum, mut count) = (i64::MIN, 0usize, 0i128, 0i128);
            for kk in 0..kn {
                let mut rem = kk;
                let mut off = 0usize;
                let (mut valid, mut in_pad) = (true, true);
                for a in (0..d).rev() {
                    let kc = rem % k[a];
                    rem /= k[a];
                    let c = (oc[a] * s[a] + kc * dil[a]) as isize - pb[a] as isize;
                    if c < 0 || c >= sp[a] as isize {
                        valid = false;
                        if c >= (sp[a] + pe[a]) as isize {
                            in_pad = false;
                        }
                    } else {
                        off += c as usize * src[a];
                    }
                }
                if valid {
                    let v = x.data[base + off];
                    if v > best {
                        best = v;
                        best_at = base + if column_major { column_offset(off, sp) } else { off };
                    }
                    sum += i128::from(v);
                    count += 1;
                } else if include_pad && in_pad {
                    count += 1;
                }
            }
            if count == 0 {
                return Err(ctx.err(n, "a window covers only padding"));
            }
            data.push(if max { best } else { div_round(sum, count) as i64 });
            if max {
                indices.push(best_at as i64);
            }
        }
    }
    let mut out = vec![QTensor { dims: dims.clone(), data, frac_bits: x.frac_bits }];
    if max {
        out.push(QTensor { dims, data: indices, frac_bits: 0 });
    }
    Ok(out)
}

/// The column-major offset of the element at row-major offset `off` in a tensor of shape `dims`.
fn column_offset(mut off: usize, dims: &[usize]) -> usize {
    let mut coords = vec![0; dims.len()];
    for a in (0..dims.len()).rev() {
        coords[a] = off % dims[a];
        off /= dims[a];
    }
    let (mut out, mut stride) = (0, 1);
    for a in 0..dims.len() {
        out += coords[a] * stride;
        stride *= dims[a];
    }
    out
}

/// The axes of a reduction (attribute before `axes_input_opset`, input 1 from it on).
fn reduce_axes(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>, rank: usize, axes_input_opset: i64) -> R<Vec<usize>> {
    let axes = if ctx.opset >= axes_input_opset {
        if opt_input(n, 1) { Some(ints(get(1)?).ok_or_else(|| ctx.err(n, "axes are not integers"))?.to_vec()) } else { None }
    } else {
        attr_ints(n, "axes")
    };
    match axes {
        Some(ax) if !ax.is_empty() => ax.iter().map(|&a| axis_of(a, rank).ok_or_else(|| ctx.err(n, format!("axis {a} out of range for rank {rank}")))).collect(),
        _ if attr_i(n, "noop_with_empty_axes", 0) != 0 => Ok(vec![]),
        _ => Ok((0..rank).collect()),
    }
}

/// ReduceSum, ReduceMean (rounded), ReduceMax, ReduceMin.
pub(crate) fn reduce(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<QTensor> {
    let a = get(0)?;
    let r = a.dims.len();
    let input_opset = if n.op_type == "ReduceSum" { 13 } else { 18 };
    let axes = reduce_axes(ctx, n, get, r, input_opset)?;
    let keep = attr_i(n, "keepdims", 1) != 0;
    let out_full: Vec<usize> = (0..r).map(|k| if axes.contains(&k) { 1 } else { a.dims[k] }).collect();
    let numel = checked_numel(&out_full).map_err(|e| ctx.err(n, e))?;
    let count: usize = axes.iter().map(|&k| a.dims[k]).product();
    let op = n.op_type.as_str();
    if count == 0 && matches!(op, "ReduceMean" | "ReduceMax" | "ReduceMin") {
        return Err(ctx.err(n, "reduction over an empty axis"));
    }
    let init = match op {
        "ReduceMax" => i128::from(i64::MIN),
        "ReduceMin" => i128::from(i64::MAX),
        _ => 0,
    };
    let mut acc = vec![init; numel];
    let ostr = strides(&out_full);
    for (i, &v) in a.data.iter().enumerate() {
        let mut rem = i;
        let mut o = 0;
        for k in (0..r).rev() {
            let c = rem % a.dims[k];
            rem /= a.dims[k];
            if !axes.contains(&k) {
                o += c * ostr[k];
            }
        }
        let v = i128::from(v);
        acc[o] = match op {
            "ReduceMax" => acc[o].max(v),
            "ReduceMin" => acc[o].min(v),
            _ => acc[o] + v,
        };
    }
    let data = acc
        .into_iter()
        .map(|v| sat(if op == "ReduceMean" { div_round(v, count as i128) } else { v }))
        .collect();
    let dims = if keep { out_full } else { (0..r).filter(|k| !axes.contains(k)).map(|k| a.dims[k]).collect() };
    Ok(QTensor { dims, data, frac_bits: a.frac_bits })
}

/// ScatterND(data, indices, updates) with reduction none, add, mul, max or min.
pub(crate) fn scatter_nd(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<QTensor> {
    let (a, idx, upd) = (get(0)?, get(1)?, get(2)?);
    let iv = ints(idx).ok_or_else(|| ctx.err(n, "indices are not integers"))?;
    let q = *idx.dims.last().ok_or_else(|| ctx.err(n, "indices are a scalar"))?;
    if q == 0 || q > a.dims.len() {
        return Err(ctx.err(n, format!("index tuples of length {q} for data of rank {}", a.dims.len())));
    }
    let slice: usize = a.dims[q..].iter().product();
    let tuples = iv.len() / q;
    let mut want = idx.dims[..idx.dims.len() - 1].to_vec();
    want.extend_from_slice(&a.dims[q..]);
    if upd.dims != want {
        return Err(ctx.err(n, format!("updates have shape {:?}, {want:?} expected", upd.dims)));
    }
    let fr = a.frac_bits.max(upd.frac_bits);
    let mut data: Vec<i64> = a.data.iter().map(|&v| lift(v, fr - a.frac_bits)).collect();
    let src = strides(&a.dims);
    let red = attr_s(n, "reduction", "none");
    if !matches!(red.as_str(), "none" | "add" | "max" | "min" | "mul") {
        return Err(ctx.err(n, format!("reduction {red} is not supported")));
    }
    for t in 0..tuples {
        let mut off = 0usize;
        for j in 0..q {
            let d = a.dims[j] as i64;
            let i = iv[t * q + j];
            let i = if i < 0 { i + d } else { i };
            if !(0..d).contains(&i) {
                return Err(ctx.err(n, format!("index {i} out of range {d} on axis {j}")));
            }
            off += i as usize * src[j];
        }
        for e in 0..slice {
            let u = lift(upd.data[t * slice + e], fr - upd.frac_bits);
            let cur = &mut data[off + e];
            *cur = match red.as_str() {
                "none" => u,
                "add" => cur.saturating_add(u),
                "max" => (*cur).max(u),
                "min" => (*cur).min(u),
                _ => sat(rescale(i128::from(*cur) * i128::from(u), fr)),
            };
        }
    }
    Ok(QTensor { dims: a.dims.clone(), data, frac_bits: fr })
}

/// Softmax along an axis (opset 13+) or over the flattened trailing axes (before): subtract the
/// maximum (exact), exp through its table, divide by the sum (rounded). LogSoftmax: the
/// shifted input minus the log of that sum.
pub(crate) fn softmax(ctx: &Ctx<'_>, n: &Node, a: &QTensor) -> R<QTensor> {
    let log = n.op_type == "LogSoftmax";
    let r = a.dims.len();
    if r == 0 {
        // A scalar: softmax 1, log-softmax 0.
        return Ok(QTensor { dims: vec![], data: vec![if log { 0 } else { 1 << ctx.f }], frac_bits: ctx.f });
    }
    let default_axis = if ctx.opset >= 13 { -1 } else { 1 };
    let axis = axis_of(attr_i(n, "axis", default_axis), r).ok_or_else(|| ctx.err(n, "axis out of range"))?;
    let (outer, len, inner) = if ctx.opset >= 13 {
        (a.dims[..axis].iter().product::<usize>(), a.dims[axis], a.dims[axis + 1..].iter().product::<usize>())
    } else {
        (a.dims[..axis].iter().product::<usize>(), a.dims[axis..].iter().product::<usize>(), 1)
    };
    let f = ctx.f;
    let mut data = vec![0i64; a.data.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * len + j) * inner + i;
            let m = (0..len).map(|j| a.data[at(j)]).max().unwrap_or(0);
            let mut e = Vec::with_capacity(len);
            for j in 0..len {
                let d = sat(i128::from(a.data[at(j)]) - i128::from(m));
                e.push(Func::Exp.apply(d, a.frac_bits, f).map_err(|err| ctx.err(n, err))?);
            }
            let s: i128 = e.iter().map(|&v| i128::from(v)).sum();
            if log {
                // x - max - ln(sum exp(x - max)).
                let ls = ln_q(s.min(i128::from(i64::MAX)) as i64, f, f).map_err(|err| ctx.err(n, err))?;
                for j in 0..len {
                    data[at(j)] = sat(align(i128::from(a.data[at(j)]) - i128::from(m), a.frac_bits, f) - i128::from(ls));
                }
            } else {
                for j in 0..len {
                    data[at(j)] = div_round(i128::from(e[j]) << f, s.max(1)) as i64;
                }
            }
        }
    }
    Ok(QTensor { dims: a.dims.clone(), data, frac_bits: f })
}

/// Sqrt, rounded to nearest: `round(sqrt(x / 2^fx) * 2^f)`.
pub(crate) fn sqrt(ctx: &Ctx<'_>, n: &Node, a: &QTensor) -> R<QTensor> {
    let f = ctx.f;
    let mut data = Vec::with_capacity(a.data.len());
    for &v in &a.data {
        if v < 0 {
            return Err(ctx.err(n, format!("square root of the negative value {}", v as f64 / (1u64 << a.frac_bits) as f64)));
        }
        // sqrt(v / 2^fx) * 2^f = sqrt(v * 2^(2f - fx)).
        let sh = 2 * i64::from(f) - i64::from(a.frac_bits);
        let w = if sh >= 0 { i128::from(v) << sh } else { rescale(i128::from(v), (-sh) as u32) };
        data.push(isqrt_round(w) as i64);
    }
    Ok(QTensor { dims: a.dims.clone(), data, frac_bits: f })
}

/// Pow: integer exponents in [0, 16] by repeated rounded products, a single exponent 0.5 by
/// Sqrt, any other as `exp(y ln x)` through the tables (for `x > 0`).
pub(crate) fn pow(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<QTensor> {
    let (a, e) = (get(0)?, get(1)?);
    if let [v] = e.data.as_slice()
        && align(i128::from(*v), e.frac_bits, 1) == 1
    {
        return sqrt(ctx, n, a);
    }
    let (dims, pairs) = zip2(ctx, n, a, e)?;
    let fo = a.frac_bits.min(ctx.f);
    let mut data = Vec::with_capacity(pairs.len());
    for (v, ev) in pairs {
        let unit = 1i64 << e.frac_bits;
        if ev % unit != 0 || !(0..=16).contains(&(ev / unit)) {
            // x^y = exp(y ln x) for x > 0, at f bits; 0^y = 0 for y > 0.
            let f = ctx.f;
            if v == 0 && ev > 0 {
                data.push(0);
                continue;
            }
            let l = ln_q(v, a.frac_bits, f).map_err(|err| ctx.err(n, format!("{err} (a non-integer exponent needs a positive base)")))?;
            let p = sat(rescale(align(i128::from(ev), e.frac_bits, f) * i128::from(l), f));
            let r = Func::Exp.apply(p, f, f).map_err(|err| ctx.err(n, err))?;
            data.push(align(i128::from(r), f, fo) as i64);
            continue;
        }
        let k = ev / unit;
        let x = align(i128::from(v), a.frac_bits, fo);
        let mut acc: i128 = 1 << fo;
        for _ in 0..k {
            acc = rescale(acc * x, fo);
            if acc.unsigned_abs() >= 1u128 << crate::exec::MAX_BITS {
                return Err(ctx.err(n, format!("{v}^{k} leaves the {}-bit range", crate::exec::MAX_BITS)));
            }
        }
        data.push(acc as i64);
    }
    Ok(QTensor { dims, data, frac_bits: fo })
}

/// Reciprocal: `round(2^(f + fx) / x)`.
pub(crate) fn reciprocal(ctx: &Ctx<'_>, n: &Node, a: &QTensor) -> R<QTensor> {
    let f = ctx.f;
    let data = a
        .data
        .iter()
        .map(|&v| if v == 0 { Err(ctx.err(n, "division by zero")) } else { Ok(div_round(1i128 << (f + a.frac_bits), i128::from(v)) as i64) })
        .collect::<R<Vec<_>>>()?;
    Ok(QTensor { dims: a.dims.clone(), data, frac_bits: f })
}

/// Gelu (exact form, 0.5 x (1 + erf(x / sqrt 2))) through erf's table.
pub(crate) fn gelu(ctx: &Ctx<'_>, n: &Node, a: &QTensor) -> R<QTensor> {
    let f = ctx.f;
    let fx = a.frac_bits;
    let tanh = match attr_s(n, "approximate", "none").as_str() {
        "none" => false,
        "tanh" => true,
        m => return Err(ctx.err(n, format!("approximate = {m} is unknown"))),
    };
    let inv_sqrt2 = quantize(std::f64::consts::FRAC_1_SQRT_2, f);
    let c = quantize((2.0 / std::f64::consts::PI).sqrt(), f);
    let k = quantize(0.044715, f);
    let mut data = Vec::with_capacity(a.data.len());
    for &v in &a.data {
        // g = erf(x / sqrt 2), or tanh(sqrt(2 / pi) (x + 0.044715 x^3)), each product rounded.
        let g = if tanh {
            let x = align(i128::from(v), fx, f);
            let x3 = rescale(rescale(x * x, f) * x, f);
            let inner = rescale((x + rescale(x3 * i128::from(k), f)) * i128::from(c), f) as i64;
            Func::Tanh.apply(inner, f, f)
        } else {
            Func::Erf.apply(rescale(i128::from(v) * i128::from(inv_sqrt2), f) as i64, fx, f)
        };
        let g = g.map_err(|err| ctx.err(n, err))?;
        // 0.5 x (1 + g) = x * (2^f + g) / 2^(f + 1), at x's precision.
        data.push(rescale(i128::from(v) * (i128::from(g) + (1i128 << f)), f + 1) as i64);
    }
    Ok(QTensor { dims: a.dims.clone(), data, frac_bits: fx })
}

/// LayerNormalization over the axes from `axis` on: mean and variance rounded, the standard
/// deviation by an exact rounded square root, then scale and bias. Returns Y, Mean and
/// InvStdDev (`round(2^(f + fx) / std)`).
pub(crate) fn layer_norm(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<Vec<QTensor>> {
    let x = get(0)?;
    let r = x.dims.len();
    let axis = axis_of(attr_i(n, "axis", -1), r).ok_or_else(|| ctx.err(n, "axis out of range"))?;
    let outer: usize = x.dims[..axis].iter().product();
    let len: usize = x.dims[axis..].iter().product();
    if len == 0 {
        return Err(ctx.err(n, "normalization over an empty axis"));
    }
    let f = ctx.f;
    let fx = x.frac_bits;
    let scale = get(1)?;
    let bias = if opt_input(n, 2) { Some(get(2)?) } else { None };
    let norm_dims = &x.dims[axis..];
    if broadcast(&scale.dims, norm_dims).as_deref() != Some(norm_dims) || bias.is_some_and(|b| broadcast(&b.dims, norm_dims).as_deref() != Some(norm_dims)) {
        return Err(ctx.err(n, format!("scale or bias does not broadcast to {norm_dims:?}")));
    }
    // The variance carries 2 fx fractional bits; epsilon is added at that precision.
    let eps = quantize(f64::from(attr_f(n, "epsilon", 1e-5)), 2 * fx);
    let mut data = Vec::with_capacity(x.data.len());
    let (mut means, mut inv_std) = (Vec::with_capacity(outer), Vec::with_capacity(outer));
    for o in 0..outer {
        let row = &x.data[o * len..(o + 1) * len];
        let mean = div_round(row.iter().map(|&v| i128::from(v)).sum(), len as i128);
        let var = div_round(row.iter().map(|&v| (i128::from(v) - mean).pow(2)).sum(), len as i128) + i128::from(eps);
        // sqrt(var / 2^(2 fx)) at fx bits.
        let std = isqrt_round(var).max(1);
        means.push(sat(align(mean, fx, f)));
        inv_std.push(div_round(1i128 << (f + fx), std) as i64);
        for (j, &v) in row.iter().enumerate() {
            let y = div_round((i128::from(v) - mean) << f, std); // at f bits
            let s = &scale.data[bcast_index(&scale.dims, norm_dims, j)];
            let mut z = rescale(y * i128::from(*s), scale.frac_bits);
            if let Some(b) = bias {
                z += align(i128::from(b.data[bcast_index(&b.dims, norm_dims, j)]), b.frac_bits, f);
            }
            data.push(sat(z));
        }
    }
    let mut stat_dims = x.dims[..axis].to_vec();
    stat_dims.resize(r, 1);
    Ok(vec![
        QTensor { dims: x.dims.clone(), data, frac_bits: f },
        QTensor { dims: stat_dims.clone(), data: means, frac_bits: f },
        QTensor { dims: stat_dims, data: inv_std, frac_bits: f },
    ])
}

/// LSTM (ONNX gate order i, o, f, c) in every direction, with the default activations
/// (Sigmoid, Tanh, Tanh) through their tables. Returns Y, Y_h and Y_c.
pub(crate) fn lstm(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<Vec<QTensor>> {
    let f = ctx.f;
    let (x, w, rw) = (get(0)?, get(1)?, get(2)?);
    let hidden = attr_i(n, "hidden_size", 0).max(0) as usize;
    if let Some(Attribute::Strings(acts)) = n.attributes.get("activations") {
        let want: &[&[u8]] = &[b"Sigmoid", b"Tanh", b"Tanh"];
        if acts.chunks(3).any(|c| c.iter().map(|s| s.as_slice()).ne(want.iter().copied().take(c.len()))) {
            return Err(ctx.err(n, "only the activations Sigmoid, Tanh, Tanh are supported"));
        }
    }
    if n.attributes.contains_key("clip") || attr_i(n, "input_forget", 0) != 0 {
        return Err(ctx.err(n, "clip and input_forget are not supported"));
    }
    // layout = 1: X is [batch, seq, input] and the states [batch, dirs, hidden]; run in the
    // default layout and transpose back.
    let batchwise = attr_i(n, "layout", 0) != 0;
    let swap01 = |t: &QTensor| -> QTensor {
        if t.dims.len() < 2 {
            return t.clone();
        }
        let (a, b) = (t.dims[0], t.dims[1]);
        let inner: usize = t.dims[2..].iter().product();
        let mut data = Vec::with_capacity(t.data.len());
        for j in 0..b {
            for i in 0..a {
                data.extend_from_slice(&t.data[(i * b + j) * inner..(i * b + j + 1) * inner]);
            }
        }
        let mut dims = t.dims.clone();
        dims.swap(0, 1);
        QTensor { dims, data, frac_bits: t.frac_bits }
    };
    let x_owned;
    let x = if batchwise {
        x_owned = swap01(x);
        &x_owned
    } else {
        x
    };
    let direction = attr_s(n, "direction", "forward");
    let dirs = match direction.as_str() {
        "forward" | "reverse" => 1,
        "bidirectional" => 2,
        d => return Err(ctx.err(n, format!("direction {d} is unknown"))),
    };
    let reverse = direction == "reverse";
    if x.dims.len() != 3 {
        return Err(ctx.err(n, format!("X has shape {:?}, [seq, batch, input] expected", x.dims)));
    }
    let (seq, batch, inp) = (x.dims[0], x.dims[1], x.dims[2]);
    let h4 = 4 * hidden;
    if hidden == 0 || w.dims != [dirs, h4, inp] || rw.dims != [dirs, h4, hidden] {
        return Err(ctx.err(n, format!("W {:?} and R {:?} do not fit hidden_size {hidden}, {dirs} direction(s), input {inp}", w.dims, rw.dims)));
    }
    let b = if opt_input(n, 3) { Some(get(3)?) } else { None };
    if b.is_some_and(|b| b.dims != [dirs, 2 * h4]) {
        return Err(ctx.err(n, format!("B does not have shape [{dirs}, {}]", 2 * h4)));
    }
    if opt_input(n, 4) && ints(get(4)?).is_some_and(|s| s.iter().any(|&l| l != seq as i64)) {
        return Err(ctx.err(n, "sequence_lens shorter than the sequence are not supported"));
    }
    let state = |k: usize| -> R<Option<QTensor>> {
        if !opt_input(n, k) {
            return Ok(None);
        }
        let t = if batchwise { swap01(get(k)?) } else { get(k)?.clone() };
        if t.dims != [dirs, batch, hidden] {
            return Err(ctx.err(n, format!("initial state has shape {:?}, [{dirs}, {batch}, {hidden}] expected", t.dims)));
        }
        Ok(Some(t))
    };
    let (h0, c0) = (state(5)?, state(6)?);
    let p = if opt_input(n, 7) { Some(get(7)?) } else { None };
    if p.is_some_and(|p| p.dims != [dirs, 3 * hidden]) {
        return Err(ctx.err(n, format!("P does not have shape [{dirs}, {}]", 3 * hidden)));
    }
    let mut y = vec![0i64; seq * dirs * batch * hidden];
    let mut yh = vec![0i64; dirs * batch * hidden];
    let mut yc = vec![0i64; dirs * batch * hidden];
    let act = |func: Func, v: i64| func.apply(v, f, f).map_err(|e| ctx.err(n, e));
    for dir in 0..dirs {
        let backward = reverse || dir == 1;
        let init = |s: Option<&QTensor>| -> Vec<i64> {
            s.map_or(vec![0; batch * hidden], |t| t.data[dir * batch * hidden..(dir + 1) * batch * hidden].iter().map(|&v| sat(align(i128::from(v), t.frac_bits, f))).collect())
        };
        let mut h = init(h0.as_ref());
        let mut c = init(c0.as_ref());
        // Peephole weights of gates i, o, f times a cell state, at f bits.
        let peep = |gate: usize, j: usize, cell: i64| -> i128 {
            p.map_or(0, |p| rescale(i128::from(p.data[(dir * 3 + gate) * hidden + j]) * i128::from(cell), p.frac_bits))
        };
        let wd = &w.data[dir * h4 * inp..(dir + 1) * h4 * inp];
        let rd = &rw.data[dir * h4 * hidden..(dir + 1) * h4 * hidden];
        for step in 0..seq {
            let t = if backward { seq - 1 - step } else { step };
            let mut hn = vec![0i64; batch * hidden];
            let mut cn = vec![0i64; batch * hidden];
            for bi in 0..batch {
                let xt = &x.data[(t * batch + bi) * inp..(t * batch + bi + 1) * inp];
                let ht = &h[bi * hidden..(bi + 1) * hidden];
                // Gate pre-activations at f bits: x W^T + h R^T + Wb + Rb.
                let mut g = vec![0i64; h4];
                for (row, gv) in g.iter_mut().enumerate() {
                    let xw: i128 = (0..inp).map(|p| i128::from(xt[p]) * i128::from(wd[row * inp + p])).sum();
                    let hr: i128 = (0..hidden).map(|p| i128::from(ht[p]) * i128::from(rd[row * hidden + p])).sum();
                    let mut v = align(xw, x.frac_bits + w.frac_bits, f) + align(hr, f + rw.frac_bits, f);
                    if let Some(b) = b {
                        let bd = &b.data[dir * 2 * h4..(dir + 1) * 2 * h4];
                        v += align(i128::from(bd[row]), b.frac_bits, f) + align(i128::from(bd[h4 + row]), b.frac_bits, f);
                    }
                    *gv = sat(v);
                }
                for j in 0..hidden {
                    let c_prev = c[bi * hidden + j];
                    let i_g = act(Func::Sigmoid, sat(i128::from(g[j]) + peep(0, j, c_prev)))?;
                    let f_g = act(Func::Sigmoid, sat(i128::from(g[2 * hidden + j]) + peep(2, j, c_prev)))?;
                    let c_g = act(Func::Tanh, g[3 * hidden + j])?;
                    let cv = rescale(i128::from(f_g) * i128::from(c_prev) + i128::from(i_g) * i128::from(c_g), f) as i64;
                    let o_g = act(Func::Sigmoid, sat(i128::from(g[hidden + j]) + peep(1, j, cv)))?;
                    let hv = rescale(i128::from(o_g) * i128::from(act(Func::Tanh, cv)?), f) as i64;
                    cn[bi * hidden + j] = cv;
                    hn[bi * hidden + j] = hv;
                }
            }
            h = hn;
            c = cn;
            for bi in 0..batch {
                let at = ((t * dirs + dir) * batch + bi) * hidden;
                y[at..at + hidden].copy_from_slice(&h[bi * hidden..(bi + 1) * hidden]);
            }
        }
        yh[dir * batch * hidden..(dir + 1) * batch * hidden].copy_from_slice(&h);
        yc[dir * batch * hidden..(dir + 1) * batch * hidden].copy_from_slice(&c);
    }
    let y = QTensor { dims: vec![seq, dirs, batch, hidden], data: y, frac_bits: f };
    let yh = QTensor { dims: vec![dirs, batch, hidden], data: yh, frac_bits: f };
    let yc = QTensor { dims: vec![dirs, batch, hidden], data: yc, frac_bits: f };
    if !batchwise {
        return Ok(vec![y, yh, yc]);
    }
    // Y [seq, dirs, batch, H] -> [batch, seq, dirs, H]; states [dirs, batch, H] -> [batch, dirs, H].
    let mut yb = Vec::with_capacity(y.data.len());
    for bi in 0..batch {
        for t in 0..seq {
            for dir in 0..dirs {
                let at = ((t * dirs + dir) * batch + bi) * hidden;
                yb.extend_from_slice(&y.data[at..at + hidden]);
            }
        }
    }
    Ok(vec![QTensor { dims: vec![batch, seq, dirs, hidden], data: yb, frac_bits: f }, swap01(&yh), swap01(&yc)])
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
                    let got = ln_q(q, k, 16).unwrap() as f64 / 65536.0;
                    let want = (q as f64 / 2f64.powi(k as i32)).ln();
                    // Entry and interpolation rounding (3 * 2^-17), ln 2's rounding times e.
                    assert!((got - want).abs() < 4e-5, "ln({x}) at {k} bits: {got} vs {want}");
                }
            }
        }
        assert!(ln_q(0, 16, 16).is_err() && ln_q(-5, 16, 16).is_err());
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
