//! Comparisons and logic: Equal, Greater, GreaterOrEqual, Less, LessOrEqual, And, Or, Xor,
//! Not, Where. Booleans are exact 0 and 1.

#[allow(unused_imports)]
use super::prelude::*;

/// The operators of this family.
pub(crate) const OPS: &[&str] = &["Not", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Xor", "Where"];

/// Runs one node of this family (single output).
pub(crate) fn run<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> R<QTensor> {
    #[allow(unused_variables)]
    let f = ctx.f;
    match n.op_type.as_str() {
        "Not" => {
            let a = get(0)?;
            Ok(QTensor { dims: a.dims.clone(), data: a.data.iter().map(|&v| i64::from(v == 0)).collect(), frac_bits: 0 })
        }
        "Equal" | "Greater" | "GreaterOrEqual" | "Less" | "LessOrEqual" => ops::compare(ctx, n, get(0)?, get(1)?),
        "And" | "Or" | "Xor" => ops::logic(ctx, n, get(0)?, get(1)?, &n.op_type),
        "Where" => ops::where_op(ctx, n, get),
        op => Err(OnnxError::UnsupportedOp { path: ctx.path.into(), node: n.name.clone(), op: op.into(), opset: ctx.opset }),
    }
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
