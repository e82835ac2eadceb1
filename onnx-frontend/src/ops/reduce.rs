//! Reductions over axes: ReduceSum, ReduceMean, ReduceMax, ReduceMin.

use super::common::prelude::*;

/// Runs one node of this family (single output).
pub(crate) fn run<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> R<QTensor> {
    match n.op {
        Some(Op::ReduceSum | Op::ReduceMean | Op::ReduceMax | Op::ReduceMin) => reduce(ctx, n, get),
        _ => Err(ctx.unsupported(n)),
    }
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

/// Where a reduction sends each input element: the output's dims, the output element of each
/// input element, and how many elements each output reduces. The circuit compiler lays out
/// the same groups ([`crate::Plan::reduce_groups`]).
pub(crate) struct Groups {
    pub(crate) dims: Vec<usize>,
    pub(crate) out_of: Vec<usize>,
    pub(crate) count: usize,
}

/// The [`Groups`] of reduction `n` on its input `a`.
pub(crate) fn groups(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>, a: &QTensor) -> R<Groups> {
    let r = a.dims.len();
    let input_opset = if n.op == Some(Op::ReduceSum) { 13 } else { 18 };
    let axes = reduce_axes(ctx, n, get, r, input_opset)?;
    let keep = attr_i(n, "keepdims", 1) != 0;
    let out_full: Vec<usize> = (0..r).map(|k| if axes.contains(&k) { 1 } else { a.dims[k] }).collect();
    checked_numel(&out_full).map_err(|e| ctx.err(n, e))?;
    let count: usize = axes.iter().map(|&k| a.dims[k]).product();
    let ostr = strides(&out_full);
    let out_of = (0..a.data.len())
        .map(|i| {
            let mut rem = i;
            let mut o = 0;
            for k in (0..r).rev() {
                let c = rem % a.dims[k];
                rem /= a.dims[k];
                if !axes.contains(&k) {
                    o += c * ostr[k];
                }
            }
            o
        })
        .collect();
    let dims = if keep { out_full } else { (0..r).filter(|k| !axes.contains(k)).map(|k| a.dims[k]).collect() };
    Ok(Groups { dims, out_of, count })
}

/// ReduceSum, ReduceMean (rounded half up), ReduceMax, ReduceMin.
pub(crate) fn reduce(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<QTensor> {
    let a = get(0)?;
    let Groups { dims, out_of, count } = groups(ctx, n, get, a)?;
    let op = n.op;
    if count == 0 && matches!(op, Some(Op::ReduceMean | Op::ReduceMax | Op::ReduceMin)) {
        return Err(ctx.err(n, "reduction over an empty axis"));
    }
    let init = match op {
        Some(Op::ReduceMax) => i128::from(i64::MIN),
        Some(Op::ReduceMin) => i128::from(i64::MAX),
        _ => 0,
    };
    let mut acc = vec![init; dims.iter().product()];
    for (&v, &o) in a.data.iter().zip(&out_of) {
        let v = i128::from(v);
        acc[o] = match op {
            Some(Op::ReduceMax) => acc[o].max(v),
            Some(Op::ReduceMin) => acc[o].min(v),
            _ => acc[o] + v,
        };
    }
    let data = acc
        .into_iter()
        .map(|v| sat(if op == Some(Op::ReduceMean) { div_round(v, count as i128) } else { v }))
        .collect();
    Ok(QTensor { dims, data, frac_bits: a.frac_bits })
}
