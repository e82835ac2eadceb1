//! Elementwise arithmetic: Add, Sub, Mul (with broadcasting; two booleans are a logical
//! or/and), Div, Min, Max, Abs, Neg, Relu, LeakyRelu, Clip, Sqrt, Pow, Reciprocal. Circuit side:
//! `sigil_air::chips::{binary, minmax, div, divconst, relu, rescale}`.

use super::common::prelude::*;
use super::nonlinear::ln_q;


/// Runs one node of this family (single output).
pub(crate) fn run<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> R<QTensor> {
    let f = ctx.f;
    match n.op {
        Some(Op::Abs) => {
            let a = get(0)?;
            Ok(QTensor { dims: a.dims.clone(), data: a.data.iter().map(|v| v.saturating_abs()).collect(), frac_bits: a.frac_bits })
        }
        Some(Op::Max | Op::Min) => {
            let mut acc = get(0)?.clone();
            for k in 1..n.inputs.len() {
                let b = get(k)?;
                let (dims, pairs) = zip2(ctx, n, &acc, b)?;
                let frac = acc.frac_bits.max(b.frac_bits);
                let data = pairs
                    .into_iter()
                    .map(|(x, y)| {
                        let (x, y) = (lift(x, frac - acc.frac_bits), lift(y, frac - b.frac_bits));
                        if n.op == Some(Op::Max) { x.max(y) } else { x.min(y) }
                    })
                    .collect();
                acc = QTensor { dims, data, frac_bits: frac };
            }
            Ok(acc)
        }
        Some(Op::Div) => {
            let (a, b) = (get(0)?, get(1)?);
            let (dims, pairs) = zip2(ctx, n, a, b)?;
            let exact = a.frac_bits == 0 && b.frac_bits == 0;
            // Real quotient (a / 2^fa) / (b / 2^fb) at f fractional bits; exact integers truncate
            // toward zero as ONNX's integer Div does.
            let mut data = Vec::with_capacity(pairs.len());
            for (x, y) in pairs {
                let (x, y) = (i128::from(x), i128::from(y));
                if y == 0 {
                    return Err(ctx.err(n, "division by zero"));
                }
                data.push(if exact {
                    sat(x / y)
                } else {
                    // (x / 2^fa) / (y / 2^fb) * 2^f = x 2^(fb + f) / (y 2^fa), rounded half up.
                    sat(div_round(x << (b.frac_bits + f), y << a.frac_bits))
                });
            }
            Ok(QTensor { dims, data, frac_bits: if exact { 0 } else { f } })
        }
        Some(Op::Relu) => {
            let a = get(0)?;
            Ok(QTensor { dims: a.dims.clone(), data: a.data.iter().map(|&v| v.max(0)).collect(), frac_bits: a.frac_bits })
        }
        Some(Op::Add | Op::Mul) if n.inputs.len() == 2 && ctx.bools.contains(&n.inputs[0]) && ctx.bools.contains(&n.inputs[1]) => {
            // bool + bool is a logical or and bool * bool a logical and, as in PyTorch, which
            // exports them although ONNX's type rules forbid them.
            super::logic::logic(ctx, n, get(0)?, get(1)?, if n.op == Some(Op::Add) { Op::Or } else { Op::And })
        }
        Some(Op::Add | Op::Sub | Op::Mul) => {
            let (a, b) = (get(0)?, get(1)?);
            let (dims, pairs) = zip2(ctx, n, a, b)?;
            let mul = n.op == Some(Op::Mul);
            // Align exact integers with fixed-point operands.
            let fa = a.frac_bits;
            let fb = b.frac_bits;
            let frac = if mul { fa + fb } else { fa.max(fb) };
            let out_frac = if mul && frac > f { f } else { frac };
            let data = pairs
                .into_iter()
                .map(|(x, y)| {
                    let (x, y) = (i128::from(x), i128::from(y));
                    let v = match n.op {
                        Some(Op::Add) => (x << (frac - fa)) + (y << (frac - fb)),
                        Some(Op::Sub) => (x << (frac - fa)) - (y << (frac - fb)),
                        _ => x * y,
                    };
                    sat(rescale(v, frac - out_frac))
                })
                .collect();
            Ok(QTensor { dims, data, frac_bits: out_frac })
        }
        Some(Op::Neg) => {
            let a = get(0)?;
            Ok(QTensor { dims: a.dims.clone(), data: a.data.iter().map(|v| v.saturating_neg()).collect(), frac_bits: a.frac_bits })
        }
        Some(Op::LeakyRelu) => leaky_relu(ctx, n, get(0)?),
        Some(Op::Clip) => clip(ctx, n, get),
        Some(Op::Mod) => {
            // On operands aligned to one scale, (a 2^f) mod (b 2^f) = (a mod b) 2^f exactly.
            // `fmod = 0` (integers): the remainder takes the divisor's sign; `fmod = 1`: the
            // dividend's (C's fmod).
            let (a, b) = (get(0)?, get(1)?);
            let (dims, pairs) = zip2(ctx, n, a, b)?;
            let frac = a.frac_bits.max(b.frac_bits);
            let fmod = attr_i(n, "fmod", 0) != 0;
            let mut data = Vec::with_capacity(pairs.len());
            for (x, y) in pairs {
                let (x, y) = (i128::from(lift(x, frac - a.frac_bits)), i128::from(lift(y, frac - b.frac_bits)));
                if y == 0 {
                    return Err(ctx.err(n, "modulo by zero"));
                }
                let r = x % y;
                data.push(sat(if !fmod && r != 0 && (r < 0) != (y < 0) { r + y } else { r }));
            }
            Ok(QTensor { dims, data, frac_bits: frac })
        }
        Some(Op::Sqrt) => sqrt(ctx, n, get(0)?),
        Some(Op::Pow) => pow(ctx, n, get),
        Some(Op::Reciprocal) => reciprocal(ctx, n, get(0)?),
        _ => Err(ctx.unsupported(n)),
    }
}

/// Clip(x, min, max): bounds from inputs (opset 11+) or attributes.
pub(crate) fn clip(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<QTensor> {
    let a = get(0)?;
    let fa = a.frac_bits;
    let bound = |k: usize, attr: &str| -> R<Option<i64>> {
        let c = n.attrs.clip();
        if ctx.opset >= 11 {
            if !opt_input(n, k) {
                return Ok(None);
            }
            let t = get(k)?;
            let v = *t.data.first().ok_or_else(|| ctx.err(n, format!("{attr} is empty")))?;
            Ok(Some(sat(align(i128::from(v), t.frac_bits, fa))))
        } else {
            Ok(if attr == "min" { c.min } else { c.max }.map(|v| quantize(f64::from(v).clamp(-1e15, 1e15), fa)))
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
            if acc.unsigned_abs() >= 1u128 << MAX_BITS {
                return Err(ctx.err(n, format!("{v}^{k} leaves the {}-bit range", MAX_BITS)));
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
