//! Non-linear functions through the tables of [`crate::lut`]: Sigmoid, Tanh, Exp, Erf, Tan,
//! Log, Softplus, Softmax, LogSoftmax, Gelu. Circuit side: `sigil_air::chips::lut`.

use super::common::prelude::*;


/// Runs one node of this family (single output).
pub(crate) fn run<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> R<QTensor> {
    match n.op {
        Some(op @ (Op::Sigmoid | Op::Tanh | Op::Exp | Op::Erf | Op::Tan)) => unary_lut(ctx, n, get(0)?, Func::of(op).expect("a function with a table")),
        Some(Op::Softmax | Op::LogSoftmax) => softmax(ctx, n, get(0)?),
        Some(Op::Log) => log(ctx, n, get(0)?),
        Some(Op::Softplus) => softplus(ctx, n, get(0)?),
        Some(Op::Gelu) => gelu(ctx, n, get(0)?),
        _ => Err(ctx.unsupported(n)),
    }
}

/// A non-linear function applied elementwise through its table; the output has `f` bits. Tan's
/// argument is first reduced by its period: `x - k pi` with `k = round(x / pi)` (pi with
/// `fx + 8` fractional bits, so that the reduction is exact to the input's precision).
pub(crate) fn unary_lut(ctx: &Ctx<'_>, n: &Node, a: &QTensor, func: Func) -> R<QTensor> {
    let fx = a.frac_bits;
    let pi = i128::from(Func::tan_period(fx));
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

/// The groups a Softmax or LogSoftmax of an input of shape `dims` normalizes: `(outer, len,
/// inner)`, group `(o, i)` holding the elements `(o len + j) inner + i` for `j < len` (one axis
/// from opset 13, the flattened trailing axes before). The circuit compiler lays out the same
/// groups ([`crate::Plan::softmax_groups`]).
pub(crate) fn softmax_layout(ctx: &Ctx<'_>, n: &Node, dims: &[usize]) -> R<(usize, usize, usize)> {
    let r = dims.len();
    let default_axis = if ctx.opset >= 13 { -1 } else { 1 };
    let axis = axis_of(attr_i(n, "axis", default_axis), r).ok_or_else(|| ctx.err(n, "axis out of range"))?;
    Ok(if ctx.opset >= 13 {
        (dims[..axis].iter().product::<usize>(), dims[axis], dims[axis + 1..].iter().product::<usize>())
    } else {
        (dims[..axis].iter().product::<usize>(), dims[axis..].iter().product::<usize>(), 1)
    })
}

/// Softmax along an axis (opset 13+) or over the flattened trailing axes (before): subtract the
/// maximum (exact), exp through its table, divide by the sum (rounded). LogSoftmax: the
/// shifted input minus the log of that sum.
pub(crate) fn softmax(ctx: &Ctx<'_>, n: &Node, a: &QTensor) -> R<QTensor> {
    let log = n.op == Some(Op::LogSoftmax);
    if a.dims.is_empty() {
        // A scalar: softmax 1, log-softmax 0.
        return Ok(QTensor { dims: vec![], data: vec![if log { 0 } else { 1 << ctx.f }], frac_bits: ctx.f });
    }
    let (outer, len, inner) = softmax_layout(ctx, n, &a.dims)?;
    let f = ctx.f;
    if a.data.is_empty() {
        // No element: nothing to normalize (and no loop over the other axes' sizes, which an
        // empty axis leaves unbounded).
        return Ok(QTensor { dims: a.dims.clone(), data: vec![], frac_bits: f });
    }
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

/// Gelu (exact form, 0.5 x (1 + erf(x / sqrt 2))) through erf's table.
pub(crate) fn gelu(ctx: &Ctx<'_>, n: &Node, a: &QTensor) -> R<QTensor> {
    let f = ctx.f;
    let fx = a.frac_bits;
    let tanh = n.attrs.gelu_tanh().map_err(|m| ctx.err(n, format!("approximate = {m} is unknown")))?;
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
