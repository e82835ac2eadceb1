//! Normalization: BatchNormalization (folded into the layer before it where possible, see
//! [`crate::lower`]) and LayerNormalization.

use super::common::prelude::*;


/// Runs one node of this family (single output).
pub(crate) fn run<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> R<QTensor> {
    match n.op {
        Some(Op::BatchNormalization) => Ok(batch_norm(ctx, n, get)?.swap_remove(0)),
        _ => Err(ctx.unsupported(n)),
    }
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

/// LayerNormalization's epsilon at the variance's scale (`2 fx` fractional bits), at least 1:
/// what the executor and the circuit add to the variance.
pub(crate) fn layer_norm_epsilon(eps: f32, fx: u32) -> i64 {
    (f64::from(eps) * 2f64.powi(2 * fx as i32)).round().clamp(1.0, (1u64 << 60) as f64) as i64
}

/// LayerNormalization over the axes from `axis` on: mean and variance rounded, the standard
/// deviation by an exact rounded square root, then scale and bias. Returns Y, Mean and
/// InvStdDev (`round(2^(f + fx) / std)`).
pub(crate) fn layer_norm(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<Vec<QTensor>> {
    let x = get(0)?;
    let r = x.dims.len();
    let attrs = n.attrs.norm();
    let axis = axis_of(attrs.axis, r).ok_or_else(|| ctx.err(n, "axis out of range"))?;
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
    // The variance carries 2 fx fractional bits; epsilon is added at that precision, and is at
    // least its one unit (so the standard deviation is at least 1: no division by zero).
    let eps = layer_norm_epsilon(attrs.epsilon, fx);
    let mut data = Vec::with_capacity(x.data.len());
    let (mut means, mut inv_std) = (Vec::with_capacity(outer), Vec::with_capacity(outer));
    for o in 0..outer {
        let row = &x.data[o * len..(o + 1) * len];
        let mean = div_round(row.iter().map(|&v| i128::from(v)).sum(), len as i128);
        let var = div_round(row.iter().map(|&v| (i128::from(v) - mean).pow(2)).sum(), len as i128) + i128::from(eps);
        // sqrt(var / 2^(2 fx)) at fx bits (var >= eps >= 1: at least 1).
        let std = isqrt_round(var);
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
