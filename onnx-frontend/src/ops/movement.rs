//! Operators that move, copy or reinterpret elements without arithmetic: Constant, Identity,
//! Dropout (inference), Shape, ConstantOfShape, Cast, Squeeze, Unsqueeze, Flatten, Reshape,
//! Concat, Gather, Slice, Transpose, Expand, Pad, ScatterND. The circuit proves most of them as
//! wiring (`prover/src/model/compile.rs` runs [`super::run`] on element numbers); Cast from an
//! integer is the elementwise chip (`sigil_air::chips::binary`).

use super::common::prelude::*;


/// Runs one node of this family (single output).
pub(crate) fn run<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> R<QTensor> {
    let f = ctx.f;
    match n.op {
        Some(Op::Constant) => match n.attributes.get("value") {
            Some(Attribute::Tensor(t)) => ctx.quantize_tensor(t).map_err(|e| ctx.err(n, e)),
            _ => Err(ctx.err(n, "only the `value` form of Constant is supported")),
        },
        Some(Op::Identity) => Ok(get(0)?.clone()),
        Some(Op::Dropout) => {
            // Inference, or training with ratio 0: the identity. Training mode with a ratio (a
            // random mask) cannot be proven.
            let training = opt_input(n, 2) && get(2)?.data.iter().any(|&v| v != 0);
            let ratio_zero = opt_input(n, 1) && get(1)?.data.iter().all(|&v| v == 0);
            if training && !ratio_zero {
                return Err(ctx.err(n, "training-mode Dropout with a non-zero ratio is not supported"));
            }
            Ok(get(0)?.clone())
        }
        Some(Op::Shape) => {
            let a = get(0)?;
            let r = a.dims.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let start = clamp(attr_i(n, "start", 0));
            let end = clamp(attr_i(n, "end", r));
            let d: Vec<i64> = a.dims[start..end.max(start)].iter().map(|&x| x as i64).collect();
            Ok(QTensor { dims: vec![d.len()], data: d, frac_bits: 0 })
        }
        Some(Op::ConstantOfShape) => {
            let s = ints(get(0)?).ok_or_else(|| ctx.err(n, "the shape is not an integer tensor"))?;
            let dims: Vec<usize> = s.iter().map(|&d| d.max(0) as usize).collect();
            checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
            let (v, fb) = match n.attributes.get("value") {
                Some(Attribute::Tensor(t)) => {
                    let q = ctx.quantize_tensor(t).map_err(|e| ctx.err(n, e))?;
                    (q.data.first().copied().unwrap_or(0), q.frac_bits)
                }
                _ => (0, f),
            };
            Ok(QTensor { data: vec![v; dims.iter().product()], dims, frac_bits: fb })
        }
        Some(Op::Cast) => {
            let a = get(0)?;
            let to = ElemType::from_code(attr_i(n, "to", 1) as i32);
            let float = to.is_float();
            let data: Vec<i64> = match (float, a.frac_bits) {
                (true, 0) => a.data.iter().map(|&v| lift(v, f)).collect(),
                (true, _) => a.data.iter().map(|&v| lift(v, f - a.frac_bits.min(f)) >> (a.frac_bits - a.frac_bits.min(f))).collect(),
                // To integers: truncate toward zero; to bool: non-zero.
                (false, fa) => a
                    .data
                    .iter()
                    .map(|&v| {
                        let t = if fa == 0 { v } else { (i128::from(v) / (1i128 << fa)) as i64 };
                        if to == ElemType::Bool { i64::from(v != 0) } else { t }
                    })
                    .collect(),
            };
            Ok(QTensor { dims: a.dims.clone(), data, frac_bits: if float { f } else { 0 } })
        }
        Some(Op::Unsqueeze | Op::Squeeze) => {
            let a = get(0)?;
            let axes: Vec<i64> = if ctx.opset >= 13 {
                if opt_input(n, 1) {
                    ints(get(1)?).ok_or_else(|| ctx.err(n, "axes are not integers"))?.to_vec()
                } else {
                    vec![]
                }
            } else {
                attr_ints(n, "axes").unwrap_or_default()
            };
            let dims = if n.op == Some(Op::Unsqueeze) {
                let r = a.dims.len() + axes.len();
                let mut ax: Vec<usize> = axes.iter().map(|&x| axis_of(x, r).ok_or_else(|| ctx.err(n, "axis out of range"))).collect::<Result<_, _>>()?;
                ax.sort_unstable();
                if ax.windows(2).any(|w| w[0] == w[1]) {
                    return Err(ctx.err(n, format!("axes {axes:?} repeat an axis")));
                }
                let mut dims = a.dims.clone();
                for x in ax {
                    dims.insert(x, 1);
                }
                dims
            } else {
                let ax: Vec<usize> = axes.iter().map(|&x| axis_of(x, a.dims.len()).ok_or_else(|| ctx.err(n, "axis out of range"))).collect::<Result<_, _>>()?;
                if let Some(&x) = ax.iter().find(|&&x| a.dims[x] != 1) {
                    return Err(ctx.err(n, format!("axis {x} of shape {:?} is not 1", a.dims)));
                }
                a.dims.iter().enumerate().filter(|(i, d)| !(if ax.is_empty() { **d == 1 } else { ax.contains(i) })).map(|(_, d)| *d).collect()
            };
            Ok(QTensor { dims, data: a.data.clone(), frac_bits: a.frac_bits })
        }
        Some(Op::Concat) => {
            let parts: Vec<&QTensor> = (0..n.inputs.len()).map(get).collect::<Result<_, _>>()?;
            let first = parts.first().ok_or_else(|| ctx.err(n, "no inputs"))?;
            let axis = axis_of(attr_i(n, "axis", 0), first.dims.len()).ok_or_else(|| ctx.err(n, "axis out of range"))?;
            let frac = parts.iter().map(|p| p.frac_bits).max().unwrap_or(0);
            let outer: usize = first.dims[..axis].iter().product();
            let mut dims = first.dims.clone();
            dims[axis] = 0;
            for p in &parts {
                if p.dims.len() != first.dims.len() || p.dims.iter().enumerate().any(|(i, d)| i != axis && *d != first.dims[i]) {
                    return Err(ctx.err(n, format!("shapes {:?} and {:?} do not concatenate", first.dims, p.dims)));
                }
                dims[axis] += p.dims[axis];
            }
            let numel = checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
            let mut data = Vec::with_capacity(numel);
            // An empty result loops over nothing (an empty axis leaves the others unbounded).
            for o in 0..if numel == 0 { 0 } else { outer } {
                for p in &parts {
                    let inner: usize = p.dims[axis..].iter().product();
                    data.extend(p.data[o * inner..(o + 1) * inner].iter().map(|&v| lift(v, frac - p.frac_bits)));
                }
            }
            Ok(QTensor { dims, data, frac_bits: frac })
        }
        Some(Op::Gather) => {
            let (a, idx) = (get(0)?, get(1)?);
            let iv = ints(idx).ok_or_else(|| ctx.err(n, "indices are not integers"))?;
            let axis = axis_of(n.attrs.gather_axis(), a.dims.len()).ok_or_else(|| ctx.err(n, "axis out of range"))?;
            let len = a.dims[axis] as i64;
            let outer: usize = a.dims[..axis].iter().product();
            let inner: usize = a.dims[axis + 1..].iter().product();
            let mut dims: Vec<usize> = a.dims[..axis].to_vec();
            dims.extend_from_slice(&idx.dims);
            dims.extend_from_slice(&a.dims[axis + 1..]);
            // The output's size before any allocation: an empty input axis with large others
            // must not reserve memory for indices that are then refused.
            let numel = checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
            let mut data = Vec::with_capacity(numel);
            for o in 0..if numel == 0 { 0 } else { outer } {
                for &i in iv {
                    let i = if i < 0 { i + len } else { i };
                    if !(0..len).contains(&i) {
                        return Err(ctx.err(n, format!("index {i} out of range {len}")));
                    }
                    let base = (o * a.dims[axis] + i as usize) * inner;
                    data.extend_from_slice(&a.data[base..base + inner]);
                }
            }
            Ok(QTensor { dims, data, frac_bits: a.frac_bits })
        }
        Some(Op::Slice) => {
            let a = get(0)?;
            let r = a.dims.len();
            let opt = |k: usize| -> Result<Option<Vec<i64>>, OnnxError> {
                if opt_input(n, k) {
                    Ok(Some(ints(get(k)?).ok_or_else(|| ctx.err(n, "slice parameters are not integers"))?.to_vec()))
                } else {
                    Ok(None)
                }
            };
            let (starts, ends, axes, steps) = if ctx.opset >= 10 {
                (opt(1)?.unwrap_or_default(), opt(2)?.unwrap_or_default(), opt(3)?, opt(4)?)
            } else {
                (attr_ints(n, "starts").unwrap_or_default(), attr_ints(n, "ends").unwrap_or_default(), attr_ints(n, "axes"), None)
            };
            let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
            let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
            let mut lo: Vec<i64> = vec![0; r];
            let mut st: Vec<i64> = vec![1; r];
            let mut cnt: Vec<usize> = a.dims.clone();
            for k in 0..starts.len().min(ends.len()).min(axes.len()).min(steps.len()) {
                let ax = axis_of(axes[k], r).ok_or_else(|| ctx.err(n, "axis out of range"))?;
                let d = a.dims[ax] as i64;
                let step = steps[k];
                if step == 0 {
                    return Err(ctx.err(n, "step 0"));
                }
                let norm = |v: i64| if v < 0 { v + d } else { v };
                let (s0, e0) = (norm(starts[k]), norm(ends[k]));
                let (s0, e0) = if step > 0 { (s0.clamp(0, d), e0.clamp(0, d)) } else { (s0.clamp(-1, d - 1), e0.clamp(-1, d - 1)) };
                let c = if step > 0 { (e0 - s0 + step - 1).max(0) / step } else { (s0 - e0 - step - 1).max(0) / -step };
                lo[ax] = s0;
                st[ax] = step;
                cnt[ax] = c as usize;
            }
            let src = strides(&a.dims);
            let numel = checked_numel(&cnt).map_err(|e| ctx.err(n, e))?;
            let mut data = Vec::with_capacity(numel);
            for flat in 0..numel {
                let mut rem = flat;
                let mut off = 0i64;
                for k in (0..r).rev() {
                    let c = (rem % cnt[k]) as i64;
                    rem /= cnt[k];
                    off += (lo[k] + c * st[k]) * src[k] as i64;
                }
                data.push(a.data[off as usize]);
            }
            Ok(QTensor { dims: cnt, data, frac_bits: a.frac_bits })
        }
        Some(Op::Transpose) => {
            let a = get(0)?;
            let r = a.dims.len();
            let perm: Vec<usize> = attr_ints(n, "perm").map(|p| p.iter().map(|&x| x as usize).collect()).unwrap_or_else(|| (0..r).rev().collect());
            let mut seen = vec![false; r];
            if perm.len() != r || perm.iter().any(|&p| p >= r || std::mem::replace(&mut seen[p], true)) {
                return Err(ctx.err(n, format!("perm {perm:?} is not a permutation of rank {r}")));
            }
            let dims: Vec<usize> = perm.iter().map(|&p| a.dims[p]).collect();
            let src = strides(&a.dims);
            let numel = checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
            let mut data = Vec::with_capacity(numel);
            for flat in 0..numel {
                let mut rem = flat;
                let mut off = 0;
                for k in (0..r).rev() {
                    let c = rem % dims[k];
                    rem /= dims[k];
                    off += c * src[perm[k]];
                }
                data.push(a.data[off]);
            }
            Ok(QTensor { dims, data, frac_bits: a.frac_bits })
        }
        Some(Op::Expand) => {
            let (a, s) = (get(0)?, get(1)?);
            let shape: Vec<usize> = ints(s).ok_or_else(|| ctx.err(n, "the shape is not an integer tensor"))?.iter().map(|&d| d.max(0) as usize).collect();
            let dims = broadcast(&a.dims, &shape).ok_or_else(|| ctx.err(n, "shapes do not broadcast"))?;
            let numel = checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
            let data = (0..numel).map(|i| a.data[bcast_index(&a.dims, &dims, i)]).collect();
            Ok(QTensor { dims, data, frac_bits: a.frac_bits })
        }
        Some(Op::Flatten) => {
            let a = get(0)?;
            let axis = attr_i(n, "axis", 1);
            let r = a.dims.len() as i64;
            let axis = if axis < 0 { axis + r } else { axis };
            if !(0..=r).contains(&axis) {
                return Err(ctx.err(n, format!("axis {axis} out of range for rank {r}")));
            }
            let outer: usize = a.dims[..axis as usize].iter().product();
            let inner: usize = a.dims[axis as usize..].iter().product();
            Ok(QTensor { dims: vec![outer, inner], data: a.data.clone(), frac_bits: a.frac_bits })
        }
        Some(Op::Reshape) => {
            let (a, s) = (get(0)?, get(1)?);
            if s.frac_bits != 0 {
                return Err(ctx.err(n, "the shape input is not an integer tensor"));
            }
            let numel: usize = a.dims.iter().product();
            let mut dims = Vec::with_capacity(s.data.len());
            let mut infer = None;
            for (k, &d) in s.data.iter().enumerate() {
                match d {
                    0 if attr_i(n, "allowzero", 0) == 0 => dims.push(*a.dims.get(k).ok_or_else(|| ctx.err(n, "0 copies a missing dimension"))?),
                    -1 if infer.is_none() => {
                        infer = Some(k);
                        dims.push(1);
                    }
                    d if d >= 0 => dims.push(d as usize),
                    d => return Err(ctx.err(n, format!("invalid target dimension {d}"))),
                }
            }
            let known = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| ctx.err(n, "the target shape overflows"))?;
            if let Some(k) = infer {
                if known == 0 || !numel.is_multiple_of(known) {
                    return Err(ctx.err(n, format!("cannot reshape {:?} to {:?}", a.dims, s.data)));
                }
                dims[k] = numel / known;
            }
            if checked_numel(&dims).ok() != Some(numel) {
                return Err(ctx.err(n, format!("cannot reshape {:?} to {:?}", a.dims, s.data)));
            }
            Ok(QTensor { dims, data: a.data.clone(), frac_bits: a.frac_bits })
        }
        Some(Op::ScatterND) => scatter_nd(ctx, n, get),
        Some(Op::Pad) => pad(ctx, n, get),
        _ => Err(ctx.unsupported(n)),
    }
}

/// Pad: constant, reflect, edge or wrap, with pads (and axes) from inputs (opset 11+) or the
/// attribute. Negative pads crop.
pub(crate) fn pad(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<QTensor> {
    let a = get(0)?;
    let r = a.dims.len();
    let at = n.attrs.pad().ok_or_else(|| ctx.err(n, "not a Pad"))?;
    let mode = at.mode.clone();
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
        (at.pads.clone().unwrap_or_default(), quantize(f64::from(at.value), a.frac_bits))
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

/// Split: `input` cut along `axis` into the outputs, by the sizes of `split` (input 1 from
/// opset 13, the attribute before), or into `num_outputs` (opset 18; the last part smaller
/// when the axis does not divide) or as many equal parts as the node has outputs.
pub(crate) fn split(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<Vec<QTensor>> {
    let a = get(0)?;
    let r = a.dims.len();
    let axis = axis_of(attr_i(n, "axis", 0), r).ok_or_else(|| ctx.err(n, format!("axis {} out of range for rank {r}", attr_i(n, "axis", 0))))?;
    let d = a.dims[axis];
    let outputs = n.outputs.len();
    let sizes: Vec<i64> = if ctx.opset >= 13 && opt_input(n, 1) {
        ints(get(1)?).ok_or_else(|| ctx.err(n, "the split sizes are not integers"))?.to_vec()
    } else if let Some(s) = attr_ints(n, "split").filter(|_| ctx.opset < 13) {
        s
    } else {
        let parts = usize::try_from(attr_i(n, "num_outputs", outputs as i64)).unwrap_or(0);
        if parts == 0 || parts != outputs {
            return Err(ctx.err(n, format!("{parts} parts for {outputs} outputs")));
        }
        let each = d.div_ceil(parts);
        (0..parts).map(|k| each.min(d.saturating_sub(k * each)) as i64).collect()
    };
    if sizes.len() != outputs || sizes.iter().any(|&s| s < 0) || sizes.iter().sum::<i64>() != d as i64 {
        return Err(ctx.err(n, format!("split sizes {sizes:?} do not cut an axis of {d} into {outputs} parts")));
    }
    let outer: usize = a.dims[..axis].iter().product();
    let inner: usize = a.dims[axis + 1..].iter().product();
    let mut start = 0usize;
    let mut out = Vec::with_capacity(outputs);
    for &s in &sizes {
        let s = s as usize;
        let mut dims = a.dims.clone();
        dims[axis] = s;
        let mut data = Vec::with_capacity(outer * s * inner);
        for o in 0..if a.data.is_empty() { 0 } else { outer } {
            let base = (o * d + start) * inner;
            data.extend_from_slice(&a.data[base..base + s * inner]);
        }
        out.push(QTensor { dims, data, frac_bits: a.frac_bits });
        start += s;
    }
    Ok(out)
}
