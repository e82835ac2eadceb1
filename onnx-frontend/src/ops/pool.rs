//! Pooling: MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool. Circuit side:
//! `sigil_air::chips::maxpool`, and average pooling as a linear layer of ones and a division.

use super::common::prelude::*;


/// Runs one node of this family (single output).
pub(crate) fn run<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> R<QTensor> {
    match n.op {
        Some(Op::MaxPool | Op::AveragePool | Op::GlobalAveragePool | Op::GlobalMaxPool) => Ok(pool(ctx, n, get(0)?)?.swap_remove(0)),
        _ => Err(ctx.unsupported(n)),
    }
}

/// MaxPool and AveragePool over any number of spatial axes (NC...), with strides, pads,
/// auto_pad, dilations, ceil_mode and count_include_pad; Global{Average,Max}Pool. Returns the
/// output and, for MaxPool, its Indices (the flat row-major index into the input of each
/// maximum, the first one on ties).
pub(crate) fn pool(ctx: &Ctx<'_>, n: &Node, x: &QTensor) -> R<Vec<QTensor>> {
    let global = matches!(n.op, Some(Op::GlobalAveragePool | Op::GlobalMaxPool));
    let max = matches!(n.op, Some(Op::MaxPool | Op::GlobalMaxPool));
    if x.dims.len() < 3 {
        return Err(ctx.err(n, format!("input of shape {:?} has no spatial axes", x.dims)));
    }
    let sp = &x.dims[2..];
    let d = sp.len();
    let w = n.attrs.window();
    let (k, s, dil) = if global {
        (sp.to_vec(), vec![1; d], vec![1; d])
    } else {
        let k = w.kernel_shape.clone().ok_or_else(|| ctx.err(n, "kernel_shape is required"))?;
        let s = w.strides.clone().unwrap_or(vec![1; d]);
        let dil = w.dilations.clone().unwrap_or(vec![1; d]);
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
    let column_major = w.storage_order_columns;
    let ek: Vec<usize> = (0..d).map(|a| dil[a] * (k[a] - 1) + 1).collect();
    let (pb, pe) = if global { (vec![0; d], vec![0; d]) } else { window_pads_nd(w, sp, &ek, &s).map_err(|e| ctx.err(n, e))? };
    let ceil = !global && w.ceil_mode;
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
    let include_pad = w.count_include_pad;
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
